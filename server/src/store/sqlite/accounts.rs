//! The SQLite store's accounts, sessions, tokens and invites (see `store/accounts.rs`).

use super::{reading::sqlite_params, SqliteStore};
use crate::store::accounts::{
    account_from, gather_invites, sql, Account, Accounts, Expiry, FoundSession, InviteRow, Made, NewAccount, PersonRow,
    Role, SessionRow, Which,
};
use crate::store::StoreError;
use async_trait::async_trait;
use palaver_protocol::{User, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};

fn account(r: &Row<'_>, at: usize) -> rusqlite::Result<Account> {
    let role: String = r.get(at + 3)?;
    let suspended = r.get::<_, i64>(at + 5)? != 0;
    Ok(account_from(r.get(at)?, r.get(at + 1)?, r.get(at + 2)?, &role, r.get(at + 4)?, suspended))
}

fn one_account(c: &Connection, query: &str, key: &str) -> rusqlite::Result<Option<Account>> {
    c.prepare_cached(&sqlite_params(query))?.query_row(params![key], |r| account(r, 0)).optional()
}

fn exists(c: &Connection, query: &str, p: impl rusqlite::Params) -> rusqlite::Result<bool> {
    Ok(c.prepare_cached(&sqlite_params(query))?.query_row(p, |_| Ok(())).optional()?.is_some())
}

fn ids(c: &Connection, query: &str, p: impl rusqlite::Params) -> rusqlite::Result<Vec<i64>> {
    c.prepare_cached(&sqlite_params(query))?.query_map(p, |r| r.get(0))?.collect()
}

fn make(c: &mut Connection, new: NewAccount, now: i64) -> rusqlite::Result<Made> {
    let tx = c.transaction()?;
    if exists(&tx, sql::HAS_ACCOUNT, params![new.user.id.as_str()])? {
        return Ok(Made::AlreadyAnAccount);
    }
    if exists(&tx, sql::HAS_KEY, params![new.handle_key])? {
        return Ok(Made::HandleTaken);
    }
    if new.role == crate::store::accounts::Role::Owner && exists(&tx, sql::HAS_OWNER, [])? {
        return Ok(Made::OwnerTaken);
    }
    let invite = match &new.invite {
        Some(code) => match tx
            .prepare_cached(&sqlite_params(sql::SPEND_INVITE))?
            .query_row(params![code, now], |r| r.get::<_, i64>(0))
            .optional()?
        {
            Some(id) => Some(id),
            None => return Ok(Made::InviteSpent),
        },
        None => None,
    };
    tx.execute(
        &sqlite_params(sql::INSERT_ACCOUNT),
        params![
            new.user.id.as_str(),
            new.handle,
            new.handle_key,
            new.user.name,
            new.password,
            new.role.as_str(),
            now,
            invite
        ],
    )?;
    tx.execute(&sqlite_params(sql::KEEP_PERSON), params![new.user.id.as_str(), new.user.name])?;
    tx.commit()?;
    Ok(Made::Made)
}

#[async_trait]
impl Accounts for SqliteStore {
    async fn make_account(&self, new: NewAccount, now: i64) -> Result<Made, StoreError> {
        self.write(move |w| make(&mut w.conn, new, now)).await
    }

    async fn account_by_key(&self, handle_key: &str) -> Result<Option<Account>, StoreError> {
        let key = handle_key.to_owned();
        self.read(move |c| one_account(c, sql::BY_KEY, &key)).await
    }

    async fn account(&self, user: &UserId) -> Result<Option<Account>, StoreError> {
        let id = user.as_str().to_owned();
        self.read(move |c| one_account(c, sql::BY_ID, &id)).await
    }

    async fn handles(&self, names: Vec<String>) -> Result<Vec<(String, User)>, StoreError> {
        let names = serde_json::to_string(&names).map_err(StoreError::backend)?;
        self.read(move |c| {
            c.prepare_cached(
                "SELECT handle, user_id, display_name FROM accounts WHERE handle IN (SELECT value FROM json_each(?1))",
            )?
            .query_map(params![names], |r| {
                Ok((r.get(0)?, User { id: UserId(r.get(1)?), name: r.get(2)?, handle: Some(r.get(0)?) }))
            })?
            .collect()
        })
        .await
    }

