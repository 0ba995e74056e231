//! Why a frame was refused: the reasons' stable names, and the refusal with what it
//! concerned.

use crate::ids::{ClientMsgId, RoomId};
use serde::{Deserialize, Serialize};

/// Why a frame was refused: stable, machine-readable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    /// Not JSON, or JSON that does not match any frame's fields, or message text with
    /// control characters other than newline and tab.
    BadFrame,
    /// A JSON object whose `type` is not one this server knows.
    UnknownType,
    /// Binary frames are not part of the protocol.
    BinaryUnsupported,
    /// The text is empty or only whitespace.
    EmptyText,
    /// The text is longer than [`MAX_TEXT_CHARS`](crate::MAX_TEXT_CHARS).
    TextTooLong,
    /// The client message id is empty or longer than [`MAX_CLIENT_MSG_ID_BYTES`](crate::MAX_CLIENT_MSG_ID_BYTES).
    BadId,
    /// The display name is empty, too long or has control characters.
    BadName,
    /// The room name is not 1-64 of `a-z 0-9 - _`.
    BadRoom,
    /// The session token is not one this server signed; say `hello` with a name instead.
    BadToken,
    /// The frame needs a `hello` first.
    NotIdentified,
    /// The frame names a room this connection has not joined.
    NotJoined,
    /// The server could not store or load messages just now; try again.
    Unavailable,
    /// Too many messages too fast; the same frame is accepted after `retry_after_ms`.
    RateLimited,
    /// An edit or delete names a message that is not in the room (or is not a message).
    NoSuchMessage,
    /// Only a message's author may edit or delete it.
    NotYours,
    /// The message was deleted: it can no longer be edited, deleted, answered or reacted to.
    Deleted,
    /// A reaction that is not one of [`REACTIONS`](crate::REACTIONS).
    BadReaction,
    /// The message already has [`MAX_REACTIONS`](crate::MAX_REACTIONS) kinds of reaction.
    TooManyReactions,
    /// A search query with no word to look for, or longer than [`MAX_QUERY_CHARS`](crate::MAX_QUERY_CHARS).
    BadQuery,
    /// The room is private and this person is not in it, they were removed from it, it
    /// is archived (read only), only admins post there, or only members may make rooms.
    NotAllowed,
    /// A `send` names a file that is not the sender's upload to this room, is already
    /// another message's, or is not a file id at all (or more than [`MAX_FILES`](crate::MAX_FILES)).
    BadFile,
}

impl ErrorReason {
    pub const ALL: [ErrorReason; 21] = [
        ErrorReason::BadFrame,
        ErrorReason::UnknownType,
        ErrorReason::BinaryUnsupported,
        ErrorReason::EmptyText,
        ErrorReason::TextTooLong,
        ErrorReason::BadId,
        ErrorReason::BadName,
        ErrorReason::BadRoom,
        ErrorReason::BadToken,
        ErrorReason::NotIdentified,
        ErrorReason::NotJoined,
        ErrorReason::Unavailable,
        ErrorReason::RateLimited,
        ErrorReason::NoSuchMessage,
        ErrorReason::NotYours,
        ErrorReason::Deleted,
        ErrorReason::BadReaction,
        ErrorReason::TooManyReactions,
        ErrorReason::BadQuery,
        ErrorReason::NotAllowed,
        ErrorReason::BadFile,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            ErrorReason::BadFrame => "bad_frame",
            ErrorReason::UnknownType => "unknown_type",
            ErrorReason::BinaryUnsupported => "binary_unsupported",
            ErrorReason::EmptyText => "empty_text",
            ErrorReason::TextTooLong => "text_too_long",
            ErrorReason::BadId => "bad_id",
            ErrorReason::BadName => "bad_name",
            ErrorReason::BadRoom => "bad_room",
            ErrorReason::BadToken => "bad_token",
            ErrorReason::NotIdentified => "not_identified",
            ErrorReason::NotJoined => "not_joined",
            ErrorReason::Unavailable => "unavailable",
            ErrorReason::RateLimited => "rate_limited",
            ErrorReason::NoSuchMessage => "no_such_message",
            ErrorReason::NotYours => "not_yours",
            ErrorReason::Deleted => "deleted",
            ErrorReason::BadReaction => "bad_reaction",
            ErrorReason::TooManyReactions => "too_many_reactions",
            ErrorReason::BadQuery => "bad_query",
            ErrorReason::NotAllowed => "not_allowed",
            ErrorReason::BadFile => "bad_file",
        }
    }

    pub fn named(name: &str) -> Option<ErrorReason> {
        ErrorReason::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// A refused frame: the reason, a human-readable detail, and what it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct FrameError {
    pub reason: ErrorReason,
    pub detail: String,
    pub id: Option<ClientMsgId>,
    pub room: Option<RoomId>,
    pub retry_after_ms: Option<u64>,
}

impl FrameError {
    pub fn new(reason: ErrorReason, detail: impl Into<String>) -> Self {
        Self { reason, detail: detail.into(), id: None, room: None, retry_after_ms: None }
    }

    pub fn about(mut self, room: Option<&RoomId>, id: Option<&ClientMsgId>) -> Self {
        self.room = room.cloned();
        self.id = id.cloned();
        self
    }

    pub fn binary() -> Self {
        Self::new(ErrorReason::BinaryUnsupported, "binary frames are not supported; send JSON text")
    }
}
