-- Replies, reactions and mentions. A reply is a text message whose `target` names the
-- message it answers. Reactions are events too (kind 'react' or 'unreact', the emoji in
-- `text`); the table below keeps each message's reactions now, one row per emoji and
-- person, `added` being the number of the event that made it. `mentions` holds the
-- people a message's `@name`s named when it was written (JSON), or NULL.
ALTER TABLE messages ADD COLUMN mentions TEXT;
CREATE TABLE reactions (
    room TEXT NOT NULL,
    seq BIGINT NOT NULL,
    emoji TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    added BIGINT NOT NULL,
    PRIMARY KEY (room, seq, emoji, user_id)
);

-- As the palaver_append before it (kept for nodes of the previous version during a
-- rolling restart), with each post's mentions and the most kinds of reaction a message
-- may have. Any post may name a target: an edit, delete or reaction changes it, a text
-- message answers it. Returns, per post, its number and state ('new', 'dup', or
-- 'refused:' and why: no_such_message, not_yours, deleted, too_many_reactions) and,
-- for a reply, the original's author's name, text and whether it was deleted.
CREATE FUNCTION palaver_append(
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
        ELSIF p_kind[i] = 'delete' THEN
            UPDATE messages SET text = '', deleted = true, mentions = NULL
                WHERE room = p_room[i] AND seq = p_target[i];
            -- A deleted message's text is gone from its edits too, and its reactions.
            UPDATE messages SET text = '' WHERE room = p_room[i] AND target = p_target[i] AND kind = 'edit';
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
