//! Where messages last: one trait, one file per backend. The hub batches writes and
//! calls [`Store::append`] from a single writer per node, so backends number messages in
//! order: SQLite for one machine, PostgreSQL for several nodes sharing one database.

/// Whether person `$person` (a parameter) may read the room in column `$room`: it is
/// public and they were not removed from it, or they are listed in it. Only accounts
/// are ever listed, so a guest's id (or `''`, a visitor's) reads public rooms only.
/// The rules themselves are `access.rs`'s; this is their SQL, for reads over many rooms.
macro_rules! readable {
    ($room:literal, $person:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM room_members x WHERE x.room = ",
            $room,
            " AND x.user_id = ",
            $person,
            " AND x.removed <> 0) AND (NOT EXISTS (SELECT 1 FROM room_rules y WHERE y.room = ",
            $room,
            " AND y.kind <> 'public') OR EXISTS (SELECT 1 FROM room_members z WHERE z.room = ",
            $room,
            " AND z.user_id = ",
            $person,
            " AND z.removed = 0))"
        )
    };
}

pub mod accounts;
#[cfg(test)]
mod accounts_tests;
pub mod files;
mod history;
pub mod passkeys;
pub mod postgres;
pub mod previews;
pub mod push;
pub mod rooms;
#[cfg(test)]
mod rooms_tests;
pub mod sqlite;
#[cfg(test)]
mod tests;

use crate::words::Query;
use async_trait::async_trait;
use palaver_protocol::{
    toggle_reaction, ChatMessage, ClientMsgId, ErrorReason, FrameError, HistoryPage, Level, MessageKind, Quote, RoomId,
    RoomListing, Seq, User, UserId,
};
use std::{error::Error, sync::Arc};

/// A message on its way to the store, which gives it its number.
#[derive(Debug, Clone)]
pub struct Post {
    pub room: RoomId,
    pub id: ClientMsgId,
    pub author: User,
    pub kind: MessageKind,
    pub text: String,
    /// When the server took it, in milliseconds since the Unix epoch.
    pub sent_at: i64,
    /// For an edit, a delete or a reaction: the message it changes; for a message,
    /// the one it answers.
    pub target: Option<Seq>,
    /// For a message or an edit: the people its `@name`s name.
    pub mentions: Vec<User>,
    /// For a delete: an admin takes down someone's message (the role was checked).
    pub removed: bool,
    /// For a message: the files it carries (claimed for it in the store).
    pub files: Vec<palaver_protocol::Attachment>,
}

impl Post {
    /// Something `author` wrote, taken now.
    pub fn text(room: RoomId, author: User, id: ClientMsgId, text: String) -> Post {
        let (target, mentions) = (None, Vec::new());
        let (kind, files) = (MessageKind::Text, Vec::new());
        Post { room, id, author, kind, text, sent_at: now_ms(), target, mentions, removed: false, files }
    }

    /// `author`'s answer to message `target`.
    pub fn reply(room: RoomId, author: User, id: ClientMsgId, text: String, target: Option<Seq>) -> Post {
        Post { target, ..Post::text(room, author, id, text) }
    }

    /// `author` reacts to message `target` with `emoji` (or takes it back).
    pub fn react(room: RoomId, author: User, id: ClientMsgId, target: Seq, emoji: String, remove: bool) -> Post {
        let kind = if remove { MessageKind::Unreact } else { MessageKind::React };
        Post { kind, target: Some(target), ..Post::text(room, author, id, emoji) }
    }

    /// With these files.
    pub fn carrying(self, files: Vec<palaver_protocol::Attachment>) -> Post {
        Post { files, ..self }
    }

    /// With the people these `@name`s name.
    pub fn mentioning(self, mentions: Vec<User>) -> Post {
        Post { mentions, ..self }
    }

    /// `author`'s new text for their message `target`.
    pub fn edit(room: RoomId, author: User, id: ClientMsgId, target: Seq, text: String) -> Post {
        Post { kind: MessageKind::Edit, target: Some(target), ..Post::text(room, author, id, text) }
    }

