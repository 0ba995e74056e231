//! The PostgreSQL store's people: read positions and what came since, how each room
//! tells each person of new messages, and everyone's latest name.

use super::{query, room_named, PostgresStore};
use crate::store::{never_opened, unread_sql, StoreError, Unread, UNREAD_KEPT};
use palaver_protocol::{Level, RoomId, Seq, User, UserId};
use tokio_postgres::Row;

pub(super) async fn unread(store: &PostgresStore, user: &UserId) -> Result<Vec<Unread>, StoreError> {
    let client = store.client().await?;
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

pub(super) async fn mark_read(store: &PostgresStore, marks: Vec<(UserId, RoomId, Seq)>) -> Result<(), StoreError> {
    if marks.is_empty() {
        return Ok(());
    }
    let users: Vec<&str> = marks.iter().map(|m| m.0.as_str()).collect();
    let rooms: Vec<&str> = marks.iter().map(|m| m.1.as_str()).collect();
    let seqs: Vec<i64> = marks.iter().map(|m| m.2 as i64).collect();
    let client = store.client().await?;
    // One statement (one commit) for the batch; a person and room twice in it keep
    // the furthest.
    let sql = "INSERT INTO reads (user_id, room, seq) \
               SELECT u, r, MAX(s) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t (u, r, s) GROUP BY u, r \
               ON CONFLICT (user_id, room) DO UPDATE SET seq = GREATEST(reads.seq, excluded.seq)";
    query(&client, sql, &[&users, &rooms, &seqs]).await?;
    Ok(())
}

pub(super) async fn levels(store: &PostgresStore, user: &UserId) -> Result<Vec<(RoomId, Level)>, StoreError> {
    let client = store.client().await?;
    let rows = query(&client, unread_sql::LEVELS, &[&user.as_str()]).await?;
    let mut levels = Vec::with_capacity(rows.len());
    for r in rows {
        if let Some(level) = Level::named(r.get(1)) {
            levels.push((room_named(r.get(0))?, level));
        }
    }
    Ok(levels)
}

pub(super) async fn set_level(
    store: &PostgresStore,
    user: &UserId,
    room: &RoomId,
    level: Level,
) -> Result<(), StoreError> {
    let client = store.client().await?;
    let (user, room) = (user.as_str(), room.as_str());
    if level == Level::Mentions {
        query(&client, unread_sql::DEFAULT_LEVEL, &[&user, &room]).await?;
    } else {
        query(&client, unread_sql::SET_LEVEL, &[&user, &room, &level.as_str()]).await?;
    }
    Ok(())
}

/// Forgets `user`'s read position and level in `room`: one statement, one commit.
pub(super) async fn forget_room(store: &PostgresStore, user: &UserId, room: &RoomId) -> Result<(), StoreError> {
    let client = store.client().await?;
    let sql = "WITH gone AS (DELETE FROM reads WHERE user_id = $1 AND room = $2) \
               DELETE FROM levels WHERE user_id = $1 AND room = $2";
    query(&client, sql, &[&user.as_str(), &room.as_str()]).await?;
    Ok(())
}

/// Who goes by each of these folded names, at most `per_name`: one statement, an index
/// lookup per name.
pub(super) async fn named(store: &PostgresStore, names: Vec<String>, per_name: usize) -> Result<Vec<User>, StoreError> {
    let client = store.client().await?;
    let sql = "SELECT p.user_id, p.name FROM unnest($1::text[]) AS asked(folded) \
               CROSS JOIN LATERAL (SELECT user_id, name FROM people \
               WHERE translate(people.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') = asked.folded \
               ORDER BY user_id LIMIT $2) p";
    let rows = query(&client, sql, &[&names, &(per_name as i64)]).await?;
    Ok(rows.into_iter().map(|r| User { id: UserId(r.get(0)), name: r.get(1), handle: None }).collect())
}

pub(super) async fn remember(store: &PostgresStore, people: Vec<User>) -> Result<(), StoreError> {
    if people.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = people.iter().map(|u| u.id.as_str()).collect();
    let names: Vec<&str> = people.iter().map(|u| u.name.as_str()).collect();
    let client = store.client().await?;
    // One statement (one commit); the hub hands each person over once a batch.
    let sql = "INSERT INTO people (user_id, name) SELECT * FROM unnest($1::text[], $2::text[]) \
               ON CONFLICT (user_id) DO UPDATE SET name = excluded.name WHERE people.name <> excluded.name";
    query(&client, sql, &[&ids, &names]).await?;
    Ok(())
}
