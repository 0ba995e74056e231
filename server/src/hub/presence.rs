//! Who is in each room: the people here through this node's connections, and those
//! the other nodes say are there through theirs (in the rooms this node serves: read
//! from Redis, kept up by `here` and `gone`), merged into one list per room. A person
//! with tabs on two nodes is one member; a change anyone would see is announced to this
//! node's connections in the room once, as `arrived` or `departed`. Rooms not served
//! here are known by how many people Redis counted in them, for the room list.

use super::{Hub, Rooms};
use crate::bus::NodeId;
use palaver_protocol::{RoomId, ServerMsg, User, UserId};
use std::{
    collections::{BTreeMap, HashMap},
    time::Duration,
};

/// People a room's list names at most (in `joined` and `presence`). In a room with more
/// online, the list names the first of them and a `crowd` frame says how many more there
/// are; arrivals and departures there are not told one by one (each would go to
/// everyone in the room: thousands joining would cost millions of frames), but the list
/// is sent again every [`CROWD_EVERY`] while it changes.
pub const LISTED: usize = 500;
/// How often a crowded room's list is sent again while its people change.
pub const CROWD_EVERY: Duration = Duration::from_secs(2);

/// What a room's members were last sent of who is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Crowd {
    /// Everyone: changes go out one by one.
    Small,
    /// The first [`LISTED`] and a count.
    Capped,
    /// A list that changed since: it goes out again with the next [`crowd_loop`].
    Changed,
}

/// How long a join waits at most for the list of a room just served here to be read
/// from Redis (it comes in a round trip or two; with Redis away, the list is this
/// node's own until Redis is back).
const PRESENCE_WAIT: Duration = Duration::from_millis(500);

/// How someone in a room is shown: their name, and their handle if they have an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shown {
    name: String,
    handle: Option<String>,
}

impl Shown {
    pub(super) fn of(user: &User) -> Shown {
        Shown { name: user.name.clone(), handle: user.handle.clone() }
    }

    fn user(self, id: &UserId) -> User {
        User { id: id.clone(), name: self.name, handle: self.handle }
    }
}

impl Rooms {
    /// How `user` is shown in `room` on any node, if they are there.
    pub(super) fn present(&self, room: &RoomId, user: &UserId) -> Option<Shown> {
        let local = self.live.get(room).and_then(|r| r.online.get(user)).map(|(name, _)| name.clone());
        local.or_else(|| self.remote.name_of(room, user))
    }

    /// Tells this node's connections in `room` that `user` is now there as `now` (or
    /// gone), if that changes what they were told, which was `before` (in a crowded
    /// room, with the next list).
    pub(super) fn announce(&mut self, room: &RoomId, user: &UserId, before: Option<Shown>) -> bool {
        let now = self.present(room, user);
        if now == before {
            return false;
        }
        let crowded = self.crowded(room);
        // In a crowded room, or one whose members hold a capped list (even if it is small
        // again now), the change goes out with the next list.
        if let Some(r) = self.live.get_mut(room).filter(|r| crowded || r.crowd != Crowd::Small) {
            r.crowd = Crowd::Changed;
        } else if let Some(r) = self.live.get(room) {
            match (now, before) {
                (Some(shown), _) => r.send(&ServerMsg::Arrived { room: room.clone(), user: shown.user(user) }),
                (None, Some(shown)) => r.send(&ServerMsg::Departed { room: room.clone(), user: shown.user(user) }),
                (None, None) => {}
            }
        }
        true
    }

    /// Who is in a room on any node, by name.
    pub(super) fn online(&self, room: &RoomId) -> Vec<User> {
        let mut users: BTreeMap<UserId, Shown> = self.remote.in_room(room);
        if let Some(r) = self.live.get(room) {
            users.extend(r.online.iter().map(|(id, (shown, _))| (id.clone(), shown.clone())));
        }
        let mut users: Vec<User> = users.into_iter().map(|(id, shown)| shown.user(&id)).collect();
        users.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        users
    }

    /// How many people are in `room`: counted here for a room served here, and as
    /// Redis last counted it for the others.
    /// Whether `room` may have more people than a list names (counting someone with
    /// tabs on several nodes once per node, which is enough to tell).
    fn crowded(&self, room: &RoomId) -> bool {
        let local = self.live.get(room).map_or(0, |r| r.online.len());
        local + self.remote.rooms.get(room).map_or(0, BTreeMap::len) > LISTED
    }

