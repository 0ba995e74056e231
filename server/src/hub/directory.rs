//! The room list every identified connection is sent: the busiest rooms by name, with
//! how many people are in each (on any node), sent again when it changes, at most twice
//! a second, and less often on a busy server. The list is kept as rooms change: each
//! room whose people change takes its new place in a ranking, so reading the list (on
//! every page load and `hello`) costs the same with ten rooms or ten thousand.

use super::{Hub, Rooms, Shared};
use bytes::Bytes;
use palaver_protocol::{RoomId, RoomSummary, ServerMsg};
use std::{
    cmp::Reverse,
    collections::{BTreeSet, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

/// Room-list updates are sent at most this often.
pub(super) const DIRECTORY_EVERY: Duration = Duration::from_millis(500);
/// Rooms the room list names at most: the busiest ones. Every identified connection
/// gets the list when it changes, so its size is paid once per connection.
pub const MAX_LISTED_ROOMS: usize = 30;

/// Every room that exists (with messages, or people in it), ranked by how many people
/// are in it; and the list as last read.
#[derive(Default)]
pub(super) struct Listing {
    /// How many people each room has (on any node), as ranked.
    people: HashMap<RoomId, usize>,
    /// Every room, busiest first, then by name.
    ranking: BTreeSet<(Reverse<usize>, RoomId)>,
    /// Rooms whose people (or whether they exist) may have changed since the list was
    /// last read: ranked again then, each once however often it changed.
    touched: HashSet<RoomId>,
    /// The list as last read, until a room's place changes.
    listed: Option<Arc<Vec<RoomSummary>>>,
}

impl Listing {
    /// Puts `room` where `people` ranks it (`None`: the room no longer exists).
    fn place(&mut self, room: RoomId, people: Option<usize>) {
        let before = self.people.get(&room).copied();
        if before == people {
            return;
        }
        if let Some(n) = before {
            self.ranking.remove(&(Reverse(n), room.clone()));
        }
        match people {
            Some(n) => {
                self.ranking.insert((Reverse(n), room.clone()));
                self.people.insert(room, n);
            }
            None => {
                self.people.remove(&room);
            }
        }
        self.listed = None;
    }

    /// The busiest [`MAX_LISTED_ROOMS`] rooms, by name.
    fn top(&self) -> Vec<RoomSummary> {
        let mut list: Vec<RoomSummary> = self
            .ranking
            .iter()
            .take(MAX_LISTED_ROOMS)
            .map(|(Reverse(online), room)| RoomSummary { room: room.clone(), online: *online })
            .collect();
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

impl Rooms {
    /// The rooms of a node starting up: those with messages in the store.
    pub(super) fn with_stored(stored: BTreeSet<RoomId>) -> Rooms {
        let mut rooms = Rooms::default();
        rooms.listing.touched.extend(stored.iter().cloned());
        rooms.stored = stored;
        rooms
    }

    /// `room`'s people, or whether it exists, may have changed: its place in the list
    /// is looked at again when the list is next read.
    pub(super) fn relist(&mut self, room: &RoomId) {
        if !self.listing.touched.contains(room) {
            self.listing.touched.insert(room.clone());
        }
    }

    /// Whether `room` exists: it has messages, or someone is in it (on any node).
    pub(super) fn exists(&self, room: &RoomId) -> bool {
        self.stored.contains(room) || self.live.contains_key(room) || self.remote.has_room(room)
    }

    /// The busiest [`MAX_LISTED_ROOMS`] rooms, by name: the rooms changed since the
    /// last time ranked again, then the list (made again only if a place changed).
    pub(super) fn listed(&mut self) -> Arc<Vec<RoomSummary>> {
        for room in std::mem::take(&mut self.listing.touched) {
            let listed = self.exists(&room) && !self.unlisted.contains(&room);
            let people = listed.then(|| self.online_count(&room));
            self.listing.place(room, people);
        }
        if self.listing.listed.is_none() {
            self.listing.listed = Some(Arc::new(self.listing.top()));
        }
        self.listing.listed.clone().unwrap_or_default()
    }

    /// The list made from nothing, every room counted again (to check the kept one).
    #[cfg(test)]
    pub(super) fn listed_from_scratch(&self) -> Vec<RoomSummary> {
        let elsewhere: Vec<RoomId> = self.remote.rooms().into_iter().collect();
        let all: BTreeSet<&RoomId> = self
            .stored
            .iter()
            .chain(self.live.keys())
            .chain(elsewhere.iter())
            .filter(|r| !self.unlisted.contains(*r))
            .collect();
        let mut list: Vec<RoomSummary> =
            all.into_iter().map(|r| RoomSummary { room: r.clone(), online: self.online_count(r) }).collect();
        list.sort_by(|a, b| b.online.cmp(&a.online).then_with(|| a.room.cmp(&b.room)));
        list.truncate(MAX_LISTED_ROOMS);
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

impl Shared {
    /// The busiest [`MAX_LISTED_ROOMS`] rooms, by name.
    pub(super) fn summary(&self) -> Arc<Vec<RoomSummary>> {
        self.rooms().listed()
    }
}

impl Hub {
    /// Whether `room` is in everyone's lists: not private, direct or archived.
    pub fn listed(&self, room: &RoomId) -> bool {
        !self.shared.rooms().unlisted.contains(room)
    }

    /// Whether `room` exists here: it has messages, or someone is in it (on any node).
    /// (A room another node started may be known only to the store for a moment.)
    pub fn exists(&self, room: &RoomId) -> bool {
        self.shared.rooms().exists(room)
    }
}

/// Room-list frames the server sends per second at most, over all connections: on a busy
/// server the list refreshes less often rather than cost more.
pub(super) const DIRECTORY_BUDGET_PER_SEC: usize = 4_000;

/// How long to wait between room-list updates with `listeners` connections.
pub(super) fn directory_interval(listeners: usize) -> Duration {
    DIRECTORY_EVERY.max(Duration::from_secs_f64(listeners as f64 / DIRECTORY_BUDGET_PER_SEC as f64))
}

/// The room list as a whole frame.
pub(super) fn frame(shared: &Shared) -> Bytes {
    let rooms = shared.summary().as_ref().clone();
    crate::socket::frames::text(&ServerMsg::Rooms { rooms }.encode())
}

/// Sends the room list when it changed, at most every [`DIRECTORY_EVERY`] (less often
/// with many connections: see [`DIRECTORY_BUDGET_PER_SEC`]).
pub(super) async fn directory_loop(shared: Arc<Shared>) {
    loop {
        shared.directory_dirty.notified().await;
        tokio::time::sleep(directory_interval(shared.directory.receiver_count())).await;
        let frame = frame(&shared);
        shared.directory.send_if_modified(|current| {
            let changed = *current != frame;
            *current = frame;
            changed
        });
    }
}
