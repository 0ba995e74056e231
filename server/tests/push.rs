//! Web Push over real sockets: the server binary, and a push service of the test's own
//! (`testkit::push`) that checks each push's VAPID token and opens its payload with the
//! test browser's keys, as a browser vendor's service and the browser would. A person
//! subscribes browsers, a push reaches each, one the push service says is gone (or
//! whose session ended) is forgotten, a busy push service is left alone as long as it
//! asks, a person is pushed at most ten times a minute, and a push service on a
//! private address is not reached unless the operator admitted it. A message is pushed
//! to whom it would tell of itself (named, or the room set to tell of all; not muted)
//! while they have no tab open, with its text only where the workspace allows; on two
//! nodes sharing PostgreSQL and Redis, once, and not while they have a tab on the other.

use crate::common;

use common::{Client, TestServer};
use palaver_protocol::{ClientMsg, Hello, Level, RoomId, ServerMsg};
use std::sync::Arc;
use std::time::Duration;
use testkit::http::{exchange, get, Response};
use testkit::push::PushService;
use testkit::services::{Postgres, Redis};

const PASSWORD: &str = "correct horse battery";

/// A JSON request as the page sends it: from its own origin (unless `origin` is false),
/// with the session cookie if given.
fn send(server: &TestServer, method: &str, path: &str, cookie: Option<&str>, origin: bool, body: &str) -> Response {
    let addr = &server.addr;
    let cookie = cookie.map(|c| format!("Cookie: palaver_session={c}\r\n")).unwrap_or_default();
    let origin = if origin { format!("Origin: http://{addr}\r\n") } else { String::new() };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{origin}{cookie}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(addr.parse().unwrap(), request.as_bytes()).expect("an HTTP response")
}

/// `POST /push/test` as `cookie`: how it went.
fn test_push(server: &TestServer, cookie: &str) -> serde_json::Value {
    let answer = send(server, "POST", "/push/test", Some(cookie), true, "");
    assert_eq!(answer.status, 200, "{}", answer.text());
    serde_json::from_slice(&answer.body).unwrap()
}

fn delivered(sent: u32, gone: u32, failed: u32, held: bool) -> serde_json::Value {
    serde_json::json!({ "sent": sent, "gone": gone, "failed": failed, "held": held })
}

fn workspace(service: Option<&Arc<PushService>>) -> TestServer {
    let admit = service.map(|s| s.addr.to_string()).unwrap_or_default();
    TestServer::start_with(&[
        ("PALAVER_SIGN_UP", "open"),
        ("PALAVER_PUSH_ADMIT", &admit),
        ("PALAVER_PUSH_CONTACT", "mailto:ops@example.com"),
    ])
}

