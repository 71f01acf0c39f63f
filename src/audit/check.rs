//! Check definitions: `checks/*.yaml`, one entry per check, validated on load (every error names the file, the
//! line and the field). The catalogue shipped with vivr is embedded at build time; `--checks DIR` reads another.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::rule::{Matcher, RuleSpec};
use super::score::{Level, Severity};

/// The catalogue shipped with this build, file by file (a test keeps this list equal to `checks/*.yaml`).
pub const EMBEDDED: &[(&str, &str)] = &[
    ("checks/aws.yaml", include_str!("../../checks/aws.yaml")),
    ("checks/build.yaml", include_str!("../../checks/build.yaml")),
    ("checks/ci-cd.yaml", include_str!("../../checks/ci-cd.yaml")),
    (
        "checks/containers.yaml",
        include_str!("../../checks/containers.yaml"),
    ),
    (
        "checks/deployment.yaml",
        include_str!("../../checks/deployment.yaml"),
    ),
    (
        "checks/environment.yaml",
        include_str!("../../checks/environment.yaml"),
    ),
    ("checks/http.yaml", include_str!("../../checks/http.yaml")),
    (
        "checks/migrations.yaml",
        include_str!("../../checks/migrations.yaml"),
    ),
    (
        "checks/operations.yaml",
        include_str!("../../checks/operations.yaml"),
    ),
    (
        "checks/secrets.yaml",
        include_str!("../../checks/secrets.yaml"),
    ),
];

/// The areas of the deployment-readiness audit, in the order reports list them when nothing is failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Environment,
    Secrets,
    Build,
    Containers,
    Migrations,
    CiCd,
    Deployment,
    Monitoring,
    ErrorTracking,
    Caching,
    Tls,
    Http,
    Backups,
    Performance,
}

impl Category {
    pub fn title(self) -> &'static str {
        match self {
            Category::Environment => "Environment management",
            Category::Secrets => "Secrets and supply chain",
            Category::Build => "Build",
            Category::Containers => "Containers",
            Category::Migrations => "Database migrations",
            Category::CiCd => "CI/CD",
            Category::Deployment => "Deployment and rollback",
            Category::Monitoring => "Monitoring",
            Category::ErrorTracking => "Error tracking",
            Category::Caching => "CDN and caching",
            Category::Tls => "TLS",
            Category::Http => "HTTP headers",
            Category::Backups => "Backups",
            Category::Performance => "Performance budgets",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Environment => "environment",
            Category::Secrets => "secrets",
            Category::Build => "build",
            Category::Containers => "containers",
            Category::Migrations => "migrations",
            Category::CiCd => "ci-cd",
            Category::Deployment => "deployment",
            Category::Monitoring => "monitoring",
            Category::ErrorTracking => "error-tracking",
            Category::Caching => "caching",
            Category::Tls => "tls",
            Category::Http => "http",
            Category::Backups => "backups",
            Category::Performance => "performance",
        }
    }
}

/// How to fix a failing check: one line, and where to read more (a URL or a `runbooks/` page).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Remediation {
    pub fix: String,
    pub link: String,
}

/// A fixture: a small repository (file name → content) the check must pass or fail on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// For checks on `--http`: the response the site gives (status, headers, body), graded as if fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<super::http::HttpFixture>,
    /// For checks on `--backup-store`: the backups in the store, by age.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<Vec<super::backups::BackupFixture>>,
    /// For checks on `--aws`: what ECS, CloudWatch and Secrets Manager say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<super::aws::AwsFacts>,
    /// What the fixture shows, for the reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    pub pass: Vec<Example>,
    pub fail: Vec<Example>,
}

/// One check as written in a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub level: Level,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_when: Option<RuleSpec>,
    pub rule: RuleSpec,
    pub remediation: Remediation,
    #[serde(default)]
    pub references: Vec<String>,
    /// More than the title says: why it matters, what passes. Printed by `--explain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<String>,
    pub examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckFile {
    checks: Vec<CheckSpec>,
}

/// A check ready to run: its definition and its compiled rules.
#[derive(Debug, Clone)]
pub struct Check {
    pub spec: CheckSpec,
    pub applies_when: Option<Matcher>,
    pub rule: Matcher,
    /// The file it was read from.
    pub file: String,
}

/// A problem in a check file: where, which field, what rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckFileError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for CheckFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.message
        )
    }
}

/// The check files were not valid: every problem found.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} problem(s) in the check files:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct InvalidChecks(pub Vec<CheckFileError>);

/// Every check, in id order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub checks: Vec<Check>,
}

static ID: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
        .unwrap_or_else(|_| unreachable!())
});

