//! The hub: the rooms, who is in each, and the fan-out. Every post goes through one
//! writer task that stores messages in batches (one durable commit per batch) and then
//! broadcasts each stored message to its room as one frame serialized once, in the
//! order the store numbered them.
//!
//! A connection that falls more than [`LIVE_QUEUE`] frames behind its room's live feed
//! is never skipped silently: it catches up from the store (see `chat/rooms.rs`).
//! Connections themselves, and shutting them down, are not the hub's: see `chat/`.

use crate::store::{Appended, Post, Store, StoreError};
use app::protocol::{ChatMessage, RoomId, RoomSummary, Seq, ServerMsg, User, UserId};
use axum::extract::ws::Utf8Bytes;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};
use tokio::sync::{broadcast, mpsc, oneshot, watch, Notify};

/// Frames a connection may fall behind a room's live feed before it must catch up
/// from the store. Each live room holds this many slots; a connection takes frames
/// off its feeds into its own outbox as fast as they come, so falling this far behind
/// means its task did not run for a while.
pub const LIVE_QUEUE: usize = 64;
/// Most messages stored in one commit.
pub const MAX_BATCH: usize = 512;
/// Posts waiting for the writer; senders wait when it is full.
const WRITE_QUEUE: usize = 4096;
/// Room-list updates are sent at most this often.
const DIRECTORY_EVERY: Duration = Duration::from_millis(500);
/// Rooms the room list names at most: the busiest ones. Every identified connection
/// gets the list when it changes, so its size is paid once per connection.
pub const MAX_LISTED_ROOMS: usize = 30;

/// One frame for a room's subscribers, serialized once and shared.
#[derive(Debug, Clone)]
pub struct Frame {
    /// For stored messages: the number, so a connection can skip what it already has.
    pub seq: Option<Seq>,
    pub text: Utf8Bytes,
    /// The message itself, for subscribers that render it differently (plain clients).
    pub message: Option<Arc<ChatMessage>>,
}

impl Frame {
    fn event(msg: &ServerMsg) -> Frame {
        Frame { seq: None, text: msg.encode().into(), message: None }
    }
}

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    /// Stored (and broadcast) as this number.
    Accepted(Seq),
    /// The same author already posted this client id here, as this number.
    Duplicate(Seq),
}

impl PostOutcome {
    pub fn seq(self) -> Seq {
        match self {
            PostOutcome::Accepted(s) | PostOutcome::Duplicate(s) => s,
        }
    }
}

struct Write {
    message: Post,
    reply: oneshot::Sender<Result<Appended, StoreError>>,
}

struct Room {
    feed: broadcast::Sender<Frame>,
    /// Who is here, with how many of their connections (tabs) are.
    online: BTreeMap<UserId, (String, usize)>,
}

impl Room {
    /// Who is here, by name.
    fn online(&self) -> Vec<User> {
        let mut users: Vec<User> =
            self.online.iter().map(|(id, (name, _))| User { id: id.clone(), name: name.clone() }).collect();
        users.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        users
    }
}

#[derive(Default)]
struct Rooms {
    live: HashMap<RoomId, Room>,
    /// Every room with messages. (Rooms with people in them are in `live`; a room
    /// entered and left without a message is forgotten with it.)
    stored: BTreeSet<RoomId>,
}

/// State the writer task shares with the hub.
struct Shared {
    rooms: Mutex<Rooms>,
    directory: watch::Sender<Utf8Bytes>,
    directory_dirty: Notify,
}

