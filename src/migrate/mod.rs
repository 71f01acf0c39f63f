//! The migration runner, compatible with Prisma Migrate: the same folder layout (embedded at build time), the same
//! `_prisma_migrations` table and SHA-256 checksums, the same advisory-lock key and the same failure semantics
//! (a failed migration is recorded and blocks later runs until resolved). `vivr serve` uses it to apply
//! migrations; `vivr migrate` builds on it.

pub mod baseline;
mod checksum;
pub mod guard;
pub mod lint;

mod history;

use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection, SqliteConnection};

pub use checksum::{checksum, checksum_matches};
pub use history::{HistoryRow, MigrationState, NotDeployable, Status};

use vivr_shop::store::{AppliedMigration, Backend};

/// One migration folder: `<timestamp>_<name>/migration.sql`.
#[derive(Debug, Clone)]
pub struct Migration {
    pub name: Cow<'static, str>,
    pub sql: Cow<'static, str>,
}

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_migrations.rs"));
}

/// The migrations this build carries for a database, in apply order.
pub fn embedded(backend: Backend) -> Vec<Migration> {
    let table = match backend {
        Backend::Postgres => embedded::POSTGRES,
        Backend::Sqlite => embedded::SQLITE,
    };
    table
        .iter()
        .map(|(name, sql)| Migration {
            name: Cow::Borrowed(name),
            sql: Cow::Borrowed(sql),
        })
        .collect()
}

/// Prisma rejects longer migration names.
const MAX_NAME_BYTES: usize = 200;

/// The migrations of a folder in Prisma's layout (`<dir>/<name>/migration.sql`, `<dir>/migration_lock.toml`),
/// in apply (lexicographic) order. The lock file's provider must match the database.
pub fn from_dir(dir: &Path, backend: Backend) -> anyhow::Result<Vec<Migration>> {
    let lock = dir.join("migration_lock.toml");
    let provider = match backend {
        Backend::Postgres => "postgresql",
        Backend::Sqlite => "sqlite",
    };
    match std::fs::read_to_string(&lock) {
        Ok(text) => {
            let declared = text
                .lines()
                .filter_map(|l| l.trim().strip_prefix("provider"))
                .filter_map(|rest| rest.trim().strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_string())
                .next();
            match declared {
                Some(p) if p == provider => {}
                Some(p) => bail!(
                    "{}: provider is {p:?} but the database is {provider:?} (P3019); point --dir at the {provider} migrations",
                    lock.display()
                ),
                None => bail!("{}: no `provider = \"...\"` line", lock.display()),
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "{}: missing (every migrations folder has one)",
                lock.display()
            )
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", lock.display())),
    }
    let mut migrations = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("reading the folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading the folder {}", dir.display()))?;
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.len() > MAX_NAME_BYTES {
            bail!("migration folder {name:?} is longer than {MAX_NAME_BYTES} bytes");
        }
        let file = entry.path().join("migration.sql");
        let sql = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{}: every migration folder needs a migration.sql",
                file.display()
            )
        })?;
        migrations.push(Migration {
            name: Cow::Owned(name),
            sql: Cow::Owned(sql),
        });
    }
    migrations.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(migrations)
}

/// What `/api/health` compares the database with.
pub fn expected(backend: Backend) -> Vec<AppliedMigration> {
    embedded(backend)
        .iter()
        .map(|m| AppliedMigration {
            name: m.name.to_string(),
            checksum: checksum(&m.sql),
        })
        .collect()
}

/// Why `url` looks like a transaction-mode connection pooler (PgBouncer and the like), where session settings,
/// advisory locks and multi-statement transactions do not hold: migrations need a direct connection.
pub fn pooler_reason(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return None;
    }
    let host = parsed.host_str().unwrap_or_default();
    if parsed.port() == Some(6543) {
        return Some("port 6543 is the usual transaction-mode pooler port".into());
    }
    if host.contains("-pooler") || host.contains(".pooler.") {
        return Some(format!("the host {host} is a pooler endpoint"));
    }
    if parsed
        .query_pairs()
        .any(|(k, v)| k == "pgbouncer" && v == "true")
    {
        return Some("the URL says pgbouncer=true".into());
    }
    None
}

/// The same PostgreSQL URL pointing at another database on that server.
pub fn url_with_database(url: &str, database: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).context("the database URL is not valid")?;
    parsed.set_path(&format!("/{database}"));
    Ok(parsed.to_string())
}

