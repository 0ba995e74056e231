//! The chat as one browser sees it: the timeline of messages (confirmed and still
//! pending), the connection status, and the handle components use to send.
//!
//! `Timeline` is plain data so its rules are tested without a browser; `Chat` wraps it
//! in signals for the components and the socket task.

use crate::protocol::{ChatMessage, ClientMsgId, Seq, ServerMsg};
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use leptos::prelude::*;

/// Where one of this browser's own messages stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Shown at once, not yet accepted by the server.
    Pending,
    /// Accepted by the server and numbered.
    Sent,
    /// Refused by the server; kept visible with the reason so it can be retried.
    Failed(String),
}

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub id: ClientMsgId,
    pub seq: Option<Seq>,
    pub text: String,
    pub sent_at: Option<i64>,
    /// `None` for other people's messages.
    pub delivery: Option<Delivery>,
}

/// Confirmed messages in server order, then this browser's unconfirmed ones in the
/// order they were typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    confirmed: Vec<Entry>,
    unconfirmed: Vec<Entry>,
    /// True when the server said messages before the ones shown could not be replayed.
    gap: bool,
}

impl Timeline {
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.confirmed.iter().chain(self.unconfirmed.iter())
    }

    /// The highest sequence number seen: what a reconnecting client resumes after.
    pub fn last_seq(&self) -> Option<Seq> {
        self.confirmed.last().and_then(|e| e.seq)
    }

    /// Whether messages were lost from view (the server could not replay them).
    pub fn has_gap(&self) -> bool {
        self.gap
    }

    /// This browser's messages that still need the server: what to (re)send.
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.unconfirmed.iter().filter(|e| e.delivery == Some(Delivery::Pending))
    }

    pub fn push_pending(&mut self, id: ClientMsgId, text: String) {
        self.unconfirmed.push(Entry { id, seq: None, text, sent_at: None, delivery: Some(Delivery::Pending) });
    }

    /// Marks a failed message pending again; true if there was one to retry.
    pub fn retry(&mut self, id: &ClientMsgId) -> bool {
        match self.unconfirmed.iter_mut().find(|e| &e.id == id) {
            Some(entry) if matches!(entry.delivery, Some(Delivery::Failed(_))) => {
                entry.delivery = Some(Delivery::Pending);
                true
            }
            _ => false,
        }
    }

    /// Folds one server frame into the timeline.
    pub fn apply(&mut self, msg: ServerMsg) {
        match msg {
            ServerMsg::History { messages, complete } => {
                if !complete {
                    // Older messages are gone: what we show would have a hole in it.
                    self.confirmed.clear();
                    self.gap = true;
                }
                for m in messages {
                    self.confirm(m);
                }
            }
            ServerMsg::Message(m) => self.confirm(m),
            ServerMsg::Ack { id, seq } => {
                if let Some(entry) = self.unconfirmed.iter_mut().find(|e| e.id == id) {
                    entry.seq = Some(seq);
                    entry.delivery = Some(Delivery::Sent);
                }
            }
            ServerMsg::Error { detail, id: Some(id), .. } => {
                if let Some(entry) = self.unconfirmed.iter_mut().find(|e| e.id == id) {
                    entry.delivery = Some(Delivery::Failed(detail));
                }
            }
            ServerMsg::Error { .. } => {}
        }
    }

    fn confirm(&mut self, m: ChatMessage) {
        if self.confirmed.iter().rev().any(|e| e.seq == Some(m.seq)) {
            return;
        }
        let delivery = match self.unconfirmed.iter().position(|e| e.id == m.id) {
            Some(i) => {
                self.unconfirmed.remove(i);
                Some(Delivery::Sent)
            }
            None => None,
        };
        let entry = Entry { id: m.id, seq: Some(m.seq), text: m.text, sent_at: Some(m.sent_at), delivery };
        // Frames arrive in order, so this is nearly always a push.
        let at = self.confirmed.partition_point(|e| e.seq < entry.seq);
        self.confirmed.insert(at, entry);
    }
}

/// What the user sees of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    Reconnecting,
}

impl ConnectionStatus {
    pub fn label(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "Connecting…",
            ConnectionStatus::Connected => "Connected",
            ConnectionStatus::Reconnecting => "Reconnecting…",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Reconnecting => "reconnecting",
        }
    }
}

/// The chat's reactive state, shared by the components (through context) and the
/// socket task that the front end starts.
#[derive(Clone, Copy)]
pub struct Chat {
    pub timeline: RwSignal<Timeline>,
    pub status: RwSignal<ConnectionStatus>,
    /// Wakes the socket task when there is something new to send.
    outbox: StoredValue<UnboundedSender<ClientMsgId>>,
}

/// The socket task's end of the chat: the state to update, and the wake-ups.
pub struct ChatLink {
    pub chat: Chat,
    pub wakeups: UnboundedReceiver<ClientMsgId>,
}

impl Chat {
    pub fn new() -> (Chat, ChatLink) {
        let (tx, rx) = unbounded();
        let chat = Chat {
            timeline: RwSignal::new(Timeline::default()),
            status: RwSignal::new(ConnectionStatus::Connecting),
            outbox: StoredValue::new(tx),
        };
        (chat, ChatLink { chat, wakeups: rx })
    }

