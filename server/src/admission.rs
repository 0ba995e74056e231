//! Who may open a chat socket: at most so many open sockets per client address, and at
//! most so many new ones a second (a token bucket per address); and, before any request
//! is read, at most so many open HTTP connections per TCP peer. A client's address is
//! the TCP peer's, or, when that peer is a trusted proxy, the nearest untrusted address
//! in its `X-Forwarded-For` header. Nothing else ever reads that header: a client that
//! is not behind a trusted proxy cannot choose its own address.
//!
//! Not `governor`'s keyed limiter: each address needs its count of open sockets as well
//! as its rate, and one table holds both under one lock, so an admission is one lookup
//! and forgetting quiet addresses is one sweep (two keyed maps would need both twice).

use crate::limits::{Bucket, Rate};
use axum::{
    http::{header::RETRY_AFTER, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::{Arc, Mutex},
    time::Duration,
};

/// Per-address limits on chat sockets.
#[derive(Debug, Clone)]
pub struct IpLimits {
    /// Open chat sockets one address may hold (`PALAVER_MAX_CONNECTIONS_PER_IP`).
    pub max_open: u32,
    /// New chat sockets one address may open each second, and in a burst
    /// (`PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC`, `PALAVER_NEW_CONNECTIONS_PER_IP_BURST`).
    pub new_per_sec: Rate,
    /// Proxies whose `X-Forwarded-For` is believed (`PALAVER_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Pages (`/`, `/r/NAME`, `/search`, `/rooms`) one address may load each second, and in a
    /// burst (`PALAVER_PAGES_PER_IP_PER_SEC`, `PALAVER_PAGES_PER_IP_BURST`): each one
    /// reads the store.
    pub pages_per_sec: Rate,
}

impl Default for IpLimits {
    fn default() -> Self {
        IpLimits {
            max_open: 64,
            new_per_sec: Rate { per_sec: 10, burst: 30 },
            trusted_proxies: Vec::new(),
            pages_per_sec: Rate { per_sec: 10, burst: 30 },
        }
    }
}

/// Addresses not seen for this long, with nothing open, are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// The table is swept for forgotten addresses when it grows past this.
const SWEEP_AT: usize = 4096;

struct Entry {
    open: u32,
    new: Bucket,
    pages: Bucket,
    seen: tokio::time::Instant,
}

/// The count of open sockets and the new-socket bucket of every client address.
#[derive(Clone)]
pub struct Admission {
    limits: Arc<IpLimits>,
    table: Arc<Mutex<Table>>,
}

struct Table {
    entries: HashMap<IpAddr, Entry>,
    /// Forgotten addresses are swept out when the table reaches this size.
    sweep_at: usize,
}

/// What an address is counted as: itself for IPv4, its /64 network for IPv6 (one
/// subscriber usually has a whole /64 to pick addresses from).
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

impl Admission {
    pub fn new(limits: IpLimits) -> Admission {
        Admission {
            limits: Arc::new(limits),
            table: Arc::new(Mutex::new(Table { entries: HashMap::new(), sweep_at: SWEEP_AT })),
        }
    }

    /// The address a request comes from, as far as this server can tell.
    pub fn client_ip(&self, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.ip().to_canonical();
        if !self.limits.trusted_proxies.contains(&peer) {
            return peer;
        }
        // Each proxy appends the address it heard from: read from the right, past our own
        // proxies. An entry that is not an address ends the walk: what is left of it was
        // written by the client, and the nearest trusted hop is charged instead.
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for entry in entries.into_iter().rev() {
            let Ok(ip) = entry.parse::<IpAddr>().map(|ip| ip.to_canonical()) else { break };
            client = ip;
            if !self.limits.trusted_proxies.contains(&ip) {
                break;
            }
        }
        client
    }

    /// Lets one more socket in from `ip`, or says why not. The pass is held for as long
    /// as the socket is open.
    pub fn admit(&self, ip: IpAddr) -> Result<Pass, Refused> {
        let ip = counted_as(ip);
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let entry = table.entry(ip, &self.limits);
        if entry.open >= self.limits.max_open {
            tracing::warn!(%ip, open = entry.open, "refused a chat socket: too many open from one address");
            return Err(Refused::TooManyOpen(self.limits.max_open));
        }
        if let Err(wait) = entry.new.take() {
            tracing::warn!(%ip, "refused a chat socket: too many new ones from one address");
            return Err(Refused::TooFast(wait));
        }
        entry.open += 1;
        Ok(Pass { ip, table: self.table.clone() })
    }

    /// Lets one more page load in from the client address of a request from `peer` with
    /// `headers`, or says how long to wait.
    pub fn admit_page(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Refused> {
        let ip = counted_as(self.client_ip(peer, headers));
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.entry(ip, &self.limits).pages.take().map_err(|wait| {
            tracing::debug!(%ip, "refused a page: too many from one address");
            Refused::TooManyPages(wait)
        })
    }
}

impl Table {
    /// The entry of `ip`, seen now; quiet addresses are forgotten now and then.
    fn entry(&mut self, ip: IpAddr, limits: &IpLimits) -> &mut Entry {
        let now = tokio::time::Instant::now();
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, e| e.open > 0 || now.duration_since(e.seen) < FORGET_AFTER);
            // Sweep again only once the table has doubled: a sweep per admit would make a
            // reconnect storm from many addresses quadratic.
            self.sweep_at = (self.entries.len() * 2).max(SWEEP_AT);
        }
        let entry = self.entries.entry(ip).or_insert_with(|| Entry {
            open: 0,
            new: Bucket::new(limits.new_per_sec),
            pages: Bucket::new(limits.pages_per_sec),
            seen: now,
        });
        entry.seen = now;
        entry
    }
}

