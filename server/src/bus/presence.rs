//! Who is in each room, kept in Redis: a hash per room (`palaver:here:<room>`), one
//! entry per person and node (`<node>/<person>`), written by that node when the person
//! arrives, taken away when they leave, and written again by it every
//! [`REFRESH_EVERY`] while they stay. An entry says until when it holds
//! ([`ENTRY_LIFE`] after it was written), so a node that dies leaves entries that
//! lapse by themselves; the hash itself expires when no node writes to it.
//!
//! Beside the hashes, two sorted sets rank the rooms for the room list:
//! `palaver:busy` (room → how many people, on every node) and `palaver:busy-at` (room →
//! when that was last counted), so a node lists busy rooms it does not serve without
//! hearing their channels; a count no node has renewed for [`ENTRY_LIFE`] is dropped.
//!
//! Entries are signed with the bus key, over the room, node and person they name and
//! their expiry, so something else that can write to Redis cannot list anyone, nor
//! move an entry to another room.

use super::signing::{now_ms, BusKey};
use super::{NodeId, Present};
use palaver_protocol::{RoomId, User, UserId};
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use std::{
    collections::{BTreeSet, HashMap},
    time::Duration,
};

/// How often each node writes its people's entries again (and reads the rooms it serves).
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);
/// How long an entry holds after it was written: a node dead for this long is off
/// every list.
pub const ENTRY_LIFE: Duration = Duration::from_secs(20);
/// The busiest rooms read for the room list.
const BUSIEST: isize = 100;
const BUSY: &str = "palaver:busy";
const BUSY_AT: &str = "palaver:busy-at";

fn key(room: &RoomId) -> String {
    format!("palaver:here:{room}")
}

fn field(node: &NodeId, user: &UserId) -> String {
    format!("{node}/{}", user.0)
}

/// What an entry says, signed.
#[derive(Serialize, Deserialize)]
struct Entry {
    room: RoomId,
    node: NodeId,
    user: User,
    /// Milliseconds since 1970 until which it holds.
    until: u64,
}

/// A node's side of the presence hashes.
#[derive(Clone)]
pub struct Presence {
    key: BusKey,
    node: NodeId,
}

/// One room's hash as read: the entries of the other nodes that hold, and the fields of
/// entries that lapsed (to take away).
struct Read {
    others: Vec<(NodeId, User)>,
    lapsed: Vec<String>,
}

impl Presence {
    pub fn new(key: BusKey, node: NodeId) -> Presence {
        Presence { key, node }
    }

    fn entry(&self, room: &RoomId, user: &User, now: u64) -> Vec<u8> {
        let entry = Entry { room: room.clone(), node: self.node.clone(), user: user.clone(), until: now + life_ms() };
        let mut value = BusKey::blank();
        // An entry of owned, checked parts always serializes.
        let _ = serde_json::to_writer(&mut value, &entry);
        self.key.sign(&mut value, now, 0);
        value
    }

    /// Adds to `pipe` what lists `user` in `room` through this node.
    pub fn here(&self, pipe: &mut redis::Pipeline, room: &RoomId, user: &User) {
        let value = self.entry(room, user, now_ms());
        pipe.cmd("HSET").arg(key(room)).arg(field(&self.node, &user.id)).arg(value).ignore();
        pipe.cmd("PEXPIRE").arg(key(room)).arg(life_ms()).ignore();
    }

    /// Adds to `pipe` what takes `user` in `room` through this node off the list.
    pub fn gone(&self, pipe: &mut redis::Pipeline, room: &RoomId, user: &UserId) {
        pipe.cmd("HDEL").arg(key(room)).arg(field(&self.node, user)).ignore();
    }

    /// The entries of `room`'s hash that hold, this node's left out.
    fn read(&self, room: &RoomId, hash: HashMap<String, Vec<u8>>, now: u64) -> Read {
        let mut read = Read { others: Vec::new(), lapsed: Vec::new() };
        for (name, value) in hash {
            let Ok(signed) = self.key.open(&value) else { continue };
            let Ok(entry) = serde_json::from_slice::<Entry>(signed.body) else { continue };
            if entry.room != *room || field(&entry.node, &entry.user.id) != name {
                continue;
            }
            if entry.until <= now {
                // Taken away only once lapsed beyond what nodes' clocks may differ by,
                // so a node whose clock is ahead does not take away others' entries.
                if entry.until + super::signing::STALE_AFTER.as_millis() as u64 <= now {
                    read.lapsed.push(name);
                }
            } else if entry.node != self.node {
                read.others.push((entry.node, entry.user));
            }
        }
        read.others.sort_by(|a, b| (&a.0, &a.1.id).cmp(&(&b.0, &b.1.id)));
        read
    }

