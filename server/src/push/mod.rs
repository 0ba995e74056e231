//! Web Push: reaching a person's browser when no tab of theirs is open. A browser
//! subscribes with the workspace's public key (`vapid.rs`) and hands the server its
//! subscription: the push service's address for it and its keys. The server keeps them
//! per person (`store/push.rs`, several per person, one per browser) and sends each
//! push encrypted for that browser alone (`ece.rs`) through the push service
//! (`send.rs`). A subscription the push service says is gone is forgotten; a push
//! service that asks to be left alone (429) is, for as long as it asks (a minute if it
//! does not say, an hour at most); each person is sent at most [`PER_MINUTE`] pushes a
//! minute. Which messages are pushed to whom is
//! `messages.rs`; the page's routes are in `http.rs`.

pub mod ece;
pub mod http;
pub mod messages;
pub mod send;
pub mod vapid;

use crate::store::{Store, StoreError};
use base64::{
    engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD},
    Engine,
};
use palaver_protocol::{RoomId, Seq, UserId};
use serde::Serialize;
use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use url::Url;

pub use crate::store::push::{Keys, Subscription, PER_PERSON};
pub use send::{Outcome, Sender};
pub use vapid::Vapid;

/// Pushes one person may be sent a minute: a busy room cannot keep a phone buzzing.
pub const PER_MINUTE: u32 = 10;
/// The longest endpoint kept (push services' are a few hundred characters).
const MAX_ENDPOINT: usize = 1024;

/// A subscription whose parts were read: where to send, and what to encrypt with.
pub struct Target {
    pub url: Url,
    pub key: Vec<u8>,
    pub auth: Vec<u8>,
}

impl Target {
    /// The parts of `subscription`, or why it is not one a browser would give.
    pub fn of(subscription: &Subscription) -> Result<Target, String> {
        if subscription.endpoint.len() > MAX_ENDPOINT {
            return Err(format!("the endpoint is over {MAX_ENDPOINT} characters"));
        }
        let url = Url::parse(&subscription.endpoint).map_err(|e| format!("the endpoint is not an address: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
            return Err("the endpoint is not a web address".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("the endpoint has a user name or password".into());
        }
        // Browsers write base64url without padding; some tools add it.
        let decode = |s: &str| URL_SAFE_NO_PAD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok();
        let key = decode(&subscription.keys.p256dh)
            .filter(|k| k.len() == 65 && p256::PublicKey::from_sec1_bytes(k).is_ok())
            .ok_or("keys.p256dh is not a P-256 key")?;
        let auth = decode(&subscription.keys.auth).filter(|a| a.len() == 16).ok_or("keys.auth is not 16 bytes")?;
        Ok(Target { url, key, auth })
    }
}

/// What is pushed: a JSON object with a `type`, read by the page's service worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// Sent when a browser asks, to show notifications reach it.
    Test { text: String },
    /// A message that tells the person of itself (see `messages.rs`): its room and
    /// number, who wrote it, and its text where the workspace allows
    /// (`PALAVER_PUSH_TEXT`).
    Message {
        room: RoomId,
        seq: Seq,
        from: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

/// How a delivery to one person's browsers went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Delivered {
    pub sent: u32,
    /// Subscriptions the push service said are gone: forgotten.
    pub gone: u32,
    /// Not sent: refused, not reached, or their push service asked to wait (429).
    pub failed: u32,
    /// Not sent: the person had their pushes for this minute.
    pub held: bool,
}

/// Pushes to people's browsers.
pub struct Push {
    sender: Sender,
    store: Arc<dyn Store>,
    /// Per person: when their minute began, and the pushes sent in it.
    sent: Mutex<HashMap<UserId, (Instant, u32)>>,
    /// Everyone with a browser subscribed, as the store said when.
    subscribed: Mutex<(Option<Instant>, Arc<HashSet<UserId>>)>,
}

impl Push {
    pub fn new(sender: Sender, store: Arc<dyn Store>) -> Push {
        Push { sender, store, sent: Mutex::default(), subscribed: Mutex::default() }
    }

    /// The key browsers subscribe with.
    pub fn public_key(&self) -> &str {
        self.sender.public_key()
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Sends `payload` to every browser `person` subscribed, unless they had their
    /// pushes for this minute; forgets the subscriptions that are gone.
    pub async fn deliver(&self, person: &UserId, payload: &Payload, ttl: Duration) -> Result<Delivered, StoreError> {
        let subscriptions = self.store.pushes(person).await?;
        let mut delivered = Delivered::default();
        if subscriptions.is_empty() {
            return Ok(delivered);
        }
        if !self.may_send(person) {
            delivered.held = true;
            return Ok(delivered);
        }
        let body = serde_json::to_vec(payload).expect("a payload always serializes");
        for subscription in subscriptions {
            match self.sender.send(&subscription, &body, ttl).await {
                Outcome::Sent => delivered.sent += 1,
                Outcome::Gone => {
                    delivered.gone += 1;
                    self.store.remove_push(&subscription.endpoint, Some(person)).await?;
                }
                Outcome::Later(_) | Outcome::Failed(_) => delivered.failed += 1,
            }
        }
        Ok(delivered)
    }

    /// Everyone with a browser subscribed, read from the store again once a second at
    /// most (a subscription made on another node counts within a second).
    pub async fn subscribed(&self) -> Result<Arc<HashSet<UserId>>, StoreError> {
        let fresh = |at: Option<Instant>| at.is_some_and(|at| at.elapsed() < Duration::from_secs(1));
        {
            let known = self.subscribed.lock().expect("never poisoned");
            if fresh(known.0) {
                return Ok(known.1.clone());
            }
        }
        let people: Arc<HashSet<UserId>> = Arc::new(self.store.push_people().await?.into_iter().collect());
        *self.subscribed.lock().expect("never poisoned") = (Some(Instant::now()), people.clone());
        Ok(people)
    }

    /// Someone subscribed here: the store is asked again at the next message.
    pub fn subscriptions_changed(&self) {
        self.subscribed.lock().expect("never poisoned").0 = None;
    }

    /// Counts a push to `person` if they may have one now.
    fn may_send(&self, person: &UserId) -> bool {
        let mut sent = self.sent.lock().expect("the push counts are never poisoned");
        let now = Instant::now();
        sent.retain(|_, (began, _)| now.duration_since(*began) < Duration::from_secs(60));
        let (_, count) = sent.entry(person.clone()).or_insert((now, 0));
        *count += 1;
        *count <= PER_MINUTE
    }
}
