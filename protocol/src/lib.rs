//! The wire protocol: every frame the browser and the server exchange over the chat
//! WebSocket, the limits on them, and the validation both sides share.
//!
//! Frames are JSON text frames tagged by a `type` field; `docs/PROTOCOL.md` is the
//! reference with examples. A crate of its own, so that everything that speaks to a
//! Palaver server (the page through `app::protocol`, the server, the load tester) uses
//! the same frames without building the page.

use serde::{Deserialize, Serialize};

pub mod json;

/// Longest message text, counted in Unicode scalar values (what a person sees as characters).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest display name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest room name: lowercase letters, digits, `-` and `_`.
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest client message id, in bytes.
pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;
/// Largest WebSocket message the server reads; larger ones close the socket (1009).
/// Comfortably above the largest valid frame: 2,000 four-byte characters, escaped.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Messages per history page: shown when a room opens, and per "load older".
pub const HISTORY_PAGE: usize = 50;
/// Longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Found messages per `results` page.
pub const SEARCH_PAGE: usize = 20;
/// Most messages replayed to a client resuming a room; a larger gap reloads the room.
pub const MAX_REPLAY: usize = 500;
/// Messages one connection may send per second, on average (`PALAVER_RATE_PER_SEC`).
pub const RATE_PER_SEC: u32 = 5;
/// Messages one connection may send at once after a pause (`PALAVER_RATE_BURST`).
pub const RATE_BURST: u32 = 10;
/// The room everyone starts in.
pub const DEFAULT_ROOM: &str = "lobby";
/// Most distinct reactions (kinds of emoji) one message can carry.
pub const MAX_REACTIONS: usize = 20;
/// The emoji a reaction may be: the picker's set, in the picker's order.
pub const REACTIONS: [&str; 24] = [
    "👍", "👎", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🚀", "✅", "🔥", "💯", "👏", "🤔", "😍", "😅", "🙌", "💡",
    "⭐", "☕", "🍕", "👋", "❌",
];
/// Longest reply quote: the start of the original's first line, in characters.
pub const QUOTE_CHARS: usize = 80;
/// The highest message number a frame may name: what both stores' 64-bit signed
/// integers hold.
pub const MAX_SEQ: Seq = i64::MAX as Seq;

/// Every way a chat connection can be closed by the server: one table of close code and
/// reason text, used wherever a connection ends and listed in `docs/PROTOCOL.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The server is shutting down or restarting; reconnect and resume.
    GoingAway,
    /// A plain WebSocket client sent a binary frame; plain clients speak text.
    Unsupported,
    /// A text frame was not valid UTF-8.
    InvalidUtf8,
    /// No frame (not even a pong) within the idle timeout.
    Idle,
    /// A message was larger than [`MAX_FRAME_BYTES`].
    TooBig,
    /// The client fell too far behind the live feed; reconnect and resume.
    SlowConsumer,
}

impl Close {
    pub const ALL: [Close; 6] =
        [Close::GoingAway, Close::Unsupported, Close::InvalidUtf8, Close::Idle, Close::TooBig, Close::SlowConsumer];

    /// The close code and the reason text sent with it.
    pub const fn frame(self) -> (u16, &'static str) {
        match self {
            Close::GoingAway => (1001, "server shutting down"),
            Close::Unsupported => (1003, "send text frames"),
            Close::InvalidUtf8 => (1007, "text frame is not valid UTF-8"),
            Close::Idle => (1008, "no answer to pings"),
            Close::TooBig => (1009, "message too big"),
            Close::SlowConsumer => (4008, "too slow: reconnect to catch up"),
        }
    }

    pub const fn code(self) -> u16 {
        self.frame().0
    }

    pub const fn reason(self) -> &'static str {
        self.frame().1
    }

    /// The close a code stands for, if it is one of Palaver's.
    pub fn from_code(code: u16) -> Option<Close> {
        Close::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The order of a message in its room: assigned by the server, from 1, increasing by one.
pub type Seq = u64;

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
            Invalid::NameControl => f.write_str("a name cannot contain control characters"),
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
    } else if name.chars().any(char::is_control) {
        Err(Invalid::NameControl)
    } else {
        Ok(name.to_owned())
    }
}

/// Someone in the chat.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
}

/// Who a `hello` says this is. On the wire, a `token`, a `name`, or both; a display
/// name is checked (and trimmed) when the frame is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HelloFields", into = "HelloFields")]
pub enum Hello {
    /// Someone new, by the name they chose.
    Name(String),
    /// Someone back, by the session token an earlier `welcome` gave them.
    Token(String),
    /// Someone back, taking a new name.
    Rename { token: String, name: String },
}