    /// Who is in `room` on any node as a list names them: everyone, by name; or in a
    /// crowded room the first [`LISTED`] by id (by name among them), and how many more.
    pub(super) fn online_listed(&self, room: &RoomId) -> (Vec<User>, u32) {
        if !self.crowded(room) {
            return (self.online(room), 0);
        }
        let empty = BTreeMap::new();
        let local = self.live.get(room).map_or(&empty, |r| &r.online);
        let remote = self.remote.rooms.get(room);
        let elsewhere = remote.into_iter().flatten().filter(|(id, _)| !local.contains_key(*id));
        let total = local.len() + elsewhere.clone().count();
        // The first by id of both sides are among each side's first.
        let mut first: Vec<User> = local
            .iter()
            .take(LISTED)
            .map(|(id, (shown, _))| (id, shown))
            .chain(elsewhere.take(LISTED).filter_map(|(id, by)| Some((id, by.values().next()?))))
            .map(|(id, shown)| (id, shown.clone().user(id)))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .take(LISTED)
            .collect();
        first.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        let more = (total - first.len()) as u32;
        (first, more)
    }

    pub(super) fn online_count(&self, room: &RoomId) -> usize {
        match self.live.get(room) {
            Some(r) if self.remote.is_empty() => r.online.len(),
            Some(_) => self.online(room).len(),
            None => self.remote.busy(room),
        }
    }
}

/// Who is in the rooms served here through the other nodes, and how many people the
/// busiest rooms have on every node.
#[derive(Default)]
pub(super) struct Remote {
    /// For each room served here: each person there through other nodes, by node.
    rooms: HashMap<RoomId, BTreeMap<UserId, BTreeMap<NodeId, Shown>>>,
    /// The busiest rooms' people on every node, as last counted in Redis.
    busy: HashMap<RoomId, usize>,
}

impl Remote {
    /// How `user` is shown in `room` on another node (the same on every node: the
    /// lowest node's).
    pub(super) fn name_of(&self, room: &RoomId, user: &UserId) -> Option<Shown> {
        self.rooms.get(room)?.get(user)?.values().next().cloned()
    }

    /// Everyone in `room` through other nodes.
    pub(super) fn in_room(&self, room: &RoomId) -> BTreeMap<UserId, Shown> {
        let Some(people) = self.rooms.get(room) else { return BTreeMap::new() };
        people.iter().filter_map(|(id, by)| Some((id.clone(), by.values().next()?.clone()))).collect()
    }

    /// Rooms with someone in them through another node, or counted busy.
    #[cfg(test)]
    pub(super) fn rooms(&self) -> std::collections::BTreeSet<RoomId> {
        self.rooms.keys().chain(self.busy.keys()).cloned().collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// Whether someone is in `room` through another node (as far as this node knows).
    pub(super) fn has_room(&self, room: &RoomId) -> bool {
        self.rooms.contains_key(room) || self.busy.contains_key(room)
    }

    /// How many people `room` has on every node, as Redis counted them.
    pub(super) fn busy(&self, room: &RoomId) -> usize {
        self.busy.get(room).copied().unwrap_or(0)
    }

    fn set(&mut self, node: &NodeId, room: &RoomId, user: &UserId, name: Option<Shown>) {
        match name {
            Some(name) => {
                let people = self.rooms.entry(room.clone()).or_default();
                people.entry(user.clone()).or_default().insert(node.clone(), name);
            }
            None => {
                let Some(people) = self.rooms.get_mut(room) else { return };
                if let Some(by) = people.get_mut(user) {
                    by.remove(node);
                    if by.is_empty() {
                        people.remove(user);
                    }
                }
                if people.is_empty() {
                    self.rooms.remove(room);
                }
            }
        }
    }
}

impl Rooms {
    /// Records that `user` is in `room` through `node` as `name`, or not at all (`None`),
    /// and tells this node's connections if that changes what they see. Only rooms
    /// served here are kept: the others' lists are read when they are served.
    pub(super) fn remote_set(&mut self, node: &NodeId, room: &RoomId, user: &UserId, name: Option<Shown>) -> bool {
        if !self.live.contains_key(room) {
            return false;
        }
        let before = self.present(room, user);
        self.relist(room);
        self.remote.set(node, room, user, name);
        self.announce(room, user, before)
    }

