//! The SQLite store's search index: an FTS5 table of each text message's words, under
//! the number kept in the message's row (`doc`).

use super::reading::{row_to_message_at, COLUMNS};
use crate::store::history::SERVED_TAIL;
use crate::store::Found;
use crate::words::Query;
use rusqlite::{params, Connection};

/// Indexes every text message stored before there was a search index, in the order
/// they were written.
pub(super) fn index_stored(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
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
pub(super) fn put_words(tx: &rusqlite::Transaction<'_>, doc: i64, text: &str) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO search_index (rowid, words) VALUES (?1, ?2)")?
        .execute(params![doc, crate::words::tokens(text).join(" ")])?;
    Ok(())
}

/// Takes the message numbered `doc` out of the search index: the index reads the words
/// it keeps for it and, with `secure-delete`, takes them out of its pages at once.
pub(super) fn take_words(tx: &rusqlite::Transaction<'_>, doc: i64) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM search_index WHERE rowid = ?1")?.execute(params![doc])?;
    Ok(())
}

/// Indexes again every message in the search index (made anew), by its search number.
pub(super) fn index_again(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
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
pub(super) fn fts_query(query: &Query) -> String {
    let quoted = |w: &str| format!("\"{}\"", w.replace('"', "\"\""));
    let words = query.words.iter().map(|w| quoted(w));
    let prefixes = query.prefixes.iter().map(|p| format!("{}*", quoted(p)));
    words.chain(prefixes).collect::<Vec<_>>().join(" ")
}

/// Up to `limit` messages whose words match `fts` (an FTS5 query), newest first, from
/// search number `before` down.
pub(super) fn find(
    c: &Connection,
    fts: &str,
    reader: &str,
    before: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<Found>> {
    let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
    let mut stmt = c.prepare_cached(&format!(
        "SELECT s.rowid, {} FROM search_index s JOIN messages m ON m.doc = s.rowid \
         WHERE search_index MATCH ?1 AND s.rowid < ?2 AND {} ORDER BY s.rowid DESC LIMIT ?3",
        COLUMNS.split(", ").map(|c| format!("m.{c}")).chain([SERVED_TAIL.to_owned()]).collect::<Vec<_>>().join(", "),
        readable!("m.room", "?4"),
    ))?;
    let rows = stmt.query_map(params![fts, before, limit as i64, reader], |r| {
        let id: i64 = r.get(0)?;
        Ok(Found { position: id as u64, message: row_to_message_at(r, 1)? })
    })?;
    rows.collect()
}
