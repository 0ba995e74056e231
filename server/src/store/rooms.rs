//! What the store keeps of who sees what (a trait every store implements beside
//! [`super::Store`]): each room's rules (kind, topic, who may post, archived), who is in
//! each private or direct room and who was removed from a room; and, for moderation,
//! the audit log and the reports of messages. The SQL is shared by both backends.

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::{RoomId, Seq, UserId};

/// Who may read a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// Every member, and guests where guests are allowed.
    #[default]
    Public,
    /// The people listed in it.
    Private,
    /// A conversation of up to [`MAX_DIRECT`] people, listed in it.
    Direct,
}

/// Most people in one direct conversation.
pub const MAX_DIRECT: usize = 8;

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Public => "public",
            Kind::Private => "private",
            Kind::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        [Kind::Public, Kind::Private, Kind::Direct].into_iter().find(|k| k.as_str() == s)
    }
}

/// Who may post in a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Posting {
    #[default]
    Everyone,
    /// An announcement room: admins and the owner.
    Admins,
}

impl Posting {
    pub fn as_str(self) -> &'static str {
        match self {
            Posting::Everyone => "everyone",
            Posting::Admins => "admins",
        }
    }

    pub fn parse(s: &str) -> Option<Posting> {
        [Posting::Everyone, Posting::Admins].into_iter().find(|p| p.as_str() == s)
    }
}

/// A room's rules, and the people they name. A room nobody made (joined by name) has
/// the default: public, everyone posts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomRules {
    pub kind: Kind,
    /// The name it is shown by (empty: `#name`); its address stays its name.
    pub title: String,
    pub topic: String,
    pub posting: Posting,
    /// Read only, and out of every list.
    pub archived: bool,
    /// Whether the store has a row of rules for it.
    pub made: bool,
    /// In a private or direct room, who is in it (sorted).
    pub members: Vec<UserId>,
    /// Who was removed from it (sorted).
    pub removed: Vec<UserId>,
}

/// A room as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub room: RoomId,
    pub kind: Kind,
    pub title: String,
    pub topic: String,
    pub posting: Posting,
    pub archived: bool,
    /// People listed in it (private and direct rooms).
    pub members: i64,
}

/// One security or moderation event. `actor` did it, to `subject`; never a message's text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditEntry {
    pub kind: String,
    pub actor: Option<UserId>,
    pub subject: Option<UserId>,
    pub room: Option<RoomId>,
    pub address: String,
    pub user_agent: String,
    pub detail: String,
}

impl AuditEntry {
    pub fn new(kind: &str) -> AuditEntry {
        AuditEntry { kind: kind.to_owned(), ..AuditEntry::default() }
    }

    pub fn by(self, actor: &UserId) -> AuditEntry {
        AuditEntry { actor: Some(actor.clone()), ..self }
    }

    pub fn to(self, subject: &UserId) -> AuditEntry {
        AuditEntry { subject: Some(subject.clone()), ..self }
    }

    pub fn in_room(self, room: &RoomId) -> AuditEntry {
        AuditEntry { room: Some(room.clone()), ..self }
    }

    pub fn from(self, address: &str, user_agent: &str) -> AuditEntry {
        AuditEntry { address: address.to_owned(), user_agent: user_agent.to_owned(), ..self }
    }

    pub fn saying(self, detail: impl Into<String>) -> AuditEntry {
        AuditEntry { detail: detail.into(), ..self }
    }
}

/// An event as kept: its number and time (milliseconds since the Unix epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub entry: AuditEntry,
}

/// Which events to read: from `since`, of one person (as actor or subject) or one kind,
/// the newest first, before event `before`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: i64,
    pub person: Option<UserId>,
    pub kind: Option<String>,
    pub before: Option<i64>,
    pub limit: usize,
}

/// A report of a message, as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub id: i64,
    pub room: RoomId,
    pub seq: Seq,
    pub reporter: UserId,
    pub reason: String,
    pub created_at: i64,
}

