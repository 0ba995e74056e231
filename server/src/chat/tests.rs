//! The connection over a real loopback socket, without the HTTP upgrade: every
//! transport, the catch-up, rate limits, shutdown, and a fuzz target for hostile frames.

use super::{serve, Context, Plain, Protocol, Transport, MAX_ROOMS_PER_CONNECTION};
use crate::hub::Hub;
use crate::identity::Identity;
use crate::limits::Rate;
use crate::socket::{Frames, Liveness, Wire};
use crate::store::{sqlite::SqliteStore, Post};
use futures::{channel::mpsc, SinkExt, StreamExt};
use palaver_protocol::{ClientMsgId, Close, ErrorReason, RoomId, Seq, ServerMsg, User, UserId};
use std::{sync::Arc, time::Duration};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::{
    tungstenite::{protocol::Role, Message},
    WebSocketStream,
};
use tokio_util::sync::CancellationToken;

/// The test's end of a connection: frames it reads, and a queue of frames to send.
struct Peer {
    to_server: mpsc::UnboundedSender<Message>,
    from_server: futures::stream::SplitStream<WebSocketStream<TcpStream>>,
}

impl Peer {
    async fn next(&mut self) -> Message {
        tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
            .await
            .expect("a frame in time")
            .expect("socket open")
            .expect("a frame")
    }

