//! The SQLite store's people: read positions and what came since, how each room tells
//! each person of new messages, and everyone's latest name.

use super::{reading::sqlite_params, room_at, Writer};
use crate::store::{never_opened, unread_sql, Unread, UNREAD_KEPT};
use palaver_protocol::{Level, RoomId, Seq, User, UserId};
use rusqlite::{params, Connection, OptionalExtension};

/// Where `user` has read to in each room, and what came since (see
/// [`crate::store::Store::unread`]).
pub(super) fn unread(c: &Connection, user: &str) -> rusqlite::Result<Vec<Unread>> {
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
}

/// Moves read positions forward, in one commit.
pub(super) fn mark_read(writer: &mut Writer, marks: Vec<(UserId, RoomId, Seq)>) -> rusqlite::Result<()> {
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
}

/// The rooms where `user` chose a level other than the default.
pub(super) fn levels(c: &Connection, user: &str) -> rusqlite::Result<Vec<(RoomId, Level)>> {
    let mut stmt = c.prepare_cached(&sqlite_params(unread_sql::LEVELS))?;
    let rows = stmt.query_map(params![user], |r| Ok((room_at(r, 0)?, r.get::<_, String>(1)?)))?;
    let levels = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(levels.into_iter().filter_map(|(room, level)| Some((room, Level::named(&level)?))).collect())
}

/// Keeps how `room` tells `user` of new messages.
pub(super) fn set_level(writer: &mut Writer, user: &str, room: &str, level: Level) -> rusqlite::Result<()> {
    if level == Level::Mentions {
        writer.conn.execute(&sqlite_params(unread_sql::DEFAULT_LEVEL), params![user, room])?;
    } else {
        writer.conn.execute(&sqlite_params(unread_sql::SET_LEVEL), params![user, room, level.as_str()])?;
    }
    Ok(())
}

/// Forgets `user`'s read position and level in `room`, in one commit.
pub(super) fn forget_room(writer: &mut Writer, user: &str, room: &str) -> rusqlite::Result<()> {
    let tx = writer.conn.transaction()?;
    for sql in [unread_sql::FORGET_READ, unread_sql::DEFAULT_LEVEL] {
        tx.execute(&sqlite_params(sql), params![user, room])?;
    }
    tx.commit()
}

/// Who goes by each of these folded names (one index lookup each), at most `per_name`.
pub(super) fn named(c: &Connection, names: &[String], per_name: usize) -> rusqlite::Result<Vec<User>> {
    let mut stmt =
        c.prepare_cached("SELECT user_id, name FROM people WHERE lower(name) = ?1 ORDER BY user_id LIMIT ?2")?;
    let mut people = Vec::new();
    for name in names {
        let rows = stmt.query_map(params![name, per_name as i64], |r| {
            Ok(User { id: UserId(r.get(0)?), name: r.get(1)?, handle: None })
        })?;
        for user in rows {
            people.push(user?);
        }
    }
    Ok(people)
}

/// Keeps these people's latest names, in one commit.
pub(super) fn remember(writer: &mut Writer, people: Vec<User>) -> rusqlite::Result<()> {
    let tx = writer.conn.transaction()?;
    {
        let mut keep = tx.prepare_cached(
            "INSERT INTO people (user_id, name) VALUES (?1, ?2) \
             ON CONFLICT (user_id) DO UPDATE SET name = excluded.name WHERE name <> excluded.name",
        )?;
        for user in people {
            keep.execute(params![user.id.as_str(), user.name])?;
        }
    }
    tx.commit()
}
