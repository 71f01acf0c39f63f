//! `vivr migrate status | deploy | plan | resolve | new`: Prisma-compatible migrations with guards. The migrations
//! are the ones built into this binary unless `--dir` points at a migrations folder.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;
use vivr_shop::config::redact_url;
use vivr_shop::store::Backend;

use crate::backup::{self, BackupStore, PgTools, gate::BackupGate};
use crate::cli::{DatabaseArgs, Format};
use crate::exit::Outcome;
use crate::migrate::lint::{self, FileLint, Severity};
use crate::migrate::{self, Db, DeployOptions, Migration, MigrationState, Status, checksum};
use crate::outln;
use crate::output::Ctx;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compare the database's history with the migrations: applied, pending, failed, edited, missing.
    /// Exit 0 up to date, 1 pending, 3 failed, 4 drift (edited or missing), 5 not baselined.
    Status(CommonArgs),
    /// Apply the pending migrations under Prisma's advisory lock, each in one transaction.
    Deploy(DeployArgs),
    /// Show what `deploy` would do, in order, without changing anything (not even creating the history table).
    Plan(DeployArgs),
    /// Record a migration as applied (baselining an existing database) or a failed one as rolled back.
    Resolve(ResolveArgs),
    /// Create `<dir>/<timestamp>_<name>/migration.sql`.
    New(NewArgs),
    /// Lint PostgreSQL migrations with squawk's rules (no database needed). Exit 1 when a finding blocks.
    Lint(LintArgs),
    /// Applied migrations whose file was edited since they ran; with --update, record the files' checksums
    /// (audited in the history's logs with --reason). Exit 4 while drift remains.
    Checksums(ChecksumsArgs),
    /// Before `resolve --applied NAME` on an existing database: compare its tables, columns, types, defaults,
    /// indexes and constraints with what the migrations up to NAME create. Exit 1 on any difference.
    VerifyBaseline(VerifyBaselineArgs),
}

#[derive(Debug, clap::Args)]
pub struct ChecksumsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Record the current files' checksums for the edited migrations.
    #[arg(long, requires = "reason")]
    pub update: bool,
    /// Why the edits are harmless (kept in `_prisma_migrations.logs`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Seconds to wait for another migrator's advisory lock.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct VerifyBaselineArgs {
    /// The migration the database is believed to be at.
    pub name: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

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

#[derive(Debug, clap::Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// A direct (not pooled) connection for migrations, when DATABASE_URL goes through a transaction-mode pooler
    /// (Prisma's directUrl).
    #[arg(long, env = "DIRECT_URL", hide_env_values = true)]
    pub direct_url: Option<String>,
    /// A migrations folder in Prisma's layout to use instead of the migrations built into vivr.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// text (tables) or json.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

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
    async fn store(&self) -> anyhow::Result<Option<Box<dyn BackupStore>>> {
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
    use std::io::IsTerminal;
    if ctx.quiet || ctx.no_progress || format == Format::Json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(std::sync::Arc::new(Bar(bar)))
}

impl DeployArgs {
    fn options(&self) -> DeployOptions {
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

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("how").required(true).args(["applied", "rolled_back"])))]
pub struct ResolveArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Record NAME as applied without running it.
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,
    /// Mark the failed migration NAME as rolled back, so that deploy runs it again.
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,
    /// Seconds to wait for another migrator's advisory lock.
    #[arg(long, default_value_t = 60)]
    pub lock_timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct NewArgs {
    /// What the migration does, e.g. add_wishlist_index.
    pub name: String,
    /// The migrations folder to create it in.
    #[arg(long, default_value = "migrations/postgres")]
    pub dir: PathBuf,
}

struct Target {
    db: Db,
    migrations: Vec<Migration>,
    url: String,
}

/// Opens the database. `read_only`: a SQLite file that does not exist yet is read as an empty database
/// instead of being created (status and plan change nothing).
impl CommonArgs {
    /// The URL migrations use: DIRECT_URL when given, else DATABASE_URL — never a transaction-mode pooler.
    fn url(&self) -> anyhow::Result<&str> {
        let url = self.direct_url.as_deref().unwrap_or(&self.db.database_url);
        if let Some(reason) = migrate::pooler_reason(url) {
            bail!(
                "{} looks like a transaction-mode connection pooler ({reason}); migrations need a direct connection: \
                 give it as --direct-url or DIRECT_URL",
                redact_url(url)
            );
        }
        Ok(url)
    }
}

