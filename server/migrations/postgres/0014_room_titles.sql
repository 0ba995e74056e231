-- The name a room is shown by, which an admin may change: its address stays its name
-- (links and history keep working). Empty: shown as `#name`.
ALTER TABLE room_rules ADD COLUMN title TEXT NOT NULL DEFAULT '';
