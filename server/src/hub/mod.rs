//! The hub: the rooms, who is in each, and the fan-out. Every post goes through one
//! writer task that stores messages in batches (one durable commit per batch) and then
//! broadcasts each stored message to its room as one frame serialized once, in the
//! order the store numbered them.
//!
//! Each room hands its frames to its members' [`Listener`]s as they go out
//! (`fanout.rs`), from the task that sends them: a connection's listener writes them
//! straight to its socket (see `chat/rooms.rs`), so a delivery wakes no task.
//! Connections themselves, and shutting them down, are not the hub's: see `chat/`.
//!
//! With several nodes (see `cluster.rs`), every node's writer stores into the shared
//! database and tells the others over the [`Bus`]; each node delivers a room's messages
//! to its own connections in number order (`order.rs`, the same on one node), filling
//! any gap from the store, and lists everyone present on any node.

mod about;
mod access;
mod cluster;
mod counts;
mod directory;
mod fanout;
mod interest;
mod order;
mod people;
mod presence;
mod previews;
mod reading;
mod signed;
mod writer;

use crate::bus::{Bus, Event, Inbound};
use crate::socket::Wire;
use crate::store::{Post, Store, StoreError};
use bytes::Bytes;
pub use directory::MAX_LISTED_ROOMS;
use fanout::Fanout;
pub use fanout::{Frame, Listener};
use order::Order;
use palaver_protocol::{ChatMessage, RoomId, RoomSummary, Seq, ServerMsg, User, UserId};
use presence::Remote;
pub use presence::LISTED;
pub use reading::Following;
use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    sync::{Arc, Mutex, MutexGuard},
};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_util::sync::CancellationToken;
use writer::{write_loop, writer_stopped, Reply, Write, WRITE_QUEUE};
pub use writer::{Answer, PostOutcome, MAX_BATCH};

struct Room {
    feed: Fanout,
    /// Who is here through this node, with how many of their connections (tabs) are.
    online: BTreeMap<UserId, (presence::Shown, usize)>,
    /// Which number goes out next, and what arrived early.
    order: Order,
    /// Whether who is in it through other nodes has been read (always, on one node).
    known: bool,
    /// Whether its members' list names everyone, or is capped, or is to be sent again
    /// (see `presence.rs`).
    crowd: presence::Crowd,
}

impl Room {
    fn new(spans_nodes: bool) -> Room {
        Room {
            feed: Fanout::default(),
            online: BTreeMap::new(),
            order: Order::new(spans_nodes),
            known: !spans_nodes,
            crowd: presence::Crowd::Small,
        }
    }

    fn send(&self, msg: &ServerMsg) {
        self.feed.offer(&Frame::event(msg));
    }
}

#[derive(Default)]
struct Rooms {
    live: HashMap<RoomId, Room>,
    /// Every room with messages. (Rooms with people in them are in `live`; a room
    /// entered and left without a message is forgotten with it.)
    stored: BTreeSet<RoomId>,
    /// Who is here through each other node.
    remote: Remote,
    /// The room list, kept as rooms change.
    listing: directory::Listing,
    /// Rooms out of the list: private, direct or archived.
    unlisted: HashSet<RoomId>,
}

/// State the writer task shares with the hub.
struct Shared {
    rooms: Mutex<Rooms>,
    directory: watch::Sender<Bytes>,
    directory_dirty: Notify,
    bus: Arc<dyn Bus>,
    /// Unread counts of the people here, and read positions to write.
    readers: Mutex<reading::Readers>,
    /// Everyone an `@name` can name, and names to write.
    people: Mutex<people::People>,
    saving: Notify,
    /// Held while read positions are written: one write at a time, and the last one
    /// at shutdown waits for any under way.
    save_lock: tokio::sync::Mutex<()>,
    /// This node's connections by the session or token they were opened with.
    signed: Mutex<signed::Signed>,
    /// Rooms' rules and members' roles, as known here.
    access: Mutex<access::Access>,
    /// A room started being served here, or someone started following rooms: the bus
    /// is to hear them (see `interest.rs`).
    interest_changed: Notify,
    /// Who is in some rooms through other nodes was read (see `presence.rs`).
    presence_read: Notify,
    /// Where the text messages committed here go on to, once asked (`Hub::committed`).
    committed: std::sync::OnceLock<mpsc::Sender<ChatMessage>>,
}

