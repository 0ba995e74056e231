-- Link previews: each link's card as last fetched (JSON; NULL: the page gave none, or
-- could not be fetched), shared by every message that links there.
-- Its picture, as the server's own small WebP thumbnail, is kept beside it under an id
-- that cannot be guessed from the link (a keyed hash of it).
CREATE TABLE link_previews (
    url        TEXT   NOT NULL PRIMARY KEY,
    card       TEXT,
    fetched_at BIGINT NOT NULL,
    picture_id TEXT,
    picture    BYTEA
);
CREATE INDEX link_previews_by_picture ON link_previews (picture_id) WHERE picture_id IS NOT NULL;

-- The card a message shows (JSON), once its first link was fetched; and whether its
-- author took the card away (for good: it is not fetched for it again).
ALTER TABLE messages ADD COLUMN preview TEXT;
ALTER TABLE messages ADD COLUMN preview_hidden BOOLEAN NOT NULL DEFAULT false;

-- A message whose text changes (an edit, a delete) loses its card at once; an edit's
-- own first link is fetched anew.
CREATE FUNCTION palaver_preview_follows_text() RETURNS trigger AS $$
BEGIN
    IF NEW.text IS DISTINCT FROM OLD.text THEN
        NEW.preview := NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_preview_follows_text BEFORE UPDATE OF text ON messages
    FOR EACH ROW EXECUTE FUNCTION palaver_preview_follows_text();
