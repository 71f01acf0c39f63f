//! `vivr migrate deploy`: the pending migrations, in order, each guarded and recorded as Prisma records it.

use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection};

use super::*;

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

#[derive(Debug, Default)]
pub struct DeployReport {
    pub applied: Vec<String>,
    /// The lint of every pending file (PostgreSQL), warnings included.
    pub lint: Vec<lint::FileLint>,
    /// Per applied migration, the tables whose row count changed.
    pub rows: Vec<(String, RowChanges)>,
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

/// Stops the deploy on a blocking lint finding (unless allowed); logs the warnings.
fn lint_gate(lint: &[lint::FileLint], options: &DeployOptions) -> anyhow::Result<()> {
    let blocking: Vec<String> = lint
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
    let warnings = lint.iter().flat_map(|l| &l.findings).count();
    if warnings > 0 {
        tracing::info!(
            warnings,
            "lint warnings on the pending migrations (details: `vivr migrate plan`)"
        );
    }
    for finding in lint.iter().flat_map(|l| &l.findings) {
        tracing::debug!(migration = %finding.migration, line = finding.line, rule = %finding.rule, "{}", finding.message);
    }
    Ok(())
}

/// Applies one migration, recorded in the history; retried when a transactional file waited too long for a
/// table lock.
async fn apply_one(
    db: &mut Conn,
    migration: &Migration,
    transactional: bool,
    options: &DeployOptions,
) -> anyhow::Result<RowChanges> {
    let mut attempt = 0;
    loop {
        let id = history::start(db, migration).await?;
        tracing::info!(migration = %migration.name, "applying migration");
        match run_script(db, migration, transactional).await {
            Ok(changes) => {
                history::finish(db, &id).await?;
                return Ok(changes);
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
    lint_gate(&report.lint, options)?;
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
        let changes = apply_one(db, migration, transactional, options).await?;
        report.rows.push((migration.name.to_string(), changes));
        if let Some(progress) = &options.progress {
            progress.finished(&migration.name);
        }
        report.applied.push(migration.name.to_string());
    }
    Ok(report)
}
