//! Where messages last: one trait, one file per backend. The hub batches writes and
//! calls [`Store::append`] from a single writer, so backends number messages in order.

pub mod sqlite;

use app::protocol::{ChatMessage, ClientMsgId, MessageKind, RoomId, Seq, User};
use async_trait::async_trait;

/// A message to store; the store gives it its number.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room: RoomId,
    pub id: ClientMsgId,
    pub author: User,
    pub kind: MessageKind,
    pub text: String,
    pub sent_at: i64,
}

/// What became of one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Appended {
    /// Stored, with its number.
    New(ChatMessage),
    /// The same author already posted this client id in this room, as this number.
    Duplicate(Seq),
}

/// A run of consecutive messages, oldest first, and whether older ones exist.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub messages: Vec<ChatMessage>,
    pub has_older: bool,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the message store at {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("message store: {0}")]
    Backend(String),
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Stores a batch in one durable commit, numbering each new message after the
    /// newest of its room. Returns once the commit is on disk, one result per message.
    async fn append(&self, batch: Vec<NewMessage>) -> Result<Vec<Appended>, StoreError>;

    /// The newest `limit` messages of a room.
    async fn latest(&self, room: &RoomId, limit: usize) -> Result<Page, StoreError>;

    /// Up to `limit` messages of a room numbered after `after`, oldest first.
    async fn after(&self, room: &RoomId, after: Seq, limit: usize) -> Result<Vec<ChatMessage>, StoreError>;

    /// Up to `limit` messages of a room numbered before `before`, oldest first.
    async fn before(&self, room: &RoomId, before: Seq, limit: usize) -> Result<Page, StoreError>;

    /// Every room that has messages.
    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError>;
}