impl Shared {
    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        // Every critical section leaves the maps consistent, so a panic elsewhere while
        // holding the lock does not make them unsafe to use.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, message: ChatMessage) {
        let seq = message.seq;
        let text = Utf8Bytes::from(ServerMsg::Message(message.clone()).encode());
        let mut rooms = self.rooms();
        if rooms.stored.insert(message.room.clone()) {
            self.directory_dirty.notify_one();
        }
        if let Some(room) = rooms.live.get(&message.room) {
            // An error only means nobody is subscribed right now.
            let _ = room.feed.send(Frame { seq: Some(seq), text, message: Some(Arc::new(message)) });
        }
    }

    /// The busiest [`MAX_LISTED_ROOMS`] rooms, by name.
    fn summary(&self) -> Vec<RoomSummary> {
        let rooms = self.rooms();
        let unstored = rooms.live.keys().filter(|r| !rooms.stored.contains(*r));
        let mut list: Vec<RoomSummary> = rooms
            .stored
            .iter()
            .chain(unstored)
            .map(|r| RoomSummary { room: r.clone(), online: rooms.live.get(r).map_or(0, |room| room.online.len()) })
            .collect();
        if list.len() > MAX_LISTED_ROOMS {
            list.sort_by(|a, b| b.online.cmp(&a.online).then_with(|| a.room.cmp(&b.room)));
            list.truncate(MAX_LISTED_ROOMS);
        }
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

pub struct Hub {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    writes: mpsc::Sender<Write>,
}

/// A person's presence in a room through one connection; leaves when dropped, so a
/// connection that ends any way at all is no longer listed.
pub struct Membership {
    shared: Arc<Shared>,
    room: RoomId,
    user: UserId,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut rooms = self.shared.rooms();
        let Some(room) = rooms.live.get_mut(&self.room) else { return };
        let gone = match room.online.get_mut(&self.user) {
            Some((_, conns)) if *conns > 1 => {
                *conns -= 1;
                None
            }
            Some(_) => room.online.remove(&self.user).map(|(name, _)| name),
            None => None,
        };
        if let Some(name) = gone {
            let user = User { id: self.user.clone(), name };
            let _ = room.feed.send(Frame::event(&ServerMsg::Departed { room: self.room.clone(), user }));
            self.shared.directory_dirty.notify_one();
        }
        if room.online.is_empty() && room.feed.receiver_count() == 0 {
            rooms.live.remove(&self.room);
        }
    }
}