/// The file a `sqlite:` URL names.
pub fn sqlite_file(url: &str) -> std::path::PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    std::path::PathBuf::from(rest.split('?').next().unwrap_or_default())
}

/// Prisma Migrate's advisory-lock key, so that vivr and `prisma migrate deploy` exclude each other.
pub const ADVISORY_LOCK_KEY: i64 = 72_707_369;

/// Told about each migration as deploy goes (the command draws a progress bar from it).
pub trait DeployProgress: Send + Sync {
    /// `index` counts from 0 among `total` pending migrations.
    fn started(&self, name: &str, index: usize, total: usize);
    fn finished(&self, name: &str);
}

#[derive(Clone)]
pub struct DeployOptions {
    /// How long to wait for another migrator to release the advisory lock.
    pub lock_timeout: Duration,
    /// PostgreSQL `lock_timeout` while a migration runs: a statement waiting longer for a table lock fails
    /// instead of queueing every query behind it.
    pub ddl_lock_timeout: Duration,
    /// PostgreSQL `statement_timeout` while a migration runs (zero: none).
    pub statement_timeout: Duration,
    /// Attempts after a migration failed on `lock_timeout` (55P03); the failed attempt was rolled back whole.
    pub lock_retries: u32,
    /// Apply migrations whose lint findings would block (dropping, renaming, retyping…).
    pub allow_destructive: bool,
    /// Deploy even though applied migrations were edited since they ran.
    pub allow_edited: bool,
    pub progress: Option<std::sync::Arc<dyn DeployProgress>>,
}

impl std::fmt::Debug for DeployOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployOptions")
            .field("lock_timeout", &self.lock_timeout)
            .field("ddl_lock_timeout", &self.ddl_lock_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("lock_retries", &self.lock_retries)
            .field("allow_destructive", &self.allow_destructive)
            .field("allow_edited", &self.allow_edited)
            .finish_non_exhaustive()
    }
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            lock_timeout: Duration::from_secs(60),
            ddl_lock_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(600),
            lock_retries: 3,
            allow_destructive: false,
            allow_edited: false,
            progress: None,
        }
    }
}

/// Another migrator held Prisma's advisory lock for longer than the timeout.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockTimeout(String);

/// A connection to the database being migrated: the shop's [`Conn`], so the migrator and the shop run queries
/// the same way on either backend.
pub use vivr_shop::store::db::Conn;

/// A PostgreSQL connection for the ops commands (migrations, baselines, backups), named `application_name`.
/// Its statements are not logged: migrations and catalog reads are slow on purpose, and sqlx's slow-statement
/// warnings would bury what vivr itself reports.
pub async fn pg_connect(url: &str, application_name: &str) -> anyhow::Result<PgConnection> {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)
        .context("DATABASE_URL is not a valid PostgreSQL URL")?
        .application_name(application_name)
        .disable_statement_logging();
    PgConnection::connect_with(&options)
        .await
        .context("connecting to PostgreSQL")
}

pub async fn connect(url: &str) -> anyhow::Result<Conn> {
    use std::str::FromStr;
    match Backend::from_url(url) {
        Some(Backend::Postgres) => Ok(Conn::Postgres(pg_connect(url, "vivr migrate").await?)),
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
            Ok(Conn::Sqlite(
                SqliteConnection::connect_with(&options)
                    .await
                    .context("opening the SQLite database")?,
            ))
        }
        None => bail!("DATABASE_URL must start with sqlite:, postgres:// or postgresql://"),
    }
}

