//! vivr's own analyses, offered to checks as matchers: the configuration schema and `.env.example`, the
//! migration history and its lint (`vivr migrate lint`), and a scan of the tree for committed secrets.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::repo::{Globs, Repo, line_at};
use super::rule::{Eval, Evidence};
use crate::config::schema::Schema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Analysis {
    /// `vivr.env.yaml` parses as vivr's configuration schema.
    EnvSchemaValid,
    /// `.env.example` is what `vivr env example` writes from the repository's schema.
    EnvExampleCurrent,
    /// Every Prisma-layout migrations folder is well formed: a lock file naming the provider, one
    /// `<14-digit timestamp>_<name>/migration.sql` per migration, none empty, timestamps unique.
    MigrationHistory,
    /// `vivr migrate lint` finds nothing blocking in the PostgreSQL migrations.
    MigrationsLint,
    /// No file holds a live credential: private keys, cloud and payment keys, tokens, and the configuration
    /// schema's secret variables assigned a real-looking value.
    SecretsInTree,
}

const SCHEMA_FILE: &str = "vivr.env.yaml";
const ENV_EXAMPLE: &str = ".env.example";

impl Analysis {
    pub fn run(self, repo: &Repo) -> Eval {
        match self {
            Analysis::EnvSchemaValid => match repo_schema(repo) {
                Ok(_) => Eval::pass(vec![Evidence::at(SCHEMA_FILE, None, "parses")]),
                Err(eval) => eval,
            },
            Analysis::EnvExampleCurrent => env_example_current(repo),
            Analysis::MigrationHistory => migration_history(repo),
            Analysis::MigrationsLint => migrations_lint(repo),
            Analysis::SecretsInTree => secrets_in_tree(repo),
        }
    }
}

fn repo_schema(repo: &Repo) -> Result<Schema, Eval> {
    let Some(text) = repo.text(SCHEMA_FILE) else {
        return Err(Eval::fail(vec![Evidence::note(format!(
            "no {SCHEMA_FILE}: nothing says which variables exist, which are secret, which each environment needs"
        ))]));
    };
    Schema::parse(&text)
        .map_err(|e| Eval::fail(vec![Evidence::at(SCHEMA_FILE, None, format!("{e:#}"))]))
}

fn env_example_current(repo: &Repo) -> Eval {
    let schema = match repo_schema(repo) {
        Ok(schema) => schema,
        Err(eval) => return eval,
    };
    let want = crate::config::report::env_example(&schema);
    let Some(have) = repo.text(ENV_EXAMPLE) else {
        return Eval::fail(vec![Evidence::note(format!(
            "no {ENV_EXAMPLE}: write it with `vivr env example > {ENV_EXAMPLE}`"
        ))]);
    };
    if *have == want {
        return Eval::pass(vec![Evidence::at(
            ENV_EXAMPLE,
            None,
            format!("matches {SCHEMA_FILE}"),
        )]);
    }
    let (line, differs) = have
        .lines()
        .zip(want.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i + 1, format!("{a:?} where the schema gives {b:?}")))
        .unwrap_or_else(|| {
            let n = have.lines().count().min(want.lines().count()) + 1;
            (n, "the length differs".to_string())
        });
    Eval::fail(vec![Evidence::at(
        ENV_EXAMPLE,
        Some(line),
        format!(
            "out of date with {SCHEMA_FILE} ({differs}): run `vivr env example > {ENV_EXAMPLE}`"
        ),
    )])
}

/// Every folder holding a `migration_lock.toml`, with the provider it names.
fn migration_folders(repo: &Repo) -> Vec<(String, Option<String>)> {
    repo.files()
        .iter()
        .filter_map(|f| f.strip_suffix("migration_lock.toml"))
        .filter(|dir| dir.is_empty() || dir.ends_with('/'))
        .map(|dir| {
            let provider = repo
                .text(&format!("{dir}migration_lock.toml"))
                .and_then(|t| {
                    t.lines()
                        .filter_map(|l| l.trim().strip_prefix("provider"))
                        .filter_map(|r| r.trim().strip_prefix('='))
                        .map(|v| v.trim().trim_matches('"').to_string())
                        .next()
                });
            (dir.to_string(), provider)
        })
        .collect()
}

static MIGRATION_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d{14}_[A-Za-z0-9_]+$").unwrap_or_else(|_| unreachable!()));

