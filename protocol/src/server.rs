//! What the server sends: the frames, and a refusal as the frame that answers it.
//! Read without serde by `json`, for the page.

use crate::error::{ErrorReason, FrameError};
use crate::ids::{ClientMsgId, RoomId, Seq, User};
use crate::message::{is_false, ChatMessage, LinkPreview};
use crate::rooms::{RoomAbout, RoomSummary, RoomUnread};
use serde::{Deserialize, Serialize};

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// The answer to `hello`: who this connection is, and the token to keep.
    Welcome { user: User, token: String },
    /// The answer to `join`. `complete` is false when the messages after the asked-for
    /// `after` could not all be replayed: the client should drop what it shows of the
    /// room and start again from these.
    Joined { room: RoomId, messages: Vec<ChatMessage>, complete: bool, has_older: bool, online: Vec<User> },
    /// A message someone (maybe this client) posted in a joined room.
    Message(ChatMessage),
    /// The server stored this client's message `id` as number `seq`.
    Ack { room: RoomId, id: ClientMsgId, seq: Seq },
    /// The answer to `history`: older messages, oldest first.
    Older { room: RoomId, messages: Vec<ChatMessage>, has_older: bool },
    /// The answer to `around`: the messages around `seq`, oldest first.
    Around { room: RoomId, seq: Seq, messages: Vec<ChatMessage>, has_older: bool },
    /// The answer to a `search`: found messages, newest first, and where the next page
    /// starts (`None`: there is no more).
    Results {
        query: String,
        hits: Vec<SearchHit>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<u64>,
    },
    /// Who is in a joined room now (after a connection caught up from storage, or
    /// every few seconds in a crowded room; `joined` carries the same list), all of
    /// them, or the first ones and then a `crowd`.
    Presence { room: RoomId, online: Vec<User> },
    /// Message `seq` of a joined room has a card for its first link now (`None`: its
    /// author took the card away).
    Preview {
        room: RoomId,
        seq: Seq,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<LinkPreview>,
    },
    /// In a room with more people online than a list carries: how many are online
    /// besides those listed in the `joined` or `presence` just before it. Until the
    /// next `presence`, arrivals and departures there are not told one by one.
    Crowd { room: RoomId, more: u32 },
    /// Someone came into a joined room, or is now known by another name there.
    Arrived { room: RoomId, user: User },
    /// Someone's last connection left a joined room.
    Departed { room: RoomId, user: User },
    /// Someone is typing in a joined room.
    Typing { room: RoomId, user: User },
    /// The rooms and how many people are in each (sent whenever it changes).
    Rooms { rooms: Vec<RoomSummary> },
    /// What rooms are called and what they are for (those with a name shown or a topic):
    /// the room joined, the rooms on my list, and again whenever an admin changes them.
    About { rooms: Vec<RoomAbout> },
    /// My rooms, with my read position and unread counts in each: the rooms that changed
    /// (a room at zero is read), and those I `left` for good (off my list now); with
    /// `all`, every room on my list (the answer to `unread`): rooms I opened and did not
    /// leave, and any where someone mentions me.
    Unread {
        rooms: Vec<RoomUnread>,
        #[serde(default, skip_serializing_if = "is_false")]
        all: bool,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        left: Vec<RoomId>,
    },
    /// A message to tell me of (it mentions me, or its room is set to `all`; never my
    /// own, never from a muted room), sent to each tab of mine that follows my unread
    /// counts, once per message, whether or not the tab is in its room.
    Notification(ChatMessage),
    /// A frame from this client was refused; the connection stays open.
    Error {
        reason: ErrorReason,
        detail: String,
        /// The refused message, when the frame named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<ClientMsgId>,
        /// The room the frame was about, when it named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomId>,
        /// For `rate_limited`: when the same frame would be accepted, in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

/// A message a search found, and where its text matches: ranges of characters (start
/// inclusive, end exclusive), in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: ChatMessage,
    pub marks: Vec<[u32; 2]>,
}

impl From<FrameError> for ServerMsg {
    fn from(e: FrameError) -> Self {
        ServerMsg::Error {
            reason: e.reason,
            detail: e.detail,
            id: e.id,
            room: e.room,
            retry_after_ms: e.retry_after_ms,
        }
    }
}

impl ServerMsg {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }
}