/// One admitted socket; dropping it frees its place.
pub struct Pass {
    ip: IpAddr,
    table: Arc<Mutex<Table>>,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = table.entries.get_mut(&self.ip) {
            entry.open = entry.open.saturating_sub(1);
            entry.seen = tokio::time::Instant::now();
        }
    }
}

/// Why an address may not open another socket, or load another page: answered with
/// 429 and a message.
#[derive(Debug)]
pub enum Refused {
    TooManyOpen(u32),
    TooFast(Duration),
    TooManyPages(Duration),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::TooManyOpen(max) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many open chat connections from your address (at most {max}); close one first\n"),
            )
                .into_response(),
            Refused::TooFast(wait) => retry_after(wait, "too many new chat connections"),
            Refused::TooManyPages(wait) => retry_after(wait, "too many pages loaded from your address"),
        }
    }
}

/// 429 with `Retry-After` (whole seconds, at least one) and a message that says it.
fn retry_after(wait: Duration, what: &str) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut response = (StatusCode::TOO_MANY_REQUESTS, format!("{what}; retry in {secs} s\n")).into_response();
    response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    response
}

/// Open HTTP connections per TCP peer (an IPv6 /64 counts as one), counted by the
/// accept loop before any request is read, so one address cannot hold every task and
/// file descriptor with connections that never finish (`PALAVER_MAX_HTTP_CONNECTIONS_PER_IP`).
/// A connection counts until it closes or becomes a chat socket (the socket limits above
/// count it from then on). Trusted proxies are not counted: every client behind one
/// shares its address, so the proxy limits connections per client itself (docs/DEPLOY.md).
#[derive(Clone)]
pub struct HttpConnections {
    max: u32,
    trusted_proxies: Arc<[IpAddr]>,
    /// Per counted address: its open connections, and whether a refusal was logged since
    /// it was last under the limit (one log line per flood, not per connection).
    open: OpenCounts,
}

impl HttpConnections {
    pub fn new(max: u32, trusted_proxies: &[IpAddr]) -> HttpConnections {
        HttpConnections { max, trusted_proxies: trusted_proxies.into(), open: Arc::default() }
    }

    /// Counts one more connection from `peer`, or refuses it past the limit. The
    /// connection's place is held until the returned value is dropped.
    pub fn open(&self, peer: IpAddr) -> Result<OpenConnection, TooManyConnections> {
        let peer = peer.to_canonical();
        if self.trusted_proxies.contains(&peer) {
            return Ok(OpenConnection { counted: None });
        }
        let ip = counted_as(peer);
        let mut table = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (open, logged) = table.entry(ip).or_insert((0, false));
        if *open >= self.max {
            if !std::mem::replace(logged, true) {
                tracing::warn!(%ip, open = *open, "refusing HTTP connections: too many open from one address");
            }
            return Err(TooManyConnections(self.max));
        }
        *open += 1;
        Ok(OpenConnection { counted: Some((ip, self.open.clone())) })
    }
}

/// Per counted address: its open connections, and whether a refusal was logged since it
/// was last under the limit.
type OpenCounts = Arc<Mutex<HashMap<IpAddr, (u32, bool)>>>;

