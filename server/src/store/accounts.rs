//! What the store keeps of accounts (a second trait every store implements beside
//! [`super::Store`]): the accounts themselves, the sessions of signed-in browsers,
//! personal access tokens and invite links. Secrets (a session's cookie, a token, an
//! invite's code) are never kept: only their SHA-256, in hex, which is what they are
//! looked up by. The SQL is shared by both backends (`$n` parameters; SQLite's are
//! rewritten by `sqlite_params`).

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::{User, UserId};

/// What an account may do in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        [Role::Owner, Role::Admin, Role::Member].into_iter().find(|r| r.as_str() == s)
    }
}

/// An account as stored: its person (id and display name), handle, role and password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: User,
    pub handle: String,
    pub role: Role,
    /// The argon2id hash (PHC string), if the account has a password.
    pub password: Option<String>,
    /// Suspended by an admin: no sign-in, no session, no token.
    pub suspended: bool,
}

/// An account as the admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub account: Account,
    pub created_at: i64,
    /// When one of its sessions was last seen.
    pub last_seen: Option<i64>,
    pub sessions: i64,
}

/// An account to make. `invite` is the hash of the invite link's code it is made with,
/// which must still have a use left.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user: User,
    pub handle: String,
    pub handle_key: String,
    pub role: Role,
    pub password: Option<String>,
    pub invite: Option<String>,
}

/// What came of making an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Made,
    /// A handle with the same key (the same, or one that looks the same) exists.
    HandleTaken,
    /// The workspace has an owner already.
    OwnerTaken,
    /// The invite link is unknown, expired, revoked or used up.
    InviteSpent,
    /// The person already has an account.
    AlreadyAnAccount,
}

/// One signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub created_at: i64,
    pub last_seen: i64,
    pub address: String,
    pub user_agent: String,
}

/// A session found by its cookie: which one, when it was last seen, and whose.
#[derive(Debug, Clone)]
pub struct FoundSession {
    pub id: i64,
    pub last_seen: i64,
    pub account: Account,
}

/// How long sessions last, in milliseconds: since last seen, and since signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Expiry {
    /// The oldest `last_seen` and `created_at` still valid at `now`.
    pub fn cutoffs(self, now: i64) -> (i64, i64) {
        (now - self.idle_ms, now - self.absolute_ms)
    }
}

/// Which of a person's sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    All,
    One(i64),
    AllBut(i64),
}

/// An invite link as listed: who made it, until when, how many uses it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: i64,
    pub created_by: Option<UserId>,
    pub expires_at: i64,
    pub uses_left: i64,
    pub revoked: bool,
    /// The handles of those who joined with it.
    pub joined: Vec<String>,
}

#[async_trait]
pub trait Accounts {
    /// Makes an account (and spends a use of its invite), all in one commit; the
    /// person is also kept among the people an `@name` can name.
    async fn make_account(&self, new: NewAccount, now: i64) -> Result<Made, StoreError>;
    async fn account_by_key(&self, handle_key: &str) -> Result<Option<Account>, StoreError>;
    async fn account(&self, user: &UserId) -> Result<Option<Account>, StoreError>;
    /// The accounts whose handle is one of `names`: each handle, and its person.
    async fn handles(&self, names: Vec<String>) -> Result<Vec<(String, User)>, StoreError>;
    /// Whether an account has this display name (letters folded) or this handle key.
    async fn name_taken(&self, folded_name: &str, handle_key: &str) -> Result<bool, StoreError>;
    async fn has_owner(&self) -> Result<bool, StoreError>;
    async fn set_password(&self, user: &UserId, hash: String) -> Result<(), StoreError>;
    async fn set_display_name(&self, user: &UserId, name: &str) -> Result<(), StoreError>;

    async fn start_session(
        &self,
        secret_hash: String,
        user: &UserId,
        address: &str,
        agent: &str,
        now: i64,
    ) -> Result<i64, StoreError>;
    /// The valid session with this cookie hash, and its account.
    async fn session(&self, secret_hash: &str, now: i64, expiry: Expiry) -> Result<Option<FoundSession>, StoreError>;
    async fn touch_session(&self, id: i64, now: i64) -> Result<(), StoreError>;
    /// A person's valid sessions, the newest first.
    async fn sessions(&self, user: &UserId, now: i64, expiry: Expiry) -> Result<Vec<SessionRow>, StoreError>;
    /// Ends sessions; returns the ids of those ended. Expired ones are deleted too.
    async fn end_sessions(&self, user: &UserId, which: Which, now: i64, expiry: Expiry)
        -> Result<Vec<i64>, StoreError>;

