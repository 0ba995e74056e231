-- Who sees what. A room without a row here is public: every member (and guests, where
-- guests are allowed) may read it and post in it.
CREATE TABLE room_rules (
    room       TEXT    NOT NULL PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'direct')),
    topic      TEXT    NOT NULL DEFAULT '',
    -- 'admins': an announcement room, where only admins and the owner post.
    posting    TEXT    NOT NULL DEFAULT 'everyone' CHECK (posting IN ('everyone', 'admins')),
    -- Read only, and out of every list.
    archived   INTEGER NOT NULL DEFAULT 0,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    -- When its rules last changed: every node reads the rooms changed lately again.
    changed_at INTEGER NOT NULL
) WITHOUT ROWID;

-- A person's standing in a room: in a private or direct room, a member (`removed` 0)
-- reads it; in any room, someone removed (`removed` 1) no longer may.
CREATE TABLE room_members (
    room     TEXT    NOT NULL,
    user_id  TEXT    NOT NULL,
    removed  INTEGER NOT NULL DEFAULT 0,
    added_by TEXT,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (room, user_id)
) WITHOUT ROWID;
CREATE INDEX room_members_by_person ON room_members (user_id, room);
CREATE INDEX room_rules_changed ON room_rules (changed_at);
CREATE INDEX room_members_changed ON room_members (added_at);

-- A person's own messages, for their export.
CREATE INDEX messages_by_author ON messages (author_id, room, seq);

-- A message taken down by an admin (rather than deleted by its author).
ALTER TABLE messages ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;

-- A suspended account cannot sign in, and its sessions and tokens are refused.
ALTER TABLE accounts ADD COLUMN suspended_at INTEGER;
-- When its role or suspension last changed: every node reads those changed lately again.
ALTER TABLE accounts ADD COLUMN changed_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX accounts_changed ON accounts (changed_at);

-- Security and moderation events, kept for a configurable time. `actor` did it,
-- `subject` is whom it was done to (both person ids), never a message's text.
CREATE TABLE audit (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    actor      TEXT,
    subject    TEXT,
    room       TEXT,
    address    TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_by_time ON audit (at);
CREATE INDEX audit_by_person ON audit (subject, id);
CREATE INDEX audit_by_actor ON audit (actor, id);

-- A message someone reported to the admins, until an admin closes the report.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    room        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    reporter    TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    closed_by   TEXT,
    closed_at   INTEGER,
    UNIQUE (room, seq, reporter)
);
CREATE INDEX reports_open ON reports (id) WHERE closed_at IS NULL;
