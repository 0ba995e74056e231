//! The accept loop: HTTP/1.1 connections with deadlines on every request's headers and
//! body, so a client that opens a connection and never finishes its request (or its
//! upgrade) holds nothing for long. Before the app sees anything, a connection must be
//! within its address's share of open connections, and each request must name one of
//! the site's hosts. Each request learns its peer's address (for the per-address
//! limits), and shutdown stops accepting, lets requests in flight finish, and returns.

use crate::admission::{HttpConnections, OpenConnection};
use crate::origin::AllowedHosts;
use axum::{
    body::{Body, Bytes},
    extract::ConnectInfo,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    BoxError, Router,
};
use futures::future::Either;
use http_body_util::{LengthLimitError, Limited};
use hyper::{
    body::{Frame, Incoming, SizeHint},
    server::conn::http1,
    Request,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
    time::{Instant, Sleep},
};
use tower::ServiceExt;

/// How long a client has to send a request's headers, from the moment the connection
/// opens or the previous response went out.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client has to send a request's whole body, from the end of its headers.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The most any request's body may hold (a session token is a few hundred bytes), but
/// an upload's (`POST /files`: as large as a file may be, `Door::max_upload`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// How long an upload's body may take (a large file on a slow line).
pub const UPLOAD_READ_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long a connection refused before its first request has to take its answer.
const TURN_AWAY_WITHIN: Duration = Duration::from_secs(1);

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

/// Who may use a connection, checked before the app sees a request.
#[derive(Clone)]
pub struct Door {
    /// Open connections per address.
    pub connections: HttpConnections,
    /// The host names requests may be for.
    pub hosts: Arc<AllowedHosts>,
    /// The most an upload's body may hold: the largest file.
    pub max_upload: u64,
}

/// Serves `app` until `shutdown` resolves, then waits up to `grace` for requests in
/// flight. Upgraded connections (chat sockets) close themselves on the same
/// shutdown (see `chat/`), not through this loop. Returns when shutdown began.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    door: Door,
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
        let held = match door.connections.open(peer.ip()) {
            Ok(held) => held,
            Err(refused) => {
                tokio::spawn(turn_away(stream, refused.response()));
                continue;
            }
        };
        // Chat frames are small and already gathered into one write per burst.
        let _ = stream.set_nodelay(true);
        let (app, hosts, max_upload) = (app.clone(), door.hosts.clone(), door.max_upload);
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            if let Err(misdirected) = hosts.check(req.headers()) {
                return Either::Left(std::future::ready(Ok(misdirected.into_response())));
            }
            let upload = req.method() == hyper::Method::POST && req.uri().path() == "/files";
            let (limit, within) = match upload {
                true => (usize::try_from(max_upload).unwrap_or(usize::MAX), UPLOAD_READ_TIMEOUT),
                false => (MAX_BODY_BYTES, BODY_READ_TIMEOUT),
            };
            let by = Instant::now() + within;
            let mut req = req.map(|body| Body::new(Limited::new(Deadline { body, by, timer: None }, limit)));
            req.extensions_mut().insert(ConnectInfo(peer));
            Either::Right(app.clone().oneshot(req))
        });
        let connection = http.serve_connection(TokioIo::new(stream), service).with_upgrades();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            // Counted until the connection closes or is handed to a chat socket.
            let _held: OpenConnection = held;
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

/// Answers a connection refused before its first request with `response` and closes
/// it. What the client sent is read and dropped until it closes too (for a moment at
/// most), so that closing with unread bytes does not reset the connection before the
/// client reads the answer.
async fn turn_away(mut stream: TcpStream, response: String) {
    let _ = tokio::time::timeout(TURN_AWAY_WITHIN, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 512];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// The peer address of a request served by [`serve`].
pub fn peer(extensions: &axum::http::Extensions) -> Option<SocketAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr)
}

/// A request body that must arrive whole by a deadline: past it, reading it fails with
/// [`LateBody`]. The timer is set only once a read has to wait.
struct Deadline {
    body: Incoming,
    by: Instant,
    timer: Option<Pin<Box<Sleep>>>,
}

/// The body did not arrive within [`BODY_READ_TIMEOUT`].
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", BODY_READ_TIMEOUT.as_secs())]
struct LateBody;

impl hyper::body::Body for Deadline {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        let by = this.by;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(by)));
        timer.as_mut().poll(cx).map(|()| Some(Err(LateBody.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Reads a request's whole body, of at most `limit` bytes, within the body deadline.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyRefused> {
    use hyper::body::Body as _;
    // A declared length past the limit is refused before a byte of it is read.
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyRefused::TooLarge(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(error) = cause {
            if error.is::<LateBody>() {
                return BodyRefused::TooSlow;
            }
            if error.is::<LengthLimitError>() {
                return BodyRefused::TooLarge(limit);
            }
            cause = error.source();
        }
        tracing::debug!("a request body could not be read: {e}");
        BodyRefused::Broken
    })
}

/// Why a request's body was not read: answered with a status and a message, and the
/// connection closed (what is left of the body is never read).
#[derive(Debug, PartialEq)]
pub enum BodyRefused {
    TooLarge(usize),
    TooSlow,
    Broken,
}

impl IntoResponse for BodyRefused {
    fn into_response(self) -> Response {
        let (status, why) = match self {
            BodyRefused::TooLarge(limit) => {
                (StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is too large (at most {limit} bytes)\n"))
            }
            BodyRefused::TooSlow => (StatusCode::REQUEST_TIMEOUT, format!("{LateBody}; send it faster\n")),
            BodyRefused::Broken => (StatusCode::BAD_REQUEST, "the request body could not be read\n".to_owned()),
        };
        let mut response = (status, why).into_response();
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    }
}
