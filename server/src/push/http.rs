//! The page's Web Push routes, for the person the request's session is (a member, or a
//! guest where guests may chat), and only from Palaver's own pages:
//! - `GET /push/key`: `{"key": …}`, the key to subscribe with (`applicationServerKey`);
//! - `POST /push/subscriptions`: a browser's `PushSubscription` as JSON, kept as
//!   theirs until unsubscribed, gone, or the session it was made in ends (201);
//! - `DELETE /push/subscriptions`: `{"endpoint": …}`, forgotten (204; 404 if it is not
//!   theirs);
//! - `POST /push/test`: a push to each of their browsers, "notifications are on";
//!   answers how it went: `{"sent", "gone", "failed", "held"}`.
//!
//! Refusals are a status with a line saying why.

use super::{Payload, Push, Subscription, Target};
use crate::accounts::{now_ms, Auth, Visitor};
use crate::origin::AllowedOrigins;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use bytes::Bytes;
use palaver_protocol::UserId;
use serde::Deserialize;
use std::{sync::Arc, time::Duration};

/// The most a subscription's JSON may be.
const MAX_BODY: usize = 4096;
/// How long a push service keeps a test push for a browser that is away.
const TEST_TTL: Duration = Duration::from_secs(60);

/// What the push routes need.
#[derive(Clone)]
pub struct Desk {
    pub push: Arc<Push>,
    pub auth: Arc<Auth>,
    pub origins: AllowedOrigins,
}

fn refuse(status: StatusCode, why: impl Into<String>) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], format!("{}\n", why.into())).into_response()
}

impl Desk {
    /// Who is asking, or the refusal.
    async fn person(&self, headers: &HeaderMap) -> Result<UserId, Response> {
        self.visitor(headers).await.map(|v| v.user().id.clone())
    }

    /// Who is asking (their session too), or the refusal.
    async fn visitor(&self, headers: &HeaderMap) -> Result<Visitor, Response> {
        if !self.origins.from_own_page(headers) {
            return Err(refuse(StatusCode::FORBIDDEN, "notifications are set up from Palaver's own pages"));
        }
        let visitor = match self.auth.visitor(headers).await {
            Some(Visitor::Guest(_)) if !self.auth.guests_allowed().await => None,
            visitor => visitor,
        };
        visitor.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "choose a name or sign in first"))
    }
}

fn unavailable(e: crate::store::StoreError) -> Response {
    tracing::warn!("push subscriptions cannot be read or kept: {e}");
    refuse(StatusCode::SERVICE_UNAVAILABLE, "notifications cannot be set up right now; try again")
}

pub async fn key(State(desk): State<Desk>) -> Response {
    Json(serde_json::json!({ "key": desk.push.public_key() })).into_response()
}

pub async fn subscribe(State(desk): State<Desk>, headers: HeaderMap, body: Bytes) -> Response {
    let visitor = match desk.visitor(&headers).await {
        Ok(visitor) => visitor,
        Err(refusal) => return refusal,
    };
    let session = match &visitor {
        Visitor::Member { session, .. } => Some(*session),
        Visitor::Guest(_) => None,
    };
    if body.len() > MAX_BODY {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, format!("a subscription is at most {MAX_BODY} bytes"));
    }
    let subscription: Subscription = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a push subscription: {e}")),
    };
    if let Err(why) = Target::of(&subscription) {
        return refuse(StatusCode::BAD_REQUEST, why);
    }
    match desk.push.store().add_push(&visitor.user().id, session, &subscription, now_ms()).await {
        Ok(()) => {
            desk.push.subscriptions_changed();
            StatusCode::CREATED.into_response()
        }
        Err(e) => unavailable(e),
    }
}

#[derive(Deserialize)]
struct Unsubscribe {
    endpoint: String,
}

pub async fn unsubscribe(State(desk): State<Desk>, headers: HeaderMap, body: Bytes) -> Response {
    let person = match desk.person(&headers).await {
        Ok(person) => person,
        Err(refusal) => return refusal,
    };
    let Ok(Unsubscribe { endpoint }) = serde_json::from_slice(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "say which subscription: {\"endpoint\": …}");
    };
    match desk.push.store().remove_push(&endpoint, Some(&person)).await {
        Ok(true) => StatusCode::NO_CONTENT.into_response(),
        Ok(false) => refuse(StatusCode::NOT_FOUND, "no such subscription of yours"),
        Err(e) => unavailable(e),
    }
}

pub async fn test(State(desk): State<Desk>, headers: HeaderMap) -> Response {
    let person = match desk.person(&headers).await {
        Ok(person) => person,
        Err(refusal) => return refusal,
    };
    let payload = Payload::Test { text: "Notifications from Palaver are on in this browser.".into() };
    match desk.push.deliver(&person, &payload, TEST_TTL).await {
        Ok(delivered) => Json(delivered).into_response(),
        Err(e) => unavailable(e),
    }
}
