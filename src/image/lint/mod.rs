//! Dockerfile rules for a production image, checked without Docker.
//!
//! hadolint's production rules are implemented under their hadolint ids, so a finding reads the same in both
//! tools; `tests/dockerfile_corpus/` holds one broken Dockerfile per rule and a test checks that vivr reports
//! every production finding hadolint 2.15.1 reports there. vivr's own rules (VIVR…) cover what hadolint lets
//! through: no `USER` at all (hadolint's DL3002 only fires on an explicit root), no `HEALTHCHECK` (DL3057 is off
//! by default), bases not pinned by digest (no hadolint rule requires one), the shop's own secret variables in
//! `ARG`/`ENV`, and a `.dockerignore` that lets `target/`, `.git`, `.env*` or `data/` into the build context.
//!
//! An inline ignore names the rules and says why: `# vivr ignore=DL3008: pinned by the base image's digest`
//! on the line before the instruction. An ignore without a reason is itself a finding and silences nothing.
//! (hadolint's own `# hadolint ignore=` pragmas are left to hadolint: they cannot carry a reason.)

use std::path::Path;

use parse_dockerfile::{Command, HealthcheckArguments, Instruction, Source};
use serde::Serialize;

use crate::config::schema::Schema;

mod ignore;
mod instructions;
mod run;
mod stages;

use ignore::*;
use instructions::InStage;
use run::*;

/// How serious a finding is. Warnings and errors fail `vivr build`; information does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A rule: its id, how serious breaking it is, and what it asks for (one line).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub id: &'static str,
    pub level: Level,
    pub title: &'static str,
}

/// Every rule, in the order they are documented. hadolint's ids keep hadolint's meaning; the level is vivr's
/// (a production image: hadolint's warnings about pinning and signals stay warnings, and fail the build).
pub const RULES: &[Rule] = &[
    rule("DL3002", Level::Warning, "the last USER must not be root"),
    rule("DL3004", Level::Error, "do not use sudo"),
    rule("DL3006", Level::Warning, "always tag the base image"),
    rule("DL3007", Level::Warning, "do not use the latest tag"),
    rule(
        "DL3008",
        Level::Warning,
        "pin versions in apt-get install (package=version)",
    ),
    rule(
        "DL3009",
        Level::Info,
        "delete the apt lists after installing",
    ),
    rule("DL3012", Level::Error, "one HEALTHCHECK per stage"),
    rule(
        "DL3013",
        Level::Warning,
        "pin versions in pip install (package==version)",
    ),
    rule(
        "DL3015",
        Level::Info,
        "apt-get install --no-install-recommends",
    ),
    rule(
        "DL3016",
        Level::Warning,
        "pin versions in npm install (package@version)",
    ),
    rule(
        "DL3018",
        Level::Warning,
        "pin versions in apk add (package=version)",
    ),
    rule("DL3019", Level::Info, "apk add --no-cache"),
    rule(
        "DL3020",
        Level::Error,
        "COPY, not ADD, for files and folders",
    ),
    rule(
        "DL3022",
        Level::Warning,
        "COPY --from names an earlier stage",
    ),
    rule(
        "DL3023",
        Level::Error,
        "COPY --from does not name its own stage",
    ),
    rule("DL3024", Level::Error, "stage names are unique"),
    rule(
        "DL3025",
        Level::Warning,
        "JSON form for CMD, ENTRYPOINT and HEALTHCHECK CMD (signals reach the process)",
    ),
    rule("DL3027", Level::Warning, "apt-get, not apt"),
    rule("DL3042", Level::Warning, "pip install --no-cache-dir"),
    rule("DL3064", Level::Warning, "no sensitive-looking ARG or ENV"),
    rule(
        "DL3066",
        Level::Warning,
        "a numeric USER (a name needs /etc/passwd in the image)",
    ),
    rule("DL4003", Level::Warning, "one CMD per stage"),
    rule("DL4004", Level::Error, "one ENTRYPOINT per stage"),
    rule(
        "DL4006",
        Level::Warning,
        "SHELL with -o pipefail before a RUN with a pipe",
    ),
    rule("VIVR000", Level::Error, "the Dockerfile parses"),
    rule(
        "VIVR001",
        Level::Error,
        "the final stage runs as a non-root USER",
    ),
    rule("VIVR002", Level::Error, "the final stage has a HEALTHCHECK"),
    rule(
        "VIVR003",
        Level::Error,
        "base images are pinned by digest (or scratch)",
    ),
    rule(
        "VIVR004",
        Level::Error,
        "no ARG or ENV carries one of the shop's secrets",
    ),
    rule(
        "VIVR005",
        Level::Error,
        "a .dockerignore keeps target/, .git, .env* and data/ out of the context",
    ),
    rule("VIVR006", Level::Error, "an inline ignore says why"),
];

const fn rule(id: &'static str, level: Level, title: &'static str) -> Rule {
    Rule { id, level, title }
}