/// Takes Prisma's advisory lock on PostgreSQL, polling until `timeout`; on timeout, names who holds it.
/// SQLite serialises writers by itself.
async fn lock(db: &mut Conn, timeout: Duration) -> anyhow::Result<()> {
    let Conn::Postgres(conn) = db else {
        return Ok(());
    };
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
                 WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted
                   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1",
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
            return Err(LockTimeout(format!(
                "timed out after {} s waiting for the migration lock (pg_advisory_lock({ADVISORY_LOCK_KEY})), {who}; \
                 another migration is running, or a session that took the lock is stuck",
                timeout.as_secs()
            ))
            .into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn unlock(db: &mut Conn) {
    if let Conn::Postgres(conn) = db
        && let Err(err) = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ADVISORY_LOCK_KEY)
            .execute(&mut *conn)
            .await
    {
        tracing::warn!(error = %err, "could not release the migration lock; it is released when the connection closes");
    }
}

/// The session settings a migration runs under (PostgreSQL), shown by `vivr migrate plan`.
pub fn session_settings(name: &str, options: &DeployOptions) -> Vec<(&'static str, String)> {
    vec![
        (
            "lock_timeout",
            format!("{}ms", options.ddl_lock_timeout.as_millis()),
        ),
        (
            "statement_timeout",
            format!("{}ms", options.statement_timeout.as_millis()),
        ),
        ("idle_in_transaction_session_timeout", "60000ms".to_string()),
        ("application_name", format!("vivr migrate {name}")),
    ]
}

async fn apply_session_settings(
    db: &mut Conn,
    name: &str,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    let Conn::Postgres(conn) = db else {
        return Ok(());
    };
    for (setting, value) in session_settings(name, options) {
        sqlx::query("SELECT set_config($1, $2, false)")
            .bind(setting)
            .bind(&value)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("setting {setting}"))?;
    }
    Ok(())
}

/// Runs one migration file, guarded (see [`guard`]): in one transaction unless it holds a statement that
/// cannot run in one. A table the file never names that lost rows rolls the whole file back: a migration
/// must not delete data it does not mention.
async fn run_script(
    db: &mut Conn,
    migration: &Migration,
    transactional: bool,
) -> Result<RowChanges, ScriptError> {
    // Migration files are the operator's own SQL, run as written.
    let script = AssertSqlSafe(migration.sql.to_string());
    let sql: &str = &migration.sql;
    let changes = match db {
        Conn::Postgres(conn) if !transactional => {
            let started = std::time::Instant::now();
            sqlx::raw_sql(script).execute(&mut *conn).await?;
            RowChanges {
                method: "none",
                script_ms: elapsed_ms(started),
                ..RowChanges::default()
            }
        }
        Conn::Postgres(conn) => {
            // Repeatable read: exact counts, when taken, see this migration's changes only.
            sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *conn)
                .await?;
            let outcome = async {
                let t0 = std::time::Instant::now();
                let before = guard::pg_before(&mut *conn, sql).await?;
                let guard_before = elapsed_ms(t0);
                let t1 = std::time::Instant::now();
                sqlx::raw_sql(script).execute(&mut *conn).await?;
                let script_ms = elapsed_ms(t1);
                let t2 = std::time::Instant::now();
                let mut changes = guard::pg_after(&mut *conn, before, sql).await?;
                changes.script_ms = script_ms;
                changes.guard_ms = guard_before + elapsed_ms(t2);
                Ok::<_, sqlx::Error>(changes)
            }
            .await;
            let changes = match outcome {
                Ok(changes) => changes,
                Err(err) => {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    return Err(err.into());
                }
            };
            if !changes.lost_untouched().is_empty() {
                sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await?;
                return Err(ScriptError::RowsLost(changes));
            }
            sqlx::raw_sql("COMMIT").execute(&mut *conn).await?;
            changes
        }
        Conn::Sqlite(conn) => {
            let mut tx = conn.begin().await?;
            let t0 = std::time::Instant::now();
            let before = sqlite_row_counts(&mut tx).await?;
            let guard_before = elapsed_ms(t0);
            let t1 = std::time::Instant::now();
            sqlx::raw_sql(script).execute(&mut *tx).await?;
            let script_ms = elapsed_ms(t1);
            let t2 = std::time::Instant::now();
            let mut changes = guard::sqlite_after(&mut tx, &before, sql).await?;
            changes.script_ms = script_ms;
            changes.guard_ms = guard_before + elapsed_ms(t2);
            if !changes.lost_untouched().is_empty() {
                tx.rollback().await?;
                return Err(ScriptError::RowsLost(changes));
            }
            tx.commit().await?;
            changes
        }
    };
    Ok(changes)
}

fn elapsed_ms(since: std::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Why a migration did not apply.
#[derive(Debug)]
enum ScriptError {
    Sql(sqlx::Error),
    /// Tables the file never names lost rows; the file was rolled back.
    RowsLost(RowChanges),
}

impl From<sqlx::Error> for ScriptError {
    fn from(err: sqlx::Error) -> Self {
        ScriptError::Sql(err)
    }
}

/// Row count per table.
pub type RowCounts = std::collections::BTreeMap<String, i64>;

pub async fn pg_row_counts(conn: &mut PgConnection) -> Result<RowCounts, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(sql) = count_sql(&tables) else {
        return Ok(RowCounts::new());
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().collect())
}

