//! Passkeys (WebAuthn, with `webauthn-rs`): an account adds one or more from settings,
//! and signs in with one, no handle or password typed (a discoverable credential: the
//! authenticator says whose it is). Each ceremony is two requests; between them its
//! state is kept in the store under the hash of an id the browser holds, for five
//! minutes and one use, so the second request may reach any node. The relying party
//! is the page's own origin (its `Origin`, checked against the site's before this is
//! reached): its host is the relying party's id, so a passkey made on
//! `chat.example.com` works there and nowhere else.

use super::{digest, now_ms, secret, Auth, Refusal};
use crate::store::accounts::Account;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use palaver_protocol::UserId;
use sha2::{Digest, Sha256};
use std::time::Instant;
use webauthn_rs::prelude::*;

/// How long a ceremony's state is kept, in milliseconds.
const CEREMONY_MS: i64 = 5 * 60 * 1000;

/// Why a passkey ceremony failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasskeyError {
    /// The ceremony is unknown, used or expired: start again.
    Expired,
    /// The browser's answer did not verify (or names no passkey kept here).
    NotVerified,
    /// Not from a page this relying party can be (no usable origin).
    BadOrigin,
    /// As a sign-in would be refused (too many tries, the store away).
    Refused(Refusal),
}

impl From<Refusal> for PasskeyError {
    fn from(r: Refusal) -> PasskeyError {
        PasskeyError::Refused(r)
    }
}

impl From<crate::store::StoreError> for PasskeyError {
    fn from(e: crate::store::StoreError) -> PasskeyError {
        PasskeyError::Refused(Refusal::from(e))
    }
}

/// A ceremony begun: the id the browser sends back, and the options for its
/// `navigator.credentials` call (as webauthn-rs writes them).
pub struct Begun {
    pub id: String,
    pub options: serde_json::Value,
}

/// The relying party for a page at `origin`.
fn party(origin: &str) -> Result<Webauthn, PasskeyError> {
    let url = Url::parse(origin).map_err(|_| PasskeyError::BadOrigin)?;
    let host = url.host_str().ok_or(PasskeyError::BadOrigin)?.to_owned();
    WebauthnBuilder::new(&host, &url).and_then(|b| b.rp_name("Palaver").build()).map_err(|_| PasskeyError::BadOrigin)
}

