//! A room as a person sees it in the list: what it is called, how many are in it, what
//! is unread in it, and how it tells them of new messages.

use crate::ids::{RoomId, Seq};
use serde::{Deserialize, Serialize};

/// How a room tells a person of new messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Every message from others notifies.
    All,
    /// Only messages that mention me notify; every message counts as unread.
    #[default]
    Mentions,
    /// Nothing notifies, and no count shows: only a dot says the room has new messages.
    Muted,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::All, Level::Mentions, Level::Muted];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::All => "all",
            Level::Mentions => "mentions",
            Level::Muted => "muted",
        }
    }

    pub fn named(name: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == name)
    }

    fn is_default(&self) -> bool {
        *self == Level::Mentions
    }
}

/// A room in the room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: RoomId,
    /// People (not tabs) in the room now.
    pub online: usize,
}

/// What a room is called and what it is for, as a person sees it: the name an admin
/// gave it (for a direct conversation, the other people in it) and its topic. Empty:
/// none (the page shows `#name`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomAbout {
    pub room: RoomId,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
}

/// A room as the directory of rooms lists it ("Browse rooms").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomListing {
    pub room: RoomId,
    /// People who have it on their list.
    pub members: u64,
    /// When its newest message was written (ms since the Unix epoch); `None`: none yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_at: Option<i64>,
}

/// Where I stopped reading a room, and what came since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomUnread {
    pub room: RoomId,
    /// The number I have read up to; absent for a room I have never opened (of which
    /// only the messages that mention me count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Seq>,
    /// Messages from others since (deleted ones no longer count).
    pub unread: u32,
    /// Of those, the ones that mention me.
    pub mentions: u32,
    /// The first of them, where the "New" line goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Seq>,
    /// How the room tells me of new messages (absent: `mentions`).
    #[serde(default, skip_serializing_if = "Level::is_default")]
    pub level: Level,
}
