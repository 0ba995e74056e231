//! Accounts: who is who. An account is a person (the id their messages carry) with a
//! handle of their own, a display name, a role and a password (argon2id). A signed-in
//! browser holds a session: a random secret in an `HttpOnly` cookie, kept in the store
//! as its SHA-256 with when it was made and last seen, where from and by what browser;
//! programs use personal access tokens, kept the same way. Ending a session or revoking
//! a token closes its connections on every node (`hub/signed.rs`).
//!
//! Modules, each using only those before it: `names.rs` (handles, their look-alike
//! key, display names), `password.rs` (what is accepted, the hashing pool),
//! `attempts.rs` (sign-in limits), this file (the rules, over the store, and who a
//! request's session cookie names) and `passkeys.rs` (WebAuthn ceremonies). The pages
//! are `account_pages/`.

pub mod attempts;
pub mod audit;
pub mod moderation;
pub mod names;
pub mod passkeys;
pub mod password;

use crate::access::Creators;
use crate::hub::Hub;
use crate::identity::Credential;
use crate::identity::{random_bytes, Identity};
use crate::store::accounts::{Account, Expiry, FoundSession, Made, NewAccount, Role, Which};
use crate::store::rooms::AuditEntry;
use crate::store::{Store, StoreError};
use attempts::Attempts;
use axum::http::{header, HeaderMap};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use names::BadHandle;
use palaver_protocol::{Invalid, User, UserId};
use password::{Busy, Hasher, Weak};
use sha2::{Digest, Sha256};
use std::{
    net::IpAddr,
    sync::atomic::{AtomicBool, Ordering},
    sync::Arc,
    time::{Duration, Instant},
};

/// The cookie that holds a browser's session: a guest's signed token, or an account
/// session's secret.
pub const SESSION_COOKIE: &str = "palaver_session";

/// How a personal access token begins, so that `hello` tells it from a guest's token.
pub const TOKEN_PREFIX: &str = "pat_";
/// A session is seen again (its `last_seen` written) at most this often.
const TOUCH_EVERY_MS: i64 = 5 * 60 * 1000;

/// Who may make an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignUp {
    /// With an invite link only.
    Invite,
    /// Anyone with the address.
    Open,
}

/// Whether people without an account may chat (`auto`: while the workspace has no owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guests {
    Auto,
    On,
    Off,
}

/// The accounts' settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub sign_up: SignUp,
    pub guests: Guests,
    pub expiry: Expiry,
    pub hashing_threads: usize,
    /// Sign-ins allowed per address and per account in each window.
    pub attempts: usize,
    pub attempts_window: Duration,
    /// Who may make rooms.
    pub creators: Creators,
    /// How long the audit log keeps an event.
    pub audit_days: i64,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sign_up: SignUp::Invite,
            guests: Guests::Auto,
            expiry: Expiry { idle_ms: 30 * DAY_MS, absolute_ms: 365 * DAY_MS },
            hashing_threads: std::thread::available_parallelism().map_or(1, |n| n.get() / 2).max(1),
            attempts: 10,
            attempts_window: Duration::from_secs(180),
            creators: Creators::Members,
            audit_days: 365,
        }
    }
}

pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// Why an account could not be made, or a sign-in was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    BadHandle(BadHandle),
    BadName(Invalid),
    Weak(Weak),
    HandleTaken,
    /// The workspace has an owner already (a first-run link used twice).
    OwnerTaken,
    InviteSpent,
    /// Signing up needs an invite link.
    SignUpClosed,
    /// The same for an unknown handle and a wrong password.
    WrongPassword,
    TooMany(Duration),
    Busy,
    AlreadyAnAccount,
    /// An admin suspended the account.
    Suspended,
    Unavailable,
}

impl From<Busy> for Refusal {
    fn from(_: Busy) -> Refusal {
        Refusal::Busy
    }
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Refusal {
        tracing::warn!("accounts: {e}");
        Refusal::Unavailable
    }
}

/// Whoever a request's session cookie names: a member (an account's session), or a
/// guest (a token this server signed).
#[derive(Debug, Clone)]
pub enum Visitor {
    Member { session: i64, account: Account },
    Guest(User),
}

