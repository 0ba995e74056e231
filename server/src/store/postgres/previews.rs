//! The PostgreSQL store's link previews (see `store/previews.rs`).

use super::{query, PostgresStore};
use crate::store::previews::{card_from_db, card_to_db, sql, Previews};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{LinkPreview, RoomId, Seq, UserId};

#[async_trait]
impl Previews for PostgresStore {
    async fn kept_card(&self, url: &str, since: i64) -> Result<Option<Option<LinkPreview>>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::KEPT, &[&url, &since]).await?;
        Ok(rows.first().map(|r| card_from_db(r.get(0))))
    }

    async fn keep_card(
        &self,
        url: &str,
        card: Option<&LinkPreview>,
        picture: Option<(&str, &[u8])>,
        now: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let card = card.map(card_to_db);
        let (id, bytes) = (picture.map(|p| p.0), picture.map(|p| p.1));
        query(&client, sql::KEEP, &[&url, &card, &now, &id, &bytes]).await.map(drop)
    }

    async fn picture(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::PICTURE, &[&id]).await?;
        Ok(rows.first().and_then(|r| r.get::<_, Option<Vec<u8>>>(0)))
    }

    async fn set_preview(&self, room: &RoomId, seq: Seq, preview: &LinkPreview) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE messages SET preview = $3 WHERE room = $1 AND seq = $2 AND kind = 'text' \
                 AND NOT deleted AND NOT preview_hidden AND strpos(text, $4) > 0",
            )
            .await
            .map_err(StoreError::backend)?;
        let card = card_to_db(preview);
        let changed = client
            .execute(&stmt, &[&room.as_str(), &(seq as i64), &card, &preview.url])
            .await
            .map_err(StoreError::backend)?;
        Ok(changed == 1)
    }

    async fn hide_preview(&self, room: &RoomId, seq: Seq, author: &UserId) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql::HIDE).await.map_err(StoreError::backend)?;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&room.as_str(), &(seq as i64), &author.as_str(), &true];
        Ok(client.execute(&stmt, &params).await.map_err(StoreError::backend)? == 1)
    }
}