impl Shared {
    fn rooms(&self) -> MutexGuard<'_, Rooms> {
        // Every critical section leaves the maps consistent, so a panic elsewhere while
        // holding the lock does not make them unsafe to use.
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn readers(&self) -> MutexGuard<'_, reading::Readers> {
        self.readers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn people(&self) -> MutexGuard<'_, people::People> {
        self.people.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Delivers a stored message (from this node's writer, another node, or the store)
    /// to this node's connections in its room, in number order.
    fn publish(&self, message: ChatMessage) {
        self.publish_all(vec![message]);
    }

    /// Delivers stored messages in number order, each room's together: a connection
    /// gets all of a batch's frames for its room in one write.
    fn publish_all(&self, messages: Vec<ChatMessage>) {
        let mut readers = self.readers();
        for message in &messages {
            readers.count(message);
        }
        drop(readers);
        let mut frames = Vec::with_capacity(messages.len());
        {
            let mut rooms = self.rooms();
            for message in messages {
                if !rooms.stored.contains(&message.room) {
                    rooms.stored.insert(message.room.clone());
                    rooms.relist(&message.room);
                    self.directory_dirty.notify_one();
                }
                // Another node's message for a room nobody here is in: nothing to
                // encode. (Someone entering meanwhile loads it from the store, where
                // it already is.)
                if rooms.live.contains_key(&message.room) {
                    frames.push(message);
                }
            }
        }
        if frames.is_empty() {
            return;
        }
        // Encoded outside the lock.
        let frames: Vec<(RoomId, Frame)> = frames
            .into_iter()
            .map(|message| {
                let (seq, room) = (message.seq, message.room.clone());
                let message = Arc::new(message);
                (room, Frame::new(Some(seq), &ServerMsg::Message(message.as_ref().clone()), Some(message)))
            })
            .collect();
        let mut rooms = self.rooms();
        let mut touched: Vec<RoomId> = Vec::new();
        for (room, frame) in frames {
            if let Some(live) = rooms.live.get_mut(&room) {
                if !live.feed.is_corked() {
                    live.feed.cork();
                    touched.push(room);
                }
                live.order.deliver(frame.seq.unwrap_or_default(), frame, &mut live.feed);
            }
        }
        for room in touched {
            if let Some(live) = rooms.live.get_mut(&room) {
                live.feed.uncork();
            }
        }
    }
}

pub struct Hub {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    writes: mpsc::Sender<Write>,
}

/// A connection's place in a room: its listener, and a person's presence through it
/// (none for a visitor who has not chosen a name and only watches); leaves when
/// dropped, so a connection that ends any way at all is no longer listed or sent to.
pub struct Membership {
    shared: Arc<Shared>,
    room: RoomId,
    user: Option<UserId>,
    listener: Arc<dyn Listener>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut rooms = self.shared.rooms();
        if let Some(room) = rooms.live.get_mut(&self.room) {
            room.feed.remove(&self.listener);
        }
        let Some(user) = &self.user else {
            // A watcher: the room is dropped with the last of anyone in it.
            if rooms.live.get(&self.room).is_some_and(|r| r.online.is_empty() && r.feed.is_empty()) {
                rooms.live.remove(&self.room);
                rooms.forget_remote(&self.room);
                rooms.relist(&self.room);
            }
            return;
        };
        let before = rooms.present(&self.room, user);
        let Some(room) = rooms.live.get_mut(&self.room) else { return };
        let last_tab = match room.online.get_mut(user) {
            Some((_, conns)) if *conns > 1 => {
                *conns -= 1;
                false
            }
            Some(_) => room.online.remove(user).is_some(),
            None => false,
        };
        if last_tab {
            rooms.relist(&self.room);
            rooms.announce(&self.room, user, before);
            self.shared.directory_dirty.notify_one();
            self.shared.bus.publish(Event::Gone { room: self.room.clone(), user: user.clone() });
        }
        if rooms.live.get(&self.room).is_some_and(|r| r.online.is_empty() && r.feed.is_empty()) {
            rooms.live.remove(&self.room);
            rooms.forget_remote(&self.room);
            rooms.relist(&self.room);
        }
    }
}