impl Hello {
    /// The hello for what a client knows: a token, a name, or both (`None` for neither).
    pub fn from_parts(token: Option<String>, name: Option<String>) -> Option<Hello> {
        match (token, name) {
            (Some(token), Some(name)) => Some(Hello::Rename { token, name }),
            (Some(token), None) => Some(Hello::Token(token)),
            (None, Some(name)) => Some(Hello::Name(name)),
            (None, None) => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HelloFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl TryFrom<HelloFields> for Hello {
    type Error = String;
    fn try_from(fields: HelloFields) -> Result<Hello, String> {
        let name = fields.name.as_deref().map(validate_name).transpose().map_err(|e| e.to_string())?;
        Hello::from_parts(fields.token, name).ok_or_else(|| HELLO_NEEDS_SOMETHING.to_owned())
    }
}

impl From<Hello> for HelloFields {
    fn from(hello: Hello) -> HelloFields {
        match hello {
            Hello::Name(name) => HelloFields { token: None, name: Some(name) },
            Hello::Token(token) => HelloFields { token: Some(token), name: None },
            Hello::Rename { token, name } => HelloFields { token: Some(token), name: Some(name) },
        }
    }
}

const HELLO_NEEDS_SOMETHING: &str = "hello needs a token or a name";

/// What browsers send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Who this is: a session token from an earlier `welcome`, a name, or both (a rename).
    Hello(Hello),
    /// Start receiving a room: its latest messages, or everything after `after`.
    Join {
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Seq>,
    },
    /// Stop receiving a room.
    Leave { room: RoomId },
    /// Post a message to a joined room, answering message `reply_to` if given.
    Send {
        room: RoomId,
        id: ClientMsgId,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
    },
    /// Change the text of one's own message `target` (everyone sees it, marked edited).
    Edit { room: RoomId, id: ClientMsgId, target: Seq, text: String },
    /// Take back one's own message `target`: its text is gone, a tombstone stays.
    Delete { room: RoomId, id: ClientMsgId, target: Seq },
    /// Add (or, with `remove`, take back) my reaction `emoji` on message `target`.
    React {
        room: RoomId,
        id: ClientMsgId,
        target: Seq,
        emoji: String,
        #[serde(default, skip_serializing_if = "is_false")]
        remove: bool,
    },
    /// "I am typing" in a joined room; shown to the others for a few seconds.
    Typing { room: RoomId },
    /// The page of messages just before `before` in a joined room.
    History { room: RoomId, before: Seq },
    /// The page of messages around number `seq` in a joined room (to show a message
    /// that is not loaded, or to fill a hole after one).
    Around { room: RoomId, seq: Seq },
    /// Messages of every room with these words, newest first; the next page after the
    /// `next` of a `results` answer.
    Search {
        query: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
    },
    /// I have read a room up to number `seq` (the newest message I have seen; 0 in an
    /// empty room, which opens it: what comes later counts as unread). A read
    /// position only moves forward, and never past what this connection was sent (in a
    /// joined room); in another room, only `Seq::MAX` counts ("mark all as read", to its
    /// newest message), any other number is a stale read and does nothing.
    Read { room: RoomId, seq: Seq },
    /// Send me my unread counts (an `unread` answer with every room that has any), then
    /// each change to them as it happens: new messages, and reading in any of my tabs.
    Unread,
    /// How room `room` tells me of new messages from now on (in every tab of mine: an
    /// `unread` update carries it to each).
    Notify { room: RoomId, level: Level },
}

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

/// A message a search found, and where its text matches: ranges of characters (start
/// inclusive, end exclusive), in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub message: ChatMessage,
    pub marks: Vec<[u32; 2]>,
}

/// What a message is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Something someone wrote.
    #[default]
    Text,
    /// The author changed their name; `text` is the name they had before.
    Renamed,
    /// The author changed message `target`'s text to `text`.
    Edit,
    /// The author took back message `target`.
    Delete,
    /// The author reacted to message `target` with the emoji `text`.
    React,
    /// The author took back their reaction `text` on message `target`.
    Unreact,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Text,
        MessageKind::Renamed,
        MessageKind::Edit,
        MessageKind::Delete,
        MessageKind::React,
        MessageKind::Unreact,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Renamed => "renamed",
            MessageKind::Edit => "edit",
            MessageKind::Delete => "delete",
            MessageKind::React => "react",
            MessageKind::Unreact => "unreact",
        }
    }

    pub fn named(name: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A change to another message (`target`) rather than a line of its own.
    pub fn is_change(self) -> bool {
        matches!(self, MessageKind::Edit | MessageKind::Delete | MessageKind::React | MessageKind::Unreact)
    }
}

/// One emoji on a message, and who reacted with it (each person once), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub by: Vec<User>,
}

/// What a reply shows of the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quote {
    /// The original's author's name.
    pub author: String,
    /// The start of the original's first line (at most [`QUOTE_CHARS`] characters);
    /// empty once it was deleted.
    pub text: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

