//! The real server binary over real sockets: rooms, ordering, validation, resume,
//! history, presence, typing, identity, plain clients, restarts and shutdown.

use crate::common;

use common::{room_id, Client, TestServer};
use palaver_protocol::{
    ClientMsg, ClientMsgId, Close, ErrorReason, Hello, Level, MessageKind, RoomId, RoomUnread, Seq, ServerMsg,
    HISTORY_PAGE, MAX_FRAME_BYTES, MAX_TEXT_CHARS,
};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{
    protocol::frame::{
        coding::{Data, OpCode},
        Frame,
    },
    Message,
};

/// The next error, read past presence and past messages still on their way from others
/// (their acks may have raced ours). A refusal that wrongly posted something still fails:
/// no error comes, and the wait runs out.
async fn expect_error(client: &mut Client, reason: ErrorReason) -> ServerMsg {
    let msg = client
        .next_where(|m| {
            !matches!(
                m,
                ServerMsg::Rooms { .. }
                    | ServerMsg::Arrived { .. }
                    | ServerMsg::Departed { .. }
                    | ServerMsg::Message(_)
            )
        })
        .await;
    match &msg {
        ServerMsg::Error { reason: r, detail, .. } if *r == reason && !detail.is_empty() => msg,
        other => panic!("expected a {reason:?} error, got {other:?}"),
    }
}

#[tokio::test]
async fn everyone_in_a_room_receives_every_message_in_one_order() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let mut bob = server.named("Bob").await;
    assert_eq!(alice.join("lobby", None).await.0, vec![]);
    bob.join("lobby", None).await;

    alice.say("lobby", "a1", "hello from alice").await;
    bob.say("lobby", "b1", "hi alice").await;
    alice.say("lobby", "a2", "how are you?").await;
    bob.say("lobby", "b2", "<script>alert(1)</script>").await;

    let mut seen_by_alice = Vec::new();
    let mut seen_by_bob = Vec::new();
    for _ in 0..4 {
        seen_by_alice.push(alice.next_message().await);
        seen_by_bob.push(bob.next_message().await);
    }
    assert_eq!(seen_by_alice, seen_by_bob, "everyone sees the same messages in the same order");
    assert_eq!(seen_by_alice.iter().map(|m| m.seq).collect::<Vec<_>>(), [1, 2, 3, 4]);
    let from_alice: Vec<_> =
        seen_by_alice.iter().filter(|m| m.author.name == "Alice").map(|m| m.text.as_str()).collect();
    assert_eq!(from_alice, ["hello from alice", "how are you?"], "one sender's messages keep their order");
    assert!(seen_by_alice.iter().any(|m| m.text == "<script>alert(1)</script>"), "text is carried verbatim");
    assert!(seen_by_alice.iter().all(|m| m.sent_at > 1_600_000_000_000));
}

#[tokio::test]
async fn concurrent_senders_produce_one_order_that_every_client_sees() {
    const SENDERS: usize = 6;
    const EACH: usize = 30;
    let server = TestServer::start();
    let mut watcher = server.named("Watcher").await;
    watcher.join("busy", None).await;
    // Everyone is in the room before anyone speaks.
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let mut c = server.named(&format!("Sender {s}")).await;
        c.join("busy", None).await;
        senders.push(c);
    }
    let mut tasks = Vec::new();
    for (s, mut c) in senders.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for n in 0..EACH {
                c.say("busy", &format!("s{s}-{n}"), &format!("{s}:{n}")).await;
            }
            let mut seen = Vec::new();
            while seen.len() < SENDERS * EACH {
                seen.push(c.next_message().await);
            }
            seen
        }));
    }
    let mut watched = Vec::new();
    while watched.len() < SENDERS * EACH {
        watched.push(watcher.next_message().await);
    }
    assert_eq!(watched.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=(SENDERS * EACH) as u64).collect::<Vec<_>>());
    for t in tasks {
        assert_eq!(t.await.unwrap(), watched, "every client saw the same order");
    }
    for s in 0..SENDERS {
        let mine: Vec<_> =
            watched.iter().filter(|m| m.author.name == format!("Sender {s}")).map(|m| m.text.clone()).collect();
        assert_eq!(mine, (0..EACH).map(|n| format!("{s}:{n}")).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn rooms_are_isolated() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let mut bob = server.named("Bob").await;
    alice.join("red", None).await;
    bob.join("blue", None).await;
    alice.say("red", "r1", "in red").await;
    bob.say("blue", "b1", "in blue").await;
    alice.send_msg(ClientMsg::Typing { room: room_id("red") }).await;
    assert_eq!(alice.next_message().await.text, "in red");
    assert_eq!(bob.next_message().await.text, "in blue");
    // A barrier: once Alice's typing note has been handled (her next frame is answered)
    // and Bob's own later message reaches him, anything leaked from red would be ahead of it.
    alice.send_raw(Message::text("{")).await;
    alice.next_where(|m| matches!(m, ServerMsg::Error { reason: ErrorReason::BadFrame, .. })).await;
    bob.say("blue", "b2", "barrier").await;
    let next = bob.next_where(|m| matches!(m, ServerMsg::Message(_) | ServerMsg::Typing { .. })).await;
    assert!(matches!(&next, ServerMsg::Message(m) if m.text == "barrier"), "nothing from red reached blue: {next:?}");
    // Each room numbers its own messages, and its history holds only its own.
    let mut carol = server.named("Carol").await;
    let (red, _, online) = carol.join("red", None).await;
    assert_eq!(red.iter().map(|m| (m.seq, m.text.as_str())).collect::<Vec<_>>(), [(1, "in red")]);
    assert_eq!(online.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Alice", "Carol"], "sorted by name");
    // Posting to a room one has not joined is refused.
    carol.say("blue", "x", "sneaky").await;
    expect_error(&mut carol, ErrorReason::NotJoined).await;
}

#[tokio::test]
async fn a_resent_message_appears_once() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let mut bob = server.named("Bob").await;
    alice.join("lobby", None).await;
    bob.join("lobby", None).await;
    alice.say("lobby", "dup", "once").await;
    alice.say("lobby", "dup", "once").await;
    alice.say("lobby", "next", "after").await;
    assert_eq!(bob.next_message().await.text, "once");
    assert_eq!(bob.next_message().await.text, "after");
    let mut acks = Vec::new();
    while acks.len() < 3 {
        acks.push(alice.next_ack().await);
    }
    assert_eq!(acks, [("dup".into(), 1), ("dup".into(), 1), ("next".into(), 2)]);
    // Also across connections: the browser resends after reconnecting.
    let mut again = server.client().await;
    again.hello(Some(&alice.token()), None).await;
    again.join("lobby", Some(2)).await;
    again.say("lobby", "next", "after").await;
    assert_eq!(again.next_ack().await, ("next".into(), 2));
    let (history, _, _) = server.named("Carol").await.join("lobby", None).await;
    assert_eq!(history.len(), 2);
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    alice.join("lobby", None).await;
    for n in 1..=5 {
        alice.say("lobby", &format!("a{n}"), &format!("message {n}")).await;
        alice.next_ack().await;
    }
    let mut late = server.named("Late").await;
    let (missed, complete, _) = late.join("lobby", Some(2)).await;
    assert!(complete);
    assert_eq!(missed.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["message 3", "message 4", "message 5"]);
    // Then live, with nothing doubled.
    alice.say("lobby", "a6", "message 6").await;
    assert_eq!(late.next_message().await.seq, 6);

    // A number this room never reached (another server's history) reloads the room.
    let (recent, complete, _) = server.named("Stale").await.join("lobby", Some(999)).await;
    assert!(!complete);
    assert_eq!(recent.len(), 6);
}

#[tokio::test]
async fn history_pages_are_complete_and_ordered() {
    const TOTAL: u64 = 130;
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    alice.join("archive", None).await;
    for n in 1..=TOTAL {
        alice.say("archive", &format!("m{n}"), &format!("number {n}")).await;
    }
    while alice.next_ack().await.1 < TOTAL {}

    let mut reader = server.named("Reader").await;
    let (latest, _, _) = reader.join("archive", None).await;
    assert_eq!(latest.len(), HISTORY_PAGE);
    let mut all = latest;
    loop {
        let before = all[0].seq;
        reader.send_msg(ClientMsg::History { room: room_id("archive"), before }).await;
        match reader.next_where(|m| matches!(m, ServerMsg::Older { .. })).await {
            ServerMsg::Older { messages, has_older, .. } => {
                assert!(messages.len() <= HISTORY_PAGE);
                all.splice(0..0, messages);
                if !has_older {
                    break;
                }
            }
            _ => unreachable!(),
        }
    }
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=TOTAL).collect::<Vec<_>>());
    assert!(all.iter().all(|m| m.text == format!("number {}", m.seq)));
}