#[test]
fn a_persons_browsers_are_pushed_to_and_one_gone_is_forgotten() {
    let service = PushService::start().unwrap();
    let server = workspace(Some(&service));
    let ann = server.sign_up("ann", "Ann", PASSWORD);
    let bob = server.sign_up("bob", "Bob", PASSWORD);
    let key = get(server.addr.parse().unwrap(), "/push/key", "").unwrap();
    assert_eq!(key.status, 200);
    let key: serde_json::Value = serde_json::from_slice(&key.body).unwrap();
    let key = key["key"].as_str().unwrap().to_owned();

    let (laptop, phone) = (service.browser("laptop"), service.browser("phone"));
    for browser in [&laptop, &phone] {
        let answer = send(&server, "POST", "/push/subscriptions", Some(&ann), true, &browser.subscription);
        assert_eq!(answer.status, 201, "{}", answer.text());
    }
    // What is refused, and why.
    let sub = &laptop.subscription;
    assert_eq!(send(&server, "POST", "/push/subscriptions", Some(&ann), false, sub).status, 403, "not from the page");
    assert_eq!(send(&server, "POST", "/push/subscriptions", None, true, sub).status, 401, "nobody");
    let bad = send(&server, "POST", "/push/subscriptions", Some(&ann), true, r#"{"endpoint":"x"}"#);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("not a push subscription"), "{}", bad.text());
    let short_key = sub.replace(&sub[sub.find("\"p256dh\":\"").unwrap() + 10..][..20], "");
    let bad = send(&server, "POST", "/push/subscriptions", Some(&ann), true, &short_key);
    assert_eq!((bad.status, bad.text().trim()), (400, "keys.p256dh is not a P-256 key"));

    // A push reaches each of Ann's browsers, signed with the key they subscribed with.
    assert_eq!(test_push(&server, &ann), delivered(2, 0, 0, false));
    for browser in ["laptop", "phone"] {
        let got = service.wait_for(browser, 1, Duration::from_secs(5));
        assert_eq!(got.len(), 1, "{browser}");
        let payload: serde_json::Value = serde_json::from_str(&got[0].payload).unwrap();
        assert_eq!(payload["type"], "test");
        assert_eq!(payload["text"], "Notifications from Palaver are on in this browser.");
        assert_eq!(
            (got[0].key.as_str(), got[0].claims["sub"].as_str()),
            (key.as_str(), Some("mailto:ops@example.com"))
        );
        assert_eq!((got[0].ttl, got[0].urgency.as_deref()), (60, Some("normal")));
    }
    // Bob has no browser subscribed: nothing is sent, and he cannot drop Ann's.
    assert_eq!(test_push(&server, &bob), delivered(0, 0, 0, false));
    let endpoint = format!(r#"{{"endpoint":"{}"}}"#, laptop.endpoint);
    assert_eq!(send(&server, "DELETE", "/push/subscriptions", Some(&bob), true, &endpoint).status, 404);

    // The phone unsubscribed: its push service says it is gone, and it is forgotten.
    service.answer("phone", 410);
    assert_eq!(test_push(&server, &ann), delivered(1, 1, 0, false));
    assert_eq!(test_push(&server, &ann), delivered(1, 0, 0, false));
    assert_eq!(service.received("phone").len(), 2, "the phone was not pushed to again");
    assert_eq!(service.received("laptop").len(), 3);

    // Ten pushes a minute at most: the busiest room cannot keep a phone buzzing.
    let more: Vec<serde_json::Value> = (0..8).map(|_| test_push(&server, &ann)).collect();
    assert!(more.iter().take(7).all(|d| d == &delivered(1, 0, 0, false)), "{more:?}");
    assert_eq!(more[7], delivered(0, 0, 0, true), "the eleventh push this minute is held");
    assert_eq!(service.received("laptop").len(), 10);

    // Turned off in the laptop: forgotten, and asked again, not there.
    assert_eq!(send(&server, "DELETE", "/push/subscriptions", Some(&ann), true, &endpoint).status, 204);
    assert_eq!(send(&server, "DELETE", "/push/subscriptions", Some(&ann), true, &endpoint).status, 404);
    assert!(service.refused().is_empty(), "every push passed the service's checks: {:?}", service.refused());
}

#[test]
fn a_browser_subscribed_in_a_session_that_ends_is_forgotten() {
    let service = PushService::start().unwrap();
    let server = workspace(Some(&service));
    let on_laptop = server.sign_up("ann", "Ann", PASSWORD);
    let on_tablet = server.sign_in("ann", PASSWORD);
    let (laptop, tablet) = (service.browser("laptop"), service.browser("tablet"));
    for (session, browser) in [(&on_laptop, &laptop), (&on_tablet, &tablet)] {
        assert_eq!(
            send(&server, "POST", "/push/subscriptions", Some(session), true, &browser.subscription).status,
            201
        );
    }
    let signed_out = server.post("/sign-out", &[], Some(&on_laptop), "");
    assert_eq!(signed_out.status, 303, "{}", signed_out.text());
    assert_eq!(test_push(&server, &on_tablet), delivered(1, 0, 0, false), "the laptop's subscription went");
    assert_eq!((service.received("laptop").len(), service.wait_for("tablet", 1, Duration::from_secs(5)).len()), (0, 1));
}

#[test]
fn a_push_service_that_asks_to_wait_is_left_alone_meanwhile() {
    let service = PushService::start().unwrap();
    let server = workspace(Some(&service));
    let ann = server.sign_up("ann", "Ann", PASSWORD);
    let (laptop, phone) = (service.browser("laptop"), service.browser("phone"));
    for browser in [&laptop, &phone] {
        assert_eq!(send(&server, "POST", "/push/subscriptions", Some(&ann), true, &browser.subscription).status, 201);
    }
    // The laptop's push comes first and is answered 429 with `Retry-After: 30`: the
    // service (both browsers') is not asked again for 30 s, even once it would take them.
    service.answer("laptop", 429);
    assert_eq!(test_push(&server, &ann), delivered(0, 0, 2, false));
    service.answer("laptop", 201);
    assert_eq!(test_push(&server, &ann), delivered(0, 0, 2, false));
    assert_eq!((service.received("laptop").len(), service.received("phone").len()), (1, 0));
}

#[test]
fn a_push_service_on_a_private_address_is_not_reached_unless_admitted() {
    let service = PushService::start().unwrap();
    let server = workspace(None);
    let ann = server.sign_up("ann", "Ann", PASSWORD);
    let laptop = service.browser("laptop");
    assert_eq!(send(&server, "POST", "/push/subscriptions", Some(&ann), true, &laptop.subscription).status, 201);
    assert_eq!(test_push(&server, &ann), delivered(0, 0, 1, false));
    std::thread::sleep(Duration::from_millis(200));
    assert!(service.received("laptop").is_empty(), "nothing reached the loopback service");
}

async fn tab(server: &TestServer, cookie: &str) -> Client {
    let mut client = server.client_as(cookie).await;
    client.send_msg(ClientMsg::Hello(Hello::Session)).await;
    client.next_where(|m| matches!(m, ServerMsg::Welcome { .. })).await;
    client.join("lobby", None).await;
    client
}

/// Posts `text` in the lobby and waits for its number.
async fn post(client: &mut Client, id: &str, text: &str) -> u64 {
    client.say("lobby", id, text).await;
    client.next_ack().await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_pushed_to_whom_it_tells_while_they_have_no_tab_open() {
    for (setting, with_text) in [("on", true), ("off", false)] {
        let service = PushService::start().unwrap();
        let admit = service.addr.to_string();
        let server = TestServer::start_with(&[
            ("PALAVER_SIGN_UP", "open"),
            ("PALAVER_PUSH_ADMIT", &admit),
            ("PALAVER_PUSH_TEXT", setting),
        ]);
        let (ann, bob) = (server.sign_up("ann", "Ann", PASSWORD), server.sign_up("bob", "Bob", PASSWORD));
        let (laptop, bobs) = (service.browser("laptop"), service.browser("bobs"));
        for (cookie, browser) in [(&ann, &laptop), (&bob, &bobs)] {
            let answer = send(&server, "POST", "/push/subscriptions", Some(cookie), true, &browser.subscription);
            assert_eq!(answer.status, 201);
        }
        let mut bob_tab = tab(&server, &bob).await;
        let seq = post(&mut bob_tab, "m1", "@ann the build is green").await;
        let got = service.wait_for("laptop", 1, Duration::from_secs(5));
        assert_eq!(got.len(), 1, "Ann, named and away, is pushed to");
        let payload: serde_json::Value = serde_json::from_str(&got[0].payload).unwrap();
        let mut expected = serde_json::json!({ "type": "message", "room": "lobby", "seq": seq, "from": "Bob" });
        if with_text {
            expected["text"] = "@ann the build is green".into();
        }
        assert_eq!(payload, expected, "PALAVER_PUSH_TEXT={setting}");
        assert_eq!(got[0].ttl, 24 * 3600);

        // Naming nobody: not pushed. Bob's own messages never reach his own browser.
        post(&mut bob_tab, "m2", "nobody named here").await;
        // With a tab open, Ann's tab tells her, not a push.
        let mut ann_tab = tab(&server, &ann).await;
        post(&mut bob_tab, "m3", "@ann are you there").await;
        // Muted (set in her tab), a message naming her is not pushed either.
        let lobby = RoomId::parse("lobby").unwrap();
        ann_tab.send_msg(ClientMsg::Notify { room: lobby.clone(), level: Level::Muted }).await;
        drop(ann_tab);
        tokio::time::sleep(Duration::from_millis(500)).await;
        post(&mut bob_tab, "m4", "@ann muted you will not hear").await;
        // Every message, once she asks for them all: her tab closed, each is pushed.
        let mut ann_tab = tab(&server, &ann).await;
        ann_tab.send_msg(ClientMsg::Notify { room: lobby, level: Level::All }).await;
        drop(ann_tab);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seq = post(&mut bob_tab, "m5", "lunch is here").await;
        let got = service.wait_for("laptop", 2, Duration::from_secs(5));
        assert_eq!(got.len(), 2, "only the first and the last were pushed: {got:?}");
        let payload: serde_json::Value = serde_json::from_str(&got[1].payload).unwrap();
        assert_eq!(payload["seq"], seq);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(service.received("laptop").len(), 2);
        assert!(service.received("bobs").is_empty(), "Bob's own messages are not pushed to him");
        assert!(service.refused().is_empty(), "{:?}", service.refused());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_two_nodes_a_message_is_pushed_once_and_not_while_a_tab_is_open_on_the_other() {
    let service = PushService::start().unwrap();
    let pg = Postgres::start(Duration::from_secs(120)).expect("PostgreSQL (scripts/setup.sh installs it)");
    pg.create_database("palaver").unwrap();
    let redis = Redis::start(Duration::from_secs(120)).expect("Redis (scripts/setup.sh installs it)");
    let (db, redis_url, admit) = (pg.url("palaver"), redis.url(), service.addr.to_string());
    let env = [
        ("PALAVER_DATABASE_URL", db.as_str()),
        ("PALAVER_REDIS_URL", redis_url.as_str()),
        ("PALAVER_PUSH_ADMIT", admit.as_str()),
        ("PALAVER_SIGN_UP", "open"),
    ];
    let nodes: Vec<TestServer> =
        (0..2).map(|_| TestServer::binary_in(Arc::new(tempfile::tempdir().unwrap()), &env)).collect();
    let (ann, bob) = (nodes[0].sign_up("ann", "Ann", PASSWORD), nodes[1].sign_up("bob", "Bob", PASSWORD));
    let laptop = service.browser("laptop");
    assert_eq!(send(&nodes[0], "POST", "/push/subscriptions", Some(&ann), true, &laptop.subscription).status, 201);
    // Bob posts through node 2; Ann has a tab on node 1.
    let mut bob_tab = tab(&nodes[1], &bob).await;
    let ann_tab = tab(&nodes[0], &ann).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    post(&mut bob_tab, "m1", "@ann are you there").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(service.received("laptop").is_empty(), "her tab on the other node tells her");
    // Her tab closed (node 1 stops listening on her channel within a second): pushed,
    // by the node that stored the message alone.
    drop(ann_tab);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let seq = post(&mut bob_tab, "m2", "@ann now?").await;
    let got = service.wait_for("laptop", 1, Duration::from_secs(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(service.received("laptop").len(), 1, "pushed once: {got:?}");
    let payload: serde_json::Value = serde_json::from_str(&got[0].payload).unwrap();
    assert_eq!((payload["seq"].as_u64(), payload["from"].as_str()), (Some(seq), Some("Bob")));
}
