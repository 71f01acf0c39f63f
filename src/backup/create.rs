//! `vivr backup create`: pg_dump streamed through zstd and SHA-256 into the store, with its manifest.

use std::io::{Read, Write};
use std::process::Stdio;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

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

/// zstd into a store object, hashing and counting what is stored.
pub(super) struct Compressor {
    hashing: Hashing<Box<dyn ObjectWriter>>,
}

impl Compressor {
    pub(super) fn new(writer: Box<dyn ObjectWriter>) -> Self {
        Compressor {
            hashing: Hashing {
                inner: writer,
                hasher: Sha256::new(),
                bytes: 0,
            },
        }
    }

    /// Compresses all of `input`; returns the uncompressed byte count. The object stays unfinished: the caller
    /// decides whether it is complete (an unfinished object is never visible).
    pub(super) fn copy_from(
        &mut self,
        input: &mut impl Read,
        progress: Option<&Progress>,
    ) -> std::io::Result<u64> {
        let mut raw = 0u64;
        let mut encoder = zstd::stream::Encoder::new(&mut self.hashing, ZSTD_LEVEL)?;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            raw += n as u64;
            encoder.write_all(filled(&buf, n))?;
            if let Some(report) = progress {
                report(raw);
            }
        }
        encoder.finish()?.flush()?;
        Ok(raw)
    }

    /// Makes the object visible; returns (stored bytes, SHA-256 of them).
    pub(super) fn finish(self) -> anyhow::Result<(u64, String)> {
        let Hashing {
            inner,
            hasher,
            bytes,
        } = self.hashing;
        inner.finish().context("closing the backup object")?;
        Ok((bytes, hex::encode(hasher.finalize())))
    }
}

/// Writes through to `inner` while hashing and counting.
pub(super) struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(filled(buf, n));
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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
pub(super) fn unique_id(store: &dyn BackupStore, base: &str) -> anyhow::Result<String> {
    let taken = store.ids()?;
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

/// Runs pg_dump on the exported snapshot, compressing its output into `writer`. Returns the dump's size, the
/// object's size and its SHA-256.
fn dump(
    tools: &PgTools,
    dump_env: &PgEnv,
    snapshot: &str,
    lock_wait: u64,
    writer: Box<dyn ObjectWriter>,
    progress: Option<&Progress>,
) -> anyhow::Result<(u64, u64, String)> {
    let mut command = tools.command("pg_dump");
    dump_env.apply(&mut command);
    command
        .args(["--format=custom", "--compress=0", "--no-password"])
        .arg(format!("--snapshot={snapshot}"))
        .arg(format!("--lock-wait-timeout={lock_wait}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().context("starting pg_dump")?;
    let mut stdout = child.stdout.take().context("pg_dump stdout")?;
    let stderr = child.stderr.take().context("pg_dump stderr")?;
    let errors = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::BufReader::new(stderr).read_to_end(&mut buf);
        buf
    });
    let mut compressor = Compressor::new(writer);
    let copy = compressor.copy_from(&mut stdout, progress);
    let status = child.wait().context("waiting for pg_dump")?;
    let stderr = errors.join().unwrap_or_default();
    if !status.success() {
        bail!(
            "pg_dump failed ({status}): {}",
            pgtools::stderr_tail(&stderr)
        );
    }
    let raw = copy.context("writing the backup")?;
    let (compressed, sha) = compressor.finish()?;
    Ok((raw, compressed, sha))
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
    let (pg_dump_version, pg_restore_version) = options.tools.check_against(server_major)?;
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
    )?;

    let (snapshot, tables, head) = snapshot(&mut conn).await?;
    let writer = store.writer(&id, OBJECT)?;
    let tools = options.tools.clone();
    let lock_wait = options.lock_wait_timeout_ms;
    let dump_env = env.clone();
    let progress = options.progress.clone();
    let dumped = tokio::task::spawn_blocking(move || {
        dump(
            &tools,
            &dump_env,
            &snapshot,
            lock_wait,
            writer,
            progress.as_ref(),
        )
    })
    .await
    .context("the dump task stopped")?;
    let _ = sqlx::raw_sql("COMMIT").execute(&mut conn).await;
    let (raw_bytes, compressed_bytes, sha256) = match dumped {
        Ok(sizes) => sizes,
        Err(err) => {
            store.discard(&id);
            return Err(err);
        }
    };

    let toc_entries = toc_entries(store, &id, &options.tools).inspect_err(|_| store.discard(&id));
    let toc_entries = toc_entries.context("listing the dump's table of contents")?;
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
        raw_bytes,
        compressed_bytes,
        sha256,
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
    store.write_manifest(&manifest)?;
    Ok(manifest)
}
