//! The store several nodes share: one PostgreSQL database. Each room's numbers are
//! taken under a lock on the room's row inside the commit that stores the message, so
//! nodes posting to one room at once never clash and never leave a gap; a resend is
//! recognised by (room, author, client id) whichever node stored it first.

use super::{
    decorate, history, kind_from_str, lookups, mentions_from_db, mentions_to_db, never_opened, unread_sql, Appended,
    Found, OriginalRow, Post, ReactionRow, Refusal, Store, StoreError, Unread, UNREAD_KEPT,
};
use crate::search::Query;
use app::protocol::{
    ChatMessage, ClientMsgId, HistoryPage, Level, MessageKind, Quote, RoomId, Seq, User, UserId, MAX_REACTIONS,
};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use std::{sync::Arc, time::Duration};
use tokio_postgres::{error::SqlState, NoTls, Row};

/// Schema changes, applied in order; the `palaver_schema` table records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/postgres/0001_messages.sql"),
    include_str!("../../migrations/postgres/0002_edits.sql"),
    include_str!("../../migrations/postgres/0003_replies_reactions.sql"),
    include_str!("../../migrations/postgres/0004_search.sql"),
    include_str!("../../migrations/postgres/0005_reads.sql"),
    include_str!("../../migrations/postgres/0006_levels.sql"),
    include_str!("../../migrations/postgres/0007_people.sql"),
    include_str!("../../migrations/postgres/0008_edits_served_as_they_are_now.sql"),
];
/// The migration that adds the search index: the messages already stored are indexed
/// with it.
const SEARCH_MIGRATION: usize = 4;
/// Any number, the same on every node: the advisory lock that makes nodes starting at
/// once migrate one after the other.
const MIGRATION_LOCK: i64 = 0x0070_616c_6176_6572;
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
/// Times a batch is tried again when the database undoes it for a conflict with another
/// node's (a deadlock or serialization failure), before its posts get an error.
const CONFLICT_RETRIES: usize = 3;

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

    async fn migrate(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Held until the commit: a second node starting now waits, then finds it done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS palaver_schema (version INT NOT NULL)").await?;
        let done: i32 =
            tx.query_opt("SELECT version FROM palaver_schema", &[]).await?.map_or(0, |row| row.get::<_, i32>(0));
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            tx.batch_execute(sql).await?;
            if i + 1 == SEARCH_MIGRATION {
                index_stored(&tx).await?;
            }
            tx.execute("DELETE FROM palaver_schema", &[]).await?;
            tx.execute("INSERT INTO palaver_schema (version) VALUES ($1)", &[&(i as i32 + 1)]).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn append_once(&self, batch: &[Post]) -> Result<Vec<(Option<i64>, String, Option<Quote>)>, Attempt> {
        let mut client = self.appends.get().await.map_err(|e| Attempt::Failed(StoreError::backend(e)))?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "SELECT out_seq, out_state, out_quote_author, out_quote_text, out_quote_deleted \
                 FROM palaver_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        let rooms: Vec<&str> = batch.iter().map(|p| p.room.as_str()).collect();
        let ids: Vec<&str> = batch.iter().map(|p| p.id.as_str()).collect();
        let authors: Vec<&str> = batch.iter().map(|p| p.author.id.as_str()).collect();
        let names: Vec<&str> = batch.iter().map(|p| p.author.name.as_str()).collect();
        let kinds: Vec<&str> = batch.iter().map(|p| p.kind.name()).collect();
        let texts: Vec<&str> = batch.iter().map(|p| p.text.as_str()).collect();
        let sent: Vec<i64> = batch.iter().map(|p| p.sent_at).collect();
        let targets: Vec<Option<i64>> = batch.iter().map(|p| p.target.map(|t| t as i64)).collect();
        let mentions: Vec<Option<String>> = batch.iter().map(|p| mentions_to_db(&p.mentions)).collect();
        let max = MAX_REACTIONS as i32;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] =
            [&rooms, &ids, &authors, &names, &kinds, &texts, &sent, &targets, &mentions, &max];
        let rows = tx.query(&stmt, &params).await?;
        let numbered: Vec<(Option<i64>, String, Option<Quote>)> = rows
            .iter()
            .map(|r| {
                let quote = r
                    .get::<_, Option<String>>(2)
                    .map(|author| Quote::of(&author, &r.get::<_, Option<String>>(3).unwrap_or_default(), r.get(4)));
                (r.get::<_, Option<i64>>(0), r.get::<_, String>(1), quote)
            })
            .collect();
        index(&tx, batch, &numbered).await?;
        tx.commit().await?;
        Ok(numbered)
    }

    async fn messages(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.messages_on(&self.client().await?, sql, params).await
    }

    /// As [`Self::messages`], on a connection already taken from the pool.
    async fn messages_on(
        &self,
        client: &Object,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows = query(client, sql, params).await?;
        let mut messages = rows.iter().map(row_to_message).collect::<Result<Vec<_>, _>>()?;
        messages.sort_by_key(|m| m.seq);
        let Some(room) = messages.first().map(|m| m.room.as_str().to_owned()) else { return Ok(messages) };
        // Their reactions and the originals replies quote, in two more reads.
        let (shown, originals) = lookups(&messages);
        let sql =
            "SELECT seq, emoji, user_id, user_name FROM reactions WHERE room = $1 AND seq = ANY($2) ORDER BY added";
        let reactions: Vec<ReactionRow> = query(client, sql, &[&room, &shown])
            .await?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as Seq, r.get(1), User { id: UserId(r.get(2)), name: r.get(3) }))
            .collect();
        let sql = "SELECT seq, author_name, text, deleted FROM messages WHERE room = $1 AND seq = ANY($2)";
        let found: Vec<OriginalRow> = query(client, sql, &[&room, &originals])
            .await?
            .iter()
            .map(|r| (r.get::<_, i64>(0) as Seq, r.get(1), r.get(2), r.get(3)))
            .collect();
        decorate(&mut messages, reactions, found);
        Ok(messages)
    }

    /// The newest `limit` lines before `before`, with the events after the oldest of
    /// them, oldest first.
    async fn page(&self, room: &RoomId, before: i64, limit: usize) -> Result<HistoryPage, StoreError> {
        let client = self.client().await?;
        let (from, _) = start_before(&client, room.as_str(), before, limit).await?;
        self.rows_between(&client, room.as_str(), from, before.saturating_sub(1)).await
    }

    /// The rows of a room numbered `from` to `to`, served, as a page.
    async fn rows_between(&self, client: &Object, room: &str, from: i64, to: i64) -> Result<HistoryPage, StoreError> {
        let messages = self.messages_on(client, history::ROWS_BETWEEN, &[&room, &from, &to]).await?;
        let has_older = messages.first().is_some_and(|m| m.seq > 1);
        Ok(HistoryPage { messages, has_older })
    }
}

