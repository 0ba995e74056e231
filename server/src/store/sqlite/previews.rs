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

    async fn keep_card(
        &self,
        url: &str,
        card: Option<&LinkPreview>,
        picture: Option<(&str, &[u8])>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (url, card) = (url.to_owned(), card.map(card_to_db));
        let (id, bytes) = (picture.map(|p| p.0.to_owned()), picture.map(|p| p.1.to_vec()));
        self.write(move |w| w.conn.execute(&sqlite_params(sql::KEEP), params![url, card, now, id, bytes]).map(drop))
            .await
    }

    async fn picture(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::PICTURE))?
                .query_row(params![id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
                .map(Option::flatten)
        })
        .await
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