fn migration_history(repo: &Repo) -> Eval {
    let folders = migration_folders(repo);
    if folders.is_empty() {
        return Eval::fail(vec![Evidence::note(
            "no migrations folder (a migration_lock.toml next to <timestamp>_<name>/migration.sql folders): \
             the schema is changed without a reviewed, replayable history",
        )]);
    }
    let mut problems = Vec::new();
    let mut total = 0;
    for (dir, provider) in &folders {
        if provider.is_none() {
            problems.push(Evidence::at(
                &format!("{dir}migration_lock.toml"),
                None,
                "no provider = \"…\" line",
            ));
        }
        let mut names: Vec<&str> = Vec::new();
        let mut stamps = std::collections::BTreeMap::new();
        for file in repo.files() {
            let Some(rest) = file.strip_prefix(dir.as_str()) else {
                continue;
            };
            let Some((name, inner)) = rest.split_once('/') else {
                continue;
            };
            if names.last() != Some(&name) {
                names.push(name);
                if !MIGRATION_NAME.is_match(name) {
                    problems.push(Evidence::at(
                        &format!("{dir}{name}"),
                        None,
                        "a migration folder is named <14-digit timestamp>_<name>",
                    ));
                } else if let Some(earlier) = stamps.insert(&name[..14], name) {
                    problems.push(Evidence::at(
                        &format!("{dir}{name}"),
                        None,
                        format!(
                            "shares its timestamp with {earlier}: the apply order is ambiguous"
                        ),
                    ));
                }
                if !repo.exists(&format!("{dir}{name}/migration.sql")) {
                    problems.push(Evidence::at(
                        &format!("{dir}{name}"),
                        None,
                        "no migration.sql",
                    ));
                }
            }
            if inner == "migration.sql"
                && repo.text(file).is_some_and(|t| {
                    t.lines()
                        .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
                })
            {
                problems.push(Evidence::at(file, None, "empty migration"));
            }
        }
        total += names.len();
    }
    Eval::unless(problems, || {
        Evidence::note(format!(
            "{} folder(s), {total} migration(s), well formed",
            folders.len()
        ))
    })
}

fn migrations_lint(repo: &Repo) -> Eval {
    let folders: Vec<String> = migration_folders(repo)
        .into_iter()
        .filter(|(_, p)| p.as_deref() == Some("postgresql"))
        .map(|(dir, _)| dir)
        .collect();
    if folders.is_empty() {
        return Eval::Skipped("no PostgreSQL migrations folder".into());
    }
    let mut blocking = Vec::new();
    let mut files = 0;
    for dir in &folders {
        let path = repo.root().join(dir);
        let migrations = match crate::migrate::from_dir(&path, vivr_shop::store::Backend::Postgres)
        {
            Ok(m) => m,
            Err(e) => return Eval::Unknown(format!("{dir}: {e:#}")),
        };
        for migration in &migrations {
            files += 1;
            let lint = crate::migrate::lint::lint(migration, "15");
            for finding in lint.blocking() {
                blocking.push(Evidence::at(
                    &format!("{dir}{}/migration.sql", migration.name),
                    Some(finding.line),
                    format!("{}: {}", finding.rule, finding.message),
                ));
            }
        }
    }
    Eval::unless(blocking, || {
        Evidence::note(format!("{files} migration(s): nothing blocking"))
    })
}

/// A secret-looking pattern: gitleaks-style, aimed at credentials that open production.
struct SecretRule {
    id: &'static str,
    regex: Regex,
}

static SECRET_RULES: LazyLock<Vec<SecretRule>> = LazyLock::new(|| {
    let rule = |id, pattern: &str| SecretRule {
        id,
        regex: Regex::new(pattern).unwrap_or_else(|_| unreachable!()),
    };
    vec![
        rule(
            "private-key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----",
        ),
        rule(
            "aws-access-key-id",
            r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
        ),
        rule("stripe-live-key", r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}\b"),
        rule(
            "github-token",
            r"\b(?:gh[pousr]_[0-9A-Za-z]{36}|github_pat_[0-9A-Za-z_]{60,})\b",
        ),
        rule("slack-token", r"\bxox[abposr]-[0-9A-Za-z-]{10,}"),
        rule(
            "slack-webhook",
            r"https://hooks\.slack\.com/services/T[0-9A-Z]+/B[0-9A-Z]+/[0-9A-Za-z]+",
        ),
        rule("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        rule(
            "sendgrid-key",
            r"\bSG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43}\b",
        ),
    ]
});

