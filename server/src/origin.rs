//! Cross-site WebSocket hijacking protection: a browser on another site must not open
//! a chat socket with this site's cookies and storage behind it. Upgrades whose
//! `Origin` is neither this server's own host nor one of the allowed origins are
//! refused with 403. Clients that send no `Origin` (not browsers) are let through.

use axum::{
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};

/// Origins allowed besides the server's own host, e.g. `https://chat.example.com`.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    /// From a comma-separated list (`PALAVER_ALLOWED_ORIGINS`).
    pub fn parse(list: &str) -> AllowedOrigins {
        AllowedOrigins(
            list.split(',')
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        )
    }

    /// `Ok` if this upgrade may proceed.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), CrossOrigin> {
        let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
        let origin = origin.to_str().unwrap_or_default().trim_end_matches('/').to_ascii_lowercase();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        let same_host = origin.split_once("://").is_some_and(|(_, rest)| !host.is_empty() && rest == host);
        if same_host || self.0.contains(&origin) {
            return Ok(());
        }
        tracing::warn!(%origin, %host, "refused a WebSocket upgrade from another origin");
        Err(CrossOrigin)
    }
}

/// A refused cross-origin upgrade: answered with 403 and a message.
#[derive(Debug)]
pub struct CrossOrigin;

impl IntoResponse for CrossOrigin {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "cross-origin WebSocket connections are not allowed here").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_host_and_originless_clients_are_allowed() {
        let allowed = AllowedOrigins::default();
        assert!(allowed.check(&headers(Some("http://127.0.0.1:3000"), "127.0.0.1:3000")).is_ok());
        assert!(allowed.check(&headers(Some("https://Chat.Example.com"), "chat.example.com")).is_ok());
        assert!(allowed.check(&headers(None, "127.0.0.1:3000")).is_ok());
    }

    #[test]
    fn other_origins_are_refused_unless_allowed() {
        let none = AllowedOrigins::default();
        for evil in ["http://evil.example", "http://127.0.0.1:3001", "null", "http://127.0.0.1:3000.evil.example"] {
            let refused = none.check(&headers(Some(evil), "127.0.0.1:3000")).unwrap_err();
            assert_eq!(refused.into_response().status(), StatusCode::FORBIDDEN, "{evil}");
        }
        let some = AllowedOrigins::parse(" https://app.example.com/ , http://localhost:8080");
        assert!(some.check(&headers(Some("https://app.example.com"), "api.example.com")).is_ok());
        assert!(some.check(&headers(Some("http://localhost:8080"), "127.0.0.1:3000")).is_ok());
        assert!(some.check(&headers(Some("https://other.example.com"), "api.example.com")).is_err());
    }
}