/// One counted HTTP connection; dropping it frees its place.
#[derive(Debug)]
pub struct OpenConnection {
    counted: Option<(IpAddr, OpenCounts)>,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        let Some((ip, table)) = &self.counted else { return };
        let mut table = table.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((open, _)) = table.get_mut(ip) {
            *open = open.saturating_sub(1);
            // An address with nothing open is forgotten, its refusal log with it.
            if *open == 0 {
                table.remove(ip);
            }
        }
    }
}

/// A connection refused because its address holds too many: answered with 429 and a
/// message, written by the accept loop straight to the socket.
#[derive(Debug)]
pub struct TooManyConnections(pub u32);

impl TooManyConnections {
    /// The whole HTTP/1.1 response, closing the connection.
    pub fn response(&self) -> String {
        let why = format!("too many open connections from your address (at most {}); close one first\n", self.0);
        format!(
            "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
             retry-after: 1\r\nconnection: close\r\n\r\n{why}",
            why.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(trusted: &[&str]) -> Admission {
        Admission::new(IpLimits {
            max_open: 2,
            new_per_sec: Rate { per_sec: 1, burst: 3 },
            trusted_proxies: trusted.iter().map(|a| a.parse().unwrap()).collect(),
            pages_per_sec: Rate { per_sec: 1, burst: 2 },
        })
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let spoofed = forwarded("203.0.113.9");
        assert_eq!(admission(&[]).client_ip(peer, &spoofed), peer.ip(), "not trusted: the header is ignored");
        let proxied = forwarded("198.51.100.7, 203.0.113.9");
        assert_eq!(
            admission(&["10.0.0.1"]).client_ip(peer, &proxied),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "the address the trusted proxy heard from, not what the client wrote before it"
        );
        let chained = forwarded("203.0.113.9, 10.0.0.2");
        assert_eq!(
            admission(&["10.0.0.1", "10.0.0.2"]).client_ip(peer, &chained),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(admission(&["10.0.0.1"]).client_ip(peer, &forwarded("not an address")), peer.ip());
        assert_eq!(
            admission(&["10.0.0.1"]).client_ip(peer, &forwarded("garbage, 203.0.113.9")),
            "203.0.113.9".parse::<IpAddr>().unwrap(),
            "what the client wrote in front cannot hide the address the proxy heard from"
        );
        assert_eq!(admission(&["10.0.0.1"]).client_ip(peer, &HeaderMap::new()), peer.ip());
    }

    #[tokio::test(start_paused = true)]
    async fn limits_open_sockets_and_new_ones_per_address() {
        let admission = admission(&[]);
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let first = admission.admit(a).unwrap();
        let _second = admission.admit(a).unwrap();
        assert!(matches!(admission.admit(a), Err(Refused::TooManyOpen(2))));
        let _other = admission.admit(b).expect("another address has its own count");
        let v6 = |a: &str| a.parse::<IpAddr>().unwrap();
        let _one = admission.admit(v6("2001:db8:1:2::1")).unwrap();
        let _two = admission.admit(v6("2001:db8:1:2::2")).unwrap();
        assert!(
            matches!(admission.admit(v6("2001:db8:1:2:ffff::3")), Err(Refused::TooManyOpen(2))),
            "an IPv6 /64 counts as one address"
        );
        drop(first);
        let _third = admission.admit(a).expect("a closed socket frees its place");
        drop(_third);
        assert!(matches!(admission.admit(a), Err(Refused::TooFast(_))), "burst of 3 used up");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(admission.admit(a).is_ok());
    }

    #[test]
    fn open_http_connections_are_limited_per_address_but_not_for_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let connections = HttpConnections::new(2, &[proxy]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = connections.open(a).unwrap();
        let _second = connections.open(a).unwrap();
        let refused = connections.open(a).unwrap_err();
        assert!(refused.response().starts_with("HTTP/1.1 429 "), "{}", refused.response());
        assert!(refused.response().ends_with("(at most 2); close one first\n"));
        assert!(connections.open("192.0.2.2".parse().unwrap()).is_ok(), "another address has its own count");
        assert!(connections.open("::ffff:192.0.2.1".parse().unwrap()).is_err(), "the same address, mapped");
        let _v6 = [connections.open("2001:db8::1".parse().unwrap()), connections.open("2001:db8::2".parse().unwrap())];
        assert!(connections.open("2001:db8::3".parse().unwrap()).is_err(), "an IPv6 /64 counts as one address");
        drop(first);
        assert!(connections.open(a).is_ok(), "a closed connection frees its place");
        let behind_the_proxy: Vec<_> = (0..10).map(|_| connections.open(proxy).unwrap()).collect();
        assert_eq!(behind_the_proxy.len(), 10, "a trusted proxy is not counted");
    }
}
