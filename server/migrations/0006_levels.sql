-- How each room tells a person of new messages, where they chose other than the
-- default (mentions only): one row per person and room.
CREATE TABLE levels (
    user_id TEXT NOT NULL,
    room    TEXT NOT NULL,
    level   TEXT NOT NULL CHECK (level IN ('all', 'muted')),
    PRIMARY KEY (user_id, room)
) WITHOUT ROWID;
