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
}

/// What the lint found in one file, and how the file will run.
#[derive(Debug, Clone, Serialize)]
pub struct FileLint {
    pub migration: String,
    /// False for a file holding one statement that cannot run inside a transaction.
    pub transactional: bool,
    pub statements: usize,
    pub findings: Vec<Finding>,
}

impl FileLint {
    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Block)
    }
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

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

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
    let outside_tx: Vec<&String> = statements.iter().filter(|s| non_transactional(s)).collect();
    if !outside_tx.is_empty() && statements.len() > 1 {
        let first = outside_tx[0];
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
    for violation in linter.lint(&parse, text) {
        let severity = if BLOCKING.contains(&violation.code) {
            Severity::Block
        } else {
            Severity::Warn
        };
        findings.push(finding(
            &violation.code.to_string(),
            severity,
            line_of(text, usize::from(violation.text_range.start())),
            violation.message,
            violation.help,
        ));
    }

    // An ignore must say why: `-- squawk-ignore RULE -- the reason`.
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
    findings.sort_by_key(|f| f.line);
    FileLint {
        migration: name,
        transactional,
        statements: statements.len(),
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn file(sql: &str) -> FileLint {
        lint(
            &Migration {
                name: Cow::Borrowed("20990101000000_test"),
                sql: Cow::Owned(sql.to_string()),
            },
            "15.18",
        )
    }

    fn rules(lint: &FileLint) -> Vec<(String, Severity)> {
        lint.findings
            .iter()
            .map(|f| (f.rule.clone(), f.severity))
            .collect()
    }

    #[test]
    fn destructive_statements_block_and_locking_ones_warn() {
        let l = file(
            "ALTER TABLE \"Product\" DROP COLUMN \"stock\";\nCREATE INDEX \"i\" ON \"Product\"(\"name\");\n",
        );
        let found = rules(&l);
        assert!(
            found.contains(&("ban-drop-column".into(), Severity::Block)),
            "{found:?}"
        );
        assert!(
            found.contains(&("require-concurrent-index-creation".into(), Severity::Warn)),
            "{found:?}"
        );
        assert_eq!(
            l.findings
                .iter()
                .find(|f| f.rule == "ban-drop-column")
                .unwrap()
                .line,
            1
        );
        assert!(l.transactional);
    }

    #[test]
    fn an_ignore_needs_a_reason() {
        let with_reason = file(
            "-- squawk-ignore ban-drop-column -- the column was never read, see #12\nALTER TABLE \"Product\" DROP COLUMN \"legacy\";\n",
        );
        assert!(
            with_reason.blocking().next().is_none(),
            "{:?}",
            with_reason.findings
        );
        let without = file(
            "-- squawk-ignore ban-drop-column\nALTER TABLE \"Product\" DROP COLUMN \"legacy\";\n",
        );
        assert_eq!(
            rules(&without),
            vec![("ignore-without-reason".into(), Severity::Block)]
        );
    }

    #[test]
    fn a_concurrent_index_must_be_alone_in_its_file() {
        let mixed = file(
            "ALTER TABLE \"Product\" ADD COLUMN \"x\" text;\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"Product\"(\"x\");\n",
        );
        assert!(
            mixed
                .blocking()
                .any(|f| f.rule == "non-transactional-statement-not-alone"),
            "{:?}",
            mixed.findings
        );
        let alone = file("CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"Product\"(\"x\");\n");
        assert!(!alone.transactional);
        assert!(alone.blocking().next().is_none(), "{:?}", alone.findings);
    }

    #[test]
    fn syntax_errors_block() {
        let l = file("ALTER TABLE \"Product\" ADD COLUMN;\n");
        assert!(
            l.blocking().any(|f| f.rule == "syntax-error"),
            "{:?}",
            l.findings
        );
    }
}
