//! The migration runner, compatible with Prisma Migrate: the same folder layout (embedded at build time), the same
//! `_prisma_migrations` table and SHA-256 checksums, the same advisory-lock key and the same failure semantics
//! (a failed migration is recorded and blocks later runs until resolved). `vivr serve` uses it to apply
//! migrations; `vivr migrate` builds on it.

mod checksum;
mod history;

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

pub use checksum::{checksum, checksum_matches};
pub use history::{HistoryRow, MigrationState, Status};

use vivr_shop::store::{AppliedMigration, Backend};

/// One migration folder: `<timestamp>_<name>/migration.sql`.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

mod embedded {
    use super::Migration;
    include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));
}

/// The migrations this build carries for a database.
pub fn embedded(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Postgres => embedded::POSTGRES,
        Backend::Sqlite => embedded::SQLITE,
    }
}

/// What `/api/health` compares the database with.
pub fn expected(backend: Backend) -> Vec<AppliedMigration> {
    embedded(backend)
        .iter()
        .map(|m| AppliedMigration {
            name: m.name.to_string(),
            checksum: checksum(m.sql),
        })
        .collect()
}

/// Prisma Migrate's advisory-lock key, so that vivr and `prisma migrate deploy` exclude each other.
pub const ADVISORY_LOCK_KEY: i64 = 72_707_369;

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// How long to wait for another migrator to release the advisory lock.
    pub lock_timeout: Duration,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(60),
        }
    }
}

/// A connection to the database being migrated.
pub enum Db {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        use std::str::FromStr;
        match Backend::from_url(url) {
            Some(Backend::Postgres) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?
                    .application_name("vivr migrate");
                Ok(Db::Pg(
                    PgConnection::connect_with(&options)
                        .await
                        .context("connecting to PostgreSQL")?,
                ))
            }
            Some(Backend::Sqlite) => {
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
                    .context("DATABASE_URL is not a valid SQLite URL")?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                if let Some(dir) = options
                    .get_filename()
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("creating {}", dir.display()))?;
                }
                Ok(Db::Sqlite(
                    SqliteConnection::connect_with(&options)
                        .await
                        .context("opening the SQLite database")?,
                ))
            }
            None => bail!("DATABASE_URL must start with sqlite:, postgres:// or postgresql://"),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Pg(_) => Backend::Postgres,
            Db::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Takes Prisma's advisory lock on PostgreSQL, polling until `timeout`; on timeout, names who holds it.
    /// SQLite serialises writers by itself.
    async fn lock(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let Db::Pg(conn) = self else { return Ok(()) };
        let start = Instant::now();
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(ADVISORY_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await
                .context("taking the migration advisory lock")?;
            if got {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                let holder: Option<(i32, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT a.pid, a.application_name, a.state FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                     WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted LIMIT 1",
                )
                .bind(ADVISORY_LOCK_KEY)
                .fetch_optional(&mut *conn)
                .await
                .unwrap_or(None);
                let who = match holder {
                    Some((pid, app, state)) => format!(
                        "held by pid {pid} (application_name {:?}, state {:?})",
                        app.unwrap_or_default(),
                        state.unwrap_or_default()
                    ),
                    None => "its holder could not be identified".to_string(),
                };
                bail!(
                    "timed out after {} s waiting for the migration lock (pg_advisory_lock({ADVISORY_LOCK_KEY})), {who}; \
                     another migration is running, or a session that took the lock is stuck",
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn unlock(&mut self) {
        if let Db::Pg(conn) = self
            && let Err(err) = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(ADVISORY_LOCK_KEY)
                .execute(&mut *conn)
                .await
        {
            tracing::warn!(error = %err, "could not release the migration lock; it is released when the connection closes");
        }
    }

    /// Runs one migration script. PostgreSQL: the whole file as one simple query, which PostgreSQL runs as one
    /// implicit transaction (Prisma's behaviour). SQLite: inside an explicit transaction.
    async fn run_script(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self {
            Db::Pg(conn) => sqlx::raw_sql(sql).execute(&mut *conn).await.map(drop),
            Db::Sqlite(conn) => {
                let mut tx = conn.begin().await?;
                sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *tx).await?;
                tx.commit().await
            }
        }
    }
}

/// Reads the history and compares it with the embedded migrations.
pub async fn status(db: &mut Db) -> anyhow::Result<Status> {
    let migrations = embedded(db.backend());
    let rows = history::read(db).await?;
    let schema_empty = match &rows {
        Some(_) => false,
        None => history::schema_is_empty(db).await?,
    };
    Ok(Status::compute(migrations, rows, schema_empty))
}

#[derive(Debug, Default)]
pub struct DeployReport {
    pub applied: Vec<String>,
}

/// Applies every pending migration, in order, under the advisory lock. Refuses to start while a failed
/// migration is recorded, while an applied migration's file was edited or removed, or on a non-empty database
/// without history (which must be baselined first).
pub async fn deploy(db: &mut Db, options: &DeployOptions) -> anyhow::Result<DeployReport> {
    db.lock(options.lock_timeout).await?;
    let result = deploy_locked(db).await;
    db.unlock().await;
    result
}

async fn deploy_locked(db: &mut Db) -> anyhow::Result<DeployReport> {
    let current = status(db).await?;
    current.ensure_deployable()?;
    if current.table_missing {
        history::create_table(db).await?;
    }
    let mut report = DeployReport::default();
    for migration in embedded(db.backend())
        .iter()
        .filter(|m| current.pending.iter().any(|p| p == m.name))
    {
        let id = history::start(db, migration).await?;
        tracing::info!(migration = migration.name, "applying migration");
        match db.run_script(migration.sql).await {
            Ok(()) => history::finish(db, &id).await?,
            Err(err) => {
                let logs = history::describe_failure(migration, &err);
                history::record_failure(db, &id, &logs).await?;
                bail!(
                    "migration {} failed and was rolled back; it is recorded as failed:\n{logs}",
                    migration.name
                );
            }
        }
        report.applied.push(migration.name.to_string());
    }
    Ok(report)
}

/// Records `name` as applied without running it (Prisma's `migrate resolve --applied`): the way to baseline a
/// database that already has the schema, such as the original VIVR database.
pub async fn resolve_applied(
    db: &mut Db,
    name: &str,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    db.lock(options.lock_timeout).await?;
    let result = async {
        let migration = embedded(db.backend())
            .iter()
            .find(|m| m.name == name)
            .with_context(|| format!("migration {name} does not exist in this build (P3017)"))?;
        let current = status(db).await?;
        if current.applied.iter().any(|a| a == name) {
            bail!("migration {name} is already recorded as applied (P3008)");
        }
        if current.table_missing {
            history::create_table(db).await?;
        }
        history::mark_applied(db, migration).await
    }
    .await;
    db.unlock().await;
    result
}
