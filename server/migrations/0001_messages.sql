-- Every accepted message, numbered per room. Resends are recognised by the
-- (room, author, client id) triple.
CREATE TABLE messages (
    room        TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    client_id   TEXT    NOT NULL,
    author_id   TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    kind        TEXT    NOT NULL DEFAULT 'text',
    text        TEXT    NOT NULL,
    sent_at     INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;

CREATE UNIQUE INDEX messages_resend ON messages (room, author_id, client_id);
