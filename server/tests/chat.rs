//! The real server binary over real sockets: broadcast, ordering, validation, resume,
//! the server-rendered page and graceful shutdown.

mod common;

use app::protocol::{
    ChatMessage, ClientMsgId, ErrorReason, ServerMsg, CLOSE_GOING_AWAY, CLOSE_INVALID_UTF8, CLOSE_TOO_BIG,
    MAX_FRAME_BYTES, MAX_TEXT_CHARS,
};
use common::{Client, TestServer};
use std::time::Duration;
use tokio_tungstenite::tungstenite::{
    protocol::frame::{coding::OpCode, Frame},
    Message,
};

fn id(s: &str) -> ClientMsgId {
    ClientMsgId(s.into())
}

async fn history(client: &mut Client) -> (Vec<ChatMessage>, bool) {
    match client.next().await {
        ServerMsg::History { messages, complete } => (messages, complete),
        other => panic!("expected history first, got {other:?}"),
    }
}

async fn next_message(client: &mut Client) -> ChatMessage {
    loop {
        match client.next().await {
            ServerMsg::Message(m) => return m,
            ServerMsg::Ack { .. } => continue,
            other => panic!("expected a message, got {other:?}"),
        }
    }
}

async fn expect_error(client: &mut Client, reason: ErrorReason) -> ServerMsg {
    let msg = client.next().await;
    match &msg {
        ServerMsg::Error { reason: r, detail, .. } if *r == reason && !detail.is_empty() => msg,
        other => panic!("expected a {reason:?} error, got {other:?}"),
    }
}

#[tokio::test]
async fn both_clients_receive_every_message_in_one_order() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    assert_eq!(history(&mut alice).await, (vec![], true));
    assert_eq!(history(&mut bob).await, (vec![], true));

    alice.send_text("a1", "hello from alice").await;
    bob.send_text("b1", "hi alice").await;
    alice.send_text("a2", "how are you?").await;
    bob.send_text("b2", "<script>alert(1)</script>").await;

    let mut seen_by_alice = Vec::new();
    let mut seen_by_bob = Vec::new();
    for _ in 0..4 {
        seen_by_alice.push(next_message(&mut alice).await);
        seen_by_bob.push(next_message(&mut bob).await);
    }
    assert_eq!(seen_by_alice, seen_by_bob, "everyone sees the same messages in the same order");
    let seqs: Vec<_> = seen_by_alice.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    let from_alice: Vec<_> =
        seen_by_alice.iter().filter(|m| m.id.0.starts_with('a')).map(|m| m.text.as_str()).collect();
    assert_eq!(from_alice, ["hello from alice", "how are you?"], "one sender's messages keep their order");
    assert!(seen_by_alice.iter().any(|m| m.text == "<script>alert(1)</script>"), "text is carried verbatim");
    assert!(seen_by_alice.iter().all(|m| m.sent_at > 1_600_000_000_000));
}

