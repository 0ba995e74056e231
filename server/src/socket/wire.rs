//! A connection's write side: the bytes of whole WebSocket frames, written by whoever
//! has them.
//!
//! A room hands each of its members the same frame bytes (framed once for the room),
//! and they go straight to the member's socket from the fan-out (`try_write`, which
//! never waits) while nothing else is waiting for that socket. Only what the socket
//! does not take at once is queued; the connection's task is woken to write the queue
//! as the socket drains, many frames to one `writev`. So a connection that keeps up
//! costs one system call per delivery and no task wake-up, and one that falls behind
//! has its frames gathered. The queue is bounded in bytes: past [`MAX_OUTBOX_BYTES`]
//! the peer is too slow, and the server closes with [`Close::SlowConsumer`] (the client
//! resumes from history).

use super::ending::Ending;
use bytes::Bytes;
use palaver_protocol::Close;
use std::{
    collections::VecDeque,
    io::{self, IoSlice},
    sync::{Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

/// Bytes a connection may have queued and not yet handed to its socket.
pub const MAX_OUTBOX_BYTES: usize = 1024 * 1024;
/// Most frames handed to one `writev`.
const MAX_SLICES: usize = 64;

/// Where a wire's bytes go: a socket that takes what it can without waiting, and says
/// when it can take more.
pub trait Socket: Send + Sync + 'static {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl Socket for tokio::net::tcp::OwnedWriteHalf {
    fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        tokio::net::tcp::OwnedWriteHalf::try_write(self, buf)
    }

    fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        tokio::net::tcp::OwnedWriteHalf::try_write_vectored(self, bufs)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let stream: &tokio::net::TcpStream = self.as_ref();
        stream.poll_write_ready(cx)
    }
}

/// What a connection's task is woken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// The connection is over (the socket failed, or the peer is too slow).
    End(Ending),
    /// One of its rooms has frames to catch up from the store.
    Behind,
}

/// A connection's write side, shared by its task and the rooms it is in.
pub struct Wire {
    inner: Mutex<Inner>,
}

struct Inner {
    socket: Box<dyn Socket>,
    /// Frames not yet written, oldest first.
    queue: VecDeque<Bytes>,
    /// How much of the oldest frame is already written.
    written: usize,
    /// Bytes in the queue, not yet written.
    bytes: usize,
    limit: usize,
    /// Set once the connection cannot go on.
    trouble: Option<Ending>,
    /// A room asked for a catch-up from the store.
    behind: bool,
    /// The close frame is queued: nothing more goes after it.
    closed: bool,
    /// Holds in place ([`Wire::hold`]): what is handed over waits until the last ends.
    held: usize,
    /// The connection's task, while it waits.
    task: Option<Waker>,
}

impl Wire {
    pub fn new(socket: impl Socket) -> Wire {
        Wire::with_limit(socket, MAX_OUTBOX_BYTES)
    }

