//! The single-machine store: one SQLite file in the data directory, WAL mode, commits
//! synced to disk (`synchronous=FULL`) before anything is acknowledged.

use super::{
    decorate, history, kind_from_str, lookups, mentions_from_db, mentions_to_db, never_opened, unread_sql, Appended,
    Found, OriginalRow, Post, ReactionRow, Refusal, Store, StoreError, Unread, UNREAD_KEPT,
};
use crate::search::Query;
use app::protocol::{
    ChatMessage, ClientMsgId, HistoryPage, Level, MessageKind, Quote, RoomId, Seq, User, UserId, MAX_REACTIONS,
};
use async_trait::async_trait;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

/// Schema changes, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_messages.sql"),
    include_str!("../../migrations/0002_edits.sql"),
    include_str!("../../migrations/0003_replies_reactions.sql"),
    include_str!("../../migrations/0004_search.sql"),
    include_str!("../../migrations/0005_reads.sql"),
    include_str!("../../migrations/0006_levels.sql"),
    include_str!("../../migrations/0007_people.sql"),
    include_str!("../../migrations/0008_search_by_message.sql"),
    include_str!("../../migrations/0009_edits_served_as_they_are_now.sql"),
];
/// The migration that adds the search index. A database older than it has its messages
/// indexed in the last migration's transaction, by the index as it is now.
const SEARCH_MIGRATION: usize = 4;
/// The migration that makes the search index anew: the messages are indexed again in
/// its transaction.
const WORDS_MIGRATION: usize = 9;
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
        migrate(&mut writer).map_err(|e| fail(e.to_string()))?;
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

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == WORDS_MIGRATION {
            index_again(&tx)?;
        }
        if i + 1 == MIGRATIONS.len() && done < SEARCH_MIGRATION {
            index_stored(&tx)?;
        }
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    if done < MIGRATIONS.len() {
        // What a migration blanked (the texts of superseded edits) may still be in the
        // write-ahead log's older pages: copy the new ones into the file, empty the log.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}

/// Indexes every text message stored before there was a search index, in the order
/// they were written.
fn index_stored(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut read = tx.prepare(
        "SELECT room, seq, text FROM messages WHERE kind = 'text' AND deleted = 0 ORDER BY sent_at, room, seq",
    )?;
    let rows = read.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))?;
    let mut number = tx.prepare("UPDATE messages SET doc = ?3 WHERE room = ?1 AND seq = ?2")?;
    for (doc, row) in (1..).zip(rows) {
        let (room, seq, text) = row?;
        number.execute(params![room, seq, doc])?;
        put_words(tx, doc, &text)?;
    }
    Ok(())
}

/// Indexes the message numbered `doc` in the search index under the words of `text`.
fn put_words(tx: &rusqlite::Transaction<'_>, doc: i64, text: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO search_index (rowid, words) VALUES (?1, ?2)")?
        .execute(params![doc, crate::search::tokens(text).join(" ")])?;
    Ok(())
}

/// Takes the message numbered `doc` out of the search index: the index reads the words
/// it keeps for it and, with `secure-delete`, takes them out of its pages at once.
fn take_words(tx: &rusqlite::Transaction<'_>, doc: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM search_index WHERE rowid = ?1")?.execute(params![doc])?;
    Ok(())
}

/// Indexes again every message in the search index (made anew), by its search number.
fn index_again(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let mut read = tx.prepare("SELECT doc, text FROM messages WHERE doc IS NOT NULL ORDER BY doc")?;
    let rows = read.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (doc, text) = row?;
        put_words(tx, doc, &text)?;
    }
    Ok(())
}

/// A query in FTS5's syntax: every word quoted (so nothing typed is an operator), the
/// prefixes with `*`.
fn fts_query(query: &Query) -> String {
    let quoted = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
    let words = query.words.iter().map(|w| quoted(w));
    let prefixes = query.prefixes.iter().map(|p| format!("{}*", quoted(p)));
    words.chain(prefixes).collect::<Vec<_>>().join(" ")
}

/// SQL written for both backends (`$1`), with SQLite's numbered parameters (`?1`: a
/// `$1` would be a named one, numbered in order of appearance).
fn sqlite_params(sql: &str) -> String {
    sql.replace('$', "?")
}

const COLUMNS: &str =
    "room, seq, client_id, author_id, author_name, kind, text, sent_at, target, edited, deleted, mentions";

fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    row_to_message_at(r, 0)
}

/// A message from the row's [`COLUMNS`], which start at column `at`.
fn row_to_message_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ChatMessage> {
    let kind: String = r.get(at + 5)?;
    Ok(ChatMessage {
        room: room_at(r, at)?,
        seq: r.get::<_, i64>(at + 1)? as Seq,
        id: ClientMsgId(r.get(at + 2)?),
        author: User { id: UserId(r.get(at + 3)?), name: r.get(at + 4)? },
        kind: kind_from_str(&kind),
        text: r.get(at + 6)?,
        sent_at: r.get(at + 7)?,
        target: r.get::<_, Option<i64>>(at + 8)?.map(|t| t as Seq),
        edited: r.get::<_, i64>(at + 9)? != 0,
        deleted: r.get::<_, i64>(at + 10)? != 0,
        quote: None,
        reactions: Vec::new(),
        mentions: mentions_from_db(r.get(at + 11)?),
    })
}

/// Reads `sql` (one room's messages, in number order) and gives them their reactions
/// and quotes.
fn read_messages(
    conn: &Connection,
    room: &str,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<Vec<ChatMessage>> {
    let mut messages =
        conn.prepare_cached(sql)?.query_map(params, row_to_message)?.collect::<rusqlite::Result<Vec<_>>>()?;
    messages.sort_by_key(|m| m.seq);
    let (shown, originals) = lookups(&messages);
    let mut reactions: Vec<ReactionRow> = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT seq, emoji, user_id, user_name FROM reactions WHERE room = ?1 AND seq = ?2 ORDER BY added",
    )?;
    for seq in shown {
        let rows = stmt.query_map(params![room, seq], |r| {
            Ok((r.get::<_, i64>(0)? as Seq, r.get(1)?, User { id: UserId(r.get(2)?), name: r.get(3)? }))
        })?;
        reactions.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
    }
    let mut found: Vec<OriginalRow> = Vec::new();
    let mut stmt =
        conn.prepare_cached("SELECT seq, author_name, text, deleted FROM messages WHERE room = ?1 AND seq = ?2")?;
    for seq in originals {
        let row = stmt
            .query_row(params![room, seq], |r| {
                Ok((r.get::<_, i64>(0)? as Seq, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0))
            })
            .optional()?;
        found.extend(row);
    }
    decorate(&mut messages, reactions, found);
    Ok(messages)
}

/// The one connection that writes, the next number of each room it has written to and
/// the next search number (only it writes, so these stay right; they spare every append
/// a lookup).
struct Writer {
    conn: Connection,
    next_seq: HashMap<String, i64>,
    next_doc: Option<i64>,
}

/// Blanks the edits of message `?2` of room `?1`: a message's edits keep no text of it
/// but the newest (its current text), and a deleted message's none. By the index of
/// edits (without statistics SQLite would rather walk the room's rows).
const WIPE_EDITS: &str = "UPDATE messages INDEXED BY messages_edits SET text = '', mentions = NULL \
     WHERE room = ?1 AND target = ?2 AND kind = 'edit' AND (text <> '' OR mentions IS NOT NULL)";

/// Rooms whose next number the writer keeps at most; past it, it starts over.
const REMEMBERED_ROOMS: usize = 65_536;