async fn open(common: &CommonArgs, read_only: bool) -> anyhow::Result<Target> {
    let database_url = common.url()?;
    let backend = Backend::from_url(database_url)
        .context("DATABASE_URL must start with sqlite:, postgres:// or postgresql://")?;
    let migrations = match &common.dir {
        Some(dir) => migrate::from_dir(dir, backend)?,
        None => migrate::embedded(backend),
    };
    let missing_file =
        backend == Backend::Sqlite && read_only && !migrate::sqlite_file(database_url).exists();
    let url = if missing_file {
        "sqlite::memory:"
    } else {
        database_url
    };
    let db = Db::connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(database_url)))?;
    Ok(Target {
        db,
        migrations,
        url: redact_url(database_url),
    })
}

fn state_word(state: MigrationState) -> &'static str {
    match state {
        MigrationState::Applied => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Failed => "failed",
        MigrationState::Edited => "edited",
        MigrationState::Missing => "missing",
    }
}

/// The exit code `status` gives, most serious first: the same as `deploy` refusing that state.
fn status_outcome(status: &Status) -> Outcome {
    if let Some(refusal) = status.refusal(false) {
        Outcome::from(&refusal)
    } else if !status.is_up_to_date() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    }
}

fn status_rows(status: &Status, migrations: &[Migration]) -> Vec<(String, MigrationState, String)> {
    let mut rows: Vec<(String, MigrationState, String)> = migrations
        .iter()
        .map(|m| {
            let state = if status.failed.iter().any(|r| r.migration_name == m.name)
                && !status.applied.iter().any(|a| *a == m.name)
            {
                MigrationState::Failed
            } else {
                status.state_of(&m.name)
            };
            (m.name.to_string(), state, checksum(&m.sql))
        })
        .collect();
    for name in &status.missing {
        rows.push((name.clone(), MigrationState::Missing, String::new()));
    }
    rows
}

