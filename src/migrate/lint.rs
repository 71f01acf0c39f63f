//! Pre-flight lint of PostgreSQL migration files with squawk's rules, in process. Rules that lose data or break
//! clients still running the previous release block a deploy (unless `--allow-destructive`, or an inline
//! `-- squawk-ignore RULE -- reason`); rules about locking warn. A statement that cannot run in a transaction
//! (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …) must be alone in its file.

use serde::Serialize;
use squawk_linter::{Linter, Rule};
use squawk_syntax::SourceFile;
use squawk_syntax::ast::AstNode;

use super::Migration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Block,
    Warn,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub migration: String,
    pub rule: String,
    pub severity: Severity,
    pub line: usize,
    pub message: String,
    pub help: Option<String>,
    /// The table, type or other object the statement acts on, when it names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Why a rule that usually blocks only warns here (an empty database, an object this deploy creates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downgraded: Option<String>,
}

/// What the lint found in one file, and how the file will run.
#[derive(Debug, Clone, Serialize)]
pub struct FileLint {
    pub migration: String,
    /// False for a file holding one statement that cannot run inside a transaction.
    pub transactional: bool,
    pub statements: usize,
    pub findings: Vec<Finding>,
    /// The table lock each statement takes, in order: (table, lock mode). Statements that lock no existing table
    /// (CREATE TABLE, CREATE FUNCTION…) are left out.
    pub locks: Vec<(String, String)>,
}

/// PostgreSQL's table lock modes, weakest first.
const LOCK_ORDER: [&str; 8] = [
    "ACCESS SHARE",
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
];

impl FileLint {
    /// The strongest lock the file takes on each table, by table name.
    pub fn strongest_locks(&self) -> Vec<(String, String)> {
        let rank = |mode: &str| LOCK_ORDER.iter().position(|m| *m == mode).unwrap_or(0);
        let mut strongest: std::collections::BTreeMap<&str, &str> =
            std::collections::BTreeMap::new();
        for (table, mode) in &self.locks {
            let entry = strongest.entry(table).or_insert(mode);
            if rank(mode) > rank(entry) {
                *entry = mode;
            }
        }
        strongest
            .into_iter()
            .map(|(t, m)| (t.to_string(), m.to_string()))
            .collect()
    }

    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Block)
    }
}

/// What the database held when a deploy started: what decides whether a destructive statement can lose data or
/// break the running release.
#[derive(Debug, Clone, Default)]
pub struct DeployContext {
    /// No table at all (besides the history): nothing can be lost, no client depends on anything.
    pub empty_schema: bool,
    /// Tables, views, sequences, indexes and types that existed (lower case names).
    pub existing: std::collections::BTreeSet<String>,
}

impl DeployContext {
    /// Turns blocking data-loss and compatibility findings into warnings where they cannot lose data nor break
    /// the running release: on an empty schema, and on objects that did not exist when the deploy started (so an
    /// earlier migration of this same deploy created them). Rules about the file's atomicity keep blocking.
    pub fn apply(&self, lints: &mut [FileLint]) {
        for finding in lints.iter_mut().flat_map(|l| l.findings.iter_mut()) {
            if finding.severity != Severity::Block || !is_data_or_compat_rule(&finding.rule) {
                continue;
            }
            let reason = if self.empty_schema {
                Some("the database has no table yet: nothing to lose".to_string())
            } else {
                finding
                    .object
                    .as_deref()
                    .filter(|o| !self.existing.contains(&o.to_lowercase()))
                    .map(|o| format!("{o} is created by an earlier migration of this deploy"))
            };
            if let Some(reason) = reason {
                finding.severity = Severity::Warn;
                finding.downgraded = Some(reason);
            }
        }
    }
}

/// Blocking rules about data and the running release (as opposed to the file's atomicity or syntax).
fn is_data_or_compat_rule(rule: &str) -> bool {
    BLOCKING
        .iter()
        .filter(|r| !ATOMICITY.contains(r))
        .any(|r| r.to_string() == rule)
}

/// Blocking rules about the file's transaction, which no database state makes safe.
const ATOMICITY: &[Rule] = &[
    Rule::TransactionNesting,
    Rule::BanUncommittedTransaction,
    Rule::BanConcurrentIndexCreationInTransaction,
];

/// The object a statement acts on: `ALTER TABLE "Order" …` → `Order`, `DROP TYPE IF EXISTS public."Role"` →
/// `Role`. Schema qualifiers and quotes are dropped.
pub fn object_of(statement: &str) -> Option<String> {
    const KINDS: [&str; 10] = [
        "TABLE",
        "VIEW",
        "TYPE",
        "SEQUENCE",
        "INDEX",
        "DOMAIN",
        "FUNCTION",
        "SCHEMA",
        "EXTENSION",
        "TRIGGER",
    ];
    let words: Vec<&str> = statement.split_whitespace().take(16).collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let kind = upper.iter().position(|w| KINDS.contains(&w.as_str()))?;
    let mut at = kind + 1;
    while matches!(
        upper.get(at).map(String::as_str),
        Some("IF" | "EXISTS" | "NOT" | "ONLY" | "CONCURRENTLY" | "MATERIALIZED")
    ) {
        at += 1;
    }
    let raw = words.get(at)?;
    let name = raw
        .split('(')
        .next()
        .unwrap_or(raw)
        .trim_end_matches([';', ','])
        .rsplit('.')
        .next()
        .unwrap_or(raw)
        .trim_matches('"');
    (!name.is_empty()).then(|| name.to_string())
}

