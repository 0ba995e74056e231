//! Requests that make the server read or tell others, each with its limit, against the
//! real server: history pages and reloads per connection, page loads per address, read
//! positions told to other nodes once per moment, settings only for rooms that exist,
//! and posts that do not wait behind reads for a database connection.

use crate::common;

use common::{header, room_id, Client, TestServer};
use palaver_protocol::{ClientMsg, ErrorReason, Level, RoomUnread, Seq, ServerMsg};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use testkit::services::{Postgres, Redis};

/// The longest the database and Redis of one test may live.
const LIFETIME: Duration = Duration::from_secs(300);

/// The answer to a page asked for: the page, or why not.
async fn page_answer(client: &mut Client) -> ServerMsg {
    client
        .next_where(|m| {
            matches!(
                m,
                ServerMsg::Older { .. } | ServerMsg::Around { .. } | ServerMsg::Joined { .. } | ServerMsg::Error { .. }
            )
        })
        .await
}

#[tokio::test]
async fn history_pages_and_reloads_are_limited_per_connection_and_a_reader_never_notices() {
    let server = TestServer::start();
    let mut alice = server.named("Alice").await;
    alice.join("archive", None).await;
    for n in 1..=300 {
        alice.say("archive", &format!("m{n}"), &format!("number {n}")).await;
    }
    while alice.next_ack().await.1 < 300 {}

    // Scrolling back page after page as fast as they come, then following a quote far
    // back: never refused.
    let mut reader = server.named("Reader").await;
    reader.join("archive", None).await;
    for before in [251, 201, 151, 101, 51] {
        reader.send_msg(ClientMsg::History { room: room_id("archive"), before }).await;
        assert!(matches!(page_answer(&mut reader).await, ServerMsg::Older { .. }));
    }
    reader.send_msg(ClientMsg::Around { room: room_id("archive"), seq: 3 }).await;
    assert!(matches!(page_answer(&mut reader).await, ServerMsg::Around { .. }));

    // A flood of pages, of the page around a message, and of the room loaded again.
    const FLOOD: usize = 120;
    for n in 0..FLOOD {
        let frame = match n % 3 {
            0 => ClientMsg::History { room: room_id("archive"), before: 251 },
            1 => ClientMsg::Around { room: room_id("archive"), seq: 150 },
            _ => ClientMsg::Join { room: room_id("archive"), after: None },
        };
        reader.send_msg(frame).await;
    }
    let (mut served, mut refused, mut wait) = (0, 0, 0);
    for _ in 0..FLOOD {
        match page_answer(&mut reader).await {
            ServerMsg::Error { reason: ErrorReason::RateLimited, room, retry_after_ms, detail, .. } => {
                assert_eq!(room, Some(room_id("archive")), "{detail}");
                let after = retry_after_ms.expect("how long to wait");
                assert!((1..=1_000).contains(&after), "{after} ms");
                wait = after;
                refused += 1;
            }
            ServerMsg::Error { reason, detail, .. } => panic!("refused for {reason:?}: {detail}"),
            _ => served += 1,
        }
    }
    eprintln!("a flood of {FLOOD} pages: {served} served, {refused} refused");
    assert!(served <= 20, "{served} of {FLOOD} served: the burst is 20, less the 6 pages read before");
    assert_eq!(served + refused, FLOOD);
    // After the wait it gave, the same reader is served again.
    tokio::time::sleep(Duration::from_millis(wait + 50)).await;
    reader.send_msg(ClientMsg::History { room: room_id("archive"), before: 51 }).await;
    assert!(matches!(page_answer(&mut reader).await, ServerMsg::Older { .. }));
}

/// Everything about a person's rooms, as the answer to `unread` gives it.
async fn all_unread(client: &mut Client) -> Vec<RoomUnread> {
    client.send_msg(ClientMsg::Unread).await;
    match client.next_where(|m| matches!(m, ServerMsg::Unread { all: true, .. })).await {
        ServerMsg::Unread { rooms, .. } => rooms,
        _ => unreachable!(),
    }
}

/// The errors that come before the answer to `unread` (sent now).
async fn errors_before_unread(client: &mut Client) -> Vec<(ErrorReason, Option<String>, String)> {
    client.send_msg(ClientMsg::Unread).await;
    let mut errors = Vec::new();
    loop {
        match client.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Unread { all: true, .. })).await {
            ServerMsg::Error { reason, room, detail, .. } => {
                errors.push((reason, room.map(|r| r.as_str().to_owned()), detail))
            }
            _ => return errors,
        }
    }
}

