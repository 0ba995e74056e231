//! The hub: numbers every accepted message, keeps the recent ones for replay, and fans
//! each one out to every connection as one frame serialized once.
//!
//! A connection that falls more than [`LIVE_QUEUE`] messages behind the live feed is
//! never skipped silently: it catches up from the replay backlog, and if even that no
//! longer holds what it missed it is closed with [`app::protocol::CLOSE_SLOW_CONSUMER`].

use app::protocol::{ChatMessage, ClientMsgId, Seq, ServerMsg, RECENT_ON_CONNECT};
use axum::extract::ws::Utf8Bytes;
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tokio::sync::{broadcast, watch, Notify};

/// How many accepted messages stay in memory for replay to reconnecting clients.
pub const BACKLOG_LEN: usize = 1024;
/// How many messages a connection may fall behind the live broadcast before it has to
/// catch up from the backlog instead.
pub const LIVE_QUEUE: usize = 256;

/// A message ready to go out: its number and its frame, shared by every recipient.
#[derive(Debug, Clone)]
pub struct Posted {
    pub seq: Seq,
    pub frame: Utf8Bytes,
}

/// What became of a posted message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    /// New: numbered and broadcast.
    Accepted(Seq),
    /// The same client message id was accepted before, as this number; not broadcast again.
    Duplicate(Seq),
}

impl PostOutcome {
    pub fn seq(self) -> Seq {
        match self {
            PostOutcome::Accepted(s) | PostOutcome::Duplicate(s) => s,
        }
    }
}

pub struct Hub {
    state: Mutex<State>,
    live: broadcast::Sender<Posted>,
    shutdown: watch::Sender<bool>,
    open: Arc<OpenConnections>,
}

struct State {
    next_seq: Seq,
    backlog: VecDeque<ChatMessage>,
    /// Client ids of the messages in the backlog, for deduplicating resends.
    seen: HashMap<ClientMsgId, Seq>,
}

impl State {
    fn recent(&self, n: usize) -> Vec<ChatMessage> {
        self.backlog.iter().skip(self.backlog.len().saturating_sub(n)).cloned().collect()
    }

    fn after(&self, after: Seq) -> Option<Vec<ChatMessage>> {
        let oldest_kept = self.backlog.front().map_or(self.next_seq, |m| m.seq);
        if after >= self.next_seq || after + 1 < oldest_kept {
            return None;
        }
        // Numbers are contiguous in the backlog, so the position is arithmetic.
        let skip = (after + 1 - oldest_kept) as usize;
        Some(self.backlog.iter().skip(skip).cloned().collect())
    }
}

#[derive(Default)]
struct OpenConnections {
    count: AtomicUsize,
    closed: Notify,
}

/// Held by each live connection; counts it as open until dropped.
pub struct ConnectionGuard(Arc<OpenConnections>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.closed.notify_waiters();
        }
    }
}

/// A new connection's starting point: what it missed, and the live feed from there on.
pub struct Subscription {
    pub history: ServerMsg,
    /// The newest message number when the feed started: `live` brings what follows it.
    pub newest: Seq,
    pub live: broadcast::Receiver<Posted>,
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            state: Mutex::new(State {
                next_seq: 1,
                backlog: VecDeque::with_capacity(BACKLOG_LEN),
                seen: HashMap::new(),
            }),
            live: broadcast::channel(LIVE_QUEUE).0,
            shutdown: watch::channel(false).0,
            open: Arc::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement that can panic, so a poisoned
        // lock (a panic elsewhere while holding it) is safe to keep using.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Numbers and broadcasts a message, unless this client id was already accepted.
    pub fn post(&self, id: ClientMsgId, text: String) -> PostOutcome {
        let mut state = self.state();
        if let Some(&seq) = state.seen.get(&id) {
            return PostOutcome::Duplicate(seq);
        }
        let seq = state.next_seq;
        state.next_seq += 1;
        let message = ChatMessage { seq, id, text, sent_at: now_ms() };
        let frame = Utf8Bytes::from(ServerMsg::Message(message.clone()).encode());
        state.seen.insert(message.id.clone(), seq);
        state.backlog.push_back(message);
        if state.backlog.len() > BACKLOG_LEN {
            if let Some(old) = state.backlog.pop_front() {
                state.seen.remove(&old.id);
            }
        }
        // Sent under the lock, so every subscriber sees one order with no gap between
        // its history and its live feed. An error only means nobody is listening.
        let _ = self.live.send(Posted { seq, frame });
        PostOutcome::Accepted(seq)
    }

    /// Starts a connection's feed. `after` is the last number the client has seen, if
    /// it is resuming; a new client gets the most recent messages.
    pub fn subscribe(&self, after: Option<Seq>) -> Subscription {
        let state = self.state();
        let live = self.live.subscribe();
        let newest = state.next_seq - 1;
        let history = match after.map(|after| state.after(after)) {
            None => ServerMsg::History { messages: state.recent(RECENT_ON_CONNECT), complete: true },
            Some(Some(missed)) => ServerMsg::History { messages: missed, complete: true },
            // Too far behind, or a number from before this server started.
            Some(None) => ServerMsg::History { messages: state.recent(RECENT_ON_CONNECT), complete: false },
        };
        Subscription { history, newest, live }
    }