/// Rules that lose data, break clients of the running release, or break the migration's atomicity.
const BLOCKING: &[Rule] = &[
    Rule::BanDropColumn,
    Rule::BanDropTable,
    Rule::BanDropDatabase,
    Rule::BanDropSchema,
    Rule::BanDropView,
    Rule::BanDropType,
    Rule::BanDropSequence,
    Rule::BanDropDomain,
    Rule::BanDropFunction,
    Rule::BanDropExtension,
    Rule::BanDropNotNull,
    Rule::BanTruncateCascade,
    Rule::RenamingColumn,
    Rule::RenamingTable,
    Rule::RenamingObject,
    Rule::ChangingColumnType,
    Rule::AddingRequiredField,
    Rule::TransactionNesting,
    Rule::BanUncommittedTransaction,
    Rule::BanConcurrentIndexCreationInTransaction,
];

/// Statements PostgreSQL refuses inside a transaction block.
fn non_transactional(statement: &str) -> bool {
    let words: Vec<String> = statement
        .split_whitespace()
        .take(8)
        .map(|w| w.to_ascii_uppercase())
        .collect();
    let starts = |prefix: &[&str]| {
        words.len() >= prefix.len() && prefix.iter().zip(&words).all(|(p, w)| p == w)
    };
    words.iter().any(|w| w == "CONCURRENTLY")
        || starts(&["VACUUM"])
        || starts(&["CREATE", "DATABASE"])
        || starts(&["DROP", "DATABASE"])
        || starts(&["ALTER", "SYSTEM"])
        || starts(&["CREATE", "TABLESPACE"])
}

/// The lock a statement takes on an existing table, from PostgreSQL's documentation of each command.
fn table_lock(statement: &str) -> Option<(String, &'static str)> {
    let words: Vec<String> = statement
        .split_whitespace()
        .take(12)
        .map(|w| w.trim_end_matches(';').to_string())
        .collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_ascii_uppercase()).collect();
    let at = |i: usize| upper.get(i).map(String::as_str).unwrap_or("");
    let name_after = |keyword: &str| -> Option<String> {
        let i = upper.iter().position(|w| w == keyword)?;
        let mut j = i + 1;
        while matches!(at(j), "ONLY" | "IF" | "EXISTS" | "NOT" | "CONCURRENTLY") {
            j += 1;
        }
        words.get(j).map(|w| {
            w.split('(')
                .next()
                .unwrap_or(w)
                .trim_matches('"')
                .to_string()
        })
    };
    let concurrently = upper.iter().any(|w| w == "CONCURRENTLY");
    match (at(0), at(1)) {
        ("ALTER", "TABLE") => {
            let lock = if upper.iter().any(|w| w == "VALIDATE") {
                "SHARE UPDATE EXCLUSIVE"
            } else if upper.iter().any(|w| w == "FOREIGN") && !upper.iter().any(|w| w == "DROP") {
                "SHARE ROW EXCLUSIVE"
            } else {
                "ACCESS EXCLUSIVE"
            };
            Some((name_after("TABLE")?, lock))
        }
        ("CREATE", "INDEX") | ("CREATE", "UNIQUE") => Some((
            name_after("ON")?,
            if concurrently {
                "SHARE UPDATE EXCLUSIVE"
            } else {
                "SHARE"
            },
        )),
        ("DROP", "INDEX") => Some((
            name_after("INDEX")?,
            if concurrently {
                "SHARE UPDATE EXCLUSIVE"
            } else {
                "ACCESS EXCLUSIVE"
            },
        )),
        ("DROP", "TABLE") => Some((name_after("TABLE")?, "ACCESS EXCLUSIVE")),
        ("TRUNCATE", _) => Some((name_after("TRUNCATE")?, "ACCESS EXCLUSIVE")),
        ("UPDATE", _) => Some((name_after("UPDATE")?, "ROW EXCLUSIVE")),
        ("DELETE", _) => Some((name_after("FROM")?, "ROW EXCLUSIVE")),
        ("INSERT", _) => Some((name_after("INTO")?, "ROW EXCLUSIVE")),
        ("CREATE", "TRIGGER") => Some((name_after("ON")?, "SHARE ROW EXCLUSIVE")),
        ("VACUUM", "FULL") => Some((
            words.get(2)?.trim_matches('"').to_string(),
            "ACCESS EXCLUSIVE",
        )),
        ("VACUUM", _) => Some((
            words.get(1)?.trim_matches('"').to_string(),
            "SHARE UPDATE EXCLUSIVE",
        )),
        ("REINDEX", _) => Some((
            words.last()?.trim_matches('"').to_string(),
            if concurrently {
                "SHARE UPDATE EXCLUSIVE"
            } else {
                "SHARE"
            },
        )),
        _ => None,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// Squawk's rules, each finding naming the object of the statement it is in.
fn squawk(
    parse: &squawk_syntax::Parse<SourceFile>,
    text: &str,
    transactional: bool,
    pg_version: &str,
    finding: &MakeFinding<'_>,
) -> Vec<Finding> {
    // Where each statement starts and ends, to name the object a finding is about.
    let spans: Vec<(usize, usize, Option<String>)> = parse
        .tree()
        .stmts()
        .map(|s| {
            let range = s.syntax().text_range();
            (
                usize::from(range.start()),
                usize::from(range.end()),
                object_of(&s.syntax().text().to_string()),
            )
        })
        .collect();
    let object_at = |offset: usize| {
        spans
            .iter()
            .find(|(start, end, _)| (*start..*end).contains(&offset))
            .and_then(|(_, _, object)| object.clone())
    };
    let mut findings = Vec::new();
    // vivr sets lock_timeout and statement_timeout itself for every migration.
    let mut linter = Linter::with_rules(
        &[],
        &[
            Rule::RequireLockTimeout,
            Rule::RequireStatementTimeout,
            Rule::RequireTimeoutSettings,
        ],
    );
    linter.settings.assume_in_transaction = transactional;
    if let Ok(version) = pg_version.parse() {
        linter.settings.pg_version = version;
    }
    for violation in linter.lint(parse, text) {
        let severity = if BLOCKING.contains(&violation.code) {
            Severity::Block
        } else {
            Severity::Warn
        };
        let offset = usize::from(violation.text_range.start());
        findings.push(Finding {
            object: object_at(offset),
            ..finding(
                &violation.code.to_string(),
                severity,
                line_of(text, offset),
                violation.message,
                violation.help,
            )
        });
    }

    findings
}

/// An ignore must say why: `-- squawk-ignore RULE -- the reason`.
fn ignores_without_reason(text: &str, finding: &MakeFinding<'_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("--").map(str::trim_start)
            && let Some(after) = rest.strip_prefix("squawk-ignore")
        {
            let reason = after.split_once("--").map(|(_, r)| r.trim()).unwrap_or("");
            if reason.is_empty() {
                findings.push(finding(
                    "ignore-without-reason",
                    Severity::Block,
                    i + 1,
                    "a squawk-ignore comment must give its reason".into(),
                    Some("write `-- squawk-ignore RULE -- why this is safe here`".into()),
                ));
            }
        }
    }
    findings
}

