//! The single-machine store: one SQLite file in the data directory, WAL mode, commits
//! synced to disk (`synchronous=FULL`) before anything is acknowledged. The writer is in
//! `messages.rs`, reads of history in `reading.rs`, the search index in `search.rs`,
//! people's positions, settings and names in `people.rs`, the schema in `schema.rs`.

mod accounts;
mod files;
mod messages;
mod passkeys;
mod people;
mod previews;
mod push;
mod reading;
mod rules;
mod schema;
mod search;
#[cfg(test)]
mod tests;

use super::{history, Appended, Found, Post, Store, StoreError, Unread};
use crate::words::Query;
use async_trait::async_trait;
use messages::{append_batch, Writer};
use palaver_protocol::{ChatMessage, HistoryPage, Level, RoomId, RoomListing, Seq, User, UserId};
use reading::{page, read_messages, sqlite_params};
use rusqlite::{params, Connection, OpenFlags};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// Read connections kept open; WAL lets them read while the writer commits.
const READERS: usize = 4;

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    readers: Arc<Vec<Mutex<Connection>>>,
    /// One permit per reader: reads wait here, not in blocked threads.
    reading: Arc<tokio::sync::Semaphore>,
}

impl SqliteStore {
    /// Opens (creating if needed) `palaver.db` in `dir`, and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let path = dir.join("palaver.db");
        let fail = |source: String| StoreError::Open {
            path: path.display().to_string(),
            source: Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(source)),
        };
        std::fs::create_dir_all(dir).map_err(|e| fail(format!("cannot create the directory: {e}")))?;
        let mut writer = Connection::open(&path).map_err(|e| fail(e.to_string()))?;
        configure(&writer).map_err(|e| fail(e.to_string()))?;
        schema::migrate(&mut writer).map_err(|e| fail(e.to_string()))?;
        let check: String =
            writer.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| fail(e.to_string()))?;
        if check != "ok" {
            return Err(fail(format!("the database is damaged: {check}")));
        }
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>, rusqlite::Error>>()
            .map_err(|e| fail(e.to_string()))?;
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(Writer { conn: writer, next_seq: HashMap::new(), next_doc: None })),
            readers: Arc::new(readers),
            reading: Arc::new(tokio::sync::Semaphore::new(READERS)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the one writing connection, off the async threads.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || f(&mut writer.lock().unwrap_or_else(|p| p.into_inner())))
            .await
            .map_err(StoreError::backend)?
            .map_err(backend)
    }

    /// Runs a read on a free reader connection, off the async threads.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = self.readers.clone();
        let permit = self.reading.clone().acquire_owned().await.map_err(StoreError::backend)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = readers
                .iter()
                .find_map(|m| m.try_lock().ok())
                .unwrap_or_else(|| readers[0].lock().unwrap_or_else(|p| p.into_inner()));
            f(&conn)
        })
        .await
        .map_err(StoreError::backend)?
        .map_err(backend)
    }
}
fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

/// A room name read back from the database.
fn room_at(r: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<RoomId> {
    let name: String = r.get(index)?;
    RoomId::parse(&name)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, e.into()))
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL syncs the WAL on every commit: an acknowledged message survives power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // What is deleted or overwritten (a deleted message's text) is zeroed, not left in
    // free space in the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    // Keep the rooms' recent pages in memory: a busy server appends to many rooms at
    // once, and each append reads the room's last page and its resend index; and the
    // search index's merges read its pages again and again. The cache fills only as far
    // as the database is big.
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    Ok(())
}

/// Page cache of the writer connection, in KiB (SQLite's default is 2 MiB): at a
/// million messages (a 220 MiB file), 64 MiB held the writer to 18,200-18,900 messages
/// a second with the search index, 256 MiB lets it reach 20,100-20,300.
const WRITER_CACHE_KIB: i64 = 256 * 1024;
/// Page cache of each reader connection, in KiB.
const READER_CACHE_KIB: i64 = 16 * 1024;

#[async_trait]
impl Store for SqliteStore {
    async fn append(&self, batch: Vec<Post>) -> Result<Vec<Appended>, StoreError> {
        self.write(move |writer| append_batch(writer, batch)).await
    }

    async fn latest(&self, room: &RoomId, limit: usize) -> Result<HistoryPage, StoreError> {
        let room = room.as_str().to_owned();
        self.read(move |c| page(c, &room, None, limit)).await
    }

    async fn after(&self, room: &RoomId, after: Seq, limit: usize) -> Result<Vec<ChatMessage>, StoreError> {
        let room = room.as_str().to_owned();
        let (after, limit) = (history::stored(after), i64::try_from(limit).unwrap_or(i64::MAX));
        self.read(move |c| read_messages(c, &room, &sqlite_params(history::ROWS_AFTER), params![room, after, limit]))
            .await
    }

    async fn around(&self, room: &RoomId, seq: Seq, limit: usize) -> Result<HistoryPage, StoreError> {
        let (room, at) = (room.as_str().to_owned(), history::stored(seq));
        self.read(move |c| reading::around(c, &room, at, limit)).await
    }

    async fn before(&self, room: &RoomId, before: Seq, limit: usize) -> Result<HistoryPage, StoreError> {
        let room = room.as_str().to_owned();
        self.read(move |c| page(c, &room, Some(before), limit)).await
    }

    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError> {
        self.read(reading::rooms).await
    }

    async fn search(
        &self,
        query: &Query,
        reader: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        let (fts, reader) = (search::fts_query(query), reader.to_owned());
        self.read(move |c| search::find(c, &fts, &reader, before, limit)).await
    }

    async fn unread(&self, user: &UserId) -> Result<Vec<Unread>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| people::unread(c, &user)).await
    }

    async fn mark_read(&self, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError> {
        self.write(move |writer| people::mark_read(writer, marks)).await
    }

    async fn levels(&self, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| people::levels(c, &user)).await
    }

    async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError> {
        let (user, room) = (user.as_str().to_owned(), room.as_str().to_owned());
        self.write(move |writer| people::set_level(writer, &user, &room, level)).await
    }

    async fn forget_room(&self, user: &UserId, room: &RoomId) -> Result<(), StoreError> {
        let (user, room) = (user.as_str().to_owned(), room.as_str().to_owned());
        self.write(move |writer| people::forget_room(writer, &user, &room)).await
    }

    async fn people_named(&self, names: Vec<String>, per_name: usize) -> Result<Vec<User>, StoreError> {
        self.read(move |c| people::named(c, &names, per_name)).await
    }

    async fn remember(&self, people: Vec<User>) -> Result<(), StoreError> {
        self.write(move |writer| people::remember(writer, people)).await
    }

    async fn directory(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomListing>, StoreError> {
        self.read(move |c| reading::directory(c, after, limit)).await
    }

    async fn heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let rooms = rooms.to_vec();
        self.read(move |c| reading::heads(c, rooms)).await
    }
}