    /// `author` takes back their message `target`.
    pub fn delete(room: RoomId, author: User, id: ClientMsgId, target: Seq) -> Post {
        Post { kind: MessageKind::Delete, target: Some(target), ..Post::text(room, author, id, String::new()) }
    }

    /// An admin (`author`) takes down message `target`, whoever wrote it.
    pub fn remove(room: RoomId, author: User, id: ClientMsgId, target: Seq) -> Post {
        Post { removed: true, ..Post::delete(room, author, id, target) }
    }

    /// The kind's name as the store keeps it: an admin's delete is a `remove`.
    pub fn stored_kind(&self) -> &'static str {
        if self.removed && self.kind == MessageKind::Delete {
            REMOVE
        } else {
            self.kind.name()
        }
    }

    /// The message as stored, with its number.
    pub fn numbered(self, seq: Seq) -> ChatMessage {
        ChatMessage {
            room: self.room,
            seq,
            id: self.id,
            author: self.author,
            kind: self.kind,
            text: self.text,
            sent_at: self.sent_at,
            target: self.target,
            edited: false,
            deleted: false,
            removed: self.removed,
            quote: None,
            reactions: Vec::new(),
            mentions: self.mentions,
            preview: None,
            files: self.files,
        }
    }

    /// The notice that `author` (by their new name) was known as `old_name`.
    pub fn renamed(room: RoomId, author: User, id: ClientMsgId, old_name: String) -> Post {
        Post { kind: MessageKind::Renamed, ..Post::text(room, author, id, old_name) }
    }
}

/// Now, in milliseconds since the Unix epoch, as every stored time is.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// What became of one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
// One per post of a batch, handed on at once.
#[allow(clippy::large_enum_variant)]
pub enum Appended {
    /// Stored, with its number.
    New(ChatMessage),
    /// The same author already posted this client id in this room, as this number.
    Duplicate(Seq),
    /// An edit or delete that may not be made: nothing was stored.
    Refused(Refusal),
}

/// Why an edit or delete was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The target is not a message of this room.
    NoSuchMessage,
    /// The target is someone else's.
    NotYours,
    /// The target was deleted.
    Deleted,
    /// A new kind of reaction on a message that has as many kinds as it may.
    TooManyReactions,
}

impl Refusal {
    /// What the database records for it (both backends).
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoSuchMessage => "no_such_message",
            Refusal::NotYours => "not_yours",
            Refusal::Deleted => "deleted",
            Refusal::TooManyReactions => "too_many_reactions",
        }
    }

    pub fn parse(s: &str) -> Option<Refusal> {
        [Refusal::NoSuchMessage, Refusal::NotYours, Refusal::Deleted, Refusal::TooManyReactions]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// Whether the target as stored (its author, kind, and whether deleted) allows
    /// `post`: anyone may answer or react, only the author edit or delete.
    pub fn check(post: &Post, author: &str, kind: &str, deleted: bool) -> Result<(), Refusal> {
        let authors_only = matches!(post.kind, MessageKind::Edit | MessageKind::Delete) && !post.removed;
        if kind != "text" {
            Err(Refusal::NoSuchMessage)
        } else if authors_only && author != post.author.id.as_str() {
            Err(Refusal::NotYours)
        } else if deleted {
            Err(Refusal::Deleted)
        } else {
            Ok(())
        }
    }
}

/// How the store names an admin's delete (a `delete` with `removed` on the wire).
pub const REMOVE: &str = "remove";

/// The kind of a stored row: its name on the wire, as both backends write it (an
/// unknown name, from a newer version, reads as text; a `remove` is a delete).
pub fn kind_from_str(kind: &str) -> MessageKind {
    if kind == REMOVE {
        return MessageKind::Delete;
    }
    MessageKind::named(kind).unwrap_or_default()
}

/// How a message's mentions are kept in the database (both backends): JSON, or NULL.
pub fn mentions_to_db(mentions: &[User]) -> Option<String> {
    (!mentions.is_empty()).then(|| serde_json::to_string(mentions).unwrap_or_default())
}

pub fn mentions_from_db(column: Option<String>) -> Vec<User> {
    column.and_then(|json| serde_json::from_str(&json).ok()).unwrap_or_default()
}

