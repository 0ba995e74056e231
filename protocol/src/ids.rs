//! Who and what frames name: message numbers, ids, rooms and people, and the checks
//! on room names and display names.

use crate::limits::{DEFAULT_ROOM, MAX_NAME_CHARS, MAX_ROOM_CHARS};
use serde::{Deserialize, Serialize};

/// The order of a message in its room: assigned by the server, from 1, increasing by one.
pub type Seq = u64;

/// The highest message number a frame may name: what both stores' 64-bit signed
/// integers hold.
pub const MAX_SEQ: Seq = i64::MAX as Seq;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An id the sender gives its message, so a resend is recognised and a reply matched.
    ClientMsgId
);
/// A room's name, which is also its id and its URL (`/r/NAME`): always valid, since the
/// only ways to make one ([`RoomId::parse`] and deserialising) check it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomId(String);

impl RoomId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RoomId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RoomId {
    type Error = String;
    fn try_from(name: String) -> Result<RoomId, String> {
        RoomId::parse(&name).map_err(|e| e.to_string())
    }
}

impl From<RoomId> for String {
    fn from(room: RoomId) -> String {
        room.0
    }
}
string_id!(
    /// A person, as the server's signed session token names them.
    UserId
);

impl ClientMsgId {
    /// A fresh id: the sender's clock and some randomness, in hex. Every id Palaver
    /// makes (the page's messages, plain clients' lines, renames) comes from here.
    pub fn fresh(now_ms: u64, noise: u64) -> ClientMsgId {
        ClientMsgId(format!("{now_ms:x}-{noise:x}"))
    }
}

impl RoomId {
    /// A valid room name: 1 to 64 of `a-z`, `0-9`, `-`, `_`.
    pub fn parse(name: &str) -> Result<RoomId, Invalid> {
        if name.is_empty() || name.len() > MAX_ROOM_CHARS {
            return Err(Invalid::RoomLength);
        }
        if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
            return Err(Invalid::RoomChars);
        }
        Ok(RoomId(name.to_owned()))
    }

    pub fn lobby() -> RoomId {
        RoomId(DEFAULT_ROOM.to_owned())
    }
}

/// What is wrong with a room name or a display name. The protocol's error details say
/// it in English (its `Display`); the page says it in the reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invalid {
    RoomLength,
    RoomChars,
    NameEmpty,
    NameLength,
    NameControl,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::RoomLength => write!(f, "a room name has 1 to {MAX_ROOM_CHARS} characters"),
            Invalid::RoomChars => f.write_str("a room name uses only lowercase letters, digits, - and _"),
            Invalid::NameEmpty => f.write_str("a name cannot be empty"),
            Invalid::NameLength => write!(f, "a name has at most {MAX_NAME_CHARS} characters"),
            Invalid::NameControl => f.write_str("a name cannot contain control, invisible or direction characters"),
        }
    }
}

impl std::error::Error for Invalid {}

/// A display name after trimming, checked against the limits.
pub fn validate_name(name: &str) -> Result<String, Invalid> {
    let name = name.trim();
    if name.is_empty() {
        Err(Invalid::NameEmpty)
    } else if name.chars().count() > MAX_NAME_CHARS {
        Err(Invalid::NameLength)
    } else if name.chars().any(hidden) {
        Err(Invalid::NameControl)
    } else {
        Ok(name.to_owned())
    }
}

/// Whether `c` is a control character, or one that is invisible or turns the direction
/// of the text around it (bidi embeddings, overrides and isolates, zero-width spaces and
/// joiners, the byte-order mark): a name with one could pass for another.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{180E}' | '\u{061C}')
}

/// Someone in the chat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    /// An account's handle (what `@mentions` name); none for a guest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
}
