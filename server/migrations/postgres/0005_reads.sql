-- Read positions: how far each person has read each room they opened, one row per
-- person and room (never one per message); it only moves forward.
CREATE TABLE reads (
    user_id TEXT   NOT NULL,
    room    TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (user_id, room)
);

-- Who each text message mentions now, one row per person named, kept by the trigger
-- below from `messages.mentions` (so in the message's own transaction, whichever
-- version of the server wrote it): a new message adds its rows, an edit replaces
-- them, a delete (mentions set to NULL) takes them out.
CREATE TABLE mentioned (
    user_id TEXT   NOT NULL,
    room    TEXT   NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (user_id, room, seq)
);

INSERT INTO mentioned (user_id, room, seq)
    SELECT j->>'id', m.room, m.seq
    FROM messages m, jsonb_array_elements(m.mentions::jsonb) j
    WHERE m.mentions IS NOT NULL AND m.kind = 'text' AND NOT m.deleted
    ON CONFLICT DO NOTHING;

CREATE FUNCTION palaver_mentioned() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.mentions IS NOT NULL THEN
        DELETE FROM mentioned WHERE room = OLD.room AND seq = OLD.seq
            AND user_id IN (SELECT j->>'id' FROM jsonb_array_elements(OLD.mentions::jsonb) j);
    END IF;
    IF NEW.mentions IS NOT NULL AND NEW.kind = 'text' THEN
        INSERT INTO mentioned (user_id, room, seq)
            SELECT j->>'id', NEW.room, NEW.seq FROM jsonb_array_elements(NEW.mentions::jsonb) j
            ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER mentioned_new AFTER INSERT ON messages FOR EACH ROW
    WHEN (NEW.mentions IS NOT NULL AND NEW.kind = 'text') EXECUTE FUNCTION palaver_mentioned();
CREATE TRIGGER mentioned_changed AFTER UPDATE OF mentions ON messages FOR EACH ROW
    WHEN (NEW.kind = 'text' AND OLD.mentions IS DISTINCT FROM NEW.mentions) EXECUTE FUNCTION palaver_mentioned();
