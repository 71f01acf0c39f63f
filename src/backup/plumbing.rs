//! What create, verify and restore share: the source connection, and the pg_restore pipe and its readers.

use std::io::{Read, Write};
use std::process::Stdio;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use super::*;

/// Connects with sqlx for the catalog reads, and says which server it is.
pub(super) async fn connect(url: &str) -> anyhow::Result<(PgConnection, u32, String)> {
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

/// Feeds the decompressed dump to a pg_restore invocation's stdin, while hashing the stored bytes. Returns
/// (sha256 of the stored object, pg_restore's output, pg_restore's exit status).
pub(super) fn pipe_to_restore(
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

pub(super) fn failed_status() -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(1 << 8)
}

pub(super) struct HashingReader<R> {
    pub(super) inner: R,
    pub(super) hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(filled(buf, n));
        Ok(n)
    }
}

pub(super) async fn run_blocking(
    store: &dyn BackupStore,
    id: &str,
    command: std::process::Command,
    progress: Option<&Progress>,
) -> anyhow::Result<(String, Vec<u8>, std::process::ExitStatus, Vec<u8>)> {
    // The store is borrowed: run on this thread, inside block_in_place so the runtime keeps serving others.
    tokio::task::block_in_place(|| pipe_to_restore(store, id, command, progress))
}

pub(super) fn toc_entries(
    store: &dyn BackupStore,
    id: &str,
    tools: &PgTools,
) -> anyhow::Result<u64> {
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