pub async fn sqlite_row_counts(conn: &mut SqliteConnection) -> Result<RowCounts, sqlx::Error> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_prisma_migrations'
         ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(sql) = count_sql(&tables) else {
        return Ok(RowCounts::new());
    };
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().collect())
}

/// One query counting every table's rows; `None` when there are no tables.
fn count_sql(tables: &[String]) -> Option<AssertSqlSafe<String>> {
    if tables.is_empty() {
        return None;
    }
    let quoted = |t: &str| format!("\"{}\"", t.replace('"', "\"\""));
    let literal = |t: &str| format!("'{}'", t.replace('\'', "''"));
    let sql = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT {} AS t, COUNT(*) AS n FROM {}",
                literal(t),
                quoted(t)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // Table names come from the catalog and are quoted above.
    Some(AssertSqlSafe(sql))
}

pub use guard::{RowChanges, TableRows};

/// Reads the history and compares it with `migrations`.
pub async fn status(db: &mut Conn, migrations: &[Migration]) -> anyhow::Result<Status> {
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
    /// The lint of every pending file (PostgreSQL), warnings included.
    pub lint: Vec<lint::FileLint>,
    /// Per applied migration, the tables whose row count changed.
    pub rows: Vec<(String, RowChanges)>,
}

/// The server's version ("15.18"), for the lint rules.
pub async fn server_version(db: &mut Conn) -> anyhow::Result<Option<String>> {
    let Conn::Postgres(conn) = db else {
        return Ok(None);
    };
    let full: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut *conn)
        .await
        .context("reading the server version")?;
    Ok(full.split_whitespace().next().map(str::to_string))
}

/// Lints the pending migrations (PostgreSQL only; SQLite has nothing to lint against), judged against what the
/// database holds now: destructive statements on an empty schema, or on objects an earlier pending migration
/// creates, warn instead of blocking (`lint::DeployContext`).
pub async fn lint_pending(
    db: &mut Conn,
    migrations: &[Migration],
    status: &Status,
) -> anyhow::Result<Vec<lint::FileLint>> {
    let Some(version) = server_version(db).await? else {
        return Ok(Vec::new());
    };
    let mut lints: Vec<lint::FileLint> = migrations
        .iter()
        .filter(|m| status.pending.iter().any(|p| *p == m.name))
        .map(|m| lint::lint(m, &version))
        .collect();
    deploy_context(db).await?.apply(&mut lints);
    Ok(lints)
}

/// What the database holds before a deploy (PostgreSQL): whether it has any table, and the names of its objects.
async fn deploy_context(db: &mut Conn) -> anyhow::Result<lint::DeployContext> {
    let Conn::Postgres(conn) = db else {
        return Ok(lint::DeployContext::default());
    };
    let rows: Vec<(String, bool)> = sqlx::query_as(
        "SELECT lower(c.relname), c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'f')
         UNION ALL
         SELECT lower(t.typname), false FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
          WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'c')
         UNION ALL
         SELECT lower(p.proname), false FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = current_schema()
         UNION ALL
         SELECT lower(extname), false FROM pg_extension",
    )
    .fetch_all(&mut *conn)
    .await
    .context("reading the schema's objects")?;
    Ok(lint::DeployContext {
        empty_schema: !rows.iter().any(|(_, is_table)| *is_table),
        existing: rows.into_iter().map(|(name, _)| name).collect(),
    })
}

/// Applies every pending migration, in order, under the advisory lock. Refuses to start while a failed
/// migration is recorded, while an applied migration's file was edited or removed, or on a non-empty database
/// without history (which must be baselined first).
pub async fn deploy(
    db: &mut Conn,
    migrations: &[Migration],
    options: &DeployOptions,
) -> anyhow::Result<DeployReport> {
    locked(db, options.lock_timeout, async |db: &mut Conn| {
        deploy_locked(db, migrations, options).await
    })
    .await
}

/// Runs `work` holding Prisma's advisory lock (PostgreSQL), and releases it whatever happened.
pub async fn locked<T>(
    db: &mut Conn,
    timeout: Duration,
    work: impl AsyncFnOnce(&mut Conn) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    lock(db, timeout).await?;
    let result = work(db).await;
    unlock(db).await;
    result
}

