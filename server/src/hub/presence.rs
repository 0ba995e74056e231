//! Who is in each room: the people here through this node's connections, and those
//! the other nodes say are there through theirs, merged into one list per room. A person
//! with tabs on two nodes is one member; a change anyone would see is announced to this
//! node's connections in the room once, as `arrived` or `departed`.

use super::Rooms;
use crate::bus::NodeId;
use palaver_protocol::{RoomId, ServerMsg, User, UserId};
use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

/// A node not heard from for this long is taken for dead: its people leave every list.
pub const NODE_TIMEOUT: Duration = Duration::from_secs(15);

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
    /// gone), if that changes what they were told, which was `before`.
    pub(super) fn announce(&self, room: &RoomId, user: &UserId, before: Option<Shown>) -> bool {
        let now = self.present(room, user);
        if now == before {
            return false;
        }
        if let Some(r) = self.live.get(room) {
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

    pub(super) fn online_count(&self, room: &RoomId) -> usize {
        match self.live.get(room) {
            Some(r) if self.remote.is_empty() => r.online.len(),
            _ => self.online(room).len(),
        }
    }
}

/// Who is here through each other node.
#[derive(Default)]
pub(super) struct Remote {
    nodes: HashMap<NodeId, Node>,
}

struct Node {
    seen: Instant,
    rooms: HashMap<RoomId, BTreeMap<UserId, Shown>>,
}

impl Remote {
    /// How `user` is shown in `room` on another node (the same on every node: the
    /// lowest node's).
    pub(super) fn name_of(&self, room: &RoomId, user: &UserId) -> Option<Shown> {
        self.nodes
            .iter()
            .filter_map(|(id, node)| Some((id, node.rooms.get(room)?.get(user)?)))
            .min_by(|a, b| a.0.cmp(b.0))
            .map(|(_, name)| name.clone())
    }

    /// Everyone in `room` through other nodes.
    pub(super) fn in_room(&self, room: &RoomId) -> BTreeMap<UserId, Shown> {
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
    #[cfg(test)]
    pub(super) fn rooms(&self) -> std::collections::BTreeSet<RoomId> {
        self.nodes.values().flat_map(|n| n.rooms.keys().cloned()).collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.nodes.values().all(|n| n.rooms.is_empty())
    }

    /// Whether someone is in `room` through another node.
    pub(super) fn has_room(&self, room: &RoomId) -> bool {
        self.nodes.values().any(|n| n.rooms.contains_key(room))
    }

    /// Notes that `node` was heard from now (it is alive).
    pub(super) fn heard_from(&mut self, node: &NodeId) {
        self.touch(node);
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
    pub(super) fn remote_set(&mut self, node: &NodeId, room: &RoomId, user: &UserId, name: Option<Shown>) -> bool {
        let before = self.present(room, user);
        self.relist(room);
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
    pub(super) fn remote_snapshot(&mut self, node: &NodeId, rooms: Vec<(RoomId, Vec<User>)>) -> bool {
        let now: HashMap<RoomId, BTreeMap<UserId, Shown>> = rooms
            .into_iter()
            .map(|(room, users)| (room, users.iter().map(|u| (u.id.clone(), Shown::of(u))).collect()))
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
    pub(super) fn expire(&mut self) -> bool {
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
    pub(super) fn local_presence(&self) -> Vec<(RoomId, Vec<User>)> {
        self.live
            .iter()
            .filter(|(_, r)| !r.online.is_empty())
            .map(|(id, r)| {
                let users = r.online.iter().map(|(uid, (shown, _))| shown.clone().user(uid));
                (id.clone(), users.collect())
            })
            .collect()
    }
}
