//! The PostgreSQL store's accounts, sessions, tokens and invites (see `store/accounts.rs`).

use super::{query, PostgresStore};
use crate::store::accounts::{
    account_from, gather_invites, sql, Account, Accounts, Expiry, FoundSession, InviteRow, Made, NewAccount, PersonRow,
    Role, SessionRow, Which,
};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{User, UserId};
use tokio_postgres::{error::SqlState, Row};

fn account(r: &Row, at: usize) -> Account {
    account_from(r.get(at), r.get(at + 1), r.get(at + 2), r.get(at + 3), r.get(at + 4), r.get(at + 5))
}

impl PostgresStore {
    async fn one_account(&self, sql: &str, key: &str) -> Result<Option<Account>, StoreError> {
        let client = self.client().await?;
        Ok(query(&client, sql, &[&key]).await?.first().map(|r| account(r, 0)))
    }

    async fn ids(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<i64>, StoreError> {
        let client = self.client().await?;
        Ok(query(&client, sql, params).await?.iter().map(|r| r.get(0)).collect())
    }
}

/// Makes an account in one transaction. Two nodes making the same handle (or the owner)
/// at once: the second one's insert breaks a unique index, and is told which.
async fn make(store: &PostgresStore, new: NewAccount, now: i64) -> Result<Made, StoreError> {
    let db = StoreError::backend;
    let mut client = store.client().await?;
    let tx = client.transaction().await.map_err(db)?;
    let found = |rows: Vec<Row>| !rows.is_empty();
    if found(tx.query(sql::HAS_ACCOUNT, &[&new.user.id.as_str()]).await.map_err(db)?) {
        return Ok(Made::AlreadyAnAccount);
    }
    if found(tx.query(sql::HAS_KEY, &[&new.handle_key]).await.map_err(db)?) {
        return Ok(Made::HandleTaken);
    }
    if new.role == Role::Owner && found(tx.query(sql::HAS_OWNER, &[]).await.map_err(db)?) {
        return Ok(Made::OwnerTaken);
    }
    let invite: Option<i64> = match &new.invite {
        Some(code) => match tx.query(sql::SPEND_INVITE, &[code, &now]).await.map_err(db)?.first() {
            Some(row) => Some(row.get(0)),
            None => return Ok(Made::InviteSpent),
        },
        None => None,
    };
    let (id, role) = (new.user.id.as_str(), new.role.as_str());
    let columns: [&(dyn tokio_postgres::types::ToSql + Sync); 8] =
        [&id, &new.handle, &new.handle_key, &new.user.name, &new.password, &role, &now, &invite];
    if let Err(e) = tx.execute(sql::INSERT_ACCOUNT, &columns).await {
        if e.code() != Some(&SqlState::UNIQUE_VIOLATION) {
            return Err(db(e));
        }
        let owner = e.as_db_error().and_then(|d| d.constraint()) == Some("accounts_one_owner");
        return Ok(if owner { Made::OwnerTaken } else { Made::HandleTaken });
    }
    tx.execute(sql::KEEP_PERSON, &[&id, &new.user.name]).await.map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Made::Made)
}

#[async_trait]
impl Accounts for PostgresStore {
    async fn make_account(&self, new: NewAccount, now: i64) -> Result<Made, StoreError> {
        make(self, new, now).await
    }

    async fn account_by_key(&self, handle_key: &str) -> Result<Option<Account>, StoreError> {
        self.one_account(sql::BY_KEY, handle_key).await
    }

    async fn account(&self, user: &UserId) -> Result<Option<Account>, StoreError> {
        self.one_account(sql::BY_ID, user.as_str()).await
    }

