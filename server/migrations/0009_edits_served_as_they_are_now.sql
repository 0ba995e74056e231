-- An edited message is served only as it is now: every edit event is read with its
-- message's current text (and mentions), and an edit's own text is blanked once a
-- newer edit of the same message lands (in that edit's transaction), so text edited
-- away is kept nowhere readable. An edit's earlier edits are found by this index of
-- edits alone (named with INDEXED BY: without statistics SQLite would rather walk the
-- room's rows).
CREATE INDEX messages_edits ON messages (room, target) WHERE kind = 'edit';

-- What earlier versions kept: the text of every edit but each message's newest.
UPDATE messages INDEXED BY messages_edits SET text = '', mentions = NULL
    WHERE kind = 'edit' AND (text <> '' OR mentions IS NOT NULL)
    AND EXISTS (SELECT 1 FROM messages e INDEXED BY messages_edits
        WHERE e.kind = 'edit' AND e.room = messages.room AND e.target = messages.target AND e.seq > messages.seq);

-- The search index anew, keeping the words each message is indexed under (those of
-- its latest text, as Palaver cuts them; no per-column sizes): taking a message out
-- then reads them, and `secure-delete` removes them from the index's pages at once.
-- (The contentless_delete table before it only marked a message as gone and kept its
-- words in the file until a merge, however long that took.) Dropping the old one frees
-- its pages, which `secure_delete` zeroes; the messages are indexed again in this
-- migration's transaction (about a minute per million messages).
DROP TABLE search_index;
CREATE VIRTUAL TABLE search_index USING fts5(
    words,
    detail = none,
    columnsize = 0,
    prefix = '2 3',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
INSERT INTO search_index (search_index, rank) VALUES ('automerge', 16);