#[tokio::test]
async fn the_sender_gets_an_ack_with_the_number_everyone_sees() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    history(&mut alice).await;
    alice.send_text("a1", "  padded  ").await;
    let (mut ack, mut message) = (None, None);
    while ack.is_none() || message.is_none() {
        match alice.next().await {
            ServerMsg::Ack { id, seq } => ack = Some((id, seq)),
            ServerMsg::Message(m) => message = Some(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    let message = message.unwrap();
    assert_eq!(ack, Some((id("a1"), message.seq)));
    assert_eq!(message.text, "padded", "text is trimmed");
}

#[tokio::test]
async fn bad_frames_get_error_events_and_the_socket_stays_usable() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    history(&mut alice).await;
    history(&mut bob).await;

    alice.send_raw(Message::text("this is not json")).await;
    expect_error(&mut alice, ErrorReason::BadFrame).await;
    alice.send_raw(Message::text(r#"{"type":"send","text":"no id"}"#)).await;
    expect_error(&mut alice, ErrorReason::BadFrame).await;
    alice.send_raw(Message::text(r#"{"type":"shout","text":"hey"}"#)).await;
    let err = expect_error(&mut alice, ErrorReason::UnknownType).await;
    assert!(matches!(err, ServerMsg::Error { detail, .. } if detail.contains("shout")));
    alice.send_raw(Message::binary(vec![1, 2, 3])).await;
    expect_error(&mut alice, ErrorReason::BinaryUnsupported).await;
    alice.send_text("blank", " \n\t ").await;
    let err = expect_error(&mut alice, ErrorReason::EmptyText).await;
    assert!(matches!(err, ServerMsg::Error { id: Some(i), .. } if i == id("blank")));
    alice.send_text("long", &"x".repeat(MAX_TEXT_CHARS + 1)).await;
    expect_error(&mut alice, ErrorReason::TextTooLong).await;
    alice.send_text(&"i".repeat(65), "hi").await;
    expect_error(&mut alice, ErrorReason::BadId).await;

    // Nothing refused reached anyone, and the socket still works.
    alice.send_text("ok", "still here").await;
    let m = next_message(&mut bob).await;
    assert_eq!((m.seq, m.text.as_str()), (1, "still here"));
    assert_eq!(next_message(&mut alice).await, m);
}

#[tokio::test]
async fn a_resent_message_appears_once() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    let mut bob = server.client().await;
    history(&mut alice).await;
    history(&mut bob).await;
    alice.send_text("dup", "once").await;
    alice.send_text("dup", "once").await;
    alice.send_text("next", "after").await;
    assert_eq!(next_message(&mut bob).await.text, "once");
    assert_eq!(next_message(&mut bob).await.text, "after");
    let mut acks = Vec::new();
    while acks.len() < 3 {
        if let ServerMsg::Ack { id, seq } = alice.next().await {
            acks.push((id.0, seq));
        }
    }
    assert_eq!(acks, [("dup".into(), 1), ("dup".into(), 1), ("next".into(), 2)]);
}

#[tokio::test]
async fn a_reconnecting_client_gets_exactly_what_it_missed() {
    let server = TestServer::start();
    let mut alice = server.client().await;
    history(&mut alice).await;
    for n in 1..=5 {
        alice.send_text(&format!("a{n}"), &format!("message {n}")).await;
    }
    // The fifth broadcast back to alice means all five are in.
    for _ in 0..5 {
        next_message(&mut alice).await;
    }
    let mut late = Client::connect(&server.ws_url("/ws?after=2")).await;
    let (missed, complete) = history(&mut late).await;
    assert!(complete);
    assert_eq!(missed.iter().map(|m| m.text.as_str()).collect::<Vec<_>>(), ["message 3", "message 4", "message 5"]);

    let mut fresh = server.client().await;
    assert_eq!(history(&mut fresh).await.0.len(), 5, "a new page sees the recent messages");

    // A number this server never gave out (from before a restart) is flagged as a gap.
    let mut stale = Client::connect(&server.ws_url("/ws?after=999")).await;
    let (recent, complete) = history(&mut stale).await;
    assert!(!complete);
    assert_eq!(recent.len(), 5);
}

#[tokio::test]
async fn a_bad_resume_query_is_a_clear_http_error() {
    let server = TestServer::start();
    let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /ws?after=yesterday HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        server.addr
    )
    .unwrap();
    stream.set_read_timeout(Some(common::WAIT)).unwrap();
    let mut buf = [0u8; 512];
    let n = stream.read(&mut buf).unwrap();
    let reply = String::from_utf8_lossy(&buf[..n]);
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(reply.contains("bad query"), "{reply}");
}

#[tokio::test]
async fn oversized_and_invalid_utf8_frames_close_with_their_codes() {
    let server = TestServer::start();
    let mut big = server.client().await;
    let mut bystander = server.client().await;
    history(&mut big).await;
    history(&mut bystander).await;
    big.send_raw(Message::text("x".repeat(MAX_FRAME_BYTES + 1))).await;
    let close = big.next_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), CLOSE_TOO_BIG);

    let mut garbled = server.client().await;
    history(&mut garbled).await;
    let frame = Frame::message(
        vec![0xff, 0xfe, 0x41],
        OpCode::Data(tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text),
        true,
    );
    garbled.send_raw(Message::Frame(frame)).await;
    let close = garbled.next_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), CLOSE_INVALID_UTF8);

    // Everyone else carries on.
    bystander.send_text("b", "still fine").await;
    assert_eq!(next_message(&mut bystander).await.text, "still fine");
}

