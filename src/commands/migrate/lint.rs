//! `vivr migrate lint`: squawk's rules on migration files, no database needed.

use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate::lint::{FileLint, Severity};
use crate::migrate::{self, Migration};
use crate::output::{Ctx, Report, table};
use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use vivr_shop::store::Backend;

#[derive(Debug, clap::Args)]
pub struct LintArgs {
    /// A migrations folder, one migration folder, or one .sql file (default: the migrations built into vivr).
    pub path: Option<PathBuf>,
    /// The PostgreSQL version the rules assume.
    #[arg(long, default_value = "15")]
    pub pg_version: String,
    /// text (tables) or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// A folder of migrations, one migration folder, or one SQL file.
fn read_lint_target(path: &std::path::Path) -> anyhow::Result<Vec<Migration>> {
    use std::borrow::Cow;
    let one = |name: String, file: &std::path::Path| -> anyhow::Result<Migration> {
        Ok(Migration {
            name: Cow::Owned(name),
            sql: Cow::Owned(
                std::fs::read_to_string(file)
                    .with_context(|| format!("reading {}", file.display()))?,
            ),
        })
    };
    if path.is_file() {
        return Ok(vec![one(path.display().to_string(), path)?]);
    }
    if path.join("migration.sql").is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok(vec![one(name, &path.join("migration.sql"))?]);
    }
    migrate::from_dir(path, Backend::Postgres)
}

/// The lint of some migration files: findings as a table (text) or the files with all their detail (JSON).
#[derive(Debug, Serialize)]
pub struct LintReport {
    pub files: Vec<FileLint>,
}

impl LintReport {
    pub fn blocking(&self) -> usize {
        self.files.iter().flat_map(|f| f.blocking()).count()
    }
}

impl Report for LintReport {
    fn text(&self) -> String {
        findings_text(&self.files)
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(self.blocking() > 0)
    }
}

/// The findings of some files as a table, with a count of blocking ones (also under `plan`'s steps).
pub(super) fn findings_text(files: &[FileLint]) -> String {
    let findings: Vec<&crate::migrate::lint::Finding> =
        files.iter().flat_map(|r| &r.findings).collect();
    if findings.is_empty() {
        return format!("Lint: no findings in {} file(s).\n", files.len());
    }
    let mut table = table(["migration", "line", "rule", "severity", "message"]);
    for f in &findings {
        // The first sentence; the rest is squawk's explanation, in the JSON output.
        let mut message = f
            .message
            .split_inclusive(". ")
            .next()
            .unwrap_or(&f.message)
            .trim()
            .to_string();
        if let Some(help) = &f.help {
            message.push_str("\n→ ");
            message.push_str(help);
        }
        if let Some(why) = &f.downgraded {
            message.push_str("\n(not blocking: ");
            message.push_str(why);
            message.push(')');
        }
        table.add_row([
            f.migration.clone(),
            f.line.to_string(),
            f.rule.clone(),
            match f.severity {
                Severity::Block => "BLOCKS".to_string(),
                Severity::Warn => "warning".to_string(),
            },
            message,
        ]);
    }
    let blocking = findings
        .iter()
        .filter(|f| f.severity == Severity::Block)
        .count();
    format!(
        "{table}\n{blocking} blocking finding(s), {} warning(s).\n",
        findings.len() - blocking
    )
}

pub async fn run(args: LintArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let migrations = match &args.path {
        None => migrate::embedded(Backend::Postgres),
        Some(path) => read_lint_target(path)?,
    };
    let files = migrations
        .iter()
        .map(|m| crate::migrate::lint::lint(m, &args.pg_version))
        .collect();
    ctx.emit(&LintReport { files }, args.format)
}