/// What is wrong with a check's own fields (id, texts, link, examples), before its rules are compiled:
/// (field, message).
fn spec_problems(spec: &CheckSpec, earlier: &[Check]) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if !ID.is_match(&spec.id) {
        problems.push((
            "id",
            "an id is lowercase words joined by '-', in at least two parts joined by '.' \
             (containers.non-root-user)"
                .into(),
        ));
    }
    if let Some(other) = earlier.iter().find(|c| c.spec.id == spec.id) {
        problems.push(("id", format!("the id is already used in {}", other.file)));
    }
    let prefix = format!("{}.", spec.category.as_str());
    if !spec.id.starts_with(&prefix) {
        problems.push(("id", format!("the id starts with its category: {prefix}…")));
    }
    for (field, value) in [
        ("title", &spec.title),
        ("remediation", &spec.remediation.fix),
    ] {
        if value.trim().is_empty() || value.contains('\n') {
            problems.push((field, "one line of text, not empty".into()));
        }
    }
    let link = &spec.remediation.link;
    if !(link.starts_with("https://") || link.starts_with("runbooks/")) {
        problems.push(("link", "an https:// URL or a runbooks/ page".into()));
    }
    for (kind, list) in [("pass", &spec.examples.pass), ("fail", &spec.examples.fail)] {
        if list.is_empty() {
            problems.push((
                "examples",
                format!("at least one {kind} example (a fixture the check must {kind} on)"),
            ));
        }
    }
    problems
}

impl Catalogue {
    /// The catalogue shipped with this build.
    pub fn embedded() -> Result<Catalogue, InvalidChecks> {
        let files: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        Catalogue::parse(&files)
    }

    /// The `*.yaml` files of `dir` (except `waivers.yaml`), as the catalogue.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Result<Catalogue, InvalidChecks>> {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir)
            .with_context(|| format!("reading the folder {}", dir.display()))?;
        for entry in entries {
            let path = entry
                .with_context(|| format!("reading the folder {}", dir.display()))?
                .path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.ends_with(".yaml") || name.ends_with(".yml"))
                || name == super::waiver::FILE_NAME
            {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            files.push((path.display().to_string(), text));
        }
        anyhow::ensure!(
            !files.is_empty(),
            "{} holds no check file (*.yaml)",
            dir.display()
        );
        files.sort();
        Ok(Catalogue::parse(&files))
    }

    /// Parses and validates check files given as (name, text).
    pub fn parse(files: &[(String, String)]) -> Result<Catalogue, InvalidChecks> {
        let mut errors = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        for (file, text) in files {
            let parsed: CheckFile = match yaml_serde::from_str(text) {
                Ok(parsed) => parsed,
                Err(err) => {
                    errors.push(yaml_error(file, &err));
                    continue;
                }
            };
            for spec in parsed.checks {
                let error = |field: &str, message: String| CheckFileError {
                    file: file.clone(),
                    line: field_line(text, &spec.id, field),
                    field: format!("{}.{field}", spec.id),
                    message,
                };
                for (field, message) in spec_problems(&spec, &checks) {
                    errors.push(error(field, message));
                }
                let applies_when = match spec
                    .applies_when
                    .as_ref()
                    .map(|r| r.compile("applies_when"))
                {
                    None => None,
                    Some(Ok(m)) => Some(m),
                    Some(Err(e)) => {
                        errors.push(error(&e.key, format!("{}: {}", e.path, e.message)));
                        None
                    }
                };
                let rule = match spec.rule.compile("rule") {
                    Ok(m) => m,
                    Err(e) => {
                        errors.push(error(&e.key, format!("{}: {}", e.path, e.message)));
                        continue;
                    }
                };
                checks.push(Check {
                    applies_when,
                    rule,
                    file: file.clone(),
                    spec,
                });
            }
        }
        if !errors.is_empty() {
            return Err(InvalidChecks(errors));
        }
        checks.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
        Ok(Catalogue { checks })
    }

    pub fn get(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.spec.id == id)
    }
}

/// A YAML or type error: yaml_serde reports the line and the path of the field.
pub fn yaml_error(file: &str, err: &yaml_serde::Error) -> CheckFileError {
    let text = err.to_string();
    let (field, message) = match text.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') => (path.to_string(), rest.to_string()),
        _ => ("(file)".to_string(), text.clone()),
    };
    // The location is also in the message ("at line 3 column 5"); keep the message short.
    let message = match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message,
    };
    CheckFileError {
        file: file.to_string(),
        line: err.location().map_or(1, |l| l.line()),
        field,
        message,
    }
}

/// The line of `field:` within the entry of check `id` (the entry's `id:` line when the field is not written).
pub fn field_line(text: &str, id: &str, field: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    let entry = lines.iter().position(|l| {
        let l = l.trim_start().trim_start_matches("- ").trim_start();
        l.strip_prefix("id:")
            .is_some_and(|rest| rest.trim().trim_matches(['"', '\'']) == id)
    });
    let Some(start) = entry else {
        return 1;
    };
    let key = format!("{field}:");
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start();
        if trimmed.starts_with("id:") {
            break;
        }
        if trimmed.starts_with(&key) || trimmed.starts_with(&format!("{{{key}")) {
            return i + 1;
        }
    }
    start + 1
}
