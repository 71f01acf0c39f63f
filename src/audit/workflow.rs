//! Predicates over GitHub Actions workflows (`.github/workflows/*.yml`), the supply-chain and CI checks
//! Scorecard makes (Pinned-Dependencies, Token-Permissions, Dangerous-Workflow) plus what the original app's CI
//! got wrong: calling scripts that do not exist, and deploying to production without a protected environment.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::repo::{Globs, Repo, line_of};
use super::rule::{Eval, Evidence, parse_data};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkflowPredicate {
    /// Every action and reusable workflow from another repository is pinned by a full commit SHA.
    ActionsPinned,
    /// Workflows set a read-only top-level `permissions:` (writes granted per job), and nothing asks write-all.
    LeastPrivilege,
    /// No `pull_request_target`/`workflow_run` workflow checks out the pull request's code, and no `run:` step
    /// expands attacker-controlled text (titles, bodies, branch names) into the shell.
    NoUntrustedCheckout,
    /// A job that deploys to production names a (protected) `environment:`.
    ProtectedProduction,
    /// Every `npm run`/`pnpm`/`yarn` script and every `scripts/…` file a workflow calls exists.
    ScriptsExist,
    /// No step or job that tests, lints, type-checks, audits, scans, builds or migrates is allowed to fail
    /// (`continue-on-error: true`).
    NoIgnoredFailures,
}

struct Workflow {
    file: String,
    text: std::rc::Rc<str>,
    data: Value,
}

impl Workflow {
    fn line(&self, needle: &str) -> Option<usize> {
        line_of(&self.text, needle)
    }

    fn jobs(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.data
            .get("jobs")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(id, job)| (id.as_str(), job))
    }

    /// The events that trigger it (`on:` as a string, a list or a map).
    fn triggers(&self) -> BTreeSet<String> {
        // YAML 1.1 readers turn `on` into `true`; accept both.
        let on = self.data.get("on").or_else(|| self.data.get("true"));
        match on {
            Some(Value::String(s)) => [s.clone()].into(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => BTreeSet::new(),
        }
    }
}

fn steps(job: &Value) -> impl Iterator<Item = &Value> {
    job.get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

fn workflows(repo: &Repo) -> Result<Vec<Workflow>, Eval> {
    static GLOBS: LazyLock<Globs> = LazyLock::new(|| {
        Globs::new(&[".github/workflows/*.{yml,yaml}".to_string()])
            .unwrap_or_else(|_| unreachable!())
    });
    let mut found = Vec::new();
    for file in repo.matching(&GLOBS) {
        let Some(text) = repo.text(file) else {
            return Err(Eval::Unknown(format!("{file} cannot be read as text")));
        };
        let data = parse_data(&text, super::rule::DataFormat::Yaml)
            .map_err(|e| Eval::Unknown(format!("{file} does not parse: {e}")))?;
        found.push(Workflow {
            file: file.to_string(),
            text,
            data,
        });
    }
    if found.is_empty() {
        return Err(Eval::Skipped("no GitHub workflow".into()));
    }
    Ok(found)
}

impl WorkflowPredicate {
    pub fn eval(self, repo: &Repo) -> Eval {
        let workflows = match workflows(repo) {
            Ok(w) => w,
            Err(eval) => return eval,
        };
        let names = || {
            workflows
                .iter()
                .map(|w| w.file.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            WorkflowPredicate::ActionsPinned => {
                Eval::unless(workflows.iter().flat_map(unpinned).collect(), || {
                    Evidence::note(format!("{}: every action pinned by SHA", names()))
                })
            }
            WorkflowPredicate::LeastPrivilege => {
                Eval::unless(workflows.iter().flat_map(privileges).collect(), || {
                    Evidence::note(format!("{}: read-only token by default", names()))
                })
            }
            WorkflowPredicate::NoUntrustedCheckout => {
                Eval::unless(workflows.iter().flat_map(dangerous).collect(), || {
                    Evidence::note(format!("{}: no untrusted checkout or injection", names()))
                })
            }
            WorkflowPredicate::ProtectedProduction => {
                let mut deploys = 0;
                let mut unprotected = Vec::new();
                for w in &workflows {
                    for (id, job) in w.jobs() {
                        if !deploys_to_production(id, job) {
                            continue;
                        }
                        deploys += 1;
                        let environment = match job.get("environment") {
                            Some(Value::String(s)) => Some(s.as_str()),
                            Some(Value::Object(map)) => map.get("name").and_then(Value::as_str),
                            _ => None,
                        };
                        if environment.is_none_or(|e| e.trim().is_empty()) {
                            unprotected.push(Evidence::at(
                                &w.file,
                                w.line(&format!("{id}:")),
                                format!(
                                    "job {id} deploys to production without an environment: (no required reviewers or \
                                     branch rules can hold it)"
                                ),
                            ));
                        }
                    }
                }
                if deploys == 0 {
                    return Eval::Skipped("no workflow job deploys to production".into());
                }
                Eval::unless(unprotected, || {
                    Evidence::note(format!(
                        "{deploys} production deploy job(s), each with an environment"
                    ))
                })
            }
            WorkflowPredicate::NoIgnoredFailures => Eval::unless(
                workflows.iter().flat_map(ignored_failures).collect(),
                || Evidence::note(format!("{}: no quality step may fail silently", names())),
            ),
            WorkflowPredicate::ScriptsExist => Eval::unless(
                workflows
                    .iter()
                    .flat_map(|w| missing_scripts(repo, w))
                    .collect(),
                || Evidence::note(format!("{}: every script called exists", names())),
            ),
        }
    }
}

static SHA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"@[0-9a-f]{40}$").unwrap_or_else(|_| unreachable!()));