fn is_lock_timeout(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

pub async fn deploy_locked(
    db: &mut Conn,
    migrations: &[Migration],
    options: &DeployOptions,
) -> anyhow::Result<DeployReport> {
    let current = status(db, migrations).await?;
    current.ensure_deployable_with(options.allow_edited)?;
    let mut report = DeployReport {
        lint: lint_pending(db, migrations, &current).await?,
        ..DeployReport::default()
    };
    let blocking: Vec<String> = report
        .lint
        .iter()
        .flat_map(|l| l.blocking())
        .map(|f| {
            let on = f
                .object
                .as_deref()
                .map(|o| format!(" (on {o})"))
                .unwrap_or_default();
            format!(
                "  {} line {}{on}: {} — {}",
                f.migration, f.line, f.rule, f.message
            )
        })
        .collect();
    if !blocking.is_empty() && !options.allow_destructive {
        bail!(
            "lint blocks the deploy; nothing was applied:\n{}\nRewrite the migration, add `-- squawk-ignore RULE -- reason` \
             above the statement, or pass --allow-destructive",
            blocking.join("\n")
        );
    }
    let warnings = report.lint.iter().flat_map(|l| &l.findings).count();
    if warnings > 0 {
        tracing::info!(
            warnings,
            "lint warnings on the pending migrations (details: `vivr migrate plan`)"
        );
    }
    for finding in report.lint.iter().flat_map(|l| &l.findings) {
        tracing::debug!(migration = %finding.migration, line = finding.line, rule = %finding.rule, "{}", finding.message);
    }
    if current.table_missing {
        history::create_table(db).await?;
    }
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| current.pending.iter().any(|p| *p == m.name))
        .collect();
    for (index, migration) in pending.iter().copied().enumerate() {
        if let Some(progress) = &options.progress {
            progress.started(&migration.name, index, pending.len());
        }
        apply_session_settings(db, &migration.name, options).await?;
        let transactional = report
            .lint
            .iter()
            .find(|l| l.migration == migration.name)
            .is_none_or(|l| l.transactional);
        let mut attempt = 0;
        loop {
            let id = history::start(db, migration).await?;
            tracing::info!(migration = %migration.name, "applying migration");
            match run_script(db, migration, transactional).await {
                Ok(changes) => {
                    history::finish(db, &id).await?;
                    report.rows.push((migration.name.to_string(), changes));
                    break;
                }
                Err(ScriptError::RowsLost(changes)) => {
                    let lost: Vec<String> = changes
                        .lost_untouched()
                        .iter()
                        .map(|t| t.describe())
                        .collect();
                    let logs = format!(
                        "Rows lost in tables the migration does not name (rolled back):\n{}\n\nin migration {}",
                        lost.join("\n"),
                        migration.name
                    );
                    history::record_failure(db, &id, &logs).await?;
                    return Err(anyhow::anyhow!(
                        "migration {} was rolled back and is recorded as failed: it removed rows from tables it does \
                         not name:\n  {}",
                        migration.name,
                        lost.join("\n  ")
                    )
                    .context(crate::runbook::Section::MigrationFailed));
                }
                // The file ran as one transaction and was rolled back whole: safe to try again.
                Err(ScriptError::Sql(err))
                    if transactional && is_lock_timeout(&err) && attempt < options.lock_retries =>
                {
                    attempt += 1;
                    let logs = history::describe_failure(migration, &err);
                    history::record_failure(db, &id, &logs).await?;
                    history::mark_rolled_back(db, &migration.name).await?;
                    let pause = Duration::from_secs(1 << attempt.min(5));
                    tracing::warn!(migration = %migration.name, attempt, retry_in_secs = pause.as_secs(),
                        "a table lock was not granted within lock_timeout; retrying");
                    tokio::time::sleep(pause).await;
                }
                Err(ScriptError::Sql(err)) => {
                    let logs = history::describe_failure(migration, &err);
                    history::record_failure(db, &id, &logs).await?;
                    return Err(anyhow::anyhow!(
                        "migration {} failed and was rolled back; it is recorded as failed:\n{logs}",
                        migration.name
                    )
                    .context(crate::runbook::Section::MigrationFailed));
                }
            }
        }
        if let Some(progress) = &options.progress {
            progress.finished(&migration.name);
        }
        report.applied.push(migration.name.to_string());
    }
    Ok(report)
}

