//! The PostgreSQL store's Web Push subscriptions (see `store/push.rs`).

use super::{query, PostgresStore};
use crate::store::push::{from_row, sql, Pushes, Subscription, LIMIT};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{RoomId, UserId};

#[async_trait]
impl Pushes for PostgresStore {
    async fn add_push(&self, who: &UserId, session: Option<i64>, s: &Subscription, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::ADD, &[&s.endpoint, &who.0, &s.keys.p256dh, &s.keys.auth, &session, &now]).await?;
        query(&client, sql::TRIM, &[&who.0, &LIMIT]).await.map(drop)
    }

    async fn pushes(&self, person: &UserId) -> Result<Vec<Subscription>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::LIST, &[&person.0]).await?;
        Ok(rows.iter().map(|r| from_row(r.get(0), r.get(1), r.get(2))).collect())
    }

    async fn remove_push(&self, endpoint: &str, person: Option<&UserId>) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let removed = match person {
            Some(person) => query_count(&client, sql::REMOVE_THEIRS, &[&endpoint, &person.0]).await?,
            None => query_count(&client, sql::REMOVE, &[&endpoint]).await?,
        };
        Ok(removed > 0)
    }

    async fn pushed_in(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::ALL_IN, &[&room.as_str()]).await?;
        Ok(rows.iter().map(|r| UserId(r.get(0))).collect())
    }

    async fn push_people(&self) -> Result<Vec<UserId>, StoreError> {
        let client = self.client().await?;
        Ok(query(&client, sql::PEOPLE, &[]).await?.iter().map(|r| UserId(r.get(0))).collect())
    }
}

/// Rows a (cached) statement changed.
async fn query_count(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<u64, StoreError> {
    let stmt = client.prepare_cached(sql).await.map_err(StoreError::backend)?;
    client.execute(&stmt, params).await.map_err(StoreError::backend)
}