fn unpinned(w: &Workflow) -> Vec<Evidence> {
    let mut found = Vec::new();
    let mut check = |uses: &str| {
        if uses.starts_with("./") || uses.starts_with("docker://") && uses.contains("@sha256:") {
            return;
        }
        if !SHA.is_match(uses) {
            found.push(Evidence::at(
                &w.file,
                w.line(uses),
                format!(
                    "{uses} is not pinned by a full commit SHA (a tag can be moved to other code)"
                ),
            ));
        }
    };
    for (_, job) in w.jobs() {
        if let Some(uses) = job.get("uses").and_then(Value::as_str) {
            check(uses);
        }
        for step in steps(job) {
            if let Some(uses) = step.get("uses").and_then(Value::as_str) {
                check(uses);
            }
        }
    }
    found
}

/// Whether a `permissions:` value grants any write.
fn writes(permissions: &Value) -> bool {
    match permissions {
        Value::String(s) => s == "write-all",
        Value::Object(map) => map.values().any(|v| v.as_str() == Some("write")),
        _ => false,
    }
}

fn privileges(w: &Workflow) -> Vec<Evidence> {
    let mut found = Vec::new();
    match w.data.get("permissions") {
        None => found.push(Evidence::at(
            &w.file,
            None,
            "no top-level permissions: every job gets the repository's default token (often read-write); \
             set permissions: contents: read and grant writes per job",
        )),
        Some(p) if writes(p) => found.push(Evidence::at(
            &w.file,
            w.line("permissions:"),
            "the top-level permissions grant writes to every job; grant them per job instead",
        )),
        Some(_) => {}
    }
    for (id, job) in w.jobs() {
        if job.get("permissions").and_then(Value::as_str) == Some("write-all") {
            found.push(Evidence::at(
                &w.file,
                w.line("write-all"),
                format!("job {id} asks write-all; name the scopes it writes"),
            ));
        }
    }
    found
}

static INJECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\$\{\{\s*github\.(head_ref|event\.(issue|pull_request|comment|review|review_comment|discussion|head_commit|commits|pages|workflow_run)\.[A-Za-z0-9_.*\[\]]*(title|body|message|name|email|ref|label|head_branch|page_name))\s*\}\}",
    )
    .unwrap_or_else(|_| unreachable!())
});

static PR_CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"github\.(head_ref|event\.pull_request\.head\.|event\.workflow_run\.head_)")
        .unwrap_or_else(|_| unreachable!())
});

fn dangerous(w: &Workflow) -> Vec<Evidence> {
    let mut found = Vec::new();
    let triggers = w.triggers();
    let privileged = triggers.contains("pull_request_target") || triggers.contains("workflow_run");
    for (id, job) in w.jobs() {
        for step in steps(job) {
            let uses = step.get("uses").and_then(Value::as_str).unwrap_or("");
            if privileged && uses.starts_with("actions/checkout") {
                let reference = step
                    .get("with")
                    .and_then(|w| w.get("ref"))
                    .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_string))
                    .unwrap_or_default();
                if PR_CODE.is_match(&reference) {
                    found.push(Evidence::at(
                        &w.file,
                        w.line(&reference),
                        format!(
                            "job {id} checks out the pull request's code ({reference}) in a privileged \
                             workflow: its secrets and write token are reachable from that code"
                        ),
                    ));
                }
            }
            if let Some(run) = step.get("run").and_then(Value::as_str) {
                for m in INJECTION.find_iter(run) {
                    found.push(Evidence::at(
                        &w.file,
                        w.line(m.as_str()),
                        format!(
                            "job {id} expands {} into a shell script: pass it through env: instead",
                            m.as_str()
                        ),
                    ));
                }
            }
        }
    }
    found
}

static PROD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bprod(uction)?\b").unwrap_or_else(|_| unreachable!()));

