//! The SQLite store's Web Push subscriptions (see `store/push.rs`).

use super::{reading::sqlite_params, SqliteStore};
use crate::store::push::{from_row, sql, Pushes, Subscription, LIMIT};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{RoomId, UserId};
use rusqlite::params;

#[async_trait]
impl Pushes for SqliteStore {
    async fn add_push(&self, who: &UserId, session: Option<i64>, s: &Subscription, now: i64) -> Result<(), StoreError> {
        let (person, s) = (who.0.clone(), s.clone());
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            let row = params![s.endpoint, person, s.keys.p256dh, s.keys.auth, session, now];
            tx.execute(&sqlite_params(sql::ADD), row)?;
            tx.execute(&sqlite_params(sql::TRIM), params![person, LIMIT])?;
            tx.commit()
        })
        .await
    }

    async fn pushes(&self, person: &UserId) -> Result<Vec<Subscription>, StoreError> {
        let person = person.0.clone();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::LIST))?
                .query_map(params![person], |r| Ok(from_row(r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .await
    }

    async fn remove_push(&self, endpoint: &str, person: Option<&UserId>) -> Result<bool, StoreError> {
        let (endpoint, person) = (endpoint.to_owned(), person.map(|p| p.0.clone()));
        self.write(move |w| match person {
            Some(person) => w.conn.execute(&sqlite_params(sql::REMOVE_THEIRS), params![endpoint, person]),
            None => w.conn.execute(&sqlite_params(sql::REMOVE), params![endpoint]),
        })
        .await
        .map(|removed| removed > 0)
    }

    async fn pushed_in(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError> {
        let room = room.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::ALL_IN))?
                .query_map(params![room], |r| Ok(UserId(r.get(0)?)))?
                .collect()
        })
        .await
    }

    async fn push_people(&self) -> Result<Vec<UserId>, StoreError> {
        self.read(move |c| c.prepare_cached(sql::PEOPLE)?.query_map([], |r| Ok(UserId(r.get(0)?)))?.collect()).await
    }
}