impl Visitor {
    pub fn user(&self) -> &User {
        match self {
            Visitor::Member { account, .. } => &account.user,
            Visitor::Guest(user) => user,
        }
    }

    /// Who a page or file is for, as the rules of rooms see them (`None`: a visitor).
    pub fn reader(visitor: Option<&Visitor>) -> crate::access::Reader {
        use crate::access::Reader;
        match visitor {
            Some(Visitor::Member { account, .. }) => Reader::Member { id: account.user.id.clone(), role: account.role },
            Some(Visitor::Guest(user)) => Reader::Guest(user.id.clone()),
            None => Reader::Visitor,
        }
    }
}

/// The value of the request's session cookie, if it has one.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    cookies.flat_map(|c| c.split(';')).find_map(|c| {
        let (name, value) = c.split_once('=')?;
        (name.trim() == SESSION_COOKIE).then(|| value.trim())
    })
}

/// An account to make, as typed in a form or given to the CLI.
pub struct Applicant<'a> {
    pub handle: &'a str,
    pub display_name: &'a str,
    pub password: &'a str,
    pub role: Role,
    /// The invite link's code, for a sign-up by invitation.
    pub invite: Option<&'a str>,
    /// A guest's own person, who keeps their messages as the account's.
    pub person: Option<User>,
}

/// The accounts' rules over the store.
pub struct Auth {
    store: Arc<dyn Store>,
    hub: Option<Arc<Hub>>,
    identity: Identity,
    hasher: Hasher,
    attempts: Attempts,
    /// Known to have an owner (never unset).
    owned: AtomicBool,
    pub settings: Settings,
}

