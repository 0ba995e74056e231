-- Edits and deletes: events in a room's order (kind 'edit' or 'delete') that change an
-- earlier message, named by `target`. The message itself keeps its latest state: its
-- text as last edited, or empty once deleted.
ALTER TABLE messages ADD COLUMN target BIGINT;
ALTER TABLE messages ADD COLUMN edited BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE messages ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;

-- As palaver_append (kept for nodes of the previous version during a rolling restart),
-- with each post's target. Returns, per post, its number and its state: 'new', 'dup'
-- (a resend, stored before under that number), or 'refused:' and why (nothing stored,
-- no number taken): no_such_message, not_yours, deleted.
CREATE FUNCTION palaver_append(
    p_room TEXT[], p_client TEXT[], p_author TEXT[], p_name TEXT[],
    p_kind TEXT[], p_text TEXT[], p_sent BIGINT[], p_target BIGINT[]
) RETURNS TABLE (out_seq BIGINT, out_state TEXT)
LANGUAGE plpgsql AS $$
DECLARE
    i INT;
    taken BIGINT;
    t_author TEXT;
    t_kind TEXT;
    t_deleted BOOLEAN;
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
            out_state := 'dup';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_kind[i] IN ('edit', 'delete') THEN
            SELECT m.author_id, m.kind, m.deleted INTO t_author, t_kind, t_deleted FROM messages m
                WHERE m.room = p_room[i] AND m.seq = p_target[i];
            out_seq := NULL;
            IF NOT FOUND OR t_kind <> 'text' THEN
                out_state := 'refused:no_such_message';
            ELSIF t_author <> p_author[i] THEN
                out_state := 'refused:not_yours';
            ELSIF t_deleted THEN
                out_state := 'refused:deleted';
            END IF;
            IF out_state LIKE 'refused:%' THEN
                RETURN NEXT;
                out_state := NULL;
                CONTINUE;
            END IF;
            IF p_kind[i] = 'edit' THEN
                UPDATE messages SET text = p_text[i], edited = true WHERE room = p_room[i] AND seq = p_target[i];
            ELSE
                UPDATE messages SET text = '', deleted = true WHERE room = p_room[i] AND seq = p_target[i];
                -- A deleted message's text is gone from its edits too.
                UPDATE messages SET text = '' WHERE room = p_room[i] AND target = p_target[i] AND kind = 'edit';
            END IF;
        END IF;
        UPDATE rooms SET last_seq = last_seq + 1 WHERE room = p_room[i] RETURNING last_seq INTO taken;
        INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at, target)
            VALUES (p_room[i], taken, p_client[i], p_author[i], p_name[i], p_kind[i], p_text[i], p_sent[i], p_target[i]);
        out_seq := taken;
        out_state := 'new';
        RETURN NEXT;
        out_state := NULL;
    END LOOP;
END
$$;