    /// Every kept message after `after`, or `None` if some of them are no longer kept.
    pub fn replay_after(&self, after: Seq) -> Option<Vec<ChatMessage>> {
        self.state().after(after)
    }

    /// Counts a connection as open until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.open.count.fetch_add(1, Ordering::AcqRel);
        ConnectionGuard(self.open.clone())
    }

    pub fn open_connections(&self) -> usize {
        self.open.count.load(Ordering::Acquire)
    }

    /// Tells every connection to close (they send 1001 "going away").
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Resolves when [`Hub::shut_down`] has been called.
    pub fn shutdown_signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|down| *down).await;
        }
    }

    /// Waits for every connection to close, at most `grace`. True if they all did.
    pub async fn wait_until_idle(&self, grace: Duration) -> bool {
        tokio::time::timeout(grace, async {
            loop {
                let closed = self.open.closed.notified();
                if self.open_connections() == 0 {
                    return;
                }
                closed.await;
            }
        })
        .await
        .is_ok()
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> ClientMsgId {
        ClientMsgId(format!("m{n}"))
    }

    fn history(sub: &Subscription) -> (Vec<Seq>, bool) {
        match &sub.history {
            ServerMsg::History { messages, complete } => (messages.iter().map(|m| m.seq).collect(), *complete),
            other => panic!("expected history, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn messages_are_numbered_in_order_and_broadcast_once_serialized() {
        let hub = Hub::new();
        let mut sub = hub.subscribe(None);
        assert_eq!(hub.post(id(1), "a".into()), PostOutcome::Accepted(1));
        assert_eq!(hub.post(id(2), "b".into()), PostOutcome::Accepted(2));
        let first = sub.live.recv().await.unwrap();
        assert_eq!(first.seq, 1);
        match ServerMsg::decode(first.frame.as_str()).unwrap() {
            ServerMsg::Message(m) => assert_eq!((m.seq, m.text.as_str()), (1, "a")),
            other => panic!("{other:?}"),
        }
        assert_eq!(sub.live.recv().await.unwrap().seq, 2);
    }

    #[test]
    fn a_resent_id_is_not_posted_twice() {
        let hub = Hub::new();
        assert_eq!(hub.post(id(1), "a".into()), PostOutcome::Accepted(1));
        assert_eq!(hub.post(id(1), "a".into()), PostOutcome::Duplicate(1));
        assert_eq!(history(&hub.subscribe(None)).0, [1]);
    }

    #[test]
    fn new_clients_get_the_recent_messages() {
        let hub = Hub::new();
        for n in 1..=(RECENT_ON_CONNECT as u64 + 10) {
            hub.post(id(n), "x".into());
        }
        let (seqs, complete) = history(&hub.subscribe(None));
        assert_eq!(seqs.len(), RECENT_ON_CONNECT);
        assert_eq!(seqs.last(), Some(&(RECENT_ON_CONNECT as u64 + 10)));
        assert!(complete);
    }

    #[test]
    fn resuming_replays_exactly_what_was_missed() {
        let hub = Hub::new();
        for n in 1..=100 {
            hub.post(id(n), "x".into());
        }
        assert_eq!(history(&hub.subscribe(Some(97))), (vec![98, 99, 100], true));
        assert_eq!(history(&hub.subscribe(Some(100))), (vec![], true));
        assert_eq!(history(&hub.subscribe(Some(0))).0.len(), 100);
    }

    #[test]
    fn resuming_past_the_backlog_or_from_another_run_is_flagged() {
        let hub = Hub::new();
        for n in 1..=(BACKLOG_LEN as u64 + 5) {
            hub.post(id(n), "x".into());
        }
        let (seqs, complete) = history(&hub.subscribe(Some(2)));
        assert!(!complete);
        assert_eq!(seqs.len(), RECENT_ON_CONNECT);
        assert!(history(&hub.subscribe(Some(5))).1, "seq 6 is still kept");
        assert_eq!(hub.replay_after(5).map(|m| m[0].seq), Some(6));
        assert_eq!(hub.replay_after(4), None);
        assert!(!history(&hub.subscribe(Some(1_000_000))).1);
    }

    #[tokio::test]
    async fn a_lagging_receiver_is_told_it_lagged() {
        let hub = Hub::new();
        let mut sub = hub.subscribe(None);
        for n in 1..=(LIVE_QUEUE as u64 + 1) {
            hub.post(id(n), "x".into());
        }
        assert!(matches!(sub.live.recv().await, Err(broadcast::error::RecvError::Lagged(1))));
    }

    #[tokio::test]
    async fn shutdown_waits_for_connections() {
        let hub = Arc::new(Hub::new());
        let guard = hub.connection_opened();
        assert!(!hub.wait_until_idle(Duration::from_millis(20)).await);
        let signal = hub.shutdown_signal();
        hub.shut_down();
        signal.await;
        drop(guard);
        assert!(hub.wait_until_idle(Duration::from_millis(20)).await);
    }
}
