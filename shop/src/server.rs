//! The HTTP server loop: HTTP/1.1 connections from a TCP listener into the router, with a graceful shutdown
//! that answers every request accepted before the signal.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tower::Service;

use crate::AppState;

/// Serves `app` on `listener` until `shutdown` resolves, then shuts down in three steps:
///
/// 1. **drain** (`ShopConfig::shutdown_drain`, often 0): readiness answers 503 and new connections are still
///    accepted, each serving one request, so a load balancer can take this instance out of rotation;
/// 2. **close**: connections the kernel already completed are taken from the backlog and served, then the
///    listener closes; keep-alive connections finish the request they are on and close;
/// 3. **finish**: requests in flight get up to `ShopConfig::shutdown_timeout` to complete.
///
/// A request that reached the listener before the signal is therefore answered, never reset.
pub async fn serve(
    state: &AppState,
    app: Router,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = Connections {
        app,
        stop: stop_rx,
        running: tokio::task::JoinSet::new(),
    };
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if !connections.take(accepted) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            () = &mut shutdown => break,
        }
    }

    state.begin_shutdown();
    let _ = stop_tx.send(true);
    let drain = state.config().shutdown_drain;
    if !drain.is_zero() {
        tracing::info!(
            seconds = drain.as_secs_f64(),
            "draining: readiness now answers 503"
        );
        let deadline = tokio::time::sleep(drain);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    connections.take(accepted);
                }
                () = &mut deadline => break,
            }
        }
    }
    let backlog = connections.take_backlog(listener)?;
    connections
        .finish(backlog, state.config().shutdown_timeout)
        .await;
    Ok(())
}

/// The connections being served, and what each needs to start.
struct Connections {
    app: Router,
    stop: tokio::sync::watch::Receiver<bool>,
    running: tokio::task::JoinSet<()>,
}

impl Connections {
    /// Serves an accepted connection; false when accepting failed.
    fn take(&mut self, accepted: std::io::Result<(tokio::net::TcpStream, SocketAddr)>) -> bool {
        match accepted {
            Ok((stream, peer)) => {
                self.running.spawn(serve_connection(
                    self.app.clone(),
                    stream,
                    peer,
                    self.stop.clone(),
                ));
                // Reap finished connections as we go so the set does not grow with every client.
                while self.running.try_join_next().is_some() {}
                true
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::error!(error = %err, "accepting a connection failed");
                false
            }
        }
    }

    /// Serves whatever the kernel accepted before now, then closes the listener; returns how many. Accepts
    /// directly rather than through the reactor, whose readiness may lag behind the kernel's queue.
    fn take_backlog(&mut self, listener: TcpListener) -> std::io::Result<usize> {
        let mut backlog = 0usize;
        let listener = listener.into_std()?;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| tokio::net::TcpStream::from_std(stream));
                    if self.take(stream.map(|s| (s, peer))) {
                        backlog += 1;
                    }
                }
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(err) => {
                    tracing::error!(error = %err, "accepting from the backlog failed");
                    break;
                }
            }
        }
        Ok(backlog)
    }

    /// Gives the requests in flight up to `timeout`, then closes what is left.
    async fn finish(mut self, backlog: usize, timeout: Duration) {
        while self.running.try_join_next().is_some() {}
        tracing::info!(
            in_flight = self.running.len(),
            from_backlog = backlog,
            "listener closed; finishing requests in flight"
        );
        let finished = tokio::time::timeout(timeout, async {
            while self.running.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                remaining = self.running.len(),
                seconds = timeout.as_secs(),
                "requests still running after the shutdown timeout; closing them"
            );
            self.running.shutdown().await;
        }
    }
}

/// How long a connection that has not sent a byte yet may take to start its request once shutdown begins.
const FIRST_BYTE_GRACE: Duration = Duration::from_secs(2);

/// One HTTP/1.1 connection. When `stop` turns true the connection finishes the request it is reading or
/// answering and closes (a connection accepted after that serves exactly one request).
///
/// hyper closes a connection that has not read a byte yet the moment it is told to shut down; a client that
/// connected just before the signal would see its request dropped. So a connection still silent at that point
/// gets [`FIRST_BYTE_GRACE`] to send its request before the graceful shutdown applies.
async fn serve_connection(
    app: Router,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(error = %err, "TCP_NODELAY");
    }
    let first_read = Arc::new(FirstRead::default());
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().call(request.map(Body::new))
    });
    let io = ReadTracked {
        inner: stream,
        first_read: first_read.clone(),
    };
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30))
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
            let first_byte = first_read.wait();
            tokio::select! {
                result = connection.as_mut() => result,
                _ = tokio::time::timeout(FIRST_BYTE_GRACE, first_byte) => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        }
    };
    if let Err(err) = result {
        tracing::debug!(error = %err, %peer, "connection ended with an error");
    }
}

/// Whether a connection has received any byte yet.
#[derive(Default)]
struct FirstRead {
    seen: AtomicBool,
    notify: tokio::sync::Notify,
}

impl FirstRead {
    async fn wait(&self) {
        let notified = self.notify.notified();
        if !self.seen.load(Ordering::Acquire) {
            notified.await;
        }
    }
}

/// A TCP stream that records its first received byte in [`FirstRead`].
struct ReadTracked {
    inner: tokio::net::TcpStream,
    first_read: Arc<FirstRead>,
}

impl tokio::io::AsyncRead for ReadTracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before && !self.first_read.seen.swap(true, Ordering::AcqRel) {
            self.first_read.notify.notify_waiters();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for ReadTracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
