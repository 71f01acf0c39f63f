//! Logical backups of the shop's PostgreSQL database: `pg_dump -Fc -Z0` streamed through zstd and SHA-256 into a
//! backup store, with a manifest written last (a backup without a manifest is incomplete, never listed as
//! usable). Row counts and the `_prisma_migrations` head are read in the very snapshot pg_dump dumps, so a restore
//! can be checked against them exactly. Verification has three levels: L1 checksum re-read from the store, L2 a
//! full read by `pg_restore -f /dev/null`, L3 a restore into a scratch database compared table by table.

mod create;
pub mod gate;
pub mod pgtools;
mod plumbing;
mod restore;
mod retention;
mod s3;
mod sqlite;
mod store;
mod verify;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use create::{CreateOptions, create};
pub use pgtools::{PgEnv, PgTools};
pub use plumbing::migration_head;
pub use restore::{RestoreReport, restore};
pub use retention::{PruneDecision, Retention, prune_plan};
pub use s3::S3Store;
pub use store::{BackupStore, LocalStore};
pub use verify::{VerifyOptions, VerifyReport, verify};

// Shared with the SQLite backups (`sqlite.rs`) and the tests.
use create::{announce_size, compress, settle, unique_id};
pub(crate) use plumbing::Tap;
use plumbing::*;
use store::ObjectWriter;
use verify::compare_with_manifest;

/// The first `n` bytes of a buffer a read or write just used (`n` never exceeds it; `Read` promises so).
pub(crate) fn filled(buf: &[u8], n: usize) -> &[u8] {
    buf.get(..n).unwrap_or(buf)
}

/// A backup store from `--store`, to write to: `s3://bucket/prefix` (the bucket must exist) or a local directory
/// (created when missing).
pub async fn open_store(location: &str) -> anyhow::Result<Box<dyn BackupStore>> {
    open(location, true).await
}

/// A backup store from `--store` that must exist already (to read from).
pub async fn open_existing_store(location: &str) -> anyhow::Result<Box<dyn BackupStore>> {
    open(location, false).await
}

async fn open(location: &str, create: bool) -> anyhow::Result<Box<dyn BackupStore>> {
    if location.starts_with("s3://") {
        Ok(Box::new(S3Store::connect(location).await?))
    } else if location.contains("://") {
        bail!("--store: {location:?} is neither s3://bucket/prefix nor a directory")
    } else if create {
        Ok(Box::new(LocalStore::new(location).await?))
    } else {
        Ok(Box::new(LocalStore::existing(location).await?))
    }
}

use crate::migrate::{RowCounts, pg_row_counts};

const OBJECT: &str = "dump.pgc.zst";
const ZSTD_LEVEL: i32 = 3;
const CHUNK: usize = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MigrationHead {
    pub name: String,
    pub checksum: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub level: u8,
    pub ok: bool,
    pub at: DateTime<Utc>,
    pub detail: String,
}

/// Everything known about one backup; written next to the dump, after it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub database: String,
    pub server_version: String,
    /// The database's size on disk when the backup started (`pg_database_size`, or the SQLite file's size).
    #[serde(default)]
    pub database_bytes: u64,
    pub pg_dump_version: String,
    #[serde(default)]
    pub pg_restore_version: String,
    pub format: String,
    pub compression: String,
    pub object: String,
    pub raw_bytes: u64,
    pub compressed_bytes: u64,
    pub sha256: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub toc_entries: u64,
    pub tables: RowCounts,
    pub migration_head: Option<MigrationHead>,
    pub vivr_version: String,
    /// Kept by `prune` until then (pre-migration backups).
    #[serde(default)]
    pub pinned_until: Option<DateTime<Utc>>,
    /// Taken by `vivr migrate deploy` before applying these migrations.
    #[serde(default)]
    pub before_migrations: Vec<String>,
    /// The latest verification.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Every verification, oldest first (the audit asks when a restore was last proven, whatever ran since).
    #[serde(default)]
    pub verifications: Vec<Verification>,
}

impl Manifest {
    /// Reads a manifest as stored, and checks what later steps rely on: a manifest edited or damaged in the
    /// store is an error naming the field, never a panic or a path outside the backup's folder.
    pub fn parse(bytes: &[u8], id: &str) -> anyhow::Result<Manifest> {
        let manifest: Manifest = serde_json::from_slice(bytes).with_context(|| {
            format!("the manifest of backup {id} is not valid JSON of a manifest")
        })?;
        if manifest.id != id {
            bail!(
                "the manifest of backup {id} names another backup ({:?})",
                manifest.id
            );
        }
        if manifest.sha256.len() != 64
            || !manifest
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            bail!("the manifest of backup {id} is damaged: sha256 must be 64 lowercase hex digits");
        }
        if manifest.object.is_empty()
            || manifest.object.contains(['/', '\\'])
            || manifest.object.starts_with('.')
        {
            bail!(
                "the manifest of backup {id} is damaged: object must be a file name in the backup's folder"
            );
        }
        Ok(manifest)
    }
}

/// Told how many bytes of dump went through so far (the command draws a progress line from it).
pub type Progress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Every complete backup in the store, newest first.
pub async fn list(store: &dyn BackupStore) -> anyhow::Result<Vec<Manifest>> {
    let mut manifests = Vec::new();
    for id in store.ids().await? {
        if let Ok(manifest) = store.read_manifest(&id).await {
            manifests.push(manifest);
        }
    }
    manifests.sort_by_key(|m| std::cmp::Reverse(m.started_at));
    Ok(manifests)
}

#[cfg(test)]
mod tests;
