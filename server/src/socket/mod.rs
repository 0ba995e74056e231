//! A WebSocket as every Palaver connection uses it, whatever it speaks: the socket's
//! limits, the heartbeat, the outbox of frames waiting to be written, and how a
//! connection ends (one close code and reason from [`Close`] each time).

mod heartbeat;
mod outbox;

pub use heartbeat::{Heartbeat, Liveness};
pub use outbox::{Outbox, MAX_OUTBOX_BYTES};

use app::protocol::{Close, MAX_FRAME_BYTES};
use axum::extract::ws::{CloseFrame, Message, WebSocketUpgrade};
use futures::{Sink, SinkExt};
use std::time::Duration;

/// Bytes read from the socket at a time (tungstenite's default is 128 KiB per
/// connection). Client frames are small; a larger one takes a few reads. Every idle
/// connection keeps this buffer.
const READ_BUFFER_BYTES: usize = 256;
/// Bytes of encoded frames gathered before a write; a flush writes whatever is gathered.
/// The socket's own buffer holds at most this plus one frame: past it, the connection
/// waits for the peer and queues in its [`Outbox`] instead.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// How long a closing connection may take to say goodbye to an unresponsive peer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Sets the socket limits every connection has.
pub fn limited(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client left or the socket failed: nothing more to say.
    Gone,
    /// The server ends it, and says why.
    Close(Close),
}

/// A read error either ends the connection quietly or earns a close that says why.
pub fn read_failure(e: axum::Error) -> Ending {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::Capacity(_)) => Ending::Close(Close::TooBig),
        Ok(WsError::Utf8(_)) => Ending::Close(Close::InvalidUtf8),
        Ok(other) => {
            tracing::debug!("socket error: {other}");
            Ending::Gone
        }
        Err(other) => {
            tracing::debug!("socket error: {other}");
            Ending::Gone
        }
    }
}

/// Writes what is still queued (unless the peer is too slow for it), sends the close
/// frame if the server is the one ending the connection, and closes.
pub async fn finish<S: Sink<Message> + Unpin>(mut socket: S, mut outbox: Outbox, ending: Ending) {
    let goodbye = async {
        if !matches!(ending, Ending::Close(Close::SlowConsumer) | Ending::Gone) {
            let _ = outbox.write(&mut socket).await;
        }
        if let Ending::Close(close) = ending {
            let frame = CloseFrame { code: close.code(), reason: close.reason().into() };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
        let _ = socket.close().await;
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, goodbye).await;
}
