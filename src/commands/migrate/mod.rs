//! `vivr migrate status | deploy | plan | resolve | new`: Prisma-compatible migrations with guards. The migrations
//! are the ones built into this binary unless `--dir` points at a migrations folder.

use std::path::PathBuf;

use anyhow::{Context, bail};
use vivr_shop::config::redact_url;
use vivr_shop::store::Backend;

use crate::cli::{DatabaseArgs, Format};
use crate::exit::Outcome;
use crate::migrate::{self, Conn, Migration};
use crate::output::Ctx;

mod checksums;
mod deploy;
mod lint;
mod new;
mod plan;
mod resolve;
mod status;
mod verify_baseline;

pub use checksums::ChecksumsArgs;
pub use deploy::{DeployArgs, GateArgs};
pub use lint::LintArgs;
pub use new::NewArgs;
pub use resolve::ResolveArgs;
pub use verify_baseline::VerifyBaselineArgs;

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

struct Target {
    db: Conn,
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
    let db = migrate::connect(url)
        .await
        .with_context(|| format!("connecting to {}", redact_url(database_url)))?;
    Ok(Target {
        db,
        migrations,
        url: redact_url(database_url),
    })
}

pub async fn run(command: Command, ctx: &Ctx) -> anyhow::Result<Outcome> {
    match command {
        Command::Status(args) => status::run(args, ctx).await,
        Command::Plan(args) => plan::run(args, ctx).await,
        Command::Deploy(args) => deploy::run(args, ctx).await,
        Command::Resolve(args) => resolve::run(args, ctx).await,
        Command::Lint(args) => lint::run(args, ctx).await,
        Command::Checksums(args) => checksums::run(args, ctx).await,
        Command::VerifyBaseline(args) => verify_baseline::run(args, ctx).await,
        Command::New(args) => new::run(args, ctx).await,
    }
}