#[tokio::test]
async fn presence_counts_people_not_tabs() {
    let server = TestServer::start();
    let mut bob = server.named("Bob").await;
    bob.join("team", None).await;
    let token = server.named("Ann").await.token();
    let mut tab1 = server.client().await;
    tab1.hello(Some(&token), None).await;
    let (_, _, online) = tab1.join("team", None).await;
    assert_eq!(online.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ann", "Bob"]);
    let mut tab2 = server.client().await;
    tab2.hello(Some(&token), None).await;
    let (_, _, online) = tab2.join("team", None).await;
    assert_eq!(online.len(), 2, "a second tab is not a second person");

    let presence = |m: &ServerMsg| matches!(m, ServerMsg::Arrived { .. } | ServerMsg::Departed { .. });
    while !matches!(bob.next_where(presence).await, ServerMsg::Arrived { user, .. } if user.name == "Ann") {}
    tab1.close().await;
    // Ann still has a tab open, so nothing changes for Bob: the next change he hears of
    // is Cy's arrival, which came after the tab had gone.
    let mut cy = server.named("Cy").await;
    cy.join("team", None).await;
    let next = bob.next_where(presence).await;
    assert!(matches!(&next, ServerMsg::Arrived { user, .. } if user.name == "Cy"), "{next:?}");
    cy.close().await;
    let next = bob.next_where(presence).await;
    assert!(matches!(&next, ServerMsg::Departed { user, .. } if user.name == "Cy"), "{next:?}");
    drop(tab2);
    match bob.next_where(presence).await {
        ServerMsg::Departed { user, .. } => assert_eq!(user.name, "Ann"),
        other => panic!("{other:?}"),
    }
    // The room list counts people too.
    match bob
        .next_where(
            |m| matches!(m, ServerMsg::Rooms { rooms } if rooms.iter().any(|r| r.room.as_str() == "team" && r.online == 1)),
        )
        .await
    {
        ServerMsg::Rooms { .. } => {}
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn silent_connections_are_dropped_and_leave_the_room() {
    let server = TestServer::start_with(&[("PALAVER_PING_INTERVAL_MS", "100"), ("PALAVER_IDLE_TIMEOUT_MS", "400")]);
    let mut bob = server.named("Bob").await;
    bob.join("lobby", None).await;
    let mut ghost = server.named("Ghost").await;
    ghost.join("lobby", None).await;
    // Bob keeps reading (and so answering pings); the ghost stops reading entirely.
    let started = std::time::Instant::now();
    loop {
        if let ServerMsg::Departed { user, .. } = bob.next_where(|m| matches!(m, ServerMsg::Departed { .. })).await {
            if user.name == "Ghost" {
                break;
            }
        }
    }
    assert!(started.elapsed() < Duration::from_secs(3), "dropped within the idle timeout");
    assert_eq!(u16::from(ghost.next_close().await.expect("a close frame").code), Close::Idle.code());
}

#[tokio::test]
async fn typing_reaches_the_others_and_is_never_stored() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let mut bob = server.named("Bob").await;
    alice.join("lobby", None).await;
    bob.join("lobby", None).await;
    alice.send_msg(ClientMsg::Typing { room: RoomId::lobby() }).await;
    match bob.next_where(|m| matches!(m, ServerMsg::Typing { .. })).await {
        ServerMsg::Typing { user, .. } => assert_eq!(user.name, "Alice"),
        _ => unreachable!(),
    }
    let (history, _, _) = server.named("Carol").await.join("lobby", None).await;
    assert!(history.is_empty());
}

#[tokio::test]
async fn authors_come_from_the_signed_token_not_the_frame() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let (alice_user, token) = (alice.user(), alice.token());
    alice.join("lobby", None).await;
    let forged = r#"{"type":"send","room":"lobby","id":"f1","text":"hi","author":{"id":"u-bob","name":"Bob"}}"#;
    alice.send_raw(Message::text(forged)).await;
    let m = alice.next_message().await;
    assert_eq!(m.author, alice_user, "the frame's author field is ignored");

    // An edited token is refused.
    let (payload, _) = token.rsplit_once('.').unwrap();
    let mut mallory = server.client().await;
    mallory.send_msg(ClientMsg::Hello(Hello::Token(format!("{payload}.AAAA")))).await;
    expect_error(&mut mallory, ErrorReason::BadToken).await;
    // Before a hello succeeds, a visitor may watch a room (listed nowhere) but not post.
    let (_, _, online) = mallory.join("lobby", None).await;
    assert!(!online.iter().any(|u| u.name == "Mallory"));
    mallory.say("lobby", "m1", "may I?").await;
    expect_error(&mut mallory, ErrorReason::NotIdentified).await;
}

#[tokio::test]
async fn a_visitor_watches_a_room_live_unlisted_until_they_say_hello() {
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    ann.join("r", None).await;
    let mut visitor = server.client().await;
    let (_, _, online) = visitor.join("r", None).await;
    assert_eq!(online, [ann.user()], "a watcher is not listed");
    ann.say("r", "m1", "live for watchers too").await;
    assert_eq!(visitor.next_message().await.text, "live for watchers too");
    // Saying hello lists them in the room they watch, without joining again.
    let (vi, _) = visitor.hello(None, Some("Vi")).await;
    let arrived = ann.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Vi")).await;
    assert!(matches!(&arrived, ServerMsg::Arrived { user, .. } if *user == vi), "{arrived:?}");
    visitor.say("r", "m2", "hello from Vi").await;
    assert_eq!(ann.next_message().await.author, vi);
    // Leaving ends the watching; the room stays Ann's.
    visitor.close().await;
    let departed = ann.next_where(|m| matches!(m, ServerMsg::Departed { .. })).await;
    assert!(matches!(departed, ServerMsg::Departed { user, .. } if user == vi));
}

#[tokio::test]
async fn renaming_is_announced_in_the_room() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    let mut bob = server.named("Bob").await;
    let (before, token) = (alice.user(), alice.token());
    alice.join("lobby", None).await;
    bob.join("lobby", None).await;
    let (after, _) = alice.hello(Some(&token), Some("Alicia")).await;
    assert_eq!(after.id, before.id, "same person, new name");
    // Bob sees the announcement, and the new name in who is online.
    let (mut announced, mut listed) = (false, false);
    while !(announced && listed) {
        match bob.next().await {
            ServerMsg::Message(m) => {
                assert_eq!(
                    (m.kind, m.text.as_str(), m.author.name.as_str()),
                    (MessageKind::Renamed, "Alice", "Alicia")
                );
                announced = true;
            }
            ServerMsg::Arrived { user, .. } => listed |= user.name == "Alicia",
            _ => {}
        }
    }
}