/// Where a page of `lines` lines before number `at` starts (its oldest line, or the
/// oldest row it may read), and how many lines it has (see `history`).
async fn start_before(client: &Object, room: &str, at: i64, lines: usize) -> Result<(i64, usize), StoreError> {
    let Some(nth) = lines.checked_sub(1) else { return Ok((at, 0)) };
    let (rows, nth) = (history::rows_for(lines), nth as i64);
    if let Some(row) = query(client, history::NTH_LINE_BEFORE, &[&room, &at, &rows, &nth]).await?.first() {
        return Ok((row.get(0), lines));
    }
    let found = query(client, history::ROWS_BEFORE, &[&room, &at, &rows]).await?;
    let (count, oldest) = found.first().map_or((0, None), |r| (r.get::<_, i64>(0), r.get::<_, Option<i64>>(1)));
    Ok((oldest.unwrap_or(at), (count as usize).min(lines)))
}

/// Where a page of `lines` lines from number `at` on ends (its newest line, or the
/// newest row it may read).
async fn end_from(client: &Object, room: &str, at: i64, lines: usize) -> Result<i64, StoreError> {
    let Some(nth) = lines.checked_sub(1) else { return Ok(at.saturating_sub(1)) };
    let (until, nth) = (at.saturating_add(history::rows_for(lines)), nth as i64);
    if let Some(row) = query(client, history::NTH_LINE_FROM, &[&room, &at, &until, &nth]).await?.first() {
        return Ok(row.get(0));
    }
    let found = query(client, history::LAST_ROW_FROM, &[&room, &at, &until]).await?;
    Ok(found.first().and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(at.saturating_sub(1)))
}

