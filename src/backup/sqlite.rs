//! Backups of the embedded SQLite database: `VACUUM INTO` makes a consistent copy while the shop keeps running;
//! the copy is counted (rows per table, migration head), compressed with zstd and checksummed into the same
//! stores and manifests as PostgreSQL dumps. Verification: L1 checksum, L2 `PRAGMA integrity_check` on the
//! decompressed copy, L3 the same plus row counts and head compared with the manifest. Restore writes the file
//! next to its target and renames it into place.

use std::path::Path;

use anyhow::{Context, bail};
use async_compression::tokio::bufread::ZstdDecoder;
use chrono::Utc;
use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use tokio::io::BufReader;

use super::{BackupStore, CreateOptions, Manifest, MigrationHead, Tap, ZSTD_LEVEL};
use crate::migrate::{RowCounts, sqlite_row_counts};

pub const OBJECT: &str = "db.sqlite.zst";

async fn open(path: &Path, read_only: bool) -> anyhow::Result<SqliteConnection> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .create_if_missing(false);
    SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", path.display()))
}

pub(super) async fn head(conn: &mut SqliteConnection) -> anyhow::Result<Option<MigrationHead>> {
    let exists: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists == 0 {
        return Ok(None);
    }
    let row: Option<(String, String)> = sqlx::query_as(
        r#"SELECT "migration_name", "checksum" FROM "_prisma_migrations"
           WHERE "finished_at" IS NOT NULL AND "rolled_back_at" IS NULL ORDER BY "migration_name" DESC LIMIT 1"#,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(name, checksum)| MigrationHead { name, checksum }))
}

/// Rows per table, migration head and integrity of a database file.
async fn inspect(path: &Path) -> anyhow::Result<(RowCounts, Option<MigrationHead>, String)> {
    let mut conn = open(path, true).await?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| e.to_string());
    let counts = sqlite_row_counts(&mut conn).await?;
    let head = head(&mut conn).await?;
    conn.close().await.ok();
    Ok((counts, head, integrity))
}

/// The name manifests record for the SQLite database a URL names: its file's stem.
pub(super) fn database_name(url: &str) -> String {
    crate::migrate::sqlite_file(url)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vivr".into())
}

/// A consistent copy of the live database at `copy` (`VACUUM INTO`); returns SQLite's version.
async fn vacuum_into(path: &Path, copy: &Path) -> anyhow::Result<String> {
    let mut conn = open(path, false).await?;
    let version: String = sqlx::query_scalar("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await?;
    sqlx::query("VACUUM INTO ?")
        .bind(copy.display().to_string())
        .execute(&mut conn)
        .await
        .context("VACUUM INTO (a consistent copy)")?;
    conn.close().await.ok();
    Ok(version)
}

pub async fn create(
    url: &str,
    store: &dyn BackupStore,
    options: &CreateOptions,
) -> anyhow::Result<Manifest> {
    let path = crate::migrate::sqlite_file(url);
    if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
        bail!("{}: no such SQLite database", path.display());
    }
    let database = database_name(url);
    let database_bytes = tokio::fs::metadata(&path)
        .await
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    super::announce_size(&database, database_bytes);
    let started_at = Utc::now();
    let id = super::unique_id(
        store,
        &format!("{}-{database}", started_at.format("%Y%m%dT%H%M%SZ")),
    )
    .await?;
    let scratch = tempfile::tempdir().context("a temporary directory for the copy")?;
    let copy = scratch.path().join("copy.db");
    let version = vacuum_into(&path, &copy).await?;
    let (tables, migration_head, integrity) = inspect(&copy).await?;
    if integrity != "ok" {
        bail!("the copy fails PRAGMA integrity_check: {integrity}");
    }

    let mut writer = store.writer(&id, OBJECT).await?;
    let written = match tokio::fs::File::open(&copy).await {
        Ok(input) => super::compress(input, writer.as_mut(), options.progress.as_ref()).await,
        Err(err) => Err(anyhow::Error::new(err).context(format!("opening {}", copy.display()))),
    };
    let stored = super::settle(store, &id, writer, written)
        .await
        .context("writing the backup")?;
    let manifest = Manifest {
        id,
        database,
        server_version: format!("SQLite {version}"),
        database_bytes,
        pg_dump_version: String::new(),
        pg_restore_version: String::new(),
        format: "sqlite database file (VACUUM INTO)".into(),
        compression: format!("zstd level {ZSTD_LEVEL}"),
        object: OBJECT.into(),
        raw_bytes: stored.raw,
        compressed_bytes: stored.compressed,
        sha256: stored.sha256,
        started_at,
        finished_at: Utc::now(),
        toc_entries: tables.len() as u64,
        tables,
        migration_head,
        vivr_version: env!("CARGO_PKG_VERSION").into(),
        pinned_until: options.pinned_until(started_at),
        before_migrations: Vec::new(),
        verification: None,
        verifications: Vec::new(),
    };
    store.write_manifest(&manifest).await?;
    Ok(manifest)
}

