//! Prisma's advisory lock: one migrator at a time on a PostgreSQL database.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::*;

/// Prisma Migrate's advisory-lock key, so that vivr and `prisma migrate deploy` exclude each other.
pub const ADVISORY_LOCK_KEY: i64 = 72_707_369;

/// Another migrator held Prisma's advisory lock for longer than the timeout.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockTimeout(String);

/// Takes Prisma's advisory lock on PostgreSQL, polling until `timeout`; on timeout, names who holds it.
/// SQLite serialises writers by itself.
pub(super) async fn lock(db: &mut Conn, timeout: Duration) -> anyhow::Result<()> {
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

pub(super) async fn unlock(db: &mut Conn) {
    if let Conn::Postgres(conn) = db
        && let Err(err) = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ADVISORY_LOCK_KEY)
            .execute(&mut *conn)
            .await
    {
        tracing::warn!(error = %err, "could not release the migration lock; it is released when the connection closes");
    }
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

pub(super) fn is_lock_timeout(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}