    async fn name_taken(&self, folded_name: &str, handle_key: &str) -> Result<bool, StoreError> {
        let (name, key) = (folded_name.to_owned(), handle_key.to_owned());
        self.read(move |c| exists(c, sql::NAME_TAKEN, params![name, key])).await
    }

    async fn has_owner(&self) -> Result<bool, StoreError> {
        self.read(|c| exists(c, sql::HAS_OWNER, [])).await
    }

    async fn set_password(&self, user: &UserId, hash: String) -> Result<(), StoreError> {
        let id = user.as_str().to_owned();
        self.write(move |w| w.conn.execute(&sqlite_params(sql::SET_PASSWORD), params![id, hash]).map(drop)).await
    }

    async fn set_display_name(&self, user: &UserId, name: &str) -> Result<(), StoreError> {
        let (id, name) = (user.as_str().to_owned(), name.to_owned());
        self.write(move |w| w.conn.execute(&sqlite_params(sql::SET_NAME), params![id, name]).map(drop)).await
    }

    async fn start_session(
        &self,
        secret_hash: String,
        user: &UserId,
        address: &str,
        agent: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let (id, address, agent) = (user.as_str().to_owned(), address.to_owned(), agent.to_owned());
        self.write(move |w| {
            w.conn
                .prepare_cached(&sqlite_params(sql::START_SESSION))?
                .query_row(params![secret_hash, id, now, address, agent], |r| r.get(0))
        })
        .await
    }

