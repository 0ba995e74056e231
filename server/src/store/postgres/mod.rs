//! The store several nodes share: one PostgreSQL database. Each room's numbers are
//! taken under a lock on the room's row inside the commit that stores the message, so
//! nodes posting to one room at once never clash and never leave a gap; a resend is
//! recognised by (room, author, client id) whichever node stored it first.
//! The writer is in `messages.rs`, reads of history in `reading.rs`, the search index in
//! `search.rs`, people's positions, settings and names in `people.rs`, the schema in
//! `schema.rs`.

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

use super::{history, Appended, Found, Post, Store, StoreError, Unread};
use crate::words::Query;
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use palaver_protocol::{ChatMessage, HistoryPage, Level, RoomId, RoomListing, Seq, User, UserId};
use reading::{end_from, start_before};
use std::{sync::Arc, time::Duration};
use tokio_postgres::{NoTls, Row};

/// Connections each node keeps to the database at most for reading (and small writes:
/// read positions, settings, names).
const POOL_SIZE: usize = 16;
/// Connections kept for the writer's commits alone, besides the pool: however many
/// page loads and reads wait for a connection, posts never wait behind them. (One
/// writer commits one batch at a time.)
const APPEND_POOL_SIZE: usize = 1;
/// How long a request waits for a connection, or to make one, before it fails (and the
/// client is told to try again) rather than hang while the database is away.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A statement that takes longer fails; its post is answered with a retryable error.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct PostgresStore {
    pool: Pool,
    /// The writer's own connection, for appends only.
    appends: Pool,
    /// Where, without the password, for the log.
    place: String,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://...`) and brings its schema up to
    /// date. Safe when several nodes start at once.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| open_error(url, e))?;
        config
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives_idle(Duration::from_secs(30))
            .application_name("palaver")
            .options(format!("-c statement_timeout={}", STATEMENT_TIMEOUT.as_millis()));
        let place = format!(
            "postgres://{}{}/{}",
            config.get_hosts().first().map_or("?".into(), |h| match h {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            }),
            config.get_ports().first().map_or(String::new(), |p| format!(":{p}")),
            config.get_dbname().unwrap_or("")
        );
        let pool = |size: usize| {
            let manager =
                Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
            Pool::builder(manager)
                .max_size(size)
                .runtime(Runtime::Tokio1)
                .wait_timeout(Some(CONNECT_TIMEOUT))
                .create_timeout(Some(CONNECT_TIMEOUT))
                .recycle_timeout(Some(CONNECT_TIMEOUT))
                .build()
                .map_err(|e| open_error(&place, e))
        };
        let (pool, appends) = (pool(POOL_SIZE)?, pool(APPEND_POOL_SIZE)?);
        let store = PostgresStore { pool, appends, place };
        store.migrate().await.map_err(|e| open_error(&store.place, e))?;
        Ok(store)
    }

    /// Where the messages are, without credentials.
    pub fn place(&self) -> &str {
        &self.place
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(StoreError::backend)
    }
}

/// The rows of a (cached) statement.
async fn query(
    client: &Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<Row>, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(StoreError::backend)?;
    client.query(&stmt, params).await.map_err(StoreError::backend)
}

fn open_error(place: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Open { path: place.to_owned(), source: Arc::from(e.into()) }
}

/// A room name read back from the database.
fn room_named(room: &str) -> Result<RoomId, StoreError> {
    RoomId::parse(room).map_err(|e| StoreError::backend(format!("room {room:?}: {e}")))
}

#[async_trait]
impl Store for PostgresStore {
    async fn append(&self, batch: Vec<Post>) -> Result<Vec<Appended>, StoreError> {
        messages::append(self, batch).await
    }

    async fn latest(&self, room: &RoomId, limit: usize) -> Result<HistoryPage, StoreError> {
        self.page(room, i64::MAX, limit).await
    }

    async fn after(&self, room: &RoomId, after: Seq, limit: usize) -> Result<Vec<ChatMessage>, StoreError> {
        let (after, limit) = (history::stored(after), i64::try_from(limit).unwrap_or(i64::MAX));
        self.messages(history::ROWS_AFTER, &[&room.as_str(), &after, &limit]).await
    }

    async fn before(&self, room: &RoomId, before: Seq, limit: usize) -> Result<HistoryPage, StoreError> {
        self.page(room, history::stored(before), limit).await
    }

    async fn around(&self, room: &RoomId, seq: Seq, limit: usize) -> Result<HistoryPage, StoreError> {
        let (at, client) = (history::stored(seq), self.client().await?);
        let (from, before) = start_before(&client, room.as_str(), at, limit / 2).await?;
        let to = end_from(&client, room.as_str(), at, limit.saturating_sub(before)).await?;
        self.rows_between(&client, room.as_str(), from, to).await
    }

    async fn search(
        &self,
        words: &Query,
        reader: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Found>, StoreError> {
        search::search(self, words, reader, before, limit).await
    }

    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT room FROM rooms WHERE last_seq > 0 ORDER BY room", &[])
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(|r| room_named(r.get(0))).collect()
    }

    async fn directory(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<RoomListing>, StoreError> {
        reading::directory(self, after, limit).await
    }

    async fn heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let client = self.client().await?;
        let names: Vec<&str> = rooms.iter().map(RoomId::as_str).collect();
        let stmt = client
            .prepare_cached("SELECT room, last_seq FROM rooms WHERE room = ANY($1)")
            .await
            .map_err(StoreError::backend)?;
        let rows = client.query(&stmt, &[&names]).await.map_err(StoreError::backend)?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let room = RoomId::parse(r.get::<_, &str>(0)).ok()?;
                Some((room, r.get::<_, i64>(1) as Seq))
            })
            .collect())
    }

    async fn unread(&self, user: &UserId) -> Result<Vec<Unread>, StoreError> {
        people::unread(self, user).await
    }

    async fn mark_read(&self, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError> {
        people::mark_read(self, marks).await
    }

    async fn levels(&self, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError> {
        people::levels(self, user).await
    }

    async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError> {
        people::set_level(self, user, room, level).await
    }

    async fn forget_room(&self, user: &UserId, room: &RoomId) -> Result<(), StoreError> {
        people::forget_room(self, user, room).await
    }

    async fn people_named(&self, names: Vec<String>, per_name: usize) -> Result<Vec<User>, StoreError> {
        people::named(self, names, per_name).await
    }

    async fn remember(&self, people: Vec<User>) -> Result<(), StoreError> {
        people::remember(self, people).await
    }

    async fn shared_secret(&self, candidate: Vec<u8>) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO settings (key, value) VALUES ('secret', $1) ON CONFLICT (key) DO NOTHING",
                &[&candidate],
            )
            .await
            .map_err(StoreError::backend)?;
        let row = client
            .query_one("SELECT value FROM settings WHERE key = 'secret'", &[])
            .await
            .map_err(StoreError::backend)?;
        Ok(Some(row.get(0)))
    }
}
