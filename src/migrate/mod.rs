//! The migration runner, compatible with Prisma Migrate: the same folder layout (embedded at build time), the same
//! `_prisma_migrations` table and SHA-256 checksums, the same advisory-lock key and the same failure semantics
//! (a failed migration is recorded and blocks later runs until resolved). `vivr serve` uses it to apply
//! migrations; `vivr migrate` builds on it.

pub mod baseline;
mod checksum;
pub mod guard;
pub mod lint;

mod connection;
mod deploy;
mod files;
mod history;
mod lock;
mod probe;
mod resolve;
mod row_counts;

pub use checksum::{checksum, checksum_matches};
pub use history::{HistoryRow, MigrationState, NotDeployable, Status};
pub use probe::Probe;

use std::borrow::Cow;

use vivr_shop::store::Backend;

/// One migration folder: `<timestamp>_<name>/migration.sql`.
#[derive(Debug, Clone)]
pub struct Migration {
    pub name: Cow<'static, str>,
    pub sql: Cow<'static, str>,
}

/// A connection to the database being migrated: the shop's [`Conn`], so the migrator and the shop run queries
/// the same way on either backend.
pub use vivr_shop::store::db::Conn;

use connection::apply_session_settings;
pub use connection::{
    connect, pg_connect, pooler_reason, server_version, session_settings, sqlite_file,
    url_with_database,
};
pub use deploy::{
    DeployOptions, DeployProgress, DeployReport, deploy, deploy_locked, lint_pending,
};
pub use files::{create, embedded, from_dir};
use lock::is_lock_timeout;
pub use lock::{ADVISORY_LOCK_KEY, LockTimeout, locked};
pub use resolve::{Resolution, resolve, update_checksums};
pub use row_counts::{RowCounts, pg_row_counts, sqlite_row_counts};

pub use guard::{RowChanges, TableRows};

/// Reads the history and compares it with `migrations`.
pub async fn status(db: &mut Conn, migrations: &[Migration]) -> anyhow::Result<Status> {
    let rows = history::read(&mut *db).await?;
    let schema_empty = match &rows {
        Some(_) => false,
        None => history::schema_is_empty(db).await?,
    };
    Ok(Status::compute(migrations, rows, schema_empty))
}