    /// Replaces who is in `room` through other nodes with what Redis has, telling this
    /// node's connections of each change.
    pub(super) fn remote_room(&mut self, room: &RoomId, entries: Vec<(NodeId, User)>) -> bool {
        let Some(live) = self.live.get_mut(room) else { return false };
        live.known = true;
        let old: Vec<(NodeId, UserId)> = self
            .remote
            .rooms
            .get(room)
            .into_iter()
            .flatten()
            .flat_map(|(user, by)| by.keys().map(move |node| (node.clone(), user.clone())))
            .collect();
        let mut changed = false;
        for (node, user) in old {
            if !entries.iter().any(|(n, u)| *n == node && u.id == user) {
                changed |= self.remote_set(&node, room, &user, None);
            }
        }
        for (node, user) in entries {
            changed |= self.remote_set(&node, room, &user.id, Some(Shown::of(&user)));
        }
        changed
    }

    /// This node no longer serves `room`: what it knew of the others there goes.
    pub(super) fn forget_remote(&mut self, room: &RoomId) {
        if self.remote.rooms.remove(room).is_some() {
            self.relist(room);
        }
    }

    /// The busiest rooms' people on every node, as Redis counted them.
    pub(super) fn set_busy(&mut self, busy: Vec<(RoomId, usize)>) -> bool {
        let busy: HashMap<RoomId, usize> = busy.into_iter().collect();
        let changed: Vec<RoomId> = busy
            .iter()
            .filter(|(room, n)| self.remote.busy.get(*room) != Some(n))
            .map(|(room, _)| room.clone())
            .chain(self.remote.busy.keys().filter(|room| !busy.contains_key(*room)).cloned())
            .collect();
        self.remote.busy = busy;
        for room in &changed {
            self.relist(room);
        }
        !changed.is_empty()
    }

    /// Everyone here through this node, in every room it serves (an empty list for a
    /// room only watched), for Redis.
    pub(super) fn local_presence(&self) -> Vec<(RoomId, Vec<User>)> {
        self.live
            .iter()
            .map(|(id, r)| {
                let users = r.online.iter().map(|(uid, (shown, _))| shown.clone().user(uid));
                (id.clone(), users.collect())
            })
            .collect()
    }
}

impl Hub {
    /// Updates a person's name in every room they are in (after a rename).
    pub fn rename(&self, user: &User) {
        let mut rooms = self.shared.rooms();
        let theirs: Vec<RoomId> =
            rooms.live.iter().filter(|(_, r)| r.online.contains_key(&user.id)).map(|(id, _)| id.clone()).collect();
        for id in theirs {
            let before = rooms.present(&id, &user.id);
            if let Some((shown, _)) = rooms.live.get_mut(&id).and_then(|r| r.online.get_mut(&user.id)) {
                *shown = Shown::of(user);
            }
            rooms.announce(&id, &user.id, before);
            self.shared.bus.publish(crate::bus::Event::Here { room: id, user: user.clone() });
        }
    }

    /// Waits until who is in `room` through the other nodes is known here (at once on
    /// one node, or for a room served here already), a moment at most.
    pub async fn presence_read(&self, room: &RoomId) {
        let deadline = tokio::time::Instant::now() + PRESENCE_WAIT;
        loop {
            let read = self.shared.presence_read.notified();
            if self.shared.rooms().live.get(room).is_none_or(|r| r.known) {
                return;
            }
            if tokio::time::timeout_at(deadline, read).await.is_err() {
                return;
            }
        }
    }
}

/// Sends the list of each crowded room whose people changed, every [`CROWD_EVERY`].
pub(super) async fn crowd_loop(shared: std::sync::Arc<super::Shared>, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CROWD_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
        let mut rooms = shared.rooms();
        let changed: Vec<RoomId> =
            rooms.live.iter().filter(|(_, r)| r.crowd == Crowd::Changed).map(|(id, _)| id.clone()).collect();
        for room in changed {
            let (online, more) = rooms.online_listed(&room);
            if let Some(r) = rooms.live.get_mut(&room) {
                r.crowd = if more > 0 { Crowd::Capped } else { Crowd::Small };
                // A `presence` alone says the list is everyone.
                r.send(&ServerMsg::Presence { room: room.clone(), online });
                if more > 0 {
                    r.send(&ServerMsg::Crowd { room, more });
                }
            }
        }
    }
}
