//! What one connection keeps between frames: who it is, the rooms it is in, how much it
//! may still do (its rates), its person's unread counts once asked for, and the wire
//! it writes to; and what every part of the connection does with them: write answers,
//! enter and leave rooms.

use super::context::Context;
use super::rooms::{Feed, Joined, Joins};
use super::transport::Transport;
use crate::access::Reader;
use crate::hub::{Following, Frame};
use crate::identity::Credential;
use crate::limits::{Bucket, MOVES_RATE, PAGES_RATE, SEARCH_RATE, TYPING_RATE};
use crate::socket::Wire;
use crate::store::accounts::Role;
use palaver_protocol::{RoomId, ServerMsg, User};
use std::sync::Arc;
use tokio_stream::wrappers::BroadcastStream;

/// A connection's state between frames.
pub(super) struct Connection<T> {
    pub(super) cx: Context,
    pub(super) transport: T,
    /// Where its frames go: its own answers, and its rooms' frames.
    pub(super) wire: Arc<Wire>,
    pub(super) posts: Bucket,
    pub(super) typing: Bucket,
    /// Joins, leaves and renames: each one is announced to everyone in the room.
    pub(super) moves: Bucket,
    /// Searches it may make.
    pub(super) searches: Bucket,
    /// History pages it may load, rooms it is in loaded again included.
    pub(super) pages: Bucket,
    pub(super) user: Option<User>,
    /// The account the connection was signed in with (its session cookie, or a personal
    /// access token said in `hello`): whoever it says hello as, it is this person.
    pub(super) member: Option<Box<Member>>,
    pub(super) rooms: Joins,
    /// The person's unread counts, once asked for (boxed: most connections never ask).
    pub(super) following: Option<Box<Follow>>,
}

/// A signed-in account, and what it was signed in with.
#[derive(Debug, Clone)]
pub struct Member {
    pub credential: Credential,
    pub user: User,
    /// The workspace role it had when it signed in (the hub knows of later changes).
    pub role: Role,
}

/// A connection's feed of its person's unread counts.
pub(super) struct Follow {
    pub(super) feed: BroadcastStream<Frame>,
    /// Declared after the feed, so that the counts are let go once no feed is left.
    pub(super) _following: Following,
}

impl<T: Transport> Connection<T> {
    /// A connection that has said nothing yet and is in no room.
    pub(super) fn new(cx: Context, transport: T, wire: Arc<Wire>) -> Connection<T> {
        Connection {
            posts: Bucket::new(cx.rate),
            cx,
            transport,
            wire,
            typing: Bucket::new(TYPING_RATE),
            moves: Bucket::new(MOVES_RATE),
            searches: Bucket::new(SEARCH_RATE),
            pages: Bucket::new(PAGES_RATE),
            user: None,
            member: None,
            rooms: Joins::default(),
            following: None,
        }
    }

    /// Answers and events for the peer, as its transport writes them, in one write.
    pub(super) fn send(&self, msgs: impl IntoIterator<Item = ServerMsg>) {
        T::send(&self.wire, msgs);
    }

    /// Into a room: its frames (held until its history is written: see
    /// [`Feed::release`]), and a place in its presence (for someone who said hello; a
    /// visitor only watches).
    pub(super) fn enter(&mut self, room: RoomId, user: Option<&User>) {
        let feed = Arc::new(Feed::new(self.wire.clone(), T::live, self.reader()));
        let membership = self.cx.hub.join(&room, user, feed.clone());
        self.rooms.insert(room, Joined { feed, membership });
    }

    /// Who this connection reads rooms as: its account (with its role as it is now),
    /// a guest, or a visitor who has said nothing yet.
    pub(super) fn reader(&self) -> Reader {
        match (&self.member, &self.user) {
            (Some(m), _) => {
                let role = self.cx.hub.role(&m.user.id).unwrap_or(m.role);
                Reader::Member { id: m.user.id.clone(), role }
            }
            (None, Some(user)) => Reader::Guest(user.id.clone()),
            (None, None) => Reader::Visitor,
        }
    }

    /// Out of a room.
    pub(super) fn leave(&mut self, room: &RoomId) {
        self.rooms.remove(room);
    }
}
