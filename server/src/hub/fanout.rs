//! A room's fan-out: the frames that go out to its members, each serialized and framed
//! once and shared, the [`Listener`] each member is, and the list of them a room hands
//! its frames to.

use crate::access::Reader;
use bytes::Bytes;
use palaver_protocol::{ChatMessage, Seq, ServerMsg};
use std::sync::{Arc, OnceLock};

/// One frame for a room's members, serialized and framed once and shared.
#[derive(Debug, Clone)]
pub struct Frame {
    /// For stored messages: the number, so a connection can skip what it already has.
    pub seq: Option<Seq>,
    /// The whole WebSocket frame, as chat protocol clients read it.
    pub bytes: Bytes,
    /// The message itself, for members that show it differently (plain clients).
    pub message: Option<Arc<ChatMessage>>,
    /// The message as plain clients read it, framed by the first one that needs it.
    plain: OnceLock<Option<Bytes>>,
}

impl Frame {
    pub(super) fn new(seq: Option<Seq>, msg: &ServerMsg, message: Option<Arc<ChatMessage>>) -> Frame {
        Frame { seq, bytes: crate::socket::frames::text(&msg.encode()), message, plain: OnceLock::new() }
    }

    pub(super) fn event(msg: &ServerMsg) -> Frame {
        Frame::new(None, msg, None)
    }

    /// The frame as plain clients read it: made by `make` once, for all of them.
    pub fn plain(&self, make: impl FnOnce(&ChatMessage) -> Option<Bytes>) -> Option<&Bytes> {
        self.plain.get_or_init(|| self.message.as_deref().and_then(make)).as_ref()
    }

    /// The frame's text, as the client reads it.
    pub fn text(&self) -> &str {
        std::str::from_utf8(crate::socket::frames::payload(&self.bytes)).unwrap_or_default()
    }
}

/// Where a room's frames go: one connection's place in the room. Offered every frame
/// the room sends, in order, by the task sending it, so it must not wait.
pub trait Listener: Send + Sync {
    fn offer(&self, frame: &Frame);

    /// Several frames in a row, which should leave in one write.
    fn offer_all(&self, frames: &[Frame]) {
        for frame in frames {
            self.offer(frame);
        }
    }

    /// Whether whoever listens may go on (`may` says of them), once the room's rules
    /// changed; one that may not is offered nothing more, and is told why.
    fn admits(&self, may: &dyn Fn(&Reader) -> bool) -> bool {
        let _ = may;
        true
    }
}

/// A room's listeners.
#[derive(Default)]
pub(super) struct Fanout {
    listeners: Vec<Arc<dyn Listener>>,
    /// While a batch is delivered: its frames, handed over together at the end.
    corked: Option<Vec<Frame>>,
}

impl Fanout {
    pub(super) fn send(&mut self, frame: Frame) {
        match &mut self.corked {
            Some(corked) => corked.push(frame),
            None => self.offer(&frame),
        }
    }

    /// Hands a frame to every listener now. (Events: never part of a batch.)
    pub(super) fn offer(&self, frame: &Frame) {
        for listener in &self.listeners {
            listener.offer(frame);
        }
    }

    /// Whether frames are being gathered (see [`Fanout::cork`]).
    pub(super) fn is_corked(&self) -> bool {
        self.corked.is_some()
    }

    /// Gathers frames until [`Fanout::uncork`].
    pub(super) fn cork(&mut self) {
        self.corked.get_or_insert_with(Vec::new);
    }

    pub(super) fn uncork(&mut self) {
        match self.corked.take().as_deref() {
            None | Some([]) => {}
            Some([frame]) => self.offer(frame),
            Some(frames) => self.listeners.iter().for_each(|l| l.offer_all(frames)),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.listeners.is_empty()
    }

    pub(super) fn add(&mut self, listener: Arc<dyn Listener>) {
        self.listeners.push(listener);
    }

    /// Keeps only the listeners that [`Listener::admits`].
    pub(super) fn retain(&mut self, may: &dyn Fn(&Reader) -> bool) {
        self.listeners.retain(|l| l.admits(may));
    }

    pub(super) fn remove(&mut self, listener: &Arc<dyn Listener>) {
        if let Some(at) = self.listeners.iter().position(|l| Arc::ptr_eq(l, listener)) {
            self.listeners.swap_remove(at);
        }
    }
}
