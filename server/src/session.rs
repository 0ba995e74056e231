//! The session cookie: the page posts its token to `/session` once a name is chosen
//! (and on each welcome after), so that the pages the server renders know the person:
//! their name, unread counts and "New" line are in the HTML. `HttpOnly` (no script
//! reads it), `SameSite=Lax`, and `Secure` when the page came over HTTPS. Signing out
//! (`POST /sign-out`) clears it. Chat sockets still say who they are with the token
//! in `hello`, as plain protocol clients do.
//!
//! The same cookie holds a signed-in account's session instead (set by the accounts'
//! forms, `accounts/forms.rs`): a random secret whose hash the store keeps. The page's
//! socket is opened with it (the upgrade reads it), and says `hello` with nothing else.

use crate::accounts::{Visitor, SESSION_COOKIE};
use crate::chat::Gate;
use crate::listen::read_body;
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

/// How long a browser keeps the session: a year, as it keeps the token.
const SESSION_SECONDS: u32 = 365 * 24 * 3600;
/// The most a `POST /session` body may hold: a token is a few hundred bytes.
const MAX_TOKEN_BYTES: usize = 2048;

/// `POST /session`, the body a token this server signed: the browser keeps it as the
/// session cookie. Where the request came from is checked before its body is read.
pub async fn start(State(gate): State<Gate>, headers: HeaderMap, body: Body) -> Response {
    if let Err(refused) = from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let token = match read_body(body, MAX_TOKEN_BYTES).await {
        Ok(token) => token,
        Err(refused) => return refused.into_response(),
    };
    let token = std::str::from_utf8(&token).unwrap_or_default().trim();
    if let Some(Visitor::Member { .. }) = gate.cx.auth.visitor(&headers).await {
        // A tab rendered before this browser signed in: the account stays signed in.
        return (StatusCode::CONFLICT, "this browser is signed in to an account\n").into_response();
    }
    if gate.cx.identity.verify(token).is_none() {
        return (StatusCode::BAD_REQUEST, "not a token this server signed: choose a name again\n").into_response();
    }
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, set_cookie(token, &headers))]).into_response()
}

/// The `Set-Cookie` value that makes `value` the browser's session.
pub fn set_cookie(value: &str, headers: &HeaderMap) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Lax{}", secure(headers))
}

/// A redirect to `to` that sets the session cookie to `value`.
pub fn go_with_cookie(to: &str, value: &str, headers: &HeaderMap) -> Response {
    let cookie = set_cookie(value, headers);
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned()), (header::SET_COOKIE, cookie)]).into_response()
}

/// A redirect to `to` that clears the session cookie.
pub fn go_without_cookie(to: &str, headers: &HeaderMap) -> Response {
    let cookie = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", secure(headers));
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned()), (header::SET_COOKIE, cookie)]).into_response()
}

/// Sessions change only from Palaver's own pages: a browser says where the request
/// came from (`Origin`), and it must be this site or an allowed origin.
pub fn from_our_page(gate: &Gate, headers: &HeaderMap) -> Result<(), NotOurPage> {
    if gate.allowed_origins.from_own_page(headers) {
        Ok(())
    } else {
        Err(NotOurPage)
    }
}

/// A request that did not come from the site's own pages: answered 403.
pub struct NotOurPage;

impl IntoResponse for NotOurPage {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "sessions change only from Palaver's own pages\n").into_response()
    }
}

/// `; Secure` when the page was loaded over HTTPS (its `Origin` says so).
fn secure(headers: &HeaderMap) -> &'static str {
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default();
    if origin.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_only_for_pages_over_https() {
        let with = |origin: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, origin.parse().unwrap());
            secure(&h)
        };
        assert_eq!(with("https://chat.example.com"), "; Secure");
        assert_eq!(with("http://127.0.0.1:3000"), "");
        assert_eq!(secure(&HeaderMap::new()), "");
    }
}