impl Hub {
    /// Starts the hub of a node that is the only one, with its writer over `store`.
    /// Needs a Tokio runtime.
    pub async fn start(store: Arc<dyn Store>) -> Result<Arc<Hub>, StoreError> {
        let node = crate::bus::NodeId("local".into());
        let (_, inbound) = mpsc::channel(1);
        Hub::start_with(store, Arc::new(crate::bus::Local::new(node)), inbound, CancellationToken::new()).await
    }

    /// Starts the hub over `store`, telling other nodes over `bus` and hearing them on
    /// `inbound`, until `shutdown`.
    pub async fn start_with(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        inbound: mpsc::Receiver<Inbound>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Hub>, StoreError> {
        let stored = store.rooms().await?.into_iter().collect();
        let unlisted = store.unlisted().await?.into_iter().collect();
        let shared = Arc::new(Shared {
            rooms: Mutex::new(Rooms { unlisted, ..Rooms::with_stored(stored) }),
            directory: watch::channel(Bytes::new()).0,
            directory_dirty: Notify::new(),
            bus,
            readers: Mutex::default(),
            people: Mutex::default(),
            saving: Notify::new(),
            save_lock: tokio::sync::Mutex::new(()),
            signed: Mutex::default(),
            access: Mutex::default(),
            interest_changed: Notify::new(),
            presence_read: Notify::new(),
            committed: std::sync::OnceLock::new(),
        });
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        tokio::spawn(write_loop(store.clone(), shared.clone(), queue));
        tokio::spawn(directory::directory_loop(shared.clone()));
        tokio::spawn(reading::save_loop(store.clone(), shared.clone()));
        tokio::spawn(access::follow_changes(store.clone(), shared.clone(), shutdown.clone()));
        tokio::spawn(about::name_loop(store.clone(), shared.clone(), shutdown.clone()));
        tokio::spawn(presence::crowd_loop(shared.clone(), shutdown.clone()));
        if shared.bus.spans_nodes() {
            cluster::spawn(store.clone(), shared.clone(), inbound, shutdown);
        }
        shared.directory.send_replace(directory::frame(&shared));
        Ok(Arc::new(Hub { store, shared, writes }))
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// The store, to keep beside the hub.
    pub fn store_handle(&self) -> Arc<dyn Store> {
        self.store.clone()
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
        self.writes.send(Write { message: post, reply: Reply::Waiting(reply) }).await.map_err(|_| writer_stopped())?;
        Ok(async move { Ok(outcome.await.map_err(|_| writer_stopped())??.into()) })
    }

    /// Queues a message for the writer (waiting only while the queue is full); once it
    /// is committed, the writer writes what `answer` makes of the outcome to `wire`.
    /// A connection's posts are answered in the order it submitted them.
    /// (Should the writer have stopped, the post is handed back with the error.)
    pub async fn submit_answered(&self, post: Post, wire: Arc<Wire>, answer: Answer) -> Result<(), (StoreError, Post)> {
        let write = Write { message: post, reply: Reply::Wire(wire, answer) };
        self.writes.send(write).await.map_err(|unsent| (writer_stopped(), unsent.0.message))
    }

    /// Enters a room: `listener` is offered its frames from now on, and `user` (if any:
    /// a visitor who has not chosen a name only watches) is listed there, until the
    /// membership is dropped. (Who is there comes from [`Hub::online`], when the
    /// `joined` answer is made; the list is not built twice.)
    pub fn join(&self, room: &RoomId, user: Option<&User>, listener: Arc<dyn Listener>) -> Membership {
        {
            let mut rooms = self.shared.rooms();
            let spans_nodes = self.shared.bus.spans_nodes();
            if spans_nodes && !rooms.live.contains_key(room) {
                // Served here from now on: its channel is to be heard, its people read.
                self.shared.interest_changed.notify_one();
            }
            let entry = rooms.live.entry(room.clone()).or_insert_with(|| Room::new(spans_nodes));
            entry.feed.add(listener.clone());
            rooms.relist(room);
        }
        let mut membership = Membership { shared: self.shared.clone(), room: room.clone(), user: None, listener };
        if let Some(user) = user {
            self.attend(&mut membership, user);
        }
        membership
    }

    /// Lists `user` in a room watched until now.
    pub fn attend(&self, membership: &mut Membership, user: &User) {
        if membership.user.is_some() {
            return;
        }
        let room = &membership.room;
        let mut rooms = self.shared.rooms();
        let before = rooms.present(room, &user.id);
        let entry = rooms.live.entry(room.clone()).or_insert_with(|| Room::new(self.shared.bus.spans_nodes()));
        let (shown, conns) = entry.online.entry(user.id.clone()).or_insert_with(|| (presence::Shown::of(user), 0));
        *conns += 1;
        let first_tab = *conns == 1;
        *shown = presence::Shown::of(user);
        rooms.relist(room);
        if rooms.announce(room, &user.id, before) || first_tab {
            self.shared.directory_dirty.notify_one();
        }
        if first_tab {
            self.shared.bus.publish(Event::Here { room: room.clone(), user: user.clone() });
        }
        membership.user = Some(user.id.clone());
    }

    /// Rooms held in memory (with a live feed or people in them).
    #[cfg(test)]
    pub(crate) fn live_rooms(&self) -> usize {
        self.shared.rooms().live.len()
    }

    /// The newest number a joining connection found in the store for `room`: until a
    /// message has gone out live there, this node sends from the one after it.
    pub fn caught_up(&self, room: &RoomId, newest: Seq) {
        if let Some(r) = self.shared.rooms().live.get_mut(room) {
            r.order.start_after(newest, &mut r.feed);
        }
    }

    /// Who is in a room now, on any node.
    pub fn online(&self, room: &RoomId) -> Vec<User> {
        self.shared.rooms().online(room)
    }

    /// Who is in a room now, as a list carries them: everyone, or in a crowded room the
    /// first [`presence::LISTED`], and how many more there are.
    pub fn online_listed(&self, room: &RoomId) -> (Vec<User>, u32) {
        self.shared.rooms().online_listed(room)
    }

    /// Someone who said hello here, by the name they go by now: an `@name` names them
    /// from now on (kept in the store a moment later, with the read positions).
    pub fn remember(&self, user: &User) {
        if self.shared.people().remember(user) {
            self.shared.saving.notify_one();
        }
    }

    /// The people that `text`'s `@name`s name, posted in `room` (see `people.rs`): a
    /// pass over the text, two store reads for the names it could spell (people's
    /// names, and accounts' handles; none for a text without an `@name`), then one
    /// presence lookup per person.
    pub async fn named(&self, room: &RoomId, text: &str) -> Result<Vec<User>, StoreError> {
        let asked = people::Asked::new(text);
        if asked.is_empty() {
            return Ok(Vec::new());
        }
        let stored = self.store.people_named(asked.names.clone(), people::MAX_MENTIONED).await?;
        let handles = self.store.handles(asked.names.clone()).await?;
        let known = people::by_handle(self.shared.people().known(&asked.names, stored), &asked.names, handles);
        let groups = asked.mentioned(&known);
        let rooms = self.shared.rooms();
        Ok(people::choose(groups, |id| rooms.present(room, id).is_some()))
    }

    /// Tells a room that `user` is typing. Never stored.
    pub fn typing(&self, room: &RoomId, user: &User) {
        if let Some(r) = self.shared.rooms().live.get(room) {
            r.send(&ServerMsg::Typing { room: room.clone(), user: user.clone() });
        }
        self.shared.bus.publish(Event::Typing { room: room.clone(), user: user.clone() });
    }

    /// The room list, as a `rooms` frame (framed once for everyone), and its updates.
    pub fn directory(&self) -> watch::Receiver<Bytes> {
        self.shared.directory.subscribe()
    }

    /// The room list now: a copy of the list kept as rooms change.
    pub fn rooms(&self) -> Vec<RoomSummary> {
        self.shared.summary().as_ref().clone()
    }
}

#[cfg(test)]
mod tests;
