//! The `_prisma_migrations` table: created exactly as Prisma creates it, read and written with Prisma's meaning
//! (applied = finished and not rolled back; failed = neither finished nor rolled back).

use anyhow::Context;

use vivr_shop::store::Backend;
use vivr_shop::store::db::{On, Sql, assembled, sql};

use super::{Conn, Migration, checksum, checksum_matches};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub id: String,
    pub migration_name: String,
    pub checksum: String,
    pub finished: bool,
    pub rolled_back: bool,
    pub logs: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MigrationState {
    Applied,
    Pending,
    Failed,
    Edited,
    Missing,
}

impl MigrationState {
    /// The word `status` prints (the JSON value too).
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationState::Applied => "applied",
            MigrationState::Pending => "pending",
            MigrationState::Failed => "failed",
            MigrationState::Edited => "edited",
            MigrationState::Missing => "missing",
        }
    }
}

/// The database's history against this build's migrations.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub table_missing: bool,
    pub schema_empty: bool,
    pub applied: Vec<String>,
    pub pending: Vec<String>,
    pub failed: Vec<HistoryRow>,
    /// Applied, but the file differs from what was applied.
    pub edited: Vec<String>,
    /// Applied, but this build has no such migration.
    pub missing: Vec<String>,
}

impl Status {
    pub(super) fn compute(
        migrations: &[Migration],
        rows: Option<Vec<HistoryRow>>,
        schema_empty: bool,
    ) -> Self {
        let table_missing = rows.is_none();
        let rows = rows.unwrap_or_default();
        let applied_rows: Vec<&HistoryRow> = rows
            .iter()
            .filter(|r| r.finished && !r.rolled_back)
            .collect();
        let mut status = Status {
            table_missing,
            schema_empty,
            ..Status::default()
        };
        status.failed = rows
            .iter()
            .filter(|r| !r.finished && !r.rolled_back)
            .cloned()
            .collect();
        for m in migrations {
            match applied_rows.iter().find(|r| r.migration_name == m.name) {
                Some(row) => {
                    status.applied.push(m.name.to_string());
                    if !checksum_matches(&row.checksum, &m.sql) {
                        status.edited.push(m.name.to_string());
                    }
                }
                None => status.pending.push(m.name.to_string()),
            }
        }
        for row in applied_rows {
            if !migrations.iter().any(|m| m.name == row.migration_name)
                && !status.missing.contains(&row.migration_name)
            {
                status.missing.push(row.migration_name.clone());
            }
        }
        status
    }

    pub fn state_of(&self, name: &str) -> MigrationState {
        if self.edited.iter().any(|n| n == name) {
            MigrationState::Edited
        } else if self.failed.iter().any(|r| r.migration_name == name) {
            MigrationState::Failed
        } else if self.applied.iter().any(|n| n == name) {
            MigrationState::Applied
        } else if self.missing.iter().any(|n| n == name) {
            MigrationState::Missing
        } else {
            MigrationState::Pending
        }
    }

    pub fn is_up_to_date(&self) -> bool {
        !self.table_missing
            && self.pending.is_empty()
            && self.failed.is_empty()
            && self.edited.is_empty()
            && self.missing.is_empty()
    }

    /// The refusals a deploy starts with (Prisma's P3005 and P3009, plus drift, which Prisma only reports).
    pub fn ensure_deployable(&self) -> Result<(), NotDeployable> {
        self.ensure_deployable_with(false)
    }

    /// As [`Status::ensure_deployable`]; `allow_edited` lets applied-but-edited migrations through (with a warning).
    pub fn ensure_deployable_with(&self, allow_edited: bool) -> Result<(), NotDeployable> {
        match self.refusal(allow_edited) {
            Some(refusal) => Err(refusal),
            None => {
                if !self.edited.is_empty() {
                    tracing::warn!(edited = %self.edited.join(", "), "applied migrations were edited since they ran; going on (--allow-edited)");
                }
                Ok(())
            }
        }
    }

