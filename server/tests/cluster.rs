//! Several Palaver nodes sharing a real PostgreSQL database and a real Redis, each a
//! real server binary: messages, presence and typing across nodes, two nodes posting to
//! one room at once, a node killed (-9) under load, Redis killed and restarted,
//! PostgreSQL stopped and started, and events forged or replayed on Redis.

use crate::common;

use common::{room_id, Client, TestServer};
use futures::{SinkExt, StreamExt};
use palaver_protocol::{ClientMsg, ClientMsgId, ErrorReason, Seq, ServerMsg};
use server::bus::{
    signing::{now_ms, BusKey},
    Envelope, Event, NodeId,
};
use server::identity::Identity;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};
use testkit::services::{Postgres, Redis};
use tokio_tungstenite::tungstenite::Message;

/// The longest the database and Redis of one test may live.
const LIFETIME: Duration = Duration::from_secs(300);

struct Cluster {
    pg: Postgres,
    redis: Redis,
    nodes: Vec<TestServer>,
    /// Settings every node gets besides the shared database and Redis.
    extra: Vec<(String, String)>,
}

impl Cluster {
    fn start(nodes: usize) -> Cluster {
        Cluster::start_with(nodes, &[])
    }

    fn start_with(nodes: usize, extra: &[(&str, &str)]) -> Cluster {
        let pg = Postgres::start(LIFETIME).expect("PostgreSQL (scripts/setup.sh installs it)");
        pg.create_database("palaver").unwrap();
        let redis = Redis::start(LIFETIME).expect("Redis (scripts/setup.sh installs it)");
        let extra = extra.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut cluster = Cluster { pg, redis, nodes: Vec::new(), extra };
        for _ in 0..nodes {
            cluster.add_node();
        }
        cluster
    }

    fn add_node(&mut self) {
        let (db, redis) = (self.pg.url("palaver"), self.redis.url());
        let data = Arc::new(tempfile::tempdir().unwrap());
        let mut env = vec![("PALAVER_DATABASE_URL", db.as_str()), ("PALAVER_REDIS_URL", redis.as_str())];
        env.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.nodes.push(TestServer::binary_in(data, &env));
    }

    fn url(&self, node: usize) -> String {
        self.nodes[node].ws_url("/ws")
    }

    /// What the database holds for a room: (author name, client id, number), by number.
    fn stored(&self, room: &str) -> Vec<(String, String, Seq)> {
        let rows = self
            .pg
            .sql(
                "palaver",
                &format!("SELECT author_name, client_id, seq FROM messages WHERE room = '{room}' ORDER BY seq"),
            )
            .unwrap();
        rows.lines()
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (f[0].to_owned(), f[1].to_owned(), f[2].parse().unwrap())
            })
            .collect()
    }
}

/// A client of `node` that has said hello as `name` and joined `room`.
async fn member(cluster: &Cluster, node: usize, name: &str, room: &str) -> Client {
    let mut client = cluster.nodes[node].named(name).await;
    client.join(room, None).await;
    client
}