/// The user handle an account's passkeys carry: derived from its id (16 bytes of its
/// SHA-256), so it names the account without being its id.
fn handle_of(user: &UserId) -> Uuid {
    let hash = Sha256::digest(user.as_str().as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    Uuid::from_bytes(bytes)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(value).map_err(|_| PasskeyError::Refused(Refusal::Unavailable))
}

impl Auth {
    async fn keep(&self, user: Option<&UserId>, state: String) -> Result<String, PasskeyError> {
        let id = secret()?;
        let now = now_ms();
        self.store.put_ceremony(&digest(&id), user, &state, now, now + CEREMONY_MS).await?;
        Ok(id)
    }

    async fn take(&self, id: &str) -> Result<(Option<UserId>, String), PasskeyError> {
        self.store.take_ceremony(&digest(id), now_ms()).await?.ok_or(PasskeyError::Expired)
    }

    /// Begins adding a passkey to `account` (its passkeys already kept are excluded).
    pub async fn begin_passkey(&self, origin: &str, account: &Account) -> Result<Begun, PasskeyError> {
        let party = party(origin)?;
        let kept = self.store.passkeys_kept(&account.user.id).await?;
        let exclude: Vec<CredentialID> =
            kept.iter().filter_map(|p| serde_json::from_str::<Passkey>(p).ok()).map(|p| p.cred_id().clone()).collect();
        let (options, state) = party
            .start_passkey_registration(handle_of(&account.user.id), &account.handle, &account.user.name, Some(exclude))
            .map_err(|_| PasskeyError::NotVerified)?;
        let id = self.keep(Some(&account.user.id), json(&state)?).await?;
        Ok(Begun { id, options: serde_json::to_value(options).map_err(|_| PasskeyError::NotVerified)? })
    }

    /// Finishes adding a passkey: the browser's answer verified, the passkey kept.
    pub async fn add_passkey(
        &self,
        origin: &str,
        account: &Account,
        id: &str,
        label: &str,
        answer: &RegisterPublicKeyCredential,
    ) -> Result<(), PasskeyError> {
        let party = party(origin)?;
        let (whose, state) = self.take(id).await?;
        if whose.as_ref() != Some(&account.user.id) {
            return Err(PasskeyError::Expired);
        }
        let state: PasskeyRegistration = serde_json::from_str(&state).map_err(|_| PasskeyError::Expired)?;
        let passkey = party.finish_passkey_registration(answer, &state).map_err(|_| PasskeyError::NotVerified)?;
        let label: String = label.trim().chars().take(64).collect();
        let label = if label.is_empty() { "passkey".to_owned() } else { label };
        let credential = B64.encode(passkey.cred_id().as_ref());
        self.store.add_passkey(&account.user.id, &credential, &label, &json(&passkey)?, now_ms()).await?;
        tracing::info!(handle = %account.handle, "passkey added");
        Ok(())
    }

    /// Begins a sign-in with whatever passkey the browser has for this site.
    pub async fn begin_passkey_sign_in(&self, origin: &str) -> Result<Begun, PasskeyError> {
        let party = party(origin)?;
        let (options, state) = party.start_discoverable_authentication().map_err(|_| PasskeyError::NotVerified)?;
        let id = self.keep(None, json(&state)?).await?;
        Ok(Begun { id, options: serde_json::to_value(options).map_err(|_| PasskeyError::NotVerified)? })
    }

    /// Finishes a passkey sign-in, within the sign-in limits of the address: the
    /// account whose passkey signed the challenge.
    pub async fn passkey_sign_in(
        &self,
        origin: &str,
        id: &str,
        answer: &PublicKeyCredential,
        address: std::net::IpAddr,
    ) -> Result<Account, PasskeyError> {
        self.attempts.take(&[&format!("ip {address}")], Instant::now()).map_err(Refusal::TooMany)?;
        let party = party(origin)?;
        let (_, state) = self.take(id).await?;
        let state: DiscoverableAuthentication = serde_json::from_str(&state).map_err(|_| PasskeyError::Expired)?;
        let (handle, credential) =
            party.identify_discoverable_authentication(answer).map_err(|_| PasskeyError::NotVerified)?;
        let credential = B64.encode(credential);
        let (user, kept) = self.store.passkey(&credential).await?.ok_or(PasskeyError::NotVerified)?;
        if handle_of(&user) != handle {
            return Err(PasskeyError::NotVerified);
        }
        let mut passkey: Passkey = serde_json::from_str(&kept).map_err(|_| PasskeyError::NotVerified)?;
        let result = party
            .finish_discoverable_authentication(answer, state, &[DiscoverableKey::from(&passkey)])
            .map_err(|_| PasskeyError::NotVerified)?;
        passkey.update_credential(&result);
        self.store.used_passkey(&credential, &json(&passkey)?, now_ms()).await?;
        match self.store.account(&user).await?.ok_or(PasskeyError::NotVerified)? {
            account if account.suspended => Err(PasskeyError::Refused(super::Refusal::Suspended)),
            account => Ok(account),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_pages_origin_and_each_account_has_its_own_handle() {
        assert!(party("http://localhost:3000").is_ok());
        assert!(party("https://chat.example.com").is_ok());
        assert_eq!(party("not an origin").err(), Some(PasskeyError::BadOrigin));
        let (a, b) = (handle_of(&UserId("u1".into())), handle_of(&UserId("u2".into())));
        assert_ne!(a, b);
        assert_eq!(a, handle_of(&UserId("u1".into())), "the same account, the same handle");
    }
}