    /// Why a deploy would refuse to start, most serious first; the same state gives `status` its exit code.
    pub fn refusal(&self, allow_edited: bool) -> Option<NotDeployable> {
        if let Some(row) = self.failed.first() {
            return Some(NotDeployable::Failed {
                migration: row.migration_name.clone(),
                logs: row.logs.clone().unwrap_or_else(|| "(empty)".into()),
            });
        }
        if !self.edited.is_empty() && !allow_edited {
            return Some(NotDeployable::Edited(self.edited.join(", ")));
        }
        if !self.missing.is_empty() {
            return Some(NotDeployable::Unknown(self.missing.join(", ")));
        }
        if self.table_missing && !self.schema_empty {
            return Some(NotDeployable::NotBaselined);
        }
        None
    }
}

/// A database state no deploy may start from. `vivr migrate status` and `deploy` give the same exit code for
/// each (see `exit::Outcome`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotDeployable {
    #[error(
        "migration {migration} failed earlier and is recorded as failed (P3009); fix the cause, then mark it with \
         `vivr migrate resolve --rolled-back {migration}` (to retry) or `--applied` (if applied by hand). Its log:\n{logs}"
    )]
    Failed { migration: String, logs: String },
    #[error(
        "applied migrations were edited since they ran: {0} (restore the files as they were applied, or, if the \
         change is harmless, record it with `vivr migrate checksums --update --reason ...`; --allow-edited \
         deploys anyway)"
    )]
    Edited(String),
    #[error(
        "the database has migrations this build does not know: {0} (is this binary older than the database?)"
    )]
    Unknown(String),
    #[error(
        "the database is not empty but has no migration history (P3005); baseline it first by recording the \
         migrations its schema already matches with `vivr migrate resolve --applied <name>`"
    )]
    NotBaselined,
}

/// Every row of the history, oldest first; `None` when the table does not exist. On the migrator's connection,
/// or on the shop's pool (readiness, through [`super::Probe`]).
pub(super) async fn read(db: impl Into<On<'_>>) -> anyhow::Result<Option<Vec<HistoryRow>>> {
    let mut db = db.into();
    let exists = match db.backend() {
        Backend::Postgres => sql("SELECT to_regclass('_prisma_migrations') IS NOT NULL"),
        Backend::Sqlite => sql(
            "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'",
        ),
    };
    if !exists
        .scalar::<bool>(db.reborrow())
        .await
        .context("reading the migration history")?
    {
        return Ok(None);
    }
    let rows = sql(
        r#"SELECT "id", "migration_name", "checksum",
               ("finished_at" IS NOT NULL) AS "finished", ("rolled_back_at" IS NOT NULL) AS "rolled_back", "logs"
           FROM "_prisma_migrations" ORDER BY "started_at", "migration_name""#,
    )
    .fetch_all::<HistoryRow>(db)
    .await
    .context("reading _prisma_migrations")?;
    Ok(Some(rows))
}

pub(super) async fn schema_is_empty(db: &mut Conn) -> anyhow::Result<bool> {
    let count = match db.backend() {
        Backend::Postgres => sql(
            "SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm')",
        ),
        Backend::Sqlite => sql(
            "SELECT COUNT(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'",
        ),
    };
    let count = count
        .scalar::<i64>(db)
        .await
        .context("inspecting the database schema")?;
    Ok(count == 0)
}

/// Prisma's DDL, byte for byte on PostgreSQL; its SQLite equivalent.
pub(super) async fn create_table(db: &mut Conn) -> anyhow::Result<()> {
    let ddl = match db.backend() {
        Backend::Postgres => sql("CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)"),
        Backend::Sqlite => sql(r#"CREATE TABLE "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)"#),
    };
    ddl.execute(db)
        .await
        .context("creating _prisma_migrations")?;
    Ok(())
}

/// A statement on `_prisma_migrations` in the backend's words: `{now}` is the current time as each writes it
/// (PostgreSQL's `now()`; on SQLite the UTC text Prisma writes, to the millisecond), `{newline}` a line break.
fn history_sql(db: &Conn, text: &str) -> Sql {
    let (now, newline) = match db.backend() {
        Backend::Postgres => ("now()", "chr(10)"),
        Backend::Sqlite => ("strftime('%Y-%m-%d %H:%M:%f', 'now')", "char(10)"),
    };
    assembled(text.replace("{now}", now).replace("{newline}", newline))
}

/// Inserts the "started" row (outside the migration's transaction, as Prisma does, so a failure stays recorded).
pub(super) async fn start(db: &mut Conn, migration: &Migration) -> anyhow::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    history_sql(
        db,
        r#"INSERT INTO "_prisma_migrations" ("id", "checksum", "migration_name", "started_at", "applied_steps_count")
           VALUES ($1, $2, $3, {now}, 0)"#,
    )
    .bind(&id)
    .bind(checksum(&migration.sql))
    .bind(migration.name.as_ref())
    .execute(db)
    .await
    .with_context(|| format!("recording the start of {}", migration.name))?;
    Ok(id)
}

