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
    let mut connections = tokio::task::JoinSet::new();
    let accept = |connections: &mut tokio::task::JoinSet<()>,
                  accepted: std::io::Result<(tokio::net::TcpStream, SocketAddr)>| {
        match accepted {
            Ok((stream, peer)) => {
                connections.spawn(serve_connection(app.clone(), stream, peer, stop_rx.clone()));
                // Reap finished connections as we go so the set does not grow with every client.
                while connections.try_join_next().is_some() {}
                true
            }
            Err(err) => {
                // Out of file descriptors and the like: wait a moment instead of spinning.
                tracing::error!(error = %err, "accepting a connection failed");
                false
            }
        }
    };

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                if !accept(&mut connections, accepted) {
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
                    accept(&mut connections, accepted);
                }
                () = &mut deadline => break,
            }
        }
    }
    // Whatever the kernel accepted before now is served, not reset. Accept directly rather than through the
    // reactor, whose readiness may lag behind the kernel's queue.
    let mut backlog = 0usize;
    let listener = listener.into_std()?;
    loop {
        match listener.accept() {
            Ok((stream, peer)) => {
                let stream = stream
                    .set_nonblocking(true)
                    .and_then(|()| tokio::net::TcpStream::from_std(stream));
                if accept(&mut connections, stream.map(|s| (s, peer))) {
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
    drop(listener);
    while connections.try_join_next().is_some() {}
    tracing::info!(
        in_flight = connections.len(),
        from_backlog = backlog,
        "listener closed; finishing requests in flight"
    );

    let timeout = state.config().shutdown_timeout;
    let finished = tokio::time::timeout(timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if finished.is_err() {
        tracing::warn!(
            remaining = connections.len(),
            seconds = timeout.as_secs(),
            "requests still running after the shutdown timeout; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
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
