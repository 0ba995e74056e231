//! A WebSocket as every Palaver connection uses it, whatever it speaks: the upgrade, the
//! socket's limits, the heartbeat, the [`Wire`] that frames are written through, and how
//! a connection ends (one close code and reason from [`Close`] each time).
//!
//! The upgrade is answered here rather than by a WebSocket library so the connection
//! keeps its TCP socket: frames are read by tungstenite (masking, fragments, UTF-8, the
//! size limits, pings), and written as ready-made bytes through the wire, from whichever
//! task has them (see `wire.rs`).

mod ending;
mod heartbeat;
mod wire;

pub use ending::Ending;
pub use heartbeat::{Heartbeat, Liveness};
/// A socket that takes only so much, for tests of what is written.
#[cfg(test)]
pub(crate) use wire::tests::Tank;
pub use wire::{Attention, Socket, Wire, MAX_OUTBOX_BYTES};
pub mod frames {
    //! Server frames as bytes on the wire.
    pub use super::wire::{close, close_with, payload, ping, text};
}

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use palaver_protocol::{Close, MAX_FRAME_BYTES};
use std::{
    io,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};
use tokio_tungstenite::{
    tungstenite::{handshake::derive_accept_key, protocol::Role, protocol::WebSocketConfig, Error as WsError},
    WebSocketStream,
};

/// Bytes read from the socket at a time (tungstenite's default is 128 KiB per
/// connection). Client frames are small; a larger one takes a few reads. Every idle
/// connection keeps this buffer.
const READ_BUFFER_BYTES: usize = 256;
/// How long a closing connection may take to say goodbye to an unresponsive peer: a
/// client closed as too slow must first read what its socket already holds (megabytes)
/// to reach the close frame that says why, and a stalled one may only then resume.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// The frames a connection reads.
pub type Frames = WebSocketStream<Reading>;

/// The limits every connection reads with.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
}

/// An upgrade request checked and answered: the `101` response to send, and the
/// connection that follows it.
pub struct Upgrade {
    on_upgrade: OnUpgrade,
}

impl Upgrade {
    /// Checks that `req` asks for a WebSocket this server speaks, and answers it.
    pub fn answer(req: &mut Request) -> Result<(Upgrade, Response), (StatusCode, &'static str)> {
        let refuse = |status: StatusCode, why: &'static str| Err((status, why));
        if req.method() != Method::GET {
            return refuse(StatusCode::METHOD_NOT_ALLOWED, "a WebSocket upgrade is a GET request\n");
        }
        let headers = req.headers();
        if !has_token(headers, header::CONNECTION, "upgrade") || !has_token(headers, header::UPGRADE, "websocket") {
            return refuse(StatusCode::UPGRADE_REQUIRED, "this address speaks WebSocket: ask for an upgrade\n");
        }
        if headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
            return refuse(StatusCode::BAD_REQUEST, "only WebSocket version 13 is spoken here\n");
        }
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return refuse(StatusCode::BAD_REQUEST, "a WebSocket upgrade needs a Sec-WebSocket-Key\n");
        };
        let accept = derive_accept_key(key.as_bytes());
        let Some(on_upgrade) = req.extensions_mut().remove::<OnUpgrade>() else {
            return refuse(StatusCode::BAD_REQUEST, "this connection cannot be upgraded\n");
        };
        let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
        let out = response.headers_mut();
        out.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        out.insert(header::SEC_WEBSOCKET_ACCEPT, HeaderValue::try_from(accept).expect("base64 is a header value"));
        Ok((Upgrade { on_upgrade }, response))
    }

    /// The connection, once the response has gone out: its socket, or why there is none.
    pub async fn socket(self) -> Result<(TcpStream, Bytes), String> {
        let upgraded = self.on_upgrade.await.map_err(|e| format!("upgrade failed: {e}"))?;
        let parts = upgraded
            .downcast::<TokioIo<TcpStream>>()
            .map_err(|_| "an upgraded connection that is not a TCP socket".to_owned())?;
        // Copied: the bytes share the HTTP connection's whole read buffer, which every
        // idle connection would otherwise keep.
        Ok((parts.io.into_inner(), Bytes::copy_from_slice(&parts.read_buf)))
    }
}

/// Whether a header's comma-separated values include `token` (any case).
fn has_token(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A TCP socket after the upgrade, as a connection uses it: its frames to read, and the
/// wire it writes through. `early` is what the client sent right after its request.
pub async fn open(stream: TcpStream, early: Bytes) -> (Frames, Arc<Wire>) {
    let (read, write) = stream.into_split();
    let wire = Arc::new(Wire::new(write));
    let reading = Reading { read: Box::new(read), early, wire: wire.clone() };
    (WebSocketStream::from_raw_socket(reading, Role::Server, Some(config())).await, wire)
}

/// A connection over any byte stream that reads, and a wire: for tests.
#[cfg(test)]
pub async fn open_with(read: impl AsyncRead + Send + Sync + Unpin + 'static, wire: Arc<Wire>) -> Frames {
    let reading = Reading { read: Box::new(read), early: Bytes::new(), wire };
    WebSocketStream::from_raw_socket(reading, Role::Server, Some(config())).await
}

/// The read side as tungstenite sees it: the socket's bytes (after any the client sent
/// with its request); what tungstenite writes itself (a pong) goes to the wire.
pub struct Reading {
    read: Box<dyn AsyncRead + Send + Sync + Unpin>,
    early: Bytes,
    wire: Arc<Wire>,
}

impl AsyncRead for Reading {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.early.is_empty() {
            let n = self.early.len().min(buf.remaining());
            buf.put_slice(&self.early.split_to(n));
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for Reading {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        // Whole frames: tungstenite hands over everything it has framed at once.
        self.wire.send([Bytes::copy_from_slice(bytes)]);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A read error either ends the connection quietly or earns a close that says why.
pub fn read_failure(e: WsError) -> Ending {
    match e {
        WsError::Capacity(_) => Ending::Close(Close::TooBig),
        WsError::Utf8(_) => Ending::Close(Close::InvalidUtf8),
        other => {
            tracing::debug!("socket error: {other}");
            Ending::Gone
        }
    }
}

/// Says goodbye: a close frame after what is queued (the server's reason, or the answer
/// to the client's own close), unless the socket failed; then the socket closes once the
/// wire is dropped.
pub async fn finish(wire: &Wire, ending: Ending) {
    let goodbye = match ending {
        Ending::Gone => return,
        Ending::Left => wire::close_with(1000, ""),
        Ending::Close(close) => wire::close(close),
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, wire.close(Some(goodbye))).await;
}
