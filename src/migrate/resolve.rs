//! `vivr migrate resolve` and checksum updates: changing the history without running a migration.

use anyhow::{Context, bail};

use super::*;

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
        let rows = history::read(&mut *db).await?.unwrap_or_default();
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
