//! What the store keeps of passkeys (a third trait every store implements beside
//! [`super::Store`]): each account's passkeys, and the state of a passkey ceremony
//! between its two requests. The SQL is shared by both backends.

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::UserId;

/// A passkey as listed in settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    pub id: i64,
    pub label: String,
    pub created_at: i64,
    pub last_used: Option<i64>,
}

#[async_trait]
pub trait Passkeys {
    async fn add_passkey(
        &self,
        user: &UserId,
        credential_id: &str,
        label: &str,
        passkey: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    async fn passkeys(&self, user: &UserId) -> Result<Vec<PasskeyRow>, StoreError>;
    /// A person's passkeys as kept (JSON), to exclude from a new registration.
    async fn passkeys_kept(&self, user: &UserId) -> Result<Vec<String>, StoreError>;
    /// The passkey with this credential id: whose it is, and the passkey as kept.
    async fn passkey(&self, credential_id: &str) -> Result<Option<(UserId, String)>, StoreError>;
    /// After a sign-in: the passkey as it is now (its counter), and when it was used.
    async fn used_passkey(&self, credential_id: &str, passkey: &str, now: i64) -> Result<(), StoreError>;
    async fn remove_passkey(&self, user: &UserId, id: i64) -> Result<bool, StoreError>;
    /// Keeps a ceremony's state under `id` until `expires_at` (and drops expired ones).
    async fn put_ceremony(
        &self,
        id: &str,
        user: Option<&UserId>,
        state: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Takes a ceremony's state (once): whose it was, and the state, if not expired.
    async fn take_ceremony(&self, id: &str, now: i64) -> Result<Option<(Option<UserId>, String)>, StoreError>;
}

/// The SQL both backends run.
pub mod sql {
    pub const ADD: &str = "INSERT INTO passkeys (credential_id, user_id, label, passkey, created_at) \
         VALUES ($1, $2, $3, $4, $5)";
    pub const LIST: &str = "SELECT id, label, created_at, last_used FROM passkeys WHERE user_id = $1 ORDER BY id";
    pub const KEPT: &str = "SELECT passkey FROM passkeys WHERE user_id = $1 ORDER BY id";
    pub const ONE: &str = "SELECT user_id, passkey FROM passkeys WHERE credential_id = $1";
    pub const USED: &str = "UPDATE passkeys SET passkey = $2, last_used = $3 WHERE credential_id = $1";
    pub const REMOVE: &str = "DELETE FROM passkeys WHERE user_id = $1 AND id = $2";
    pub const PUT: &str = "INSERT INTO ceremonies (id, user_id, state, expires_at) VALUES ($1, $2, $3, $4)";
    pub const EXPIRED: &str = "DELETE FROM ceremonies WHERE expires_at <= $1";
    pub const TAKE: &str = "DELETE FROM ceremonies WHERE id = $1 AND expires_at > $2 RETURNING user_id, state";
}