    async fn add_token(&self, secret_hash: String, user: &UserId, label: &str, now: i64) -> Result<i64, StoreError>;
    /// The token with this hash: its id, and its account.
    async fn token(&self, secret_hash: &str) -> Result<Option<(i64, Account)>, StoreError>;
    /// A person's tokens: id, label, when made.
    async fn tokens(&self, user: &UserId) -> Result<Vec<(i64, String, i64)>, StoreError>;
    async fn revoke_token(&self, user: &UserId, id: i64) -> Result<bool, StoreError>;

    async fn add_invite(
        &self,
        secret_hash: String,
        by: Option<&UserId>,
        now: i64,
        expires_at: i64,
        uses: i64,
    ) -> Result<i64, StoreError>;
    /// Whether an invite link can still be used.
    async fn invite_open(&self, secret_hash: &str, now: i64) -> Result<bool, StoreError>;
    async fn invites(&self) -> Result<Vec<InviteRow>, StoreError>;
    async fn revoke_invite(&self, id: i64) -> Result<bool, StoreError>;

    /// Gives an account a role below the owner's; false if it is the owner's, or none.
    async fn set_role(&self, user: &UserId, role: Role, now: i64) -> Result<bool, StoreError>;
    /// Makes `to` the owner and the owner (`from`) an admin, in one commit; false if
    /// `from` is not the owner or `to` has no account.
    async fn transfer_ownership(&self, from: &UserId, to: &UserId, now: i64) -> Result<bool, StoreError>;
    /// Suspends an account (or lifts it); false if it already was (or was not).
    async fn set_suspended(&self, user: &UserId, suspended: bool, now: i64) -> Result<bool, StoreError>;
    /// Accounts by handle, after `after`.
    async fn people(&self, after: &str, limit: usize) -> Result<Vec<PersonRow>, StoreError>;
}

/// The SQL both backends run.
pub mod sql {
    /// An account's columns (`a`), as [`super::account_from`] reads them.
    macro_rules! account_columns {
        () => {
            "a.user_id, a.display_name, a.handle, a.role, a.password, a.suspended_at IS NOT NULL"
        };
    }