/// Decompresses the stored copy into `target`, hashing the stored bytes on the way.
async fn unpack(
    store: &dyn BackupStore,
    manifest: &Manifest,
    target: &Path,
) -> anyhow::Result<String> {
    let reader = store.reader(&manifest.id, &manifest.object).await?;
    let mut hasher = Sha256::new();
    let mut hashing = Tap::new(reader, |bytes| hasher.update(bytes));
    let mut output = tokio::fs::File::create(target)
        .await
        .with_context(|| format!("creating {}", target.display()))?;
    let copied = tokio::io::copy(
        &mut ZstdDecoder::new(BufReader::with_capacity(super::CHUNK, &mut hashing)),
        &mut output,
    )
    .await;
    // Hash whatever the decoder did not need, so the checksum always covers the whole object.
    let _ = tokio::io::copy(&mut hashing, &mut tokio::io::sink()).await;
    drop(hashing);
    copied.context("decompressing the backup")?;
    output.sync_all().await?;
    Ok(hex::encode(hasher.finalize()))
}

/// L2: the copy decompresses and passes `PRAGMA integrity_check`; L3 also compares counts and head.
pub async fn verify(
    store: &dyn BackupStore,
    manifest: &Manifest,
    level: u8,
) -> anyhow::Result<Vec<(String, bool, String)>> {
    let scratch = tempfile::tempdir()?;
    let file = scratch.path().join("verify.db");
    let sha = match unpack(store, manifest, &file).await {
        Ok(sha) => sha,
        Err(err) => return Ok(vec![("decompress".into(), false, format!("{err:#}"))]),
    };
    let mut checks = vec![("sha256".to_string(), sha == manifest.sha256, sha)];
    // A damaged copy may decompress into something SQLite cannot even open: a failed check, not an error.
    let (counts, head, integrity) = match inspect(&file).await {
        Ok(found) => found,
        Err(err) => {
            checks.push(("open the copy".into(), false, format!("{err:#}")));
            return Ok(checks);
        }
    };
    checks.push((
        "PRAGMA integrity_check".into(),
        integrity == "ok",
        integrity,
    ));
    if level >= 3 {
        checks.extend(super::compare_with_manifest(manifest, &counts, head));
    }
    Ok(checks)
}

/// Restores into the SQLite file `target_url` names: refuses an existing non-empty file without `clean`;
/// the file appears whole or not at all (written aside, then renamed).
pub async fn restore(
    store: &dyn BackupStore,
    manifest: &Manifest,
    target_url: &str,
    clean: bool,
) -> anyhow::Result<Option<MigrationHead>> {
    let target = crate::migrate::sqlite_file(target_url);
    let occupied = tokio::fs::metadata(&target)
        .await
        .is_ok_and(|m| m.len() > 0);
    if occupied && !clean {
        bail!(
            "{} already exists; pass --clean to replace it (stop the shop first)",
            target.display()
        );
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = target.with_extension("restore-partial");
    let sha = match unpack(store, manifest, &partial).await {
        Ok(sha) => sha,
        Err(err) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err.context(format!(
                "backup {} is damaged; nothing was restored",
                manifest.id
            )));
        }
    };
    if sha != manifest.sha256 {
        let _ = tokio::fs::remove_file(&partial).await;
        bail!(
            "backup {} is damaged: its SHA-256 is {sha}, the manifest says {}; nothing was restored",
            manifest.id,
            manifest.sha256
        );
    }
    for suffix in ["-wal", "-shm"] {
        let _ = tokio::fs::remove_file(format!("{}{suffix}", target.display())).await;
    }
    tokio::fs::rename(&partial, &target)
        .await
        .with_context(|| format!("moving the copy to {}", target.display()))?;
    let (_, head, _) = inspect(&target).await?;
    Ok(head)
}
