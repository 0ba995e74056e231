//! The PostgreSQL store's uploaded files (see `store/files.rs`).

use super::{query, room_named, PostgresStore};
use crate::store::files::{sql, Files, StoredFile};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{Attachment, ClientMsgId, RoomId, Seq, UserId};
use tokio_postgres::Row;

/// An attachment from columns `at..at + 6` (id, name, size, type, width, height).
fn attachment(r: &Row, at: usize) -> Attachment {
    Attachment {
        id: r.get(at),
        name: r.get(at + 1),
        size: r.get::<_, i64>(at + 2) as u64,
        mime: r.get(at + 3),
        width: r.get::<_, i32>(at + 4) as u32,
        height: r.get::<_, i32>(at + 5) as u32,
    }
}

#[async_trait]
impl Files for PostgresStore {
    async fn add_file(&self, f: &StoredFile) -> Result<(), StoreError> {
        let client = self.client().await?;
        let a = &f.file;
        let (size, width, height) = (a.size as i64, a.width as i32, a.height as i32);
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 9] =
            [&a.id, &f.owner.0, &f.room.as_str(), &a.name, &size, &a.mime, &width, &height, &f.created];
        query(&client, sql::ADD, &params).await.map(drop)
    }

    async fn file(&self, id: &str) -> Result<Option<(StoredFile, bool)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::FILE, &[&id]).await?;
        let Some(r) = rows.first() else { return Ok(None) };
        let stored = StoredFile {
            file: attachment(r, 0),
            owner: UserId(r.get(6)),
            room: room_named(r.get(7))?,
            message: r.get(8),
            created: r.get(9),
        };
        Ok(Some((stored, r.get::<_, Option<i64>>(10).is_some())))
    }

    async fn claim_files(
        &self,
        room: &RoomId,
        owner: &UserId,
        message: &ClientMsgId,
        ids: &[String],
    ) -> Result<Option<Vec<Attachment>>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(StoreError::backend)?;
        let claim = tx.prepare_cached(sql::CLAIM).await.map_err(StoreError::backend)?;
        let read = tx.prepare_cached(sql::ATTACHMENT).await.map_err(StoreError::backend)?;
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            let changed =
                tx.execute(&claim, &[id, &owner.0, &room.as_str(), &message.0]).await.map_err(StoreError::backend)?;
            if changed != 1 {
                return Ok(None);
            }
            let row = tx.query_one(&read, &[id]).await.map_err(StoreError::backend)?;
            found.push(attachment(&row, 0));
        }
        tx.commit().await.map_err(StoreError::backend)?;
        Ok(Some(found))
    }

    async fn uploaded(&self, owner: &UserId, since: i64) -> Result<(u64, u64), StoreError> {
        let client = self.client().await?;
        let mine: i64 = query(&client, sql::BY_OWNER, &[&owner.0, &since]).await?[0].get(0);
        let all: i64 = query(&client, sql::ALL, &[]).await?[0].get(0);
        Ok((mine as u64, all as u64))
    }

    async fn drop_files(&self, room: &RoomId, seq: Seq) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::DROP, &[&room.as_str(), &(seq as i64)]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn forget_file(&self, id: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::FORGET, &[&id]).await.map(drop)
    }

    async fn drop_unsent(&self, before: i64) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::UNSENT, &[&before]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
