-- Every accepted message, numbered per room. Resends are recognised by the
-- (room, author, client id) triple.
CREATE TABLE messages (
    room        TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    client_id   TEXT   NOT NULL,
    author_id   TEXT   NOT NULL,
    author_name TEXT   NOT NULL,
    kind        TEXT   NOT NULL DEFAULT 'text',
    text        TEXT   NOT NULL,
    sent_at     BIGINT NOT NULL,
    PRIMARY KEY (room, seq),
    UNIQUE (room, author_id, client_id)
);

-- Each room's newest number. Its row is locked by whoever numbers a message of the
-- room, so numbers are taken one node at a time, inside the commit, without gaps.
CREATE TABLE rooms (
    room     TEXT   PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

-- Values every node must share, such as the token-signing secret.
CREATE TABLE settings (
    key   TEXT  PRIMARY KEY,
    value BYTEA NOT NULL
);

-- Stores a batch of posts in one statement (one round trip, one commit), in order.
-- Returns, per post, its number and whether it is new (false: a resend, stored before
-- under that number).
CREATE FUNCTION palaver_append(
    p_room TEXT[], p_client TEXT[], p_author TEXT[], p_name TEXT[],
    p_kind TEXT[], p_text TEXT[], p_sent BIGINT[]
) RETURNS TABLE (out_seq BIGINT, out_new BOOLEAN)
LANGUAGE plpgsql AS $$
DECLARE
    i INT;
    taken BIGINT;
BEGIN
    -- Every room of the batch is locked in name order, so two nodes whose batches
    -- share rooms wait for each other instead of deadlocking.
    INSERT INTO rooms (room, last_seq)
        SELECT DISTINCT r, 0 FROM unnest(p_room) AS r ORDER BY 1
        ON CONFLICT (room) DO NOTHING;
    PERFORM 1 FROM rooms WHERE room = ANY (p_room) ORDER BY room FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_room, 1), 0) LOOP
        -- With the room locked, a resend committed by any node is visible here.
        SELECT m.seq INTO taken FROM messages m
            WHERE m.room = p_room[i] AND m.author_id = p_author[i] AND m.client_id = p_client[i];
        IF FOUND THEN
            out_seq := taken;
            out_new := false;
        ELSE
            UPDATE rooms SET last_seq = last_seq + 1 WHERE room = p_room[i] RETURNING last_seq INTO taken;
            INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at)
                VALUES (p_room[i], taken, p_client[i], p_author[i], p_name[i], p_kind[i], p_text[i], p_sent[i]);
            out_seq := taken;
            out_new := true;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