/// Indexes messages (rooms, numbers and their words, space-separated), in the order
/// given: the order of the search results.
const INSERT_DOCS: &str = "INSERT INTO search_docs (room, seq, words) \
     SELECT r, s, array_to_tsvector(string_to_array(w, ' ')) \
     FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS t (r, s, w, n) ORDER BY n";

/// Keeps the search index up to date with what a batch stored, in its transaction: new
/// text messages in, edited ones under their new words, deleted ones out.
async fn index(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &[Post],
    numbered: &[(Option<i64>, String, Option<Quote>)],
) -> Result<(), tokio_postgres::Error> {
    let (mut rooms, mut seqs, mut words) = (Vec::new(), Vec::new(), Vec::new());
    for (post, (seq, state, _)) in batch.iter().zip(numbered) {
        let (Some(seq), "new") = (*seq, state.as_str()) else { continue };
        let words_of = |text: &str| crate::search::tokens(text).join(" ");
        match (post.kind, post.target) {
            (MessageKind::Text, _) => {
                rooms.push(post.room.as_str());
                seqs.push(seq);
                words.push(words_of(&post.text));
            }
            (MessageKind::Edit, Some(target)) => {
                let sql = "UPDATE search_docs SET words = array_to_tsvector(string_to_array($3, ' ')) \
                           WHERE room = $1 AND seq = $2";
                let stmt = tx.prepare_cached(sql).await?;
                tx.execute(&stmt, &[&post.room.as_str(), &(target as i64), &words_of(&post.text)]).await?;
            }
            (MessageKind::Delete, Some(target)) => {
                let stmt = tx.prepare_cached("DELETE FROM search_docs WHERE room = $1 AND seq = $2").await?;
                tx.execute(&stmt, &[&post.room.as_str(), &(target as i64)]).await?;
            }
            _ => {}
        }
    }
    if !rooms.is_empty() {
        let stmt = tx.prepare_cached(INSERT_DOCS).await?;
        tx.execute(&stmt, &[&rooms, &seqs, &words]).await?;
    }
    Ok(())
}

/// A query in PostgreSQL's `tsquery` syntax: every word quoted (so nothing typed is an
/// operator), all required, the prefixes with `:*`.
fn ts_query(query: &Query) -> String {
    let quoted = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
    let words = query.words.iter().map(|w| quoted(w));
    let prefixes = query.prefixes.iter().map(|p| format!("{}:*", quoted(p)));
    words.chain(prefixes).collect::<Vec<_>>().join(" & ")
}

/// Indexes every text message stored before there was a search index.
async fn index_stored(tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT room, seq, text FROM messages WHERE kind = 'text' AND NOT deleted ORDER BY sent_at, room, seq",
            &[],
        )
        .await?;
    for chunk in rows.chunks(1_000) {
        let rooms: Vec<&str> = chunk.iter().map(|r| r.get(0)).collect();
        let seqs: Vec<i64> = chunk.iter().map(|r| r.get(1)).collect();
        let words: Vec<String> = chunk.iter().map(|r| crate::search::tokens(r.get(2)).join(" ")).collect();
        tx.execute(INSERT_DOCS, &[&rooms, &seqs, &words]).await?;
    }
    Ok(())
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