/// Records `name` as applied without running it (Prisma's `migrate resolve --applied`): the way to baseline a
/// database that already has the schema, such as the original VIVR database.
pub async fn resolve_applied(
    db: &mut Conn,
    migrations: &[Migration],
    name: &str,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    locked(db, options.lock_timeout, async |db: &mut Conn| {
        let migration = migrations
            .iter()
            .find(|m| m.name == name)
            .with_context(|| format!("migration {name} does not exist in this build (P3017)"))?;
        let current = status(db, migrations).await?;
        if current.applied.iter().any(|a| a == name) {
            bail!("migration {name} is already recorded as applied (P3008)");
        }
        if current.table_missing {
            history::create_table(db).await?;
        }
        history::mark_applied(db, migration).await
    })
    .await
}

/// Marks a failed migration as rolled back (Prisma's `migrate resolve --rolled-back`), so that the next deploy runs
/// it again. Only a migration recorded as failed can be rolled back (P3012).
pub async fn resolve_rolled_back(
    db: &mut Conn,
    migrations: &[Migration],
    name: &str,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    locked(db, options.lock_timeout, async |db: &mut Conn| {
        let current = status(db, migrations).await?;
        if !current.failed.iter().any(|r| r.migration_name == name) {
            bail!(
                "migration {name} cannot be rolled back because it is not in a failed state (P3012)"
            );
        }
        history::mark_rolled_back(db, name).await
    })
    .await
}

/// Creates `<dir>/<UTC timestamp>_<name>/migration.sql` (Prisma's layout) and returns the folder. The name is
/// lower-cased with anything but letters, digits and `_` turned into `_`.
pub fn create(
    dir: &Path,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<std::path::PathBuf> {
    if !dir.join("migration_lock.toml").exists() {
        bail!(
            "{} is not a migrations folder (no migration_lock.toml); use --dir migrations/postgres or migrations/sqlite",
            dir.display()
        );
    }
    let cleaned: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_matches('_').to_string();
    if cleaned.is_empty() {
        bail!("NAME: give the migration a name made of letters or digits, e.g. add_wishlist_index");
    }
    let folder = format!("{}_{cleaned}", now.format("%Y%m%d%H%M%S"));
    if folder.len() > MAX_NAME_BYTES {
        bail!("NAME: {folder:?} is longer than {MAX_NAME_BYTES} bytes");
    }
    let path = dir.join(&folder);
    if let Some(newest) = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        && newest >= folder
    {
        bail!("{newest} would sort after the new migration {folder}; check the system clock");
    }
    std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::write(
        path.join("migration.sql"),
        format!("-- {cleaned}\n-- Applied in one transaction by `vivr migrate deploy`.\n\n"),
    )
    .with_context(|| format!("writing {}/migration.sql", path.display()))?;
    Ok(path)
}

/// Records the current file checksum for every applied migration whose file was edited since it ran (Prisma reads
/// the new checksum as a match). Audited: each row's `logs` gets who, when, the old and new checksum and `reason`.
pub async fn update_checksums(
    db: &mut Conn,
    migrations: &[Migration],
    reason: &str,
    options: &DeployOptions,
) -> anyhow::Result<Vec<(String, String)>> {
    if reason.trim().len() < 10 {
        bail!(
            "--reason: say why the edit is harmless (at least 10 characters); it is kept in the history"
        );
    }
    locked(db, options.lock_timeout, async |db: &mut Conn| {
        let current = status(db, migrations).await?;
        let rows = history::read(db).await?.unwrap_or_default();
        let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let mut updated = Vec::new();
        for name in &current.edited {
            let Some(migration) = migrations.iter().find(|m| m.name == *name) else {
                continue;
            };
            let old = rows
                .iter()
                .rev()
                .find(|r| r.migration_name == *name && r.finished && !r.rolled_back)
                .map(|r| r.checksum.clone())
                .unwrap_or_default();
            let new = checksum(&migration.sql);
            let note = format!(
                "[vivr {}] checksum updated by {who} at {}: {old} -> {new}; reason: {}",
                env!("CARGO_PKG_VERSION"),
                chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC"),
                reason.trim()
            );
            history::update_checksum(db, name, &new, &note).await?;
            updated.push((name.clone(), note));
        }
        Ok(updated)
    })
    .await
}
