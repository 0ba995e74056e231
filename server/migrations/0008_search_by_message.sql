-- The search index names a message by a number kept in the message's own row (`doc`)
-- instead of by a row of `search_docs`: storing a message writes one b-tree fewer, and
-- the one that replaces it only ever grows at its end. `doc` numbers the indexed
-- messages in the order they were written (newest first is highest first), and is
-- empty for a message that is not in the index (not text, or deleted).
ALTER TABLE messages ADD COLUMN doc INTEGER;
UPDATE messages SET doc = (SELECT id FROM search_docs d WHERE d.room = messages.room AND d.seq = messages.seq)
    WHERE kind = 'text' AND deleted = 0;
-- Only indexed messages are in it, so it grows at its end alone.
CREATE UNIQUE INDEX messages_doc ON messages (doc) WHERE doc IS NOT NULL;
DROP TABLE search_docs;