/// The numbers of a page's messages whose reactions and quotes are to be read: every
/// message, and every original a reply answers.
pub fn lookups(messages: &[ChatMessage]) -> (Vec<i64>, Vec<i64>) {
    let texts = messages.iter().filter(|m| m.kind == MessageKind::Text);
    let shown = texts.clone().filter(|m| !m.deleted).map(|m| m.seq as i64).collect();
    let originals = texts.filter_map(|m| m.target).map(|t| t as i64).collect();
    (shown, originals)
}

/// A message as one row of the reactions table gives it: number, emoji, who.
pub type ReactionRow = (Seq, String, User);
/// An original as a reply quotes it: number, author's name, text, deleted.
pub type OriginalRow = (Seq, String, String, bool);

/// Finishes messages read from a store: each message's reactions (rows in the order
/// they were made) and each reply's quote.
pub fn decorate(messages: &mut [ChatMessage], reactions: Vec<ReactionRow>, originals: Vec<OriginalRow>) {
    let at = |messages: &[ChatMessage], seq: Seq| messages.binary_search_by_key(&seq, |m| m.seq).ok();
    for (seq, emoji, user) in reactions {
        if let Some(i) = at(messages, seq) {
            toggle_reaction(&mut messages[i].reactions, &emoji, &user, true);
        }
    }
    for m in messages.iter_mut().filter(|m| m.kind == MessageKind::Text) {
        if let Some((_, author, text, deleted)) = originals.iter().find(|o| Some(o.0) == m.target) {
            m.quote = Some(Quote::of(author, text, *deleted));
        }
    }
}

/// A message a search found, and its place in the order of search results (newest
/// first is highest first), from which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub position: u64,
    pub message: ChatMessage,
}

/// Where a person stopped reading a room, and what came since, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub room: RoomId,
    /// How far they have read; `None` for a room they never opened.
    pub read: Option<Seq>,
    /// The newest (at most [`UNREAD_KEPT`]) text messages from others after `read`,
    /// oldest first; for a room never opened, only those that mention them.
    pub unread: Vec<Seq>,
    /// Of the messages after `read`, those that mention them (newest, at most
    /// [`UNREAD_KEPT`]), oldest first.
    pub mentions: Vec<Seq>,
    /// The first message after `read` that counts, even when more than
    /// [`UNREAD_KEPT`] do.
    pub first: Option<Seq>,
}

/// Unread messages a store reads per room at most: a count past it shows as many.
pub const UNREAD_KEPT: usize = 1000;

/// The reads of unread counts, the same for both backends (`$1` the person, `$2` the
/// room, `$3` the read position, `$4` how many).
pub(crate) mod unread_sql {
    pub const READS: &str =
        concat!("SELECT room, seq FROM reads WHERE user_id = $1 AND ", readable!("reads.room", "$1"));
    /// Text messages from others after the read position, newest first.
    pub const OTHERS: &str = "SELECT seq FROM messages WHERE room = $2 AND seq > $3 AND kind = 'text' \
         AND NOT deleted AND author_id <> $1 ORDER BY seq DESC LIMIT $4";
    pub const FIRST: &str = "SELECT seq FROM messages WHERE room = $2 AND seq > $3 AND kind = 'text' \
         AND NOT deleted AND author_id <> $1 ORDER BY seq LIMIT 1";
    /// Messages from others that mention the person after the read position.
    pub const MENTIONS: &str = "SELECT n.seq FROM mentioned n JOIN messages m ON m.room = n.room AND m.seq = n.seq \
         WHERE n.user_id = $1 AND n.room = $2 AND n.seq > $3 AND m.author_id <> $1 ORDER BY n.seq DESC LIMIT $4";
    /// Messages from others that mention the person in rooms they never opened.
    pub const LEVELS: &str = "SELECT room, level FROM levels WHERE user_id = $1";
    pub const SET_LEVEL: &str = "INSERT INTO levels (user_id, room, level) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id, room) DO UPDATE SET level = excluded.level";
    pub const DEFAULT_LEVEL: &str = "DELETE FROM levels WHERE user_id = $1 AND room = $2";
    pub const FORGET_READ: &str = "DELETE FROM reads WHERE user_id = $1 AND room = $2";
    pub const MENTIONS_ELSEWHERE: &str = concat!(
        "SELECT n.room, n.seq FROM mentioned n \
         JOIN messages m ON m.room = n.room AND m.seq = n.seq \
         WHERE n.user_id = $1 AND m.author_id <> $1 \
         AND NOT EXISTS (SELECT 1 FROM reads r WHERE r.user_id = $1 AND r.room = n.room) AND ",
        readable!("n.room", "$1"),
        " ORDER BY n.room, n.seq DESC"
    );
}