/// Values that are obviously not real: placeholders, examples, references to the environment.
fn placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches(['"', '\'']);
    let lower = v.to_ascii_lowercase();
    v.is_empty()
        || v.len() < 8
        || v.starts_with("${")
        || v.starts_with('$')
        || v.starts_with('<')
        || v.contains("{{")
        || [
            "example",
            "change",
            "replace",
            "placeholder",
            "dummy",
            "fake",
            "xxxx",
            "your",
            "secret_here",
            "todo",
            "redacted",
            "test",
            "localhost",
            "...",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

/// Lines a scan must not report: an explicit allow marker (for a test that needs a secret-shaped string).
const ALLOW_MARKER: &str = "audit:allow-secret";

/// An assignment of a secret variable (the schema's own, the repository's if it has one, and common names of
/// other stacks) in an env or compose file.
fn secret_assignment(repo: &Repo) -> Result<Regex, regex::Error> {
    // The schema's secret variables, the repository's own if it has one, else vivr's.
    let own = repo.text(SCHEMA_FILE).and_then(|t| Schema::parse(&t).ok());
    let schema = own.as_ref().unwrap_or_else(|| Schema::embedded());
    let mut names: Vec<String> = schema
        .variables
        .iter()
        .filter(|v| v.secret)
        .map(|v| regex::escape(&v.name))
        .collect();
    // Common secret names in other stacks (the original app's among them).
    names.extend(
        [r"[A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|PRIVATE_KEY)[A-Z0-9_]*"]
            .map(String::from),
    );
    Regex::new(&format!(
        r#"(?m)^[ \t]*(?:export[ \t]+)?({})[ \t]*[=:][ \t]*("[^"\n]*"|'[^'\n]*'|[^\s#]+)"#,
        names.join("|")
    ))
}

fn secrets_in_tree(repo: &Repo) -> Eval {
    let assignment = secret_assignment(repo);
    let Ok(assignment) = assignment else {
        return Eval::Unknown("the secret variable names do not make a pattern".into());
    };
    static ENV_FILES: LazyLock<Globs> = LazyLock::new(|| {
        Globs::new(&[
            "**/.env".into(),
            "**/.env.*".into(),
            "**/*.env".into(),
            "**/docker-compose*.{yml,yaml}".into(),
            "**/compose*.{yml,yaml}".into(),
        ])
        .unwrap_or_else(|_| unreachable!())
    });
    let mut found = Vec::new();
    let mut scanned = 0;
    for file in repo.files() {
        let Some(text) = repo.text(file) else {
            continue;
        };
        scanned += 1;
        let allowed = |at: usize| {
            let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
            text[start..end].contains(ALLOW_MARKER)
        };
        for rule in SECRET_RULES.iter() {
            for m in rule.regex.find_iter(&text) {
                if allowed(m.start()) || (rule.id != "private-key" && placeholder(m.as_str())) {
                    continue;
                }
                found.push(Evidence::at(
                    file,
                    Some(line_at(&text, m.start())),
                    format!(
                        "{}: a committed credential ({} characters, not shown)",
                        rule.id,
                        m.len()
                    ),
                ));
            }
        }
        if ENV_FILES.is_match(file) {
            for captures in assignment.captures_iter(&text) {
                let (Some(name), Some(value)) = (captures.get(1), captures.get(2)) else {
                    continue;
                };
                if allowed(name.start()) || placeholder(value.as_str()) {
                    continue;
                }
                found.push(Evidence::at(
                    file,
                    Some(line_at(&text, name.start())),
                    format!(
                        "{} is given a value in the repository ({} characters, not shown): secrets belong in \
                         the secret store",
                        name.as_str(),
                        value.as_str().len()
                    ),
                ));
            }
        }
    }
    found.sort();
    Eval::unless(found, || {
        Evidence::note(format!(
            "{scanned} text file(s) scanned, no credential found"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_not_secrets() {
        for value in [
            "",
            "${STRIPE_SECRET_KEY}",
            "<your key>",
            "change-me-in-production",
            "sk_live_EXAMPLE",
        ] {
            assert!(placeholder(value), "{value}");
        }
        assert!(!placeholder("q8Zr2pX7vLm4Kd9s"));
    }
}
