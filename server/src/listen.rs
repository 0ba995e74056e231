//! The accept loop: HTTP/1.1 connections with a deadline on every request's headers, so
//! a client that opens a connection and never finishes its request (or its upgrade)
//! holds nothing for long. Each request learns its peer's address (for the per-address
//! limits), and shutdown stops accepting, lets requests in flight finish, and returns.

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, Request};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{future::Future, net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, sync::watch};
use tower::ServiceExt;

/// How long a client has to send a request's headers, from the moment the connection
/// opens or the previous response went out.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections the kernel may hold waiting to be accepted (capped by `net.core.somaxconn`):
/// a burst of reconnecting browsers should wait in line, not retry after a second.
const ACCEPT_BACKLOG: u32 = 4096;

/// A listener on `addr` (port 0: any free port) with a deep accept backlog.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Serves `app` until `shutdown` resolves, then waits up to `grace` for requests in
/// flight. Upgraded connections (chat sockets) close themselves on the same
/// shutdown (see `chat/`), not through this loop. Returns when shutdown began.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> tokio::time::Instant {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let (stop, stopped) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // Chat frames are small and already gathered into one write per burst.
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req)
        });
        let connection = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            tokio::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    let began = tokio::time::Instant::now();
    drop(listener);
    let _ = stop.send(());
    drop(stopped);
    if tokio::time::timeout(grace, stop.closed()).await.is_err() {
        tracing::warn!("HTTP requests still in flight after {grace:?}");
    }
    began
}

/// The peer address of a request served by [`serve`].
pub fn peer(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr)
}