    /// Shows the message at once as pending and hands it to the socket task.
    pub fn send(&self, id: ClientMsgId, text: String) {
        self.timeline.update(|t| t.push_pending(id.clone(), text));
        self.wake(id);
    }

    pub fn retry(&self, id: ClientMsgId) {
        if self.timeline.try_update(|t| t.retry(&id)).unwrap_or(false) {
            self.wake(id);
        }
    }

    fn wake(&self, id: ClientMsgId) {
        // Fails only when no socket task runs (server rendering): nothing to wake.
        self.outbox.with_value(|tx| {
            let _ = tx.unbounded_send(id);
        });
    }
}

/// A fresh id for an outgoing message: time plus randomness, unique per browser.
pub fn new_message_id() -> ClientMsgId {
    #[cfg(feature = "hydrate")]
    let (now, noise) = (js_sys::Date::now() as u64, (js_sys::Math::random() * 4_294_967_296.0) as u64);
    #[cfg(not(feature = "hydrate"))]
    let (now, noise) = {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        (now, COUNTER.fetch_add(1, Ordering::Relaxed))
    };
    ClientMsgId(format!("{now:x}-{noise:x}"))
}

/// "HH:MM" of a server timestamp: the reader's local time in the browser, UTC elsewhere.
pub fn format_time(unix_ms: i64) -> String {
    #[cfg(feature = "hydrate")]
    let (h, m) = {
        let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64));
        (d.get_hours() as i64, d.get_minutes() as i64)
    };
    #[cfg(not(feature = "hydrate"))]
    let (h, m) = {
        let minutes = unix_ms.div_euclid(60_000);
        (minutes.div_euclid(60).rem_euclid(24), minutes.rem_euclid(60))
    };
    format!("{h:02}:{m:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorReason;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    fn msg(seq: Seq, i: &str, text: &str) -> ChatMessage {
        ChatMessage { seq, id: id(i), text: text.into(), sent_at: 1_000 * seq as i64 }
    }

    fn texts(t: &Timeline) -> Vec<&str> {
        t.entries().map(|e| e.text.as_str()).collect()
    }

    #[test]
    fn own_message_is_pending_then_sent_whichever_comes_first() {
        for ack_first in [true, false] {
            let mut t = Timeline::default();
            t.apply(ServerMsg::History { messages: vec![msg(1, "o", "old")], complete: true });
            t.push_pending(id("m"), "mine".into());
            assert_eq!(t.pending().count(), 1);
            let ack = ServerMsg::Ack { id: id("m"), seq: 2 };
            let broadcast = ServerMsg::Message(msg(2, "m", "mine"));
            if ack_first {
                t.apply(ack);
                t.apply(broadcast);
            } else {
                t.apply(broadcast);
                t.apply(ack);
            }
            assert_eq!(texts(&t), ["old", "mine"]);
            assert_eq!(t.pending().count(), 0);
            let mine: Vec<_> = t.entries().filter(|e| e.id == id("m")).collect();
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].delivery, Some(Delivery::Sent));
            assert_eq!(t.last_seq(), Some(2));
        }
    }

    #[test]
    fn times_read_as_hours_and_minutes() {
        // 2023-11-14 22:13:20 UTC
        assert_eq!(format_time(1_700_000_000_000), "22:13");
        assert_eq!(format_time(0), "00:00");
    }

    #[test]
    fn message_ids_differ() {
        assert_ne!(new_message_id(), new_message_id());
    }

    #[test]
    fn pending_messages_stay_below_confirmed_ones() {
        let mut t = Timeline::default();
        t.push_pending(id("m"), "mine".into());
        t.apply(ServerMsg::Message(msg(1, "x", "theirs")));
        assert_eq!(texts(&t), ["theirs", "mine"]);
    }

    #[test]
    fn replayed_messages_are_not_shown_twice() {
        let mut t = Timeline::default();
        t.apply(ServerMsg::History { messages: vec![msg(1, "a", "one"), msg(2, "b", "two")], complete: true });
        t.apply(ServerMsg::History { messages: vec![msg(2, "b", "two"), msg(3, "c", "three")], complete: true });
        assert_eq!(texts(&t), ["one", "two", "three"]);
        assert!(!t.has_gap());
    }

    #[test]
    fn refused_message_fails_and_can_be_retried() {
        let mut t = Timeline::default();
        t.push_pending(id("m"), "x".into());
        t.apply(ServerMsg::Error { reason: ErrorReason::TextTooLong, detail: "too long".into(), id: Some(id("m")) });
        assert_eq!(t.entries().next().unwrap().delivery, Some(Delivery::Failed("too long".into())));
        assert_eq!(t.pending().count(), 0);
        assert!(t.retry(&id("m")));
        assert_eq!(t.pending().count(), 1);
        assert!(!t.retry(&id("m")), "a pending message is not retried twice");
    }

    #[test]
    fn an_incomplete_history_replaces_what_was_shown() {
        let mut t = Timeline::default();
        t.apply(ServerMsg::History { messages: vec![msg(1, "a", "one")], complete: true });
        t.apply(ServerMsg::History { messages: vec![msg(90, "z", "ninety")], complete: false });
        assert_eq!(texts(&t), ["ninety"]);
        assert!(t.has_gap());
    }
}
