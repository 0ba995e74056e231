//! The SQLite store's uploaded files (see `store/files.rs`).

use super::{reading::sqlite_params, room_at, SqliteStore};
use crate::store::files::{sql, Files, StoredFile};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{Attachment, ClientMsgId, RoomId, Seq, UserId};
use rusqlite::{params, OptionalExtension};

/// An attachment from a row's first six columns (id, name, size, type, width, height).
fn attachment(r: &rusqlite::Row<'_>) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        name: r.get(1)?,
        size: r.get::<_, i64>(2)? as u64,
        mime: r.get(3)?,
        width: r.get(4)?,
        height: r.get(5)?,
    })
}

#[async_trait]
impl Files for SqliteStore {
    async fn add_file(&self, f: &StoredFile) -> Result<(), StoreError> {
        let f = f.clone();
        self.write(move |w| {
            let a = &f.file;
            w.conn
                .execute(
                    &sqlite_params(sql::ADD),
                    params![
                        a.id,
                        f.owner.0,
                        f.room.as_str(),
                        a.name,
                        a.size as i64,
                        a.mime,
                        a.width,
                        a.height,
                        f.created
                    ],
                )
                .map(drop)
        })
        .await
    }

    async fn file(&self, id: &str) -> Result<Option<(StoredFile, bool)>, StoreError> {
        let id = id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::FILE))?
                .query_row(params![id], |r| {
                    let file = StoredFile {
                        file: attachment(r)?,
                        owner: UserId(r.get(6)?),
                        room: room_at(r, 7)?,
                        message: r.get(8)?,
                        created: r.get(9)?,
                    };
                    Ok((file, r.get::<_, Option<i64>>(10)?.is_some()))
                })
                .optional()
        })
        .await
    }

    async fn claim_files(
        &self,
        room: &RoomId,
        owner: &UserId,
        message: &ClientMsgId,
        ids: &[String],
    ) -> Result<Option<Vec<Attachment>>, StoreError> {
        let (room, owner, message, ids) = (room.as_str().to_owned(), owner.0.clone(), message.0.clone(), ids.to_vec());
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            let mut found = Vec::with_capacity(ids.len());
            for id in &ids {
                if tx.execute(&sqlite_params(sql::CLAIM), params![id, owner, room, message])? != 1 {
                    return Ok(None);
                }
                found.push(tx.query_row(&sqlite_params(sql::ATTACHMENT), params![id], attachment)?);
            }
            tx.commit()?;
            Ok(Some(found))
        })
        .await
    }

    async fn uploaded(&self, owner: &UserId, since: i64) -> Result<(u64, u64), StoreError> {
        let owner = owner.0.clone();
        self.read(move |c| {
            let mine: i64 =
                c.prepare_cached(&sqlite_params(sql::BY_OWNER))?.query_row(params![owner, since], |r| r.get(0))?;
            let all: i64 = c.prepare_cached(sql::ALL)?.query_row([], |r| r.get(0))?;
            Ok((mine as u64, all as u64))
        })
        .await
    }

    async fn drop_files(&self, room: &RoomId, seq: Seq) -> Result<Vec<String>, StoreError> {
        let room = room.as_str().to_owned();
        self.write(move |w| {
            w.conn
                .prepare_cached(&sqlite_params(sql::DROP))?
                .query_map(params![room, seq as i64], |r| r.get(0))?
                .collect()
        })
        .await
    }

    async fn forget_file(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |w| w.conn.execute(&sqlite_params(sql::FORGET), params![id]).map(drop)).await
    }

    async fn drop_unsent(&self, before: i64) -> Result<Vec<String>, StoreError> {
        self.write(move |w| {
            w.conn.prepare_cached(&sqlite_params(sql::UNSENT))?.query_map(params![before], |r| r.get(0))?.collect()
        })
        .await
    }
}
