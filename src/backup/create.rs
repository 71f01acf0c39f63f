//! `vivr backup create`: pg_dump streamed through zstd and SHA-256 into the store, with its manifest.

use std::process::Stdio;

use anyhow::{Context, bail};
use async_compression::Level;
use async_compression::tokio::write::ZstdEncoder;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::*;

/// Above this size a logical dump is the wrong tool for routine backups: it takes long to take and longer to restore.
pub(super) const LOGICAL_DUMP_ADVISED_MAX: u64 = 50 << 30;
/// A conservative dump rate for the estimate (bench/RESULTS.md measured about 350 MB/s of database size on 2 cores).
pub(super) const DUMP_BYTES_PER_SECOND: u64 = 200_000_000;

/// Says, before a dump starts, how big the database is, roughly how long the dump takes and what it is not.
pub(super) fn announce_size(database: &str, bytes: u64) {
    let seconds = (bytes / DUMP_BYTES_PER_SECOND).max(1);
    tracing::info!(
        "{database}: {} on disk; expect about {} for the dump. A logical dump is a snapshot, not point-in-time recovery",
        indicatif::HumanBytes(bytes),
        indicatif::HumanDuration(std::time::Duration::from_secs(seconds)),
    );
    if bytes > LOGICAL_DUMP_ADVISED_MAX {
        tracing::warn!(
            "{database} is {}: for point-in-time recovery use provider snapshots, pgBackRest or WAL-G, and keep logical \
             dumps for targeted copies (the tables a migration rewrites or drops)",
            indicatif::HumanBytes(bytes)
        );
    }
}

/// What went into a store object.
pub(super) struct Stored {
    /// Bytes before compression.
    pub(super) raw: u64,
    /// Bytes stored.
    pub(super) compressed: u64,
    /// SHA-256 of the stored bytes.
    pub(super) sha256: String,
}

/// Compresses all of `input` with zstd into `writer`, hashing and counting what is stored. The object stays
/// unfinished: [`settle`] decides whether it is complete.
///
/// The encoder writes into memory, drained after each chunk: fed from a reader instead, it would end a zstd block
/// each time the pipe from pg_dump runs dry, which costs both size and time.
pub(super) async fn compress(
    mut input: impl AsyncRead + Unpin,
    writer: &mut dyn ObjectWriter,
    progress: Option<&Progress>,
) -> anyhow::Result<Stored> {
    let mut encoder =
        ZstdEncoder::with_quality(Vec::with_capacity(CHUNK), Level::Precise(ZSTD_LEVEL));
    let mut stored = Stored {
        raw: 0,
        compressed: 0,
        sha256: String::new(),
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = input.read(&mut buf).await?;
        if n == 0 {
            encoder.shutdown().await?;
        } else {
            stored.raw += n as u64;
            if let Some(report) = progress {
                report(stored.raw);
            }
            encoder.write_all(filled(&buf, n)).await?;
        }
        let chunk = std::mem::take(encoder.get_mut());
        hasher.update(&chunk);
        stored.compressed += chunk.len() as u64;
        writer.write(&chunk).await?;
        if n == 0 {
            break;
        }
    }
    stored.sha256 = hex::encode(hasher.finalize());
    Ok(stored)
}

/// Makes the object visible when everything before went well; otherwise leaves nothing of backup `id` behind.
pub(super) async fn settle(
    store: &dyn BackupStore,
    id: &str,
    writer: Box<dyn ObjectWriter>,
    written: anyhow::Result<Stored>,
) -> anyhow::Result<Stored> {
    let settled = match written {
        Ok(stored) => writer
            .finish()
            .await
            .context("closing the backup object")
            .map(|()| stored),
        Err(err) => {
            writer.abort().await;
            Err(err)
        }
    };
    if settled.is_err() {
        store.discard(id).await;
    }
    settled
}

#[derive(Clone)]
pub struct CreateOptions {
    pub tools: PgTools,
    /// pg_dump's `--lock-wait-timeout`: how long to wait for a table lock before failing.
    pub lock_wait_timeout_ms: u64,
    /// Keep this backup from `prune` for so many days.
    pub pin_days: Option<u32>,
    pub progress: Option<Progress>,
}

impl CreateOptions {
    /// Until when a backup started at `started_at` is kept from `prune`.
    pub(super) fn pinned_until(&self, started_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pin_days
            .map(|d| started_at + chrono::TimeDelta::days(i64::from(d)))
    }
}

