//! Uploaded files in the store: what each is and whose (`files`), and which message
//! it went with. A file is claimed by one message, by that message's client id, before
//! the message is written: a message sent again after a reconnect claims the same files
//! again, and no other message can.

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::{Attachment, ClientMsgId, RoomId, Seq, UserId};

/// A file as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub file: Attachment,
    pub owner: UserId,
    /// The room it was uploaded to.
    pub room: RoomId,
    /// The client id of the owner's message in `room` that carries it, once sent.
    pub message: Option<String>,
    /// When it was uploaded (milliseconds since the Unix epoch).
    pub created: i64,
}

#[async_trait]
pub trait Files {
    /// Keeps a new upload (not yet any message's).
    async fn add_file(&self, file: &StoredFile) -> Result<(), StoreError>;
    /// A file by its id, and whether the message that carries it is still there
    /// (`false` for one not sent yet).
    async fn file(&self, id: &str) -> Result<Option<(StoredFile, bool)>, StoreError>;
    /// Gives the files `ids` to `owner`'s message `message` of `room`: all of them, or
    /// none (`None`) when one is not `owner`'s upload to `room` or is another
    /// message's already. Their attachments, in the order asked.
    async fn claim_files(
        &self,
        room: &RoomId,
        owner: &UserId,
        message: &ClientMsgId,
        ids: &[String],
    ) -> Result<Option<Vec<Attachment>>, StoreError>;
    /// Bytes `owner` uploaded at `since` or later, and bytes kept for everyone.
    async fn uploaded(&self, owner: &UserId, since: i64) -> Result<(u64, u64), StoreError>;
    /// The files of message `seq` of `room`, once it is deleted: their rows are gone,
    /// their ids returned (their bytes are the caller's to remove).
    async fn drop_files(&self, room: &RoomId, seq: Seq) -> Result<Vec<String>, StoreError>;
    /// Forgets the file `id` (an upload that could not be finished).
    async fn forget_file(&self, id: &str) -> Result<(), StoreError>;
    /// Forgets the uploads no message took that were made before `before`: their ids
    /// (their bytes are the caller's to remove).
    async fn drop_unsent(&self, before: i64) -> Result<Vec<String>, StoreError>;
}

/// A message's files as the store keeps them on the message (JSON; none: NULL).
pub fn files_to_db(files: &[Attachment]) -> Option<String> {
    (!files.is_empty()).then(|| serde_json::to_string(files).expect("attachments always serialize"))
}

/// A message's files as kept (a value that does not read is none).
pub fn files_from_db(json: Option<String>) -> Vec<Attachment> {
    json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default()
}

/// The SQL both backends run.
pub mod sql {
    pub const ADD: &str = "INSERT INTO files (id, owner, room, name, size, mime, width, height, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    /// A file (its attachment's columns first, as [`ATTACHMENT`]'s), and the number of its
    /// message if that message is there, not deleted.
    pub const FILE: &str = "SELECT f.id, f.name, f.size, f.mime, f.width, f.height, f.owner, f.room, f.message, \
         f.created, (SELECT m.seq FROM messages m WHERE m.room = f.room AND m.author_id = f.owner \
         AND m.client_id = f.message AND m.kind = 'text' AND m.files IS NOT NULL) \
         FROM files f WHERE f.id = $1";
    pub const CLAIM: &str = "UPDATE files SET message = $4 WHERE id = $1 AND owner = $2 AND room = $3 \
         AND (message IS NULL OR message = $4)";
    pub const ATTACHMENT: &str = "SELECT id, name, size, mime, width, height FROM files WHERE id = $1";
    pub const BY_OWNER: &str =
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE owner = $1 AND created >= $2";
    pub const ALL: &str = "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files";
    /// The files of a message that was deleted (its `files` emptied by the delete).
    pub const DROP: &str = "DELETE FROM files WHERE (room, owner, message) IN \
         (SELECT room, author_id, client_id FROM messages WHERE room = $1 AND seq = $2 AND kind = 'text' \
         AND files IS NULL) RETURNING id";
    pub const FORGET: &str = "DELETE FROM files WHERE id = $1";
    pub const UNSENT: &str = "DELETE FROM files WHERE message IS NULL AND created < $1 RETURNING id";
}