#[async_trait]
pub trait Rules {
    /// A room's rules (the default for a room that has none).
    async fn room_rules(&self, room: &RoomId) -> Result<RoomRules, StoreError>;
    /// Makes a room with `rules` and its `members` listed; false (and nothing made) if
    /// a room of that name exists: it has rules, or messages.
    async fn make_room(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// Sets a room's kind, topic, posting and archived (its people are left as they are).
    async fn set_rules(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// Lists `user` in `room` (`removed` false) or removes them from it (true).
    async fn set_member(
        &self,
        room: &RoomId,
        user: &UserId,
        removed: bool,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// The rooms out of everyone's lists: not public, or archived.
    async fn unlisted(&self) -> Result<Vec<RoomId>, StoreError>;
    /// The rooms whose rules or people changed since `since`, and the accounts whose
    /// role or suspension did (id, role, whether suspended): what other processes (another
    /// node, the CLI) changed, for every node to read again.
    async fn changed_since(&self, since: i64) -> Result<(Vec<RoomId>, Vec<(UserId, String, bool)>), StoreError>;
    /// The rooms `user` is listed in (private and direct).
    async fn rooms_of(&self, user: &UserId) -> Result<Vec<RoomId>, StoreError>;
    /// Every room with rules, by name.
    async fn room_rows(&self) -> Result<Vec<RoomRow>, StoreError>;

    /// Up to `limit` of `author`'s messages (text, as they are now), by room and number,
    /// after number `seq` of `room` (`""` and 0 from the start): a page of their export.
    async fn messages_by(
        &self,
        author: &UserId,
        room: &str,
        seq: Seq,
        limit: usize,
    ) -> Result<Vec<palaver_protocol::ChatMessage>, StoreError>;

    /// Deletes an account and all it kept (sessions, tokens, passkeys, read positions,
    /// levels, rooms' lists, its name for mentions), in one commit; with `rename`, its
    /// messages and reactions are shown under that name from then on.
    async fn delete_account(&self, user: &UserId, rename: Option<&str>) -> Result<(), StoreError>;

    async fn audit(&self, entry: AuditEntry, now: i64) -> Result<(), StoreError>;
    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError>;
    /// Forgets the events older than `before`; how many.
    async fn prune_audit(&self, before: i64) -> Result<u64, StoreError>;

    /// `reporter` reports message `seq` of `room`; false if they had already.
    async fn report(
        &self,
        room: &RoomId,
        seq: Seq,
        reporter: &UserId,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// The reports no admin has closed, newest first.
    async fn open_reports(&self, limit: usize) -> Result<Vec<ReportRow>, StoreError>;
    async fn close_report(&self, id: i64, by: &UserId, now: i64) -> Result<bool, StoreError>;
}

/// A room's rules from its row (`kind`, `topic`, `posting`, `archived`) and its people
/// (`(user, removed)`, any order).
pub fn rules_from(row: Option<(String, String, String, i64, String)>, people: Vec<(String, i64)>) -> RoomRules {
    let mut rules = match row {
        Some((kind, topic, posting, archived, title)) => RoomRules {
            kind: Kind::parse(&kind).unwrap_or(Kind::Private),
            title,
            topic,
            posting: Posting::parse(&posting).unwrap_or(Posting::Admins),
            archived: archived != 0,
            made: true,
            ..RoomRules::default()
        },
        None => RoomRules::default(),
    };
    for (user, removed) in people {
        if removed != 0 {
            rules.removed.push(UserId(user));
        } else {
            rules.members.push(UserId(user));
        }
    }
    rules.members.sort();
    rules.removed.sort();
    rules
}

/// An audit row from its columns, in [`sql::AUDIT_COLUMNS`] order.
#[allow(clippy::too_many_arguments)]
pub fn audit_row(
    id: i64,
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    room: Option<String>,
    address: String,
    user_agent: String,
    detail: String,
) -> AuditRow {
    let entry = AuditEntry {
        kind,
        actor: actor.map(UserId),
        subject: subject.map(UserId),
        room: room.and_then(|r| RoomId::parse(&r).ok()),
        address,
        user_agent,
        detail,
    };
    AuditRow { id, at, entry }
}

/// The SQL both backends run.
pub mod sql {
    pub const RULES: &str = "SELECT kind, topic, posting, archived, title FROM room_rules WHERE room = $1";
    pub const PEOPLE: &str = "SELECT user_id, removed FROM room_members WHERE room = $1";
    pub const EXISTS: &str = "SELECT 1 FROM room_rules WHERE room = $1 \
         UNION ALL SELECT 1 FROM messages WHERE room = $1 LIMIT 1";
    pub const INSERT_RULES: &str = "INSERT INTO room_rules \
         (room, kind, topic, posting, archived, created_by, created_at, changed_at, title) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)";
    pub const UPSERT_RULES: &str = "INSERT INTO room_rules \
         (room, kind, topic, posting, archived, created_by, created_at, changed_at, title) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
         ON CONFLICT (room) DO UPDATE SET kind = excluded.kind, topic = excluded.topic, title = excluded.title, \
         posting = excluded.posting, archived = excluded.archived, changed_at = excluded.changed_at";
    /// The rooms whose rules or people changed since `$1`.
    pub const CHANGED_ROOMS: &str = "SELECT room FROM room_rules WHERE changed_at > $1 \
         UNION SELECT room FROM room_members WHERE added_at > $1";
    /// The accounts whose role or suspension changed since `$1`: id, role, suspended.
    pub const CHANGED_PEOPLE: &str = "SELECT user_id, role, suspended_at IS NOT NULL FROM accounts \
         WHERE changed_at > $1";
    pub const SET_MEMBER: &str = "INSERT INTO room_members (room, user_id, removed, added_by, added_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room, user_id) DO UPDATE SET removed = excluded.removed, \
         added_by = excluded.added_by, added_at = excluded.added_at";
    pub const UNLISTED: &str = "SELECT room FROM room_rules WHERE kind <> 'public' OR archived <> 0 ORDER BY room";
    pub const ROOMS_OF: &str = "SELECT m.room FROM room_members m JOIN room_rules r ON r.room = m.room \
         WHERE m.user_id = $1 AND m.removed = 0 AND r.kind <> 'public' ORDER BY m.room";
    /// The rooms with rules, by name, and how many people each lists.
    pub const ROOM_ROWS: &str = "SELECT r.room, r.kind, r.topic, r.posting, r.archived, \
         (SELECT COUNT(*) FROM room_members m WHERE m.room = r.room AND m.removed = 0), r.title \
         FROM room_rules r ORDER BY r.room";

    pub const RENAME_MESSAGES: &str = "UPDATE messages SET author_name = $2 WHERE author_id = $1";
    pub const RENAME_REACTIONS: &str = "UPDATE reactions SET user_name = $2 WHERE user_id = $1";
    /// What goes with an account, each `$1` the person.
    pub const FORGET_PERSON: [&str; 6] = [
        "DELETE FROM room_members WHERE user_id = $1",
        "DELETE FROM reads WHERE user_id = $1",
        "DELETE FROM levels WHERE user_id = $1",
        "DELETE FROM people WHERE user_id = $1",
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM accounts WHERE user_id = $1",
    ];

    pub const AUDIT: &str = "INSERT INTO audit (at, kind, actor, subject, room, address, user_agent, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const AUDIT_COLUMNS: &str = "id, at, kind, actor, subject, room, address, user_agent, detail";
    /// Events from `$1`, before id `$2`, of person `$3` ('' for anyone) and kind `$4`
    /// ('' for any), `$5` of them, newest first.
    pub const AUDIT_LOG: &str = "SELECT id, at, kind, actor, subject, room, address, user_agent, detail \
         FROM audit WHERE at >= $1 AND id < $2 AND ($3 = '' OR actor = $3 OR subject = $3) \
         AND ($4 = '' OR kind = $4) ORDER BY id DESC LIMIT $5";
    pub const PRUNE_AUDIT: &str = "DELETE FROM audit WHERE at < $1";

    pub const REPORT: &str = "INSERT INTO reports (room, seq, reporter, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (room, seq, reporter) DO NOTHING";
    pub const OPEN_REPORTS: &str = "SELECT id, room, seq, reporter, reason, created_at FROM reports \
         WHERE closed_at IS NULL ORDER BY id DESC LIMIT $1";
    pub const CLOSE_REPORT: &str = "UPDATE reports SET closed_by = $2, closed_at = $3 \
         WHERE id = $1 AND closed_at IS NULL";
}
