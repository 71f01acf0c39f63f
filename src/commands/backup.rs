//! `vivr backup create | list | verify | restore | prune`: verified logical backups of the PostgreSQL database
//! into a backup directory.

use std::path::PathBuf;

use serde::Serialize;
use vivr_shop::config::redact_url;

use crate::backup::{self, BackupStore, PgTools, Retention};
use crate::cli::{DatabaseArgs, Format};
use crate::exit::Outcome;
use crate::output::{Ctx, Report, table};
use crate::runbook::Section;
use anyhow::Context;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Dump the database (pg_dump -Fc -Z0 | zstd | sha256) into the store; the manifest is written last.
    Create(CreateArgs),
    /// Complete backups in the store, newest first.
    List(StoreArgs),
    /// Check a backup: 1 = checksum re-read, 2 = full read by pg_restore, 3 = restore into a scratch database and
    /// compare every table's row count and the migration head. Exit 1 when the check fails.
    Verify(VerifyArgs),
    /// Restore a backup into a database (checks the SHA-256 first; one transaction).
    Restore(RestoreArgs),
    /// Delete backups outside the retention policy (never the newest verified one, nor a pinned one).
    Prune(PruneArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Where backups go: s3://bucket/prefix (AWS credentials from the standard chain, AWS_ENDPOINT_URL honoured)
    /// or a local directory.
    #[arg(long, env = "VIVR_BACKUP_STORE")]
    pub store: String,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, clap::Args)]
pub struct ToolArgs {
    /// Directory of pg_dump and pg_restore (default: the newest /usr/lib/postgresql/*/bin, else $PATH).
    #[arg(long, env = "VIVR_PG_BIN")]
    pub pg_bin: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub tools: ToolArgs,
    /// Fail when a table lock is not granted to pg_dump within this many seconds.
    #[arg(long, default_value_t = 60)]
    pub lock_wait_timeout: u64,
    /// Keep this backup from `prune` for so many days.
    #[arg(long)]
    pub pin_days: Option<u32>,
    /// Verify at this level right after the dump (0: no).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=3))]
    pub verify: u8,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The backup's id (as `vivr backup list` shows it).
    pub id: String,
    /// 1: size and SHA-256 re-read; 2: a full read by pg_restore; 3: a restore into a scratch database, compared.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub level: u8,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub tools: ToolArgs,
    /// Level 3: the server to restore into (a scratch database is created and dropped). Default: DATABASE_URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub scratch_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// The backup's id (as `vivr backup list` shows it).
    pub id: String,
    /// The database to restore into.
    #[arg(long)]
    pub to: String,
    /// Replace the target's existing objects (required when it has tables).
    #[arg(long)]
    pub clean: bool,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub tools: ToolArgs,
}

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Keep the newest backup of each of this many days.
    #[arg(long, default_value_t = 7)]
    pub keep_daily: usize,
    /// Keep the newest backup of each of this many weeks.
    #[arg(long, default_value_t = 4)]
    pub keep_weekly: usize,
    /// Keep the newest backup of each of this many months.
    #[arg(long, default_value_t = 6)]
    pub keep_monthly: usize,
    /// Show what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

async fn open_store(args: &StoreArgs) -> anyhow::Result<Box<dyn BackupStore>> {
    backup::open_store(&args.store).await
}

async fn open_existing(args: &StoreArgs) -> anyhow::Result<Box<dyn BackupStore>> {
    backup::open_existing_store(&args.store).await
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("B"))
}

/// A progress line on stderr (terminal only, not with -q, --no-progress or --format json), fed byte counts.
struct ProgressLine(Option<indicatif::ProgressBar>);

