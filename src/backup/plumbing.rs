//! What create, verify and restore share: the source connection, and the pg_restore pipe and its readers.

use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll, ready};

use anyhow::{Context as _, bail};
use async_compression::tokio::bufread::ZstdDecoder;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, ReadBuf};

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

/// What a pg_restore run over a stored dump gave.
pub(super) struct Restored {
    /// SHA-256 of the whole stored object, read through once.
    pub(super) sha256: String,
    pub(super) stdout: Vec<u8>,
    pub(super) status: std::process::ExitStatus,
    pub(super) stderr: Vec<u8>,
}

/// Feeds the decompressed dump to a pg_restore invocation's stdin, while hashing the stored bytes. A dump that
/// does not decompress is reported as pg_restore's failure, with the reason at the end of its stderr.
pub(super) async fn pipe_to_restore(
    store: &dyn BackupStore,
    id: &str,
    command: std::process::Command,
    progress: Option<&Progress>,
) -> anyhow::Result<Restored> {
    let reader = store.reader(id, OBJECT).await?;
    let mut child = tokio::process::Command::from(command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting pg_restore")?;
    let stdin = child.stdin.take().context("pg_restore stdin")?;
    widen(&stdin);
    let stdout = child.stdout.take().context("pg_restore stdout")?;
    let stderr = child.stderr.take().context("pg_restore stderr")?;
    let mut hasher = Sha256::new();
    let mut hashing = Tap::new(reader, |bytes| hasher.update(bytes));
    let (fed, stdout, mut stderr) = tokio::join!(
        feed(&mut hashing, stdin, progress),
        read_all(stdout),
        read_all(stderr)
    );
    // Hash whatever pg_restore did not need, so the checksum always covers the whole object.
    let _ = tokio::io::copy(&mut hashing, &mut tokio::io::sink()).await;
    drop(hashing);
    let mut status = child.wait().await.context("waiting for pg_restore")?;
    if let Err(e) = fed {
        stderr.extend_from_slice(format!("\nreading the backup: {e}").as_bytes());
        status = failed_status();
    }
    Ok(Restored {
        sha256: hex::encode(hasher.finalize()),
        stdout,
        status,
        stderr,
    })
}

/// Decompresses `stored` into pg_restore's stdin, closing it at the end. pg_restore may stop reading early (a
/// listing needs only the header): that is not an error.
async fn feed(
    stored: &mut (impl AsyncRead + Unpin),
    mut stdin: tokio::process::ChildStdin,
    progress: Option<&Progress>,
) -> std::io::Result<()> {
    let mut decoder = ZstdDecoder::new(BufReader::with_capacity(CHUNK, stored));
    let mut buf = vec![0u8; CHUNK];
    let mut fed = 0u64;
    loop {
        let n = decoder.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        fed += n as u64;
        if let Some(report) = progress {
            report(fed);
        }
        match stdin.write_all(filled(&buf, n)).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Lets a pipe to or from pg_dump or pg_restore hold a whole chunk (1 MiB) instead of the kernel's 64 KiB, so
/// streaming a dump takes 16 times fewer wake-ups. Where the kernel refuses (another system, a lower
/// `/proc/sys/fs/pipe-max-size`), the pipe keeps its size.
pub(super) fn widen(pipe: &impl std::os::fd::AsFd) {
    #[cfg(target_os = "linux")]
    if let Err(err) = rustix::pipe::fcntl_setpipe_size(pipe, CHUNK) {
        tracing::debug!(error = %err, "the pipe keeps its default size");
    }
    #[cfg(not(target_os = "linux"))]
    let _ = pipe;
}

/// All a child's output stream says (its end is the child's exit or the stream's failure).
pub(super) async fn read_all(mut stream: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf).await;
    buf
}

pub(super) fn failed_status() -> std::process::ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    std::process::ExitStatus::from_raw(1 << 8)
}

/// Reads through to `inner`, showing every byte read to `seen` (to hash it, or count it).
pub(crate) struct Tap<R, F> {
    inner: R,
    seen: F,
}

impl<R, F: FnMut(&[u8])> Tap<R, F> {
    pub(crate) fn new(inner: R, seen: F) -> Self {
        Tap { inner, seen }
    }
}

impl<R: AsyncRead + Unpin, F: FnMut(&[u8]) + Unpin> AsyncRead for Tap<R, F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        (this.seen)(buf.filled().get(before..).unwrap_or_default());
        Poll::Ready(Ok(()))
    }
}

pub(super) async fn toc_entries(
    store: &dyn BackupStore,
    id: &str,
    tools: &PgTools,
) -> anyhow::Result<u64> {
    let mut command = tools.command("pg_restore");
    command.arg("--list");
    let listed = pipe_to_restore(store, id, command, None).await?;
    if !listed.status.success() {
        bail!(
            "pg_restore --list failed: {}",
            pgtools::stderr_tail(&listed.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
        .count() as u64)
}