    async fn next_msg(&mut self) -> ServerMsg {
        loop {
            match self.next().await {
                Message::Text(t) => return ServerMsg::decode(t.as_str()).unwrap(),
                Message::Ping(_) => continue,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    async fn next_text(&mut self) -> String {
        loop {
            match self.next().await {
                Message::Text(t) => return t.as_str().to_owned(),
                Message::Ping(_) => continue,
                other => panic!("expected a line, got {other:?}"),
            }
        }
    }

    /// The close code the server ends with, skipping what comes before it.
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next().await {
                Message::Close(frame) => return frame.map(|f| f.code.into()),
                Message::Text(_) | Message::Ping(_) => continue,
                other => panic!("{other:?}"),
            }
        }
    }

    fn send(&self, text: &str) {
        self.to_server.unbounded_send(Message::text(text)).unwrap();
    }
}

fn context(hub: &Arc<Hub>) -> Context {
    let identity = Identity::new(b"a test secret that is long enough".to_vec());
    Context {
        hub: hub.clone(),
        auth: Arc::new(crate::accounts::Auth::new(
            hub.store_handle(),
            Some(hub.clone()),
            identity.clone(),
            Default::default(),
        )),
        identity,
        liveness: Liveness::default(),
        rate: Rate::default(),
        shutdown: CancellationToken::new(),
        previews: None,
        files: Arc::new(crate::files::Files::new(
            crate::files::Storage::dir(&std::env::temp_dir().join("palaver-unit-files")).unwrap(),
            &Default::default(),
            hub.clone(),
        )),
    }
}

/// Runs a connection speaking `transport` over a loopback socket.
async fn connect_with<T: Transport>(cx: Context, transport: T) -> (Peer, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    // As the server's listener and browsers do: small frames go at once, not held back
    // until the last one's acknowledgement.
    for socket in [&client, &server] {
        socket.set_nodelay(true).unwrap();
    }
    let (frames, wire) = crate::socket::open(server, Default::default()).await;
    let task = tokio::spawn(serve(frames, wire, cx, transport, None));
    let (mut sink, from_server) = WebSocketStream::from_raw_socket(client, Role::Client, None).await.split();
    let (to_server, mut outgoing) = mpsc::unbounded();
    // Sends until the peer is dropped, then closes the socket.
    tokio::spawn(async move {
        while let Some(frame) = outgoing.next().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    (Peer { to_server, from_server }, task)
}

/// Runs a chat protocol connection against the hub.
async fn connect(hub: &Arc<Hub>) -> (Peer, tokio::task::JoinHandle<()>) {
    connect_with(context(hub), Protocol).await
}

async fn hub() -> (Arc<Hub>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let hub = Hub::start(Arc::new(SqliteStore::open(dir.path()).unwrap())).await.unwrap();
    (hub, dir)
}

/// Says hello and joins the lobby, skipping the answers.
async fn enter(peer: &mut Peer) {
    peer.send(r#"{"type":"hello","name":"Ann"}"#);
    peer.send(r#"{"type":"join","room":"lobby"}"#);
    while !matches!(peer.next_msg().await, ServerMsg::Joined { .. }) {}
}

#[tokio::test]
async fn answers_frames_and_relays_the_live_feed() {
    let (hub, _dir) = hub().await;
    let (mut peer, _task) = connect(&hub).await;
    peer.send(r#"{"type":"send","room":"lobby","id":"x","text":"hi"}"#);
    assert!(matches!(peer.next_msg().await, ServerMsg::Error { reason: ErrorReason::NotIdentified, .. }));
    enter(&mut peer).await;
    peer.send(r#"{"type":"send","room":"lobby","id":"x","text":"hi"}"#);
    let (mut message, mut ack) = (false, false);
    while !(message && ack) {
        match peer.next_msg().await {
            ServerMsg::Message(m) => message |= m.text == "hi",
            ServerMsg::Ack { seq: 1, .. } => ack = true,
            _ => {}
        }
    }
    peer.send("{");
    assert!(matches!(peer.next_msg().await, ServerMsg::Error { reason: ErrorReason::BadFrame, .. }));
}

#[tokio::test]
async fn posts_sent_without_waiting_are_acknowledged_in_order_after_their_commits() {
    let (hub, _dir) = hub().await;
    let (mut peer, _task) = connect(&hub).await;
    enter(&mut peer).await;
    // A burst the rate limit allows.
    for n in 0..10 {
        peer.send(&format!(r#"{{"type":"send","room":"lobby","id":"p{n}","text":"t{n}"}}"#));
    }
    let mut acks = Vec::new();
    while acks.len() < 10 {
        if let ServerMsg::Ack { id, seq, .. } = peer.next_msg().await {
            acks.push((id.0, seq));
        }
    }
    let expected: Vec<(String, Seq)> = (0..10).map(|n| (format!("p{n}"), n as Seq + 1)).collect();
    assert_eq!(acks, expected);
    let stored = hub.store().latest(&RoomId::lobby(), 50).await.unwrap().messages;
    assert_eq!(stored.len(), 10, "every acknowledged post is stored");
}

/// Bob posts `line 0`, `line 1`, ... to the lobby, all queued before any is stored: the
/// writer stores and sends them in a few large batches.
async fn bob_posts(hub: &Hub, count: usize) {
    let stored = tokio::task::unconstrained(async {
        let mut stored = Vec::new();
        for n in 0..count {
            stored.push(hub.submit(bob_says(n)).await.unwrap());
        }
        stored
    })
    .await;
    for outcome in stored {
        outcome.await.unwrap();
    }
}

fn bob_says(n: usize) -> Post {
    let bob = User { id: palaver_protocol::UserId("u-bob".into()), name: "Bob".into(), handle: None };
    Post::text(RoomId::lobby(), bob, ClientMsgId(format!("m{n}")), format!("line {n}"))
}

/// Bob's lines 0 to `count - 1`, all but the last stored without going out (as another
/// node's would be, told over a bus that lost them): the last one, sent live, shows
/// every reader the gap before it.
async fn bob_posts_out_of_sight(hub: &Hub, count: usize) {
    hub.store().append((0..count - 1).map(bob_says).collect()).await.unwrap();
    hub.post(bob_says(count - 1)).await.unwrap();
}

/// Waits until `count` people are in the lobby.
async fn lobby_holds(hub: &Hub, count: usize) -> Vec<User> {
    let online = async {
        loop {
            let online = hub.online(&RoomId::lobby());
            if online.len() == count {
                return online;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), online).await.expect("people in the lobby in time")
}

#[tokio::test]
async fn a_reader_that_misses_messages_catches_up_from_the_store_without_gaps() {
    let (hub, _dir) = hub().await;
    let (mut peer, _task) = connect(&hub).await;
    enter(&mut peer).await;
    // Within what a resume replays.
    let count = 150;
    bob_posts_out_of_sight(&hub, count).await;
    let (mut seqs, mut caught_up) = (Vec::new(), false);
    // A catch-up ends with the room's presence.
    while seqs.last() != Some(&(count as Seq)) || !caught_up {
        match peer.next_msg().await {
            ServerMsg::Message(m) => seqs.push(m.seq),
            // Sent only after a catch-up from the store.
            ServerMsg::Presence { .. } => caught_up = true,
            _ => {}
        }
    }
    assert_eq!(seqs, (1..=count as Seq).collect::<Vec<_>>(), "every message, once, in order");
}

#[tokio::test]
async fn a_join_during_a_burst_gets_the_history_then_every_later_message_once_in_order() {
    let (hub, _dir) = hub().await;
    let count = 600;
    let burst = tokio::spawn({
        let hub = hub.clone();
        async move {
            for chunk in 0..6 {
                let stored: Vec<_> =
                    futures::future::join_all((0..100).map(|n| hub.post(bob_says(chunk * 100 + n)))).await;
                assert!(stored.iter().all(|s| s.is_ok()));
            }
        }
    });
    let (mut peer, _task) = connect(&hub).await;
    peer.send(r#"{"type":"join","room":"lobby"}"#);
    let mut seqs: Vec<Seq> = loop {
        if let ServerMsg::Joined { messages, .. } = peer.next_msg().await {
            break messages.iter().map(|m| m.seq).collect();
        }
    };
    let first_live = seqs.last().map_or(1, |s| s + 1);
    while seqs.last() != Some(&(count as Seq)) {
        if let ServerMsg::Message(m) = peer.next_msg().await {
            seqs.push(m.seq);
        }
    }
    burst.await.unwrap();
    let first = seqs[0];
    assert_eq!(seqs, (first..=count as Seq).collect::<Vec<_>>(), "live from {first_live}: none twice, none missing");
}

/// Frames a hostile client might send: any text, frames of every type with made-up
/// values in every field, binary data.
fn hostile_frame() -> impl proptest::strategy::Strategy<Value = Message> {
    use proptest::prelude::*;
    let value = prop_oneof![
        Just("null".to_owned()),
        Just("\"lobby\"".to_owned()),
        Just("-1".to_owned()),
        Just("0".to_owned()),
        Just("1".to_owned()),
        Just("true".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("18446744073709551615".to_owned()),
        Just("\"👍\"".to_owned()),
        Just("\"all\"".to_owned()),
        // A private room nobody here is in, and a direct conversation's kind of name.
        Just("\"secret\"".to_owned()),
        Just("\"dm-00ff00ff00ff00ff00ff00ff\"".to_owned()),
        Just("\"a\\u0000b\"".to_owned()),
        Just(format!("\"{}\"", "@a ".repeat(600))),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        any::<String>().prop_map(|s| serde_json::Value::from(s).to_string()),
    ];
    // Every frame type there is, and one there is not.
    let kinds: Vec<&str> = palaver_protocol::FRAME_TYPES.iter().copied().chain(["nope"]).collect();
    let kind = prop::sample::select(kinds);
    let field = prop::sample::select(vec![
        "token", "name", "room", "after", "before", "id", "text", "target", "seq", "query", "reply_to", "emoji",
        "remove", "level",
    ]);
    let shaped = (kind, proptest::collection::vec((field, value), 0..6)).prop_map(|(kind, fields)| {
        let fields: String = fields.iter().map(|(f, v)| format!(",\"{f}\":{v}")).collect();
        Message::text(format!("{{\"type\":\"{kind}\"{fields}}}"))
    });
    prop_oneof![
        4 => shaped,
        1 => any::<String>().prop_map(Message::text),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Message::Binary(b.into())),
    ]
}

/// Runs of hostile frames through live connections to `hub`, each after a hello and a
/// join or not (so frames that need them get past those checks too): the connection is
/// still open afterwards, a message posted then is stored and acknowledged, and the
/// private room `secret` was never joined. More cases: `PROPTEST_CASES=N`.
fn fuzz_connections(runtime: &tokio::runtime::Runtime, hub: &Arc<Hub>) {
    use crate::store::rooms::{Kind, RoomRules};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let secret = RoomId::parse("secret").unwrap();
    let rules =
        RoomRules { kind: Kind::Private, made: true, members: vec![UserId("someone".into())], ..RoomRules::default() };
    runtime.block_on(hub.store_handle().make_room(&secret, &rules, None, 0)).unwrap();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(1_000);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let runs = (any::<bool>(), proptest::collection::vec(hostile_frame(), 1..16));
    // One context for every case, as the server has one for every connection.
    let cx = context(hub);
    let result = runner.run(&runs, |(entered, frames)| {
        runtime.block_on(async {
            let (mut peer, task) = connect_with(cx.clone(), Protocol).await;
            if entered {
                enter(&mut peer).await;
            }
            for frame in frames {
                peer.to_server.unbounded_send(frame).unwrap();
            }
            enter(&mut peer).await;
            assert!(!task.is_finished(), "the connection is still open");
            let post = r#"{"type":"send","room":"lobby","id":"after-the-fuzz","text":"still here"}"#;
            peer.send(post);
            loop {
                match peer.next_msg().await {
                    ServerMsg::Ack { id, .. } if id.0 == "after-the-fuzz" => break,
                    // The fuzz's own posts may have used up the rate: as a client would, wait.
                    ServerMsg::Error { reason: ErrorReason::RateLimited, retry_after_ms, .. } => {
                        tokio::time::sleep(Duration::from_millis(retry_after_ms.unwrap_or(100))).await;
                        peer.send(post);
                    }
                    ServerMsg::Error { id: Some(id), reason, .. } if id.0 == "after-the-fuzz" => {
                        panic!("a message after the fuzz was refused: {reason:?}")
                    }
                    ServerMsg::Joined { room, .. } if room == secret => panic!("a private room was joined"),
                    _ => {}
                }
            }
        });
        Ok(())
    });
    result.unwrap();
}

#[test]
fn fuzz_a_connection_survives_any_frames_and_keeps_working() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (hub, _dir) = runtime.block_on(hub());
    fuzz_connections(&runtime, &hub);
}

#[test]
fn fuzz_a_connection_on_postgres_survives_any_frames_and_keeps_working() {
    let pg = testkit::services::Postgres::start(Duration::from_secs(600)).expect("PostgreSQL (scripts/setup.sh)");
    pg.create_database("fuzz").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let hub = runtime.block_on(async {
        let store = crate::store::postgres::PostgresStore::open(&pg.url("fuzz")).await.unwrap();
        Hub::start(Arc::new(store)).await.unwrap()
    });
    fuzz_connections(&runtime, &hub);
}

#[tokio::test]
async fn a_room_is_let_go_when_its_last_connection_ends_without_leaving() {
    let (hub, _dir) = hub().await;
    let (mut peer, task) = connect(&hub).await;
    enter(&mut peer).await;
    assert_eq!(hub.live_rooms(), 1);
    drop(peer);
    task.await.unwrap();
    assert_eq!(hub.live_rooms(), 0, "no room kept for nobody");
}

#[tokio::test]
async fn joins_and_renames_are_rate_limited_and_a_refused_join_leaves_nothing_behind() {
    let (hub, _dir) = hub().await;
    let (mut peer, _task) = connect(&hub).await;
    peer.send(r#"{"type":"hello","name":"Ann"}"#);
    let token = loop {
        if let ServerMsg::Welcome { token, .. } = peer.next_msg().await {
            break token;
        }
    };
    peer.send(r#"{"type":"join","room":"lobby"}"#);
    while !matches!(peer.next_msg().await, ServerMsg::Joined { .. }) {}
    let mut refused = 0;
    for n in 0..40 {
        peer.send(&format!(r#"{{"type":"join","room":"r{n}"}}"#));
    }
    let mut answers = 0;
    while answers < 40 {
        match peer.next_msg().await {
            ServerMsg::Joined { .. } => answers += 1,
            ServerMsg::Error { reason, .. } => {
                answers += 1;
                refused += usize::from(reason == ErrorReason::RateLimited || reason == ErrorReason::BadRoom);
            }
            _ => {}
        }
    }
    assert!(refused >= 20, "a burst of room changes is cut short ({refused} refused)");
    assert!(answers - refused <= MAX_ROOMS_PER_CONNECTION);
    assert_eq!(hub.live_rooms(), 1 + answers - refused, "the lobby and the rooms joined: refused joins hold none");
    // Renames draw on the same allowance.
    peer.send(&format!(r#"{{"type":"hello","token":"{token}","name":"Ann Again"}}"#));
    loop {
        match peer.next_msg().await {
            ServerMsg::Error { reason: ErrorReason::RateLimited, detail, .. } => {
                assert_eq!(detail, "slow down: at most 2 renames a second");
                break;
            }
            ServerMsg::Welcome { .. } => panic!("a rename went through a spent allowance"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_plain_client_far_behind_gets_the_newest_lines_after_a_note() {
    let (hub, _dir) = hub().await;
    let (mut plain, _task) = connect_with(context(&hub), Plain::guest().unwrap()).await;
    lobby_holds(&hub, 1).await;
    // More than a resume replays.
    let count = palaver_protocol::MAX_REPLAY + 100;
    bob_posts_out_of_sight(&hub, count).await;
    assert_eq!(plain.next_text().await, "(some lines were missed; the newest follow)");
    let mut numbers = Vec::new();
    while numbers.last() != Some(&(count - 1)) {
        let line = plain.next_text().await;
        let n: usize = line.strip_prefix("Bob: line ").and_then(|n| n.parse().ok()).expect("a line of Bob's");
        numbers.push(n);
    }
    let first = numbers[0];
    assert!(first > count - palaver_protocol::MAX_REPLAY, "only the newest ({first} first)");
    assert_eq!(numbers, (first..count).collect::<Vec<_>>(), "in order, none twice, none missing after the note");
}

#[tokio::test]
async fn shutdown_closes_with_going_away() {
    let (hub, _dir) = hub().await;
    let cx = context(&hub);
    let shutdown = cx.shutdown.clone();
    let (mut peer, task) = connect_with(cx, Protocol).await;
    enter(&mut peer).await;
    shutdown.cancel();
    assert_eq!(peer.close_code().await, Some(Close::GoingAway.code()));
    tokio::time::timeout(Duration::from_secs(5), task).await.expect("the task ends").unwrap();
    assert!(hub.online(&RoomId::lobby()).is_empty(), "a closed connection is nobody's presence");
}

#[tokio::test]
async fn a_plain_client_is_a_guest_in_the_lobby_speaking_lines() {
    let (hub, _dir) = hub().await;
    let (mut plain, _task) = connect_with(context(&hub), Plain::guest().unwrap()).await;
    // The guest is listed in the lobby once its connection has opened.
    let guest = lobby_holds(&hub, 1).await.remove(0);
    let (mut ann, _ann_task) = connect(&hub).await;
    enter(&mut ann).await;
    assert!(guest.name.starts_with("guest-") && guest.name.len() == 10, "{}", guest.name);
    ann.send(r#"{"type":"send","room":"lobby","id":"a1","text":"hello guest"}"#);
    assert_eq!(plain.next_text().await, "Ann: hello guest");
    plain.send("  hi Ann  ");
    let m = loop {
        match ann.next_msg().await {
            ServerMsg::Message(m) if m.author.name != "Ann" => break m,
            _ => {}
        }
    };
    assert_eq!((m.author.name.as_str(), m.text.as_str()), (guest.name.as_str(), "hi Ann"));
    assert_eq!(plain.next_text().await, format!("{}: hi Ann", guest.name), "a guest sees its own lines too");
    plain.send("   ");
    assert_eq!(plain.next_text().await, "error: message text is empty");
    plain.to_server.unbounded_send(Message::Binary(vec![1, 2].into())).unwrap();
    assert_eq!(plain.close_code().await, Some(Close::Unsupported.code()));
}

#[tokio::test]
async fn a_plain_client_gets_every_line_of_a_burst_once_in_order() {
    let (hub, _dir) = hub().await;
    let (mut plain, _task) = connect_with(context(&hub), Plain::guest().unwrap()).await;
    lobby_holds(&hub, 1).await;
    let count = 300;
    bob_posts(&hub, count).await;
    for n in 0..count {
        assert_eq!(plain.next_text().await, format!("Bob: line {n}"), "every line, once, in order");
    }
}

#[tokio::test]
async fn a_plain_client_that_misses_lines_gets_them_from_the_store() {
    let (hub, _dir) = hub().await;
    let (mut plain, _task) = connect_with(context(&hub), Plain::guest().unwrap()).await;
    lobby_holds(&hub, 1).await;
    let count = 150;
    bob_posts_out_of_sight(&hub, count).await;
    for n in 0..count {
        assert_eq!(plain.next_text().await, format!("Bob: line {n}"), "every line, once, in order");
    }
}

/// An idle connection's memory is mostly its task: the future below, which holds the
/// socket's reading side too. It is checked here so that a change that grows it (an
/// unboxed rare path, a second copy of something) shows up as a failure, not as a slow
/// creep in the idle benchmark.
#[test]
fn a_connection_task_stays_small() {
    use futures::FutureExt;
    fn size_of_return<A, R>(_: impl Fn(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }
    let task = size_of_return(|(frames, wire, cx): (Frames, Arc<Wire>, Context)| {
        serve(frames, wire, cx, Protocol, None).map(|()| ())
    });
    let reading = std::mem::size_of::<Frames>();
    eprintln!("a chat connection's future: {task} bytes, of which reading {reading}");
    assert!(task - reading <= 1600, "a chat connection's future takes {task} bytes, {reading} of them reading");
}

#[tokio::test]
async fn a_plain_client_catching_up_reads_each_edit_with_the_text_as_it_is_now() {
    let (hub, _dir) = hub().await;
    let (mut plain, _task) = connect_with(context(&hub), Plain::guest().unwrap()).await;
    lobby_holds(&hub, 1).await;
    let Post { room, author, .. } = bob_says(0);
    let edit = |id: &str, text: &str| Post::edit(room.clone(), author.clone(), ClientMsgId(id.into()), 1, text.into());
    // Bob's line and two edits, the first with what he then took out, stored out of
    // sight (another node's, lost on the bus); his next line, sent live, shows the gap.
    let stored = vec![bob_says(0), edit("e1", "line 0 and hunter2xyzzy"), edit("e2", "line 0, again")];
    hub.store().append(stored).await.unwrap();
    hub.post(bob_says(1)).await.unwrap();
    let lines =
        ["Bob: line 0, again (edited)", "Bob edited: line 0, again", "Bob edited: line 0, again", "Bob: line 1"];
    for line in lines {
        assert_eq!(plain.next_text().await, line);
    }
}
