//! The SQLite store's room rules, audit log and reports (see `store/rooms.rs`).

use super::reading::{row_to_message, sqlite_params};
use super::{room_at, SqliteStore};
use crate::store::history;
use crate::store::rooms::{
    audit_row, rules_from, sql, AuditEntry, AuditQuery, AuditRow, Kind, Posting, ReportRow, RoomRow, RoomRules, Rules,
};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{ChatMessage, RoomId, Seq, UserId};
use rusqlite::{params, Connection, OptionalExtension};

fn read_rules(c: &Connection, room: &str) -> rusqlite::Result<RoomRules> {
    let row = c
        .prepare_cached(&sqlite_params(sql::RULES))?
        .query_row(params![room], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .optional()?;
    let people = c
        .prepare_cached(&sqlite_params(sql::PEOPLE))?
        .query_map(params![room], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<(String, i64)>>>()?;
    Ok(rules_from(row, people))
}

fn rule_values<'a>(
    room: &'a str,
    rules: &'a RoomRules,
    by: Option<&'a str>,
    now: i64,
) -> (&'a str, &'static str, &'a str, &'static str, i64, Option<&'a str>, i64, &'a str) {
    (room, rules.kind.as_str(), &rules.topic, rules.posting.as_str(), rules.archived as i64, by, now, &rules.title)
}

fn strings(c: &Connection, query: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(&sqlite_params(query))?.query_map(p, |r| r.get(0))?.collect()
}

#[async_trait]
impl Rules for SqliteStore {
    async fn room_rules(&self, room: &RoomId) -> Result<RoomRules, StoreError> {
        let room = room.as_str().to_owned();
        self.read(move |c| read_rules(c, &room)).await
    }

    async fn make_room(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (room, rules, by) = (room.as_str().to_owned(), rules.clone(), by.map(|b| b.as_str().to_owned()));
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            let taken =
                tx.prepare_cached(&sqlite_params(sql::EXISTS))?.query_row(params![room], |_| Ok(())).optional()?;
            if taken.is_some() {
                return Ok(false);
            }
            let v = rule_values(&room, &rules, by.as_deref(), now);
            tx.execute(&sqlite_params(sql::INSERT_RULES), params![v.0, v.1, v.2, v.3, v.4, v.5, v.6, v.7])?;
            for member in &rules.members {
                tx.execute(&sqlite_params(sql::SET_MEMBER), params![room, member.as_str(), 0, by, now])?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn set_rules(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (room, rules, by) = (room.as_str().to_owned(), rules.clone(), by.map(|b| b.as_str().to_owned()));
        self.write(move |w| {
            let v = rule_values(&room, &rules, by.as_deref(), now);
            w.conn.execute(&sqlite_params(sql::UPSERT_RULES), params![v.0, v.1, v.2, v.3, v.4, v.5, v.6, v.7]).map(drop)
        })
        .await
    }

    async fn set_member(
        &self,
        room: &RoomId,
        user: &UserId,
        removed: bool,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (room, user, by) = (room.as_str().to_owned(), user.as_str().to_owned(), by.map(|b| b.as_str().to_owned()));
        self.write(move |w| {
            w.conn.execute(&sqlite_params(sql::SET_MEMBER), params![room, user, removed as i64, by, now]).map(drop)
        })
        .await
    }

    async fn unlisted(&self) -> Result<Vec<RoomId>, StoreError> {
        let names = self.read(|c| strings(c, sql::UNLISTED, [])).await?;
        Ok(names.iter().filter_map(|n| RoomId::parse(n).ok()).collect())
    }

    async fn changed_since(&self, since: i64) -> Result<(Vec<RoomId>, Vec<(UserId, String, bool)>), StoreError> {
        self.read(move |c| {
            let rooms = strings(c, sql::CHANGED_ROOMS, params![since])?;
            let people = c
                .prepare_cached(&sqlite_params(sql::CHANGED_PEOPLE))?
                .query_map(params![since], |r| Ok((UserId(r.get(0)?), r.get(1)?, r.get::<_, i64>(2)? != 0)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rooms.iter().filter_map(|n| RoomId::parse(n).ok()).collect(), people))
        })
        .await
    }

    async fn rooms_of(&self, user: &UserId) -> Result<Vec<RoomId>, StoreError> {
        let user = user.as_str().to_owned();
        let names = self.read(move |c| strings(c, sql::ROOMS_OF, params![user])).await?;
        Ok(names.iter().filter_map(|n| RoomId::parse(n).ok()).collect())
    }

    async fn room_rows(&self) -> Result<Vec<RoomRow>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&sqlite_params(sql::ROOM_ROWS))?
                .query_map([], |r| {
                    Ok(RoomRow {
                        room: room_at(r, 0)?,
                        kind: Kind::parse(&r.get::<_, String>(1)?).unwrap_or(Kind::Private),
                        topic: r.get(2)?,
                        posting: Posting::parse(&r.get::<_, String>(3)?).unwrap_or(Posting::Admins),
                        archived: r.get::<_, i64>(4)? != 0,
                        members: r.get(5)?,
                        title: r.get(6)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn messages_by(
        &self,
        author: &UserId,
        room: &str,
        seq: Seq,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let (author, room) = (author.as_str().to_owned(), room.to_owned());
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(history::BY_AUTHOR))?
                .query_map(params![author, room, seq as i64, limit as i64], row_to_message)?
                .collect()
        })
        .await
    }

    async fn delete_account(&self, user: &UserId, rename: Option<&str>) -> Result<(), StoreError> {
        let (user, rename) = (user.as_str().to_owned(), rename.map(str::to_owned));
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            if let Some(name) = &rename {
                tx.execute(&sqlite_params(sql::RENAME_MESSAGES), params![user, name])?;
                tx.execute(&sqlite_params(sql::RENAME_REACTIONS), params![user, name])?;
            }
            for forget in sql::FORGET_PERSON {
                tx.execute(&sqlite_params(forget), params![user])?;
            }
            tx.commit()
        })
        .await
    }

    async fn audit(&self, entry: AuditEntry, now: i64) -> Result<(), StoreError> {
        self.write(move |w| {
            let e = entry;
            let values = params![
                now,
                e.kind,
                e.actor.as_ref().map(UserId::as_str),
                e.subject.as_ref().map(UserId::as_str),
                e.room.as_ref().map(RoomId::as_str),
                e.address,
                e.user_agent,
                e.detail
            ];
            w.conn.execute(&sqlite_params(sql::AUDIT), values).map(drop)
        })
        .await
    }

    async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let q = query.clone();
        self.read(move |c| {
            let person = q.person.as_ref().map_or("", UserId::as_str).to_owned();
            let values = params![
                q.since,
                q.before.unwrap_or(i64::MAX),
                person,
                q.kind.clone().unwrap_or_default(),
                q.limit as i64
            ];
            c.prepare_cached(&sqlite_params(sql::AUDIT_LOG))?
                .query_map(values, |r| {
                    Ok(audit_row(
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                })?
                .collect()
        })
        .await
    }

    async fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        self.write(move |w| w.conn.execute(&sqlite_params(sql::PRUNE_AUDIT), params![before]).map(|n| n as u64)).await
    }

    async fn report(
        &self,
        room: &RoomId,
        seq: Seq,
        reporter: &UserId,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let values = (room.as_str().to_owned(), seq as i64, reporter.as_str().to_owned(), reason.to_owned());
        self.write(move |w| {
            let (room, seq, reporter, reason) = values;
            w.conn.execute(&sqlite_params(sql::REPORT), params![room, seq, reporter, reason, now]).map(|n| n > 0)
        })
        .await
    }

    async fn open_reports(&self, limit: usize) -> Result<Vec<ReportRow>, StoreError> {
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::OPEN_REPORTS))?
                .query_map(params![limit as i64], |r| {
                    Ok(ReportRow {
                        id: r.get(0)?,
                        room: room_at(r, 1)?,
                        seq: r.get::<_, i64>(2)? as Seq,
                        reporter: UserId(r.get(3)?),
                        reason: r.get(4)?,
                        created_at: r.get(5)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn close_report(&self, id: i64, by: &UserId, now: i64) -> Result<bool, StoreError> {
        let by = by.as_str().to_owned();
        self.write(move |w| w.conn.execute(&sqlite_params(sql::CLOSE_REPORT), params![id, by, now]).map(|n| n > 0))
            .await
    }
}
