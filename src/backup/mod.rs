//! Logical backups of the shop's PostgreSQL database: `pg_dump -Fc -Z0` streamed through zstd and SHA-256 into a
//! backup store, with a manifest written last (a backup without a manifest is incomplete, never listed as
//! usable). Row counts and the `_prisma_migrations` head are read in the very snapshot pg_dump dumps, so a restore
//! can be checked against them exactly. Verification has three levels: L1 checksum re-read from the store, L2 a
//! full read by `pg_restore -f /dev/null`, L3 a restore into a scratch database compared table by table.

pub mod gate;
pub mod pgtools;
mod retention;
mod s3;
mod sqlite;
mod store;

use std::io::{Read, Write};
use std::process::Stdio;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

pub use pgtools::{PgEnv, PgTools};
pub use retention::{PruneDecision, Retention, prune_plan};
pub use s3::S3Store;
use store::ObjectWriter;
pub use store::{BackupStore, LocalStore};

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
        Ok(Box::new(LocalStore::new(location)?))
    } else {
        Ok(Box::new(LocalStore::existing(location)?))
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

/// Above this size a logical dump is the wrong tool for routine backups: it takes long to take and longer to restore.
const LOGICAL_DUMP_ADVISED_MAX: u64 = 50 << 30;
/// A conservative dump rate for the estimate (bench/RESULTS.md measured about 350 MB/s of database size on 2 cores).
const DUMP_BYTES_PER_SECOND: u64 = 200_000_000;

/// Says, before a dump starts, how big the database is, roughly how long the dump takes and what it is not.
fn announce_size(database: &str, bytes: u64) {
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

/// Connects with sqlx for the catalog reads, and says which server it is.
async fn connect(url: &str) -> anyhow::Result<(PgConnection, u32, String)> {
    let mut conn = crate::migrate::pg_connect(url, "vivr backup").await?;
    let (num, version): (String, String) = sqlx::query_as(
        "SELECT current_setting('server_version_num'), current_setting('server_version')",
    )
    .fetch_one(&mut conn)
    .await
    .context("reading the server version")?;
    let major = num.parse::<u32>().unwrap_or(0) / 10_000;
    let version = version
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Ok((conn, major, version))
}

/// The last applied migration, if the database has a Prisma history.
pub async fn migration_head(conn: &mut PgConnection) -> anyhow::Result<Option<MigrationHead>> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_prisma_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(None);
    }
    let head: Option<(String, String)> = sqlx::query_as(
        "SELECT migration_name, checksum FROM _prisma_migrations
         WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name DESC LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(head.map(|(name, checksum)| MigrationHead { name, checksum }))
}

/// zstd into a store object, hashing and counting what is stored.
struct Compressor {
    hashing: Hashing<Box<dyn ObjectWriter>>,
}

impl Compressor {
    fn new(writer: Box<dyn ObjectWriter>) -> Self {
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
    fn copy_from(
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
    fn finish(self) -> anyhow::Result<(u64, String)> {
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
struct Hashing<W> {
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

/// Told how many bytes of dump went through so far (the command draws a progress line from it).
pub type Progress = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

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
    fn pinned_until(&self, started_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pin_days
            .map(|d| started_at + chrono::TimeDelta::days(i64::from(d)))
    }
}

/// `base`, or `base-2`, `base-3`… when a backup with that id exists (two backups in one second).
fn unique_id(store: &dyn BackupStore, base: &str) -> anyhow::Result<String> {
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

    // One snapshot for pg_dump and for our own counts.
    sqlx::raw_sql("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut conn)
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut conn)
        .await
        .context("exporting a snapshot for pg_dump")?;
    let tables = pg_row_counts(&mut conn).await.context("counting rows")?;
    let head = migration_head(&mut conn).await?;

    let writer = store.writer(&id, OBJECT)?;
    let tools = options.tools.clone();
    let lock_wait = options.lock_wait_timeout_ms;
    let dump_env = env.clone();
    let progress = options.progress.clone();
    let dumped = tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, u64, String)> {
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
        let copy = compressor.copy_from(&mut stdout, progress.as_ref());
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

    let toc_entries = match toc_entries(store, &id, &options.tools) {
        Ok(n) => n,
        Err(err) => {
            store.discard(&id);
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

/// Feeds the decompressed dump to a pg_restore invocation's stdin, while hashing the stored bytes. Returns
/// (sha256 of the stored object, pg_restore's output, pg_restore's exit status).
fn pipe_to_restore(
    store: &dyn BackupStore,
    id: &str,
    mut command: std::process::Command,
    progress: Option<&Progress>,
) -> anyhow::Result<(String, Vec<u8>, std::process::ExitStatus, Vec<u8>)> {
    let reader = store.reader(id, OBJECT)?;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting pg_restore")?;
    let mut stdin = child.stdin.take().context("pg_restore stdin")?;
    let mut stdout = child.stdout.take().context("pg_restore stdout")?;
    let mut stderr = child.stderr.take().context("pg_restore stderr")?;
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let mut hashing = HashingReader {
        inner: reader,
        hasher: Sha256::new(),
    };
    let feed = (|| -> std::io::Result<()> {
        let mut decoder = zstd::stream::Decoder::new(&mut hashing)?;
        let mut buf = vec![0u8; CHUNK];
        let mut fed = 0u64;
        loop {
            let n = decoder.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            fed += n as u64;
            if let Some(report) = progress {
                report(fed);
            }
            match stdin.write_all(filled(&buf, n)) {
                Ok(()) => {}
                // pg_restore may stop reading early (a listing needs only the header).
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    })();
    drop(stdin);
    // Hash whatever pg_restore did not need, so the checksum always covers the whole object.
    let mut rest = vec![0u8; CHUNK];
    while hashing.read(&mut rest).unwrap_or(0) > 0 {}
    let status = child.wait().context("waiting for pg_restore")?;
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let sha = hex::encode(hashing.hasher.finalize());
    if let Err(e) = feed {
        // A decompression error means the object is damaged: report it as pg_restore would.
        let mut stderr = stderr;
        stderr.extend_from_slice(format!("\nreading the backup: {e}").as_bytes());
        return Ok((sha, stdout, failed_status(), stderr));
    }
    Ok((sha, stdout, status, stderr))
}

fn failed_status() -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(1 << 8)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(filled(buf, n));
        Ok(n)
    }
}

fn toc_entries(store: &dyn BackupStore, id: &str, tools: &PgTools) -> anyhow::Result<u64> {
    let mut command = tools.command("pg_restore");
    command.arg("--list");
    let (_, stdout, status, stderr) = pipe_to_restore(store, id, command, None)?;
    if !status.success() {
        bail!(
            "pg_restore --list failed: {}",
            pgtools::stderr_tail(&stderr)
        );
    }
    Ok(String::from_utf8_lossy(&stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .count() as u64)
}

/// The outcome of `verify`.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub id: String,
    pub level: u8,
    pub ok: bool,
    pub checks: Vec<(String, bool, String)>,
}

#[derive(Clone)]
pub struct VerifyOptions {
    pub tools: PgTools,
    /// L3: the server to restore into (a scratch database is created there and dropped afterwards).
    pub scratch_url: Option<String>,
    pub progress: Option<Progress>,
}

/// Verifies a backup at `level` (1, 2 or 3) and records the result in its manifest.
pub async fn verify(
    store: &dyn BackupStore,
    id: &str,
    level: u8,
    options: &VerifyOptions,
) -> anyhow::Result<VerifyReport> {
    if !(1..=3).contains(&level) {
        bail!("--level must be 1, 2 or 3");
    }
    let mut manifest = store.read_manifest(id)?;
    let mut checks = Vec::new();
    let size = store.size(id, &manifest.object)?;
    checks.push((
        "size".to_string(),
        size == manifest.compressed_bytes,
        format!(
            "{size} bytes stored, {} in the manifest",
            manifest.compressed_bytes
        ),
    ));
    match level {
        1 => {
            let sha = tokio::task::block_in_place(|| store.sha256(id, &manifest.object))?;
            checks.push(("sha256".into(), sha == manifest.sha256, sha));
        }
        _ if manifest.object == sqlite::OBJECT => {
            checks.extend(sqlite::verify(store, &manifest, level).await?);
        }
        2 => {
            let mut command = options.tools.command("pg_restore");
            command.args(["--file=/dev/null"]);
            let store_id = id.to_string();
            let (sha, _, status, stderr) =
                run_blocking(store, &store_id, command, options.progress.as_ref()).await?;
            checks.push(("sha256".into(), sha == manifest.sha256, sha));
            checks.push((
                "full read (pg_restore -f /dev/null)".into(),
                status.success(),
                pgtools::stderr_tail(&stderr),
            ));
        }
        _ => {
            let url = options.scratch_url.as_deref().context(
                "level 3 needs a server to restore into (--scratch-url or DATABASE_URL)",
            )?;
            checks.extend(
                verify_by_restore(
                    store,
                    &manifest,
                    url,
                    &options.tools,
                    options.progress.as_ref(),
                )
                .await?,
            );
        }
    }
    let ok = checks.iter().all(|(_, ok, _)| *ok);
    let verification = Verification {
        level,
        ok,
        at: Utc::now(),
        detail: checks
            .iter()
            .filter(|c| !c.1)
            .map(|c| format!("{}: {}", c.0, c.2))
            .collect::<Vec<_>>()
            .join("; "),
    };
    manifest.verifications.push(verification.clone());
    manifest.verification = Some(verification);
    store.write_manifest(&manifest)?;
    Ok(VerifyReport {
        id: id.to_string(),
        level,
        ok,
        checks,
    })
}

async fn run_blocking(
    store: &dyn BackupStore,
    id: &str,
    command: std::process::Command,
    progress: Option<&Progress>,
) -> anyhow::Result<(String, Vec<u8>, std::process::ExitStatus, Vec<u8>)> {
    // The store is borrowed: run on this thread, inside block_in_place so the runtime keeps serving others.
    tokio::task::block_in_place(|| pipe_to_restore(store, id, command, progress))
}

/// L3: restore into a fresh scratch database and compare every table's row count and the migration head.
async fn verify_by_restore(
    store: &dyn BackupStore,
    manifest: &Manifest,
    server_url: &str,
    tools: &PgTools,
    progress: Option<&Progress>,
) -> anyhow::Result<Vec<(String, bool, String)>> {
    let scratch = format!(
        "vivr_verify_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let (mut admin, _, _) = connect(server_url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE \"{scratch}\""
    )))
    .execute(&mut admin)
    .await
    .context("creating the scratch database (the role needs CREATEDB)")?;
    let result = async {
        let env = PgEnv::from_url(server_url)?.with_database(&scratch);
        let mut command = tools.command("pg_restore");
        env.apply(&mut command);
        command.args([
            "--dbname",
            &scratch,
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
        ]);
        let (sha, _, status, stderr) = run_blocking(store, &manifest.id, command, progress).await?;
        let mut checks = vec![
            ("sha256".to_string(), sha == manifest.sha256, sha),
            (
                "restore into a scratch database".to_string(),
                status.success(),
                pgtools::stderr_tail(&stderr),
            ),
        ];
        if status.success() {
            let scratch_url = crate::migrate::url_with_database(server_url, &scratch)?;
            let mut conn = crate::migrate::pg_connect(&scratch_url, "vivr backup verify").await?;
            let counts = pg_row_counts(&mut conn).await?;
            let head = migration_head(&mut conn).await?;
            checks.extend(compare_with_manifest(manifest, &counts, head));
            conn.close().await.ok();
        }
        Ok::<_, anyhow::Error>(checks)
    }
    .await;
    let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{scratch}\" WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
    if let Err(err) = dropped {
        tracing::warn!(error = %err, database = %scratch, "could not drop the scratch database");
    }
    result
}

/// L3's comparison of what a restore holds with what the manifest recorded at backup time.
fn compare_with_manifest(
    manifest: &Manifest,
    counts: &RowCounts,
    head: Option<MigrationHead>,
) -> Vec<(String, bool, String)> {
    let differing: Vec<String> = manifest
        .tables
        .iter()
        .filter(|(t, n)| counts.get(*t) != Some(n))
        .map(|(t, n)| format!("{t}: {n} in the backup, {:?} restored", counts.get(t)))
        .collect();
    vec![
        (
            format!("row counts of {} tables", manifest.tables.len()),
            differing.is_empty() && counts.len() == manifest.tables.len(),
            differing.join(", "),
        ),
        (
            "migration head".to_string(),
            head == manifest.migration_head,
            head.map(|h| h.name).unwrap_or_else(|| "none".into()),
        ),
    ]
}

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub id: String,
    pub database: String,
    pub migration_head: Option<MigrationHead>,
    pub tables: usize,
}

/// Restores backup `id` into the database at `target_url`, in one transaction. Checks the object's SHA-256
/// before touching the target; refuses a target that has tables unless `clean`.
pub async fn restore(
    store: &dyn BackupStore,
    id: &str,
    target_url: &str,
    clean: bool,
    tools: &PgTools,
    progress: Option<&Progress>,
) -> anyhow::Result<RestoreReport> {
    let manifest = store.read_manifest(id)?;
    if manifest.object == sqlite::OBJECT {
        if !target_url.starts_with("sqlite:") {
            bail!("backup {id} is of a SQLite database; restore it to a sqlite:// URL");
        }
        let head = sqlite::restore(store, &manifest, target_url, clean).await?;
        return Ok(RestoreReport {
            id: id.to_string(),
            database: crate::migrate::sqlite_file(target_url)
                .display()
                .to_string(),
            migration_head: head,
            tables: manifest.tables.len(),
        });
    }
    let sha = tokio::task::block_in_place(|| store.sha256(id, &manifest.object))?;
    if sha != manifest.sha256 {
        bail!(
            "backup {id} is damaged: its SHA-256 is {sha}, the manifest says {}; nothing was restored",
            manifest.sha256
        );
    }
    let env = PgEnv::from_url(target_url)?;
    let (mut conn, server_major, _) = connect(target_url).await?;
    tools.check_against(server_major)?;
    let existing: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    .fetch_one(&mut conn)
    .await?;
    if existing > 0 && !clean {
        bail!(
            "the target database {} already has {existing} table(s); pass --clean to replace them",
            env.database
        );
    }
    let mut command = tools.command("pg_restore");
    env.apply(&mut command);
    command.args([
        "--dbname",
        &env.database,
        "--exit-on-error",
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
    ]);
    if clean {
        command.args(["--clean", "--if-exists"]);
    }
    let (_, _, status, stderr) = run_blocking(store, id, command, progress).await?;
    if !status.success() {
        bail!(
            "pg_restore failed; the restore ran in one transaction, so the target is as it was: {}",
            pgtools::stderr_tail(&stderr)
        );
    }
    let head = migration_head(&mut conn).await?;
    Ok(RestoreReport {
        id: id.to_string(),
        database: env.database,
        migration_head: head,
        tables: manifest.tables.len(),
    })
}

/// Every complete backup in the store, newest first.
pub fn list(store: &dyn BackupStore) -> anyhow::Result<Vec<Manifest>> {
    let mut manifests: Vec<Manifest> = store
        .ids()?
        .iter()
        .filter_map(|id| store.read_manifest(id).ok())
        .collect();
    manifests.sort_by_key(|m| std::cmp::Reverse(m.started_at));
    Ok(manifests)
}

#[cfg(test)]
mod tests;
