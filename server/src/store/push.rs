//! Web Push subscriptions in the store (`push_subscriptions`): each browser a person
//! subscribed, at most [`PER_PERSON`] a person (a new one takes the oldest one's place),
//! each gone with the session it was made in.

use super::StoreError;
use async_trait::async_trait;
use palaver_protocol::{RoomId, UserId};
use serde::{Deserialize, Serialize};

/// Browsers kept per person: a new one past it takes the oldest one's place.
pub const PER_PERSON: usize = 10;

/// A browser's subscription, as its `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub keys: Keys,
}

/// The browser's key (P-256, uncompressed) and secret, in base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    pub p256dh: String,
    pub auth: String,
}

#[async_trait]
pub trait Pushes {
    /// Keeps subscription `s` as `who`'s, made in `session` (a member's; a guest has
    /// none), at `now`. A browser subscribed before, by anyone, is theirs now, with these
    /// keys. It goes when its session ends.
    async fn add_push(&self, who: &UserId, session: Option<i64>, s: &Subscription, now: i64) -> Result<(), StoreError>;
    /// `person`'s subscriptions, oldest first.
    async fn pushes(&self, person: &UserId) -> Result<Vec<Subscription>, StoreError>;
    /// Forgets the subscription at `endpoint` (only if it is `person`'s, when given):
    /// whether there was one.
    async fn remove_push(&self, endpoint: &str, person: Option<&UserId>) -> Result<bool, StoreError>;
    /// The people with a browser subscribed whom `room` tells of every message (their
    /// level there is `all`; a direct room's people have it).
    async fn pushed_in(&self, room: &RoomId) -> Result<Vec<UserId>, StoreError>;
    /// Everyone with a browser subscribed.
    async fn push_people(&self) -> Result<Vec<UserId>, StoreError>;
}

/// A subscription from a row of `endpoint, p256dh, auth`.
pub fn from_row(endpoint: String, p256dh: String, auth: String) -> Subscription {
    Subscription { endpoint, keys: Keys { p256dh, auth } }
}

/// The SQL both backends run.
pub mod sql {
    pub const ADD: &str = "INSERT INTO push_subscriptions (endpoint, person, p256dh, auth, session, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (endpoint) DO UPDATE SET person = excluded.person, \
         p256dh = excluded.p256dh, auth = excluded.auth, session = excluded.session, created_at = excluded.created_at";
    /// Past the most a person may have, their oldest go.
    pub const TRIM: &str = "DELETE FROM push_subscriptions WHERE person = $1 AND endpoint NOT IN \
         (SELECT endpoint FROM push_subscriptions WHERE person = $1 ORDER BY created_at DESC, endpoint LIMIT $2)";
    pub const LIST: &str =
        "SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE person = $1 ORDER BY created_at, endpoint";
    pub const REMOVE: &str = "DELETE FROM push_subscriptions WHERE endpoint = $1";
    pub const REMOVE_THEIRS: &str = "DELETE FROM push_subscriptions WHERE endpoint = $1 AND person = $2";
    pub const PEOPLE: &str = "SELECT DISTINCT person FROM push_subscriptions";
    pub const ALL_IN: &str = "SELECT DISTINCT p.person FROM push_subscriptions p JOIN levels l \
         ON l.user_id = p.person WHERE l.room = $1 AND l.level = 'all' ORDER BY p.person";
}

/// [`PER_PERSON`], as the SQL takes it.
pub const LIMIT: i64 = PER_PERSON as i64;