    async fn handles(&self, names: Vec<String>) -> Result<Vec<(String, User)>, StoreError> {
        let client = self.client().await?;
        let sql = "SELECT handle, user_id, display_name FROM accounts WHERE handle = ANY($1::text[])";
        let rows = query(&client, sql, &[&names]).await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), User { id: UserId(r.get(1)), name: r.get(2), handle: Some(r.get(0)) }))
            .collect())
    }

    async fn name_taken(&self, folded_name: &str, handle_key: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(!query(&client, sql::NAME_TAKEN, &[&folded_name, &handle_key]).await?.is_empty())
    }

    async fn has_owner(&self) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(!query(&client, sql::HAS_OWNER, &[]).await?.is_empty())
    }

    async fn set_password(&self, user: &UserId, hash: String) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::SET_PASSWORD, &[&user.as_str(), &hash]).await.map(drop)
    }

    async fn set_display_name(&self, user: &UserId, name: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::SET_NAME, &[&user.as_str(), &name]).await.map(drop)
    }

    async fn start_session(
        &self,
        secret_hash: String,
        user: &UserId,
        address: &str,
        agent: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let ids = self.ids(sql::START_SESSION, &[&secret_hash, &user.as_str(), &now, &address, &agent]).await?;
        ids.first().copied().ok_or_else(|| StoreError::backend("no session id returned"))
    }

    async fn session(&self, secret_hash: &str, now: i64, expiry: Expiry) -> Result<Option<FoundSession>, StoreError> {
        let (idle, absolute) = expiry.cutoffs(now);
        let client = self.client().await?;
        let rows = query(&client, sql::SESSION, &[&secret_hash, &idle, &absolute]).await?;
        Ok(rows.first().map(|r| FoundSession { id: r.get(0), last_seen: r.get(1), account: account(r, 2) }))
    }

    async fn touch_session(&self, id: i64, now: i64) -> Result<(), StoreError> {
        let client = self.client().await?;
        query(&client, sql::TOUCH, &[&id, &now]).await.map(drop)
    }

    async fn sessions(&self, user: &UserId, now: i64, expiry: Expiry) -> Result<Vec<SessionRow>, StoreError> {
        let (idle, absolute) = expiry.cutoffs(now);
        let client = self.client().await?;
        let rows = query(&client, sql::SESSIONS, &[&user.as_str(), &idle, &absolute]).await?;
        Ok(rows
            .iter()
            .map(|r| SessionRow {
                id: r.get(0),
                created_at: r.get(1),
                last_seen: r.get(2),
                address: r.get(3),
                user_agent: r.get(4),
            })
            .collect())
    }

    async fn end_sessions(
        &self,
        user: &UserId,
        which: Which,
        now: i64,
        expiry: Expiry,
    ) -> Result<Vec<i64>, StoreError> {
        let id = user.as_str();
        let ended = match which {
            Which::All => self.ids(sql::END_ALL, &[&id]).await?,
            Which::One(one) => self.ids(sql::END_ONE, &[&id, &one]).await?,
            Which::AllBut(kept) => self.ids(sql::END_ALL_BUT, &[&id, &kept]).await?,
        };
        let (idle, absolute) = expiry.cutoffs(now);
        let client = self.client().await?;
        query(&client, sql::END_EXPIRED, &[&idle, &absolute]).await?;
        Ok(ended)
    }

    async fn add_token(&self, secret_hash: String, user: &UserId, label: &str, now: i64) -> Result<i64, StoreError> {
        let ids = self.ids(sql::ADD_TOKEN, &[&secret_hash, &user.as_str(), &label, &now]).await?;
        ids.first().copied().ok_or_else(|| StoreError::backend("no token id returned"))
    }

    async fn token(&self, secret_hash: &str) -> Result<Option<(i64, Account)>, StoreError> {
        let client = self.client().await?;
        Ok(query(&client, sql::TOKEN, &[&secret_hash]).await?.first().map(|r| (r.get(0), account(r, 1))))
    }

    async fn tokens(&self, user: &UserId) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::TOKENS, &[&user.as_str()]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect())
    }

    async fn revoke_token(&self, user: &UserId, token: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql::REVOKE_TOKEN).await.map_err(StoreError::backend)?;
        Ok(client.execute(&stmt, &[&user.as_str(), &token]).await.map_err(StoreError::backend)? > 0)
    }

    async fn add_invite(
        &self,
        secret_hash: String,
        by: Option<&UserId>,
        now: i64,
        expires_at: i64,
        uses: i64,
    ) -> Result<i64, StoreError> {
        let by = by.map(|u| u.as_str());
        let ids = self.ids(sql::ADD_INVITE, &[&secret_hash, &by, &now, &expires_at, &uses]).await?;
        ids.first().copied().ok_or_else(|| StoreError::backend("no invite id returned"))
    }

    async fn invite_open(&self, secret_hash: &str, now: i64) -> Result<bool, StoreError> {
        let client = self.client().await?;
        Ok(!query(&client, sql::INVITE_OPEN, &[&secret_hash, &now]).await?.is_empty())
    }

    async fn invites(&self) -> Result<Vec<InviteRow>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::INVITES, &[]).await?;
        Ok(gather_invites(rows.iter().map(|r| {
            let row = InviteRow {
                id: r.get(0),
                created_by: r.get::<_, Option<String>>(1).map(UserId),
                expires_at: r.get(2),
                uses_left: r.get(3),
                revoked: r.get::<_, i64>(4) != 0,
                joined: Vec::new(),
            };
            (row, r.get::<_, Option<String>>(5))
        })))
    }

    async fn revoke_invite(&self, id: i64) -> Result<bool, StoreError> {
        self.changed(sql::REVOKE_INVITE, &[&id]).await
    }

    async fn set_role(&self, user: &UserId, role: Role, now: i64) -> Result<bool, StoreError> {
        self.changed(sql::SET_ROLE, &[&user.as_str(), &role.as_str(), &now]).await
    }

    async fn transfer_ownership(&self, from: &UserId, to: &UserId, now: i64) -> Result<bool, StoreError> {
        let db = StoreError::backend;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(db)?;
        // The owner steps down first: one owner at most, at every moment.
        if tx.execute(sql::DEMOTE_OWNER, &[&from.as_str(), &now]).await.map_err(db)? == 0
            || tx.execute(sql::CROWN, &[&to.as_str(), &now]).await.map_err(db)? == 0
        {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn set_suspended(&self, user: &UserId, suspended: bool, now: i64) -> Result<bool, StoreError> {
        self.changed(if suspended { sql::SUSPEND } else { sql::UNSUSPEND }, &[&user.as_str(), &now]).await
    }

    async fn people(&self, after: &str, limit: usize) -> Result<Vec<PersonRow>, StoreError> {
        let client = self.client().await?;
        let rows = query(&client, sql::PEOPLE, &[&after, &(limit as i64)]).await?;
        Ok(rows
            .iter()
            .map(|r| PersonRow {
                account: account(r, 0),
                created_at: r.get(6),
                last_seen: r.get(7),
                sessions: r.get(8),
            })
            .collect())
    }
}

impl PostgresStore {
    /// Whether a (cached) statement changed any row.
    async fn changed(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await.map_err(StoreError::backend)?;
        Ok(client.execute(&stmt, params).await.map_err(StoreError::backend)? > 0)
    }
}
