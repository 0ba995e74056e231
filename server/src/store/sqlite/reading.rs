//! Reads of the SQLite store's history: rows as served, with their reactions and
//! quotes, and the pages they make.

use super::room_at;
use crate::store::{
    decorate, directory_sql, first_rooms, history, kind_from_str, lookups, mentions_from_db, OriginalRow, ReactionRow,
    REMOVE,
};
use palaver_protocol::{ChatMessage, ClientMsgId, HistoryPage, RoomId, RoomListing, Seq, User, UserId};
use rusqlite::{params, Connection, OptionalExtension};

/// SQL written for both backends (`$1`), with SQLite's numbered parameters (`?1`: a
/// `$1` would be a named one, numbered in order of appearance).
pub(super) fn sqlite_params(sql: &str) -> String {
    sql.replace('$', "?")
}

pub(super) const COLUMNS: &str =
    "room, seq, client_id, author_id, author_name, kind, text, sent_at, target, edited, deleted, mentions";

pub(super) fn row_to_message(r: &rusqlite::Row<'_>) -> rusqlite::Result<ChatMessage> {
    row_to_message_at(r, 0)
}

/// A message from the row's [`COLUMNS`], which start at column `at`, and its author's
/// handle, `removed` and `preview` after them (`history::SERVED_TAIL`).
pub(super) fn row_to_message_at(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ChatMessage> {
    let kind: String = r.get(at + 5)?;
    Ok(ChatMessage {
        removed: kind == REMOVE || r.get::<_, i64>(at + 13)? != 0,
        room: room_at(r, at)?,
        seq: r.get::<_, i64>(at + 1)? as Seq,
        id: ClientMsgId(r.get(at + 2)?),
        author: User { id: UserId(r.get(at + 3)?), name: r.get(at + 4)?, handle: r.get(at + 12)? },
        kind: kind_from_str(&kind),
        text: r.get(at + 6)?,
        sent_at: r.get(at + 7)?,
        target: r.get::<_, Option<i64>>(at + 8)?.map(|t| t as Seq),
        edited: r.get::<_, i64>(at + 9)? != 0,
        deleted: r.get::<_, i64>(at + 10)? != 0,
        quote: None,
        reactions: Vec::new(),
        preview: crate::store::previews::card_from_db(r.get(at + 14)?).map(Box::new),
        files: crate::store::files::files_from_db(r.get(at + 15)?),
        mentions: mentions_from_db(r.get(at + 11)?),
    })
}

/// Reads `sql` (one room's messages, in number order) and gives them their reactions
/// and quotes.
pub(super) fn read_messages(
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
            Ok((r.get::<_, i64>(0)? as Seq, r.get(1)?, User { id: UserId(r.get(2)?), name: r.get(3)?, handle: None }))
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

/// Where a page of `lines` lines before number `at` starts (its oldest line, or the
/// oldest row it may read), and how many lines it has (see `history`).
pub(super) fn start_before(c: &Connection, room: &str, at: i64, lines: usize) -> rusqlite::Result<(i64, usize)> {
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
pub(super) fn end_from(c: &Connection, room: &str, at: i64, lines: usize) -> rusqlite::Result<i64> {
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
pub(super) fn rows_between(c: &Connection, room: &str, from: i64, to: i64) -> rusqlite::Result<HistoryPage> {
    let messages = read_messages(c, room, &sqlite_params(history::ROWS_BETWEEN), params![room, from, to])?;
    let has_older = messages.first().is_some_and(|m| m.seq > 1);
    Ok(HistoryPage { messages, has_older })
}

/// The newest `limit` lines before `before` (or of the whole room) with the events
/// after the oldest of them, oldest first.
pub(super) fn page(conn: &Connection, room: &str, before: Option<Seq>, limit: usize) -> rusqlite::Result<HistoryPage> {
    let before = before.map_or(i64::MAX, history::stored);
    let (from, _) = start_before(conn, room, before, limit)?;
    rows_between(conn, room, from, before.saturating_sub(1))
}

/// The page around number `at` (see [`crate::store::Store::around`]).
pub(super) fn around(c: &Connection, room: &str, at: i64, limit: usize) -> rusqlite::Result<HistoryPage> {
    let (from, before) = start_before(c, room, at, limit / 2)?;
    let to = end_from(c, room, at, limit.saturating_sub(before))?;
    rows_between(c, room, from, to)
}

/// Every room that has messages.
pub(super) fn rooms(c: &Connection) -> rusqlite::Result<Vec<RoomId>> {
    let mut stmt = c.prepare_cached("SELECT DISTINCT room FROM messages ORDER BY room")?;
    let rows = stmt.query_map([], |r| room_at(r, 0))?;
    rows.collect()
}

/// The directory of rooms (see [`crate::store::Store::directory`]): the rooms with
/// messages found one index seek each, those on someone's list from `members`.
pub(super) fn directory(c: &Connection, after: Option<RoomId>, limit: usize) -> rusqlite::Result<Vec<RoomListing>> {
    let after = after.map(|r| r.as_str().to_owned()).unwrap_or_default();
    let mut next = c.prepare_cached(&sqlite_params(directory_sql::NEXT_WITH_MESSAGES))?;
    let mut with_messages: Vec<RoomId> = Vec::new();
    while with_messages.len() < limit {
        let from = with_messages.last().map_or(after.as_str(), RoomId::as_str);
        let Some(room) = next.query_row(params![from], |r| room_at(r, 0)).optional()? else { break };
        with_messages.push(room);
    }
    let with_members = c
        .prepare_cached(&sqlite_params(directory_sql::WITH_MEMBERS))?
        .query_map(params![after, limit as i64], |r| room_at(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut members = c.prepare_cached(&sqlite_params(directory_sql::MEMBERS))?;
    let mut last = c.prepare_cached(&sqlite_params(directory_sql::LAST_AT))?;
    first_rooms(with_messages, with_members, limit)
        .into_iter()
        .map(|room| {
            let count = members.query_row(params![room.as_str()], |r| r.get::<_, i64>(0)).optional()?;
            let last_at = last.query_row(params![room.as_str()], |r| r.get::<_, i64>(0)).optional()?;
            Ok(RoomListing { room, members: count.unwrap_or(0).max(0) as u64, last_at })
        })
        .collect()
}

/// The newest number of each of these rooms that has messages.
pub(super) fn heads(c: &Connection, rooms: Vec<RoomId>) -> rusqlite::Result<Vec<(RoomId, Seq)>> {
    let mut stmt = c.prepare_cached("SELECT MAX(seq) FROM messages WHERE room = ?1")?;
    let mut heads = Vec::with_capacity(rooms.len());
    for room in rooms {
        if let Some(seq) = stmt.query_row(params![room.as_str()], |r| r.get::<_, Option<i64>>(0))? {
            heads.push((room, seq as Seq));
        }
    }
    Ok(heads)
}
