-- Replies, reactions and mentions. A reply is a text message whose `target` names the
-- message it answers. Reactions are events too (kind 'react' or 'unreact', the emoji in
-- `text`); the table below keeps each message's reactions now, one row per emoji and
-- person, `added` being the number of the event that made it. `mentions` holds the
-- people a message's `@name`s named when it was written (JSON), or NULL.
ALTER TABLE messages ADD COLUMN mentions TEXT;
CREATE TABLE reactions (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    emoji TEXT NOT NULL,
    user_id TEXT NOT NULL,
    user_name TEXT NOT NULL,
    added INTEGER NOT NULL,
    PRIMARY KEY (room, seq, emoji, user_id)
) WITHOUT ROWID;
