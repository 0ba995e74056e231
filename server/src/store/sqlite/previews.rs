//! The SQLite store's link previews (see `store/previews.rs`).

use super::{reading::sqlite_params, SqliteStore};
use crate::store::previews::{card_from_db, card_to_db, sql, Previews};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{LinkPreview, RoomId, Seq, UserId};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl Previews for SqliteStore {
    async fn kept_card(&self, url: &str, since: i64) -> Result<Option<Option<LinkPreview>>, StoreError> {
        let url = url.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::KEPT))?
                .query_row(params![url, since], |r| r.get::<_, Option<String>>(0))
                .optional()
                .map(|row| row.map(card_from_db))
        })
        .await
    }

    async fn keep_card(&self, url: &str, card: Option<&LinkPreview>, now: i64) -> Result<(), StoreError> {
        let (url, card) = (url.to_owned(), card.map(card_to_db));
        self.write(move |w| w.conn.execute(&sqlite_params(sql::KEEP), params![url, card, now]).map(drop)).await
    }

    async fn set_preview(&self, room: &RoomId, seq: Seq, preview: &LinkPreview) -> Result<bool, StoreError> {
        let (room, url, card) = (room.as_str().to_owned(), preview.url.clone(), card_to_db(preview));
        self.write(move |w| {
            w.conn
                .execute(
                    "UPDATE messages SET preview = ?3 WHERE room = ?1 AND seq = ?2 AND kind = 'text' \
                     AND deleted = 0 AND preview_hidden = 0 AND instr(text, ?4) > 0",
                    params![room, seq as i64, card, url],
                )
                .map(|changed| changed == 1)
        })
        .await
    }

    async fn hide_preview(&self, room: &RoomId, seq: Seq, author: &UserId) -> Result<bool, StoreError> {
        let (room, author) = (room.as_str().to_owned(), author.as_str().to_owned());
        self.write(move |w| {
            let hide = sqlite_params(sql::HIDE);
            w.conn.execute(&hide, params![room, seq as i64, author, 1]).map(|changed| changed == 1)
        })
        .await
    }
}
