//! The PostgreSQL store's passkeys and passkey ceremonies (see `store/passkeys.rs`).

use super::{query, PostgresStore};
use crate::store::passkeys::{sql, PasskeyRow, Passkeys};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::UserId;

#[async_trait]
impl Passkeys for PostgresStore {
    async fn add_passkey(
        &self,
        user: &UserId,
        credential_id: &str,
        label: &str,
        passkey: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::ADD, &[&credential_id, &user.as_str(), &label, &passkey, &now]).await.map(drop)
    }

    async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRow>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::LIST, &[&user.as_str()]).await?;
        Ok(rows
            .iter()
            .map(|r| PasskeyRow { id: r.get(0), label: r.get(1), created_at: r.get(2), last_used: r.get(3) })
            .collect())
    }

    async fn passkeys_kept(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        Ok(query(&client, sql::KEPT, &[&user.as_str()]).await?.iter().map(|r| r.get(0)).collect())
    }

    async fn passkey(&self, credential_id: &str) -> Result<Option<(UserId, String)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::ONE, &[&credential_id]).await?;
        Ok(rows.first().map(|r| (UserId(r.get(0)), r.get(1))))
    }

    async fn used_passkey(&self, credential_id: &str, passkey: &str, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::USED, &[&credential_id, &passkey, &now]).await.map(drop)
    }

    async fn remove_passkey(&self, user: &UserId, id: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql::REMOVE).await.map_err(StoreError::backend)?;
        Ok(client.execute(&stmt, &[&user.as_str(), &id]).await.map_err(StoreError::backend)? > 0)
    }

    async fn put_ceremony(
        &self,
        id: &str,
        user: Option<&UserId>,
        state: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::EXPIRED, &[&now]).await?;
        query(&client, sql::PUT, &[&id, &user.map(|u| u.as_str()), &state, &expires_at]).await.map(drop)
    }

    async fn take_ceremony(&self, id: &str, now: i64) -> Result<Option<(Option<UserId>, String)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::TAKE, &[&id, &now]).await?;
        Ok(rows.first().map(|r| (r.get::<_, Option<String>>(0).map(UserId), r.get(1))))
    }
}