impl Quote {
    /// The quote of a message by `author` whose latest text is `text`.
    pub fn of(author: &str, text: &str, deleted: bool) -> Quote {
        let line = text.lines().next().unwrap_or_default();
        let mut short: String = line.chars().take(QUOTE_CHARS).collect();
        if short.len() < line.len() || text.lines().nth(1).is_some() {
            short.push('…');
        }
        Quote { author: author.to_owned(), text: if deleted { String::new() } else { short }, deleted }
    }
}

/// Where `@name`s in `text` name one of `names` (ignoring ASCII case; the longest name
/// that ends where a word does): the byte range of each `@name`, and the name.
pub fn find_mentions<'a>(text: &str, names: &[&'a str]) -> Vec<(std::ops::Range<usize>, &'a str)> {
    let mut found = Vec::new();
    let mut word_before = false;
    for (at, c) in text.char_indices() {
        if c == '@' && !word_before && found.last().is_none_or(|(r, _): &(std::ops::Range<usize>, _)| r.end <= at) {
            let after = &text[at + 1..];
            let best = names.iter().filter_map(|name| Some((name_length(after, name)?, *name))).max_by_key(|m| m.0);
            if let Some((len, name)) = best {
                found.push((at..at + 1 + len, name));
            }
        }
        word_before = is_word(c);
    }
    found
}

/// A letter or digit, for where a word ends: ASCII ones, and every other character but
/// spaces (names in other scripts are matched exactly, without Unicode's case and
/// letter tables, which would grow the page's WebAssembly).
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace())
}

/// How many bytes of `text` spell `name` (ignoring ASCII case) as a whole word, if it starts with it.
fn name_length(text: &str, name: &str) -> Option<usize> {
    let mut rest = text.char_indices();
    for n in name.chars() {
        let (_, c) = rest.next()?;
        if !c.eq_ignore_ascii_case(&n) {
            return None;
        }
    }
    match rest.next() {
        Some((_, c)) if is_word(c) => None,
        Some((end, _)) => Some(end),
        None if name.is_empty() => None,
        None => Some(text.len()),
    }
}

/// Add `user`'s `emoji` to `reactions` (or take it away): one of each per person.
pub fn toggle_reaction(reactions: &mut Vec<Reaction>, emoji: &str, user: &User, add: bool) {
    match reactions.iter().position(|r| r.emoji == emoji) {
        Some(at) if add => {
            if !reactions[at].by.iter().any(|u| u.id == user.id) {
                reactions[at].by.push(user.clone());
            }
        }
        Some(at) => {
            reactions[at].by.retain(|u| u.id != user.id);
            if reactions[at].by.is_empty() {
                reactions.remove(at);
            }
        }
        None if add => reactions.push(Reaction { emoji: emoji.to_owned(), by: vec![user.clone()] }),
        None => {}
    }
}

/// A message as everyone sees it once the server has stored it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room: RoomId,
    pub seq: Seq,
    /// The sender's id for this message.
    pub id: ClientMsgId,
    pub author: User,
    #[serde(default)]
    pub kind: MessageKind,
    pub text: String,
    /// Server time of acceptance, milliseconds since the Unix epoch (UTC).
    pub sent_at: i64,
    /// For an `edit`, `delete`, `react` or `unreact`: the number of the message it
    /// changes. For a `text` message: the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Seq>,
    /// On a message: its text was changed after it was sent (`text` is the latest).
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    /// On a message: taken back by its author (`text` is empty).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// On a reply: what it answers, as that message is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// On a message: its reactions now, in the order they were first made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// On a message or an edit: the people its `@name`s named when it was written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<User>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A run of a room's consecutive messages, oldest first, and whether older ones exist:
/// what the store loads, the server renders into a page, and a `history` answer carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub has_older: bool,
}

/// A room in the room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: RoomId,
    /// People (not tabs) in the room now.
    pub online: usize,
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
    /// Who is in a joined room now, all of them (after a connection caught up from
    /// storage; `joined` carries the same list).
    Presence { room: RoomId, online: Vec<User> },
    /// Someone came into a joined room, or is now known by another name there.
    Arrived { room: RoomId, user: User },
    /// Someone's last connection left a joined room.
    Departed { room: RoomId, user: User },
    /// Someone is typing in a joined room.
    Typing { room: RoomId, user: User },
    /// The rooms and how many people are in each (sent whenever it changes).
    Rooms { rooms: Vec<RoomSummary> },
    /// My read position and unread counts: the rooms that changed (a room at zero is
    /// read); with `all`, every room that has any (the answer to `unread`): any other
    /// room has none.
    Unread {
        rooms: Vec<RoomUnread>,
        #[serde(default, skip_serializing_if = "is_false")]
        all: bool,
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
    /// The text is longer than [`MAX_TEXT_CHARS`].
    TextTooLong,
    /// The client message id is empty or longer than [`MAX_CLIENT_MSG_ID_BYTES`].
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
    /// A reaction that is not one of [`REACTIONS`].
    BadReaction,
    /// The message already has [`MAX_REACTIONS`] kinds of reaction.
    TooManyReactions,
    /// A search query with no word to look for, or longer than [`MAX_QUERY_CHARS`].
    BadQuery,
}