fn print_status(ctx: &Ctx, target: &Target, status: &Status, format: Format) -> anyhow::Result<()> {
    let rows = status_rows(status, &target.migrations);
    match format {
        Format::Json => {
            let body = json!({
                "database": target.url,
                "backend": target.db.backend().as_str(),
                "up_to_date": status.is_up_to_date(),
                "history_table": !status.table_missing,
                "migrations": rows.iter().map(|(name, state, sum)| json!({
                    "name": name, "state": state_word(*state), "checksum": sum,
                })).collect::<Vec<_>>(),
                "failed": status.failed.iter().map(|r| json!({
                    "name": r.migration_name, "logs": r.logs,
                })).collect::<Vec<_>>(),
                "exit_code": status_outcome(status) as u8,
            });
            outln!(ctx, "{body:#}");
        }
        Format::Text => {
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(["migration", "state", "checksum"]);
            for (name, state, sum) in &rows {
                table.add_row([
                    name.as_str(),
                    state_word(*state),
                    sum.get(..12).unwrap_or(""),
                ]);
            }
            outln!(ctx, "{table}");
            let summary = match status_outcome(status) {
                Outcome::Success => "Database schema is up to date.".to_string(),
                Outcome::CheckFailed => format!(
                    "{} migration(s) pending: run `vivr migrate deploy`.",
                    status.pending.len()
                ),
                Outcome::MigrationFailed => format!(
                    "A migration failed: {}. Fix the cause, then `vivr migrate resolve --rolled-back NAME` (to retry) or \
                     `--applied NAME` (if you applied it by hand).",
                    status
                        .failed
                        .iter()
                        .map(|r| r.migration_name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Outcome::MigrationDrift => format!(
                    "Drift: edited since applied: [{}]; applied but unknown to this build: [{}].",
                    status.edited.join(", "),
                    status.missing.join(", ")
                ),
                Outcome::NotBaselined => {
                    "The database is not empty but has no migration history (P3005): baseline it \
                     with `vivr migrate resolve --applied NAME`."
                        .to_string()
                }
                _ => String::new(),
            };
            outln!(ctx, "{summary}");
        }
    }
    Ok(())
}

pub async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match command {
        Command::Status(args) => {
            let mut target = open(&args, true).await?;
            let status = migrate::status(&mut target.db, &target.migrations).await?;
            print_status(ctx, &target, &status, args.format)?;
            Ok(status_outcome(&status))
        }
        Command::Plan(args) => {
            let mut target = open(&args.common, true).await?;
            let status = migrate::status(&mut target.db, &target.migrations).await?;
            let lint = migrate::lint_pending(&mut target.db, &target.migrations, &status).await?;
            let gate_store = args.gate.store().await;
            print_plan(ctx, &target, &status, &lint, &args, gate_store)?;
            Ok(Outcome::Success)
        }
        Command::Deploy(args) => {
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
                    match backup::gate::deploy_guarded(
                        &mut target.db,
                        &target.migrations,
                        &options,
                        &gate,
                    )
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
            match args.common.format {
                Format::Json => outln!(
                    ctx,
                    "{:#}",
                    json!({
                        "database": target.url,
                        "backup": gate,
                        "applied": report.applied,
                        "row_changes": report.rows.iter().map(|(name, changes)| json!({
                            "migration": name,
                            "method": changes.method,
                            "tables": changes.tables,
                            "script_ms": changes.script_ms,
                            "guard_ms": changes.guard_ms,
                        })).collect::<Vec<_>>(),
                        "lint": report.lint,
                    })
                ),
                Format::Text if report.applied.is_empty() => {
                    outln!(
                        ctx,
                        "No pending migrations: the database schema is up to date."
                    )
                }
                Format::Text => {
                    if let Some(gate) = &gate {
                        outln!(
                            ctx,
                            "Backup {} {} before migrating.",
                            gate.backup_id,
                            if gate.reused {
                                "(reused, verified)"
                            } else {
                                "taken and verified"
                            }
                        );
                    }
                    outln!(ctx, "Applied {} migration(s).", report.applied.len());
                    let mut table = Table::new();
                    table.load_preset(UTF8_FULL_CONDENSED);
                    table.set_header(["migration", "table", "rows added", "rows removed", "note"]);
                    for (name, changes) in &report.rows {
                        if changes.tables.is_empty() {
                            table.add_row([name.as_str(), "(no row changed)", "", "", ""]);
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
                                name.clone(),
                                t.table.clone(),
                                t.inserted.to_string(),
                                t.deleted.to_string(),
                                note,
                            ]);
                        }
                    }
                    outln!(ctx, "{table}");
                }
            }
            Ok(Outcome::Success)
        }
        Command::Resolve(args) => {
            let mut target = open(&args.common, false).await?;
            let options = DeployOptions {
                lock_timeout: Duration::from_secs(args.lock_timeout),
                ..DeployOptions::default()
            };
            let (name, done) = match (&args.applied, &args.rolled_back) {
                (Some(name), None) => {
                    migrate::resolve_applied(&mut target.db, &target.migrations, name, &options)
                        .await?;
                    (name, "recorded as applied")
                }
                (None, Some(name)) => {
                    migrate::resolve_rolled_back(
                        &mut target.db,
                        &target.migrations,
                        name,
                        &options,
                    )
                    .await?;
                    (name, "marked as rolled back; the next deploy runs it again")
                }
                _ => bail!("give exactly one of --applied NAME or --rolled-back NAME"),
            };
            match args.common.format {
                Format::Json => outln!(ctx, "{:#}", json!({"migration": name, "result": done})),
                Format::Text => outln!(ctx, "Migration {name} {done}."),
            }
            Ok(Outcome::Success)
        }
        Command::Lint(args) => {
            let migrations = match &args.path {
                None => migrate::embedded(Backend::Postgres),
                Some(path) => read_lint_target(path)?,
            };
            let reports: Vec<FileLint> = migrations
                .iter()
                .map(|m| lint::lint(m, &args.pg_version))
                .collect();
            print_lint(ctx, &reports, args.format)?;
            Ok(if reports.iter().any(|r| r.blocking().next().is_some()) {
                Outcome::CheckFailed
            } else {
                Outcome::Success
            })
        }
        Command::Checksums(args) => {
            let mut target = open(&args.common, !args.update).await?;
            if args.update {
                let options = DeployOptions {
                    lock_timeout: Duration::from_secs(args.lock_timeout),
                    ..DeployOptions::default()
                };
                let reason = args.reason.as_deref().unwrap_or_default();
                let updated =
                    migrate::update_checksums(&mut target.db, &target.migrations, reason, &options)
                        .await?;
                match args.common.format {
                    Format::Json => outln!(
                        ctx,
                        "{:#}",
                        json!({"updated": updated.iter().map(|(n, note)| json!({"migration": n, "audit": note})).collect::<Vec<_>>()})
                    ),
                    Format::Text if updated.is_empty() => {
                        outln!(ctx, "No applied migration was edited.")
                    }
                    Format::Text => {
                        for (_, note) in &updated {
                            outln!(ctx, "{note}");
                        }
                    }
                }
                return Ok(Outcome::Success);
            }
            let status = migrate::status(&mut target.db, &target.migrations).await?;
            match args.common.format {
                Format::Json => outln!(
                    ctx,
                    "{:#}",
                    json!({"edited": status.edited, "missing": status.missing})
                ),
                Format::Text if status.edited.is_empty() && status.missing.is_empty() => {
                    outln!(ctx, "Every applied migration matches its file.")
                }
                Format::Text => {
                    for name in &status.edited {
                        outln!(ctx, "edited since applied: {name}");
                    }
                    for name in &status.missing {
                        outln!(ctx, "applied, but not in these migrations: {name}");
                    }
                }
            }
            Ok(if status.edited.is_empty() && status.missing.is_empty() {
                Outcome::Success
            } else {
                Outcome::MigrationDrift
            })
        }
        Command::VerifyBaseline(args) => {
            let url = args.common.url()?;
            let backend = Backend::from_url(url);
            if backend != Some(Backend::Postgres) {
                bail!(
                    "verify-baseline compares PostgreSQL catalogs; give a postgres:// DATABASE_URL"
                );
            }
            let migrations = match &args.common.dir {
                Some(dir) => migrate::from_dir(dir, Backend::Postgres)?,
                None => migrate::embedded(Backend::Postgres),
            };
            let differences =
                migrate::baseline::verify_baseline(url, &migrations, &args.name).await?;
            match args.common.format {
                Format::Json => outln!(
                    ctx,
                    "{:#}",
                    json!({"baseline": args.name, "matches": differences.is_empty(), "differences": differences})
                ),
                Format::Text if differences.is_empty() => outln!(
                    ctx,
                    "The database matches what the migrations up to {} create: `vivr migrate resolve --applied {}` \
                     is safe.",
                    args.name,
                    args.name
                ),
                Format::Text => {
                    let mut table = Table::new();
                    table.load_preset(UTF8_FULL_CONDENSED);
                    table.set_header(["object", "the migrations create", "the database has"]);
                    for d in &differences {
                        table.add_row([
                            d.object.clone(),
                            d.expected.clone().unwrap_or_else(|| "—".into()),
                            d.actual.clone().unwrap_or_else(|| "—".into()),
                        ]);
                    }
                    outln!(ctx, "{table}");
                    outln!(
                        ctx,
                        "{} difference(s): the database is not at {}; do not baseline it there as it is.",
                        differences.len(),
                        args.name
                    );
                }
            }
            Ok(if differences.is_empty() {
                Outcome::Success
            } else {
                Outcome::CheckFailed
            })
        }
        Command::New(args) => {
            let path = migrate::create(&args.dir, &args.name, chrono::Utc::now())?;
            outln!(ctx, "{}", path.join("migration.sql").display());
            Ok(Outcome::Success)
        }
    }
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

