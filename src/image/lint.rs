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
            let mut facts = StageFacts {
                name: name.clone(),
                parent,
                user: None,
                healthcheck: false,
            };
            let mut healthchecks = 0;
            let mut cmds = 0;
            let mut entrypoints = 0;
            let mut pipefail = false;
            for instruction in stage.instructions {
                match instruction {
                    Instruction::User(user) => {
                        let line = self.line_of(user.user.span.start);
                        let value = user.arguments.value.trim().to_string();
                        let who = value.split(':').next().unwrap_or_default();
                        if !who.starts_with('$') && who.parse::<u32>().is_err() {
                            self.push(
                                "DL3066",
                                line,
                                format!("USER {who} is a name: give a numeric uid (and gid), e.g. USER 10001:10001"),
                            );
                        }
                        facts.user = Some((value, line));
                    }
                    Instruction::Healthcheck(check) => {
                        let line = self.line_of(check.healthcheck.span.start);
                        healthchecks += 1;
                        if healthchecks > 1 {
                            self.push("DL3012", line, "a second HEALTHCHECK in this stage".into());
                        }
                        match &check.arguments {
                            HealthcheckArguments::Cmd { arguments, .. } => {
                                facts.healthcheck = true;
                                if matches!(arguments, Command::Shell(_)) {
                                    self.push(
                                        "DL3025",
                                        line,
                                        "HEALTHCHECK CMD in shell form: write it as a JSON array"
                                            .into(),
                                    );
                                }
                            }
                            HealthcheckArguments::None { .. } => facts.healthcheck = false,
                            _ => {}
                        }
                    }
                    Instruction::Cmd(cmd) => {
                        let line = self.line_of(cmd.cmd.span.start);
                        cmds += 1;
                        if cmds > 1 {
                            self.push(
                                "DL4003",
                                line,
                                "a second CMD in this stage: only the last one counts".into(),
                            );
                        }
                        if matches!(cmd.arguments, Command::Shell(_)) {
                            self.push(
                                "DL3025",
                                line,
                                "CMD in shell form runs under /bin/sh, which does not pass SIGTERM on: write it as a \
                                 JSON array"
                                    .into(),
                            );
                        }
                    }
                    Instruction::Entrypoint(entrypoint) => {
                        let line = self.line_of(entrypoint.entrypoint.span.start);
                        entrypoints += 1;
                        if entrypoints > 1 {
                            self.push("DL4004", line, "a second ENTRYPOINT in this stage".into());
                        }
                        if matches!(entrypoint.arguments, Command::Shell(_)) {
                            self.push(
                                "DL3025",
                                line,
                                "ENTRYPOINT in shell form runs under /bin/sh, which does not pass SIGTERM on: write \
                                 it as a JSON array"
                                    .into(),
                            );
                        }
                    }
                    Instruction::Shell(shell) => {
                        let words: Vec<&str> =
                            shell.arguments.iter().map(|w| w.value.as_ref()).collect();
                        pipefail = words.windows(2).any(|w| w == ["-o", "pipefail"])
                            || words.iter().any(|w| w.contains("pipefail"));
                    }
                    Instruction::Run(run) => {
                        let line = self.line_of(run.run.span.start);
                        let script = match &run.arguments {
                            Command::Shell(shell) => shell.value.replace("\\\n", " "),
                            Command::Exec(words) => words
                                .value
                                .iter()
                                .map(|w| w.value.as_ref())
                                .collect::<Vec<_>>()
                                .join(" "),
                            _ => String::new(),
                        };
                        let here_docs: String = run
                            .here_docs
                            .iter()
                            .map(|h| format!("\n{}", h.value))
                            .collect();
                        let script = script + &here_docs;
                        if !pipefail
                            && matches!(run.arguments, Command::Shell(_))
                            && has_pipe(&script)
                        {
                            self.push(
                                "DL4006",
                                line,
                                "a RUN with a pipe: without `SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]` a \
                                 failure before the last command of the pipe goes unnoticed"
                                    .into(),
                            );
                        }
                        let cache_mounts: Vec<String> = run
                            .options
                            .iter()
                            .filter(|f| f.name.value == "mount")
                            .filter_map(|f| f.value.as_ref().map(|v| v.value.to_string()))
                            .collect();
                        self.run_script(&script, line, &cache_mounts);
                    }
                    Instruction::Add(add) => {
                        let line = self.line_of(add.add.span.start);
                        for source in &add.src {
                            if let Source::Path(path) = source
                                && !is_url_or_archive(&path.value)
                            {
                                self.push(
                                    "DL3020",
                                    line,
                                    format!("ADD {}: use COPY for files and folders", path.value),
                                );
                            }
                        }
                    }
                    Instruction::Copy(copy) => {
                        let line = self.line_of(copy.copy.span.start);
                        for flag in copy.options.iter().filter(|f| f.name.value == "from") {
                            let Some(from) = flag.value.as_ref().map(|v| v.value.to_lowercase())
                            else {
                                continue;
                            };
                            if name.as_deref() == Some(from.as_str()) {
                                self.push(
                                    "DL3023",
                                    line,
                                    format!("COPY --from={from} names the stage it is in"),
                                );
                            } else if !from.contains(':')
                                && !from.contains('/')
                                && !from.starts_with('$')
                                && !stages
                                    .iter()
                                    .any(|s| s.name.as_deref() == Some(from.as_str()))
                                && from.parse::<usize>().map_or(true, |i| i >= index)
                            {
                                self.push(
                                    "DL3022",
                                    line,
                                    format!("COPY --from={from}: no earlier stage has that name"),
                                );
                            }
                        }
                    }
                    Instruction::Arg(arg) => {
                        let line = self.line_of(arg.arg.span.start);
                        self.variables(&arg.arguments.value, line, "ARG");
                    }
                    Instruction::Env(env) => {
                        let line = self.line_of(env.env.span.start);
                        self.variables(&env.arguments.value, line, "ENV");
                    }
                    _ => {}
                }
            }
            stages.push(facts);
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

    /// DL3006, DL3007, VIVR003 on a `FROM` that names an image.
    fn base_image(&mut self, image: &str, line: usize) {
        if image == "scratch" || image.starts_with('$') {
            return;
        }
        let (reference, digest) = match image.split_once('@') {
            Some((reference, digest)) => (reference, Some(digest)),
            None => (image, None),
        };
        // The tag follows the last ':' after the last '/' (a registry's port has a ':' before a '/').
        let last_part = reference.rsplit('/').next().unwrap_or(reference);
        let tag = last_part.split_once(':').map(|(_, tag)| tag);
        if tag.is_none() && digest.is_none() {
            self.push(
                "DL3006",
                line,
                format!("FROM {image} has no tag: name the version"),
            );
        }
        if tag == Some("latest") && digest.is_none() {
            self.push(
                "DL3007",
                line,
                format!("FROM {image}: latest changes under you; name the version"),
            );
        }
        if !digest.is_some_and(|d| d.starts_with("sha256:") && d.len() == 71) {
            self.push(
                "VIVR003",
                line,
                format!("FROM {image} is not pinned by digest: write {reference}@sha256:<digest>"),
            );
        }
    }

    /// VIVR001, DL3002 and VIVR002 on the final stage (following `FROM <earlier stage>` for what it inherits).
    fn final_stage(
        &mut self,
        dockerfile: &parse_dockerfile::Dockerfile<'_>,
        stages: &[StageFacts],
    ) {
        let Some(last) = stages.len().checked_sub(1) else {
            return;
        };
        let from_line = dockerfile
            .stages()
            .last()
            .map_or(1, |s| self.line_of(s.from.from.span.start));
        let mut user = None;
        let mut healthcheck = false;
        let mut current = Some(last);
        while let Some(index) = current {
            let Some(stage) = stages.get(index) else {
                break;
            };
            if user.is_none() {
                user.clone_from(&stage.user);
            }
            healthcheck |= stage.healthcheck;
            current = stage.parent;
        }
        match user {
            None => self.push(
                "VIVR001",
                from_line,
                "the final stage sets no USER, so the container runs as root: add USER 10001:10001"
                    .into(),
            ),
            Some((user, line)) => {
                let who = user.split(':').next().unwrap_or_default();
                if who == "root" || who == "0" {
                    self.push(
                        "DL3002",
                        line,
                        format!("the last USER is {user}: run as a non-root uid"),
                    );
                }
            }
        }
        if !healthcheck {
            self.push(
                "VIVR002",
                from_line,
                "the final stage has no HEALTHCHECK: add HEALTHCHECK CMD [\"/vivr\", \"healthcheck\"]".into(),
            );
        }
    }

    /// DL3064 and VIVR004 on the variables an `ARG` or `ENV` declares.
    fn variables(&mut self, arguments: &str, line: usize, keyword: &str) {
        let secrets: Vec<&str> = Schema::embedded()
            .variables
            .iter()
            .filter(|v| v.secret)
            .map(|v| v.name.as_str())
            .collect();
        for name in declared_names(arguments) {
            if secrets.contains(&name.as_str()) {
                self.push(
                    "VIVR004",
                    line,
                    format!(
                        "{keyword} {name}: the shop's secrets reach the container at run time (Secrets Manager, \
                         the task definition), never through the image, whose layers keep them"
                    ),
                );
            }
            if is_sensitive_name(&name) {
                self.push(
                    "DL3064",
                    line,
                    format!("{keyword} {name} looks like a secret: image layers and history keep ARG and ENV values"),
                );
            }
        }
    }

    /// The package-manager and shell rules on one RUN's script.
    fn run_script(&mut self, script: &str, line: usize, mounts: &[String]) {
        for command in commands(script) {
            let words: Vec<String> = command.split_whitespace().map(unquote).collect();
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            if words.contains(&"sudo") {
                self.push(
                    "DL3004",
                    line,
                    "sudo in a RUN: the build already runs as root; drop it".into(),
                );
            }
            let program = words.first().copied().unwrap_or_default();
            let rest = words.get(1..).unwrap_or_default();
            match program {
                "apt" if rest.first().is_some_and(|w| !w.starts_with('-')) => {
                    self.push(
                        "DL3027",
                        line,
                        "apt is for people; use apt-get in scripts".into(),
                    );
                }
                "apt-get" if rest.contains(&"install") => {
                    let packages =
                        packages_after(rest, "install", &["-o", "-t", "--target-release"]);
                    let unpinned: Vec<&str> =
                        packages.into_iter().filter(|p| !p.contains('=')).collect();
                    if !unpinned.is_empty() {
                        self.push(
                            "DL3008",
                            line,
                            format!(
                                "apt-get install {}: pin each package (package=version)",
                                unpinned.join(" ")
                            ),
                        );
                    }
                    let no_recommends = rest.contains(&"--no-install-recommends")
                        || rest.iter().any(|w| w.contains("Install-Recommends=false"));
                    if !no_recommends {
                        self.push(
                            "DL3015",
                            line,
                            "apt-get install without --no-install-recommends pulls in packages nobody asked for"
                                .into(),
                        );
                    }
                    let cleans = script.contains("/var/lib/apt/lists");
                    let cached = mounts.iter().any(|m| m.contains("/var/lib/apt"));
                    if !cleans && !cached {
                        self.push(
                            "DL3009",
                            line,
                            "the apt lists stay in the layer: end the RUN with rm -rf /var/lib/apt/lists/*".into(),
                        );
                    }
                }
                "pip" | "pip3" | "python" | "python3" => self.pip(&words, line),
                "npm"
                    if rest
                        .first()
                        .is_some_and(|w| matches!(*w, "install" | "i" | "add")) =>
                {
                    let packages =
                        packages_after(rest, rest.first().copied().unwrap_or("install"), &[]);
                    let unpinned: Vec<&str> =
                        packages.into_iter().filter(|p| !npm_pinned(p)).collect();
                    if !unpinned.is_empty() {
                        self.push(
                            "DL3016",
                            line,
                            format!(
                                "npm install {}: pin each package (package@version)",
                                unpinned.join(" ")
                            ),
                        );
                    }
                }
                "apk" if rest.contains(&"add") => {
                    let packages =
                        packages_after(rest, "add", &["-t", "--virtual", "-X", "--repository"]);
                    let unpinned: Vec<&str> =
                        packages.into_iter().filter(|p| !p.contains('=')).collect();
                    if !unpinned.is_empty() {
                        self.push(
                            "DL3018",
                            line,
                            format!(
                                "apk add {}: pin each package (package=version)",
                                unpinned.join(" ")
                            ),
                        );
                    }
                    if !rest.contains(&"--no-cache") {
                        self.push(
                            "DL3019",
                            line,
                            "apk add without --no-cache keeps the index in the layer".into(),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// DL3013 and DL3042 on `pip install` (also as `python -m pip install`).
    fn pip(&mut self, words: &[&str], line: usize) {
        let Some(install) = words.iter().position(|w| *w == "install") else {
            return;
        };
        let is_pip = words.first().is_some_and(|w| w.starts_with("pip"))
            || words.windows(2).any(|w| w == ["-m", "pip"]);
        if !is_pip {
            return;
        }
        let rest = words.get(install..).unwrap_or_default();
        let from_files = rest.iter().any(|w| {
            matches!(
                *w,
                "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable"
            )
        });
        let packages = packages_after(
            rest,
            "install",
            &[
                "-r",
                "--requirement",
                "-c",
                "--constraint",
                "-i",
                "--index-url",
                "--extra-index-url",
                "-t",
                "--target",
            ],
        );
        let unpinned: Vec<&str> = packages.into_iter().filter(|p| !pip_pinned(p)).collect();
        if !unpinned.is_empty() && !from_files {
            self.push(
                "DL3013",
                line,
                format!(
                    "pip install {}: pin each package (package==version)",
                    unpinned.join(" ")
                ),
            );
        }
        if !rest.contains(&"--no-cache-dir") {
            self.push(
                "DL3042",
                line,
                "pip install without --no-cache-dir keeps its cache in the layer".into(),
            );
        }
    }

    /// VIVR005: the `.dockerignore` next to the build context.
    fn dockerignore(&mut self, context: &Path) {
        let path = context.join(".dockerignore");
        let Ok(text) = std::fs::read_to_string(&path) else {
            self.push(
                "VIVR005",
                1,
                format!(
                    "no .dockerignore in {}: the whole directory ({}) would be sent to the engine",
                    context.display(),
                    MUST_IGNORE.join(", ")
                ),
            );
            return;
        };
        let file = path.display().to_string();
        for entry in MUST_IGNORE {
            if !ignored_by(&text, entry) {
                self.findings.push(Finding {
                    rule: "VIVR005",
                    level: Level::Error,
                    file: file.clone(),
                    line: 1,
                    message: format!(
                        "{file} does not exclude {entry}: add a line `{entry}{}`",
                        if entry == ".env" { "*" } else { "" }
                    ),
                });
            }
        }
    }
}

/// Whether `.dockerignore` text excludes `entry` (a top-level name): the last pattern that matches it decides,
/// as the engine reads the file.
fn ignored_by(text: &str, entry: &str) -> bool {
    let mut excluded = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (negated, pattern) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        let pattern = pattern
            .trim_start_matches("./")
            .trim_start_matches('/')
            .trim_end_matches('/');
        let pattern = pattern.strip_prefix("**/").unwrap_or(pattern);
        let candidates: &[&str] = if entry == ".env" {
            &[".env", ".env.production"]
        } else {
            &[entry]
        };
        if candidates.iter().any(|c| wildcard(pattern, c)) {
            excluded = !negated;
        }
    }
    excluded
}

/// `*` (any run of characters but `/`), `**` (anything) and `?`, as `.dockerignore` patterns use them.
fn wildcard(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                let double = p.get(1) == Some(&b'*');
                let rest = if double {
                    p.get(2..).unwrap_or_default()
                } else {
                    p.get(1..).unwrap_or_default()
                };
                (0..=n.len()).any(|i| {
                    let skipped = n.get(..i).unwrap_or_default();
                    (double || !skipped.contains(&b'/')) && go(rest, n.get(i..).unwrap_or_default())
                })
            }
            (Some(b'?'), Some(c)) if *c != b'/' => go(
                p.get(1..).unwrap_or_default(),
                n.get(1..).unwrap_or_default(),
            ),
            (Some(a), Some(b)) if a == b => go(
                p.get(1..).unwrap_or_default(),
                n.get(1..).unwrap_or_default(),
            ),
            _ => false,
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

/// Drops the findings an inline `# vivr ignore=RULES: reason` names on the line before their instruction;
/// an ignore without a reason is a finding of its own.
fn apply_ignores(text: &str, findings: Vec<Finding>, file: &str) -> (Vec<Finding>, Vec<Ignored>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut pragmas: Vec<(usize, Vec<String>, String)> = Vec::new();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim().strip_prefix('#').map(str::trim) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix("vivr ignore=") else {
            continue;
        };
        let (ids, reason) = rest
            .split_once(':')
            .map_or((rest, ""), |(ids, reason)| (ids, reason.trim()));
        let ids: Vec<String> = ids.split(',').map(|s| s.trim().to_string()).collect();
        if reason.is_empty() {
            kept.push(Finding {
                rule: "VIVR006",
                level: Level::Error,
                file: file.to_string(),
                line: i + 1,
                message: format!(
                    "`vivr ignore={}` gives no reason: write `# vivr ignore={}: why it is safe here`",
                    ids.join(","),
                    ids.join(",")
                ),
            });
            continue;
        }
        // The pragma covers the next instruction: the next line that is neither blank nor a comment.
        let target = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(j, _)| j + 1);
        if let Some(target) = target {
            pragmas.push((target, ids, reason.to_string()));
        }
    }
    let mut ignored = Vec::new();
    for finding in findings {
        let pragma = pragmas.iter().find(|(line, ids, _)| {
            *line == finding.line && finding.file == file && ids.iter().any(|id| id == finding.rule)
        });
        match pragma {
            Some((line, _, reason)) => ignored.push(Ignored {
                rule: finding.rule.to_string(),
                line: *line,
                reason: reason.clone(),
            }),
            None => kept.push(finding),
        }
    }
    kept.sort_by(|a, b| (a.file != file, a.line, a.rule).cmp(&(b.file != file, b.line, b.rule)));
    (kept, ignored)
}

/// The names an `ARG` or `ENV` declares (`A=1 B="x y"`, `A 1` in ENV's old form, `A` alone in ARG).
fn declared_names(arguments: &str) -> Vec<String> {
    let arguments = arguments.replace("\\\n", " ");
    let trimmed = arguments.trim();
    let first = trimmed.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        // `ENV NAME value` (the legacy form) or `ARG NAME`.
        return vec![first.to_string()]
            .into_iter()
            .filter(|n| !n.is_empty())
            .collect();
    }
    let mut names = Vec::new();
    let mut in_quotes: Option<char> = None;
    let mut token = String::new();
    for c in trimmed.chars() {
        match (c, in_quotes) {
            ('"' | '\'', None) => in_quotes = Some(c),
            (q, Some(open)) if q == open => in_quotes = None,
            (w, None) if w.is_whitespace() => {
                if let Some((name, _)) = token.split_once('=') {
                    names.push(name.to_string());
                }
                token.clear();
            }
            _ => token.push(c),
        }
    }
    if let Some((name, _)) = token.split_once('=') {
        names.push(name.to_string());
    }
    names
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

/// Whether a shell script pipes one command into another (`|`, not `||`).
fn has_pipe(script: &str) -> bool {
    let bytes = script.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'|' && bytes.get(i + 1) != Some(&b'|') && (i == 0 || bytes.get(i - 1) != Some(&b'|'))
    })
}