#[tokio::test]
async fn the_page_is_server_rendered_and_complete_without_javascript() {
    let server = TestServer::start();
    let (status, html) = server.get("/");
    assert_eq!(status, 200);
    for needle in [
        "<title>Palaver</title>",
        r#"data-testid="message-list""#,
        r#"data-testid="composer-input""#,
        r#"placeholder="Write a message…""#,
        r#"data-testid="send-button""#,
        r#"data-testid="connection-status""#,
        "Connecting…",
    ] {
        assert!(html.contains(needle), "SSR HTML lacks {needle}:\n{html}");
    }
    let (status, _) = server.get("/no/such/page");
    assert_eq!(status, 404);
}

#[tokio::test]
async fn sigterm_closes_connections_with_going_away_and_exits() {
    let mut server = TestServer::start();
    let mut alice = server.client().await;
    history(&mut alice).await;
    server.signal("TERM");
    let close = alice.next_close().await.expect("a close frame");
    assert_eq!(u16::from(close.code), CLOSE_GOING_AWAY);
    let status = server.wait_exit(Duration::from_secs(10)).expect("the server exits after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_client_too_far_behind_is_closed_as_slow_and_told_to_resync() {
    use app::protocol::CLOSE_SLOW_CONSUMER;
    // Far more than the socket buffers and the replay backlog hold together.
    const TOTAL: usize = 3_000;
    let server = TestServer::start();
    let mut slow = server.client().await;
    history(&mut slow).await;

    let mut poster = server.client().await;
    history(&mut poster).await;
    let body = "\u{1F600}".repeat(MAX_TEXT_CHARS);
    let poster_task = tokio::spawn(async move {
        use futures::{SinkExt, StreamExt};
        let (mut sink, mut stream) = poster.ws.split();
        let reader = tokio::spawn(async move {
            let mut acks = 0;
            while acks < TOTAL {
                match stream.next().await {
                    Some(Ok(Message::Text(t)))
                        if matches!(ServerMsg::decode(t.as_str()), Ok(ServerMsg::Ack { .. })) =>
                    {
                        acks += 1
                    }
                    Some(Ok(_)) => {}
                    other => panic!("poster's socket ended: {other:?}"),
                }
            }
        });
        for n in 0..TOTAL {
            let frame = app::protocol::ClientMsg::Send { id: id(&format!("p{n}")), text: body.clone() }.encode();
            sink.send(Message::text(frame)).await.unwrap();
        }
        reader.await.unwrap();
    });
    tokio::time::timeout(Duration::from_secs(60), poster_task).await.expect("poster finished").unwrap();

    // Now read: what was buffered arrives without holes, then the close that says "too slow".
    let mut last_seq = 0;
    let close = loop {
        match slow.next_raw().await {
            Message::Text(t) => match ServerMsg::decode(t.as_str()).unwrap() {
                ServerMsg::Message(m) => {
                    assert_eq!(m.seq, last_seq + 1, "no gap before the close");
                    last_seq = m.seq;
                }
                other => panic!("unexpected {other:?}"),
            },
            Message::Close(frame) => break frame.expect("a close frame"),
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), CLOSE_SLOW_CONSUMER);
    assert!(last_seq < TOTAL as u64);

    // Resuming cannot replay all of it, and says so; the newest messages come with it.
    let mut resumed = Client::connect(&server.ws_url(&format!("/ws?after={last_seq}"))).await;
    let (recent, complete) = history(&mut resumed).await;
    assert!(!complete);
    assert_eq!(recent.last().map(|m| m.seq), Some(TOTAL as u64));
}
