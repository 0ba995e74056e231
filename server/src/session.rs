//! The session cookie: the page posts its token to `/session` once a name is chosen
//! (and on each welcome after), so that the pages the server renders know the person:
//! their name, unread counts and "New" line are in the HTML. `HttpOnly` (no script
//! reads it), `SameSite=Lax`, and `Secure` when the page came over HTTPS. Signing out
//! (`POST /session/end`) clears it. Chat sockets still say who they are with the token
//! in `hello`, as plain protocol clients do.

use crate::chat::Gate;
use crate::listen::read_body;
use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use palaver_protocol::User;

pub const SESSION_COOKIE: &str = "palaver_session";
/// How long a browser keeps the session: a year, as it keeps the token.
const SESSION_SECONDS: u32 = 365 * 24 * 3600;
/// The most a `POST /session` body may hold: a token is a few hundred bytes.
const MAX_TOKEN_BYTES: usize = 2048;

/// `POST /session`, the body a token this server signed: the browser keeps it as the
/// session cookie. Where the request came from is checked before its body is read.
pub async fn start(State(gate): State<Gate>, headers: HeaderMap, body: Body) -> Response {
    if !from_our_page(&gate, &headers) {
        return not_from_our_page();
    }
    let token = match read_body(body, MAX_TOKEN_BYTES).await {
        Ok(token) => token,
        Err(refused) => return refused.into_response(),
    };
    let token = std::str::from_utf8(&token).unwrap_or_default().trim();
    if gate.cx.identity.verify(token).is_none() {
        return (StatusCode::BAD_REQUEST, "not a token this server signed: choose a name again\n").into_response();
    }
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Lax{}",
        secure(&headers)
    );
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

/// `POST /session/end` (the page's "Sign out", a plain form): the cookie is cleared
/// and the browser goes back to the lobby.
pub async fn end(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if !from_our_page(&gate, &headers) {
        return not_from_our_page();
    }
    let cookie = format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}", secure(&headers));
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/".to_owned()), (header::SET_COOKIE, cookie)]).into_response()
}

/// The person a request's session cookie names, if this server signed it.
pub fn signed_in(gate: &Gate, headers: &HeaderMap) -> Option<User> {
    let cookies = headers.get_all(header::COOKIE).into_iter().filter_map(|v| v.to_str().ok());
    let token = cookies.flat_map(|c| c.split(';')).find_map(|c| {
        let (name, value) = c.split_once('=')?;
        (name.trim() == SESSION_COOKIE).then(|| value.trim())
    })?;
    gate.cx.identity.verify(token)
}

/// Sessions change only from Palaver's own pages: a browser says where the request
/// came from (`Origin`), and it must be this site or an allowed origin.
fn from_our_page(gate: &Gate, headers: &HeaderMap) -> bool {
    headers.contains_key(header::ORIGIN) && gate.allowed_origins.check(headers).is_ok()
}

fn not_from_our_page() -> Response {
    (StatusCode::FORBIDDEN, "sessions change only from Palaver's own pages\n").into_response()
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
