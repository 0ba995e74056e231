//! The SQLite store's writer: one connection, each batch of posts in one transaction,
//! numbered per room, with their effects (edits, deletes, reactions, the search index).

use super::reading::COLUMNS;
use super::search::{put_words, take_words};
use crate::store::files::files_to_db;
use crate::store::{mentions_to_db, Appended, Post, Refusal};
use palaver_protocol::{ChatMessage, MessageKind, Quote, RoomId, Seq, MAX_REACTIONS};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

/// The one connection that writes, the next number of each room it has written to and
/// the next search number (only it writes, so these stay right; they spare every append
/// a lookup).
pub(super) struct Writer {
    pub(super) conn: Connection,
    pub(super) next_seq: HashMap<String, i64>,
    pub(super) next_doc: Option<i64>,
}

/// Blanks the edits of message `?2` of room `?1`: a message's edits keep no text of it
/// but the newest (its current text), and a deleted message's none. By the index of
/// edits (without statistics SQLite would rather walk the room's rows).
pub(super) const WIPE_EDITS: &str = "UPDATE messages INDEXED BY messages_edits SET text = '', mentions = NULL \
     WHERE room = ?1 AND target = ?2 AND kind = 'edit' AND (text <> '' OR mentions IS NOT NULL)";

/// Rooms whose next number the writer keeps at most; past it, it starts over.
const REMEMBERED_ROOMS: usize = 65_536;

pub(super) fn append_batch(writer: &mut Writer, batch: Vec<Post>) -> rusqlite::Result<Vec<Appended>> {
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
            "UPDATE messages SET text = '', deleted = 1, removed = ?3, mentions = NULL, doc = NULL \
             WHERE room = ?1 AND seq = ?2",
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
                        delete.execute(params![m.room.as_str(), changed as i64, m.removed])?;
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
                m.stored_kind(),
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
            if let Some(files) = files_to_db(&m.files) {
                tx.execute(
                    "UPDATE messages SET files = ?3 WHERE room = ?1 AND seq = ?2",
                    params![m.room.as_str(), seq, files],
                )?;
            }
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
