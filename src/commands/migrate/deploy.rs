//! `vivr migrate deploy`: the backup gate, then the pending migrations under the lock, with progress.

use super::*;
use crate::backup::gate::GateOutcome;
use crate::backup::{self, BackupStore, PgTools, gate::BackupGate};
use crate::cli::Format;
use crate::exit::Outcome;
use crate::migrate::RowChanges;
use crate::migrate::lint::FileLint;
use crate::migrate::{self, DeployOptions};
use crate::output::{Ctx, Report, table};
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Seconds to wait for another migrator's advisory lock.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
    /// PostgreSQL lock_timeout for each migration, in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub ddl_lock_timeout_ms: u64,
    /// PostgreSQL statement_timeout for each migration, in seconds (0: none).
    #[arg(long, default_value_t = 600)]
    pub statement_timeout: u64,
    /// Retries of a migration that failed on lock_timeout (it was rolled back whole).
    #[arg(long, default_value_t = 3)]
    pub lock_retries: u32,
    /// Apply migrations even when the lint finds destructive or breaking changes.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Deploy even though applied migrations were edited since they ran (see `checksums --update`).
    #[arg(long)]
    pub allow_edited: bool,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// The backup gate: outside development, deploy takes (or reuses) a verified backup before migrating.
#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// development, staging or production. Outside development a verified backup is required first.
    #[arg(long = "env", env = "VIVR_ENV", default_value = "development")]
    pub environment: String,
    /// Where pre-migration backups go: s3://bucket/prefix or a directory (required outside development).
    #[arg(long, env = "VIVR_BACKUP_STORE")]
    pub backup_store: Option<String>,
    /// Reuse a verified (level ≥ 2) backup at the current migration head taken within this many minutes.
    #[arg(long)]
    pub backup_max_age: Option<u64>,
    /// Keep the pre-migration backup from `vivr backup prune` for so many days.
    #[arg(long, default_value_t = 30)]
    pub backup_pin_days: u32,
    /// Directory of pg_dump and pg_restore.
    #[arg(long, env = "VIVR_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

impl GateArgs {
    /// The backup store the gate uses, if the gate applies.
    pub(super) async fn store(&self) -> anyhow::Result<Option<Box<dyn BackupStore>>> {
        let environment = vivr_shop::Environment::parse(&self.environment)
            .context("--env must be development, staging or production")?;
        match &self.backup_store {
            Some(location) => Ok(Some(backup::open_store(location).await?)),
            None if environment.is_development() => Ok(None),
            None => bail!(
                "outside development, deploy takes a verified backup before migrating: give --backup-store DIR \
                 (or VIVR_BACKUP_STORE)"
            ),
        }
    }
}

/// A progress bar on stderr, one step per migration; drawn only on a terminal.
struct Bar(indicatif::ProgressBar);

impl migrate::DeployProgress for Bar {
    fn started(&self, name: &str, index: usize, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_position(index as u64);
        self.0.set_message(name.to_string());
    }

    fn finished(&self, _name: &str) {
        self.0.inc(1);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar(ctx: &Ctx, format: Format) -> Option<std::sync::Arc<dyn migrate::DeployProgress>> {
    let bar = ctx.printer.step_bar(format == Format::Text)?;
    Some(std::sync::Arc::new(Bar(bar)))
}

impl DeployArgs {
    pub(super) fn options(&self) -> DeployOptions {
        DeployOptions {
            lock_timeout: Duration::from_secs(self.lock_timeout),
            ddl_lock_timeout: Duration::from_millis(self.ddl_lock_timeout_ms),
            statement_timeout: Duration::from_secs(self.statement_timeout),
            lock_retries: self.lock_retries,
            allow_destructive: self.allow_destructive,
            allow_edited: self.allow_edited,
            progress: None,
        }
    }
}

pub async fn run(args: DeployArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let mut target = open(&args.common, false).await?;
    let options = DeployOptions {
        progress: progress_bar(ctx, args.common.format),
        ..args.options()
    };
    let gate_store = args.gate.store().await?;
    let (report, gate) = match &gate_store {
        Some(store) => {
            let gate = BackupGate {
                store: store.as_ref(),
                url: args.common.url()?,
                tools: PgTools::locate(args.gate.pg_bin.clone()),
                max_age: args
                    .gate
                    .backup_max_age
                    .map(|m| Duration::from_secs(m * 60)),
                pin_days: args.gate.backup_pin_days,
            };
            match backup::gate::deploy_guarded(&mut target.db, &target.migrations, &options, &gate)
                .await
            {
                Ok((report, outcome)) => (Ok(report), outcome),
                Err(err) => (Err(err), None),
            }
        }
        None => (
            migrate::deploy(&mut target.db, &target.migrations, &options).await,
            None,
        ),
    };
    drop(options); // clears the progress bar before the summary
    let report = report?;
    if let Some(gate) = &gate {
        let how = if gate.reused {
            "reused"
        } else {
            "taken and verified"
        };
        tracing::info!(backup = %gate.backup_id, "pre-migration backup {how}");
    }
    ctx.emit(
        &DeployedReport {
            database: target.url,
            backup: gate,
            applied: report.applied,
            row_changes: report
                .rows
                .into_iter()
                .map(|(migration, changes)| MigrationRows { migration, changes })
                .collect(),
            lint: report.lint,
        },
        args.common.format,
    )
}

#[derive(Debug, Serialize)]
pub struct DeployedReport {
    database: String,
    backup: Option<GateOutcome>,
    applied: Vec<String>,
    row_changes: Vec<MigrationRows>,
    lint: Vec<FileLint>,
}

#[derive(Debug, Serialize)]
struct MigrationRows {
    migration: String,
    #[serde(flatten)]
    changes: RowChanges,
}

impl Report for DeployedReport {
    fn text(&self) -> String {
        if self.applied.is_empty() {
            return "No pending migrations: the database schema is up to date.\n".to_string();
        }
        let mut text = String::new();
        if let Some(gate) = &self.backup {
            text += &format!(
                "Backup {} {} before migrating.\n",
                gate.backup_id,
                if gate.reused {
                    "(reused, verified)"
                } else {
                    "taken and verified"
                }
            );
        }
        text += &format!("Applied {} migration(s).\n", self.applied.len());
        let mut table = table(["migration", "table", "rows added", "rows removed", "note"]);
        for MigrationRows { migration, changes } in &self.row_changes {
            if changes.tables.is_empty() {
                table.add_row([migration.as_str(), "(no row changed)", "", "", ""]);
            }
            for t in &changes.tables {
                let note = [
                    (t.created, "created"),
                    (t.dropped, "dropped"),
                    (t.rewritten, "rewritten"),
                ]
                .into_iter()
                .filter_map(|(on, word)| on.then_some(word))
                .collect::<Vec<_>>()
                .join(", ");
                table.add_row([
                    migration.clone(),
                    t.table.clone(),
                    t.inserted.to_string(),
                    t.deleted.to_string(),
                    note,
                ]);
            }
        }
        text + &format!("{table}\n")
    }
}
