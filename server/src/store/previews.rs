//! Link previews in the store: each link's card as last fetched (`link_previews`, kept
//! for every message that links there), and the card a message shows (its `preview`,
//! taken away by the database itself when the message's text changes).

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::{LinkPreview, RoomId, Seq, UserId};

#[async_trait]
pub trait Previews {
    /// The card kept for `url` if it was fetched at `since` or later: `Some(None)` when
    /// the page gave none (or could not be fetched), `None` when it is to be fetched.
    async fn kept_card(&self, url: &str, since: i64) -> Result<Option<Option<LinkPreview>>, StoreError>;
    /// Keeps what fetching `url` gave: its card, and its picture's thumbnail (its id and
    /// WebP bytes; a picture kept before stays when this fetch brought none, as cards
    /// already shown may show it).
    async fn keep_card(
        &self,
        url: &str,
        card: Option<&LinkPreview>,
        picture: Option<(&str, &[u8])>,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A card's picture (WebP) by its id.
    async fn picture(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Message `seq` of `room` shows `preview`, if it is a message still there whose
    /// text still has the link: whether it does now.
    async fn set_preview(&self, room: &RoomId, seq: Seq, preview: &LinkPreview) -> Result<bool, StoreError>;
    /// `author` takes the card away from their message `seq` of `room`, for good:
    /// whether it is a text message of theirs.
    async fn hide_preview(&self, room: &RoomId, seq: Seq, author: &UserId) -> Result<bool, StoreError>;
}

/// A card as the store keeps it (JSON).
pub fn card_to_db(card: &LinkPreview) -> String {
    serde_json::to_string(card).expect("a card always serializes")
}

/// A card the store kept (a row that does not read is none).
pub fn card_from_db(json: Option<String>) -> Option<LinkPreview> {
    serde_json::from_str(&json?).ok()
}

/// The SQL both backends run (a message's text still having the link is each one's own).
pub mod sql {
    pub const KEPT: &str = "SELECT card FROM link_previews WHERE url = $1 AND fetched_at >= $2";
    pub const HIDE: &str = "UPDATE messages SET preview = NULL, preview_hidden = $4 \
         WHERE room = $1 AND seq = $2 AND author_id = $3 AND kind = 'text'";
    pub const KEEP: &str = "INSERT INTO link_previews (url, card, fetched_at, picture_id, picture) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (url) DO UPDATE SET card = excluded.card, \
         fetched_at = excluded.fetched_at, picture_id = COALESCE(excluded.picture_id, link_previews.picture_id), \
         picture = COALESCE(excluded.picture, link_previews.picture)";
    pub const PICTURE: &str = "SELECT picture FROM link_previews WHERE picture_id = $1";
}