/// The reads of the directory of rooms, the same for both backends (`$1` a room name).
pub(crate) mod directory_sql {
    /// The first room with messages after `$1` (an index seek).
    pub const NEXT_WITH_MESSAGES: &str = "SELECT room FROM messages WHERE room > $1 ORDER BY room LIMIT 1";
    /// Rooms on someone's list after `$1`, `$2` of them.
    pub const WITH_MEMBERS: &str = "SELECT room FROM members WHERE room > $1 AND count > 0 ORDER BY room LIMIT $2";
    pub const MEMBERS: &str = "SELECT count FROM members WHERE room = $1";
    pub const LAST_AT: &str = "SELECT sent_at FROM messages WHERE room = $1 ORDER BY seq DESC LIMIT 1";
}

/// The first `limit` rooms of two lists in name order, each room once.
pub(crate) fn first_rooms(a: Vec<RoomId>, b: Vec<RoomId>, limit: usize) -> Vec<RoomId> {
    let mut all: Vec<RoomId> = a.into_iter().chain(b).collect();
    all.sort();
    all.dedup();
    all.truncate(limit);
    all
}

/// A room never opened, from its mentions of the person (newest first, as read).
pub(crate) fn never_opened(mentions: Vec<(RoomId, Seq)>) -> Vec<Unread> {
    let mut out: Vec<Unread> = Vec::new();
    for (room, seq) in mentions {
        match out.last_mut() {
            Some(last) if last.room == room => {
                if last.mentions.len() < UNREAD_KEPT {
                    last.mentions.push(seq);
                }
            }
            _ => out.push(Unread { room, read: None, unread: Vec::new(), mentions: vec![seq], first: None }),
        }
    }
    for u in &mut out {
        u.mentions.reverse();
        u.unread = u.mentions.clone();
        u.first = u.mentions.first().copied();
    }
    out
}

/// The cause of a store error, shared: one failed commit answers every post in it.
pub type Cause = Arc<dyn Error + Send + Sync>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the message store at {path}: {source}")]
    Open { path: String, source: Cause },
    #[error("message store: {0}")]
    Backend(#[source] Cause),
}

impl StoreError {
    pub fn backend(e: impl Into<Box<dyn Error + Send + Sync>>) -> StoreError {
        StoreError::Backend(Arc::from(e.into()))
    }