/// How one try at storing a batch failed.
enum Attempt {
    /// Undone by the database for a conflict with another node's transaction (a
    /// deadlock or serialization failure): worth trying again.
    Conflict(tokio_postgres::Error),
    Failed(StoreError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Attempt {
        let conflict = e
            .code()
            .is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE);
        if conflict {
            Attempt::Conflict(e)
        } else {
            Attempt::Failed(StoreError::backend(e))
        }
    }
}

fn open_error(place: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
    StoreError::Open { path: place.to_owned(), source: Arc::from(e.into()) }
}

const COLUMNS: &str =
    "room, seq, client_id, author_id, author_name, kind, text, sent_at, target, edited, deleted, mentions";

/// A room name read back from the database.
fn room_named(room: &str) -> Result<RoomId, StoreError> {
    RoomId::parse(room).map_err(|e| StoreError::backend(format!("room {room:?}: {e}")))
}

fn row_to_message(r: &Row) -> Result<ChatMessage, StoreError> {
    row_to_message_at(r, 0)
}

/// A message from the row's [`COLUMNS`], which start at column `at`.
fn row_to_message_at(r: &Row, at: usize) -> Result<ChatMessage, StoreError> {
    let kind: String = r.get(at + 5);
    Ok(ChatMessage {
        room: room_named(r.get(at))?,
        seq: r.get::<_, i64>(at + 1) as Seq,
        id: ClientMsgId(r.get(at + 2)),
        author: User { id: UserId(r.get(at + 3)), name: r.get(at + 4) },
        kind: kind_from_str(&kind),
        text: r.get(at + 6),
        sent_at: r.get(at + 7),
        target: r.get::<_, Option<i64>>(at + 8).map(|t| t as Seq),
        edited: r.get(at + 9),
        deleted: r.get(at + 10),
        quote: None,
        reactions: Vec::new(),
        mentions: mentions_from_db(r.get(at + 11)),
    })
}

