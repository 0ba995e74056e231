-- Files people upload: what each is (found from its content), whose it is, and the
-- message it went with once sent (by that message's client id: the sender's message
-- in that room). The bytes themselves are in the file storage, under the same id.
CREATE TABLE files (
    id      TEXT    NOT NULL PRIMARY KEY,
    owner   TEXT    NOT NULL,
    room    TEXT    NOT NULL,
    message TEXT,
    name    TEXT    NOT NULL,
    size    INTEGER NOT NULL,
    mime    TEXT    NOT NULL,
    width   INTEGER NOT NULL DEFAULT 0,
    height  INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX files_by_owner ON files (owner, created);
CREATE INDEX files_by_message ON files (room, owner, message) WHERE message IS NOT NULL;

-- The files a message carries, as it was sent (JSON); none once it is deleted.
ALTER TABLE messages ADD COLUMN files TEXT;

-- A deleted message carries no files: the server then removes their bytes.
CREATE TRIGGER messages_files_follow_delete AFTER UPDATE OF deleted ON messages
WHEN NEW.deleted <> 0 AND NEW.files IS NOT NULL
BEGIN
    UPDATE messages SET files = NULL WHERE room = NEW.room AND seq = NEW.seq;
END;