    /// Whether the store refused what it was given (a value it cannot hold, a broken
    /// constraint) rather than being unable to work: PostgreSQL's SQLSTATE classes 22
    /// and 23, SQLite's constraint, size and type failures. Retrying the same data
    /// fails again; retrying without it need not.
    pub fn is_the_datas(&self) -> bool {
        let StoreError::Backend(cause) = self else { return false };
        let mut next: Option<&(dyn Error + 'static)> = Some(&**cause);
        while let Some(e) = next {
            if let Some(pg) = e.downcast_ref::<tokio_postgres::Error>() {
                return pg.code().is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"));
            }
            if let Some(rusqlite::Error::SqliteFailure(failure, _)) = e.downcast_ref::<rusqlite::Error>() {
                use rusqlite::ErrorCode::{ConstraintViolation, TooBig, TypeMismatch};
                return matches!(failure.code, ConstraintViolation | TooBig | TypeMismatch);
            }
            next = e.source();
        }
        false
    }
}

/// What a client is told when the store fails it; the cause goes to the log.
pub fn unavailable(e: StoreError) -> FrameError {
    tracing::error!("{e}");
    FrameError::new(ErrorReason::Unavailable, "messages cannot be stored or loaded right now; try again")
}

#[async_trait]
pub trait Store:
    accounts::Accounts
    + files::Files
    + passkeys::Passkeys
    + previews::Previews
    + push::Pushes
    + rooms::Rules
    + Send
    + Sync
    + 'static
{
    /// Stores a batch in one durable commit, numbering each new message after the
    /// newest of its room. Returns once the commit is on disk, one result per message.
    async fn append(&self, batch: Vec<Post>) -> Result<Vec<Appended>, StoreError>;

    // Pages count lines people read (messages, rename notices), not events: a page is
    // its lines and every event after the oldest of them (the messages come in their
    // latest state, so older events are not needed), at most four rows a line
    // (`history::ROWS_PER_LINE`), oldest first; `has_older` if the room has rows
    // before it. An edit comes with its message's current text.

    /// The newest `limit` lines of a room, and the events after the oldest of them.
    async fn latest(&self, room: &RoomId, limit: usize) -> Result<HistoryPage, StoreError>;

    /// Up to `limit` rows of a room numbered after `after`, events included, oldest
    /// first: what a client that has everything to `after` lacks.
    async fn after(&self, room: &RoomId, after: Seq, limit: usize) -> Result<Vec<ChatMessage>, StoreError>;

    /// The newest `limit` lines of a room numbered before `before`, and the events
    /// between the oldest of them and `before`.
    async fn before(&self, room: &RoomId, before: Seq, limit: usize) -> Result<HistoryPage, StoreError>;

    /// The page around number `seq`: half of `limit` lines before it (fewer at the
    /// start of the room), the rest from it on, and the events between them.
    async fn around(&self, room: &RoomId, seq: Seq, limit: usize) -> Result<HistoryPage, StoreError>;

    /// Up to `limit` messages of the rooms `reader` may read (see [`readable!`]; `''`
    /// for a visitor) whose latest text has all of the query's words, newest first,
    /// starting after search position `before` (a [`Found::position`] of an earlier
    /// page). Deleted messages are not found.
    async fn search(
        &self,
        query: &Query,
        reader: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError>;

    /// Where `user` has read to in each room they opened, and what came since; and
    /// each room they never opened where someone mentions them. Rooms with nothing
    /// unread are in it too, if opened.
    async fn unread(&self, user: &UserId) -> Result<Vec<Unread>, StoreError>;

    /// Moves read positions (person, room, number) forward, in one commit; a position
    /// never moves back.
    async fn mark_read(&self, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError>;

    /// The rooms where `user` chose how they are told of new messages (other than the
    /// default, [`Level::Mentions`]).
    async fn levels(&self, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError>;

    /// Keeps how `room` tells `user` of new messages.
    async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError>;

    /// Forgets `user`'s read position and level in `room` (they left it for good), in
    /// one commit.
    async fn forget_room(&self, user: &UserId, room: &RoomId) -> Result<(), StoreError>;

    /// The people whose latest name, ASCII letters folded to lowercase, is one of
    /// `names` (folded already), at most `per_name` of each (the first by id).
    async fn people_named(&self, names: Vec<String>, per_name: usize) -> Result<Vec<User>, StoreError>;

    /// Keeps these people's latest names, in one commit (each person once).
    async fn remember(&self, people: Vec<User>) -> Result<(), StoreError>;

    /// Every room that has messages.
    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError>;

    /// The directory of rooms: up to `limit` rooms that have messages or are on
    /// someone's list, by name, after `after`; each with how many people have it on
    /// their list and when its newest message was written. Each room costs a few index
    /// lookups, however many messages or members it has.
    async fn directory(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomListing>, StoreError>;

    /// The newest number of each of these rooms that has messages.
    async fn heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError>;

    /// The token-signing secret every node sharing this store must use: the one kept in
    /// the store, or `candidate`, kept now, if there is none yet. `None`: this store is
    /// one machine's, and the secret lives beside it in the data directory.
    async fn shared_secret(&self, candidate: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = candidate;
        Ok(None)
    }
}
