//! Who a request may come from. Cross-site WebSocket hijacking: a browser on another
//! site must not open a chat socket with this site's cookies and storage behind it, so
//! upgrades whose `Origin` is neither this server's own host nor one of the allowed
//! origins are refused with 403 (clients that send no `Origin`, not browsers, are let
//! through). DNS rebinding: a page on the attacker's name, pointed at this server's
//! address, is same-origin with itself, so every request's `Host` must be one of the
//! site's own names (421 otherwise).

use axum::{
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use std::net::{Ipv4Addr, Ipv6Addr};

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

    /// Whether a request came from a page of this site: it says its `Origin` (browsers
    /// do on every post), and that origin is this site's or an allowed one.
    pub fn from_own_page(&self, headers: &HeaderMap) -> bool {
        headers.contains_key(header::ORIGIN) && self.check(headers).is_ok()
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

/// The names this site answers to (`PALAVER_ALLOWED_HOSTS`), besides those it always
/// answers to: `localhost` and IP addresses, on any port. An address cannot be rebound
/// (a rebinding page is on a name its author controls, and its requests carry that
/// name), so only names need listing: those the site is reached by.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    /// `*`: any name (for a proxy that checks names itself).
    any: bool,
    /// Lowercase names, each with the one port it is allowed on, or any port.
    names: Vec<(String, Option<u16>)>,
}

impl AllowedHosts {
    /// From a comma-separated list of names, each with an optional port
    /// (`chat.example.com, chat.example.net:8443`), or `*`.
    pub fn parse(list: &str) -> Result<AllowedHosts, String> {
        let mut hosts = AllowedHosts::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                hosts.any = true;
                continue;
            }
            let (name, port) = split_host(entry).ok_or_else(|| format!("{entry:?} is not a host name"))?;
            let valid = name.starts_with('[')
                || (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
            if !valid {
                return Err(format!("{entry:?} is not a host name"));
            }
            hosts.names.push((name, port));
        }
        Ok(hosts)
    }

    /// Whether a `Host` value (`name`, `name:port`, `[v6]:port`) is one of this site's.
    pub fn allows(&self, host: &str) -> bool {
        let Some((name, port)) = split_host(host) else { return false };
        let address = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
            None => name.parse::<Ipv4Addr>().is_ok(),
        };
        self.any
            || address
            || name == "localhost"
            || self.names.iter().any(|(allowed, only)| *allowed == name && only.is_none_or(|p| Some(p) == port))
    }

    /// `Ok` if the request names one of this site's hosts (or none: not a browser, and
    /// no rebinding without a name).
    pub fn check(&self, headers: &HeaderMap) -> Result<(), MisdirectedHost> {
        match headers.get(header::HOST).map(HeaderValue::to_str) {
            None => Ok(()),
            Some(Ok(host)) if self.allows(host) => Ok(()),
            Some(host) => {
                tracing::debug!(?host, "refused a request for a host name this site does not answer to");
                Err(MisdirectedHost)
            }
        }
    }
}

/// A host value split into its lowercase name (IPv6 addresses keep their brackets,
/// a trailing dot is dropped) and port; `None` if it is not one.
fn split_host(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim().to_ascii_lowercase();
    let (name, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (v6, after) = rest.split_once(']')?;
            (format!("[{v6}]"), if after.is_empty() { None } else { Some(after.strip_prefix(':')?) })
        }
        None => match value.rsplit_once(':') {
            Some((name, port)) => (name.to_owned(), Some(port)),
            None => (value.clone(), None),
        },
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let name = name.strip_suffix('.').unwrap_or(&name).to_owned();
    (!name.is_empty()).then_some((name, port))
}

/// A request for a name this site does not answer to: answered with 421 and a message.
#[derive(Debug)]
pub struct MisdirectedHost;

impl IntoResponse for MisdirectedHost {
    fn into_response(self) -> Response {
        let why = "this server does not answer to that host name; its operator can add it to PALAVER_ALLOWED_HOSTS\n";
        (StatusCode::MISDIRECTED_REQUEST, why).into_response()
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

    #[test]
    fn addresses_and_localhost_are_always_this_site_and_names_only_when_listed() {
        let none = AllowedHosts::parse("").unwrap();
        for ours in
            ["127.0.0.1:3000", "127.0.0.1", "[::1]:3000", "[::1]", "localhost:3217", "LOCALHOST", "10.0.0.11:3000"]
        {
            assert!(none.allows(ours), "{ours}");
        }
        for theirs in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "127.0.0.1.evil.example:80",
            "",
            ":80",
            "[::1",
        ] {
            assert!(!none.allows(theirs), "{theirs:?}");
        }
        let listed = AllowedHosts::parse(" Chat.Example.com , chat.example.net:8443").unwrap();
        assert!(listed.allows("chat.example.com") && listed.allows("chat.example.com:8443"), "any port");
        assert!(listed.allows("chat.example.com.:443"), "the name's absolute form");
        assert!(listed.allows("chat.example.net:8443") && !listed.allows("chat.example.net:9000"), "that port only");
        assert!(!listed.allows("example.com") && listed.allows("127.0.0.1:3000"));
        assert!(AllowedHosts::parse("*").unwrap().allows("anything.example:1"));
        for bad in ["chat example", "chat.example.com:http", "https://chat.example.com", "a:99999"] {
            assert!(AllowedHosts::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn requests_for_other_names_are_misdirected() {
        let hosts = AllowedHosts::parse("chat.example.com").unwrap();
        assert!(hosts.check(&headers(None, "chat.example.com:8443")).is_ok());
        assert!(hosts.check(&HeaderMap::new()).is_ok(), "no Host: not a browser, nothing to rebind");
        let refused = hosts.check(&headers(None, "rebound.evil.example:3000")).unwrap_err();
        assert_eq!(refused.into_response().status(), StatusCode::MISDIRECTED_REQUEST);
    }
}