    async fn session(&self, secret_hash: &str, now: i64, expiry: Expiry) -> Result<Option<FoundSession>, StoreError> {
        let (hash, (idle, absolute)) = (secret_hash.to_owned(), expiry.cutoffs(now));
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::SESSION))?
                .query_row(params![hash, idle, absolute], |r| {
                    Ok(FoundSession { id: r.get(0)?, last_seen: r.get(1)?, account: account(r, 2)? })
                })
                .optional()
        })
        .await
    }

    async fn touch_session(&self, id: i64, now: i64) -> Result<(), StoreError> {
        self.write(move |w| w.conn.execute(&sqlite_params(sql::TOUCH), params![id, now]).map(drop)).await
    }

    async fn sessions(&self, user: &UserId, now: i64, expiry: Expiry) -> Result<Vec<SessionRow>, StoreError> {
        let (id, (idle, absolute)) = (user.as_str().to_owned(), expiry.cutoffs(now));
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::SESSIONS))?
                .query_map(params![id, idle, absolute], |r| {
                    Ok(SessionRow {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        last_seen: r.get(2)?,
                        address: r.get(3)?,
                        user_agent: r.get(4)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn end_sessions(
        &self,
        user: &UserId,
        which: Which,
        now: i64,
        expiry: Expiry,
    ) -> Result<Vec<i64>, StoreError> {
        let (id, (idle, absolute)) = (user.as_str().to_owned(), expiry.cutoffs(now));
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            let ended = match which {
                Which::All => ids(&tx, sql::END_ALL, params![id])?,
                Which::One(one) => ids(&tx, sql::END_ONE, params![id, one])?,
                Which::AllBut(kept) => ids(&tx, sql::END_ALL_BUT, params![id, kept])?,
            };
            tx.execute(&sqlite_params(sql::END_EXPIRED), params![idle, absolute])?;
            tx.commit()?;
            Ok(ended)
        })
        .await
    }

    async fn add_token(&self, secret_hash: String, user: &UserId, label: &str, now: i64) -> Result<i64, StoreError> {
        let (id, label) = (user.as_str().to_owned(), label.to_owned());
        self.write(move |w| {
            w.conn
                .prepare_cached(&sqlite_params(sql::ADD_TOKEN))?
                .query_row(params![secret_hash, id, label, now], |r| r.get(0))
        })
        .await
    }

    async fn token(&self, secret_hash: &str) -> Result<Option<(i64, Account)>, StoreError> {
        let hash = secret_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::TOKEN))?
                .query_row(params![hash], |r| Ok((r.get(0)?, account(r, 1)?)))
                .optional()
        })
        .await
    }

    async fn tokens(&self, user: &UserId) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let id = user.as_str().to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::TOKENS))?
                .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .await
    }

    async fn revoke_token(&self, user: &UserId, token: i64) -> Result<bool, StoreError> {
        let id = user.as_str().to_owned();
        self.write(move |w| Ok(w.conn.execute(&sqlite_params(sql::REVOKE_TOKEN), params![id, token])? > 0)).await
    }

    async fn add_invite(
        &self,
        secret_hash: String,
        by: Option<&UserId>,
        now: i64,
        expires_at: i64,
        uses: i64,
    ) -> Result<i64, StoreError> {
        let by = by.map(|u| u.as_str().to_owned());
        self.write(move |w| {
            w.conn
                .prepare_cached(&sqlite_params(sql::ADD_INVITE))?
                .query_row(params![secret_hash, by, now, expires_at, uses], |r| r.get(0))
        })
        .await
    }

    async fn invite_open(&self, secret_hash: &str, now: i64) -> Result<bool, StoreError> {
        let hash = secret_hash.to_owned();
        self.read(move |c| exists(c, sql::INVITE_OPEN, params![hash, now])).await
    }

    async fn invites(&self) -> Result<Vec<InviteRow>, StoreError> {
        let rows = self
            .read(|c| {
                c.prepare_cached(sql::INVITES)?
                    .query_map([], |r| {
                        let row = InviteRow {
                            id: r.get(0)?,
                            created_by: r.get::<_, Option<String>>(1)?.map(UserId),
                            expires_at: r.get(2)?,
                            uses_left: r.get(3)?,
                            revoked: r.get::<_, i64>(4)? != 0,
                            joined: Vec::new(),
                        };
                        Ok((row, r.get::<_, Option<String>>(5)?))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        Ok(gather_invites(rows))
    }

    async fn revoke_invite(&self, id: i64) -> Result<bool, StoreError> {
        self.write(move |w| Ok(w.conn.execute(&sqlite_params(sql::REVOKE_INVITE), params![id])? > 0)).await
    }

    async fn set_role(&self, user: &UserId, role: Role, now: i64) -> Result<bool, StoreError> {
        let id = user.as_str().to_owned();
        self.write(move |w| Ok(w.conn.execute(&sqlite_params(sql::SET_ROLE), params![id, role.as_str(), now])? > 0))
            .await
    }

    async fn transfer_ownership(&self, from: &UserId, to: &UserId, now: i64) -> Result<bool, StoreError> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        self.write(move |w| {
            let tx = w.conn.transaction()?;
            // The owner steps down first: one owner at most, at every moment.
            if tx.execute(&sqlite_params(sql::DEMOTE_OWNER), params![from, now])? == 0
                || tx.execute(&sqlite_params(sql::CROWN), params![to, now])? == 0
            {
                return Ok(false);
            }
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn set_suspended(&self, user: &UserId, suspended: bool, now: i64) -> Result<bool, StoreError> {
        let id = user.as_str().to_owned();
        let query = if suspended { sql::SUSPEND } else { sql::UNSUSPEND };
        self.write(move |w| Ok(w.conn.execute(&sqlite_params(query), params![id, now])? > 0)).await
    }

    async fn people(&self, after: &str, limit: usize) -> Result<Vec<PersonRow>, StoreError> {
        let after = after.to_owned();
        self.read(move |c| {
            c.prepare_cached(&sqlite_params(sql::PEOPLE))?
                .query_map(params![after, limit as i64], |r| {
                    Ok(PersonRow {
                        account: account(r, 0)?,
                        created_at: r.get(6)?,
                        last_seen: r.get(7)?,
                        sessions: r.get(8)?,
                    })
                })?
                .collect()
        })
        .await
    }
}