impl Auth {
    /// Accounts over `store`; with the node's `hub`, ending a session closes its
    /// connections (the CLI has none).
    pub fn new(store: Arc<dyn Store>, hub: Option<Arc<Hub>>, identity: Identity, settings: Settings) -> Auth {
        Auth {
            store,
            hub,
            identity,
            hasher: Hasher::new(settings.hashing_threads),
            attempts: Attempts::new(settings.attempts, settings.attempts_window),
            owned: AtomicBool::new(false),
            settings,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Makes an account: the handle, name and password checked, the password hashed.
    /// A member needs an invite (or open sign-up); the owner needs the workspace to
    /// have none yet.
    pub async fn make(&self, a: Applicant<'_>, invited_or_open: bool) -> Result<Account, Refusal> {
        let handle = names::handle(a.handle).map_err(Refusal::BadHandle)?;
        let name = names::display_name(a.display_name).map_err(Refusal::BadName)?;
        password::acceptable(a.password, &handle).map_err(Refusal::Weak)?;
        if !invited_or_open {
            return Err(Refusal::SignUpClosed);
        }
        let hash = self.hasher.hash(a.password.to_owned()).await?;
        let user = match a.person {
            Some(person) => User { name, ..person },
            None => self.identity.new_user(name).map_err(|_| Refusal::Unavailable)?,
        };
        let new = NewAccount {
            handle_key: names::key(&handle),
            handle,
            role: a.role,
            password: Some(hash),
            invite: a.invite.map(digest),
            user,
        };
        let (user, handle, role) = (new.user.clone(), new.handle.clone(), new.role);
        let account = Account { user, handle, role, password: None, suspended: false };
        match self.store.make_account(new, now_ms()).await? {
            Made::Made => {
                tracing::info!(handle = %account.handle, role = account.role.as_str(), "account made");
                if a.invite.is_some() {
                    self.audit(AuditEntry::new(audit::INVITE_USED).to(&account.user.id)).await;
                }
                Ok(account)
            }
            Made::HandleTaken => Err(Refusal::HandleTaken),
            Made::OwnerTaken => Err(Refusal::OwnerTaken),
            Made::InviteSpent => Err(Refusal::InviteSpent),
            Made::AlreadyAnAccount => Err(Refusal::AlreadyAnAccount),
        }
    }

    /// Signs in by handle and password, within the limits for the address and the
    /// account. An unknown handle and a wrong password get the same answer, in the
    /// same time (a decoy hash is checked).
    pub async fn sign_in(&self, handle: &str, password: &str, address: IpAddr) -> Result<Account, Refusal> {
        let typed = handle.trim().to_lowercase();
        let key = names::handle(&typed).map(|h| names::key(&h)).unwrap_or(typed);
        let (by_address, by_account) = (format!("ip {address}"), format!("account {key}"));
        self.attempts.take(&[&by_address, &by_account], Instant::now()).map_err(Refusal::TooMany)?;
        let account = self.store.account_by_key(&key).await?;
        let hash = account.as_ref().and_then(|a| a.password.clone());
        let password = password.get(..password::MAX_BYTES.min(password.len())).unwrap_or(password).to_owned();
        match (self.hasher.verify(password, hash).await?, account) {
            (true, Some(account)) if account.suspended => Err(Refusal::Suspended),
            (true, Some(account)) => Ok(account),
            _ => Err(Refusal::WrongPassword),
        }
    }

    /// A new session for `account`: returns the cookie's value.
    pub async fn start_session(&self, account: &Account, address: IpAddr, agent: &str) -> Result<String, Refusal> {
        let secret = secret()?;
        let agent: String = agent.chars().take(256).collect();
        self.store.start_session(digest(&secret), &account.user.id, &address.to_string(), &agent, now_ms()).await?;
        Ok(secret)
    }

    /// The valid session a cookie's value names (seen now).
    pub async fn session(&self, cookie: &str) -> Option<FoundSession> {
        let now = now_ms();
        let found = match self.store.session(&digest(cookie), now, self.settings.expiry).await {
            Ok(found) => found?,
            Err(e) => {
                tracing::warn!("cannot read a session: {e}");
                return None;
            }
        };
        if now - found.last_seen > TOUCH_EVERY_MS {
            if let Err(e) = self.store.touch_session(found.id, now).await {
                tracing::warn!("cannot note a session seen: {e}");
            }
        }
        Some(found)
    }

    /// Who the request's session cookie names, if anyone: an account's session still
    /// valid, or a guest's token this server signed. (A guest's token has dots; a
    /// session's secret has none.)
    pub async fn visitor(&self, headers: &HeaderMap) -> Option<Visitor> {
        let value = cookie(headers)?;
        if value.contains('.') {
            return self.identity.verify(value).map(Visitor::Guest);
        }
        let found = self.session(value).await?;
        Some(Visitor::Member { session: found.id, account: found.account })
    }

    /// Ends some of `user`'s sessions; their connections close on every node.
    pub async fn end_sessions(&self, user: &UserId, which: Which) -> Result<usize, StoreError> {
        let ended = self.store.end_sessions(user, which, now_ms(), self.settings.expiry).await?;
        let count = ended.len();
        if count > 0 {
            self.audit(AuditEntry::new(audit::SESSION_ENDED).to(user).saying(format!("{count} ended"))).await;
        }
        if let Some(hub) = &self.hub {
            hub.sign_out(user, ended.into_iter().map(Credential::Session).collect());
        }
        Ok(count)
    }

    /// A new password for `user`: every other session of theirs ends.
    pub async fn change_password(
        &self,
        user: &UserId,
        keep: Option<i64>,
        new: &str,
        handle: &str,
    ) -> Result<(), Refusal> {
        password::acceptable(new, handle).map_err(Refusal::Weak)?;
        let hash = self.hasher.hash(new.to_owned()).await?;
        self.store.set_password(user, hash).await?;
        self.end_sessions(user, keep.map_or(Which::All, Which::AllBut)).await?;
        Ok(())
    }

    /// Checks a password of `account`'s (for changing it), within the sign-in limits.
    pub async fn check_password(&self, account: &Account, password: &str, address: IpAddr) -> Result<(), Refusal> {
        self.sign_in(&account.handle, password, address).await.map(drop)
    }

    /// A new personal access token for `user`: returned once, kept hashed.
    pub async fn make_token(&self, user: &UserId, label: &str) -> Result<String, Refusal> {
        let token = format!("{TOKEN_PREFIX}{}", secret()?);
        self.store.add_token(digest(&token), user, label, now_ms()).await?;
        Ok(token)
    }

    /// The account a personal access token is for, and the token's id.
    pub async fn token(&self, token: &str) -> Result<Option<(Credential, Account)>, StoreError> {
        Ok(self.store.token(&digest(token)).await?.map(|(id, account)| (Credential::Token(id), account)))
    }

    /// Revokes one of `user`'s tokens: connections that said hello with it close.
    pub async fn revoke_token(&self, user: &UserId, id: i64) -> Result<bool, StoreError> {
        let revoked = self.store.revoke_token(user, id).await?;
        if let (true, Some(hub)) = (revoked, &self.hub) {
            hub.sign_out(user, vec![Credential::Token(id)]);
        }
        Ok(revoked)
    }

    /// A new invite link's code, for `uses` sign-ups within `valid`.
    pub async fn invite(&self, by: Option<&UserId>, uses: i64, valid: Duration) -> Result<String, Refusal> {
        let code = secret()?;
        let now = now_ms();
        let until = now.saturating_add(i64::try_from(valid.as_millis()).unwrap_or(i64::MAX));
        let id = self.store.add_invite(digest(&code), by, now, until, uses).await?;
        let entry = AuditEntry::new(audit::INVITE_CREATED).saying(format!("invite {id}, {uses} uses"));
        self.audit(match by {
            Some(by) => entry.by(by),
            None => entry,
        })
        .await;
        Ok(code)
    }

    pub async fn invite_open(&self, code: &str) -> bool {
        self.store.invite_open(&digest(code), now_ms()).await.unwrap_or(false)
    }

    /// The first-run code: the owner's page is `/setup?code=` it, until there is an
    /// owner. The same on every node (derived from the shared secret).
    pub fn setup_code(&self) -> String {
        B64.encode(&self.identity.derive_key(b"palaver first run v1")[..18])
    }

    /// Whether `code` is the first-run code (compared in constant time).
    pub fn is_setup_code(&self, code: &str) -> bool {
        use subtle_eq::eq;
        eq(code.as_bytes(), self.setup_code().as_bytes())
    }

    /// Whether the workspace has an owner (once it has, it always will).
    pub async fn has_owner(&self) -> Result<bool, StoreError> {
        if self.owned.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let owned = self.store.has_owner().await?;
        self.owned.store(owned, Ordering::Relaxed);
        Ok(owned)
    }

    /// Whether people without an account may chat now.
    pub async fn guests_allowed(&self) -> bool {
        match self.settings.guests {
            Guests::On => true,
            Guests::Off => false,
            Guests::Auto => !self.has_owner().await.unwrap_or(true),
        }
    }

    /// Whether `reader` may make rooms: as `PALAVER_ROOM_CREATORS` says (guests never),
    /// except that while the workspace has no owner (nobody has an account yet, and
    /// guests chat as before) anyone may.
    pub async fn may_make_rooms(&self, reader: &crate::access::Reader) -> bool {
        self.settings.creators.admit(reader) || !reader.is_member() && !self.has_owner().await.unwrap_or(true)
    }

    /// Says in the log, at start, where the owner account is made while there is none.
    pub async fn announce_first_run(&self, addr: std::net::SocketAddr) {
        if let Ok(false) = self.has_owner().await {
            tracing::info!(
                "this Palaver has no owner yet: create the owner account at http://{addr}/setup?code={} \
                 (or with `server admin create-user --role owner`)",
                self.setup_code()
            );
        }
    }
}

/// Equality that takes the same time wherever two strings differ.
mod subtle_eq {
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// 32 random bytes, as the URL-safe base64 a cookie or a link can carry.
fn secret() -> Result<String, Refusal> {
    Ok(B64.encode(random_bytes::<32>().map_err(|_| Refusal::Unavailable)?))
}

/// What a secret is kept and looked up by: its SHA-256, in hex.
pub fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub use crate::store::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_as_their_digest() {
        let a = secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, secret().unwrap());
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert!(subtle_eq::eq(b"same", b"same"));
        assert!(!subtle_eq::eq(b"same", b"sane"));
        assert!(!subtle_eq::eq(b"same", b"same!"));
    }
}
