//! What a connection has yet to write, bounded in bytes.
//!
//! A connection task never waits on its socket to take the next frame: it queues frames
//! here and writes them while it goes on reading, so a peer that stops reading cannot
//! stall pings, timeouts or its own departure. Frames are shared bytes (a broadcast is
//! encoded once per room), so the queue costs pointers; its byte count is what the
//! frames would take on the wire. Past [`MAX_OUTBOX_BYTES`] the peer is too slow: the
//! server closes with [`Close::SlowConsumer`], and the client resumes from history.

use super::Ending;
use app::protocol::Close;
use axum::extract::ws::Message;
use futures::Sink;
use std::{
    collections::VecDeque,
    future::poll_fn,
    pin::Pin,
    task::{ready, Poll},
};

/// Bytes a connection may have queued and not yet handed to its socket.
pub const MAX_OUTBOX_BYTES: usize = 1024 * 1024;

pub struct Outbox {
    queue: VecDeque<Message>,
    bytes: usize,
    limit: usize,
    /// Frames were handed to the socket and not yet flushed.
    unflushed: bool,
}

impl Default for Outbox {
    fn default() -> Outbox {
        Outbox::with_limit(MAX_OUTBOX_BYTES)
    }
}

impl Outbox {
    pub fn with_limit(limit: usize) -> Outbox {
        Outbox { queue: VecDeque::new(), bytes: 0, limit, unflushed: false }
    }

    /// Queues frames, or says the peer is too slow to keep: it still has more than the
    /// limit waiting. (One answer may be larger than the limit by itself, like a resume
    /// that replays hundreds of long messages; it is taken whole.)
    pub fn push(&mut self, frames: impl IntoIterator<Item = Message>) -> Result<(), Ending> {
        let backlog = self.bytes;
        for frame in frames {
            self.bytes += wire_len(&frame);
            self.queue.push_back(frame);
        }
        if backlog > self.limit {
            tracing::debug!(bytes = self.bytes, "closing a connection that does not keep up");
            return Err(Ending::Close(Close::SlowConsumer));
        }
        Ok(())
    }

    /// Whether there is anything to write or flush.
    pub fn busy(&self) -> bool {
        !self.queue.is_empty() || self.unflushed
    }

    /// Writes everything queued and flushes once: a burst goes out in as few writes as
    /// the socket allows. Safe to cancel: a frame leaves the queue only when the socket
    /// has taken it.
    pub async fn write<S: Sink<Message> + Unpin>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        poll_fn(|cx| {
            while !self.queue.is_empty() {
                ready!(Pin::new(&mut *sink).poll_ready(cx))?;
                let frame = self.queue.pop_front().expect("checked non-empty");
                self.bytes -= wire_len(&frame);
                self.unflushed = true;
                Pin::new(&mut *sink).start_send(frame)?;
            }
            ready!(Pin::new(&mut *sink).poll_flush(cx))?;
            self.unflushed = false;
            Poll::Ready(Ok(()))
        })
        .await
    }
}

/// The payload bytes a frame carries.
fn wire_len(frame: &Message) -> usize {
    match frame {
        Message::Text(t) => t.as_str().len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(c) => c.as_ref().map_or(0, |c| 2 + c.reason.as_str().len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{channel::mpsc, StreamExt};

    #[tokio::test]
    async fn writes_in_order_and_counts_bytes() {
        let (mut tx, mut rx) = mpsc::channel::<Message>(16);
        let mut outbox = Outbox::with_limit(100);
        outbox.push([Message::text("one"), Message::text("two")]).unwrap();
        assert!(outbox.busy());
        outbox.write(&mut tx).await.unwrap();
        assert!(!outbox.busy());
        assert_eq!(rx.next().await, Some(Message::text("one")));
        assert_eq!(rx.next().await, Some(Message::text("two")));
    }

    #[tokio::test]
    async fn a_peer_that_does_not_read_is_closed_as_slow_past_the_limit() {
        // A socket that takes one frame and then nothing more.
        let (mut tx, _rx) = mpsc::channel::<Message>(0);
        let mut outbox = Outbox::with_limit(10);
        outbox.push([Message::text("12345")]).unwrap();
        let stalled = tokio::time::timeout(std::time::Duration::from_millis(50), async {
            outbox.push([Message::text("a frame larger than the limit is taken whole")]).unwrap();
            outbox.write(&mut tx).await
        })
        .await;
        assert!(stalled.is_err(), "the socket is full, so the write waits");
        assert!(outbox.busy());
        match outbox.push([Message::text("1")]) {
            Err(ending) => assert_eq!(ending, Ending::Close(Close::SlowConsumer)),
            Ok(()) => panic!("past the limit the peer is closed as slow"),
        }
    }
}