    /// Who is in `rooms` through the other nodes.
    pub async fn rooms(
        &self,
        conn: &mut MultiplexedConnection,
        rooms: &[RoomId],
    ) -> redis::RedisResult<Vec<(RoomId, Vec<(NodeId, User)>)>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.cmd("HGETALL").arg(key(room));
        }
        let hashes: Vec<HashMap<String, Vec<u8>>> = pipe.query_async(conn).await?;
        let now = now_ms();
        let mut lapsed = redis::pipe();
        let mut out = Vec::with_capacity(rooms.len());
        for (room, hash) in rooms.iter().zip(hashes) {
            let read = self.read(room, hash, now);
            if !read.lapsed.is_empty() {
                lapsed.cmd("HDEL").arg(key(room)).arg(read.lapsed).ignore();
            }
            out.push((room.clone(), read.others));
        }
        if !lapsed.is_empty() {
            lapsed.query_async::<()>(conn).await?;
        }
        Ok(out)
    }

    /// Writes this node's entries in the rooms of `mine` again, reads the others' there,
    /// counts those rooms for the room list, and reads the busiest rooms.
    pub async fn refresh(
        &self,
        conn: &mut MultiplexedConnection,
        mine: Vec<(RoomId, Vec<User>)>,
    ) -> redis::RedisResult<Present> {
        let now = now_ms();
        let mut pipe = redis::pipe();
        for (room, users) in &mine {
            if !users.is_empty() {
                let cmd = pipe.cmd("HSET").arg(key(room));
                for user in users {
                    cmd.arg(field(&self.node, &user.id)).arg(self.entry(room, user, now));
                }
                cmd.ignore();
                pipe.cmd("PEXPIRE").arg(key(room)).arg(life_ms()).ignore();
            }
        }
        if !pipe.is_empty() {
            pipe.query_async::<()>(conn).await?;
        }
        let rooms: Vec<RoomId> = mine.iter().map(|(room, _)| room.clone()).collect();
        let others = self.rooms(conn, &rooms).await?;

        let mut counts = redis::pipe();
        for ((room, users), (_, theirs)) in mine.iter().zip(&others) {
            let people: BTreeSet<&UserId> =
                users.iter().map(|u| &u.id).chain(theirs.iter().map(|(_, u)| &u.id)).collect();
            if people.is_empty() {
                counts.cmd("ZREM").arg(BUSY).arg(room.as_str()).ignore();
                counts.cmd("ZREM").arg(BUSY_AT).arg(room.as_str()).ignore();
            } else {
                counts.cmd("ZADD").arg(BUSY).arg(people.len()).arg(room.as_str()).ignore();
                counts.cmd("ZADD").arg(BUSY_AT).arg(now).arg(room.as_str()).ignore();
            }
        }
        counts.cmd("ZRANGEBYSCORE").arg(BUSY_AT).arg("-inf").arg(now.saturating_sub(life_ms()));
        counts.cmd("ZREVRANGE").arg(BUSY).arg(0).arg(BUSIEST - 1).arg("WITHSCORES");
        let (stale, busiest): (Vec<String>, Vec<(String, f64)>) = counts.query_async(conn).await?;
        if !stale.is_empty() {
            let mut forget = redis::pipe();
            forget.cmd("ZREM").arg(BUSY).arg(&stale).ignore();
            forget.cmd("ZREM").arg(BUSY_AT).arg(&stale).ignore();
            forget.query_async::<()>(conn).await?;
        }
        let busy = busiest
            .into_iter()
            .filter(|(room, _)| !stale.contains(room))
            .filter_map(|(room, count)| Some((RoomId::parse(&room).ok()?, count as usize)))
            .collect();
        Ok(Present { rooms: others, busy: Some(busy) })
    }
}

fn life_ms() -> u64 {
    ENTRY_LIFE.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;

    fn presence(node: &str, secret: &[u8]) -> Presence {
        Presence::new(BusKey::new(&Identity::new(secret.to_vec())), NodeId(node.into()))
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn only_signed_entries_that_hold_and_name_their_room_and_field_are_read() {
        let (a, b) = (presence("na", SECRET), presence("nb", SECRET));
        let forger = presence("na", b"a guess at the secret of this chat");
        let (r, other) = (RoomId::parse("r").unwrap(), RoomId::parse("elsewhere").unwrap());
        let ann = User { id: UserId("ann".into()), name: "Ann".into(), handle: None };
        let bob = User { id: UserId("bob".into()), name: "Bob".into(), handle: None };
        let now = now_ms();
        let hash = HashMap::from([
            (field(&a.node, &ann.id), a.entry(&r, &ann, now)),
            // B's own entry is not news to B.
            (field(&b.node, &bob.id), b.entry(&r, &bob, now)),
            // Forged, moved from another room, filed under another person, lapsed.
            (field(&a.node, &bob.id), forger.entry(&r, &bob, now)),
            ("na/carol".into(), a.entry(&other, &User { id: UserId("carol".into()), ..ann.clone() }, now)),
            ("na/dan".into(), a.entry(&r, &ann, now)),
            // Lapsed a moment ago (not read, left in place), and long ago (taken away).
            ("na/fay".into(), a.entry(&r, &User { id: UserId("fay".into()), ..ann.clone() }, now - life_ms() - 1)),
            ("na/eve".into(), a.entry(&r, &User { id: UserId("eve".into()), ..ann.clone() }, now - life_ms() - 61_000)),
            ("junk".into(), b"junk".to_vec()),
        ]);
        let read = b.read(&r, hash, now);
        assert_eq!(read.others, [(a.node.clone(), ann)]);
        assert_eq!(read.lapsed, ["na/eve"]);
    }
}