impl Hub {
    /// Starts the hub and its writer over `store`. Needs a Tokio runtime.
    pub async fn start(store: Arc<dyn Store>) -> Result<Arc<Hub>, StoreError> {
        let stored = store.rooms().await?.into_iter().collect();
        let shared = Arc::new(Shared {
            rooms: Mutex::new(Rooms { live: HashMap::new(), stored }),
            directory: watch::channel(Utf8Bytes::from_static("")).0,
            directory_dirty: Notify::new(),
        });
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        tokio::spawn(write_loop(store.clone(), shared.clone(), queue));
        tokio::spawn(directory_loop(shared.clone()));
        shared.directory.send_replace(ServerMsg::Rooms { rooms: shared.summary() }.encode().into());
        Ok(Arc::new(Hub { store, shared, writes }))
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Stores a message and broadcasts it to its room; resolves after the commit.
    pub async fn post(&self, post: Post) -> Result<PostOutcome, StoreError> {
        self.submit(post).await?.await
    }

    /// Queues a message for the writer (waiting only while the queue is full) and
    /// returns what resolves after its commit. A connection can go on reading while
    /// its posts are stored, in the order it submitted them.
    pub async fn submit(
        &self,
        post: Post,
    ) -> Result<impl std::future::Future<Output = Result<PostOutcome, StoreError>> + Send + Sync + 'static, StoreError>
    {
        let (reply, outcome) = oneshot::channel();
        self.writes.send(Write { message: post, reply }).await.map_err(|_| writer_stopped())?;
        Ok(async move {
            match outcome.await.map_err(|_| writer_stopped())?? {
                Appended::New(m) => Ok(PostOutcome::Accepted(m.seq)),
                Appended::Duplicate(seq) => Ok(PostOutcome::Duplicate(seq)),
            }
        })
    }

    /// Enters a room: the live feed from now on, and the membership that keeps `user`
    /// listed until it is dropped. (Who is there comes from [`Hub::online`], when the
    /// `joined` answer is made; the list is not built twice.)
    pub fn join(&self, room: &RoomId, user: &User) -> (broadcast::Receiver<Frame>, Membership) {
        let mut rooms = self.shared.rooms();
        if !rooms.live.contains_key(room) && !rooms.stored.contains(room) {
            self.shared.directory_dirty.notify_one();
        }
        let entry = rooms
            .live
            .entry(room.clone())
            .or_insert_with(|| Room { feed: broadcast::channel(LIVE_QUEUE).0, online: BTreeMap::new() });
        let feed = entry.feed.subscribe();
        let (name, conns) = entry.online.entry(user.id.clone()).or_insert_with(|| (user.name.clone(), 0));
        *conns += 1;
        let arrived = *conns == 1;
        *name = user.name.clone();
        if arrived {
            let _ = entry.feed.send(Frame::event(&ServerMsg::Arrived { room: room.clone(), user: user.clone() }));
            self.shared.directory_dirty.notify_one();
        }
        let membership = Membership { shared: self.shared.clone(), room: room.clone(), user: user.id.clone() };
        (feed, membership)
    }

    /// Rooms held in memory (with a live feed or people in them).
    #[cfg(test)]
    pub(crate) fn live_rooms(&self) -> usize {
        self.shared.rooms().live.len()
    }

    /// Who is in a room now.
    pub fn online(&self, room: &RoomId) -> Vec<User> {
        self.shared.rooms().live.get(room).map(Room::online).unwrap_or_default()
    }

    /// Updates a person's name in every room they are in (after a rename).
    pub fn rename(&self, user: &User) {
        let mut rooms = self.shared.rooms();
        for (id, room) in rooms.live.iter_mut() {
            if let Some((name, _)) = room.online.get_mut(&user.id) {
                *name = user.name.clone();
                let _ = room.feed.send(Frame::event(&ServerMsg::Arrived { room: id.clone(), user: user.clone() }));
            }
        }
    }

    /// Tells a room that `user` is typing. Never stored.
    pub fn typing(&self, room: &RoomId, user: &User) {
        if let Some(r) = self.shared.rooms().live.get(room) {
            let _ = r.feed.send(Frame::event(&ServerMsg::Typing { room: room.clone(), user: user.clone() }));
        }
    }

    /// The room list, as a `rooms` frame, and its updates.
    pub fn directory(&self) -> watch::Receiver<Utf8Bytes> {
        self.shared.directory.subscribe()
    }

    pub fn rooms(&self) -> Vec<RoomSummary> {
        self.shared.summary()
    }
}

/// The single writer: takes whatever posts are waiting (up to [`MAX_BATCH`]), stores
/// them in one commit, broadcasts the new ones in order, then answers each poster.
async fn write_loop(store: Arc<dyn Store>, shared: Arc<Shared>, mut queue: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (messages, replies): (Vec<_>, Vec<_>) = batch.drain(..).map(|w| (w.message, w.reply)).unzip();
        match store.append(messages).await {
            Ok(results) => {
                for (result, reply) in results.into_iter().zip(replies) {
                    if let Appended::New(m) = &result {
                        shared.publish(m.clone());
                    }
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!("storing messages failed: {e}");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Room-list frames the server sends per second at most, over all connections: on a busy
/// server the list refreshes less often rather than cost more.
const DIRECTORY_BUDGET_PER_SEC: usize = 4_000;

/// How long to wait between room-list updates with `listeners` connections.
fn directory_interval(listeners: usize) -> Duration {
    DIRECTORY_EVERY.max(Duration::from_secs_f64(listeners as f64 / DIRECTORY_BUDGET_PER_SEC as f64))
}

/// Sends the room list when it changed, at most every [`DIRECTORY_EVERY`] (less often
/// with many connections: see [`DIRECTORY_BUDGET_PER_SEC`]).
async fn directory_loop(shared: Arc<Shared>) {
    loop {
        shared.directory_dirty.notified().await;
        tokio::time::sleep(directory_interval(shared.directory.receiver_count())).await;
        let frame: Utf8Bytes = ServerMsg::Rooms { rooms: shared.summary() }.encode().into();
        shared.directory.send_if_modified(|current| {
            let changed = *current != frame;
            *current = frame;
            changed
        });
    }
}

fn writer_stopped() -> StoreError {
    StoreError::backend("the writer has stopped")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use app::protocol::ClientMsgId;

    async fn hub() -> (Arc<Hub>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        (Hub::start(store).await.unwrap(), dir)
    }

    fn user(id: &str) -> User {
        User { id: UserId(id.into()), name: id.to_uppercase() }
    }

    fn room(name: &str) -> RoomId {
        RoomId::parse(name).unwrap()
    }

    async fn post(hub: &Hub, r: &str, u: &str, id: &str) -> PostOutcome {
        hub.post(Post::text(room(r), user(u), ClientMsgId(id.into()), format!("{id} text"))).await.unwrap()
    }

    fn decode(frame: &Frame) -> ServerMsg {
        ServerMsg::decode(frame.text.as_str()).unwrap()
    }

    #[tokio::test]
    async fn posts_are_numbered_per_room_broadcast_once_serialized_and_deduplicated() {
        let (hub, _dir) = hub().await;
        let (mut feed, _m) = hub.join(&room("a"), &user("u1"));
        assert!(matches!(decode(&feed.recv().await.unwrap()), ServerMsg::Arrived { .. }));
        assert_eq!(post(&hub, "a", "u1", "m1").await, PostOutcome::Accepted(1));
        assert_eq!(post(&hub, "b", "u1", "m1").await, PostOutcome::Accepted(1));
        assert_eq!(post(&hub, "a", "u1", "m2").await, PostOutcome::Accepted(2));
        assert_eq!(post(&hub, "a", "u1", "m1").await, PostOutcome::Duplicate(1));
        for expected in [1, 2] {
            let frame = feed.recv().await.unwrap();
            assert_eq!(frame.seq, Some(expected));
            assert!(matches!(decode(&frame), ServerMsg::Message(m) if m.seq == expected && m.room == room("a")));
        }
        assert!(feed.try_recv().is_err(), "the duplicate and room b's message did not come here");
    }

    #[tokio::test]
    async fn concurrent_posts_get_one_gapless_order() {
        let (hub, _dir) = hub().await;
        let tasks: Vec<_> = (0..8)
            .map(|t| {
                let hub = hub.clone();
                tokio::spawn(async move {
                    let mut seqs = Vec::new();
                    for n in 0..25 {
                        seqs.push(post(&hub, "r", &format!("u{t}"), &format!("m{n}")).await.seq());
                    }
                    seqs
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            let seqs = t.await.unwrap();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "each sender's messages keep their order");
            all.extend(seqs);
        }
        all.sort();
        assert_eq!(all, (1..=200).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn presence_counts_people_not_tabs() {
        let (hub, _dir) = hub().await;
        let (_f1, tab1) = hub.join(&room("r"), &user("ann"));
        assert_eq!(hub.online(&room("r")), [user("ann")]);
        let (_f2, tab2) = hub.join(&room("r"), &user("ann"));
        let (mut watcher, _bob) = hub.join(&room("r"), &user("bob"));
        assert_eq!(hub.online(&room("r")).len(), 2);
        let _ = watcher.recv().await; // bob's own arrival
        drop(tab1);
        assert_eq!(hub.online(&room("r")).len(), 2, "ann still has a tab open");
        assert!(watcher.try_recv().is_err(), "no presence change to announce");
        drop(tab2);
        assert_eq!(hub.online(&room("r")), [user("bob")]);
        assert!(
            matches!(decode(&watcher.recv().await.unwrap()), ServerMsg::Departed { user: u, .. } if u == user("ann")),
            "the change, not the whole list: presence costs the same in a room of thousands"
        );
        assert_eq!(hub.online(&room("other")), []);
    }

    #[tokio::test]
    async fn the_room_list_counts_who_is_in_each_room() {
        let (hub, _dir) = hub().await;
        post(&hub, "history-only", "u1", "m1").await;
        let _m = hub.join(&room("lobby"), &user("ann"));
        let rooms = hub.rooms();
        assert_eq!(
            rooms,
            [RoomSummary { room: room("history-only"), online: 0 }, RoomSummary { room: room("lobby"), online: 1 },]
        );
        let mut directory = hub.directory();
        tokio::time::timeout(Duration::from_secs(2), directory.changed()).await.unwrap().unwrap();
        let frame = directory.borrow().clone();
        assert!(matches!(ServerMsg::decode(frame.as_str()).unwrap(), ServerMsg::Rooms { rooms: r } if r == rooms));

        // Many rooms: the list names the busiest, so its size stays bounded.
        for n in 0..MAX_LISTED_ROOMS + 10 {
            post(&hub, &format!("quiet-{n:03}"), "u1", "m1").await;
        }
        let rooms = hub.rooms();
        assert_eq!(rooms.len(), MAX_LISTED_ROOMS);
        assert!(rooms.iter().any(|r| r.room == room("lobby") && r.online == 1), "the room with people in it");
        assert!(rooms.windows(2).all(|w| w[0].room < w[1].room), "in name order");
    }

    #[tokio::test]
    async fn a_room_entered_and_left_without_a_message_is_forgotten() {
        let (hub, _dir) = hub().await;
        for n in 0..100 {
            let (feed, membership) = hub.join(&room(&format!("passing-{n}")), &user("u1"));
            drop((feed, membership));
        }
        post(&hub, "kept", "u1", "m1").await;
        assert_eq!(hub.rooms(), [RoomSummary { room: room("kept"), online: 0 }]);
        assert_eq!(hub.live_rooms(), 0);
    }

    #[test]
    fn the_room_list_refreshes_less_often_on_a_busy_server() {
        assert_eq!(directory_interval(10), DIRECTORY_EVERY);
        assert_eq!(directory_interval(DIRECTORY_BUDGET_PER_SEC * 5), Duration::from_secs(5));
    }
}
