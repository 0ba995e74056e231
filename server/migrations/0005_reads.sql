-- Read positions: how far each person has read each room they opened, one row per
-- person and room (never one per message); it only moves forward.
CREATE TABLE reads (
    user_id TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, room)
) WITHOUT ROWID;

-- Who each text message mentions now, one row per person named, kept by the triggers
-- below from `messages.mentions` (so in the message's own transaction): a new message
-- adds its rows, an edit replaces them, a delete (mentions set to NULL) takes them out.
CREATE TABLE mentioned (
    user_id TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, room, seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO mentioned (user_id, room, seq)
    SELECT json_extract(j.value, '$.id'), m.room, m.seq
    FROM messages m, json_each(m.mentions) j
    WHERE m.mentions IS NOT NULL AND m.kind = 'text' AND m.deleted = 0;

CREATE TRIGGER mentioned_new AFTER INSERT ON messages
WHEN NEW.mentions IS NOT NULL AND NEW.kind = 'text' BEGIN
    INSERT OR IGNORE INTO mentioned (user_id, room, seq)
        SELECT json_extract(value, '$.id'), NEW.room, NEW.seq FROM json_each(NEW.mentions);
END;

CREATE TRIGGER mentioned_changed AFTER UPDATE OF mentions ON messages
WHEN NEW.kind = 'text' AND OLD.mentions IS NOT NEW.mentions BEGIN
    DELETE FROM mentioned WHERE room = OLD.room AND seq = OLD.seq
        AND user_id IN (SELECT json_extract(value, '$.id') FROM json_each(OLD.mentions));
    INSERT OR IGNORE INTO mentioned (user_id, room, seq)
        SELECT json_extract(value, '$.id'), NEW.room, NEW.seq FROM json_each(NEW.mentions);
END;
