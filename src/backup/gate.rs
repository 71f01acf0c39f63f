//! The backup gate of `vivr migrate deploy` outside development: before the first pending migration runs, either
//! a verified backup (level 2 or more) no older than the allowed age whose manifest holds the database's current
//! migration head already exists, or one is taken and verified now — while the migration lock is held, so that no
//! other deployer can start DDL between the backup and the migrations. On the embedded SQLite database the backup
//! is a `VACUUM INTO` copy checked with `PRAGMA integrity_check`; SQLite has no advisory lock to hold.

use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use serde::Serialize;

use super::{BackupStore, CreateOptions, Manifest, MigrationHead, PgTools, VerifyOptions};
use crate::migrate::{self, Conn, DeployOptions, DeployReport, Migration};

pub struct BackupGate<'a> {
    pub store: &'a dyn BackupStore,
    pub url: &'a str,
    pub tools: PgTools,
    /// Accept an existing verified backup this recent; `None` always takes a new one.
    pub max_age: Option<Duration>,
    /// How long the pre-migration backup is kept from `prune`.
    pub pin_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateOutcome {
    pub backup_id: String,
    /// True when an existing backup was accepted rather than a new one taken.
    pub reused: bool,
}

/// A verified (level ≥ 2), recent enough backup of this database at its current head.
fn acceptable(
    backups: &[Manifest],
    database: &str,
    head: Option<&MigrationHead>,
    max_age: Duration,
) -> Option<Manifest> {
    let oldest = Utc::now() - chrono::TimeDelta::from_std(max_age).ok()?;
    backups
        .iter()
        .filter(|m| m.database == database && m.finished_at >= oldest)
        .filter(|m| m.migration_head.as_ref() == head)
        .find(|m| {
            m.verification
                .as_ref()
                .is_some_and(|v| v.ok && v.level >= 2)
        })
        .cloned()
}

/// The database's name as manifests record it, and its migration head, read on the deploy connection.
async fn identity(db: &mut Conn, url: &str) -> anyhow::Result<(String, Option<MigrationHead>)> {
    match db {
        Conn::Postgres(conn) => Ok((
            super::PgEnv::from_url(url)?.database,
            super::migration_head(conn).await?,
        )),
        Conn::Sqlite(conn) => Ok((
            super::sqlite::database_name(url),
            super::sqlite::head(conn).await?,
        )),
    }
}

/// Deploys like [`migrate::deploy`], with the backup gate inside the lock. Nothing pending: no backup.
pub async fn deploy_guarded(
    db: &mut Conn,
    migrations: &[Migration],
    options: &DeployOptions,
    gate: &BackupGate<'_>,
) -> anyhow::Result<(DeployReport, Option<GateOutcome>)> {
    migrate::locked(db, options.lock_timeout, async |db: &mut Conn| {
        let status = migrate::status(db, migrations).await?;
        status.ensure_deployable_with(options.allow_edited)?;
        if status.pending.is_empty() {
            return Ok((migrate::deploy_locked(db, migrations, options).await?, None));
        }
        let (database, head) = identity(db, gate.url).await?;
        let existing = match gate.max_age {
            Some(age) => super::list(gate.store)
                .await
                .ok()
                .and_then(|backups| acceptable(&backups, &database, head.as_ref(), age)),
            None => None,
        };
        let outcome = match existing {
            Some(found) => {
                tracing::info!(backup = %found.id, "a recent verified backup at the current head exists; using it");
                GateOutcome {
                    backup_id: found.id,
                    reused: true,
                }
            }
            None => {
                tracing::info!(store = %gate.store.describe(), backend = db.backend().as_str(), "taking a backup before migrating (on PostgreSQL the migration lock is held)");
                let mut manifest = super::create(
                    gate.url,
                    gate.store,
                    &CreateOptions {
                        tools: gate.tools.clone(),
                        lock_wait_timeout_ms: 60_000,
                        pin_days: Some(gate.pin_days),
                        progress: None,
                    },
                )
                .await
                .context("the pre-migration backup failed; no migration was applied")?;
                let report = super::verify(
                    gate.store,
                    &manifest.id,
                    2,
                    &VerifyOptions {
                        tools: gate.tools.clone(),
                        scratch_url: None,
                        progress: None,
                    },
                )
                .await?;
                if !report.ok {
                    bail!(
                        "the pre-migration backup {} failed verification; no migration was applied",
                        manifest.id
                    );
                }
                manifest = gate.store.read_manifest(&manifest.id).await?;
                manifest.before_migrations = status.pending.clone();
                gate.store.write_manifest(&manifest).await?;
                GateOutcome {
                    backup_id: manifest.id,
                    reused: false,
                }
            }
        };
        let report = migrate::deploy_locked(db, migrations, options).await?;
        Ok((report, Some(outcome)))
    })
    .await
}
