//! Reads of the PostgreSQL store's history: rows as served, with their reactions and
//! quotes, and the pages they make.

use super::{query, room_named, PostgresStore};
use crate::store::{
    decorate, directory_sql, first_rooms, history, kind_from_str, lookups, mentions_from_db, OriginalRow, ReactionRow,
    StoreError, REMOVE,
};
use deadpool_postgres::Object;
use palaver_protocol::{ChatMessage, ClientMsgId, HistoryPage, RoomId, RoomListing, Seq, User, UserId};
use tokio_postgres::Row;

impl PostgresStore {
    pub(super) async fn messages(
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
            .map(|r| (r.get::<_, i64>(0) as Seq, r.get(1), User { id: UserId(r.get(2)), name: r.get(3), handle: None }))
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
    pub(super) async fn page(&self, room: &RoomId, before: i64, limit: usize) -> Result<HistoryPage, StoreError> {
        let client = self.client().await?;
        let (from, _) = start_before(&client, room.as_str(), before, limit).await?;
        self.rows_between(&client, room.as_str(), from, before.saturating_sub(1)).await
    }

    /// The rows of a room numbered `from` to `to`, served, as a page.
    pub(super) async fn rows_between(
        &self,
        client: &Object,
        room: &str,
        from: i64,
        to: i64,
    ) -> Result<HistoryPage, StoreError> {
        let messages = self.messages_on(client, history::ROWS_BETWEEN, &[&room, &from, &to]).await?;
        let has_older = messages.first().is_some_and(|m| m.seq > 1);
        Ok(HistoryPage { messages, has_older })
    }
}

/// Where a page of `lines` lines before number `at` starts (its oldest line, or the
/// oldest row it may read), and how many lines it has (see `history`).
pub(super) async fn start_before(
    client: &Object,
    room: &str,
    at: i64,
    lines: usize,
) -> Result<(i64, usize), StoreError> {
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
pub(super) async fn end_from(client: &Object, room: &str, at: i64, lines: usize) -> Result<i64, StoreError> {
    let Some(nth) = lines.checked_sub(1) else { return Ok(at.saturating_sub(1)) };
    let (until, nth) = (at.saturating_add(history::rows_for(lines)), nth as i64);
    if let Some(row) = query(client, history::NTH_LINE_FROM, &[&room, &at, &until, &nth]).await?.first() {
        return Ok(row.get(0));
    }
    let found = query(client, history::LAST_ROW_FROM, &[&room, &at, &until]).await?;
    Ok(found.first().and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(at.saturating_sub(1)))
}

pub(super) const COLUMNS: &str =
    "room, seq, client_id, author_id, author_name, kind, text, sent_at, target, edited, deleted, mentions";

pub(super) fn row_to_message(r: &Row) -> Result<ChatMessage, StoreError> {
    row_to_message_at(r, 0)
}

/// A message from the row's [`COLUMNS`], which start at column `at`, and its author's
/// handle, `removed` and `preview` after them (`history::SERVED_TAIL`).
pub(super) fn row_to_message_at(r: &Row, at: usize) -> Result<ChatMessage, StoreError> {
    let kind: String = r.get(at + 5);
    Ok(ChatMessage {
        removed: kind == REMOVE || r.get::<_, bool>(at + 13),
        room: room_named(r.get(at))?,
        seq: r.get::<_, i64>(at + 1) as Seq,
        id: ClientMsgId(r.get(at + 2)),
        author: User { id: UserId(r.get(at + 3)), name: r.get(at + 4), handle: r.get(at + 12) },
        kind: kind_from_str(&kind),
        text: r.get(at + 6),
        sent_at: r.get(at + 7),
        target: r.get::<_, Option<i64>>(at + 8).map(|t| t as Seq),
        edited: r.get(at + 9),
        deleted: r.get(at + 10),
        quote: None,
        reactions: Vec::new(),
        preview: crate::store::previews::card_from_db(r.get(at + 14)).map(Box::new),
        files: crate::store::files::files_from_db(r.get(at + 15)),
        mentions: mentions_from_db(r.get(at + 11)),
    })
}

/// The directory of rooms (see [`crate::store::Store::directory`]): the rooms with
/// messages from `rooms` (a row each), those on someone's list from `members`, then
/// each one's count and newest message in one statement.
pub(super) async fn directory(
    store: &PostgresStore,
    after: Option<RoomId>,
    limit: usize,
) -> Result<Vec<RoomListing>, StoreError> {
    let client = store.client().await?;
    let after = after.map(|r| r.as_str().to_owned()).unwrap_or_default();
    let limit_i = limit as i64;
    let names =
        |rows: Vec<Row>| -> Result<Vec<RoomId>, StoreError> { rows.iter().map(|r| room_named(r.get(0))).collect() };
    let sql = "SELECT room FROM rooms WHERE room > $1 AND last_seq > 0 ORDER BY room LIMIT $2";
    let with_messages = names(query(&client, sql, &[&after, &limit_i]).await?)?;
    let with_members = names(query(&client, directory_sql::WITH_MEMBERS, &[&after, &limit_i]).await?)?;
    let rooms = first_rooms(with_messages, with_members, limit);
    let wanted: Vec<&str> = rooms.iter().map(RoomId::as_str).collect();
    let sql = "SELECT r.room, coalesce(m.count, 0), \
               (SELECT sent_at FROM messages WHERE room = r.room ORDER BY seq DESC LIMIT 1) \
               FROM unnest($1::text[]) AS r (room) LEFT JOIN members m ON m.room = r.room ORDER BY r.room";
    let rows = query(&client, sql, &[&wanted]).await?;
    rows.iter()
        .map(|r| {
            let members: i64 = r.get(1);
            Ok(RoomListing { room: room_named(r.get(0))?, members: members.max(0) as u64, last_at: r.get(2) })
        })
        .collect()
}