#[tokio::test]
async fn read_and_notify_are_refused_for_rooms_that_do_not_exist_and_nothing_is_kept_for_them() {
    let server = TestServer::start();
    let mut ann = server.named("Ann").await;
    let token = ann.token();
    ann.send_msg(ClientMsg::Notify { room: room_id("nowhere"), level: Level::All }).await;
    ann.send_msg(ClientMsg::Read { room: room_id("nowhere"), seq: Seq::MAX }).await;
    let errors = errors_before_unread(&mut ann).await;
    assert_eq!(errors.len(), 2, "{errors:?}");
    for (reason, room, detail) in errors {
        assert_eq!((reason, room.as_deref()), (ErrorReason::BadRoom, Some("nowhere")), "{detail}");
        assert!(detail.contains("no room nowhere"), "{detail}");
    }

    // Rooms that exist: one with messages and nobody in it, one with someone in it and
    // nothing said yet.
    let mut bob = server.named("Bob").await;
    bob.join("kept", None).await;
    bob.say("kept", "b1", "hello").await;
    bob.next_ack().await;
    drop(bob);
    let mut cat = server.named("Cat").await;
    cat.join("open", None).await;
    for room in ["kept", "open"] {
        ann.send_msg(ClientMsg::Notify { room: room_id(room), level: Level::All }).await;
        ann.send_msg(ClientMsg::Read { room: room_id(room), seq: Seq::MAX }).await;
    }
    let rooms: Vec<(String, Option<Seq>, Level)> =
        all_unread(&mut ann).await.into_iter().map(|r| (r.room.as_str().to_owned(), r.read, r.level)).collect();
    assert_eq!(rooms, [("kept".into(), Some(1), Level::All), ("open".into(), Some(0), Level::All)]);

    // Kept in the store for those two only: a tab opened later reads them from there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    drop(ann);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut ann = server.client().await;
    ann.hello(Some(&token), None).await;
    let rooms: Vec<String> = all_unread(&mut ann).await.into_iter().map(|r| r.room.as_str().to_owned()).collect();
    assert_eq!(rooms, ["kept", "open"]);
    let db = rusqlite::Connection::open(server.data.path().join("palaver.db")).unwrap();
    for table in ["reads", "levels"] {
        let rows: i64 =
            db.query_row(&format!("SELECT COUNT(*) FROM {table} WHERE room = 'nowhere'"), [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0, "{table}");
    }
}

#[tokio::test]
async fn page_loads_are_limited_per_address_and_told_when_to_come_back() {
    let server = TestServer::start_with(&[
        ("PALAVER_PAGES_PER_IP_PER_SEC", "1"),
        ("PALAVER_PAGES_PER_IP_BURST", "3"),
        ("PALAVER_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    for _ in 0..3 {
        assert_eq!(server.get("/").0, 200);
    }
    for path in ["/", "/r/lobby", "/search?q=words"] {
        let (status, head, body) = server.get_with_head(path);
        assert_eq!(status, 429, "{path}: {head}");
        assert_eq!(header(&head, "retry-after").as_deref(), Some("1"), "{path}");
        assert!(body.contains("too many pages loaded from your address; retry in 1 s"), "{body}");
    }
    // Someone else behind the trusted proxy has a share of their own.
    let addr = server.addr.parse().unwrap();
    let behind = testkit::http::get(addr, "/", "X-Forwarded-For: 203.0.113.5\r\n").unwrap();
    assert_eq!(behind.status, 200);
    // Chat sockets are not pages: one still opens.
    assert_eq!(server.raw_upgrade("/ws", "").0, 101);
    std::thread::sleep(Duration::from_millis(1_100));
    assert_eq!(server.get("/").0, 200, "the bucket refills");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_are_acknowledged_at_once_while_page_loads_hold_every_read_connection() {
    let pg = Postgres::start(LIFETIME).expect("PostgreSQL (scripts/setup.sh installs it)");
    pg.create_database("palaver").unwrap();
    let url = pg.url("palaver");
    // The server says when a page load found no connection free for 3 s.
    let (exhausted, mut pool_exhausted) = tokio::sync::watch::channel(false);
    let server = TestServer::binary_watched(
        Arc::new(tempfile::tempdir().unwrap()),
        &[("PALAVER_DATABASE_URL", &url)],
        move |line| {
            if line.contains("waiting for a slot") {
                exhausted.send_replace(true);
            }
        },
    );
    let mut ann = server.named("Ann").await;
    ann.join("r", None).await;
    ann.say("r", "m1", "before").await;
    assert_eq!(ann.next_ack().await.1, 1);

    // Someone holds the table of read positions: every read of it waits (for the
    // statement timeout, 10 s).
    let (locker, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    locker.batch_execute("BEGIN; LOCK TABLE reads IN ACCESS EXCLUSIVE MODE").await.unwrap();
    // Page loads for Ann's session read her read positions: each waits, holding a
    // connection, more of them than the server has (16).
    let cookie = format!("Cookie: palaver_session={}\r\n", ann.token());
    let addr = server.addr.parse().unwrap();
    let pages: Vec<_> = (0..24)
        .map(|_| {
            let cookie = cookie.clone();
            std::thread::spawn(move || testkit::http::get(addr, "/", &cookie).map(|r| r.status))
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(8), pool_exhausted.wait_for(|e| *e))
        .await
        .expect("page loads wait for a connection")
        .unwrap();

    let asked = Instant::now();
    ann.say("r", "m2", "while every read waits").await;
    let answer = ann.next_where(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. })).await;
    let took = asked.elapsed();
    eprintln!("a post with every read connection busy: answered in {took:?}");
    assert!(matches!(answer, ServerMsg::Ack { seq: 2, .. }), "{answer:?}");
    assert!(took < Duration::from_secs(2), "{took:?}: it waited for a connection");

    locker.batch_execute("ROLLBACK").await.unwrap();
    for page in pages {
        assert_eq!(page.join().unwrap().unwrap(), 200, "every page loads (some without their counts)");
    }
}

/// How many PUBLISH commands Redis has run.
fn publishes(redis: &Redis) -> u64 {
    let stats = redis.command(&["INFO", "commandstats"]).unwrap();
    stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_publish:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_positions_reach_other_nodes_once_per_moment_however_many_reads_are_sent() {
    let pg = Postgres::start(LIFETIME).expect("PostgreSQL (scripts/setup.sh installs it)");
    pg.create_database("palaver").unwrap();
    let redis = Redis::start(LIFETIME).expect("Redis (scripts/setup.sh installs it)");
    let (db, bus) = (pg.url("palaver"), redis.url());
    let env = [("PALAVER_DATABASE_URL", db.as_str()), ("PALAVER_REDIS_URL", bus.as_str())];
    let nodes: Vec<TestServer> =
        (0..2).map(|_| TestServer::binary_in(Arc::new(tempfile::tempdir().unwrap()), &env)).collect();

    // Ann reads on the first node; her other tab is on the second, where Bob writes.
    let mut ann = nodes[0].named("Ann").await;
    ann.join("r", None).await;
    let mut bob = nodes[1].named("Bob").await;
    bob.join("r", None).await;
    let mut elsewhere = nodes[1].client().await;
    elsewhere.hello(Some(&ann.token()), None).await;
    assert_eq!(all_unread(&mut elsewhere).await, []);
    const MESSAGES: Seq = 200;
    for n in 1..=MESSAGES {
        bob.say("r", &format!("b{n}"), &format!("number {n}")).await;
    }
    while ann.next_message().await.seq < MESSAGES {}

    // A read per message as each is shown, then the same read again and again.
    let before = publishes(&redis);
    let started = Instant::now();
    for seq in (1..=MESSAGES).chain([MESSAGES; 200]) {
        ann.send_msg(ClientMsg::Read { room: room_id("r"), seq }).await;
    }
    let read_to = |m: &ServerMsg| match m {
        ServerMsg::Unread { rooms, .. } => rooms.iter().any(|r| r.room == room_id("r") && r.read == Some(MESSAGES)),
        _ => false,
    };
    elsewhere.next_where(read_to).await;
    let told_after = started.elapsed();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let published = publishes(&redis) - before;
    eprintln!(
        "{} reads on one node: their other tab told in {told_after:?}; {published} events published meanwhile \
         (presence snapshots included)",
        MESSAGES * 2
    );
    assert!(told_after < Duration::from_secs(3), "{told_after:?}");
    assert!(published <= 20, "{published} events for {} reads", MESSAGES * 2);
}
