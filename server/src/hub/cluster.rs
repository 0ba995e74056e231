//! The hub's side of running several nodes: delivering each room's messages in number
//! order whatever order the bus brings them in, filling gaps and catching up quiet
//! rooms from the store (the bus may lose events), and knowing who is here through
//! the other nodes (and forgetting a node that stops saying so).

use super::{Frame, Rooms, Shared};
use crate::bus::{Envelope, Event, Inbound, NodeId};
use crate::store::Store;
use app::protocol::{RoomId, Seq, ServerMsg, User, UserId};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{broadcast, mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// How long a room waits for a missing number to arrive before reading it from the store.
pub const GAP_WAIT: Duration = Duration::from_millis(100);
/// How often every room with people in it is compared with the store's newest number,
/// so a lost last message arrives even if no later one shows the gap.
pub const TAIL_EVERY: Duration = Duration::from_secs(1);
/// How often each node tells the others everyone who is here through it.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(5);
/// A node not heard from for this long is taken for dead: its people leave every list.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the gaps are looked at.
const MEND_EVERY: Duration = Duration::from_millis(50);
/// Messages read from the store per room in one go when filling a gap.
const FILL_LIMIT: usize = 1024;
/// Messages a room holds while waiting for an earlier one; later ones are read from
/// the store when the gap is filled.
const MAX_EARLY: usize = 4096;

/// The order a room's messages go out in on this node.
#[derive(Default)]
pub(super) struct Order {
    /// The number that goes out next, once known.
    next: Option<Seq>,
    /// Until `next` is known, hold what arrives (with several nodes, the first message to
    /// arrive need not be the first to go out). One node's own writer is always in order.
    hold: bool,
    /// Whether anything has gone out yet.
    started: bool,
    /// Messages that arrived before one they follow.
    early: BTreeMap<Seq, Frame>,
    /// Since when the next number is missing.
    gap_since: Option<Instant>,
}

impl Order {
    pub(super) fn new(hold: bool) -> Order {
        Order { hold, ..Order::default() }
    }

    /// Sends `frame` (number `seq`) to the room's feed if it is the next, with the early
    /// ones it lets go; holds it if it is early; drops it if it already went out.
    pub(super) fn deliver(&mut self, seq: Seq, frame: Frame, feed: &broadcast::Sender<Frame>) {
        match self.next {
            Some(next) if seq < next => {}
            Some(next) if seq == next => {
                // An error only means nobody is subscribed right now.
                let _ = feed.send(frame);
                self.started = true;
                self.next = Some(next + 1);
                self.release(feed);
            }
            None if !self.hold => {
                let _ = feed.send(frame);
                self.started = true;
                self.next = Some(seq + 1);
            }
            _ => {
                if self.early.len() < MAX_EARLY {
                    self.early.insert(seq, frame);
                }
                self.gap_since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// What a joining connection found newest in the store: while nothing has gone out
    /// yet, what goes out first is the one after the lowest such number (a connection
    /// that joined later skips what it has). Once something has gone out, every later
    /// joiner subscribed before it read, so the feed already suits it.
    pub(super) fn start_after(&mut self, newest: Seq, feed: &broadcast::Sender<Frame>) {
        if !self.hold || self.started {
            return;
        }
        let first = newest + 1;
        if self.next.is_none_or(|next| first < next) {
            self.next = Some(first);
            self.release(feed);
        }
    }

    /// Sends the early messages that now follow on, and drops those already sent.
    fn release(&mut self, feed: &broadcast::Sender<Frame>) {
        let Some(mut next) = self.next else { return };
        while let Some((&seq, _)) = self.early.first_key_value() {
            if seq > next {
                break;
            }
            if let Some((_, frame)) = self.early.pop_first() {
                if seq == next {
                    let _ = feed.send(frame);
                    self.started = true;
                    next += 1;
                }
            }
        }
        self.next = Some(next);
        self.gap_since = (!self.early.is_empty()).then(Instant::now);
    }

    /// The number to read from the store on, if one has been missing for `wait`. A room
    /// whose start was never learnt starts from the first message held.
    fn missing(&mut self, wait: Duration, feed: &broadcast::Sender<Frame>) -> Option<Seq> {
        self.gap_since.filter(|since| since.elapsed() >= wait)?;
        if self.next.is_none() {
            let first = *self.early.keys().next()?;
            self.start_after(first - 1, feed);
        }
        self.next.filter(|_| self.gap_since.is_some_and(|since| since.elapsed() >= wait))
    }
}

/// Who is here through each other node.
#[derive(Default)]
pub(super) struct Remote {
    nodes: HashMap<NodeId, Node>,
}

struct Node {
    seen: Instant,
    rooms: HashMap<RoomId, BTreeMap<UserId, String>>,
}

impl Remote {
    /// The name `user` has in `room` on another node (the same on every node: the
    /// lowest node's).
    pub(super) fn name_of(&self, room: &RoomId, user: &UserId) -> Option<String> {
        self.nodes
            .iter()
            .filter_map(|(id, node)| Some((id, node.rooms.get(room)?.get(user)?)))
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, name)| name.clone())
    }

    /// Everyone in `room` through other nodes.
    pub(super) fn in_room(&self, room: &RoomId) -> BTreeMap<UserId, String> {
        let mut users = BTreeMap::new();
        for node in self.nodes.values() {
            if let Some(here) = node.rooms.get(room) {
                for (id, name) in here {
                    users.entry(id.clone()).or_insert_with(|| name.clone());
                }
            }
        }
        users
    }

    /// Rooms with someone in them through another node.
    pub(super) fn rooms(&self) -> BTreeSet<RoomId> {
        self.nodes.values().flat_map(|n| n.rooms.keys().cloned()).collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.nodes.values().all(|n| n.rooms.is_empty())
    }

    fn touch(&mut self, node: &NodeId) -> &mut Node {
        let entry =
            self.nodes.entry(node.clone()).or_insert_with(|| Node { seen: Instant::now(), rooms: HashMap::new() });
        entry.seen = Instant::now();
        entry
    }

    fn members(&self, node: &NodeId) -> Vec<(RoomId, UserId)> {
        let Some(node) = self.nodes.get(node) else { return Vec::new() };
        node.rooms.iter().flat_map(|(room, users)| users.keys().map(|u| (room.clone(), u.clone()))).collect()
    }
}

impl Rooms {
    /// Records that `user` is in `room` through `node` as `name`, or not at all (`None`),
    /// and tells this node's connections if that changes what they see.
    fn remote_set(&mut self, node: &NodeId, room: &RoomId, user: &UserId, name: Option<String>) -> bool {
        let before = self.present(room, user);
        let entry = self.remote.touch(node);
        match name {
            Some(name) => {
                entry.rooms.entry(room.clone()).or_default().insert(user.clone(), name);
            }
            None => {
                if let Some(users) = entry.rooms.get_mut(room) {
                    users.remove(user);
                    if users.is_empty() {
                        entry.rooms.remove(room);
                    }
                }
            }
        }
        self.announce(room, user, before)
    }

    /// Replaces all that is known of `node`'s people with its own account of them.
    fn remote_snapshot(&mut self, node: &NodeId, rooms: Vec<(RoomId, Vec<User>)>) -> bool {
        let now: HashMap<RoomId, BTreeMap<UserId, String>> = rooms
            .into_iter()
            .map(|(room, users)| (room, users.into_iter().map(|u| (u.id, u.name)).collect()))
            .collect();
        let mut changed = false;
        for (room, user) in self.remote.members(node) {
            if !now.get(&room).is_some_and(|users| users.contains_key(&user)) {
                changed |= self.remote_set(node, &room, &user, None);
            }
        }
        for (room, users) in now {
            for (user, name) in users {
                changed |= self.remote_set(node, &room, &user, Some(name));
            }
        }
        self.remote.touch(node);
        changed
    }

    /// Forgets the nodes not heard from for [`NODE_TIMEOUT`]: their people leave.
    fn expire(&mut self) -> bool {
        let dead: Vec<NodeId> = self
            .remote
            .nodes
            .iter()
            .filter(|(_, n)| n.seen.elapsed() >= NODE_TIMEOUT)
            .map(|(id, _)| id.clone())
            .collect();
        let mut changed = false;
        for node in dead {
            tracing::warn!(%node, "no word from node for {NODE_TIMEOUT:?}: its people are no longer listed");
            for (room, user) in self.remote.members(&node) {
                changed |= self.remote_set(&node, &room, &user, None);
            }
            self.remote.nodes.remove(&node);
        }
        changed
    }

    /// Everyone here through this node, for a snapshot.
    fn local_presence(&self) -> Vec<(RoomId, Vec<User>)> {
        self.live
            .iter()
            .filter(|(_, r)| !r.online.is_empty())
            .map(|(id, r)| {
                let users = r.online.iter().map(|(uid, (name, _))| User { id: uid.clone(), name: name.clone() });
                (id.clone(), users.collect())
            })
            .collect()
    }
}

/// Starts hearing the other nodes, mending gaps and sending this node's presence.
pub(super) fn spawn(
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    inbound: mpsc::Receiver<Inbound>,
    shutdown: CancellationToken,
) {
    let resync = Arc::new(Notify::new());
    tokio::spawn(listen(store.clone(), shared.clone(), inbound, resync.clone()));
    tokio::spawn(mend(store, shared.clone(), resync.clone(), shutdown.clone()));
    tokio::spawn(announce_presence(shared, resync, shutdown));
}

/// Applies what the other nodes say.
async fn listen(store: Arc<dyn Store>, shared: Arc<Shared>, mut inbound: mpsc::Receiver<Inbound>, resync: Arc<Notify>) {
    while let Some(item) = inbound.recv().await {
        let Envelope { node, event } = match item {
            Inbound::Event(envelope) => envelope,
            Inbound::Resync => {
                // Wakes both the mender and the presence loop.
                resync.notify_waiters();
                match store.rooms().await {
                    Ok(stored) => {
                        shared.rooms().stored.extend(stored);
                        shared.directory_dirty.notify_one();
                    }
                    Err(e) => tracing::warn!("cannot refresh the room list: {e}"),
                }
                continue;
            }
        };
        let changed = match event {
            Event::Message(message) => {
                shared.publish(message);
                shared.rooms().remote.touch(&node);
                false
            }
            Event::Typing { room, user } => {
                let mut rooms = shared.rooms();
                rooms.remote.touch(&node);
                if let Some(r) = rooms.live.get(&room) {
                    r.send(&ServerMsg::Typing { room, user });
                }
                false
            }
            Event::Here { room, user } => shared.rooms().remote_set(&node, &room, &user.id, Some(user.name)),
            Event::Gone { room, user } => shared.rooms().remote_set(&node, &room, &user, None),
            Event::Snapshot { rooms } => shared.rooms().remote_snapshot(&node, rooms),
        };
        if changed {
            shared.directory_dirty.notify_one();
        }
    }
}

/// Fills gaps that did not close by themselves within [`GAP_WAIT`], and every
/// [`TAIL_EVERY`] (or on a resync) catches every live room up to the store's newest.
async fn mend(store: Arc<dyn Store>, shared: Arc<Shared>, resync: Arc<Notify>, shutdown: CancellationToken) {
    let mut last_tail = Instant::now();
    loop {
        let resynced = tokio::select! {
            () = tokio::time::sleep(MEND_EVERY) => false,
            () = resync.notified() => true,
            () = shutdown.cancelled() => return,
        };
        let gaps: Vec<(RoomId, Seq)> = {
            let mut rooms = shared.rooms();
            rooms
                .live
                .iter_mut()
                .filter_map(|(id, r)| Some((id.clone(), r.order.missing(GAP_WAIT, &r.feed)?)))
                .collect()
        };
        for (room, from) in gaps {
            fill(store.as_ref(), &shared, &room, from).await;
        }
        if resynced || last_tail.elapsed() >= TAIL_EVERY {
            last_tail = Instant::now();
            catch_up_tails(store.as_ref(), &shared).await;
        }
    }
}

/// Brings every live room up to the newest number in the store.
async fn catch_up_tails(store: &dyn Store, shared: &Shared) {
    let live: Vec<RoomId> = shared.rooms().live.keys().cloned().collect();
    if live.is_empty() {
        return;
    }
    let heads = match store.heads(&live).await {
        Ok(heads) => heads,
        Err(e) => {
            tracing::warn!("cannot compare rooms with the store: {e}");
            return;
        }
    };
    for (room, head) in heads {
        let next = shared.rooms().live.get(&room).map(|r| r.order.next);
        let from = match next {
            Some(Some(next)) if head >= next => next,
            // Nothing has gone out live here yet: the newest one is sent, and each
            // connection that lacks anything before it catches up from the store.
            Some(None) if head > 0 => head,
            _ => continue,
        };
        fill(store, shared, &room, from).await;
    }
}

/// Delivers a room's messages from number `from` on, read from the store.
async fn fill(store: &dyn Store, shared: &Shared, room: &RoomId, from: Seq) {
    match store.after(room, from.saturating_sub(1), FILL_LIMIT).await {
        Ok(messages) => {
            if !messages.is_empty() {
                tracing::debug!(%room, from, count = messages.len(), "filled from the store");
            }
            for message in messages {
                shared.publish(message);
            }
        }
        Err(e) => tracing::warn!(%room, "cannot fill a gap from the store yet: {e}"),
    }
}

/// Tells the other nodes who is here every [`SNAPSHOT_EVERY`] (and at once after a
/// resync), and forgets the nodes that stopped doing so.
async fn announce_presence(shared: Arc<Shared>, resync: Arc<Notify>, shutdown: CancellationToken) {
    loop {
        let snapshot = shared.rooms().local_presence();
        shared.bus.publish(Event::Snapshot { rooms: snapshot });
        if shared.rooms().expire() {
            shared.directory_dirty.notify_one();
        }
        tokio::select! {
            () = tokio::time::sleep(SNAPSHOT_EVERY) => {}
            () = resync.notified() => {}
            () = shutdown.cancelled() => return,
        }
    }
}
