-- Search. Every text message that is not deleted is in the index under the words of
-- its latest text, as Palaver cuts them (server/src/search.rs: folded, and Korean as
-- pairs of syllables), so the index only splits at spaces. `search_docs` numbers the
-- indexed messages in the order they were written (newest first is highest first);
-- the index keeps only the words, not the text (contentless), and deleting a message
-- takes its words out of the index at once (secure-delete), not at a later merge. It
-- also indexes the first two and three letters of every word, so a word being typed
-- is found as quickly as a whole one; and it merges its segments 16 at a time (rather
-- than 4), which costs each commit less.
CREATE TABLE search_docs (
    id   INTEGER PRIMARY KEY,
    room TEXT    NOT NULL,
    seq  INTEGER NOT NULL
);
CREATE UNIQUE INDEX search_docs_message ON search_docs (room, seq);
CREATE VIRTUAL TABLE search_index USING fts5(
    words,
    content = '',
    contentless_delete = 1,
    detail = none,
    prefix = '2 3',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO search_index (search_index, rank) VALUES ('secure-delete', 1);
INSERT INTO search_index (search_index, rank) VALUES ('automerge', 16);
