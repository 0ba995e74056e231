-- Search. Every text message that is not deleted has a row here with the words of its
-- latest text, as Palaver cuts them (server/src/search.rs: folded, and Korean as pairs
-- of syllables), kept as they are (array_to_tsvector, no parser or dictionary), so a
-- query finds the same messages as with SQLite. `id` numbers the indexed messages in
-- the order they were written (newest first is highest first). The rows are written in
-- the same transaction as the messages.
CREATE TABLE search_docs (
    id    BIGSERIAL PRIMARY KEY,
    room  TEXT     NOT NULL,
    seq   BIGINT   NOT NULL,
    words TSVECTOR NOT NULL,
    UNIQUE (room, seq)
);
CREATE INDEX search_docs_words ON search_docs USING GIN (words);