fn deploys_to_production(id: &str, job: &Value) -> bool {
    let name = job.get("name").and_then(Value::as_str).unwrap_or("");
    let label = format!("{id} {name}").replace(['-', '_'], " ");
    let environment = match job.get("environment") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        _ => String::new(),
    };
    let steps_text: String = steps(job)
        .filter_map(|s| {
            s.get("run")
                .or_else(|| s.get("uses"))
                .and_then(Value::as_str)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let deploys = label.to_lowercase().contains("deploy") || steps_text.contains("deploy");
    deploys
        && (PROD.is_match(&label)
            || PROD.is_match(&environment)
            || steps_text
                .lines()
                .any(|l| l.contains("deploy") && PROD.is_match(l)))
}

static PACKAGE_SCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)\b(?:npm run(?:-script)?|pnpm(?: run)?|yarn(?: run)?|bun run)\s+([A-Za-z0-9:_.-]+)",
    )
    .unwrap_or_else(|_| unreachable!())
});

static SCRIPT_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)(?:^|[\s;&|(])(?:\./|bash |sh )?((?:\./)?scripts/[A-Za-z0-9_./-]+)")
        .unwrap_or_else(|_| unreachable!())
});

/// What the package managers run themselves rather than as a package.json script.
const BUILTINS: &[&str] = &[
    "install",
    "add",
    "remove",
    "ci",
    "test",
    "exec",
    "dlx",
    "create",
    "init",
    "audit",
    "why",
    "list",
    "outdated",
    "upgrade",
    "up",
    "publish",
    "pack",
    "link",
    "config",
    "set",
    "dedupe",
    "rebuild",
    "prune",
    "store",
    "import",
    "info",
    "version",
    "workspace",
    "workspaces",
    "global",
    "cache",
];

fn missing_scripts(repo: &Repo, w: &Workflow) -> Vec<Evidence> {
    let mut found = Vec::new();
    for (id, job) in w.jobs() {
        let job_dir = job
            .get("defaults")
            .and_then(|d| d.get("run"))
            .and_then(|r| r.get("working-directory"))
            .and_then(Value::as_str);
        for step in steps(job) {
            let Some(run) = step.get("run").and_then(Value::as_str) else {
                continue;
            };
            let dir = step
                .get("working-directory")
                .and_then(Value::as_str)
                .or(job_dir)
                .unwrap_or(".")
                .trim_start_matches("./")
                .trim_end_matches('/');
            let in_dir = |file: &str| {
                if dir.is_empty() || dir == "." {
                    file.to_string()
                } else {
                    format!("{dir}/{file}")
                }
            };
            for captures in PACKAGE_SCRIPT.captures_iter(run) {
                let script = &captures[1];
                let is_yarn_or_pnpm =
                    !captures[0].starts_with("npm") && !captures[0].starts_with("bun");
                if is_yarn_or_pnpm && BUILTINS.contains(&script) {
                    continue;
                }
                let manifest = in_dir("package.json");
                let defined = repo
                    .text(&manifest)
                    .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                    .is_some_and(|p| p.get("scripts").and_then(|s| s.get(script)).is_some());
                if !defined {
                    found.push(Evidence::at(
                        &w.file,
                        w.line(&captures[0]),
                        format!(
                            "job {id} runs `{}`, but {manifest} has no script {script:?}",
                            &captures[0]
                        ),
                    ));
                }
            }
            for captures in SCRIPT_FILE.captures_iter(run) {
                let path = captures[1].trim_start_matches("./");
                if !repo.exists(&in_dir(path)) {
                    found.push(Evidence::at(
                        &w.file,
                        w.line(path),
                        format!("job {id} runs {path}, which is not in the repository"),
                    ));
                }
            }
        }
    }
    found
}

static QUALITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)test|lint|clippy|tsc|type.?check|audit|scan|trivy|deny|build|migrat|jest|vitest|pytest")
        .unwrap_or_else(|_| unreachable!())
});

fn continues_on_error(value: &Value) -> bool {
    match value.get("continue-on-error") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim() == "true",
        _ => false,
    }
}

fn ignored_failures(w: &Workflow) -> Vec<Evidence> {
    let mut found = Vec::new();
    for (id, job) in w.jobs() {
        let job_ignores = continues_on_error(job);
        for step in steps(job) {
            if !(job_ignores || continues_on_error(step)) {
                continue;
            }
            let what: String = ["name", "run", "uses"]
                .iter()
                .filter_map(|k| step.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(m) = QUALITY.find(&what) {
                let label = step
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| clip_line(&what), str::to_string);
                found.push(Evidence::at(
                    &w.file,
                    w.line(&label).or_else(|| w.line("continue-on-error")),
                    format!(
                        "job {id}: the step {label:?} ({}) may fail without failing the run (continue-on-error)",
                        m.as_str()
                    ),
                ));
            }
        }
    }
    found
}

fn clip_line(text: &str) -> String {
    text.lines().next().unwrap_or("").chars().take(60).collect()
}