impl ErrorReason {
    pub const ALL: [ErrorReason; 19] = [
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

/// Message text after trimming, checked against the limits: no control characters
/// but newline and tab (a NUL byte, for one, cannot be stored by every backend).
pub fn validate_text(text: &str) -> Result<&str, ErrorReason> {
    let text = text.trim();
    if text.is_empty() {
        Err(ErrorReason::EmptyText)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(ErrorReason::TextTooLong)
    } else if has_control(text, &['\n', '\t']) {
        Err(ErrorReason::BadFrame)
    } else {
        Ok(text)
    }
}

/// Whether `text` holds a control character other than those `allowed`.
pub fn has_control(text: &str, allowed: &[char]) -> bool {
    text.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

impl ClientMsg {
    /// Parses and validates one text frame from a client. Rooms, names and ids are
    /// checked as they are read; text comes back trimmed.
    pub fn decode(frame: &str) -> Result<ClientMsg, FrameError> {
        serde_json::from_str::<ClientMsg>(frame).map_err(|e| explain(frame, &e))?.validated()
    }

    /// Checks what reading a frame cannot: a `send`'s id and text (trimmed), and that
    /// every message number is one a store can hold (at most [`MAX_SEQ`]).
    pub fn validated(self) -> Result<ClientMsg, FrameError> {
        if let Some((room, n)) = self.numbers().find(|(_, n)| *n > MAX_SEQ) {
            let detail = format!("message numbers are at most {MAX_SEQ}, not {n}");
            return Err(FrameError::new(ErrorReason::BadFrame, detail).about(room, self.id()));
        }
        if let ClientMsg::Search { query, before } = &self {
            let query = query.trim();
            if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
                let detail = format!("a search query has 1 to {MAX_QUERY_CHARS} characters");
                return Err(FrameError::new(ErrorReason::BadQuery, detail));
            }
            if has_control(query, &[]) {
                return Err(FrameError::new(ErrorReason::BadQuery, "a search query cannot contain control characters"));
            }
            return Ok(ClientMsg::Search { query: query.to_owned(), before: *before });
        }
        let (room, id) = match &self {
            ClientMsg::Send { room, id, .. }
            | ClientMsg::Edit { room, id, .. }
            | ClientMsg::Delete { room, id, .. }
            | ClientMsg::React { room, id, .. } => (room, id),
            _ => return Ok(self),
        };
        if id.0.is_empty() || id.0.len() > MAX_CLIENT_MSG_ID_BYTES || has_control(&id.0, &[]) {
            let detail = format!("id must be 1 to {MAX_CLIENT_MSG_ID_BYTES} bytes, without control characters");
            return Err(FrameError::new(ErrorReason::BadId, detail).about(Some(room), None));
        }
        let checked = |text: &str| {
            validate_text(text).map(str::to_owned).map_err(|reason| {
                let detail = match reason {
                    ErrorReason::EmptyText => "message text is empty".to_owned(),
                    ErrorReason::BadFrame => {
                        "message text cannot contain control characters other than newline and tab".to_owned()
                    }
                    _ => format!("message text is longer than {MAX_TEXT_CHARS} characters"),
                };
                FrameError::new(reason, detail).about(Some(room), Some(id))
            })
        };
        match &self {
            ClientMsg::Send { room, id, text, reply_to } => {
                Ok(ClientMsg::Send { text: checked(text)?, id: id.clone(), room: room.clone(), reply_to: *reply_to })
            }
            ClientMsg::React { emoji, .. } if !REACTIONS.contains(&emoji.as_str()) => {
                let detail = format!("a reaction is one of {}", REACTIONS.concat());
                Err(FrameError::new(ErrorReason::BadReaction, detail).about(Some(room), Some(id)))
            }
            ClientMsg::Edit { room, id, target, text } => {
                Ok(ClientMsg::Edit { text: checked(text)?, id: id.clone(), room: room.clone(), target: *target })
            }
            _ => Ok(self),
        }
    }

    /// The message numbers the frame carries, with its room, but a `read`'s (any number
    /// there means "up to the newest I was sent").
    fn numbers(&self) -> impl Iterator<Item = (Option<&RoomId>, Seq)> {
        let (room, numbers): (Option<&RoomId>, [Option<Seq>; 1]) = match self {
            ClientMsg::Join { room, after } => (Some(room), [*after]),
            ClientMsg::Send { room, reply_to, .. } => (Some(room), [*reply_to]),
            ClientMsg::Edit { room, target, .. }
            | ClientMsg::Delete { room, target, .. }
            | ClientMsg::React { room, target, .. } => (Some(room), [Some(*target)]),
            ClientMsg::History { room, before } => (Some(room), [Some(*before)]),
            ClientMsg::Around { room, seq } => (Some(room), [Some(*seq)]),
            ClientMsg::Search { before, .. } => (None, [*before]),
            _ => (None, [None]),
        };
        numbers.into_iter().flatten().map(move |n| (room, n))
    }

    /// The client's id of a post frame.
    fn id(&self) -> Option<&ClientMsgId> {
        match self {
            ClientMsg::Send { id, .. }
            | ClientMsg::Edit { id, .. }
            | ClientMsg::Delete { id, .. }
            | ClientMsg::React { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The frame as JSON text (the same as serde writes; see [`json`]).
    pub fn encode(&self) -> String {
        json::encode_client(self)
    }
}

const KNOWN_TYPES: &[&str] = &[
    "hello", "join", "leave", "send", "edit", "delete", "react", "typing", "history", "around", "search", "read",
    "unread", "notify",
];

/// Why a frame could not be read, in the protocol's terms: the frame is read again
/// loosely to find the field at fault. In this order: an unknown type, a bad room, a
/// hello's bad or missing name; anything else is a bad frame.
fn explain(frame: &str, e: &serde_json::Error) -> FrameError {
    use serde_json::Value;
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(frame) else {
        return FrameError::new(ErrorReason::BadFrame, format!("not a JSON object frame: {e}"));
    };
    let kind = obj.get("type").and_then(Value::as_str);
    if let Some(kind) = kind.filter(|k| !KNOWN_TYPES.contains(k)) {
        return FrameError::new(ErrorReason::UnknownType, format!("unknown frame type {kind:?}"));
    }
    if let Some(Err(detail)) = obj.get("room").and_then(Value::as_str).map(RoomId::parse) {
        return FrameError::new(ErrorReason::BadRoom, detail.to_string());
    }
    if kind == Some("hello") {
        let given = |field: &str| obj.get(field).is_some_and(|v| !v.is_null());
        if let Some(Err(detail)) = obj.get("name").and_then(Value::as_str).map(validate_name) {
            return FrameError::new(ErrorReason::BadName, detail.to_string());
        }
        if !given("name") && !given("token") {
            return FrameError::new(ErrorReason::BadName, HELLO_NEEDS_SOMETHING);
        }
    }
    FrameError::new(ErrorReason::BadFrame, format!("invalid frame: {e}"))
}

impl ServerMsg {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    /// Reads a server frame: the same as deserialising [`ServerMsg`] with serde, by the
    /// plain reader of [`json`], which keeps the page's WebAssembly small.
    pub fn decode(frame: &str) -> Result<ServerMsg, json::JsonError> {
        let value = json::Json::parse(frame)?;
        json::decode_server(&value).ok_or(json::JsonError { at: 0, what: "not a server frame" })
    }
}

/// Properties of the decoder over generated frames (a fuzz target; see docs/SECURITY.md).
#[cfg(test)]
mod fuzz;

/// The plain JSON of the page against serde's.
#[cfg(test)]
mod json_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    fn lobby() -> RoomId {
        RoomId::lobby()
    }

    fn send(text: &str) -> String {
        serde_json::json!({"type": "send", "room": "lobby", "id": "m1", "text": text}).to_string()
    }

    fn alice() -> User {
        User { id: UserId("u1".into()), name: "Alice".into() }
    }

    #[test]
    fn send_round_trips_with_its_wire_shape() {
        let msg = ClientMsg::Send { room: lobby(), id: id("a1"), text: "hello".into(), reply_to: None };
        let wire = msg.encode();
        assert_eq!(wire, r#"{"type":"send","room":"lobby","id":"a1","text":"hello"}"#);
        assert_eq!(ClientMsg::decode(&wire).unwrap(), msg);
    }

    #[test]
    fn every_client_frame_round_trips() {
        let frames = [
            ClientMsg::Hello(Hello::Token("t".into())),
            ClientMsg::Hello(Hello::Name("Ann".into())),
            ClientMsg::Hello(Hello::Rename { token: "t".into(), name: "Ann".into() }),
            ClientMsg::Join { room: lobby(), after: Some(3) },
            ClientMsg::Join { room: lobby(), after: None },
            ClientMsg::Leave { room: lobby() },
            ClientMsg::Typing { room: lobby() },
            ClientMsg::History { room: lobby(), before: 51 },
            ClientMsg::Around { room: lobby(), seq: 7 },
            ClientMsg::Send { room: lobby(), id: id("r"), text: "yes".into(), reply_to: Some(3) },
            ClientMsg::React { room: lobby(), id: id("x"), target: 3, emoji: "👍".into(), remove: false },
            ClientMsg::React { room: lobby(), id: id("y"), target: 3, emoji: "🎉".into(), remove: true },
        ];
        for frame in frames {
            assert_eq!(ClientMsg::decode(&frame.encode()).unwrap(), frame);
        }
    }

    #[test]
    fn hello_keeps_its_wire_shape() {
        let rename = ClientMsg::Hello(Hello::Rename { token: "t".into(), name: "Ann".into() });
        assert_eq!(rename.encode(), r#"{"type":"hello","token":"t","name":"Ann"}"#);
        assert_eq!(ClientMsg::Hello(Hello::Token("t".into())).encode(), r#"{"type":"hello","token":"t"}"#);
        assert_eq!(ClientMsg::Hello(Hello::Name("Ann".into())).encode(), r#"{"type":"hello","name":"Ann"}"#);
        let named = ClientMsg::decode(r#"{"type":"hello","name":"  Ann ","token":null}"#).unwrap();
        assert_eq!(named, ClientMsg::Hello(Hello::Name("Ann".into())), "names are trimmed as they are read");
    }

    #[test]
    fn every_close_is_listed_in_the_protocol_reference_with_its_reason() {
        let reference = include_str!("../../docs/PROTOCOL.md");
        for close in Close::ALL {
            let row = format!("| {} | `{}` |", close.code(), close.reason());
            assert!(reference.contains(&row), "docs/PROTOCOL.md lacks {row}");
            assert_eq!(Close::from_code(close.code()), Some(close));
        }
        assert_eq!(Close::from_code(1000), None);
        for emoji in REACTIONS {
            assert!(reference.contains(emoji), "docs/PROTOCOL.md lacks the reaction {emoji}");
        }
    }

    #[test]
    fn server_frames_round_trip() {
        let message = ChatMessage {
            room: lobby(),
            seq: 7,
            id: id("x"),
            author: alice(),
            kind: MessageKind::Text,
            text: "<b>hi</b> ünï".into(),
            sent_at: 1_700_000_000_000,
            target: Some(2),
            edited: false,
            deleted: false,
            quote: Some(Quote::of("Bob", "the question", false)),
            reactions: vec![Reaction { emoji: "👍".into(), by: vec![alice()] }],
            mentions: vec![alice()],
        };
        let frames = [
            ServerMsg::Welcome { user: alice(), token: "tok".into() },
            ServerMsg::Joined {
                room: lobby(),
                messages: vec![message.clone()],
                complete: true,
                has_older: false,
                online: vec![alice()],
            },
            ServerMsg::Message(message.clone()),
            ServerMsg::Ack { room: lobby(), id: id("x"), seq: 7 },
            ServerMsg::Older { room: lobby(), messages: vec![message.clone()], has_older: true },
            ServerMsg::Around { room: lobby(), seq: 7, messages: vec![message], has_older: false },
            ServerMsg::Arrived { room: lobby(), user: alice() },
            ServerMsg::Departed { room: lobby(), user: alice() },
            ServerMsg::Presence { room: lobby(), online: vec![alice()] },
            ServerMsg::Typing { room: lobby(), user: alice() },
            ServerMsg::Rooms { rooms: vec![RoomSummary { room: lobby(), online: 2 }] },
            FrameError::new(ErrorReason::TextTooLong, "too long").about(Some(&lobby()), Some(&id("x"))).into(),
            FrameError::binary().into(),
        ];
        for frame in frames {
            let wire = frame.encode();
            assert_eq!(ServerMsg::decode(&wire).unwrap(), frame);
            assert_eq!(serde_json::from_str::<ServerMsg>(&wire).unwrap(), frame, "decode reads as serde does");
        }
        for bad in [r#"{"type":"ack","room":"lobby","id":"x"}"#, r#"{"type":"nope"}"#, r#"{"room":"lobby"}"#, "[]"] {
            assert!(ServerMsg::decode(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<ServerMsg>(bad).is_err(), "{bad}");
        }
        let wire = ServerMsg::Ack { room: lobby(), id: id("x"), seq: 7 }.encode();
        assert_eq!(wire, r#"{"type":"ack","room":"lobby","id":"x","seq":7}"#);
    }

    #[test]
    fn text_is_trimmed() {
        let msg = ClientMsg::decode(&send("  hi there \n")).unwrap();
        assert_eq!(msg, ClientMsg::Send { room: lobby(), id: id("m1"), text: "hi there".into(), reply_to: None });
    }

    #[test]
    fn malformed_frames_are_bad_frames() {
        for frame in [
            "",
            "not json",
            "[1,2]",
            "{",
            r#"{"room":"lobby","id":"a","text":"x"}"#,
            r#"{"type":"send","room":"lobby","id":"a"}"#,
            r#"{"type":7}"#,
            r#"{"type":"send","room":"lobby","id":5,"text":"x"}"#,
            r#"{"type":"join","room":"lobby","after":-1}"#,
        ] {
            let err = ClientMsg::decode(frame).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "frame {frame:?} gave {err:?}");
            assert!(!err.detail.is_empty());
        }
    }

    #[test]
    fn fields_the_protocol_does_not_have_are_ignored() {
        let frame = r#"{"type":"send","room":"lobby","id":"a","text":"x","author":{"id":"u9","name":"Mallory"}}"#;
        let msg = ClientMsg::decode(frame).unwrap();
        assert_eq!(msg, ClientMsg::Send { room: lobby(), id: id("a"), text: "x".into(), reply_to: None });
    }

    #[test]
    fn unknown_types_are_named() {
        let err = ClientMsg::decode(r#"{"type":"shout","text":"x"}"#).unwrap_err();
        assert_eq!(err.reason, ErrorReason::UnknownType);
        assert!(err.detail.contains("shout"));
    }

    #[test]
    fn empty_and_whitespace_text_is_refused_with_its_id() {
        for text in ["", " ", "\n\t  "] {
            let err = ClientMsg::decode(&send(text)).unwrap_err();
            assert_eq!(err.reason, ErrorReason::EmptyText);
            assert_eq!(err.id, Some(id("m1")));
            assert_eq!(err.room, Some(lobby()));
        }
    }

    #[test]
    fn text_length_is_counted_in_characters() {
        let at_limit = send(&"é".repeat(MAX_TEXT_CHARS));
        assert!(ClientMsg::decode(&at_limit).is_ok());
        let over = send(&"a".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(ClientMsg::decode(&over).unwrap_err().reason, ErrorReason::TextTooLong);
    }

    #[test]
    fn control_characters_are_refused_in_text_ids_and_queries() {
        // A NUL byte, which PostgreSQL cannot store in text, among others; newline and tab stay.
        for bad in ["a\u{0}b", "bell\u{7}", "a\u{1b}[31mred", "x\u{7f}", "x\u{85}y", "cr\rlf"] {
            let err = ClientMsg::decode(&send(bad)).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "{bad:?}");
            assert!(err.detail.contains("control"), "{}", err.detail);
            assert_eq!(err.id, Some(id("m1")));
            let edit = serde_json::json!({"type": "edit", "room": "lobby", "id": "e1", "target": 1, "text": bad});
            assert_eq!(ClientMsg::decode(&edit.to_string()).unwrap_err().reason, ErrorReason::BadFrame);
            let query = serde_json::json!({"type": "search", "query": bad}).to_string();
            assert_eq!(ClientMsg::decode(&query).unwrap_err().reason, ErrorReason::BadQuery, "{bad:?}");
            let frame = serde_json::json!({"type": "send", "room": "lobby", "id": bad, "text": "hi"}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadId, "{bad:?}");
        }
        assert!(ClientMsg::decode(&send("line one\n\tline two")).is_ok());
    }

    #[test]
    fn message_numbers_are_ones_a_store_can_hold() {
        let frames = [
            serde_json::json!({"type": "join", "room": "lobby", "after": u64::MAX}),
            serde_json::json!({"type": "history", "room": "lobby", "before": MAX_SEQ + 1}),
            serde_json::json!({"type": "around", "room": "lobby", "seq": u64::MAX}),
            serde_json::json!({"type": "send", "room": "lobby", "id": "m1", "text": "x", "reply_to": u64::MAX}),
            serde_json::json!({"type": "edit", "room": "lobby", "id": "m1", "target": u64::MAX, "text": "x"}),
            serde_json::json!({"type": "delete", "room": "lobby", "id": "m1", "target": u64::MAX}),
            serde_json::json!({"type": "react", "room": "lobby", "id": "m1", "target": u64::MAX, "emoji": "👍"}),
            serde_json::json!({"type": "search", "query": "x", "before": u64::MAX}),
        ];
        for frame in frames {
            let err = ClientMsg::decode(&frame.to_string()).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "{frame}");
            assert!(err.detail.contains(&MAX_SEQ.to_string()), "{}", err.detail);
        }
        let at_most = serde_json::json!({"type": "around", "room": "lobby", "seq": MAX_SEQ});
        assert!(ClientMsg::decode(&at_most.to_string()).is_ok());
        let read_all = serde_json::json!({"type": "read", "room": "lobby", "seq": u64::MAX});
        assert!(ClientMsg::decode(&read_all.to_string()).is_ok(), "mark all as read");
    }

    #[test]
    fn ids_are_bounded() {
        for bad in [String::new(), "x".repeat(MAX_CLIENT_MSG_ID_BYTES + 1)] {
            let frame = serde_json::json!({"type": "send", "room": "lobby", "id": bad, "text": "hi"}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadId);
        }
    }

    #[test]
    fn room_names_are_validated() {
        for good in ["lobby", "a", "team-42_x", &"z".repeat(MAX_ROOM_CHARS)] {
            assert!(RoomId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Lobby", "with space", "ünï", "a/b", "../x", &"z".repeat(MAX_ROOM_CHARS + 1)] {
            assert!(RoomId::parse(bad).is_err(), "{bad}");
            let frame = serde_json::json!({"type": "join", "room": bad}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadRoom, "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Ann Lee "), Ok("Ann Lee".into()));
        assert_eq!(validate_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()), Ok(MAX_NAME_CHARS));
        for bad in ["", "   ", "a\u{7}b", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        let frame = r#"{"type":"hello","name":"   "}"#;
        assert_eq!(ClientMsg::decode(frame).unwrap_err().reason, ErrorReason::BadName);
        assert_eq!(ClientMsg::decode(r#"{"type":"hello"}"#).unwrap_err().reason, ErrorReason::BadName);
    }

    #[test]
    fn largest_valid_frame_fits_the_frame_limit() {
        let text = "\u{1F600}".repeat(MAX_TEXT_CHARS);
        let frame = ClientMsg::Send {
            room: RoomId("r".repeat(MAX_ROOM_CHARS)),
            id: ClientMsgId("x".repeat(MAX_CLIENT_MSG_ID_BYTES)),
            text,
            reply_to: Some(Seq::MAX),
        }
        .encode();
        assert!(frame.len() <= MAX_FRAME_BYTES, "{} bytes", frame.len());
    }

    #[test]
    fn reactions_are_one_of_the_set_and_one_per_person() {
        let frame = |emoji: &str| {
            serde_json::json!({"type": "react", "room": "lobby", "id": "r1", "target": 4, "emoji": emoji}).to_string()
        };
        for emoji in REACTIONS {
            assert!(ClientMsg::decode(&frame(emoji)).is_ok(), "{emoji}");
        }
        for bad in ["", "x", "👍👍", "<script>", "🦀"] {
            let err = ClientMsg::decode(&frame(bad)).unwrap_err();
            assert_eq!((err.reason, err.id), (ErrorReason::BadReaction, Some(id("r1"))), "{bad:?}");
        }
        assert!(REACTIONS.len() > MAX_REACTIONS, "the limit can be reached from the picker");
        let bob = User { id: UserId("u2".into()), name: "Bob".into() };
        let mut reactions = Vec::new();
        toggle_reaction(&mut reactions, "👍", &alice(), true);
        toggle_reaction(&mut reactions, "👍", &alice(), true);
        toggle_reaction(&mut reactions, "🎉", &bob, true);
        toggle_reaction(&mut reactions, "👍", &bob, true);
        assert_eq!(
            reactions.iter().map(|r| (r.emoji.as_str(), r.by.len())).collect::<Vec<_>>(),
            [("👍", 2), ("🎉", 1)]
        );
        toggle_reaction(&mut reactions, "🎉", &bob, false);
        toggle_reaction(&mut reactions, "🎉", &bob, false);
        toggle_reaction(&mut reactions, "👍", &alice(), false);
        assert_eq!(reactions, [Reaction { emoji: "👍".into(), by: vec![bob] }]);
    }

    #[test]
    fn a_quote_is_the_start_of_the_first_line() {
        assert_eq!(Quote::of("Ann", "short", false).text, "short");
        assert_eq!(Quote::of("Ann", "line one\nline two", false).text, "line one…");
        let long = Quote::of("Ann", &"é".repeat(QUOTE_CHARS + 5), false);
        assert_eq!(long.text.chars().count(), QUOTE_CHARS + 1);
        assert_eq!(Quote::of("Ann", "gone", true), Quote { author: "Ann".into(), text: String::new(), deleted: true });
    }

    #[test]
    fn mentions_are_whole_names_after_an_at_sign() {
        let names = ["Ann", "Ann Lee", "Bob", "김민수"];
        let named = |text: &'static str| {
            find_mentions(text, &names).into_iter().map(|(r, n)| (&text[r], n)).collect::<Vec<_>>()
        };
        assert_eq!(named("hi @ann and @Ann Lee!"), [("@ann", "Ann"), ("@Ann Lee", "Ann Lee")]);
        assert_eq!(named("@Bob"), [("@Bob", "Bob")]);
        assert_eq!(named("@김민수 님"), [("@김민수", "김민수")]);
        assert!(named("@Bobby mail@bob.org @ nobody @").is_empty(), "not part of a longer word or an address");
    }
}
