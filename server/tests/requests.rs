//! Plain HTTP requests under abuse, against the real server over real sockets: bodies
//! that never finish or are too large, open connections per address, host names the
//! site does not answer to (DNS rebinding), and where session changes may come from.

use crate::common;

use common::{Client, TestServer};
use palaver_protocol::{ErrorReason, ServerMsg};
use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};
use testkit::http::{exchange, Response};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Reads the first response on `stream` (its head, and its body as far as
/// `Content-Length` says), waiting at most `within`; `None` if none came in time.
fn answer_within(stream: &mut TcpStream, within: Duration) -> Option<Response> {
    let deadline = Instant::now() + within;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (!raw.is_empty()).then(|| Response::parse(&raw)),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (!raw.is_empty()).then(|| Response::parse(&raw)),
        }
        let response = Response::parse(&raw);
        let length: Option<usize> = response.header("content-length").and_then(|l| l.parse().ok());
        let whole = response.status == 101 || length.is_some_and(|l| response.body.len() >= l);
        if raw.windows(4).any(|w| w == b"\r\n\r\n") && whole {
            return Some(response);
        }
    }
    None
}

/// Whether the server closes `stream` within `within` (what it still sends is dropped).
fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

/// A `POST` head to `path` from `origin` (none if `None`) declaring a body of `length`
/// bytes, on a connection that closes after the answer.
fn post_head(server: &TestServer, path: &str, origin: Option<&str>, length: usize) -> String {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{origin}Content-Type: text/plain\r\nContent-Length: {length}\r\n\
         Connection: close\r\n\r\n",
        server.addr
    )
}

/// This server's own origin, as its pages' requests carry it.
fn own(server: &TestServer) -> String {
    format!("http://{}", server.addr)
}

/// `POST path` with `body` from `origin`, answered whole.
fn post(server: &TestServer, path: &str, origin: Option<&str>, body: &str) -> Response {
    let request = post_head(server, path, origin, body.len()) + body;
    exchange(server.addr.parse().unwrap(), request.as_bytes()).expect("an HTTP response")
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_cut_off_with_408() {
    let server = TestServer::start();
    let mut slow = TcpStream::connect(&server.addr).unwrap();
    slow.write_all(post_head(&server, "/session", Some(&own(&server)), 400).as_bytes()).unwrap();
    // One byte a second: the connection is never idle, and the body never ends.
    let started = Instant::now();
    let answer = loop {
        if let Some(answer) = answer_within(&mut slow, Duration::from_secs(1)) {
            break answer;
        }
        assert!(started.elapsed() < Duration::from_secs(16), "no answer after {:?}", started.elapsed());
        let _ = slow.write_all(b"x");
    };
    let waited = started.elapsed();
    assert_eq!(answer.status, 408, "{}", answer.head);
    assert!(answer.text().contains("did not arrive within 10 s"), "{}", answer.text());
    assert!((9..14).contains(&waited.as_secs()), "cut off after {waited:?}: the deadline is 10 s");
    assert!(closed_within(&mut slow, Duration::from_secs(2)), "and the connection closed");
    // Everyone else was served meanwhile.
    assert_eq!(server.get("/").0, 200);
}

#[tokio::test]
async fn bodies_past_the_limit_are_refused_with_413_before_they_are_read() {
    let server = TestServer::start();
    let mut big = TcpStream::connect(&server.addr).unwrap();
    big.write_all(post_head(&server, "/session", Some(&own(&server)), 10_000_000).as_bytes()).unwrap();
    let answer = answer_within(&mut big, Duration::from_secs(2)).expect("answered without waiting for the body");
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert!(answer.text().contains("too large (at most 2048 bytes)"), "{}", answer.text());
    assert!(closed_within(&mut big, Duration::from_secs(2)), "and the connection closed");

    // A body of no declared length is cut off once it passes the limit.
    let mut chunked = TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.addr,
        own(&server)
    );
    chunked.write_all(head.as_bytes()).unwrap();
    for _ in 0..4 {
        chunked.write_all(format!("400\r\n{}\r\n", "x".repeat(0x400)).as_bytes()).unwrap();
    }
    let answer = answer_within(&mut chunked, Duration::from_secs(2)).expect("answered at the limit");
    assert_eq!(answer.status, 413, "{}", answer.head);
}

