//! `vivr migrate resolve` and checksum updates: changing the history without running a migration.

use anyhow::{Context, bail};

use super::*;

/// What `vivr migrate resolve` records about one migration, as Prisma's `migrate resolve` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution<'a> {
    /// `--applied NAME`: record the migration as applied without running it, the way to baseline a database that
    /// already has the schema (such as the original VIVR database).
    Applied(&'a str),
    /// `--rolled-back NAME`: mark a failed migration as rolled back, so that the next deploy runs it again. Only a
    /// migration recorded as failed can be rolled back (P3012).
    RolledBack(&'a str),
}

impl<'a> Resolution<'a> {
    /// The migration's name.
    pub fn name(self) -> &'a str {
        match self {
            Resolution::Applied(name) | Resolution::RolledBack(name) => name,
        }
    }
}

/// Changes the history as `resolution` says, under the migrator's lock, without running any migration.
pub async fn resolve(
    db: &mut Conn,
    migrations: &[Migration],
    resolution: Resolution<'_>,
    options: &DeployOptions,
) -> anyhow::Result<()> {
    locked(db, options.lock_timeout, async |db: &mut Conn| {
        let current = status(db, migrations).await?;
        match resolution {
            Resolution::Applied(name) => {
                let migration = migrations.iter().find(|m| m.name == name).with_context(|| {
                    format!("migration {name} does not exist in this build (P3017)")
                })?;
                if current.applied.iter().any(|a| a == name) {
                    bail!("migration {name} is already recorded as applied (P3008)");
                }
                if current.table_missing {
                    history::create_table(db).await?;
                }
                history::mark_applied(db, migration).await
            }
            Resolution::RolledBack(name) => {
                if !current.failed.iter().any(|r| r.migration_name == name) {
                    bail!(
                        "migration {name} cannot be rolled back because it is not in a failed state (P3012)"
                    );
                }
                history::mark_rolled_back(db, name).await
            }
        }
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