/// The rule with this id.
pub fn rule_by_id(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub level: Level,
    /// The file the finding is in: the Dockerfile, or its `.dockerignore`.
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// A finding silenced by an inline ignore, with the reason given.
#[derive(Debug, Clone, Serialize)]
pub struct Ignored {
    pub rule: String,
    pub line: usize,
    pub reason: String,
}

/// The lint of one Dockerfile.
#[derive(Debug, Clone, Serialize)]
pub struct DockerfileLint {
    pub file: String,
    pub findings: Vec<Finding>,
    pub ignored: Vec<Ignored>,
}

impl DockerfileLint {
    /// Whether a finding at warning level or above remains (what fails a build).
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.level >= Level::Warning)
    }

    /// For people: one line per finding (`file:line  level  RULE  message`), the ignores with their reasons, and
    /// a count.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for f in &self.findings {
            text += &format!(
                "{}:{}  {:<7}  {:<7}  {}\n",
                f.file,
                f.line,
                f.level.as_str(),
                f.rule,
                f.message
            );
        }
        for i in &self.ignored {
            text += &format!(
                "{}:{}  ignored  {:<7}  {}\n",
                self.file, i.line, i.rule, i.reason
            );
        }
        let count = |level: Level| self.findings.iter().filter(|f| f.level == level).count();
        text += &format!(
            "{}: {} error(s), {} warning(s), {} note(s), {} ignored with a reason.\n",
            self.file,
            count(Level::Error),
            count(Level::Warning),
            count(Level::Info),
            self.ignored.len()
        );
        text
    }

    /// For code scanning.
    pub fn sarif(&self) -> serde_json::Value {
        let mut rules: Vec<(String, String)> = self
            .findings
            .iter()
            .filter_map(|f| rule_by_id(f.rule))
            .map(|r| (r.id.to_string(), r.title.to_string()))
            .collect();
        rules.sort_unstable();
        rules.dedup();
        let results: Vec<crate::sarif::Result> = self
            .findings
            .iter()
            .map(|f| crate::sarif::Result {
                rule: f.rule.to_string(),
                level: match f.level {
                    Level::Error => "error",
                    Level::Warning => "warning",
                    Level::Info => "note",
                },
                message: f.message.clone(),
                location: Some((f.file.clone(), f.line)),
                properties: serde_json::json!({}),
            })
            .collect();
        crate::sarif::log("vivr Dockerfile lint", &rules, &results)
    }
}

/// The build context's paths that must never be sent to the engine, as `.dockerignore` names them.
const MUST_IGNORE: [&str; 4] = ["target", ".git", ".env", "data"];

/// Lints `text`, the Dockerfile at `file` (a display name). `context`: the build context's directory, whose
/// `.dockerignore` is checked too.
pub fn lint(file: &str, text: &str, context: Option<&Path>) -> DockerfileLint {
    let mut out = Lint {
        file: file.to_string(),
        text,
        findings: Vec::new(),
    };
    match parse_dockerfile::parse(text) {
        Ok(dockerfile) => out.dockerfile(&dockerfile),
        Err(err) => {
            let message = format!("{err:#}");
            let id = if message.starts_with("duplicate stage name") {
                "DL3024"
            } else {
                "VIVR000"
            };
            out.push(id, err.line().max(1), message);
        }
    }
    if let Some(context) = context {
        out.dockerignore(context);
    }
    let (findings, ignored) = apply_ignores(text, out.findings, file);
    DockerfileLint {
        file: file.to_string(),
        findings,
        ignored,
    }
}

struct Lint<'t> {
    file: String,
    text: &'t str,
    findings: Vec<Finding>,
}

/// What the rules need to know of a stage.
struct StageFacts {
    name: Option<String>,
    /// The stage this one is built `FROM`, when it is an earlier stage.
    parent: Option<usize>,
    /// The last USER, and its line.
    user: Option<(String, usize)>,
    healthcheck: bool,
}

impl Lint<'_> {
    fn push(&mut self, id: &'static str, line: usize, message: String) {
        let level = rule_by_id(id).map_or(Level::Error, |r| r.level);
        self.findings.push(Finding {
            rule: id,
            level,
            file: self.file.clone(),
            line,
            message,
        });
    }

    fn line_of(&self, offset: usize) -> usize {
        self.text
            .get(..offset)
            .map_or(1, |before| before.matches('\n').count() + 1)
    }

    fn dockerfile(&mut self, dockerfile: &parse_dockerfile::Dockerfile<'_>) {
        let mut stages: Vec<StageFacts> = Vec::new();
        for (index, stage) in dockerfile.stages().enumerate() {
            let from_line = self.line_of(stage.from.from.span.start);
            let image = stage.from.image.value.to_string();
            let name = stage
                .from
                .as_
                .as_ref()
                .map(|(_, alias)| alias.value.to_lowercase());
            let parent = stages
                .iter()
                .position(|s| s.name.as_deref() == Some(image.to_lowercase().as_str()));
            if parent.is_none() {
                self.base_image(&image, from_line);
            }
            let mut stage_state = InStage {
                facts: StageFacts {
                    name,
                    parent,
                    user: None,
                    healthcheck: false,
                },
                index,
                healthchecks: 0,
                cmds: 0,
                entrypoints: 0,
                pipefail: false,
            };
            for instruction in stage.instructions {
                self.instruction(&mut stage_state, &stages, instruction);
            }
            stages.push(stage_state.facts);
        }
        // Global ARGs: the instructions before the first FROM.
        for instruction in &dockerfile.instructions {
            let Instruction::Arg(arg) = instruction else {
                break;
            };
            let line = self.line_of(arg.arg.span.start);
            self.variables(&arg.arguments.value, line, "ARG");
        }
        self.final_stage(dockerfile, &stages);
    }
}

/// hadolint DL3064's notion of a sensitive name: a known credential variable, or one of its keywords.
pub(crate) fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "api_key",
        "apikey",
        "client_key",
        "password",
        "passwd",
        "private",
        "secret",
        "token",
        "username",
        "credential",
    ]
    .iter()
    .any(|k| lower.contains(k))
}

#[cfg(test)]
mod tests;
