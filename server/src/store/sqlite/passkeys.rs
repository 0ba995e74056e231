//! The SQLite store's passkeys and passkey ceremonies (see `store/passkeys.rs`).

use super::{reading::sqlite_params, SqliteStore};
use crate::store::passkeys::{sql, PasskeyRow, Passkeys};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::UserId;
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl Passkeys for SqliteStore {
    async fn add_passkey(
        &self,
        user: &UserId,
        credential_id: &str,
        label: &str,
        passkey: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let values = (credential_id.to_owned(), user.as_str().to_owned(), label.to_owned(), passkey.to_owned());
        self.write(move |w| {
            let (credential, user, label, passkey) = values;
            w.conn.execute(&sqlite_params(sql::ADD), params![credential, user, label, passkey, now]).map(drop)
        })
        .await
    }

    async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRow>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::LIST))?
                .query_map(params![user], |r| {
                    Ok(PasskeyRow { id: r.get(0)?, label: r.get(1)?, created_at: r.get(2)?, last_used: r.get(3)? })
                })?
                .collect()
        })
        .await
    }

    async fn passkeys_kept(&self, user: &UserId) -> Result<Vec<String>, StoreError> {
        let user = user.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::KEPT))?.query_map(params![user], |r| r.get(0))?.collect()
        })
        .await
    }

    async fn passkey(&self, credential_id: &str) -> Result<Option<(UserId, String)>, StoreError> {
        let credential = credential_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::ONE))?
                .query_row(params![credential], |r| Ok((UserId(r.get(0)?), r.get(1)?)))
                .optional()
        })
        .await
    }

    async fn used_passkey(&self, credential_id: &str, passkey: &str, now: i64) -> Result<(), StoreError> {
        let (credential, passkey) = (credential_id.to_owned(), passkey.to_owned());
        self.write(move |w| w.conn.execute(&sqlite_params(sql::USED), params![credential, passkey, now]).map(drop))
            .await
    }

    async fn remove_passkey(&self, user: &UserId, id: i64) -> Result<bool, StoreError> {
        let user = user.as_str().to_owned();
        self.write(move |w| Ok(w.conn.execute(&sqlite_params(sql::REMOVE), params![user, id])? > 0)).await
    }

    async fn put_ceremony(
        &self,
        id: &str,
        user: Option<&UserId>,
        state: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let (id, user, state) = (id.to_owned(), user.map(|u| u.as_str().to_owned()), state.to_owned());
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            tx.execute(&sqlite_params(sql::EXPIRED), params![now])?;
            tx.execute(&sqlite_params(sql::PUT), params![id, user, state, expires_at])?;
            tx.commit()
        })
        .await
    }

    async fn take_ceremony(&self, id: &str, now: i64) -> Result<Option<(Option<UserId>, String)>, StoreError> {
        let id = id.to_owned();
        self.write(move |w| {
            w.conn
                .prepare_cached(&sqlite_params(sql::TAKE))?
                .query_row(params![id, now], |r| Ok((r.get::<_, Option<String>>(0)?.map(UserId), r.get(1)?)))
                .optional()
        })
        .await
    }
}