/// Lint findings as a table (text) or a list (JSON).
pub(crate) fn print_lint(ctx: &Ctx, reports: &[FileLint], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => outln!(ctx, "{:#}", json!({ "files": reports })),
        Format::Text => {
            let findings: Vec<&lint::Finding> = reports.iter().flat_map(|r| &r.findings).collect();
            if findings.is_empty() {
                outln!(ctx, "Lint: no findings in {} file(s).", reports.len());
                return Ok(());
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header(["migration", "line", "rule", "severity", "message"]);
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
            outln!(ctx, "{table}");
            let blocking = findings
                .iter()
                .filter(|f| f.severity == Severity::Block)
                .count();
            outln!(
                ctx,
                "{blocking} blocking finding(s), {} warning(s).",
                findings.len() - blocking
            );
        }
    }
    Ok(())
}

fn print_plan(
    ctx: &Ctx,
    target: &Target,
    status: &Status,
    lint: &[FileLint],
    args: &DeployArgs,
    gate_store: anyhow::Result<Option<Box<dyn BackupStore>>>,
) -> anyhow::Result<()> {
    let options = args.options();
    let holding = match target.db.backend() {
        Backend::Postgres => "holding the migration lock",
        Backend::Sqlite => "a VACUUM INTO copy checked by PRAGMA integrity_check",
    };
    let backup_gate = match gate_store {
        Ok(Some(store)) => Some(match args.gate.backup_max_age {
            Some(age) => format!(
                "reuses a verified backup (level ≥ 2) at the current head from the last {age} min in {}, or takes one \
                 there and verifies it (level 2), {holding}; pinned {} days",
                store.describe(),
                args.gate.backup_pin_days
            ),
            None => format!(
                "takes a backup into {} and verifies it (level 2), {holding}; pinned {} days",
                store.describe(),
                args.gate.backup_pin_days
            ),
        }),
        Ok(None) => None,
        Err(err) => Some(format!("refuses: {err:#}")),
    };
    let blocking = lint.iter().flat_map(|l| l.blocking()).count();
    let refusal = status
        .ensure_deployable()
        .err()
        .map(|e| format!("{e:#}"))
        .or_else(|| {
            (blocking > 0 && !args.allow_destructive).then(|| {
                format!("lint finds {blocking} blocking problem(s) (see below; --allow-destructive overrides)")
            })
        });
    let pending: Vec<&Migration> = target
        .migrations
        .iter()
        .filter(|m| status.pending.iter().any(|p| *p == m.name))
        .collect();
    let transaction = |name: &str| match target.db.backend() {
        Backend::Postgres if lint.iter().any(|l| l.migration == name && !l.transactional) => {
            "none: one statement that cannot run in a transaction"
        }
        Backend::Postgres => "one transaction (the file runs as a single simple query)",
        Backend::Sqlite => "one explicit transaction",
    };
    let settings = |name: &str| match target.db.backend() {
        Backend::Postgres => Db::session_settings(name, &options),
        Backend::Sqlite => Vec::new(),
    };
    match args.common.format {
        Format::Json => {
            let body = json!({
                "database": target.url,
                "backend": target.db.backend().as_str(),
                "would_refuse": refusal,
                "postgres_only_guards_skipped": match target.db.backend() {
                    Backend::Sqlite => json!(["advisory lock", "lint", "lock_timeout", "statement_timeout", "lock retries"]),
                    Backend::Postgres => json!([]),
                },
                "creates_history_table": status.table_missing && refusal.is_none(),
                "advisory_lock": match target.db.backend() {
                    Backend::Postgres => json!({"key": migrate::ADVISORY_LOCK_KEY, "wait_secs": args.lock_timeout}),
                    Backend::Sqlite => json!(null),
                },
                "lint": lint,
                "backup": if pending.is_empty() { None } else { backup_gate.clone() },
                "pending": pending.iter().map(|m| json!({
                    "name": m.name,
                    "checksum": checksum(&m.sql),
                    "transaction": transaction(&m.name),
                    "locks": lint.iter().find(|l| l.migration == m.name).map(|l| l.strongest_locks()).unwrap_or_default(),
                    "session": settings(&m.name).into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                })).collect::<Vec<_>>(),
            });
            outln!(ctx, "{body:#}");
        }
        Format::Text => {
            if let Some(refusal) = &refusal {
                outln!(ctx, "deploy would refuse to start:\n{refusal}");
                if blocking > 0 {
                    print_lint(ctx, lint, Format::Text)?;
                }
                return Ok(());
            }
            if pending.is_empty() {
                outln!(ctx, "Nothing to apply: the database schema is up to date.");
                return Ok(());
            }
            if target.db.backend() == Backend::Postgres {
                outln!(
                    ctx,
                    "Takes pg_advisory_lock({}) (waits up to {} s), then applies, in order:",
                    migrate::ADVISORY_LOCK_KEY,
                    args.lock_timeout
                );
            } else {
                outln!(
                    ctx,
                    "Applies, in order (SQLite: no advisory lock — SQLite serialises writers itself —, no lint, \
                     lock_timeout or statement_timeout; those guards exist on PostgreSQL only):"
                );
            }
            if let Some(gate) = &backup_gate {
                outln!(ctx, "  Backup first: {gate}");
            }
            if status.table_missing {
                outln!(ctx, "  (first creates the _prisma_migrations table)");
            }
            let mut table = Table::new();
            table.load_preset(UTF8_FULL_CONDENSED);
            table.set_header([
                "#",
                "migration",
                "checksum",
                "transaction",
                "session settings",
            ]);
            for (i, m) in pending.iter().enumerate() {
                let session = settings(&m.name)
                    .into_iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                table.add_row([
                    (i + 1).to_string(),
                    m.name.to_string(),
                    checksum(&m.sql)[..12].to_string(),
                    transaction(&m.name).to_string(),
                    lint.iter()
                        .find(|l| l.migration == m.name)
                        .map(|l| {
                            l.strongest_locks()
                                .iter()
                                .map(|(t, mode)| format!("{t}: {mode}"))
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default(),
                    session,
                ]);
            }
            outln!(ctx, "{table}");
            if target.db.backend() == Backend::Postgres {
                print_lint(ctx, lint, Format::Text)?;
            }
        }
    }
    Ok(())
}