/// The simple commands of a script, split at `&&`, `||`, `;`, `|` and newlines.
fn commands(script: &str) -> Vec<String> {
    script
        .replace("&&", "\n")
        .replace("||", "\n")
        .replace([';', '|'], "\n")
        .lines()
        .map(|c| c.trim().trim_start_matches('(').trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

fn unquote(word: &str) -> String {
    word.trim_matches(|c| c == '"' || c == '\'').to_string()
}

/// The arguments after `verb` that are packages: not options, not the values of `options_with_value`.
fn packages_after<'w>(words: &[&'w str], verb: &str, options_with_value: &[&str]) -> Vec<&'w str> {
    let Some(start) = words.iter().position(|w| *w == verb) else {
        return Vec::new();
    };
    let mut packages = Vec::new();
    let mut skip_next = false;
    for word in words.iter().skip(start + 1) {
        if skip_next {
            skip_next = false;
            continue;
        }
        if word.starts_with('-') {
            skip_next = options_with_value.contains(word);
            continue;
        }
        if word.starts_with('$')
            || word.contains('/') && !word.starts_with('@')
            || word.ends_with(".deb")
        {
            continue;
        }
        packages.push(*word);
    }
    packages
}

fn pip_pinned(package: &str) -> bool {
    package.contains("==")
        || package.contains(">=")
        || package.contains("~=")
        || package.ends_with(".whl")
        || package.ends_with(".tar.gz")
        || package.starts_with('.')
        || package.contains("git+")
}

fn npm_pinned(package: &str) -> bool {
    let name = package.strip_prefix('@').unwrap_or(package);
    name.contains('@')
        || package.starts_with('.')
        || package.contains("://")
        || package.starts_with("git")
}

fn is_url_or_archive(source: &str) -> bool {
    const ARCHIVES: [&str; 14] = [
        ".tar",
        ".tar.gz",
        ".tgz",
        ".tar.bz2",
        ".tbz2",
        ".tb2",
        ".tbz",
        ".tar.xz",
        ".txz",
        ".tar.lz",
        ".tlz",
        ".tar.lzma",
        ".tar.Z",
        ".tz",
    ];
    source.starts_with("http://")
        || source.starts_with("https://")
        || source.starts_with("git@")
        || source.starts_with('$')
        || ARCHIVES.iter().any(|a| source.ends_with(a))
}

#[cfg(test)]
mod tests;
