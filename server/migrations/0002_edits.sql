-- Edits and deletes: events in a room's order (kind 'edit' or 'delete') that change an
-- earlier message, named by `target`. The message itself keeps its latest state: its
-- text as last edited, or empty once deleted.
ALTER TABLE messages ADD COLUMN target INTEGER;
ALTER TABLE messages ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
