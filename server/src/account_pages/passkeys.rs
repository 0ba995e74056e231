//! The passkey ceremonies' JSON endpoints, called by `public/passkeys.js` from the
//! settings page (adding one) and the sign-in page (signing in with one). Each is a
//! `begin` that answers the options for the browser's `navigator.credentials` call
//! and an id, and a `finish` that takes the browser's answer with that id. Only from
//! the site's own pages (`Origin`), whose origin is the relying party.

use super::forms::lang;
use crate::accounts::passkeys::{Begun, PasskeyError};
use crate::accounts::Visitor;
use crate::chat::Gate;
use crate::session;
use app::locale::Lang;
use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential};

#[derive(Deserialize)]
pub struct Added {
    id: String,
    #[serde(default)]
    label: String,
    credential: RegisterPublicKeyCredential,
}

#[derive(Deserialize)]
pub struct Answered {
    id: String,
    credential: PublicKeyCredential,
}

fn said(lang: Lang, error: &PasskeyError) -> String {
    let (en, ko) = match error {
        PasskeyError::Expired => ("That took too long. Try again.", "시간이 너무 오래 걸렸습니다. 다시 시도하세요."),
        PasskeyError::NotVerified => (
            "That passkey could not be used here. Sign in with your password, or try another passkey.",
            "그 패스키는 여기서 쓸 수 없습니다. 비밀번호로 로그인하거나 다른 패스키를 써 보세요.",
        ),
        PasskeyError::BadOrigin => {
            ("Passkeys work only from this site's own pages.", "패스키는 이 사이트의 페이지에서만 쓸 수 있습니다.")
        }
        PasskeyError::Refused(refusal) => return super::refusal(lang, refusal),
    };
    match lang {
        Lang::En => en.to_owned(),
        Lang::Ko => ko.to_owned(),
    }
}

fn failed(headers: &HeaderMap, error: PasskeyError) -> Response {
    let status = match &error {
        PasskeyError::Expired | PasskeyError::BadOrigin => StatusCode::BAD_REQUEST,
        PasskeyError::NotVerified => StatusCode::UNAUTHORIZED,
        PasskeyError::Refused(crate::accounts::Refusal::TooMany(_)) => StatusCode::TOO_MANY_REQUESTS,
        PasskeyError::Refused(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    (status, Json(json!({ "error": said(lang(headers), &error) }))).into_response()
}

fn begun(begun: Result<Begun, PasskeyError>, headers: &HeaderMap) -> Response {
    match begun {
        Ok(Begun { id, options }) => Json(json!({ "id": id, "options": options })).into_response(),
        Err(e) => failed(headers, e),
    }
}

/// The page's origin, once checked as the site's own.
fn origin(gate: &Gate, headers: &HeaderMap) -> Result<String, session::NotOurPage> {
    session::from_our_page(gate, headers)?;
    Ok(headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default().to_owned())
}

/// The page's origin and its signed-in member's account, or the answer to give.
async fn member(gate: &Gate, headers: &HeaderMap) -> Result<(String, crate::store::accounts::Account), Response> {
    let origin = origin(gate, headers).map_err(IntoResponse::into_response)?;
    match gate.cx.auth.visitor(headers).await {
        Some(Visitor::Member { account, .. }) => Ok((origin, account)),
        _ => Err((StatusCode::UNAUTHORIZED, Json(json!({ "error": "sign in first" }))).into_response()),
    }
}

/// `POST /passkeys/add/begin`.
pub async fn add_begin(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    let (origin, account) = match member(&gate, &headers).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    begun(gate.cx.auth.begin_passkey(&origin, &account).await, &headers)
}

/// `POST /passkeys/add/finish`: `{id, label, credential}`.
pub async fn add_finish(State(gate): State<Gate>, headers: HeaderMap, Json(added): Json<Added>) -> Response {
    let (origin, account) = match member(&gate, &headers).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    match gate.cx.auth.add_passkey(&origin, &account, &added.id, &added.label, &added.credential).await {
        Ok(()) => Json(json!({ "added": true })).into_response(),
        Err(e) => failed(&headers, e),
    }
}

/// `POST /passkeys/sign-in/begin`.
pub async fn sign_in_begin(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    match origin(&gate, &headers) {
        Ok(origin) => begun(gate.cx.auth.begin_passkey_sign_in(&origin).await, &headers),
        Err(refused) => refused.into_response(),
    }
}

/// `POST /passkeys/sign-in/finish`: `{id, credential}`; signed in, the session cookie
/// is set and the answer says where to go.
pub async fn sign_in_finish(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(answered): Json<Answered>,
) -> Response {
    let origin = match origin(&gate, &headers) {
        Ok(origin) => origin,
        Err(refused) => return refused.into_response(),
    };
    let (auth, ip) = (&gate.cx.auth, gate.admission.client_ip(peer, &headers));
    let account = match auth.passkey_sign_in(&origin, &answered.id, &answered.credential, ip).await {
        Ok(account) => account,
        Err(e) => {
            tracing::info!(%ip, "passkey sign-in refused");
            return failed(&headers, e);
        }
    };
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    match auth.start_session(&account, ip, agent).await {
        Ok(secret) => {
            tracing::info!(handle = %account.handle, %ip, "signed in with a passkey");
            let cookie = session::set_cookie(&secret, &headers);
            ([(header::SET_COOKIE, cookie)], Json(json!({ "to": "/" }))).into_response()
        }
        Err(refusal) => failed(&headers, PasskeyError::Refused(refusal)),
    }
}
