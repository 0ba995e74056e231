//! The PostgreSQL store's room rules, audit log and reports (see `store/rooms.rs`).

use super::reading::row_to_message;
use super::{query, room_named, PostgresStore};
use crate::store::history;
use crate::store::rooms::{
    audit_row, rules_from, sql, AuditEntry, AuditQuery, AuditRow, Kind, Posting, ReportRow, RoomRow, RoomRules, Rules,
};
use crate::store::StoreError;
use async_trait::async_trait;
use deadpool_postgres::Object;
use palaver_protocol::{ChatMessage, RoomId, Seq, UserId};
use tokio_postgres::types::ToSql;

/// How many rows a (cached) statement changed.
async fn execute(client: &Object, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(StoreError::backend)?;
    client.execute(&stmt, params).await.map_err(StoreError::backend)
}

/// A room's rules as the statements that write them take them (`sql::INSERT_RULES`).
struct RuleValues<'a> {
    room: &'a str,
    kind: &'static str,
    topic: &'a str,
    title: &'a str,
    posting: &'static str,
    archived: i64,
    by: Option<&'a str>,
    now: i64,
}

impl<'a> RuleValues<'a> {
    fn of(room: &'a RoomId, rules: &'a RoomRules, by: Option<&'a UserId>, now: i64) -> RuleValues<'a> {
        let (kind, posting, archived) = (rules.kind.as_str(), rules.posting.as_str(), rules.archived as i64);
        RuleValues {
            room: room.as_str(),
            kind,
            topic: &rules.topic,
            title: &rules.title,
            posting,
            archived,
            by: by.map(UserId::as_str),
            now,
        }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 8] {
        [&self.room, &self.kind, &self.topic, &self.posting, &self.archived, &self.by, &self.now, &self.title]
    }
}

fn names(rows: &[tokio_postgres::Row]) -> Vec<RoomId> {
    rows.iter().filter_map(|r| RoomId::parse(r.get::<_, &str>(0)).ok()).collect()
}

#[async_trait]
impl Rules for PostgresStore {
    async fn room_rules(&self, room: &RoomId) -> Result<RoomRules, StoreError> {
        let client = self.client().await?;
        let row = query(&client, sql::RULES, &[&room.as_str()]).await?;
        let row = row.first().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)));
        let people = query(&client, sql::PEOPLE, &[&room.as_str()]).await?;
        Ok(rules_from(row, people.iter().map(|r| (r.get(0), r.get(1))).collect()))
    }

    async fn make_room(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let db = StoreError::backend;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // One maker at a time per name: the room's row in `rooms` is locked meanwhile.
        tx.execute(
            "INSERT INTO rooms (room, last_seq) VALUES ($1, 0) ON CONFLICT (room) DO NOTHING",
            &[&room.as_str()],
        )
        .await
        .map_err(db)?;
        tx.execute("SELECT 1 FROM rooms WHERE room = $1 FOR UPDATE", &[&room.as_str()]).await.map_err(db)?;
        if !tx.query(sql::EXISTS, &[&room.as_str()]).await.map_err(db)?.is_empty() {
            return Ok(false);
        }
        let v = RuleValues::of(room, rules, by, now);
        tx.execute(sql::INSERT_RULES, &v.params()).await.map_err(db)?;
        for member in &rules.members {
            tx.execute(sql::SET_MEMBER, &[&room.as_str(), &member.as_str(), &0i64, &v.by, &now]).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn set_rules(
        &self,
        room: &RoomId,
        rules: &RoomRules,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let v = RuleValues::of(room, rules, by, now);
        execute(&client, sql::UPSERT_RULES, &v.params()).await.map(drop)
    }

    async fn set_member(
        &self,
        room: &RoomId,
        user: &UserId,
        removed: bool,
        by: Option<&UserId>,
        now: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let values: [&(dyn ToSql + Sync); 5] =
            [&room.as_str(), &user.as_str(), &(removed as i64), &by.map(UserId::as_str), &now];
        execute(&client, sql::SET_MEMBER, &values).await.map(drop)
    }

    async fn unlisted(&self) -> Result<Vec<RoomId>, StoreError> {
        let client = self.client().await?;
        Ok(names(&query(&client, sql::UNLISTED, &[]).await?))
    }

    async fn changed_since(&self, since: i64) -> Result<(Vec<RoomId>, Vec<(UserId, String, bool)>), StoreError> {
        let client = self.client().await?;
        let rooms = names(&query(&client, sql::CHANGED_ROOMS, &[&since]).await?);
        let people = query(&client, sql::CHANGED_PEOPLE, &[&since]).await?;
        Ok((rooms, people.iter().map(|r| (UserId(r.get(0)), r.get(1), r.get(2))).collect()))
    }

    async fn rooms_of(&self, user: &UserId) -> Result<Vec<RoomId>, StoreError> {
        let client = self.client().await?;
        Ok(names(&query(&client, sql::ROOMS_OF, &[&user.as_str()]).await?))
    }

    async fn room_rows(&self) -> Result<Vec<RoomRow>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::ROOM_ROWS, &[]).await?;
        rows.iter()
            .map(|r| {
                Ok(RoomRow {
                    room: room_named(r.get(0))?,
                    kind: Kind::parse(r.get(1)).unwrap_or(Kind::Private),
                    topic: r.get(2),
                    posting: Posting::parse(r.get(3)).unwrap_or(Posting::Admins),
                    archived: r.get::<_, i64>(4) != 0,
                    members: r.get(5),
                    title: r.get(6),
                })
            })
            .collect()
    }

    async fn messages_by(
        &self,
        author: &UserId,
        room: &str,
        seq: Seq,
        limit: usize,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let client = self.client().await?;
        let values: [&(dyn ToSql + Sync); 4] = [&author.as_str(), &room, &(seq as i64), &(limit as i64)];
        query(&client, history::BY_AUTHOR, &values).await?.iter().map(row_to_message).collect()
    }

    async fn delete_account(&self, user: &UserId, rename: Option<&str>) -> Result<(), StoreError> {
        let db = StoreError::backend;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        if let Some(name) = rename {
            tx.execute(sql::RENAME_MESSAGES, &[&user.as_str(), &name]).await.map_err(db)?;
            tx.execute(sql::RENAME_REACTIONS, &[&user.as_str(), &name]).await.map_err(db)?;
        }
        for forget in sql::FORGET_PERSON {
            tx.execute(forget, &[&user.as_str()]).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn audit(&self, entry: AuditEntry, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        let e = &entry;
        let values: [&(dyn ToSql + Sync); 8] = [
            &now,
            &e.kind,
            &e.actor.as_ref().map(UserId::as_str),
            &e.subject.as_ref().map(UserId::as_str),
            &e.room.as_ref().map(RoomId::as_str),
            &e.address,
            &e.user_agent,
            &e.detail,
        ];
        execute(&client, sql::AUDIT, &values).await.map(drop)
    }

    async fn audit_log(&self, q: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        let client = self.client().await?;
        let person = q.person.as_ref().map_or("", UserId::as_str);
        let kind = q.kind.as_deref().unwrap_or_default();
        let values: [&(dyn ToSql + Sync); 5] =
            [&q.since, &q.before.unwrap_or(i64::MAX), &person, &kind, &(q.limit as i64)];
        let rows = query(&client, sql::AUDIT_LOG, &values).await?;
        Ok(rows
            .iter()
            .map(|r| {
                audit_row(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7), r.get(8))
            })
            .collect())
    }

    async fn prune_audit(&self, before: i64) -> Result<u64, StoreError> {
        let client = self.client().await?;
        execute(&client, sql::PRUNE_AUDIT, &[&before]).await
    }

    async fn report(
        &self,
        room: &RoomId,
        seq: Seq,
        reporter: &UserId,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let values: [&(dyn ToSql + Sync); 5] = [&room.as_str(), &(seq as i64), &reporter.as_str(), &reason, &now];
        Ok(execute(&client, sql::REPORT, &values).await? > 0)
    }

    async fn open_reports(&self, limit: usize) -> Result<Vec<ReportRow>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::OPEN_REPORTS, &[&(limit as i64)]).await?;
        rows.iter()
            .map(|r| {
                Ok(ReportRow {
                    id: r.get(0),
                    room: room_named(r.get(1))?,
                    seq: r.get::<_, i64>(2) as Seq,
                    reporter: UserId(r.get(3)),
                    reason: r.get(4),
                    created_at: r.get(5),
                })
            })
            .collect()
    }

    async fn close_report(&self, id: i64, by: &UserId, now: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(execute(&client, sql::CLOSE_REPORT, &[&id, &by.as_str(), &now]).await? > 0)
    }
}