impl ProgressLine {
    fn new(ctx: &Ctx, format: Format, what: &str) -> Self {
        if !ctx.printer.progress_allowed() || format == Format::Json {
            return ProgressLine(None);
        }
        let bar = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{{spinner}} {what}: {{bytes}} ({{bytes_per_sec}}, {{elapsed}})"
        )) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        ProgressLine(Some(bar))
    }

    fn reporter(&self) -> Option<backup::Progress> {
        let bar = self.0.clone()?;
        Some(std::sync::Arc::new(move |bytes| bar.set_position(bytes)))
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Report for backup::VerifyReport {
    fn text(&self) -> String {
        let mut table = table(["check", "result", "detail"]);
        for (check, ok, detail) in &self.checks {
            table.add_row([
                check.as_str(),
                if *ok { "ok" } else { "FAILED" },
                detail.as_str(),
            ]);
        }
        let mut text = format!(
            "{table}\nBackup {} {} verification level {}.\n",
            self.id,
            if self.ok { "passed" } else { "FAILED" },
            self.level
        );
        if !self.ok {
            text += &format!("See {}\n", Section::BackupFailed.link());
        }
        text
    }

    fn outcome(&self) -> Outcome {
        Outcome::check(!self.ok)
    }
}

fn head_name(head: Option<&backup::MigrationHead>) -> &str {
    head.map_or("none", |h| h.name.as_str())
}

/// `backup create`: the new backup's manifest and, when asked, its verification.
#[derive(Debug, Serialize)]
pub struct CreatedReport {
    manifest: backup::Manifest,
    verification: Option<backup::VerifyReport>,
}

impl Report for CreatedReport {
    fn text(&self) -> String {
        let m = &self.manifest;
        let mut text = format!(
            "Backup {} of {}: {} dumped, {} stored (sha256 {}), {} tables, migration head {}.\n",
            m.id,
            m.database,
            human_bytes(m.raw_bytes),
            human_bytes(m.compressed_bytes),
            m.sha256.get(..16).unwrap_or(&m.sha256),
            m.tables.len(),
            head_name(m.migration_head.as_ref())
        );
        if let Some(verification) = &self.verification {
            text += &verification.text();
        }
        text
    }

    fn outcome(&self) -> Outcome {
        self.verification
            .as_ref()
            .map_or(Outcome::Success, Report::outcome)
    }
}

/// `backup list`: the complete backups, newest first.
#[derive(Debug, Serialize)]
pub struct ListReport {
    backups: Vec<backup::Manifest>,
}

impl Report for ListReport {
    fn text(&self) -> String {
        let mut table = table([
            "id",
            "database",
            "size",
            "tables",
            "migration head",
            "verified",
            "pinned until",
        ]);
        for m in &self.backups {
            table.add_row([
                m.id.clone(),
                m.database.clone(),
                human_bytes(m.compressed_bytes),
                m.tables.len().to_string(),
                head_name(m.migration_head.as_ref()).to_string(),
                m.verification.as_ref().map_or("no".into(), |v| {
                    format!("L{} {}", v.level, if v.ok { "ok" } else { "FAILED" })
                }),
                m.pinned_until
                    .map_or(String::new(), |t| t.format("%Y-%m-%d").to_string()),
            ]);
        }
        format!("{table}\n")
    }
}

impl Report for backup::RestoreReport {
    fn text(&self) -> String {
        format!(
            "Restored backup {} into {} ({} tables); migration head {}.\n",
            self.id,
            self.database,
            self.tables,
            head_name(self.migration_head.as_ref())
        )
    }
}

/// `backup prune`: what was (or, with --dry-run, would be) kept and deleted, and why.
#[derive(Debug, Serialize)]
pub struct PruneReport {
    dry_run: bool,
    decisions: Vec<backup::PruneDecision>,
}

impl Report for PruneReport {
    fn text(&self) -> String {
        self.decisions
            .iter()
            .map(|d| {
                let verb = match (d.keep, self.dry_run) {
                    (true, _) => "keep",
                    (false, true) => "would delete",
                    (false, false) => "deleted",
                };
                format!("{verb:>12}  {}  {}\n", d.id, d.reasons.join(", "))
            })
            .collect()
    }
}

pub async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match command {
        Command::Create(args) => create(args, ctx).await,
        Command::List(args) => {
            let store = open_existing(&args).await?;
            let report = ListReport {
                backups: backup::list(store.as_ref()).await?,
            };
            ctx.emit(&report, args.format)
        }
        Command::Verify(args) => {
            let store = open_existing(&args.store).await?;
            let line = ProgressLine::new(ctx, args.store.format, "reading");
            let report = backup::verify(
                store.as_ref(),
                &args.id,
                args.level,
                &backup::VerifyOptions {
                    tools: PgTools::locate(args.tools.pg_bin),
                    scratch_url: args.scratch_url,
                    progress: line.reporter(),
                },
            )
            .await?;
            drop(line);
            ctx.emit(&report, args.store.format)
        }
        Command::Restore(args) => {
            let store = open_existing(&args.store).await?;
            let tools = PgTools::locate(args.tools.pg_bin);
            let line = ProgressLine::new(ctx, args.store.format, "restoring");
            let report = backup::restore(
                store.as_ref(),
                &args.id,
                &args.to,
                args.clean,
                &tools,
                line.reporter().as_ref(),
            )
            .await
            .context(Section::RestoreFailed)?;
            drop(line);
            ctx.emit(&report, args.store.format)
        }
        Command::Prune(args) => prune(args, ctx).await,
    }
}

/// `backup create`, verified at once when asked.
async fn create(args: CreateArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let store = open_store(&args.store).await?;
    let tools = PgTools::locate(args.tools.pg_bin.clone());
    let url = &args.db.database_url;
    tracing::info!(database = %redact_url(url), store = %store.describe(), "backing up");
    let line = ProgressLine::new(ctx, args.store.format, "dumping");
    let manifest = backup::create(
        url,
        store.as_ref(),
        &backup::CreateOptions {
            tools: tools.clone(),
            lock_wait_timeout_ms: args.lock_wait_timeout * 1000,
            pin_days: args.pin_days,
            progress: line.reporter(),
        },
    )
    .await
    .context(Section::BackupFailed)?;
    drop(line);
    let verification = if args.verify > 0 {
        let line = ProgressLine::new(ctx, args.store.format, "verifying");
        Some(
            backup::verify(
                store.as_ref(),
                &manifest.id,
                args.verify,
                &backup::VerifyOptions {
                    tools,
                    scratch_url: Some(url.clone()),
                    progress: line.reporter(),
                },
            )
            .await
            .context(Section::BackupFailed)?,
        )
    } else {
        None
    };
    let report = CreatedReport {
        manifest,
        verification,
    };
    ctx.emit(&report, args.store.format)
}

/// `backup prune`: what the retention policy keeps, and the rest deleted (unless a dry run).
async fn prune(args: PruneArgs, ctx: &Ctx) -> anyhow::Result<Outcome> {
    let store = open_existing(&args.store).await?;
    let backups = backup::list(store.as_ref()).await?;
    let decisions = backup::prune_plan(
        &backups,
        Retention {
            daily: args.keep_daily,
            weekly: args.keep_weekly,
            monthly: args.keep_monthly,
        },
        chrono::Utc::now(),
    );
    if !args.dry_run {
        for decision in decisions.iter().filter(|d| !d.keep) {
            store.delete(&decision.id).await?;
        }
    }
    let report = PruneReport {
        dry_run: args.dry_run,
        decisions,
    };
    ctx.emit(&report, args.store.format)
}