pub(super) async fn finish(db: &mut Conn, id: &str) -> anyhow::Result<()> {
    history_sql(
        db,
        r#"UPDATE "_prisma_migrations" SET "finished_at" = {now}, "applied_steps_count" = "applied_steps_count" + 1
           WHERE "id" = $1"#,
    )
    .bind(id)
    .execute(db)
    .await
    .context("recording a finished migration")?;
    Ok(())
}

pub(super) async fn record_failure(db: &mut Conn, id: &str, logs: &str) -> anyhow::Result<()> {
    sql(r#"UPDATE "_prisma_migrations" SET "logs" = $1 WHERE "id" = $2"#)
        .bind(logs)
        .bind(id)
        .execute(db)
        .await
        .context("recording a failed migration")?;
    Ok(())
}

/// `resolve --applied`: a row as if the migration had run, without running it — finished as it starts, no step
/// applied, empty `logs`, as Prisma writes it.
pub(super) async fn mark_applied(db: &mut Conn, migration: &Migration) -> anyhow::Result<()> {
    mark_rolled_back(db, &migration.name).await?;
    history_sql(
        db,
        r#"INSERT INTO "_prisma_migrations"
               ("id", "checksum", "migration_name", "logs", "started_at", "finished_at", "applied_steps_count")
           VALUES ($1, $2, $3, '', {now}, {now}, 0)"#,
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(checksum(&migration.sql))
    .bind(migration.name.as_ref())
    .execute(db)
    .await
    .with_context(|| format!("recording {} as applied", migration.name))?;
    Ok(())
}

/// Records a new checksum on an applied migration's rows, appending why to their `logs`.
pub(super) async fn update_checksum(
    db: &mut Conn,
    name: &str,
    checksum: &str,
    note: &str,
) -> anyhow::Result<u64> {
    let updated = history_sql(
        db,
        r#"UPDATE "_prisma_migrations" SET "checksum" = $1,
               "logs" = CASE WHEN "logs" IS NULL OR "logs" = '' THEN $2 ELSE "logs" || {newline} || $2 END
           WHERE "migration_name" = $3 AND "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL"#,
    )
    .bind(checksum)
    .bind(note)
    .bind(name)
    .execute(db)
    .await
    .with_context(|| format!("updating the checksum of {name}"))?;
    Ok(updated)
}

/// Sets `rolled_back_at` on the failed rows of a migration.
pub(super) async fn mark_rolled_back(db: &mut Conn, name: &str) -> anyhow::Result<()> {
    history_sql(
        db,
        r#"UPDATE "_prisma_migrations" SET "rolled_back_at" = {now}
           WHERE "migration_name" = $1 AND "finished_at" IS NULL AND "rolled_back_at" IS NULL"#,
    )
    .bind(name)
    .execute(db)
    .await
    .with_context(|| format!("marking {name} as rolled back"))?;
    Ok(())
}

/// The text kept in `logs` for a failed migration: the database's code and message.
pub(super) fn describe_failure(migration: &Migration, err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => format!(
            "Database error code: {}\n\nDatabase error:\n{}\n\nin migration {}",
            db.code().as_deref().unwrap_or("unknown"),
            db.message(),
            migration.name
        ),
        other => format!("{other}\n\nin migration {}", migration.name),
    }
}