fn append_batch(writer: &mut Writer, batch: Vec<Post>) -> rusqlite::Result<Vec<Appended>> {
    if writer.next_seq.len() > REMEMBERED_ROOMS {
        writer.next_seq.clear();
    }
    let takes_back = batch.iter().any(|p| matches!(p.kind, MessageKind::Delete | MessageKind::Edit));
    let result = append_in_transaction(writer, batch);
    if result.is_err() {
        // Rolled back: numbers taken in it were not stored.
        writer.next_seq.clear();
        writer.next_doc = None;
    } else if takes_back {
        // The write-ahead log still holds the old pages of a text deleted or edited
        // away: copy the new ones into the database file and empty the log (if no
        // reader holds it up; then at the next edit, delete or automatic checkpoint).
        let _ = writer.conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
    result
}

fn append_in_transaction(writer: &mut Writer, batch: Vec<Post>) -> rusqlite::Result<Vec<Appended>> {
    let Writer { conn, next_seq, next_doc } = writer;
    let tx = conn.transaction()?;
    let mut doc = match *next_doc {
        Some(doc) => doc,
        None => {
            tx.query_row("SELECT COALESCE(MAX(doc), 0) + 1 FROM messages WHERE doc IS NOT NULL", [], |r| r.get(0))?
        }
    };
    let mut out = Vec::with_capacity(batch.len());
    {
        // A resend (same room, author and client id) inserts nothing; then the number
        // it was stored under is looked up.
        let mut insert = tx.prepare_cached(&format!(
            "INSERT INTO messages ({COLUMNS}, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, 0, ?10, ?11) \
             ON CONFLICT (room, author_id, client_id) DO NOTHING"
        ))?;
        let mut find =
            tx.prepare_cached("SELECT seq FROM messages WHERE room = ?1 AND author_id = ?2 AND client_id = ?3")?;
        let mut last = tx.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM messages WHERE room = ?1")?;
        let mut target = tx.prepare_cached(
            "SELECT author_id, author_name, kind, text, deleted, doc FROM messages WHERE room = ?1 AND seq = ?2",
        )?;
        let mut edit =
            tx.prepare_cached("UPDATE messages SET text = ?3, edited = 1, mentions = ?4 WHERE room = ?1 AND seq = ?2")?;
        let mut delete = tx.prepare_cached(
            "UPDATE messages SET text = '', deleted = 1, mentions = NULL, doc = NULL WHERE room = ?1 AND seq = ?2",
        )?;
        let mut unreact_all = tx.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND seq = ?2")?;
        let mut kinds = tx.prepare_cached(
            "SELECT COUNT(DISTINCT emoji), COALESCE(MAX(emoji = ?3), 0) FROM reactions WHERE room = ?1 AND seq = ?2",
        )?;
        let mut react = tx.prepare_cached(
            "INSERT INTO reactions (room, seq, emoji, user_id, user_name, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT DO NOTHING",
        )?;
        let mut unreact =
            tx.prepare_cached("DELETE FROM reactions WHERE room = ?1 AND seq = ?2 AND emoji = ?3 AND user_id = ?4")?;
        let mut wipe = tx.prepare_cached(WIPE_EDITS)?;
        for m in batch {
            let seq = match next_seq.get(m.room.as_str()) {
                Some(seq) => *seq,
                None => last.query_row(params![m.room.as_str()], |r| r.get::<_, i64>(0))? + 1,
            };
            let mut quote = None;
            if let Some(changed) = m.target {
                let key = params![m.room.as_str(), m.author.id.as_str(), m.id.as_str()];
                if let Some(existing) = find.query_row(key, |r| r.get::<_, i64>(0)).optional()? {
                    out.push(Appended::Duplicate(existing as Seq));
                    continue;
                }
                let at = params![m.room.as_str(), changed as i64];
                let found = target
                    .query_row(at, |r| {
                        let (author, name, kind): (String, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
                        Ok((author, name, kind, r.get::<_, String>(3)?, r.get::<_, i64>(4)? != 0, r.get(5)?))
                    })
                    .optional()?;
                let mut verdict = match &found {
                    None => Err(Refusal::NoSuchMessage),
                    Some((author, _, kind, _, deleted, _)) => Refusal::check(&m, author, kind, *deleted),
                };
                // Where the changed message is in the search index, if it is.
                let indexed: Option<i64> = found.as_ref().and_then(|f| f.5);
                if verdict.is_ok() && m.kind == MessageKind::React {
                    let (count, has): (i64, i64) = kinds
                        .query_row(params![m.room.as_str(), changed as i64, m.text], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    if has == 0 && count as usize >= MAX_REACTIONS {
                        verdict = Err(Refusal::TooManyReactions);
                    }
                }
                if let Err(refusal) = verdict {
                    out.push(Appended::Refused(refusal));
                    continue;
                }
                let (room, who) = (m.room.as_str(), m.author.id.as_str());
                match m.kind {
                    MessageKind::Edit => {
                        edit.execute(params![room, changed as i64, m.text, mentions_to_db(&m.mentions)])?;
                        wipe.execute(at)?;
                        if let Some(indexed) = indexed {
                            take_words(&tx, indexed)?;
                            put_words(&tx, indexed, &m.text)?;
                        }
                    }
                    MessageKind::Delete => {
                        if let Some(indexed) = indexed {
                            take_words(&tx, indexed)?;
                        }
                        delete.execute(at)?;
                        wipe.execute(at)?;
                        unreact_all.execute(at)?;
                    }
                    MessageKind::React => {
                        react.execute(params![room, changed as i64, m.text, who, m.author.name, seq])?;
                    }
                    MessageKind::Unreact => {
                        unreact.execute(params![room, changed as i64, m.text, who])?;
                    }
                    MessageKind::Text | MessageKind::Renamed => {
                        quote = found.map(|(_, name, _, text, deleted, _)| Quote::of(&name, &text, deleted));
                    }
                }
            }
            let indexed = (m.kind == MessageKind::Text).then_some(doc);
            let inserted = insert.execute(params![
                m.room.as_str(),
                seq,
                m.id.as_str(),
                m.author.id.as_str(),
                m.author.name,
                m.kind.name(),
                m.text,
                m.sent_at,
                m.target.map(|t| t as i64),
                mentions_to_db(&m.mentions),
                indexed,
            ])?;
            if inserted == 0 {
                let existing: i64 =
                    find.query_row(params![m.room.as_str(), m.author.id.as_str(), m.id.as_str()], |r| r.get(0))?;
                remember(next_seq, &m.room, seq);
                out.push(Appended::Duplicate(existing as Seq));
                continue;
            }
            remember(next_seq, &m.room, seq + 1);
            if let Some(indexed) = indexed {
                put_words(&tx, indexed, &m.text)?;
                doc += 1;
            }
            out.push(Appended::New(ChatMessage { quote, ..m.numbered(seq as Seq) }));
        }
    }
    tx.commit()?;
    *next_doc = Some(doc);
    Ok(out)
}

/// Records a room's next number, allocating its key only the first time.
fn remember(next_seq: &mut HashMap<String, i64>, room: &RoomId, next: i64) {
    match next_seq.get_mut(room.as_str()) {
        Some(known) => *known = next,
        None => {
            next_seq.insert(room.as_str().to_owned(), next);
        }
    }
}

/// Where a page of `lines` lines before number `at` starts (its oldest line, or the
/// oldest row it may read), and how many lines it has (see `history`).
fn start_before(c: &Connection, room: &str, at: i64, lines: usize) -> rusqlite::Result<(i64, usize)> {
    let Some(nth) = lines.checked_sub(1) else { return Ok((at, 0)) };
    let rows = history::rows_for(lines);
    let found = c
        .prepare_cached(&sqlite_params(history::NTH_LINE_BEFORE))?
        .query_row(params![room, at, rows, nth as i64], |r| r.get::<_, i64>(0))
        .optional()?;
    if let Some(seq) = found {
        return Ok((seq, lines));
    }
    let (count, oldest): (i64, Option<i64>) = c
        .prepare_cached(&sqlite_params(history::ROWS_BEFORE))?
        .query_row(params![room, at, rows], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((oldest.unwrap_or(at), (count as usize).min(lines)))
}

/// Where a page of `lines` lines from number `at` on ends (its newest line, or the
/// newest row it may read).
fn end_from(c: &Connection, room: &str, at: i64, lines: usize) -> rusqlite::Result<i64> {
    let Some(nth) = lines.checked_sub(1) else { return Ok(at.saturating_sub(1)) };
    let until = at.saturating_add(history::rows_for(lines));
    let found = c
        .prepare_cached(&sqlite_params(history::NTH_LINE_FROM))?
        .query_row(params![room, at, until, nth as i64], |r| r.get::<_, i64>(0))
        .optional()?;
    match found {
        Some(seq) => Ok(seq),
        None => Ok(c
            .prepare_cached(&sqlite_params(history::LAST_ROW_FROM))?
            .query_row(params![room, at, until], |r| r.get::<_, Option<i64>>(0))?
            .unwrap_or(at.saturating_sub(1))),
    }
}

/// The rows of a room numbered `from` to `to`, served, as a page.
fn rows_between(c: &Connection, room: &str, from: i64, to: i64) -> rusqlite::Result<HistoryPage> {
    let messages = read_messages(c, room, &sqlite_params(history::ROWS_BETWEEN), params![room, from, to])?;
    let has_older = messages.first().is_some_and(|m| m.seq > 1);
    Ok(HistoryPage { messages, has_older })
}

/// The newest `limit` lines before `before` (or of the whole room) with the events
/// after the oldest of them, oldest first.
fn page(conn: &Connection, room: &str, before: Option<Seq>, limit: usize) -> rusqlite::Result<HistoryPage> {
    let before = before.map_or(i64::MAX, history::stored);
    let (from, _) = start_before(conn, room, before, limit)?;
    rows_between(conn, room, from, before.saturating_sub(1))
}

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
        self.read(move |c| {
            let (from, before) = start_before(c, &room, at, limit / 2)?;
            let to = end_from(c, &room, at, limit.saturating_sub(before))?;
            rows_between(c, &room, from, to)
        })
        .await
    }

    async fn before(&self, room: &RoomId, before: Seq, limit: usize) -> Result<HistoryPage, StoreError> {
        let room = room.as_str().to_owned();
        self.read(move |c| page(c, &room, Some(before), limit)).await
    }

    async fn rooms(&self) -> Result<Vec<RoomId>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT DISTINCT room FROM messages ORDER BY room")?;
            let rows = stmt.query_map([], |r| room_at(r, 0))?;
            rows.collect()
        })
        .await
    }

    async fn search(&self, query: &Query, before: Option<u64>, limit: usize) -> Result<Vec<Found>, StoreError> {
        let fts = fts_query(query);
        self.read(move |c| {
            let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
            let mut stmt = c.prepare_cached(&format!(
                "SELECT s.rowid, {} FROM search_index s JOIN messages m ON m.doc = s.rowid \
                 WHERE search_index MATCH ?1 AND s.rowid < ?2 ORDER BY s.rowid DESC LIMIT ?3",
                COLUMNS.split(", ").map(|c| format!("m.{c}")).collect::<Vec<_>>().join(", ")
            ))?;
            let rows = stmt.query_map(params![fts, before, limit as i64], |r| {
                let id: i64 = r.get(0)?;
                Ok(Found { position: id as u64, message: row_to_message_at(r, 1)? })
            })?;
            rows.collect()
        })
        .await
    }

    async fn unread(&self, user: &UserId) -> Result<Vec<Unread>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| {
            let reads = c
                .prepare_cached(&sqlite_params(unread_sql::READS))?
                .query_map(params![user], |r| Ok((room_at(r, 0)?, r.get::<_, i64>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut out = Vec::with_capacity(reads.len());
            let kept = UNREAD_KEPT as i64;
            for (room, read) in reads {
                let seqs = |sql: &str, limit: i64| -> rusqlite::Result<Vec<Seq>> {
                    let mut stmt = c.prepare_cached(&sqlite_params(sql))?;
                    let rows = stmt.query_map(params![user, room.as_str(), read, limit], |r| r.get::<_, i64>(0))?;
                    let mut seqs = rows.map(|s| s.map(|s| s as Seq)).collect::<rusqlite::Result<Vec<_>>>()?;
                    seqs.reverse();
                    Ok(seqs)
                };
                let first = c
                    .prepare_cached(&sqlite_params(unread_sql::FIRST))?
                    .query_row(params![user, room.as_str(), read], |r| r.get::<_, i64>(0))
                    .optional()?;
                out.push(Unread {
                    unread: seqs(unread_sql::OTHERS, kept)?,
                    mentions: seqs(unread_sql::MENTIONS, kept)?,
                    first: first.map(|s| s as Seq),
                    read: Some(read as Seq),
                    room,
                });
            }
            let elsewhere = c
                .prepare_cached(&sqlite_params(unread_sql::MENTIONS_ELSEWHERE))?
                .query_map(params![user], |r| Ok((room_at(r, 0)?, r.get::<_, i64>(1)? as Seq)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.extend(never_opened(elsewhere));
            Ok(out)
        })
        .await
    }

    async fn mark_read(&self, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError> {
        self.write(move |writer| {
            let tx = writer.conn.transaction()?;
            {
                let mut mark = tx.prepare_cached(
                    "INSERT INTO reads (user_id, room, seq) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (user_id, room) DO UPDATE SET seq = max(seq, excluded.seq)",
                )?;
                for (user, room, seq) in marks {
                    mark.execute(params![user.as_str(), room.as_str(), seq as i64])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn levels(&self, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| {
            let mut stmt = c.prepare_cached(&sqlite_params(unread_sql::LEVELS))?;
            let rows = stmt.query_map(params![user], |r| Ok((room_at(r, 0)?, r.get::<_, String>(1)?)))?;
            let levels = rows.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(levels.into_iter().filter_map(|(room, level)| Some((room, Level::named(&level)?))).collect())
        })
        .await
    }

    async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError> {
        let (user, room) = (user.as_str().to_owned(), room.as_str().to_owned());
        self.write(move |writer| {
            if level == Level::Mentions {
                writer.conn.execute(&sqlite_params(unread_sql::DEFAULT_LEVEL), params![user, room])?;
            } else {
                writer.conn.execute(&sqlite_params(unread_sql::SET_LEVEL), params![user, room, level.as_str()])?;
            }
            Ok(())
        })
        .await
    }

    async fn people(&self) -> Result<Vec<User>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(unread_sql::PEOPLE)?;
            let rows = stmt.query_map([], |r| Ok(User { id: UserId(r.get(0)?), name: r.get(1)? }))?;
            rows.collect()
        })
        .await
    }

    async fn remember(&self, people: Vec<User>) -> Result<(), StoreError> {
        self.write(move |writer| {
            let tx = writer.conn.transaction()?;
            {
                let mut keep = tx.prepare_cached(
                    "INSERT INTO people (user_id, name) VALUES (?1, ?2) \
                     ON CONFLICT (user_id) DO UPDATE SET name = excluded.name",
                )?;
                for user in people {
                    keep.execute(params![user.id.as_str(), user.name])?;
                }
            }
            tx.commit()
        })
        .await
    }

    async fn heads(&self, rooms: &[RoomId]) -> Result<Vec<(RoomId, Seq)>, StoreError> {
        let rooms = rooms.to_vec();
        self.read(move |c| {
            let mut stmt = c.prepare_cached("SELECT MAX(seq) FROM messages WHERE room = ?1")?;
            let mut heads = Vec::with_capacity(rooms.len());
            for room in rooms {
                if let Some(seq) = stmt.query_row(params![room.as_str()], |r| r.get::<_, Option<i64>>(0))? {
                    heads.push((room, seq as Seq));
                }
            }
            Ok(heads)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::new;

    fn seqs(messages: &[ChatMessage]) -> Vec<Seq> {
        messages.iter().map(|m| m.seq).collect()
    }

    #[tokio::test]
    async fn numbering_stays_gapless_across_batches_resends_and_a_failed_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        store.append(vec![new("r", "u", "m1", "one"), new("r", "u", "m2", "two")]).await.unwrap();
        let out = store.append(vec![new("r", "u", "m2", "resend"), new("r", "u", "m3", "three")]).await.unwrap();
        assert!(matches!(out[..], [Appended::Duplicate(2), Appended::New(ref m)] if m.seq == 3));
        // A batch the database refuses as a whole leaves no number taken.
        store.writer.lock().unwrap().conn.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END").unwrap();
        assert!(store.append(vec![new("r", "u", "m4", "four"), new("r", "u", "m5", "boom")]).await.is_err());
        store.writer.lock().unwrap().conn.execute_batch("DROP TRIGGER refuse").unwrap();
        let out = store.append(vec![new("r", "u", "m4", "four")]).await.unwrap();
        assert!(matches!(&out[0], Appended::New(m) if m.seq == 4), "{out:?}");
        let page = store.latest(&RoomId::parse("r").unwrap(), 50).await.unwrap();
        assert_eq!(seqs(&page.messages), [1, 2, 3, 4]);
    }

    #[test]
    fn every_commit_is_synced_to_disk_through_the_write_ahead_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let writer = store.writer.lock().unwrap();
        let synchronous: i64 = writer.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(synchronous, 2, "synchronous=FULL: an acknowledged message survives power loss");
        let journal: String = writer.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(journal, "wal");
    }

    #[tokio::test]
    async fn a_search_index_numbered_by_search_docs_is_kept_and_follows_edits_deletes_and_new_messages() {
        use crate::store::tests::{delete, edit, found};
        let dir = tempfile::tempdir().unwrap();
        {
            // A database of the version before: its search index numbers messages by
            // rows of `search_docs`.
            let conn = Connection::open(dir.path().join("palaver.db")).unwrap();
            for sql in &MIGRATIONS[..7] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at) VALUES \
                 ('r', 1, 'c1', 'u', 'U', 'text', 'kept words', 1), ('s', 1, 'c2', 'u', 'U', 'text', 'more words', 2), \
                 ('r', 2, 'c3', 'u', 'U', 'text', 'last words', 3); \
                 INSERT INTO search_docs (id, room, seq) VALUES (1, 'r', 1), (2, 's', 1), (3, 'r', 2); \
                 INSERT INTO search_index (rowid, words) VALUES (1, 'kept words'), (2, 'more words'), (3, 'last words');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let pair = |room: &str, seq: Seq| (room.to_string(), seq);
        assert_eq!(found(&store, "words").await, [pair("r", 2), pair("s", 1), pair("r", 1)], "newest first");
        store.append(vec![new("s", "u", "c4", "new words")]).await.unwrap();
        store.append(vec![edit("u", "e", 1, "changed"), delete("u", "d", 2)]).await.unwrap();
        assert_eq!(found(&store, "words").await, [pair("s", 2), pair("s", 1)]);
        assert_eq!(found(&store, "changed").await, [pair("r", 1)]);
        assert_eq!(found(&store, "kept").await, []);
        // Reopened, the next message is numbered after the newest.
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        store.append(vec![new("r", "u", "c5", "newest words")]).await.unwrap();
        assert_eq!(found(&store, "words").await, [pair("r", 5), pair("s", 2), pair("s", 1)]);
        let writer = store.writer.lock().unwrap();
        let tables: i64 = writer
            .conn
            .query_row("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'search_docs'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
    }

    #[test]
    fn a_search_finds_its_messages_through_the_index_of_search_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let writer = store.writer.lock().unwrap();
        let plan: Vec<String> = writer
            .conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT m.text FROM search_index s JOIN messages m ON m.doc = s.rowid \
                 WHERE search_index MATCH 'x' AND s.rowid < 10 ORDER BY s.rowid DESC LIMIT 20",
            )
            .unwrap()
            .query_map([], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(plan.iter().any(|step| step.contains("INDEX messages_doc")), "{plan:?}");
    }

    /// The writer has a connection of its own: with every reader taken (by page loads
    /// that have not finished), posts still commit at once while reads wait their turn.
    #[tokio::test]
    async fn posts_commit_at_once_while_every_reader_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let _permits = store.reading.clone().acquire_many_owned(READERS as u32).await.unwrap();
        let _readers: Vec<_> = store.readers.iter().map(|r| r.lock().unwrap()).collect();
        let room = RoomId::parse("r").unwrap();
        let wait = std::time::Duration::from_secs(1);
        let stored = tokio::time::timeout(wait, store.append(vec![new("r", "u", "m1", "one")])).await;
        assert!(matches!(&stored.expect("committed at once").unwrap()[..], [Appended::New(m)] if m.seq == 1));
        let read = tokio::time::timeout(std::time::Duration::from_millis(100), store.latest(&room, 50)).await;
        assert!(read.is_err(), "reads wait for a reader");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("palaver.db"), vec![0x5a; 8192]).unwrap();
        let err = SqliteStore::open(dir.path()).err().expect("refused");
        assert!(err.to_string().contains("palaver.db"), "{err}");
    }

    #[test]
    fn pages_and_edits_read_only_the_rows_they_need() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let writer = store.writer.lock().unwrap();
        let plan = |sql: &str| -> Vec<String> {
            let mut stmt = writer.conn.prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite_params(sql))).unwrap();
            let (mut rows, mut steps) = (stmt.raw_query(), Vec::new());
            while let Some(row) = rows.next().unwrap() {
                steps.push(row.get(3).unwrap());
            }
            steps
        };
        let reads = [
            history::NTH_LINE_BEFORE,
            history::ROWS_BEFORE,
            history::NTH_LINE_FROM,
            history::LAST_ROW_FROM,
            history::ROWS_BETWEEN,
            history::ROWS_AFTER,
        ];
        for sql in reads {
            let plan = plan(sql);
            // A range of the primary key, in its order: never the whole room, never sorted.
            assert!(plan.iter().any(|step| step.contains("PRIMARY KEY (room=? AND seq")), "{sql}: {plan:?}");
            assert!(!plan.iter().any(|step| step.contains("SCAN") || step.contains("TEMP B-TREE")), "{sql}: {plan:?}");
        }
        let plan = plan(WIPE_EDITS);
        assert!(plan.iter().any(|step| step.contains("INDEX messages_edits (room=? AND target=?)")), "{plan:?}");
    }
}
