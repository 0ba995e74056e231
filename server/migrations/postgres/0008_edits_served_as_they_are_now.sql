-- An edited message is served only as it is now: every edit event is read with its
-- message's current text (and mentions), and an edit's own text is blanked once a
-- newer edit of the same message lands (in that edit's transaction), so text edited
-- away is kept nowhere readable (but in dead row versions until vacuum reclaims them:
-- docs/SECURITY.md). Edits are found by this index of edits alone.
CREATE INDEX messages_edits ON messages (room, target) WHERE kind = 'edit';

-- What earlier versions kept: the text of every edit but each message's newest.
UPDATE messages m SET text = '', mentions = NULL
    WHERE m.kind = 'edit' AND (m.text <> '' OR m.mentions IS NOT NULL)
    AND EXISTS (SELECT 1 FROM messages e
        WHERE e.kind = 'edit' AND e.room = m.room AND e.target = m.target AND e.seq > m.seq);

-- As the palaver_append of 0003 (same arguments and answers, so nodes of the previous
-- version call this one during a rolling restart), and an edit blanks the text of the
-- message's earlier edits.
CREATE OR REPLACE FUNCTION palaver_append(
    p_room TEXT[], p_client TEXT[], p_author TEXT[], p_name TEXT[],
    p_kind TEXT[], p_text TEXT[], p_sent BIGINT[], p_target BIGINT[],
    p_mentions TEXT[], p_max_reactions INT
) RETURNS TABLE (
    out_seq BIGINT, out_state TEXT, out_quote_author TEXT, out_quote_text TEXT, out_quote_deleted BOOLEAN
)
LANGUAGE plpgsql AS $$
DECLARE
    i INT;
    taken BIGINT;
    t_author TEXT;
    t_name TEXT;
    t_kind TEXT;
    t_text TEXT;
    t_deleted BOOLEAN;
    refusal TEXT;
BEGIN
    -- Every room of the batch is locked in name order, so two nodes whose batches
    -- share rooms wait for each other instead of deadlocking.
    INSERT INTO rooms (room, last_seq)
        SELECT DISTINCT r, 0 FROM unnest(p_room) AS r ORDER BY 1
        ON CONFLICT (room) DO NOTHING;
    PERFORM 1 FROM rooms WHERE room = ANY (p_room) ORDER BY room FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_room, 1), 0) LOOP
        out_seq := NULL;
        out_state := NULL;
        out_quote_author := NULL;
        out_quote_text := NULL;
        out_quote_deleted := NULL;
        refusal := NULL;
        -- With the room locked, a resend committed by any node is visible here.
        SELECT m.seq INTO taken FROM messages m
            WHERE m.room = p_room[i] AND m.author_id = p_author[i] AND m.client_id = p_client[i];
        IF FOUND THEN
            out_seq := taken;
            out_state := 'dup';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF p_target[i] IS NOT NULL THEN
            SELECT m.author_id, m.author_name, m.kind, m.text, m.deleted
                INTO t_author, t_name, t_kind, t_text, t_deleted FROM messages m
                WHERE m.room = p_room[i] AND m.seq = p_target[i];
            IF NOT FOUND OR t_kind <> 'text' THEN
                refusal := 'no_such_message';
            ELSIF p_kind[i] IN ('edit', 'delete') AND t_author <> p_author[i] THEN
                refusal := 'not_yours';
            ELSIF t_deleted THEN
                refusal := 'deleted';
            ELSIF p_kind[i] = 'react'
                AND NOT EXISTS (SELECT 1 FROM reactions r
                    WHERE r.room = p_room[i] AND r.seq = p_target[i] AND r.emoji = p_text[i])
                AND (SELECT count(DISTINCT r.emoji) FROM reactions r
                    WHERE r.room = p_room[i] AND r.seq = p_target[i]) >= p_max_reactions THEN
                refusal := 'too_many_reactions';
            END IF;
            IF refusal IS NOT NULL THEN
                out_state := 'refused:' || refusal;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        UPDATE rooms SET last_seq = last_seq + 1 WHERE room = p_room[i] RETURNING last_seq INTO taken;
        IF p_kind[i] = 'edit' THEN
            UPDATE messages SET text = p_text[i], edited = true, mentions = p_mentions[i]
                WHERE room = p_room[i] AND seq = p_target[i];
            -- Its earlier edits keep no text of it: the new one holds what it is now.
            UPDATE messages SET text = '', mentions = NULL
                WHERE room = p_room[i] AND target = p_target[i] AND kind = 'edit'
                AND (text <> '' OR mentions IS NOT NULL);
        ELSIF p_kind[i] = 'delete' THEN
            UPDATE messages SET text = '', deleted = true, mentions = NULL
                WHERE room = p_room[i] AND seq = p_target[i];
            -- A deleted message's text is gone from its edits too, and its reactions.
            UPDATE messages SET text = '', mentions = NULL
                WHERE room = p_room[i] AND target = p_target[i] AND kind = 'edit'
                AND (text <> '' OR mentions IS NOT NULL);
            DELETE FROM reactions WHERE room = p_room[i] AND seq = p_target[i];
        ELSIF p_kind[i] = 'react' THEN
            INSERT INTO reactions (room, seq, emoji, user_id, user_name, added)
                VALUES (p_room[i], p_target[i], p_text[i], p_author[i], p_name[i], taken)
                ON CONFLICT DO NOTHING;
        ELSIF p_kind[i] = 'unreact' THEN
            DELETE FROM reactions
                WHERE room = p_room[i] AND seq = p_target[i] AND emoji = p_text[i] AND user_id = p_author[i];
        ELSIF p_target[i] IS NOT NULL THEN
            out_quote_author := t_name;
            out_quote_text := t_text;
            out_quote_deleted := t_deleted;
        END IF;
        INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at, target, mentions)
            VALUES (p_room[i], taken, p_client[i], p_author[i], p_name[i], p_kind[i], p_text[i], p_sent[i],
                    p_target[i], p_mentions[i]);
        out_seq := taken;
        out_state := 'new';
        RETURN NEXT;
    END LOOP;
END
$$;