#[tokio::test]
async fn a_session_request_from_another_site_is_refused_before_its_body_is_read() {
    let server = TestServer::start();
    for origin in [Some("http://evil.example"), None] {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        // A body declared and never sent: only a check made before reading it can answer.
        // (On a connection meant to stay open.)
        let head = post_head(&server, "/session", origin, 300).replace("Connection: close\r\n", "");
        stream.write_all(head.as_bytes()).unwrap();
        let answer = answer_within(&mut stream, Duration::from_secs(2))
            .unwrap_or_else(|| panic!("Origin {origin:?}: no answer while the body was awaited"));
        assert_eq!(answer.status, 403, "{origin:?}: {}", answer.head);
        assert!(answer.text().contains("only from Palaver's own pages"), "{}", answer.text());
        assert!(closed_within(&mut stream, Duration::from_secs(2)), "the unread body holds no connection");
    }
}

#[tokio::test]
async fn sessions_start_and_end_only_from_the_sites_own_pages() {
    let server = TestServer::start();
    let token = server.named("Ann").await.token();
    for (origin, why) in [(None, "no Origin"), (Some("http://evil.example"), "another site")] {
        let started = post(&server, "/session", origin, &token);
        assert_eq!(started.status, 403, "{why}: {}", started.head);
        assert!(started.header("set-cookie").is_none(), "{why}: no cookie set");
        let ended = post(&server, "/session/end", origin, "");
        assert_eq!(ended.status, 403, "{why}: sign-out refused: {}", ended.head);
        assert!(ended.header("set-cookie").is_none(), "{why}: the cookie is not cleared");
    }
    let started = post(&server, "/session", Some(&own(&server)), &token);
    assert_eq!(started.status, 204, "{}", started.head);
    let cookie = started.header("set-cookie").expect("the session cookie");
    assert!(cookie.starts_with(&format!("palaver_session={token};")), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let forged = post(&server, "/session", Some(&own(&server)), &format!("{token}x"));
    assert_eq!(forged.status, 400, "a token the server did not sign: {}", forged.head);

    let ended = post(&server, "/session/end", Some(&own(&server)), "");
    assert_eq!(ended.status, 303, "{}", ended.head);
    let cleared = ended.header("set-cookie").expect("the cookie cleared");
    assert!(cleared.starts_with("palaver_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn pages_are_kept_by_no_shared_cache() {
    let server = TestServer::start();
    let token = server.named("Ann").await.token();
    let addr = server.addr.parse().unwrap();
    for path in ["/", "/r/lobby", "/search?q=hello"] {
        for cookie in [String::new(), format!("Cookie: palaver_session={token}\r\n")] {
            let page = testkit::http::get(addr, path, &cookie).unwrap();
            assert_eq!(page.status, 200, "{path}");
            assert_eq!(page.header("cache-control").as_deref(), Some("private, no-cache"), "{path} {cookie}");
        }
    }
}

#[tokio::test]
async fn chat_sockets_never_act_on_the_session_cookie() {
    let server = TestServer::start();
    let ann = server.named("Ann").await;
    // A socket opened with Ann's cookie (as another site's page would open one in her
    // browser) is nobody until it says hello itself.
    let mut request = server.ws_url("/ws").into_client_request().unwrap();
    let cookie = format!("palaver_session={}", ann.token());
    request.headers_mut().insert("cookie", cookie.parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    let mut visitor = Client { ws, welcome: None };
    visitor.join("lobby", None).await;
    visitor.say("lobby", "m1", "posted as Ann?").await;
    match visitor.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Ack { .. })).await {
        ServerMsg::Error { reason, .. } => assert_eq!(reason, ErrorReason::NotIdentified),
        other => panic!("a socket with only a cookie posted: {other:?}"),
    }
    let (bob, _) = visitor.hello(None, Some("Bob")).await;
    assert_eq!(bob.name, "Bob");
    assert_ne!(bob.id, ann.user().id, "the cookie's person is not who the socket is");
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_http_connections() {
    let server = TestServer::start_with(&[("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "3")]);
    let mut held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(&server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(&server.addr).unwrap();
    let refused = answer_within(&mut extra, Duration::from_secs(2)).expect("refused at once, not left hanging");
    assert_eq!(refused.status, 429, "{}", refused.head);
    assert!(refused.text().contains("too many open connections from your address (at most 3)"), "{}", refused.text());
    assert!(closed_within(&mut extra, Duration::from_secs(2)), "and closed");

    // A closed connection frees its place.
    held.pop();
    let page = loop_until_served(&server);
    assert_eq!(page.status, 200);
    // Chat sockets are counted by their own limit, not this one.
    drop(held);
    let mut sockets = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while sockets.len() < 3 {
        match tokio_tungstenite::connect_async(server.ws_url("/ws")).await {
            Ok((ws, _)) => sockets.push(ws),
            Err(e) => assert!(Instant::now() < deadline, "no chat socket: {e}"),
        }
    }
    assert_eq!(loop_until_served(&server).status, 200, "3 chat sockets open, and a page still loads");

    // Behind a trusted proxy every client shares its address: the proxy is not counted.
    let proxied = TestServer::start_with(&[
        ("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "1"),
        ("PALAVER_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    let _held: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(&proxied.addr).unwrap()).collect();
    assert_eq!(proxied.get("/").0, 200);
}

/// `GET /`, again until it is let in (a closed connection's place frees a moment later).
fn loop_until_served(server: &TestServer) -> Response {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = testkit::http::get(server.addr.parse().unwrap(), "/", "").unwrap();
        if page.status != 429 || Instant::now() > deadline {
            return page;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A request for `path` naming `host`, answered whole.
fn for_host(server: &TestServer, host: &str, request: &str) -> Response {
    let request = request.replace("HOST", host);
    exchange(server.addr.parse().unwrap(), request.as_bytes()).expect("an HTTP response")
}

/// The answer to a chat socket's upgrade naming `host` (the socket is then dropped).
fn upgrade_for(server: &TestServer, host: &str) -> Response {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.write_all(UPGRADE.replace("HOST", host).as_bytes()).unwrap();
    answer_within(&mut stream, Duration::from_secs(5)).expect("an answer to the upgrade")
}

const PAGE: &str = "GET / HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n";
const SESSION: &str = "POST /session HTTP/1.1\r\nHost: HOST\r\nOrigin: http://HOST\r\nContent-Length: 0\r\n\
                       Connection: close\r\n\r\n";
const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: HOST\r\nOrigin: http://HOST\r\nConnection: Upgrade\r\n\
                       Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

#[tokio::test]
async fn requests_for_host_names_the_site_does_not_answer_to_are_refused() {
    let server = TestServer::start();
    let port = server.addr.rsplit(':').next().unwrap().to_owned();
    // A page of the attacker's name, rebound to this server's address, sends its own name.
    let rebound = format!("rebound.evil.example:{port}");
    for (what, request) in [("page", PAGE), ("session", SESSION), ("chat socket", UPGRADE)] {
        let refused = for_host(&server, &rebound, request);
        assert_eq!(refused.status, 421, "{what}: {}", refused.head);
        assert!(refused.text().contains("PALAVER_ALLOWED_HOSTS"), "{what}: {}", refused.text());
    }
    for ours in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}"), "localhost".into()]
    {
        assert_eq!(for_host(&server, &ours, PAGE).status, 200, "{ours}");
        assert_eq!(upgrade_for(&server, &ours).status, 101, "{ours}");
    }

    let named = TestServer::start_with(&[("PALAVER_ALLOWED_HOSTS", "chat.example.com")]);
    assert_eq!(upgrade_for(&named, "chat.example.com:8443").status, 101, "a listed name, on any port");
    assert_eq!(for_host(&named, "chat.example.com", PAGE).status, 200);
    assert_eq!(for_host(&named, "chat.example.net", PAGE).status, 421, "only the listed name");
}