/// Builds a finding of the file being linted: rule, severity, line, message, help.
type MakeFinding<'a> = dyn Fn(&str, Severity, usize, String, Option<String>) -> Finding + 'a;

/// Lints one migration for a server of `pg_version` (e.g. "15.18").
pub fn lint(migration: &Migration, pg_version: &str) -> FileLint {
    let text: &str = &migration.sql;
    let name = migration.name.to_string();
    let finding = |rule: &str, severity, line, message: String, help: Option<String>| Finding {
        migration: name.clone(),
        rule: rule.to_string(),
        severity,
        line,
        message,
        help,
        object: None,
        downgraded: None,
    };
    let parse = SourceFile::parse(text);
    let mut findings: Vec<Finding> = parse
        .errors()
        .iter()
        .map(|e| {
            finding(
                "syntax-error",
                Severity::Block,
                line_of(text, usize::from(e.range().start())),
                e.message().to_string(),
                None,
            )
        })
        .collect();
    let statements: Vec<String> = parse
        .tree()
        .stmts()
        .map(|s| s.syntax().text().to_string())
        .collect();
    let locks: Vec<(String, String)> = statements
        .iter()
        .filter_map(|s| table_lock(s))
        .map(|(table, lock)| (table, lock.to_string()))
        .collect();
    let outside_tx: Vec<&String> = statements.iter().filter(|s| non_transactional(s)).collect();
    if let Some(first) = outside_tx.first().filter(|_| statements.len() > 1) {
        let offset = text.find(first.as_str()).unwrap_or(0);
        findings.push(finding(
            "non-transactional-statement-not-alone",
            Severity::Block,
            line_of(text, offset),
            format!(
                "`{}` cannot run inside a transaction, and this file has {} statements",
                first.split_whitespace().take(6).collect::<Vec<_>>().join(" "),
                statements.len()
            ),
            Some("put it alone in its own migration folder, written so that it can be re-run (IF NOT EXISTS)".into()),
        ));
    }
    let transactional = statements.len() != 1 || outside_tx.is_empty();

    findings.extend(squawk(&parse, text, transactional, pg_version, &finding));
    findings.extend(ignores_without_reason(text, &finding));
    findings.sort_by_key(|f| f.line);
    FileLint {
        migration: name,
        transactional,
        statements: statements.len(),
        findings,
        locks,
    }
}

#[cfg(test)]
mod tests;