    pub const HAS_KEY: &str = "SELECT 1 FROM accounts WHERE handle_key = $1";
    pub const HAS_OWNER: &str = "SELECT 1 FROM accounts WHERE role = 'owner'";
    pub const HAS_ACCOUNT: &str = "SELECT 1 FROM accounts WHERE user_id = $1";
    pub const SPEND_INVITE: &str = "UPDATE invites SET uses_left = uses_left - 1 \
         WHERE secret_hash = $1 AND uses_left > 0 AND expires_at > $2 AND revoked = 0 RETURNING id";
    pub const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
         (user_id, handle, handle_key, display_name, password, role, created_at, invite) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    pub const KEEP_PERSON: &str =
        "INSERT INTO people (user_id, name) VALUES ($1, $2) ON CONFLICT (user_id) DO UPDATE SET name = excluded.name";
    pub const BY_KEY: &str = concat!("SELECT ", account_columns!(), " FROM accounts a WHERE a.handle_key = $1");
    pub const BY_ID: &str = concat!("SELECT ", account_columns!(), " FROM accounts a WHERE a.user_id = $1");
    /// `$1` a display name folded as mentions fold it (ASCII letters), `$2` a handle key.
    pub const NAME_TAKEN: &str = "SELECT 1 FROM accounts WHERE handle_key = $2 OR handle = $1 \
         OR user_id IN (SELECT user_id FROM people WHERE lower(name) = $1) LIMIT 1";
    pub const SET_PASSWORD: &str = "UPDATE accounts SET password = $2 WHERE user_id = $1";
    pub const SET_NAME: &str = "UPDATE accounts SET display_name = $2 WHERE user_id = $1";
    pub const START_SESSION: &str = "INSERT INTO sessions \
         (secret_hash, user_id, created_at, last_seen, address, user_agent) VALUES ($1, $2, $3, $3, $4, $5) RETURNING id";
    pub const SESSION: &str = concat!(
        "SELECT s.id, s.last_seen, ",
        account_columns!(),
        " FROM sessions s JOIN accounts a ON a.user_id = s.user_id \
         WHERE s.secret_hash = $1 AND s.last_seen > $2 AND s.created_at > $3 AND a.suspended_at IS NULL"
    );
    pub const TOUCH: &str = "UPDATE sessions SET last_seen = $2 WHERE id = $1";
    pub const SESSIONS: &str = "SELECT id, created_at, last_seen, address, user_agent FROM sessions \
         WHERE user_id = $1 AND last_seen > $2 AND created_at > $3 ORDER BY last_seen DESC, id DESC";
    pub const END_ALL: &str = "DELETE FROM sessions WHERE user_id = $1 RETURNING id";
    pub const END_ONE: &str = "DELETE FROM sessions WHERE user_id = $1 AND id = $2 RETURNING id";
    pub const END_ALL_BUT: &str = "DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id";
    pub const END_EXPIRED: &str = "DELETE FROM sessions WHERE last_seen <= $1 OR created_at <= $2";
    pub const ADD_TOKEN: &str =
        "INSERT INTO access_tokens (secret_hash, user_id, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id";
    pub const TOKEN: &str = concat!(
        "SELECT t.id, ",
        account_columns!(),
        " FROM access_tokens t JOIN accounts a ON a.user_id = t.user_id \
         WHERE t.secret_hash = $1 AND a.suspended_at IS NULL"
    );
    pub const TOKENS: &str = "SELECT id, label, created_at FROM access_tokens WHERE user_id = $1 ORDER BY id";
    pub const REVOKE_TOKEN: &str = "DELETE FROM access_tokens WHERE user_id = $1 AND id = $2";
    pub const ADD_INVITE: &str = "INSERT INTO invites (secret_hash, created_by, created_at, expires_at, uses_left) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id";
    pub const INVITE_OPEN: &str =
        "SELECT 1 FROM invites WHERE secret_hash = $1 AND uses_left > 0 AND expires_at > $2 AND revoked = 0";
    pub const INVITES: &str = "SELECT i.id, i.created_by, i.expires_at, i.uses_left, i.revoked, a.handle \
         FROM invites i LEFT JOIN accounts a ON a.invite = i.id ORDER BY i.id DESC, a.handle";
    pub const REVOKE_INVITE: &str = "UPDATE invites SET revoked = 1 WHERE id = $1 AND revoked = 0";
    /// A role below the owner's (the owner's changes only by a transfer).
    pub const SET_ROLE: &str =
        "UPDATE accounts SET role = $2, changed_at = $3 WHERE user_id = $1 AND role <> 'owner' AND $2 <> 'owner'";
    pub const DEMOTE_OWNER: &str =
        "UPDATE accounts SET role = 'admin', changed_at = $2 WHERE user_id = $1 AND role = 'owner'";
    pub const CROWN: &str = "UPDATE accounts SET role = 'owner', changed_at = $2 WHERE user_id = $1";
    pub const SUSPEND: &str =
        "UPDATE accounts SET suspended_at = $2, changed_at = $2 WHERE user_id = $1 AND suspended_at IS NULL";
    pub const UNSUSPEND: &str =
        "UPDATE accounts SET suspended_at = NULL, changed_at = $2 WHERE user_id = $1 AND suspended_at IS NOT NULL";
    /// Accounts by handle after `$1`, `$2` of them, with when they joined and their sessions.
    pub const PEOPLE: &str = concat!(
        "SELECT ",
        account_columns!(),
        ", a.created_at, (SELECT MAX(s.last_seen) FROM sessions s WHERE s.user_id = a.user_id), \
         (SELECT COUNT(*) FROM sessions s WHERE s.user_id = a.user_id) \
         FROM accounts a WHERE a.handle > $1 ORDER BY a.handle LIMIT $2"
    );
}

/// Rows of [`sql::INVITES`] (an invite, and one who joined with it if any) gathered per invite.
pub fn gather_invites(rows: impl IntoIterator<Item = (InviteRow, Option<String>)>) -> Vec<InviteRow> {
    let mut out: Vec<InviteRow> = Vec::new();
    for (row, joined) in rows {
        match out.last_mut() {
            Some(last) if last.id == row.id => last.joined.extend(joined),
            _ => out.push(InviteRow { joined: joined.into_iter().collect(), ..row }),
        }
    }
    out
}

/// An account from its columns, as the queries of [`sql`] list them.
pub fn account_from(
    id: String,
    name: String,
    handle: String,
    role: &str,
    password: Option<String>,
    suspended: bool,
) -> Account {
    Account {
        user: User { id: UserId(id), name, handle: Some(handle.clone()) },
        handle,
        role: Role::parse(role).unwrap_or(Role::Member),
        password,
        suspended,
    }
}