/// Reads messages of `room` until number `last` has come; returns their numbers in
/// the order they came. Fails if they stop coming for `patience`.
async fn numbers_until(client: &mut Client, last: Seq, patience: Duration) -> Vec<Seq> {
    let mut seen = Vec::new();
    while seen.last() != Some(&last) {
        match client.next_within(patience).await {
            Some(ServerMsg::Message(m)) => seen.push(m.seq),
            Some(_) => {}
            None => panic!("no message for {patience:?}; got {} so far, the last {:?}", seen.len(), seen.last()),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_presence_and_typing_cross_nodes_both_ways_and_plain_clients_get_them() {
    let cluster = Cluster::start(2);
    let mut ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = cluster.nodes[1].named("Bob").await;
    let (_, _, online) = bob.join("r", None).await;
    assert_eq!(online.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["Ann", "Bob"], "Ann on the other node");
    // Bob's arrival on the other node reaches Ann (or this waits in vain and fails).
    ann.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Bob")).await;

    ann.say("r", "a1", "hello from node 0").await;
    assert_eq!(ann.next_ack().await, ("a1".into(), 1));
    let m = bob.next_message().await;
    assert_eq!((m.seq, m.text.as_str(), m.author.name.as_str()), (1, "hello from node 0", "Ann"));
    bob.say("r", "b1", "and back from node 1").await;
    assert_eq!(bob.next_ack().await, ("b1".into(), 2));
    let m = ann.next_message().await;
    assert_eq!((m.seq, m.text.as_str()), (2, "and back from node 1"));

    bob.send_msg(ClientMsg::Typing { room: room_id("r") }).await;
    let typing = ann.next_where(|m| matches!(m, ServerMsg::Typing { .. })).await;
    assert!(matches!(typing, ServerMsg::Typing { user, .. } if user.name == "Bob"));

    // Ann's session token, made on node 0, is good on node 1: one secret for all nodes.
    let mut ann_elsewhere = cluster.nodes[1].client().await;
    let (user, _) = ann_elsewhere.hello(Some(&ann.token()), None).await;
    assert_eq!(user, ann.user());
    // Her second tab, on the other node: still one person in the room.
    let (_, _, online) = ann_elsewhere.join("r", None).await;
    assert_eq!(online.len(), 2);

    // Her read position follows her across nodes: read on one, her tab on the other is
    // told; a message counts for both; read on the other, and it is gone on the first.
    for tab in [&mut ann, &mut ann_elsewhere] {
        tab.send_msg(ClientMsg::Unread).await;
        tab.next_where(|m| matches!(m, ServerMsg::Unread { all: true, .. })).await;
    }
    let counts_of_r = |m: &ServerMsg| match m {
        ServerMsg::Unread { rooms, .. } => {
            rooms.iter().find(|r| r.room.as_str() == "r").map(|r| (r.read, r.unread, r.first))
        }
        _ => None,
    };
    async fn next_counts(
        tab: &mut Client,
        counts: impl Fn(&ServerMsg) -> Option<(Option<Seq>, u32, Option<Seq>)>,
    ) -> (Option<Seq>, u32, Option<Seq>) {
        let frame = tab.next_where(|m| counts(m).is_some()).await;
        counts(&frame).unwrap()
    }
    ann.send_msg(ClientMsg::Read { room: room_id("r"), seq: 2 }).await;
    for tab in [&mut ann, &mut ann_elsewhere] {
        assert_eq!(next_counts(tab, counts_of_r).await, (Some(2), 0, None));
    }
    bob.say("r", "b2", "counted on both nodes").await;
    assert_eq!(next_counts(&mut ann, counts_of_r).await, (Some(2), 1, Some(3)));
    // (Her tab there is sent the message too, before or after its count.)
    let (mut counted, mut sent) = (None, false);
    while counted.is_none() || !sent {
        let frame = ann_elsewhere.next_where(|m| counts_of_r(m).is_some() || matches!(m, ServerMsg::Message(_))).await;
        sent |= matches!(&frame, ServerMsg::Message(m) if m.seq == 3);
        counted = counted.or(counts_of_r(&frame));
    }
    assert_eq!(counted, Some((Some(2), 1, Some(3))));
    ann_elsewhere.send_msg(ClientMsg::Read { room: room_id("r"), seq: 3 }).await;
    assert_eq!(next_counts(&mut ann, counts_of_r).await, (Some(3), 0, None));
    // Left for good on one node: off her list on the other too.
    ann_elsewhere.send_msg(ClientMsg::Forget { room: room_id("r") }).await;
    ann.next_where(|m| matches!(m, ServerMsg::Unread { left, .. } if left.iter().any(|r| r.as_str() == "r"))).await;

    // A plain WebSocket client in the lobby of node 1 reads what is said on node 0.
    let mut plain = Client::connect(&cluster.nodes[1].ws_url("/")).await;
    let (_, _, online) = ann.join("lobby", None).await;
    // The guest's arrival is seen on node 0 before Ann speaks, so it is listening (Ann
    // is told of her own arrival too: that one does not count).
    if !online.iter().any(|u| u.name != "Ann") {
        ann.next_where(
            |m| matches!(m, ServerMsg::Arrived { room, user } if room.as_str() == "lobby" && user.name != "Ann"),
        )
        .await;
    }
    ann.say("lobby", "a2", "hi guest").await;
    assert_eq!(plain.next_raw().await, Message::text("Ann: hi guest"));
    plain.send_raw(Message::text("hello from a plain socket")).await;
    let m = ann.next_where(|m| matches!(m, ServerMsg::Message(m) if m.room.as_str() == "lobby" && m.seq == 2)).await;
    assert!(matches!(&m, ServerMsg::Message(m) if m.text == "hello from a plain socket"), "the guest's line: {m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_posting_to_one_room_at_once_give_every_receiver_gapless_increasing_numbers() {
    let cluster = Cluster::start(3);
    let mut readers = Vec::new();
    for node in 0..3 {
        readers.push(member(&cluster, node, &format!("Reader{node}"), "busy").await);
    }
    const EACH: usize = 150;
    let mut senders = Vec::new();
    for node in 0..2 {
        let mut sender = member(&cluster, node, &format!("Sender{node}"), "busy").await;
        senders.push(tokio::spawn(async move {
            for n in 0..EACH {
                sender.say("busy", &format!("{n}"), &format!("from node {node}: {n}")).await;
            }
            let mut acks = Vec::new();
            while acks.len() < EACH {
                acks.push(sender.next_ack().await.1);
            }
            acks
        }));
    }
    for sender in senders {
        let acks = sender.await.unwrap();
        assert!(acks.windows(2).all(|w| w[0] < w[1]), "a sender's messages keep their order");
    }
    let total = 2 * EACH as Seq;
    for (node, reader) in readers.iter_mut().enumerate() {
        let seen = numbers_until(reader, total, Duration::from_secs(10)).await;
        assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "node {node}: every number once, in order");
    }
}

/// One sender's record: every id it sent with the number it was acknowledged as.
struct Sent {
    acked: HashMap<String, Seq>,
    resent: usize,
    moved: bool,
}

/// Posts `count` messages, a few unacknowledged at a time, to the first of `nodes`;
/// when its node goes away it says hello again on the next with its token, rejoins
/// and resends whatever was not acknowledged, as the page does.
async fn send_through_failover(nodes: Vec<String>, name: String, room: &'static str, count: usize) -> Sent {
    let mut sent = Sent { acked: HashMap::new(), resent: 0, moved: false };
    let mut pending: BTreeMap<usize, String> = BTreeMap::new();
    let mut next = 0;
    let mut token: Option<String> = None;
    for (attempt, url) in nodes.iter().enumerate() {
        let mut client = Client::connect(url).await;
        let (_, t) = client.hello(token.as_deref(), if token.is_none() { Some(&name) } else { None }).await;
        token = Some(t);
        client.join(room, None).await;
        if attempt > 0 {
            sent.moved = true;
            sent.resent += pending.len();
        }
        let post = |id: &str| {
            let send = ClientMsg::Send {
                room: room_id(room),
                id: ClientMsgId(id.into()),
                text: format!("{name} {id}"),
                reply_to: None,
                files: Vec::new(),
            };
            Message::text(send.encode())
        };
        let mut alive = true;
        for id in pending.values() {
            alive &= client.ws.send(post(id)).await.is_ok();
        }
        while alive {
            while pending.len() < 4 && next < count {
                let id = format!("{name}-{next}");
                // Sent or not, it is pending until acknowledged.
                alive &= client.ws.send(post(&id)).await.is_ok();
                pending.insert(next, id);
                next += 1;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            if pending.is_empty() {
                return sent;
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), client.ws.next()).await.expect("an answer");
            match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerMsg::Ack { id, seq, .. }) = ServerMsg::decode(text.as_str()) {
                        pending.retain(|_, p| *p != id.0);
                        if let Some(before) = sent.acked.insert(id.0.clone(), seq) {
                            assert_eq!(before, seq, "{id:?} acknowledged as two numbers");
                        }
                    }
                }
                Some(Ok(Message::Ping(data))) => {
                    let _ = client.ws.send(Message::Pong(data)).await;
                }
                Some(Ok(_)) => {}
                // The node is gone: on to the next.
                None | Some(Err(_)) => alive = false,
            }
        }
    }
    panic!("{name}: no node left with {} messages unacknowledged", pending.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_no_acknowledged_message_and_stores_none_twice() {
    let mut cluster = Cluster::start(2);
    let mut reader = member(&cluster, 1, "Reader", "load").await;
    const SENDERS: usize = 20;
    const EACH: usize = 60;
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        // Half on the node that dies (they move to the other), half on the survivor.
        let nodes = if s % 2 == 0 { vec![cluster.url(0), cluster.url(1)] } else { vec![cluster.url(1)] };
        senders.push(tokio::spawn(send_through_failover(nodes, format!("s{s}"), "load", EACH)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.nodes[0].process().signal("KILL");
    let mut acked: HashMap<String, Seq> = HashMap::new();
    let (mut resent, mut moved) = (0, 0);
    for sender in senders {
        let sent = sender.await.unwrap();
        resent += sent.resent;
        moved += usize::from(sent.moved);
        acked.extend(sent.acked);
    }
    let total = (SENDERS * EACH) as Seq;
    eprintln!("{moved} senders moved nodes, resending {resent} unacknowledged messages");
    assert_eq!(moved, SENDERS / 2, "every sender on the killed node moved");
    assert!(resent > 0, "posts were in flight when the node died");
    assert_eq!(acked.len(), total as usize, "every message acknowledged in the end");

    let stored = cluster.stored("load");
    assert_eq!(stored.len(), total as usize, "each message stored once");
    assert_eq!(stored.iter().map(|r| r.2).collect::<Vec<_>>(), (1..=total).collect::<Vec<_>>(), "gapless");
    for (_, id, seq) in &stored {
        assert_eq!(acked.get(id), Some(seq), "{id}: stored as the number it was acknowledged as");
    }
    let seen = numbers_until(&mut reader, total, Duration::from_secs(10)).await;
    assert_eq!(seen, (1..=total).collect::<Vec<_>>(), "the survivor's reader got each message once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_loses_nothing_and_live_delivery_resumes() {
    let mut cluster = Cluster::start(2);
    let mut reader = member(&cluster, 1, "Reader", "r").await;
    let mut sender = member(&cluster, 0, "Sender", "r").await;
    const COUNT: Seq = 400;
    let send = tokio::spawn(async move {
        for n in 0..COUNT {
            sender.say("r", &format!("m{n}"), &format!("message {n}")).await;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for _ in 0..COUNT {
            sender.next_ack().await;
        }
        sender
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    cluster.redis.kill();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    cluster.redis.resume().unwrap();
    let mut sender = send.await.unwrap();
    let seen = numbers_until(&mut reader, COUNT, Duration::from_secs(10)).await;
    assert_eq!(seen, (1..=COUNT).collect::<Vec<_>>(), "every message once, in order, Redis outage or not");

    // Both nodes subscribed again...
    let deadline = Instant::now() + Duration::from_secs(15);
    while !cluster.redis.command(&["PUBSUB", "SHARDNUMSUB", "palaver:room:r"]).unwrap_or_default().ends_with(":2\r\n") {
        assert!(Instant::now() < deadline, "the nodes did not subscribe to Redis again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ...and live through Redis: each message in well under the 1 s the store check takes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut slowest = Duration::ZERO;
    for n in 0..8 {
        let started = Instant::now();
        sender.say("r", &format!("after{n}"), "after the outage").await;
        let m = reader.next_message().await;
        assert_eq!(m.seq, COUNT + 1 + n);
        slowest = slowest.max(started.elapsed());
    }
    eprintln!("slowest delivery across nodes after Redis came back: {slowest:?}");
    assert!(slowest < Duration::from_millis(500), "delivered live, not by the store check: {slowest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_gives_clear_retryable_errors_and_the_nodes_recover_by_themselves() {
    let mut cluster = Cluster::start(2);
    let mut ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = member(&cluster, 1, "Bob", "r").await;
    ann.say("r", "1", "before").await;
    assert_eq!(ann.next_ack().await.1, 1);

    cluster.pg.pause();
    let started = Instant::now();
    ann.say("r", "2", "while the database is away").await;
    match ann.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Ack { .. })).await {
        ServerMsg::Error { reason, id, detail, .. } => {
            assert_eq!(reason, ErrorReason::Unavailable, "retryable: {detail}");
            assert_eq!(id, Some(ClientMsgId("2".into())), "says which message");
        }
        other => panic!("acknowledged without a database: {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10), "an error, not a hang");

    cluster.pg.resume().unwrap();
    // The page resends until it is acknowledged.
    let deadline = Instant::now() + Duration::from_secs(20);
    let seq = loop {
        ann.say("r", "2", "while the database is away").await;
        match ann.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Ack { .. })).await {
            ServerMsg::Ack { seq, .. } => break seq,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(200)).await,
            other => panic!("not recovered: {other:?}"),
        }
    };
    assert_eq!(seq, 2);
    let m = bob.next_where(|m| matches!(m, ServerMsg::Message(m) if m.seq == 2)).await;
    assert!(matches!(m, ServerMsg::Message(m) if m.text == "while the database is away"));
    bob.say("r", "b", "the other node recovered too").await;
    assert_eq!(bob.next_ack().await.1, 3);
    assert_eq!(cluster.stored("r").len(), 3, "the resends stored once");
    for node in &mut cluster.nodes {
        assert!(node.process().wait_exit(Duration::ZERO).is_none(), "no node exited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_people_leave_every_list_within_30_seconds() {
    let mut cluster = Cluster::start(2);
    let _ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = cluster.nodes[1].named("Bob").await;
    let (_, _, online) = bob.join("r", None).await;
    // Ann is listed on Bob's node once her node's word of her has come through Redis.
    if online.len() < 2 {
        bob.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Ann")).await;
    }
    cluster.nodes[0].process().signal("KILL");
    let killed = Instant::now();
    let limit = Duration::from_secs(30);
    loop {
        match bob.next_within(limit.saturating_sub(killed.elapsed())).await {
            Some(ServerMsg::Departed { user, .. }) if user.name == "Ann" => break,
            Some(_) => {}
            None => panic!("Ann still listed {limit:?} after her node died"),
        }
    }
    eprintln!("a killed node's people left the list after {:?}", killed.elapsed());
    bob.send_msg(ClientMsg::Join { room: room_id("r"), after: Some(0) }).await;
    match bob.next_where(|m| matches!(m, ServerMsg::Joined { .. })).await {
        ServerMsg::Joined { online, .. } => assert_eq!(online.len(), 1, "only Bob: {online:?}"),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn a_resend_to_another_node_is_stored_once() {
    let cluster = Cluster::start(2);
    let mut ann = member(&cluster, 0, "Ann", "r").await;
    ann.say("r", "once", "said once").await;
    let (_, seq) = ann.next_ack().await;
    // Her node acknowledged, but she never heard it: she resends to the other node.
    let mut again = cluster.nodes[1].client().await;
    again.hello(Some(&ann.token()), None).await;
    again.join("r", None).await;
    again.say("r", "once", "said once").await;
    assert_eq!(again.next_ack().await, ("once".into(), seq), "the same number");
    assert_eq!(cluster.stored("r").len(), 1);
}

#[test]
fn redis_without_postgres_is_refused_and_postgres_alone_warns_of_one_node() {
    let data = tempfile::tempdir().unwrap();
    let out = common::binary_command(data.path(), &[("PALAVER_REDIS_URL", "redis://127.0.0.1:1/")]).output().unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("PALAVER_DATABASE_URL"), "{said}");

    let pg = Postgres::start(LIFETIME).unwrap();
    pg.create_database("solo").unwrap();
    let url = pg.url("solo");
    let warned = Arc::new(std::sync::Mutex::new(false));
    let seen = warned.clone();
    let command = common::binary_command(data.path(), &[("PALAVER_DATABASE_URL", &url)]);
    let _server = testkit::process::ServerProcess::start(command, LIFETIME, move |line| {
        if line.contains("run only ONE node") {
            *seen.lock().unwrap() = true;
        }
    })
    .unwrap();
    assert!(*warned.lock().unwrap(), "the log says PostgreSQL without Redis is for one node");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_away_each_node_serves_its_own_and_messages_still_cross_through_the_database() {
    let mut cluster = Cluster::start(2);
    let mut ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = member(&cluster, 1, "Bob", "r").await;
    cluster.redis.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    ann.say("r", "1", "said while Redis is away").await;
    // The node stores, acknowledges and delivers to its own clients as ever.
    let (mut acked, mut delivered) = (false, false);
    while !(acked && delivered) {
        match ann.next().await {
            ServerMsg::Ack { seq, .. } => acked = seq == 1,
            ServerMsg::Message(m) => delivered = m.seq == 1,
            _ => {}
        }
    }
    let m = bob.next_message().await;
    assert_eq!((m.seq, m.text.as_str()), (1, "said while Redis is away"));
    eprintln!("delivered across nodes without Redis in {:?}", started.elapsed());
    // New connections are served too.
    let mut carol = member(&cluster, 1, "Carol", "r").await;
    carol.say("r", "c", "a newcomer while Redis is away").await;
    assert_eq!(carol.next_ack().await.1, 2);
    assert_eq!(ann.next_message().await.seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_for_a_restart_takes_its_people_off_every_list_at_once_and_its_clients_move_on() {
    let mut cluster = Cluster::start(2);
    let mut ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = cluster.nodes[1].named("Bob").await;
    bob.join("r", None).await;
    // The room list on both nodes counts both of them.
    for client in [&mut ann, &mut bob] {
        client.next_where(|m| matches!(m, ServerMsg::Rooms { rooms } if rooms.iter().any(|s| s.room.as_str() == "r" && s.online == 2))).await;
    }
    cluster.nodes[0].process().signal("TERM");
    let stopped = Instant::now();
    let departed = bob.next_where(|m| matches!(m, ServerMsg::Departed { .. })).await;
    assert!(matches!(departed, ServerMsg::Departed { user, .. } if user.name == "Ann"));
    eprintln!("a stopped node's people left the list after {:?}", stopped.elapsed());
    assert!(stopped.elapsed() < Duration::from_secs(4), "at once, not after the dead-node timeout");
    assert!(cluster.nodes[0].process().wait_exit(Duration::from_secs(10)).is_some_and(|s| s.success()));
    // Ann's page reconnects to the other node with her token and resumes.
    let mut moved = cluster.nodes[1].client().await;
    moved.hello(Some(&ann.token()), None).await;
    moved.join("r", Some(0)).await;
    let arrived = bob.next_where(|m| matches!(m, ServerMsg::Arrived { .. })).await;
    assert!(matches!(arrived, ServerMsg::Arrived { user, .. } if user.name == "Ann"));
}

/// Everything published on `channels`, as anyone with access to Redis can read it.
async fn eavesdrop(url: &str, channels: &[String]) -> Arc<std::sync::Mutex<Vec<Vec<u8>>>> {
    let (pushed, mut pushes) = tokio::sync::mpsc::unbounded_channel();
    let client = redis::Client::open(format!("{url}?protocol=resp3")).unwrap();
    let config = redis::AsyncConnectionConfig::new().set_push_sender(pushed);
    let mut conn = client.get_multiplexed_async_connection_with_config(&config).await.unwrap();
    for channel in channels {
        redis::cmd("SSUBSCRIBE").arg(channel).exec_async(&mut conn).await.unwrap();
    }
    let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = heard.clone();
    tokio::spawn(async move {
        let _conn = conn;
        while let Some(push) = pushes.recv().await {
            if let Some(m) = redis::Msg::from_push_info(push) {
                keep.lock().unwrap().push(m.get_payload_bytes().to_vec());
            }
        }
    });
    heard
}

/// The first payload heard on the bus with all of `parts` in it.
async fn overheard(heard: &std::sync::Mutex<Vec<Vec<u8>>>, parts: &[&str]) -> Vec<u8> {
    let has = |payload: &[u8], part: &str| payload.windows(part.len()).any(|w| w == part.as_bytes());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(p) = heard.lock().unwrap().iter().find(|p| parts.iter().all(|part| has(p, part))) {
            return p.clone();
        }
        assert!(Instant::now() < deadline, "nothing with {parts:?} on the bus");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Someone who can publish on Redis forges events (a message, a read that clears
/// Bob's counts, a `gone` that empties Ann from the room), unsigned and with a
/// signature of another key, replays a genuine event, sends junk, and writes a forged
/// presence entry: Bob, on the other node, sees none of it; Ann's genuine messages
/// still reach him; his node counts what it dropped and says so in its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_forged_or_replayed_on_redis_are_dropped_and_counted_while_genuine_ones_arrive() {
    let mut cluster = Cluster::start(1);
    let log = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let lines = log.clone();
    let (db, url) = (cluster.pg.url("palaver"), cluster.redis.url());
    let env = [("PALAVER_DATABASE_URL", db.as_str()), ("PALAVER_REDIS_URL", url.as_str())];
    let data = Arc::new(tempfile::tempdir().unwrap());
    cluster.nodes.push(TestServer::binary_watched(data, &env, move |l| lines.lock().unwrap().push(l.to_owned())));
    let mut attacker = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();

    let mut ann = member(&cluster, 0, "Ann", "r").await;
    let mut bob = cluster.nodes[1].named("Bob").await;
    let (r_channel, bob_channel) = ("palaver:room:r".to_owned(), format!("palaver:person:{}", bob.user().id.0));
    let heard = eavesdrop(&url, &[r_channel.clone(), bob_channel.clone()]).await;
    bob.join("r", None).await;
    ann.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Bob")).await;
    // Carol, on Ann's node, comes and goes and comes back: her `gone` is there to replay.
    let carol = member(&cluster, 0, "Carol", "r").await;
    let token = carol.token();
    bob.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Carol")).await;
    carol.close().await;
    bob.next_where(|m| matches!(m, ServerMsg::Departed { user, .. } if user.name == "Carol")).await;
    let mut carol = cluster.nodes[0].client().await;
    carol.hello(Some(&token), None).await;
    carol.join("r", None).await;
    bob.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Carol")).await;

    ann.say("r", "a1", "the first word").await;
    assert_eq!(ann.next_ack().await.1, 1);
    let first = bob.next_message().await;
    bob.send_msg(ClientMsg::Unread).await;
    bob.next_where(|m| matches!(m, ServerMsg::Unread { all: true, .. })).await;
    bob.send_msg(ClientMsg::Read { room: room_id("r"), seq: 1 }).await;
    let counts_of_r = |m: &ServerMsg| match m {
        ServerMsg::Unread { rooms, .. } => {
            rooms.iter().find(|r| r.room.as_str() == "r").map(|r| (r.read, r.unread, r.first))
        }
        _ => None,
    };
    let counts = bob.next_where(|m| counts_of_r(m).is_some()).await;
    assert_eq!(counts_of_r(&counts), Some((Some(1), 0, None)));

    // What the attacker learns from listening: Ann's node (Carol's too), and Carol's `gone`.
    let here = overheard(&heard, &[r#""t":"here""#, r#""name":"Carol""#]).await;
    let here = String::from_utf8_lossy(&here);
    let node = here.split(r#""node":""#).nth(1).and_then(|s| s.split('"').next()).unwrap().to_owned();
    let gone = overheard(&heard, &[r#""t":"gone""#]).await;

    let envelope = |event| serde_json::to_vec(&Envelope { node: NodeId(node.clone()), event }).unwrap();
    let mut message = first.clone();
    (message.seq, message.id, message.text) = (2, ClientMsgId("forged".into()), "forged".into());
    // Signed as the nodes sign, but with a key of the attacker's guessing.
    let guessed = BusKey::new(&Identity::new(b"a guess at the secret of this chat".to_vec()));
    let mut forgeries = Vec::new();
    for (n, (channel, event)) in [
        (&r_channel, Event::Message(message)),
        (&bob_channel, Event::Read { user: bob.user().id, room: room_id("r"), seq: 1000 }),
        (&r_channel, Event::Gone { room: room_id("r"), user: ann.user().id }),
    ]
    .into_iter()
    .enumerate()
    {
        let plain = envelope(event);
        let mut signed = BusKey::blank();
        signed.extend_from_slice(&plain);
        guessed.sign(&mut signed, now_ms(), 1_000_000 + n as u64);
        forgeries.extend([(channel, plain), (channel, signed)]);
    }
    forgeries.push((&r_channel, gone));
    forgeries.push((&bob_channel, b"junk".to_vec()));
    for (channel, forged) in &forgeries {
        let heard_by: i64 = redis::cmd("SPUBLISH").arg(*channel).arg(forged).query_async(&mut attacker).await.unwrap();
        assert!(heard_by >= 2, "Bob's node and the eavesdropper are listening on {channel}: {heard_by}");
    }
    // A presence entry for someone who is not there, signed with the guessed key.
    let mut entry = BusKey::blank();
    let mallory = serde_json::json!({
        "room": "r", "node": node, "until": now_ms() + 60_000,
        "user": {"id": "mallory", "name": "Mallory"},
    });
    serde_json::to_writer(&mut entry, &mallory).unwrap();
    guessed.sign(&mut entry, now_ms(), 0);
    let _: i64 = redis::cmd("HSET")
        .arg("palaver:here:r")
        .arg(format!("{node}/mallory"))
        .arg(entry)
        .query_async(&mut attacker)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Until Ann's next message and its count reach Bob, nothing forged does.
    ann.say("r", "a2", "the second word").await;
    let (mut delivered, mut counted) = (false, false);
    while !(delivered && counted) {
        let frame = bob.next().await;
        match &frame {
            ServerMsg::Message(m) => {
                assert_eq!((m.seq, m.text.as_str(), m.author.name.as_str()), (2, "the second word", "Ann"));
                delivered = true;
            }
            ServerMsg::Departed { user, .. } => panic!("{} left Bob's list on a forged event", user.name),
            _ => {}
        }
        if let Some(counts) = counts_of_r(&frame) {
            assert_eq!(counts, (Some(1), 1, Some(2)), "Bob's counts as his own reading left them");
            counted = true;
        }
    }
    // Bob's node reads the room's entries again (every 5 s): still no Mallory.
    tokio::time::sleep(server::bus::REFRESH_EVERY + Duration::from_millis(500)).await;
    let (_, _, online) = bob.join("r", Some(2)).await;
    let mut names: Vec<_> = online.iter().map(|u| u.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Ann", "Bob", "Carol"], "everyone still listed, and nobody else");

    // Bob's node counted each event it dropped, and tells its operator (once: the
    // warning is repeated at most every 10 s, with the running total).
    let deadline = Instant::now() + Duration::from_secs(15);
    let total = format!("bus events dropped since start: {} ", forgeries.len());
    while !log.lock().unwrap().iter().any(|l| l.contains(&total)) {
        assert!(Instant::now() < deadline, "no log line with {total:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let warnings = log.lock().unwrap().iter().filter(|l| l.contains("bus events dropped")).count();
    assert!(warnings <= 2, "{warnings} warnings for {} dropped events", forgeries.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_or_a_token_revoked_on_one_node_closes_its_sockets_on_the_other_within_a_second() {
    use common::accounts::{admin, closed_within_a_second, first_form_id};
    use palaver_protocol::Hello;
    let cluster = Cluster::start(2);
    let db = cluster.pg.url("palaver");
    let env = [("PALAVER_DATABASE_URL", db.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let password = "correct horse battery";
    let made = admin(dir.path(), &env, &["create-user", "--handle", "ann", "--password-stdin"], password);
    assert_eq!(made.0, 0, "{}", made.2);
    let (_, token, _) = admin(dir.path(), &env, &["create-token", "--handle", "ann"], "");
    // Signed in on node 0; the page's socket and a bot on node 1.
    let cookie = cluster.nodes[0].sign_in("ann", password);
    let mut page = cluster.nodes[1].client_as(&cookie).await;
    page.send_msg(ClientMsg::Hello(Hello::Session)).await;
    let welcome = page.next_where(|m| matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Error { .. })).await;
    assert!(matches!(&welcome, ServerMsg::Welcome { user, .. } if user.name == "ann"), "{welcome:?}");
    let mut bot = cluster.nodes[1].client().await;
    bot.hello(Some(token.trim()), None).await;
    let out = cluster.nodes[0].post("/sign-out", &[], Some(&cookie), "");
    assert_eq!(out.status, 303);
    assert_eq!(closed_within_a_second(&mut page).await, 4003);
    // The token, revoked from node 0's settings page.
    let cookie = cluster.nodes[0].sign_in("ann", password);
    let settings = cluster.nodes[0].get_as("/settings", &cookie).text();
    let id = first_form_id(&settings, "/settings/tokens/revoke");
    assert_eq!(cluster.nodes[0].post("/settings/tokens/revoke", &[("id", &id)], Some(&cookie), "").status, 200);
    assert_eq!(closed_within_a_second(&mut bot).await, 4003);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_room_across_nodes_removal_and_suspension_on_one_node_take_effect_on_the_other_at_once() {
    use common::accounts::{admin, closed_within_a_second};
    use palaver_protocol::Hello;
    let cluster = Cluster::start(2);
    let db = cluster.pg.url("palaver");
    let env = [("PALAVER_DATABASE_URL", db.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let password = "correct horse battery";
    for (handle, role) in [("boss", "owner"), ("ann", "member"), ("bob", "member"), ("cat", "member")] {
        let made =
            admin(dir.path(), &env, &["create-user", "--handle", handle, "--role", role, "--password-stdin"], password);
        assert_eq!(made.0, 0, "{}", made.2);
    }
    let made =
        admin(dir.path(), &env, &["create-room", "--name", "plans", "--kind", "private", "--members", "ann,bob"], "");
    assert_eq!(made.0, 0, "{}", made.2);
    let socket = |node: usize, handle: &'static str| {
        let server = &cluster.nodes[node];
        let cookie = server.sign_in(handle, password);
        async move {
            let mut client = server.client_as(&cookie).await;
            client.send_msg(ClientMsg::Hello(Hello::Session)).await;
            client.next_where(|m| matches!(m, ServerMsg::Welcome { .. })).await;
            client
        }
    };
    let (mut ann, mut bob, mut cat) = (socket(0, "ann").await, socket(1, "bob").await, socket(1, "cat").await);
    ann.join("plans", None).await;
    bob.join("plans", None).await;
    ann.say("plans", "a1", "across the nodes").await;
    assert_eq!(bob.next_message().await.text, "across the nodes");
    cat.send_msg(ClientMsg::Join { room: room_id("plans"), after: None }).await;
    let refused = cat.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Joined { .. })).await;
    assert!(matches!(refused, ServerMsg::Error { reason: ErrorReason::NotAllowed, .. }), "{refused:?}");
    // Nor on node 1 does cat find it, page it, or count it; bob does.
    cat.send_msg(ClientMsg::Search { query: "across".into(), before: None }).await;
    let found = cat.next_where(|m| matches!(m, ServerMsg::Results { .. })).await;
    assert!(matches!(&found, ServerMsg::Results { hits, .. } if hits.is_empty()), "{found:?}");
    let cat_cookie = cluster.nodes[1].sign_in("cat", password);
    assert_eq!(cluster.nodes[1].get_as("/r/plans", &cat_cookie).status, 404);
    assert!(!cluster.nodes[1].get_as("/search?q=across", &cat_cookie).text().contains("across the nodes"));
    let bob_cookie = cluster.nodes[1].sign_in("bob", password);
    assert!(cluster.nodes[1].get_as("/r/plans", &bob_cookie).text().contains("across the nodes"));
    cat.send_msg(ClientMsg::Unread).await;
    let counts = cat.next_where(|m| matches!(m, ServerMsg::Unread { .. })).await;
    assert!(!format!("{counts:?}").contains("plans"), "{counts:?}");
    for asked in
        [ClientMsg::History { room: room_id("plans"), before: 9 }, ClientMsg::Around { room: room_id("plans"), seq: 1 }]
    {
        cat.send_msg(asked).await;
        let refused = cat
            .next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Older { .. } | ServerMsg::Around { .. }))
            .await;
        assert!(matches!(refused, ServerMsg::Error { reason: ErrorReason::NotJoined, .. }), "{refused:?}");
    }
    // A mention on node 0 tells bob on node 1, and names nobody who may not read it.
    bob.send_msg(ClientMsg::Unread).await;
    bob.next_where(|m| matches!(m, ServerMsg::Unread { .. })).await;
    ann.say("plans", "a0", "@bob and @cat, look").await;
    // (The message and its notification come in either order.)
    let (mut message, mut notification) = (None, None);
    while message.is_none() || notification.is_none() {
        match bob.next().await {
            ServerMsg::Message(m) => message = Some(m),
            ServerMsg::Notification(m) => notification = Some(m),
            _ => {}
        }
    }
    assert_eq!(notification.map(|m| m.mentions.len()), Some(1), "bob alone is named");
    let heard = tokio::time::timeout(Duration::from_millis(700), async {
        loop {
            if let ServerMsg::Notification(m) = cat.next().await {
                return m;
            }
        }
    })
    .await;
    assert!(heard.is_err(), "cat is told nothing: {heard:?}");

    // The owner names the room on node 0's admin page: bob on node 1 sees it at once.
    let boss = cluster.nodes[0].sign_in("boss", password);
    let fields = [("room", "plans"), ("kind", "private"), ("title", "Q3 plans"), ("topic", "What ships")];
    let saved = cluster.nodes[0].post("/admin/rooms/save", &fields, Some(&boss), "");
    assert_eq!(saved.status, 200, "{}", saved.text());
    let started = std::time::Instant::now();
    let named = bob.next_where(|m| matches!(m, ServerMsg::About { .. })).await;
    let ServerMsg::About { rooms } = named else { unreachable!() };
    assert_eq!((rooms[0].title.as_str(), rooms[0].topic.as_str()), ("Q3 plans", "What ships"));
    assert!(started.elapsed() < Duration::from_secs(1), "at once: {:?}", started.elapsed());

    // The owner removes bob on node 0's admin page: node 1 stops sending him the room.
    let removed =
        cluster.nodes[0].post("/admin/rooms/remove", &[("room", "plans"), ("handle", "bob")], Some(&boss), "");
    assert_eq!(removed.status, 200, "{}", removed.text());
    let started = std::time::Instant::now();
    let told = bob.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Message(_))).await;
    assert!(matches!(told, ServerMsg::Error { reason: ErrorReason::NotAllowed, .. }), "{told:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "at once: {:?}", started.elapsed());
    ann.say("plans", "a2", "bob may not read this").await;
    ann.next_ack().await;
    let leaked = tokio::time::timeout(Duration::from_millis(700), async {
        loop {
            if let ServerMsg::Message(m) = bob.next().await {
                return m;
            }
        }
    })
    .await;
    assert!(leaked.is_err(), "{leaked:?}");

    // Suspended on node 0: cat's socket on node 1 closes within a second.
    let suspended = cluster.nodes[0].post("/admin/people/suspend", &[("handle", "cat")], Some(&boss), "");
    assert_eq!(suspended.status, 200, "{}", suspended.text());
    assert_eq!(closed_within_a_second(&mut cat).await, 4003);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_links_card_found_on_one_node_reaches_the_room_on_the_other() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A web site of the test's own: one page, whatever is asked.
    let site = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = site.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = site.accept().await {
            let mut head = [0u8; 2048];
            let _ = socket.read(&mut head).await;
            let page = "<html><head><meta property=\"og:title\" content=\"Across nodes\"></head></html>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let admit = addr.to_string();
    let cluster = Cluster::start_with(2, &[("PALAVER_PREVIEW_ADMIT", admit.as_str())]);
    let (mut ann, mut bob) = (Client::connect(&cluster.url(0)).await, Client::connect(&cluster.url(1)).await);
    ann.hello(None, Some("Ann")).await;
    bob.hello(None, Some("Bob")).await;
    ann.join("links", None).await;
    bob.join("links", None).await;
    ann.say("links", "l1", &format!("http://{addr}/page")).await;
    let seq = bob.next_message().await.seq;
    let card = bob.next_where(|m| matches!(m, ServerMsg::Preview { .. })).await;
    assert!(
        matches!(&card, ServerMsg::Preview { seq: s, preview, .. } if *s == seq && preview.as_ref().is_some_and(|p| p.title == "Across nodes"))
    );
}

/// How many nodes listen on `channel` (sharded or plain, as `sharded` says).
fn listeners(redis: &Redis, channel: &str, sharded: bool) -> usize {
    let count = if sharded { "SHARDNUMSUB" } else { "NUMSUB" };
    let reply = redis.command(&["PUBSUB", count, channel]).unwrap();
    reply.rsplit(':').next().and_then(|n| n.trim().parse().ok()).unwrap_or(usize::MAX)
}

/// A node hears only the channels of the rooms and people it serves, with sharded
/// channels (Redis 7) and with plain ones (as on Redis 6, or by setting): a message
/// reaches the other node's people in its room, names someone whose node does not serve
/// the room (their person's channel carries it), and the room list counts the people of a
/// room served only on the other node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_node_hears_only_its_rooms_and_people_with_sharded_or_plain_channels() {
    for (setting, sharded) in [("auto", true), ("plain", false)] {
        let cluster = Cluster::start_with(2, &[("PALAVER_REDIS_PUBSUB", setting)]);
        let mut ann = member(&cluster, 0, "Ann", "shared").await;
        let mut cy = member(&cluster, 0, "Cy", "ann-only").await;
        let mut bob = member(&cluster, 1, "Bob", "shared").await;
        ann.next_where(|m| matches!(m, ServerMsg::Arrived { user, .. } if user.name == "Bob")).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while listeners(&cluster.redis, "palaver:room:shared", sharded) != 2 {
            assert!(Instant::now() < deadline, "{setting}: both nodes listen on the shared room");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(listeners(&cluster.redis, "palaver:room:ann-only", sharded), 1, "{setting}: node 1 does not");
        assert_eq!(listeners(&cluster.redis, &format!("palaver:person:{}", bob.user().id.0), sharded), 0);

        ann.say("shared", "a1", "across").await;
        assert_eq!(bob.next_message().await.text, "across", "{setting}");

        // Bob follows his counts (his person's channel is heard on node 1 from then on);
        // Cy names him in a room node 1 does not serve.
        bob.send_msg(ClientMsg::Unread).await;
        bob.next_where(|m| matches!(m, ServerMsg::Unread { all: true, .. })).await;
        let deadline = Instant::now() + Duration::from_secs(5);
        while listeners(&cluster.redis, &format!("palaver:person:{}", bob.user().id.0), sharded) != 1 {
            assert!(Instant::now() < deadline, "{setting}: node 1 listens on Bob's channel");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        cy.say("ann-only", "c1", "@Bob, over here").await;
        let told = bob.next_where(|m| matches!(m, ServerMsg::Notification(_))).await;
        assert!(matches!(&told, ServerMsg::Notification(m) if m.room.as_str() == "ann-only"), "{setting}: {told:?}");

        // The room list on node 1 counts the room served only on node 0 (within a
        // refresh or two), as a newcomer there is sent it.
        let deadline = Instant::now() + server::bus::REFRESH_EVERY * 3;
        loop {
            let mut newcomer = cluster.nodes[1].named("Dee").await;
            let listed = newcomer.next_where(|m| matches!(m, ServerMsg::Rooms { .. })).await;
            let ServerMsg::Rooms { rooms } = listed else { unreachable!() };
            if rooms.iter().any(|r| r.room.as_str() == "ann-only" && r.online == 1) {
                break;
            }
            assert!(Instant::now() < deadline, "{setting}: ann-only is not counted on node 1: {rooms:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
