-- Files people upload: what each is (found from its content), whose it is, and the
-- message it went with once sent (by that message's client id: the sender's message
-- in that room). The bytes themselves are in the file storage, under the same id.
CREATE TABLE files (
    id      TEXT    NOT NULL PRIMARY KEY,
    owner   TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    message TEXT,
    name    TEXT    NOT NULL,
    size    BIGINT  NOT NULL,
    mime    TEXT    NOT NULL,
    width   INTEGER NOT NULL DEFAULT 0,
    height  INTEGER NOT NULL DEFAULT 0,
    created BIGINT  NOT NULL
);
CREATE INDEX files_by_owner ON files (owner, created);
CREATE INDEX files_by_message ON files (room, owner, message) WHERE message IS NOT NULL;

-- The files a message carries, as it was sent (JSON); none once it is deleted.
ALTER TABLE messages ADD COLUMN files TEXT;

-- A deleted message carries no files: the server then removes their bytes.
CREATE FUNCTION palaver_files_follow_delete() RETURNS trigger AS $$
BEGIN
    IF NEW.deleted THEN
        NEW.files := NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER messages_files_follow_delete BEFORE UPDATE OF deleted ON messages
    FOR EACH ROW EXECUTE FUNCTION palaver_files_follow_delete();