#[async_trait]
impl Store for PostgresStore {
    async fn append(&self, batch: Vec<Post>) -> Result<Vec<Appended>, StoreError> {
        let mut tries = 0;
        let numbered = loop {
            match self.append_once(&batch).await {
                Ok(numbered) => break numbered,
                Err(Attempt::Conflict(e)) if tries < CONFLICT_RETRIES => {
                    tries += 1;
                    tracing::debug!("batch undone for a conflict with another node; trying again: {e}");
                }
                Err(Attempt::Conflict(e)) => return Err(StoreError::backend(e)),
                Err(Attempt::Failed(e)) => return Err(e),
            }
        };
        if numbered.len() != batch.len() {
            return Err(StoreError::backend(format!("{} results for {} posts", numbered.len(), batch.len())));
        }
        batch
            .into_iter()
            .zip(numbered)
            .map(|(m, (seq, state, quote))| match (state.as_str(), seq) {
                ("new", Some(seq)) => Ok(Appended::New(ChatMessage { quote, ..m.numbered(seq as Seq) })),
                ("dup", Some(seq)) => Ok(Appended::Duplicate(seq as Seq)),
                (other, _) => match other.strip_prefix("refused:").and_then(Refusal::parse) {
                    Some(refusal) => Ok(Appended::Refused(refusal)),
                    None => Err(StoreError::backend(format!("the database answered {other:?} for a post"))),
                },
            })
            .collect()
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

    async fn search(&self, words: &Query, before: Option<u64>, limit: usize) -> Result<Vec<Found>, StoreError> {
        let client = self.client().await?;
        let columns = COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT d.id, {columns} FROM search_docs d JOIN messages m ON m.room = d.room AND m.seq = d.seq \
             WHERE d.words @@ $1::text::tsquery AND d.id < $2 ORDER BY d.id DESC LIMIT $3"
        );
        let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
        let rows = query(&client, &sql, &[&ts_query(words), &before, &(limit as i64)]).await?;
        rows.iter()
            .map(|r| Ok(Found { position: r.get::<_, i64>(0) as u64, message: row_to_message_at(r, 1)? }))
            .collect()
    }

    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query("SELECT room FROM rooms WHERE last_seq > 0 ORDER BY room", &[])
            .await
            .map_err(StoreError::backend)?;
        rows.iter().map(|r| room_named(r.get(0))).collect()
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
        let client = self.client().await?;
        let user = user.as_str();
        let reads = query(&client, unread_sql::READS, &[&user]).await?;
        let kept = UNREAD_KEPT as i64;
        let mut out = Vec::with_capacity(reads.len());
        for row in reads {
            let (room, read): (&str, i64) = (row.get(0), row.get(1));
            let seqs = |rows: Vec<Row>| rows.iter().rev().map(|r| r.get::<_, i64>(0) as Seq).collect::<Vec<_>>();
            let others = query(&client, unread_sql::OTHERS, &[&user, &room, &read, &kept]).await?;
            let mentions = query(&client, unread_sql::MENTIONS, &[&user, &room, &read, &kept]).await?;
            let first = query(&client, unread_sql::FIRST, &[&user, &room, &read]).await?;
            out.push(Unread {
                room: room_named(room)?,
                read: Some(read as Seq),
                unread: seqs(others),
                mentions: seqs(mentions),
                first: first.first().map(|r| r.get::<_, i64>(0) as Seq),
            });
        }
        let elsewhere = query(&client, unread_sql::MENTIONS_ELSEWHERE, &[&user])
            .await?
            .iter()
            .map(|r| Ok((room_named(r.get(0))?, r.get::<_, i64>(1) as Seq)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.extend(never_opened(elsewhere));
        Ok(out)
    }

    async fn mark_read(&self, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        let users: Vec<&str> = marks.iter().map(|m| m.0.as_str()).collect();
        let rooms: Vec<&str> = marks.iter().map(|m| m.1.as_str()).collect();
        let seqs: Vec<i64> = marks.iter().map(|m| m.2 as i64).collect();
        let client = self.client().await?;
        // One statement (one commit) for the batch; a person and room twice in it keep
        // the furthest.
        let sql = "INSERT INTO reads (user_id, room, seq) \
                   SELECT u, r, MAX(s) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t (u, r, s) GROUP BY u, r \
                   ON CONFLICT (user_id, room) DO UPDATE SET seq = GREATEST(reads.seq, excluded.seq)";
        query(&client, sql, &[&users, &rooms, &seqs]).await?;
        Ok(())
    }

    async fn levels(&self, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, unread_sql::LEVELS, &[&user.as_str()]).await?;
        let mut levels = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(level) = Level::named(r.get(1)) {
                levels.push((room_named(r.get(0))?, level));
            }
        }
        Ok(levels)
    }

    async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError> {
        let client = self.client().await?;
        let (user, room) = (user.as_str(), room.as_str());
        if level == Level::Mentions {
            query(&client, unread_sql::DEFAULT_LEVEL, &[&user, &room]).await?;
        } else {
            query(&client, unread_sql::SET_LEVEL, &[&user, &room, &level.as_str()]).await?;
        }
        Ok(())
    }

    async fn people(&self) -> Result<Vec<User>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, unread_sql::PEOPLE, &[]).await?;
        Ok(rows.into_iter().map(|r| User { id: UserId(r.get(0)), name: r.get(1) }).collect())
    }

    async fn remember(&self, people: Vec<User>) -> Result<(), StoreError> {
        if people.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = people.iter().map(|u| u.id.as_str()).collect();
        let names: Vec<&str> = people.iter().map(|u| u.name.as_str()).collect();
        let client = self.client().await?;
        // One statement (one commit); the hub hands each person over once a batch.
        let sql = "INSERT INTO people (user_id, name) SELECT * FROM unnest($1::text[], $2::text[]) \
                   ON CONFLICT (user_id) DO UPDATE SET name = excluded.name";
        query(&client, sql, &[&ids, &names]).await?;
        Ok(())
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