    pub fn with_limit(socket: impl Socket, limit: usize) -> Wire {
        Wire {
            inner: Mutex::new(Inner {
                socket: Box::new(socket),
                queue: VecDeque::new(),
                written: 0,
                bytes: 0,
                limit,
                trouble: None,
                behind: false,
                closed: false,
                held: 0,
                task: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every critical section leaves the queue whole.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands whole frames over: written at once if nothing waits and the socket takes
    /// them, else queued for the connection's task. (One answer may be larger than the
    /// limit by itself, like a resume that replays hundreds of long messages; it is
    /// taken whole: the peer is too slow only while more than the limit is waiting.)
    pub fn send(&self, frames: impl IntoIterator<Item = Bytes>) {
        let mut frames = frames.into_iter().peekable();
        if frames.peek().is_none() {
            return;
        }
        let mut inner = self.lock();
        if inner.trouble.is_some() || inner.closed {
            return;
        }
        let (backlog, was_empty) = (inner.bytes, inner.queue.is_empty());
        for frame in frames {
            inner.bytes += frame.len();
            inner.queue.push_back(frame);
        }
        if inner.held > 0 {
            // Written, with what follows, on release.
        } else if was_empty {
            inner.write_now();
        } else if backlog > inner.limit {
            tracing::debug!(bytes = inner.bytes, "closing a connection that does not keep up");
            inner.fail(Ending::Close(Close::SlowConsumer));
        }
        if (was_empty && inner.held == 0 && !inner.queue.is_empty()) || inner.trouble.is_some() {
            inner.wake();
        }
    }

    /// Holds what is handed over from now on, to go out in one write with what follows
    /// until [`Wire::release`]. Holds nest; they are meant to be brief (one commit's
    /// frames and answers), so they do not count against the limit.
    pub fn hold(&self) {
        self.lock().held += 1;
    }

    /// Ends a [`Wire::hold`]: at the last, what was held is written (what the socket
    /// does not take is left to the connection's task, as with [`Wire::send`]).
    pub fn release(&self) {
        let mut inner = self.lock();
        inner.held = inner.held.saturating_sub(1);
        if inner.held > 0 || inner.queue.is_empty() || inner.trouble.is_some() {
            return;
        }
        inner.write_now();
        if !inner.queue.is_empty() || inner.trouble.is_some() {
            inner.wake();
        }
    }

    /// Hands one frame over (see [`Wire::send`]). The usual case of a connection that
    /// keeps up, so the queue is skipped when the socket takes the frame whole.
    pub fn send_one(&self, frame: Bytes) {
        let mut inner = self.lock();
        if inner.queue.is_empty() && inner.trouble.is_none() && !inner.closed && inner.held == 0 {
            match inner.socket.try_write(&frame) {
                Ok(n) if n == frame.len() => return,
                Ok(0) => {}
                Ok(n) => {
                    inner.bytes += frame.len();
                    inner.queue.push_back(frame);
                    inner.advance(n);
                    inner.wake();
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {}
            }
        }
        drop(inner);
        self.send(std::iter::once(frame));
    }

    /// Ends the connection from outside its task (its session ended): what is queued is
    /// dropped and `close` is its last frame.
    pub fn end(&self, close: palaver_protocol::Close) {
        let mut inner = self.lock();
        if inner.trouble.is_none() && !inner.closed {
            inner.trouble = Some(Ending::Close(close));
            inner.wake();
        }
    }

    /// Asks the connection's task to catch a room up.
    pub fn fall_behind(&self) {
        let mut inner = self.lock();
        inner.behind = true;
        inner.wake();
    }

    /// Writes the queue as the socket takes it; ready when the connection's task has
    /// something else to do: it is over, or behind in a room.
    pub fn poll_attention(&self, cx: &mut Context<'_>) -> Poll<Attention> {
        let mut inner = self.lock();
        // Pending or not, the socket wakes the task when it takes more.
        let _ = inner.drain(cx);
        if let Some(ending) = inner.trouble {
            return Poll::Ready(Attention::End(ending));
        }
        if std::mem::take(&mut inner.behind) {
            return Poll::Ready(Attention::Behind);
        }
        inner.wait(cx);
        Poll::Pending
    }

    /// What [`Wire::poll_attention`] will be ready with.
    pub async fn attention(&self) -> Attention {
        std::future::poll_fn(|cx| self.poll_attention(cx)).await
    }

    /// The last frames: `goodbye` (a close frame) after whatever is queued, unless the
    /// peer is too slow for the queue; nothing is sent after it. Returns once written,
    /// or once the socket fails.
    pub async fn close(&self, goodbye: Option<Bytes>) {
        {
            let mut inner = self.lock();
            if inner.trouble == Some(Ending::Gone) {
                return;
            }
            if inner.trouble.is_some() {
                // Too slow: what is waiting is dropped, bar a frame already begun.
                let begun = (inner.written > 0).then(|| inner.queue.pop_front()).flatten();
                inner.queue.clear();
                inner.bytes = begun.as_ref().map_or(0, |f| f.len() - inner.written);
                inner.queue.extend(begun);
                inner.trouble = None;
            }
            if let Some(frame) = goodbye {
                inner.bytes += frame.len();
                inner.queue.push_back(frame);
            }
            inner.closed = true;
        }
        std::future::poll_fn(|cx| self.lock().drain(cx)).await
    }
}

impl Inner {
    /// Writes what the socket takes now, without waiting.
    fn write_now(&mut self) {
        while !self.queue.is_empty() && self.trouble.is_none() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let mut count = 0;
            for (i, frame) in self.queue.iter().take(MAX_SLICES).enumerate() {
                let skip = if i == 0 { self.written } else { 0 };
                slices[i] = IoSlice::new(&frame[skip..]);
                count += 1;
            }
            // One frame (the usual case when keeping up): a plain `write`.
            let written = match count {
                1 => self.socket.try_write(&slices[0]),
                _ => self.socket.try_write_vectored(&slices[..count]),
            };
            match written {
                Ok(0) => self.fail(Ending::Gone),
                Ok(n) => self.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::debug!("socket error: {e}");
                    self.fail(Ending::Gone);
                }
            }
        }
    }

    /// Writes the queue until it is empty (ready) or the socket is full (pending: the
    /// socket wakes the task when it takes more). Ready too once it failed.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            self.write_now();
            if self.queue.is_empty() || self.trouble == Some(Ending::Gone) {
                return Poll::Ready(());
            }
            match self.socket.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => continue,
                Poll::Ready(Err(_)) => self.fail(Ending::Gone),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Takes `n` written bytes off the front of the queue.
    fn advance(&mut self, mut n: usize) {
        self.bytes -= n;
        while n > 0 {
            let Some(front) = self.queue.front() else { return };
            let left = front.len() - self.written;
            if n < left {
                self.written += n;
                return;
            }
            n -= left;
            self.written = 0;
            self.queue.pop_front();
        }
    }

    fn fail(&mut self, ending: Ending) {
        if self.trouble != Some(Ending::Gone) {
            self.trouble = Some(ending);
        }
        if ending == Ending::Gone {
            self.queue.clear();
            self.bytes = 0;
            self.written = 0;
        }
    }

    fn wait(&mut self, cx: &mut Context<'_>) {
        match &self.task {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => self.task = Some(cx.waker().clone()),
        }
    }

    fn wake(&mut self) {
        if let Some(waker) = self.task.take() {
            waker.wake();
        }
    }
}

/// A server frame (never masked) carrying `payload`, with opcode `opcode`.
pub fn frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out.into()
}

/// What a frame made here carries.
pub fn payload(frame: &[u8]) -> &[u8] {
    let start = match frame.get(1).map(|b| b & 0x7f) {
        Some(126) => 4,
        Some(127) => 10,
        _ => 2,
    };
    frame.get(start..).unwrap_or_default()
}

/// A text frame.
pub fn text(payload: &str) -> Bytes {
    frame(0x1, payload.as_bytes())
}

/// A ping with nothing in it.
pub fn ping() -> Bytes {
    frame(0x9, &[])
}

/// A close frame with `close`'s code and reason.
pub fn close(close: Close) -> Bytes {
    close_with(close.code(), close.reason())
}

/// A close frame with a code and reason.
pub fn close_with(code: u16, reason: &str) -> Bytes {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    frame(0x8, &payload)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    /// What it took, how much more it takes, who waits for room, and how many writes
    /// it took it in.
    type TankState = (Vec<u8>, usize, Option<Waker>, usize);

    /// A socket that takes up to `room` bytes, then nothing until given more room.
    #[derive(Clone, Default)]
    pub(crate) struct Tank(Arc<Mutex<TankState>>);

    impl Tank {
        pub(crate) fn with_room(room: usize) -> Tank {
            let tank = Tank::default();
            tank.0.lock().unwrap().1 = room;
            tank
        }
        fn make_room(&self, more: usize) {
            let mut t = self.0.lock().unwrap();
            t.1 += more;
            if let Some(w) = t.2.take() {
                w.wake();
            }
        }
        pub(crate) fn taken(&self) -> Vec<u8> {
            self.0.lock().unwrap().0.clone()
        }
        pub(crate) fn writes(&self) -> usize {
            self.0.lock().unwrap().3
        }
    }

    impl Socket for Tank {
        fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
            self.try_write_vectored(&[IoSlice::new(buf)])
        }
        fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            let mut t = self.0.lock().unwrap();
            if t.1 == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            t.3 += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(t.1);
                t.0.extend_from_slice(&b[..take]);
                t.1 -= take;
                n += take;
                if t.1 == 0 {
                    break;
                }
            }
            Ok(n)
        }
        fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let mut t = self.0.lock().unwrap();
            if t.1 > 0 {
                Poll::Ready(Ok(()))
            } else {
                t.2 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    #[test]
    fn frames_are_framed_as_the_protocol_says() {
        assert_eq!(&text("hi")[..], b"\x81\x02hi");
        assert_eq!(&text(&"x".repeat(200))[..4], b"\x81\x7e\x00\xc8");
        assert_eq!(&frame(0x1, &vec![0; 70_000])[..10], b"\x81\x7f\x00\x00\x00\x00\x00\x01\x11\x70");
        assert_eq!(&close(Close::SlowConsumer)[..4], &[0x88, 2 + Close::SlowConsumer.reason().len() as u8, 0x0f, 0xa8]);
    }

    #[test]
    fn what_is_handed_over_while_held_leaves_in_one_write_when_the_last_hold_ends() {
        let tank = Tank::with_room(1000);
        let wire = Wire::new(tank.clone());
        wire.hold();
        wire.send_one(Bytes::from_static(b"own message,"));
        wire.hold();
        wire.send([Bytes::from_static(b"ack,")]);
        wire.release();
        assert_eq!(tank.taken(), b"", "nothing leaves while a hold is left");
        wire.send([Bytes::from_static(b"another")]);
        wire.release();
        assert_eq!(tank.taken(), b"own message,ack,another", "in the order handed over");
        assert_eq!(tank.writes(), 1, "in one write");
        wire.send_one(Bytes::from_static(b"!"));
        assert_eq!((tank.taken().last(), tank.writes()), (Some(&b'!'), 2), "unheld, written at once");
    }

    #[tokio::test]
    async fn a_socket_with_room_takes_frames_at_once_and_a_full_one_gets_them_in_order_later() {
        let tank = Tank::with_room(7);
        let wire = Arc::new(Wire::new(tank.clone()));
        wire.send([Bytes::from_static(b"abc"), Bytes::from_static(b"defgh")]);
        assert_eq!(tank.taken(), b"abcdefg", "what fits is written by the sender, the rest waits");
        wire.send_one(Bytes::from_static(b"ij"));
        assert_eq!(tank.taken(), b"abcdefg", "behind what waits, never ahead of it");
        let alone = Tank::with_room(2);
        let wire_alone = Wire::new(alone.clone());
        wire_alone.send_one(Bytes::from_static(b"xyz"));
        wire_alone.send_one(Bytes::from_static(b"!"));
        alone.make_room(10);
        futures::future::poll_fn(|cx| {
            let _ = wire_alone.poll_attention(cx);
            std::task::Poll::Ready(())
        })
        .await;
        assert_eq!(alone.taken(), b"xyz!", "the rest of a frame begun, then the next");
        let task = tokio::spawn({
            let wire = wire.clone();
            async move { wire.attention().await }
        });
        tokio::task::yield_now().await;
        tank.make_room(100);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(tank.taken(), b"abcdefghij");
        assert!(!task.is_finished(), "nothing to attend to once written");
        wire.fall_behind();
        assert_eq!(task.await.unwrap(), Attention::Behind);
    }

    #[tokio::test]
    async fn a_peer_that_does_not_read_is_closed_as_slow_past_the_limit_and_gets_the_close() {
        let tank = Tank::with_room(0);
        let wire = Wire::with_limit(tank.clone(), 10);
        wire.send([Bytes::from_static(b"12345")]);
        wire.send([Bytes::from(vec![b'x'; 20])]);
        let pending = futures::FutureExt::now_or_never(wire.attention());
        assert_eq!(pending, None, "a frame larger than the limit is taken whole");
        wire.send([Bytes::from_static(b"1")]);
        assert_eq!(wire.attention().await, Attention::End(Ending::Close(Close::SlowConsumer)));
        tank.make_room(100);
        wire.close(Some(close(Close::SlowConsumer))).await;
        assert_eq!(tank.taken(), &close(Close::SlowConsumer)[..], "the backlog is dropped, the close goes out");
        wire.send([Bytes::from_static(b"late")]);
        assert_eq!(tank.taken(), &close(Close::SlowConsumer)[..], "nothing after the close");
    }
}