#[tokio::test]
async fn bad_frames_get_error_events_and_the_socket_stays_usable() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    alice.say("lobby", "early", "before hello").await;
    expect_error(&mut alice, ErrorReason::NotIdentified).await;
    alice.send_raw(Message::text(r#"{"type":"hello","name":"   "}"#)).await;
    expect_error(&mut alice, ErrorReason::BadName).await;
    alice.hello(None, Some("Alice")).await;
    let mut bob = server.named("Bob").await;
    alice.join("lobby", None).await;
    bob.join("lobby", None).await;

    alice.send_raw(Message::text("this is not json")).await;
    expect_error(&mut alice, ErrorReason::BadFrame).await;
    alice.send_raw(Message::text(r#"{"type":"send","room":"lobby","text":"no id"}"#)).await;
    expect_error(&mut alice, ErrorReason::BadFrame).await;
    alice.send_raw(Message::text(r#"{"type":"shout","text":"hey"}"#)).await;
    let err = expect_error(&mut alice, ErrorReason::UnknownType).await;
    assert!(matches!(err, ServerMsg::Error { detail, .. } if detail.contains("shout")));
    alice.send_raw(Message::binary(vec![1, 2, 3])).await;
    expect_error(&mut alice, ErrorReason::BinaryUnsupported).await;
    alice.say("lobby", "blank", " \n\t ").await;
    let err = expect_error(&mut alice, ErrorReason::EmptyText).await;
    assert!(matches!(err, ServerMsg::Error { id: Some(i), .. } if i.0 == "blank"));
    alice.say("lobby", "long", &"x".repeat(MAX_TEXT_CHARS + 1)).await;
    expect_error(&mut alice, ErrorReason::TextTooLong).await;
    alice.say("lobby", &"i".repeat(65), "hi").await;
    expect_error(&mut alice, ErrorReason::BadId).await;
    alice.send_raw(Message::text(r#"{"type":"join","room":"Not Valid!"}"#)).await;
    expect_error(&mut alice, ErrorReason::BadRoom).await;

    // Nothing refused reached anyone, and the socket still works.
    alice.say("lobby", "ok", "still here").await;
    let m = bob.next_message().await;
    assert_eq!((m.seq, m.text.as_str()), (1, "still here"));
    assert_eq!(alice.next_message().await, m);
}

#[tokio::test]
async fn oversized_and_invalid_utf8_frames_close_with_their_codes() {
    let server = TestServer::start();
    let mut big = server.client().await;
    let mut bystander = server.named("Bystander").await;
    bystander.join("lobby", None).await;
    big.send_raw(Message::text("x".repeat(MAX_FRAME_BYTES + 1))).await;
    assert_eq!(u16::from(big.next_close().await.expect("a close frame").code), Close::TooBig.code());

    let mut garbled = server.client().await;
    garbled.send_raw(Message::Frame(Frame::message(vec![0xff, 0xfe, 0x41], OpCode::Data(Data::Text), true))).await;
    assert_eq!(u16::from(garbled.next_close().await.expect("a close frame").code), Close::InvalidUtf8.code());

    // Everyone else carries on.
    bystander.say("lobby", "b", "still fine").await;
    assert_eq!(bystander.next_message().await.text, "still fine");
}

#[tokio::test]
async fn a_plain_websocket_client_and_a_protocol_client_talk_to_each_other() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    alice.join("lobby", None).await;
    let mut plain = Client::connect(&server.ws_url("/")).await;
    plain.send_raw(Message::text("hello from a plain socket")).await;
    let m = alice.next_message().await;
    assert_eq!(m.text, "hello from a plain socket");
    assert!(m.author.name.starts_with("guest-"), "{}", m.author.name);
    assert_eq!(plain.next_raw().await, Message::text(format!("{}: hello from a plain socket", m.author.name)));

    alice.say("lobby", "a1", "hi guest").await;
    assert_eq!(plain.next_raw().await, Message::text("Alice: hi guest"));
    // Other rooms are not the guest's business.
    alice.join("elsewhere", None).await;
    alice.say("elsewhere", "a2", "private").await;
    alice.say("lobby", "a3", "public").await;
    assert_eq!(plain.next_raw().await, Message::text("Alice: public"));
}

#[tokio::test]
async fn a_restart_keeps_every_acknowledged_message() {
    let server = TestServer::binary();
    let data = server.data.clone();
    let mut alice = server.named("Alice").await;
    alice.join("lobby", None).await;
    alice.join("other", None).await;
    for n in 1..=20 {
        alice.say(if n % 2 == 0 { "lobby" } else { "other" }, &format!("m{n}"), &format!("kept {n}")).await;
    }
    let mut acked = 0;
    while acked < 20 {
        alice.next_ack().await;
        acked += 1;
    }
    drop(alice);
    drop(server);

    let server = TestServer::binary_in(data, &[]);
    let mut bob = server.named("Bob").await;
    let (lobby, _, _) = bob.join("lobby", None).await;
    let (other, _, _) = bob.join("other", None).await;
    assert_eq!(
        lobby.iter().map(|m| m.text.clone()).collect::<Vec<_>>(),
        (1..=10).map(|n| format!("kept {}", n * 2)).collect::<Vec<_>>()
    );
    assert_eq!(other.len(), 10);
    assert_eq!(lobby.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=10).collect::<Vec<_>>());
    // Numbering carries on where it stopped.
    bob.say("lobby", "b1", "after the restart").await;
    assert_eq!(bob.next_ack().await.1, 11);
}

#[tokio::test]
async fn pages_are_server_rendered_with_their_latest_messages() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    alice.join("design", None).await;
    alice.say("design", "d1", "<b>bold?</b> & more").await;
    alice.next_ack().await;

    let (status, html) = server.get("/r/design");
    assert_eq!(status, 200);
    for needle in [
        "<title>#design · Palaver</title>",
        r#"data-testid="message-list""#,
        r#"data-testid="composer-input""#,
        r#"placeholder="Write a message…""#,
        r#"data-testid="send-button""#,
        r#"data-testid="connection-status""#,
        "&lt;b&gt;bold?&lt;/b&gt; &amp; more",
        "Alice",
    ] {
        assert!(html.contains(needle), "SSR HTML lacks {needle}:\n{html}");
    }
    assert!(!html.contains("<b>bold?</b>"), "message text is escaped");
    // The same messages, for the browser to hydrate with, in a JSON block it cannot leave.
    assert!(html.contains(r#"<script type="application/json" id="palaver-rendered-page">"#), "{html}");
    assert!(html.contains(r#""text":"\u003cb\u003ebold?\u003c/b\u003e \u0026 more""#), "{html}");
    let (status, html) = server.get("/");
    assert_eq!(status, 200);
    assert!(html.contains("#lobby"));
    let (status, html) = server.get("/r/Not%20A%20Room");
    assert_eq!(status, 404);
    assert!(html.contains("not a valid room name"), "{html}");
    assert_eq!(server.get("/no/such/page").0, 404);
}

#[tokio::test]
async fn sigterm_closes_connections_with_going_away_and_exits() {
    let mut server = TestServer::binary();
    let mut alice = server.named("Alice").await;
    alice.join("lobby", None).await;
    server.process().signal("TERM");
    assert_eq!(u16::from(alice.next_close().await.expect("a close frame").code), Close::GoingAway.code());
    let status = server.process().wait_exit(Duration::from_secs(10)).expect("the server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// Shutdown keeps to `PALAVER_SHUTDOWN_GRACE_MS`, however long what is in flight would
/// take: here a request whose body never comes (its own deadline is longer).
#[tokio::test]
async fn sigterm_exits_within_its_grace_time_with_a_request_stuck_in_flight() {
    use std::io::Write;
    let grace = Duration::from_millis(1_500);
    let data = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let mut server = TestServer::binary_in(data, &[("PALAVER_SHUTDOWN_GRACE_MS", "1500")]);
    let mut alice = server.named("Alice").await;
    alice.join("lobby", None).await;
    let mut stuck = std::net::TcpStream::connect(&server.addr).unwrap();
    let head = format!(
        "POST /session HTTP/1.1\r\nHost: {0}\r\nOrigin: http://{0}\r\nContent-Type: text/plain\r\n\
         Content-Length: 1000\r\n\r\nab",
        server.addr
    );
    stuck.write_all(head.as_bytes()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = std::time::Instant::now();
    server.process().signal("TERM");
    assert_eq!(u16::from(alice.next_close().await.expect("a close frame").code), Close::GoingAway.code());
    let status = server.process().wait_exit(grace * 4).expect("the server exits after SIGTERM");
    let took = began.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(took < grace + Duration::from_millis(1_500), "exited {took:?} after SIGTERM, with a grace of {grace:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_every_connection_with_going_away_before_run_returns() {
    let mut server = TestServer::start();
    let mut clients = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let mut client = server.named(name).await;
        client.join("lobby", None).await;
        clients.push(client);
    }
    // Blocking: `server::run` has returned, and its runtime is gone, when this does. Each
    // connection's goodbye was written before that, not cut off with the runtime.
    tokio::task::block_in_place(|| server.shut_down());
    for mut client in clients {
        let close = client.next_close().await.expect("a close frame");
        assert_eq!(u16::from(close.code), Close::GoingAway.code());
        assert_eq!(close.reason.as_str(), Close::GoingAway.reason());
    }
}

#[tokio::test]
async fn an_unusable_data_directory_stops_the_server_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("palaver.db"), vec![0x5a; 8192]).unwrap();
    let mut child = common::binary_command(dir.path(), &[])
        .stdout(std::process::Stdio::piped())
        .env("NO_COLOR", "1")
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server neither started nor stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("palaver.db"), "{log}");
}

/// The status of a WebSocket upgrade request to `path`, with `origin` if given.
fn upgrade_status(server: &TestServer, path: &str, origin: Option<&str>) -> (u16, String) {
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    let (status, reply, _) = server.raw_upgrade(path, &origin);
    (status, reply)
}

#[tokio::test]
async fn sockets_from_other_sites_are_refused() {
    let server = TestServer::start_with(&[("PALAVER_ALLOWED_ORIGINS", "https://chat.example.com")]);
    let own = format!("http://{}", server.addr);
    for path in ["/ws", "/"] {
        let (status, reply) = upgrade_status(&server, path, Some("https://evil.example"));
        assert_eq!(status, 403, "{path}: {reply}");
        assert!(reply.contains("cross-origin"), "{reply}");
        assert_eq!(upgrade_status(&server, path, Some(&own)).0, 101, "{path}: the page's own origin");
        assert_eq!(
            upgrade_status(&server, path, Some("https://chat.example.com")).0,
            101,
            "{path}: allowed by setting"
        );
        assert_eq!(upgrade_status(&server, path, None).0, 101, "{path}: no Origin, not a browser");
    }
}

#[tokio::test]
async fn a_connection_posting_too_fast_is_told_to_slow_down_and_nothing_extra_is_posted() {
    let server = TestServer::start_with(&[("PALAVER_RATE_PER_SEC", "5"), ("PALAVER_RATE_BURST", "10")]);
    let mut flood = server.named("Flood").await;
    let mut bob = server.named("Bob").await;
    flood.join("lobby", None).await;
    bob.join("lobby", None).await;
    for n in 0..20 {
        flood.say("lobby", &format!("f{n}"), &format!("flood {n}")).await;
    }
    let (mut acked, mut limited) = (0, Vec::new());
    while acked + limited.len() < 20 {
        match flood.next().await {
            ServerMsg::Ack { .. } => acked += 1,
            ServerMsg::Error { reason: ErrorReason::RateLimited, retry_after_ms, id, .. } => {
                assert!(retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 1_000), "{retry_after_ms:?}");
                limited.push(id.expect("names the message"));
            }
            _ => {}
        }
    }
    assert!((10..=12).contains(&acked), "the burst gets through: {acked}");
    // Once one was refused, every later one was too (the refusal holds for a whole
    // token's time), so the client's resends keep the order the person wrote in.
    let mut refused: Vec<usize> = limited.iter().map(|id| id.0[1..].parse().unwrap()).collect();
    refused.sort_unstable();
    assert_eq!(refused, (acked..20).collect::<Vec<_>>(), "a later post was taken ahead of a refused one");
    // After the wait, a refused message goes through when sent again.
    tokio::time::sleep(Duration::from_millis(400)).await;
    flood.say("lobby", &limited[0].0, "retried").await;
    assert!(matches!(
        flood.next_where(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. })).await,
        ServerMsg::Ack { .. }
    ));
    // Only what was accepted reached anyone: the retried message comes right after them.
    let mut seen = 0;
    while bob.next_message().await.text != "retried" {
        seen += 1;
    }
    assert_eq!(seen, acked);

    let mut plain = Client::connect(&server.ws_url("/")).await;
    for n in 0..15 {
        plain.send_raw(Message::text(format!("plain {n}"))).await;
    }
    loop {
        if let Message::Text(t) = plain.next_raw().await {
            if t.as_str().starts_with("error: slow down") {
                break;
            }
        }
    }
}

#[tokio::test]
async fn a_server_started_without_settings_serves_the_production_policy_and_logs_its_limits() {
    let data = tempfile::tempdir().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let lines = log.clone();
    let command = common::binary_command(data.path(), &[("PALAVER_RATE_PER_SEC", "7")]);
    let server = testkit::process::ServerProcess::start(command, Duration::from_secs(60), move |line| {
        lines.lock().unwrap().push(line.to_owned())
    })
    .expect("the server starts");
    let limits = log.lock().unwrap().iter().find(|l| l.contains("limits in force")).cloned().expect("a limits line");
    for setting in ["env=PROD", "posts_per_sec=7", "post_burst=10", "sockets_per_ip=100000", "idle_timeout_ms=40000"] {
        assert!(limits.contains(setting), "{setting} in {limits}");
    }
    let response = testkit::http::get(server.addr, "/", "").unwrap();
    let (status, head) = (response.status, response.head);
    assert_eq!(status, 200);
    let csp = common::header(&head, "content-security-policy").expect("a CSP header");
    assert!(csp.contains("connect-src 'self';"), "no live-reload socket allowed: {csp}");
    assert!(!csp.contains("ws://"), "{csp}");
}

#[tokio::test]
async fn pages_carry_security_headers_and_only_their_own_nonce_may_run_inline() {
    let server = TestServer::start();
    let (status, head, html) = server.get_with_head("/r/secure");
    assert_eq!(status, 200);
    assert_eq!(common::header(&head, "x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(common::header(&head, "referrer-policy").as_deref(), Some("same-origin"));
    let csp = common::header(&head, "content-security-policy").expect("a CSP header");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let nonce =
        html.split("nonce=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a nonce on the hydration script");
    assert!(csp.contains(&format!("'nonce-{nonce}'")), "{csp} vs {nonce}");
    let (_, again, _) = server.get_with_head("/r/secure");
    assert_ne!(common::header(&again, "content-security-policy"), Some(csp), "a new nonce per page");
}

/// Everyone's bytes of the database: the file and its write-ahead log.
fn database_bytes(server: &TestServer) -> Vec<u8> {
    ["palaver.db", "palaver.db-wal"]
        .iter()
        .flat_map(|f| std::fs::read(server.data.path().join(f)).unwrap_or_default())
        .collect()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn authors_edit_and_delete_their_messages_and_everyone_sees_the_latest_state() {
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    let mut bob = server.named("Bob").await;
    ann.join("r", None).await;
    bob.join("r", None).await;
    let mut plain = Client::connect(&server.ws_url("/")).await;
    ann.join("lobby", None).await;

    ann.say("r", "m1", "the secret plans are ready").await;
    let (_, first) = ann.next_ack().await;
    assert_eq!(bob.next_message().await.seq, first);

    // Bob may not touch Ann's message; nothing changes and no number is taken.
    for msg in [
        ClientMsg::Edit { room: room_id("r"), id: ClientMsgId("b1".into()), target: first, text: "mine now".into() },
        ClientMsg::Delete { room: room_id("r"), id: ClientMsgId("b2".into()), target: first },
    ] {
        bob.send_msg(msg).await;
        match bob.next_where(|m| matches!(m, ServerMsg::Error { .. })).await {
            ServerMsg::Error { reason, .. } => assert_eq!(reason, ErrorReason::NotYours),
            _ => unreachable!(),
        }
    }
    ann.send_msg(ClientMsg::Edit { room: room_id("r"), id: ClientMsgId("x".into()), target: 999, text: "?".into() })
        .await;
    match ann.next_where(|m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { reason, id, .. } => {
            assert_eq!((reason, id), (ErrorReason::NoSuchMessage, Some(ClientMsgId("x".into()))))
        }
        _ => unreachable!(),
    }

    // Carol was here for the message, then went away.
    let mut carol = server.named("Carol").await;
    let (messages, _, _) = carol.join("r", None).await;
    let carol_had = messages.last().unwrap().seq;
    let carol_token = carol.token();
    carol.close().await;

    ann.send_msg(ClientMsg::Edit {
        room: room_id("r"),
        id: ClientMsgId("e1".into()),
        target: first,
        text: "the secret plans, revised".into(),
    })
    .await;
    let (_, edit_seq) = ann.next_ack().await;
    assert_eq!(edit_seq, first + 1, "an edit is the room's next number");
    let m = bob.next_message().await;
    assert_eq!((m.kind, m.target, m.text.as_str()), (MessageKind::Edit, Some(first), "the secret plans, revised"));
    ann.send_msg(ClientMsg::Delete { room: room_id("r"), id: ClientMsgId("d1".into()), target: first }).await;
    let (_, delete_seq) = ann.next_ack().await;
    let m = bob.next_message().await;
    assert_eq!((m.kind, m.target, m.seq), (MessageKind::Delete, Some(first), delete_seq));
    // A resend of the delete is the same delete.
    ann.send_msg(ClientMsg::Delete { room: room_id("r"), id: ClientMsgId("d1".into()), target: first }).await;
    assert_eq!(ann.next_ack().await.1, delete_seq);

    // Carol comes back and resumes: she gets the edit and the delete, in order.
    let mut carol = server.client().await;
    carol.hello(Some(&carol_token), None).await;
    let (missed, complete, _) = carol.join("r", Some(carol_had)).await;
    assert!(complete);
    assert_eq!(missed.iter().map(|m| m.kind).collect::<Vec<_>>(), [MessageKind::Edit, MessageKind::Delete]);
    // A newcomer's page shows the message in its latest state: deleted, text gone.
    let (page, _, _) = server.named("Dan").await.join("r", None).await;
    let original = page.iter().find(|m| m.seq == first).unwrap();
    assert!(original.deleted && original.text.is_empty(), "{original:?}");

    // The text is gone from the history, the server-rendered page and the database file.
    for m in &page {
        assert!(!m.text.contains("secret plans"), "{m:?}");
    }
    let (_, html) = server.get("/r/r");
    assert!(!html.contains("secret plans"), "the server-rendered page");
    assert!(!contains(&database_bytes(&server), "secret plans"), "the database file and its log");

    // A deleted message can no longer be edited or deleted.
    ann.send_msg(ClientMsg::Edit {
        room: room_id("r"),
        id: ClientMsgId("e2".into()),
        target: first,
        text: "back".into(),
    })
    .await;
    match ann.next_where(|m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { reason, .. } => assert_eq!(reason, ErrorReason::Deleted),
        _ => unreachable!(),
    }

    // Plain clients read edits and deletes as lines.
    ann.say("lobby", "l1", "hello plain").await;
    assert_eq!(plain.next_raw().await, Message::text("Ann: hello plain"));
    let (_, lobby_seq) = ann.next_ack().await;
    ann.send_msg(ClientMsg::Edit {
        room: room_id("lobby"),
        id: ClientMsgId("l2".into()),
        target: lobby_seq,
        text: "hello, plain".into(),
    })
    .await;
    assert_eq!(plain.next_raw().await, Message::text("Ann edited: hello, plain"));
    ann.send_msg(ClientMsg::Delete { room: room_id("lobby"), id: ClientMsgId("l3".into()), target: lobby_seq }).await;
    assert_eq!(plain.next_raw().await, Message::text("Ann deleted a message"));
}

/// Ann's edit of her message `target` in the lobby, acknowledged; its number.
async fn edit_in_lobby(ann: &mut Client, id: &str, target: Seq, text: &str) -> Seq {
    let room = room_id("lobby");
    ann.send_msg(ClientMsg::Edit { room, id: ClientMsgId(id.into()), target, text: text.into() }).await;
    ann.next_ack().await.1
}

#[tokio::test]
async fn text_edited_away_is_served_to_nobody_and_kept_nowhere() {
    const SECRET: &str = "hunter2xyzzy";
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    let mut bob = server.named("Bob").await;
    ann.join("lobby", None).await;
    bob.join("lobby", None).await;
    ann.say("lobby", "m1", "the plan").await;
    let (_, first) = ann.next_ack().await;
    bob.send_msg(reply("lobby", "b1", first, "which plan?")).await;
    let (_, answer) = bob.next_ack().await;
    // Carol was here before the edits, then went away.
    let mut carol = server.named("Carol").await;
    let (seen, _, _) = carol.join("lobby", None).await;
    let carol_had = seen.last().unwrap().seq;
    let carol_token = carol.token();
    carol.close().await;

    // Ann types a secret into her message, then takes it out again.
    edit_in_lobby(&mut ann, "e1", first, &format!("the plan: {SECRET}")).await;
    let last = edit_in_lobby(&mut ann, "e2", first, "the plan, later").await;
    let none_shows_it = |what: &str, messages: &[palaver_protocol::ChatMessage]| {
        for m in messages {
            let quoted = m.quote.as_ref().map_or("", |q| q.text.as_str());
            assert!(!m.text.contains(SECRET) && !quoted.contains(SECRET), "{what}: {m:?}");
        }
    };
    // Carol resumes from before the edits: both edits, each with the text as it is now.
    let mut carol = server.client().await;
    carol.hello(Some(&carol_token), None).await;
    let (missed, complete, _) = carol.join("lobby", Some(carol_had)).await;
    assert!(complete);
    none_shows_it("a resume", &missed);
    let edits: Vec<&str> = missed.iter().filter(|m| m.kind == MessageKind::Edit).map(|m| m.text.as_str()).collect();
    assert_eq!(edits, ["the plan, later", "the plan, later"]);
    // A newcomer's page, an older page, the page around the first edit.
    let mut dan = server.named("Dan").await;
    let (page, _, _) = dan.join("lobby", None).await;
    none_shows_it("a newcomer's page", &page);
    let quote = page.iter().find(|m| m.seq == answer).and_then(|m| m.quote.clone()).expect("the reply's quote");
    assert_eq!(quote.text, "the plan, later", "a reply quotes the message as it is now");
    dan.send_msg(ClientMsg::History { room: room_id("lobby"), before: last + 1 }).await;
    let ServerMsg::Older { messages, .. } = dan.next_where(|m| matches!(m, ServerMsg::Older { .. })).await else {
        unreachable!()
    };
    none_shows_it("an older page", &messages);
    dan.send_msg(ClientMsg::Around { room: room_id("lobby"), seq: last - 1 }).await;
    let ServerMsg::Around { messages, .. } = dan.next_where(|m| matches!(m, ServerMsg::Around { .. })).await else {
        unreachable!()
    };
    assert!(messages.iter().any(|m| m.seq == last - 1));
    none_shows_it("the page around an edit", &messages);
    // The server-rendered page, and the database file with its log.
    let (status, html) = server.get("/");
    assert_eq!(status, 200);
    assert!(html.contains("the plan, later") && !html.contains(SECRET), "the server-rendered page");
    assert!(!contains(&database_bytes(&server), SECRET), "the database file and its log");
    // A plain client reads an edit as a line with the text as it is now.
    let mut plain = Client::connect(&server.ws_url("/")).await;
    edit_in_lobby(&mut ann, "e3", first, "the plan, final").await;
    assert_eq!(plain.next_raw().await, Message::text("Ann edited: the plan, final"));
}

fn react(room: &str, id: &str, target: u64, emoji: &str, remove: bool) -> ClientMsg {
    ClientMsg::React { room: room_id(room), id: ClientMsgId(id.into()), target, emoji: emoji.into(), remove }
}

fn reply(room: &str, id: &str, target: u64, text: &str) -> ClientMsg {
    ClientMsg::Send {
        room: room_id(room),
        id: ClientMsgId(id.into()),
        text: text.into(),
        reply_to: Some(target),
        files: Vec::new(),
    }
}

#[tokio::test]
async fn replies_reactions_and_mentions_over_real_sockets() {
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    let mut bob = server.named("Bob").await;
    ann.join("r", None).await;
    bob.join("r", None).await;
    ann.join("other", None).await;
    ann.join("lobby", None).await;
    let mut plain = Client::connect(&server.ws_url("/")).await;

    // A message naming Bob (who is here) and Zed (who is not): only Bob is mentioned.
    ann.say("r", "m1", "@bob and @Zed: lunch?").await;
    let (_, first) = ann.next_ack().await;
    let m = bob.next_message().await;
    assert_eq!(m.mentions, [bob.user()], "mentions resolve by name among the people in the room");

    // Bob answers it: the reply carries a quote of it.
    bob.send_msg(reply("r", "r1", first, "yes!")).await;
    let (_, reply_seq) = bob.next_ack().await;
    let m = ann.next_where(|m| matches!(m, ServerMsg::Message(m) if m.seq == reply_seq)).await;
    let ServerMsg::Message(m) = m else { unreachable!() };
    assert_eq!((m.target, m.quote.as_ref().map(|q| q.text.as_str())), (Some(first), Some("@bob and @Zed: lunch?")));
    // A reply must answer a message of the same room.
    ann.send_msg(reply("other", "r2", first, "across rooms")).await;
    expect_error(&mut ann, ErrorReason::NoSuchMessage).await;

    // Two tabs of Bob react with the same emoji at once: one reaction.
    let mut bob_tab = server.client().await;
    bob_tab.hello(Some(&bob.token()), None).await;
    let (_, _, _) = bob_tab.join("r", None).await;
    bob.send_msg(react("r", "x1", first, "👍", false)).await;
    bob_tab.send_msg(react("r", "x2", first, "👍", false)).await;
    ann.send_msg(react("r", "x3", first, "🎉", false)).await;
    let last = [bob.next_ack().await.1, bob_tab.next_ack().await.1, ann.next_ack().await.1].into_iter().max().unwrap();
    let (page, _, _) = server.named("Cy").await.join("r", None).await;
    let original = page.iter().find(|m| m.seq == first).unwrap();
    let mut chips: Vec<(&str, usize)> = original.reactions.iter().map(|r| (r.emoji.as_str(), r.by.len())).collect();
    chips.sort();
    assert_eq!(chips, [("🎉", 1), ("👍", 1)], "one person, one reaction of each kind");
    let thumbs = original.reactions.iter().find(|r| r.emoji == "👍").unwrap();
    assert_eq!(thumbs.by, [bob.user()]);

    // Refusals, each a clear error: an emoji not in the set, a deleted message.
    ann.send_msg(react("r", "x4", first, "🦀", false)).await;
    expect_error(&mut ann, ErrorReason::BadReaction).await;

    // Carol misses an edit, a reaction taken back, and a delete; resuming, she has the
    // latest state.
    let mut carol = server.named("Carol").await;
    carol.join("r", None).await;
    let carol_token = carol.token();
    carol.close().await;
    ann.say("r", "m2", "second").await;
    let (_, second) = ann.next_ack().await;
    ann.send_msg(ClientMsg::Edit {
        room: room_id("r"),
        id: ClientMsgId("e1".into()),
        target: first,
        text: "@Bob: dinner?".into(),
    })
    .await;
    ann.next_ack().await;
    bob.send_msg(react("r", "x5", first, "👍", true)).await;
    bob.next_ack().await;
    ann.send_msg(ClientMsg::Delete { room: room_id("r"), id: ClientMsgId("d1".into()), target: second }).await;
    ann.next_ack().await;
    ann.send_msg(react("r", "x6", second, "👍", false)).await;
    expect_error(&mut ann, ErrorReason::Deleted).await;
    let mut carol = server.client().await;
    carol.hello(Some(&carol_token), None).await;
    let (missed, complete, _) = carol.join("r", Some(last)).await;
    assert!(complete);
    assert_eq!(
        missed.iter().map(|m| m.kind).collect::<Vec<_>>(),
        [MessageKind::Text, MessageKind::Edit, MessageKind::Unreact, MessageKind::Delete]
    );
    // History pages (and the page around a message) show each message in its latest state.
    carol.send_msg(ClientMsg::Around { room: room_id("r"), seq: first }).await;
    let around = carol.next_where(|m| matches!(m, ServerMsg::Around { .. })).await;
    let ServerMsg::Around { messages, has_older, .. } = around else { unreachable!() };
    assert!(!has_older);
    let original = messages.iter().find(|m| m.seq == first).unwrap();
    assert_eq!((original.text.as_str(), original.edited), ("@Bob: dinner?", true));
    assert_eq!(original.reactions.iter().map(|r| r.emoji.as_str()).collect::<Vec<_>>(), ["🎉"]);
    assert_eq!(original.mentions, [bob.user()], "an edit's mentions");
    assert!(messages.iter().find(|m| m.seq == second).unwrap().deleted);

    // Plain clients see replies as lines and reactions not at all.
    ann.say("lobby", "l1", "hello plain").await;
    assert_eq!(plain.next_raw().await, Message::text("Ann: hello plain"));
    let (_, lobby_seq) = ann.next_ack().await;
    bob.join("lobby", None).await;
    bob.send_msg(react("lobby", "l2", lobby_seq, "👀", false)).await;
    bob.next_ack().await;
    bob.send_msg(reply("lobby", "l3", lobby_seq, "hello Ann")).await;
    assert_eq!(plain.next_raw().await, Message::text("Bob (replying to Ann): hello Ann"));
}

#[tokio::test]
async fn search_finds_messages_of_every_room_newest_first_with_their_words_marked() {
    use palaver_protocol::SEARCH_PAGE;
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    ann.join("design", None).await;
    ann.say("design", "d1", "Le Café est ouvert").await;
    ann.next_ack().await;
    ann.join("ops", None).await;
    ann.say("ops", "o1", "내일 회의는 세 시").await;
    ann.next_ack().await;
    for i in 0..SEARCH_PAGE + 5 {
        ann.say("ops", &format!("n{i}"), &format!("note {i} about the cafe")).await;
        ann.next_ack().await;
    }

    // A visitor who has not said hello searches every room.
    let mut visitor = server.client().await;
    let search = |query: &str, before| ClientMsg::Search { query: query.into(), before };
    let results = |msg: ServerMsg| match msg {
        ServerMsg::Results { query, hits, next } => (query, hits, next),
        other => panic!("expected results, got {other:?}"),
    };
    visitor.send_msg(search("회의", None)).await;
    let (query, hits, next) = results(visitor.next_where(|m| matches!(m, ServerMsg::Results { .. })).await);
    assert_eq!((query.as_str(), hits.len(), next), ("회의", 1, None));
    assert_eq!((hits[0].message.room.as_str(), hits[0].message.text.as_str()), ("ops", "내일 회의는 세 시"));
    assert_eq!(hits[0].marks, [[3, 5]], "회의 marked inside 회의는");

    // Newest first, a page at a time; the café of another room last.
    visitor.send_msg(search("CAFE", None)).await;
    let (_, first, next) = results(visitor.next_where(|m| matches!(m, ServerMsg::Results { .. })).await);
    assert_eq!(first.len(), SEARCH_PAGE);
    assert_eq!(first[0].message.text, format!("note {} about the cafe", SEARCH_PAGE + 4));
    visitor.send_msg(search("CAFE", next)).await;
    let (_, rest, next) = results(visitor.next_where(|m| matches!(m, ServerMsg::Results { .. })).await);
    assert_eq!((rest.len(), next), (6, None));
    let last = rest.last().unwrap();
    assert_eq!((last.message.room.as_str(), last.marks.as_slice()), ("design", &[[3, 7]][..]), "Café, as written");

    // Nothing to look for, or too long: a clear error. Too fast: slowed down.
    visitor.send_raw(Message::text(r#"{"type":"search","query":"  "}"#)).await;
    expect_error(&mut visitor, ErrorReason::BadQuery).await;
    visitor.send_msg(search("***", None)).await;
    expect_error(&mut visitor, ErrorReason::BadQuery).await;
    visitor.send_msg(search(&"x".repeat(201), None)).await;
    expect_error(&mut visitor, ErrorReason::BadQuery).await;
    let mut limited = false;
    for _ in 0..40 {
        visitor.send_msg(search("note", None)).await;
        if let ServerMsg::Error { reason, retry_after_ms, .. } =
            visitor.next_where(|m| matches!(m, ServerMsg::Results { .. } | ServerMsg::Error { .. })).await
        {
            assert_eq!(reason, ErrorReason::RateLimited);
            assert!(retry_after_ms.is_some());
            limited = true;
            break;
        }
    }
    assert!(limited, "searching without pause is slowed down");

    // The search page, rendered by the server: results with their words marked, linked
    // to their messages, and the next page a plain link.
    let (status, html) = server.get("/search?q=caf%C3%A9+ouv");
    assert_eq!(status, 200);
    assert!(html.contains("<mark>Café</mark> est <mark>ouvert</mark>"), "{html}");
    assert!(html.contains("href=\"/r/design?at=1#m-1\""), "{html}");
    let (_, html) = server.get("/search?q=cafe");
    assert!(html.contains("href=\"/search?q=cafe&amp;before="), "a link to more: {html}");
    let (status, html) = server.get("/search?q=%22%29%28*");
    assert_eq!(status, 200, "any text is a query");
    assert!(html.contains("No messages with"), "{html}");
}

/// The next `unread` frame that says how `room` stands (the others are skipped).
async fn unread_in(client: &mut Client, room: &str) -> RoomUnread {
    let room = room_id(room);
    let about = |m: &ServerMsg| match m {
        ServerMsg::Unread { rooms, .. } => rooms.iter().find(|r| r.room == room).cloned(),
        _ => None,
    };
    let frame = client.next_where(|m| about(m).is_some()).await;
    about(&frame).expect("about the room")
}

/// Ann's whole state, as the answer to `unread` gives it.
async fn all_unread(client: &mut Client) -> Vec<RoomUnread> {
    client.send_msg(ClientMsg::Unread).await;
    match client.next_where(|m| matches!(m, ServerMsg::Unread { all: true, .. })).await {
        ServerMsg::Unread { rooms, .. } => rooms,
        _ => unreachable!(),
    }
}

fn counts(read: Option<Seq>, unread: u32, mentions: u32, first: Option<Seq>) -> impl Fn(&RoomUnread) -> bool {
    move |r| (r.read, r.unread, r.mentions, r.first) == (read, unread, mentions, first)
}

#[tokio::test]
async fn unread_counts_follow_every_tab_of_a_person_and_survive_a_restart() {
    let mut server = TestServer::binary();
    let mut ann = server.named("Ann").await;
    let token = ann.token();
    let mut ann2 = server.client().await;
    ann2.hello(Some(&token), None).await;
    let mut bob = server.named("Bob").await;
    for c in [&mut ann, &mut bob] {
        c.join("design", None).await;
    }
    bob.say("design", "b1", "first").await;
    assert_eq!(ann.next_message().await.seq, 1);
    ann.send_msg(ClientMsg::Read { room: room_id("design"), seq: 1 }).await;
    // On her list (a room she opened), with nothing unread.
    for tab in [&mut ann, &mut ann2] {
        let all = all_unread(tab).await;
        assert!(all.len() == 1 && counts(Some(1), 0, 0, None)(&all[0]), "read: nothing unread: {all:?}");
    }

    // Bob writes on; one names Ann. Both her tabs count, the one not in the room too.
    bob.say("design", "b2", "more").await;
    bob.say("design", "b3", "@Ann look").await;
    let now = unread_in(&mut ann2, "design").await;
    let now = if now.unread == 1 { unread_in(&mut ann2, "design").await } else { now };
    assert!(counts(Some(1), 2, 1, Some(2))(&now), "{now:?}");

    // Reading in one tab clears the other; a read position never moves back, nor past
    // what the tab was sent.
    for seq in [2, 3] {
        assert_eq!(ann.next_message().await.seq, seq);
    }
    ann.send_msg(ClientMsg::Read { room: room_id("design"), seq: 3 }).await;
    let now = unread_in(&mut ann2, "design").await;
    assert!(counts(Some(3), 0, 0, None)(&now), "{now:?}");
    ann.send_msg(ClientMsg::Read { room: room_id("design"), seq: 1 }).await;
    bob.say("design", "b4", "after").await;
    let now = unread_in(&mut ann2, "design").await;
    assert!(counts(Some(3), 1, 0, Some(4))(&now), "{now:?}");
    assert_eq!(ann.next_message().await.seq, 4);
    ann.send_msg(ClientMsg::Read { room: room_id("design"), seq: 999 }).await;
    let now = unread_in(&mut ann2, "design").await;
    assert!(counts(Some(4), 0, 0, None)(&now), "only as far as she was sent: {now:?}");
    // Her own messages never count; reading a room not joined is refused.
    ann.say("design", "a1", "mine").await;
    assert_eq!(ann.next_ack().await.1, 5);
    bob.say("design", "b6", "later").await;
    let now = unread_in(&mut ann2, "design").await;
    assert!(counts(Some(4), 1, 0, Some(6))(&now), "{now:?}");

    // Rooms she never opened: only what names her counts.
    bob.join("ops", None).await;
    bob.say("ops", "o1", "unrelated").await;
    bob.say("ops", "o2", "@Ann ops?").await;
    let now = unread_in(&mut ann, "ops").await;
    assert!(counts(None, 1, 1, Some(2))(&now), "{now:?}");
    bob.join("qa", None).await;
    bob.say("qa", "q1", "@Ann qa too").await;
    let now = unread_in(&mut ann, "qa").await;
    assert!(counts(None, 1, 1, Some(1))(&now), "{now:?}");
    // Marked read from the room list, by a tab not in the room: up to its newest.
    ann.send_msg(ClientMsg::Read { room: room_id("ops"), seq: Seq::MAX }).await;
    let now = unread_in(&mut ann2, "ops").await;
    let now = if now.read.is_none() { unread_in(&mut ann2, "ops").await } else { now };
    assert!(counts(Some(2), 0, 0, None)(&now), "{now:?}");
    ann.send_msg(ClientMsg::Read { room: room_id("nowhere"), seq: 5 }).await;

    // After a restart (read positions are written by then), from the store.
    drop((ann, ann2, bob));
    server.process().signal("TERM");
    assert!(server.process().wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    let server = TestServer::binary_in(server.data.clone(), &[]);
    let mut ann = server.client().await;
    ann.hello(Some(&token), None).await;
    let all = all_unread(&mut ann).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(counts(Some(4), 1, 0, Some(6))(&all[0]) && all[0].room == room_id("design"), "{all:?}");
    assert!(counts(Some(2), 0, 0, None)(&all[1]) && all[1].room == room_id("ops"), "{all:?}");
    assert!(counts(None, 1, 1, Some(1))(&all[2]) && all[2].room == room_id("qa"), "{all:?}");
}

#[tokio::test]
async fn the_directory_page_lists_every_room_with_its_members_a_page_at_a_time() {
    let server = TestServer::start_with(&[]);
    let (_, html) = server.get("/rooms");
    assert!(html.contains("No rooms yet"), "{html}");
    let mut ann = server.named("Ann").await;
    ann.join("room-00", None).await;
    ann.say("room-00", "a1", "the first word").await;
    ann.next_ack().await;
    // Her tabs open 52 rooms (a tab joins a few at a time).
    let mut tabs = Vec::new();
    for chunk in (0..52).collect::<Vec<_>>().chunks(9) {
        let mut tab = server.client().await;
        tab.hello(Some(&ann.token()), None).await;
        tab.send_msg(ClientMsg::Unread).await;
        for n in chunk {
            tab.join(&format!("room-{n:02}"), None).await;
        }
        tabs.push(tab);
    }
    // Her rooms go on her list a moment after she opens them (written in a batch).
    let mut html = String::new();
    for _ in 0..50 {
        html = server.get("/rooms").1;
        if html.contains("room-49") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(html.contains("<a href=\"/r/room-00\">#room-00</a> <span class=\"about\">1 member · <time"), "{html}");
    assert!(html.contains("#room-01</a> <span class=\"about\">1 member · no messages yet</span>"), "{html}");
    assert!(!html.contains("room-50"), "a page is 50 rooms: {html}");
    assert!(html.contains("href=\"/rooms?after=room-49\">More rooms</a>"), "{html}");
    let (status, html) = server.get("/rooms?after=room-49");
    assert_eq!(status, 200);
    assert!(html.contains("#room-50") && html.contains("#room-51") && !html.contains("#room-49"), "{html}");
    assert!(!html.contains("More rooms"), "{html}");
    let (status, html) = server.get("/rooms?after=%22%3E%3Cscript%3E");
    assert_eq!(status, 200, "any text is a place to start");
    assert!(html.contains("#room-00") && !html.contains("\"><script>"), "{html}");
}

#[tokio::test]
async fn a_tab_that_follows_its_persons_rooms_is_no_longer_sent_the_busiest() {
    let server = TestServer::binary();
    let mut ann = server.named("Ann").await;
    let mut watcher = server.named("Cid").await;
    assert_eq!(all_unread(&mut ann).await, []);
    let mut bob = server.named("Bob").await;
    bob.join("somewhere-new", None).await;
    // A client that did not ask for its own rooms hears the list change; Ann does not.
    let listed = |m: &ServerMsg| matches!(m, ServerMsg::Rooms { rooms } if rooms.iter().any(|r| r.room.as_str() == "somewhere-new"));
    watcher.next_where(listed).await;
    while let Some(m) = ann.next_within(Duration::from_millis(1200)).await {
        assert!(!matches!(m, ServerMsg::Rooms { .. }), "{m:?}");
    }
}

/// The next `unread` frame that takes `room` off the list.
async fn left(client: &mut Client, room: &str) {
    let room = room_id(room);
    client.next_where(|m| matches!(m, ServerMsg::Unread { left, .. } if left.contains(&room))).await;
}

#[tokio::test]
async fn a_room_opened_stays_on_a_persons_list_in_every_tab_until_left_for_good() {
    let mut server = TestServer::binary();
    let mut bob = server.named("Bob").await;
    let token = bob.token();
    let mut tab2 = server.client().await;
    tab2.hello(Some(&token), None).await;
    for tab in [&mut bob, &mut tab2] {
        assert_eq!(all_unread(tab).await, []);
    }
    let mut ann = server.named("Ann").await;
    ann.join("quiet", None).await;
    ann.say("quiet", "a1", "hello").await;
    ann.next_ack().await;
    // Opened in one tab: on his list in every tab, read from its newest message.
    bob.join("quiet", None).await;
    let now = unread_in(&mut tab2, "quiet").await;
    assert!(counts(Some(1), 0, 0, None)(&now), "{now:?}");
    bob.join("empty", None).await;
    let now = unread_in(&mut tab2, "empty").await;
    assert!(counts(Some(0), 0, 0, None)(&now), "{now:?}");
    // A room never opened where someone names him: opened, what names him stays unread.
    ann.join("ops", None).await;
    ann.say("ops", "o1", "@Bob a look?").await;
    let now = unread_in(&mut tab2, "ops").await;
    assert!(counts(None, 1, 1, Some(1))(&now), "{now:?}");
    bob.join("ops", None).await;
    let now = unread_in(&mut tab2, "ops").await;
    assert!(counts(Some(0), 1, 1, Some(1))(&now), "{now:?}");
    // Once he is elsewhere, what is said there counts for him.
    bob.send_msg(ClientMsg::Leave { room: room_id("quiet") }).await;
    ann.say("quiet", "a2", "later").await;
    let now = unread_in(&mut tab2, "quiet").await;
    assert!(counts(Some(1), 1, 0, Some(2))(&now), "{now:?}");

    // Left for good in one tab: off the list in every tab, and kept so.
    bob.send_msg(ClientMsg::Forget { room: room_id("quiet") }).await;
    left(&mut tab2, "quiet").await;
    left(&mut bob, "quiet").await;
    let rooms = |all: &[RoomUnread]| all.iter().map(|r| r.room.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(rooms(&all_unread(&mut tab2).await), ["empty", "ops"]);
    drop((bob, tab2, ann));
    server.process().signal("TERM");
    assert!(server.process().wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    let server = TestServer::binary_in(server.data.clone(), &[]);
    let mut bob = server.client().await;
    bob.hello(Some(&token), None).await;
    assert_eq!(rooms(&all_unread(&mut bob).await), ["empty", "ops"], "after a restart");
    // Opened again: back on the list, from its newest message.
    bob.join("quiet", None).await;
    let now = unread_in(&mut bob, "quiet").await;
    assert!(counts(Some(2), 0, 0, None)(&now), "{now:?}");
    // A room that was never anyone's cannot be left; the connection stays.
    bob.send_msg(ClientMsg::Forget { room: room_id("nowhere") }).await;
    assert_eq!(rooms(&all_unread(&mut bob).await), ["empty", "ops", "quiet"]);
}

#[tokio::test]
async fn how_a_room_notifies_reaches_every_tab_of_a_person_and_is_kept() {
    let server = TestServer::binary();
    let mut ann = server.named("Ann").await;
    let token = ann.token();
    let mut ann2 = server.client().await;
    ann2.hello(Some(&token), None).await;
    for tab in [&mut ann, &mut ann2] {
        assert_eq!(all_unread(tab).await, []);
    }
    // Muted in one tab: the other is told, with nothing unread in the room yet. (Only a
    // room that exists has settings: one with someone in it, or with messages.)
    ann.join("design", None).await;
    let now = unread_in(&mut ann2, "design").await;
    assert_eq!((now.level, now.unread, now.read), (Level::Mentions, 0, Some(0)), "opened");
    ann.send_msg(ClientMsg::Notify { room: room_id("design"), level: Level::Muted }).await;
    let now = unread_in(&mut ann2, "design").await;
    assert_eq!((now.level, now.unread, now.read), (Level::Muted, 0, Some(0)));
    // Messages still count in a muted room (the page shows a dot for them).
    let mut bob = server.named("Bob").await;
    for c in [&mut ann, &mut bob] {
        c.join("design", None).await;
    }
    bob.say("design", "b1", "@Ann in a muted room").await;
    let now = unread_in(&mut ann2, "design").await;
    assert_eq!((now.level, now.mentions), (Level::Muted, 1));
    bob.join("ops", None).await;
    bob.say("ops", "o1", "anyone here?").await;
    bob.next_ack().await;
    ann2.send_msg(ClientMsg::Notify { room: room_id("ops"), level: Level::All }).await;
    assert_eq!(unread_in(&mut ann, "ops").await.level, Level::All);
    // Someone without a name has no settings.
    let mut visitor = server.client().await;
    visitor.send_msg(ClientMsg::Notify { room: room_id("ops"), level: Level::All }).await;
    expect_error(&mut visitor, ErrorReason::NotIdentified).await;

    // Kept: a tab opened after all hers closed reads them from the store.
    drop((ann, ann2));
    let mut ann = server.client().await;
    ann.hello(Some(&token), None).await;
    let all = all_unread(&mut ann).await;
    let levels: Vec<(&str, Level)> = all.iter().map(|r| (r.room.as_str(), r.level)).collect();
    assert_eq!(levels, [("design", Level::Muted), ("ops", Level::All)]);
    // Back to the default: the room has nothing more to say.
    ann.send_msg(ClientMsg::Notify { room: room_id("ops"), level: Level::Mentions }).await;
    assert_eq!(unread_in(&mut ann, "ops").await.level, Level::Mentions);
    let all = all_unread(&mut ann).await;
    assert_eq!(all.iter().map(|r| r.room.as_str()).collect::<Vec<_>>(), ["design"]);

    // An empty room read (at 0) is opened: what comes later counts, and tells her of it
    // when it is set to.
    ann.join("quiet", None).await;
    ann.send_msg(ClientMsg::Read { room: room_id("quiet"), seq: 0 }).await;
    assert_eq!(unread_in(&mut ann, "quiet").await.read, Some(0));
    ann.send_msg(ClientMsg::Notify { room: room_id("quiet"), level: Level::All }).await;
    assert_eq!(unread_in(&mut ann, "quiet").await.level, Level::All);
    bob.join("quiet", None).await;
    bob.say("quiet", "q1", "anyone?").await;
    let now = unread_in(&mut ann, "quiet").await;
    assert_eq!((now.unread, now.first), (1, Some(1)));
    let told = ann.next_where(|m| matches!(m, ServerMsg::Notification(_))).await;
    assert!(matches!(told, ServerMsg::Notification(m) if m.text == "anyone?"));
}

#[tokio::test]
async fn a_mention_reaches_someone_in_another_room_or_away_and_a_restart_keeps_who_is_who() {
    let mut server = TestServer::binary();
    // Cat chose her name once and went away; Ann is in another room.
    let cat = server.named("Cat").await;
    let cat_token = cat.token();
    drop(cat);
    let mut ann = server.named("Ann").await;
    ann.join("ops", None).await;
    assert_eq!(all_unread(&mut ann).await, []);
    let mut bob = server.named("Bob").await;
    bob.join("design", None).await;

    // Neither is in #design: both are named, Ann is told at once.
    bob.say("design", "b1", "@ann and @Cat: the plan").await;
    let (mut told, mut counted) = (None, None);
    while told.is_none() || counted.is_none() {
        match ann.next().await {
            ServerMsg::Notification(m) => told = Some(m),
            ServerMsg::Unread { rooms, .. } => counted = rooms.into_iter().find(|r| r.room == room_id("design")),
            _ => {}
        }
    }
    let m = told.unwrap();
    let named: Vec<&str> = m.mentions.iter().map(|u| u.name.as_str()).collect();
    assert_eq!((m.text.as_str(), named), ("@ann and @Cat: the plan", vec!["Ann", "Cat"]));
    assert!(counts(None, 1, 1, Some(1))(&counted.unwrap()));
    // A name that is nobody's names nobody.
    bob.say("design", "b2", "@Zed?").await;
    let m = bob.next_where(|m| matches!(m, ServerMsg::Message(m) if m.seq == 2)).await;
    assert!(matches!(&m, ServerMsg::Message(m) if m.mentions.is_empty()), "{m:?}");

    // Cat comes back: the mention waited for her.
    let mut cat = server.client().await;
    cat.hello(Some(&cat_token), None).await;
    assert!(counts(None, 1, 1, Some(1))(&all_unread(&mut cat).await[0]));

    // After a restart, everyone is still known by name: a mention of Cat, away again.
    let bob_token = bob.token();
    drop((ann, bob, cat));
    server.process().signal("TERM");
    assert!(server.process().wait_exit(Duration::from_secs(20)).is_some_and(|s| s.success()));
    let server = TestServer::binary_in(server.data.clone(), &[]);
    let mut bob = server.client().await;
    bob.hello(Some(&bob_token), None).await;
    bob.join("design", None).await;
    bob.say("design", "b3", "@CAT again").await;
    assert_eq!(bob.next_ack().await.1, 3);
    let mut cat = server.client().await;
    cat.hello(Some(&cat_token), None).await;
    let now = all_unread(&mut cat).await;
    assert!(now.len() == 1 && counts(None, 2, 2, Some(1))(&now[0]), "{now:?}");
}

/// A room with more people online than a list names: each joiner past the first 500 is
/// sent the first 500 and a count of the rest; those there are not told of each arrival
/// and departure, but are sent the list again, with its count, within a moment; once
/// the room is small again, arrivals are told one by one.
#[tokio::test]
async fn a_crowded_room_lists_the_first_ones_and_counts_the_rest() {
    const LISTED: usize = server::hub::LISTED;
    let server = TestServer::start();
    let mut first = server.named("Aaron").await;
    first.join("crowd", None).await;
    let mut others = Vec::new();
    for n in 1..LISTED + 5 {
        let mut c = server.named(&format!("p{n:03}")).await;
        let (_, _, online) = c.join("crowd", None).await;
        assert_eq!(online.len(), (n + 1).min(LISTED), "joiner {n} is sent at most {LISTED} names");
        if n + 1 > LISTED {
            let crowd = c.next().await;
            assert_eq!(crowd, ServerMsg::Crowd { room: room_id("crowd"), more: (n + 1 - LISTED) as u32 }, "joiner {n}");
        }
        others.push(c);
    }
    // Aaron was told of each arrival until the room was full, then of none: the list
    // again, and how many more, within a moment (and again while people kept coming).
    let (mut arrivals, mut listed, mut more) = (0, Vec::new(), 0);
    while more != 5 {
        match first.next_within(Duration::from_secs(5)).await.expect("the list again in time") {
            ServerMsg::Arrived { .. } => arrivals += 1,
            ServerMsg::Presence { online, .. } => (listed, more) = (online, 0),
            ServerMsg::Crowd { more: m, .. } => more = m,
            _ => {}
        }
    }
    // (His own arrival among them.)
    assert_eq!(arrivals, LISTED, "arrivals told one by one until the room was full");
    assert_eq!(listed.len(), LISTED);
    assert!(listed.windows(2).all(|w| w[0].name <= w[1].name), "by name");
    // Six leave: the room is small again, and a list says so, with no count after it.
    for c in others.drain(..6) {
        c.close().await;
    }
    loop {
        match first.next_within(Duration::from_secs(5)).await.expect("the list again in time") {
            ServerMsg::Presence { online, .. } if online.len() == LISTED - 1 => break,
            _ => {}
        }
    }
    let after = first.next_within(Duration::from_millis(300)).await;
    assert!(!matches!(after, Some(ServerMsg::Crowd { .. })), "{after:?}");
    let mut zed = server.named("Zed").await;
    zed.join("crowd", None).await;
    let arrived = first.next_where(|m| matches!(m, ServerMsg::Arrived { .. })).await;
    assert!(matches!(arrived, ServerMsg::Arrived { user, .. } if user.name == "Zed"));
}