/// `base`, or `base-2`, `base-3`… when a backup with that id exists (two backups in one second).
pub(super) async fn unique_id(store: &dyn BackupStore, base: &str) -> anyhow::Result<String> {
    let taken = store.ids().await?;
    Ok((1..)
        .map(|n| {
            if n == 1 {
                base.to_string()
            } else {
                format!("{base}-{n}")
            }
        })
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| base.to_string()))
}

/// Runs pg_dump on the exported snapshot, compressing its output into `writer`.
async fn dump(
    tools: &PgTools,
    dump_env: &PgEnv,
    snapshot: &str,
    lock_wait: u64,
    writer: &mut dyn ObjectWriter,
    progress: Option<&Progress>,
) -> anyhow::Result<Stored> {
    let mut command = tools.command("pg_dump");
    dump_env.apply(&mut command);
    command
        .args(["--format=custom", "--compress=0", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--lock-wait-timeout={lock_wait}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = tokio::process::Command::from(command)
        .kill_on_drop(true)
        .spawn()
        .context("starting pg_dump")?;
    let stdout = child.stdout.take().context("pg_dump stdout")?;
    widen(&stdout);
    let stderr = child.stderr.take().context("pg_dump stderr")?;
    let (copied, stderr) = tokio::join!(compress(stdout, writer, progress), read_all(stderr));
    let status = child.wait().await.context("waiting for pg_dump")?;
    if !status.success() {
        bail!(
            "pg_dump failed ({status}): {}",
            pgtools::stderr_tail(&stderr)
        );
    }
    copied.context("writing the backup")
}

/// Opens a read-only snapshot on `conn` and exports it, so pg_dump and our own counts see the same data; returns
/// it with each table's row count and the migration head. The transaction stays open until the dump is done.
async fn snapshot(
    conn: &mut sqlx::PgConnection,
) -> anyhow::Result<(String, RowCounts, Option<MigrationHead>)> {
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *conn)
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *conn)
        .await
        .context("exporting a snapshot for pg_dump")?;
    let tables = pg_row_counts(&mut *conn).await.context("counting rows")?;
    let head = migration_head(&mut *conn).await?;

    Ok((snapshot, tables, head))
}

/// Dumps the database at `url` into `store`. On any failure (pg_dump's exit status included) the partial
/// object is removed and no manifest is written.
pub async fn create(
    url: &str,
    store: &dyn BackupStore,
    options: &CreateOptions,
) -> anyhow::Result<Manifest> {
    if url.starts_with("sqlite:") {
        return sqlite::create(url, store, options).await;
    }
    let env = PgEnv::from_url(url)?;
    let (mut conn, server_major, server_version) = connect(url).await?;
    let (pg_dump_version, pg_restore_version) = options.tools.check_against(server_major).await?;
    let database_bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await
        .context("reading the database size")?;
    let database_bytes = database_bytes.max(0) as u64;
    announce_size(&env.database, database_bytes);
    let started_at = Utc::now();
    let id = unique_id(
        store,
        &format!("{}-{}", started_at.format("%Y%m%dT%H%M%SZ"), env.database),
    )
    .await?;

    let (snapshot, tables, head) = snapshot(&mut conn).await?;
    let mut writer = store.writer(&id, OBJECT).await?;
    let dumped = dump(
        &options.tools,
        &env,
        &snapshot,
        options.lock_wait_timeout_ms,
        writer.as_mut(),
        options.progress.as_ref(),
    )
    .await;
    let _ = sqlx::raw_sql("COMMIT").execute(&mut conn).await;
    let stored = settle(store, &id, writer, dumped).await?;

    let toc_entries = match toc_entries(store, &id, &options.tools).await {
        Ok(entries) => entries,
        Err(err) => {
            store.discard(&id).await;
            return Err(err.context("listing the dump's table of contents"));
        }
    };
    let manifest = Manifest {
        id: id.clone(),
        database: env.database.clone(),
        server_version,
        database_bytes,
        pg_dump_version,
        pg_restore_version,
        format: "pg_dump custom (-Fc -Z0)".into(),
        compression: format!("zstd level {ZSTD_LEVEL}"),
        object: OBJECT.into(),
        raw_bytes: stored.raw,
        compressed_bytes: stored.compressed,
        sha256: stored.sha256,
        started_at,
        finished_at: Utc::now(),
        toc_entries,
        tables,
        migration_head: head,
        vivr_version: env!("CARGO_PKG_VERSION").into(),
        pinned_until: options.pinned_until(started_at),
        before_migrations: Vec::new(),
        verification: None,
        verifications: Vec::new(),
    };
    store.write_manifest(&manifest).await?;
    Ok(manifest)
}
