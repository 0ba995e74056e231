//! The real server binary under abuse, overload and crashes: per-address limits,
//! half-open connections, readers that stop reading, and kill -9 in the middle of a
//! burst of posts.

use crate::common;

use common::{header, room_id, Client, TestServer, WAIT};
use futures::StreamExt;
use palaver_protocol::{ChatMessage, ClientMsg, Close, ErrorReason, Seq, ServerMsg};
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::Read,
    sync::Arc,
    time::{Duration, Instant},
};
use testkit::stamp::{now_us, percentile, sent_at, stamped};
use tokio_tungstenite::tungstenite::Message;

/// The load tests here measure time and memory under heavy traffic: they take turns
/// rather than starve each other of the machine's cores.
static ONE_LOAD_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Retries an upgrade until it is let in (a closed socket's place frees a moment later).
fn upgrade_eventually(server: &TestServer, extra: &str) -> std::net::TcpStream {
    let deadline = Instant::now() + WAIT;
    loop {
        let (status, reply, stream) = server.raw_upgrade("/ws", extra);
        if status == 101 {
            return stream;
        }
        assert!(Instant::now() < deadline, "still refused: {reply}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn one_address_may_hold_only_so_many_sockets_and_open_them_only_so_fast() {
    let server = TestServer::start_with(&[("PALAVER_MAX_CONNECTIONS_PER_IP", "3")]);
    let mut held: Vec<_> = (0..3).map(|_| server.raw_upgrade("/ws", "")).collect();
    assert!(held.iter().all(|(status, _, _)| *status == 101));
    for path in ["/ws", "/"] {
        let (status, reply, _) = server.raw_upgrade(path, "");
        assert_eq!(status, 429, "{path}: {reply}");
        assert!(reply.contains("too many open chat connections"), "{reply}");
    }
    held.pop();
    let _again = upgrade_eventually(&server, "");

    let server = TestServer::start_with(&[
        ("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", "1"),
        ("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", "2"),
    ]);
    let _first = server.raw_upgrade("/ws", "");
    let _second = server.raw_upgrade("/ws", "");
    let (status, reply, _) = server.raw_upgrade("/ws", "");
    assert_eq!(status, 429, "{reply}");
    assert!(reply.contains("too many new chat connections"), "{reply}");
    assert_eq!(header(&reply, "retry-after").as_deref(), Some("1"));
    // Pages are not chat sockets: they still load.
    assert_eq!(server.get("/").0, 200);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(server.raw_upgrade("/ws", "").0, 101, "the bucket refills");
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let from = |ip: &str| format!("X-Forwarded-For: {ip}\r\n");
    let untrusted = TestServer::start_with(&[("PALAVER_MAX_CONNECTIONS_PER_IP", "1")]);
    let _held = untrusted.raw_upgrade("/ws", &from("203.0.113.1"));
    let (status, _, _) = untrusted.raw_upgrade("/ws", &from("203.0.113.2"));
    assert_eq!(status, 429, "a made-up X-Forwarded-For does not buy another address");

    let proxied =
        TestServer::start_with(&[("PALAVER_MAX_CONNECTIONS_PER_IP", "1"), ("PALAVER_TRUSTED_PROXIES", "127.0.0.1")]);
    let (a, _, _a) = proxied.raw_upgrade("/ws", &from("203.0.113.1"));
    let (b, _, _b) = proxied.raw_upgrade("/ws", &from("198.51.100.1, 203.0.113.2"));
    assert_eq!((a, b), (101, 101), "behind the proxy, two people");
    let (again, _, _) = proxied.raw_upgrade("/ws", &from("203.0.113.1"));
    assert_eq!(again, 429, "the same person behind the proxy is still limited");
}

#[tokio::test]
async fn half_open_connections_are_cut_off_and_do_not_keep_the_page_from_loading() {
    let _turn = ONE_LOAD_AT_A_TIME.lock().await;
    // The binary: the server's sockets are not this process's to count against its limit.
    let server = TestServer::binary();
    let started = Instant::now();
    // 500 connections that never finish a request: half send nothing, half stop mid-way.
    let mut idle = Vec::new();
    for n in 0..500 {
        let mut stream = std::net::TcpStream::connect(&server.addr).unwrap();
        if n % 2 == 1 {
            use std::io::Write;
            stream.write_all(b"GET / HTTP/1.1\r\nHost: example\r\nUpgrade: webso").unwrap();
        }
        idle.push(stream);
    }
    let (status, body) = server.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("Palaver"), "the chat page, for everyone else");
    let mut page = server.named("Page").await;
    page.join("lobby", None).await;
    eprintln!("page and chat socket served {:?} after opening 500 half-open connections", started.elapsed());

    // Every one of them is closed by the server within the header deadline (10 s).
    for mut stream in idle {
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut buf = [0u8; 256];
        let closed = loop {
            match stream.read(&mut buf) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break true,
                Err(_) => break false,
            }
        };
        assert!(closed, "a half-open connection is closed by the server");
    }
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(13), "closed after {elapsed:?}, not within the 10 s deadline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_that_stop_reading_are_closed_as_slow_and_cost_bounded_memory() {
    let _turn = ONE_LOAD_AT_A_TIME.lock().await;
    // The binary: its memory is measured.
    let mut server = TestServer::binary();
    const STUCK: usize = 100;
    const WATCHERS: usize = 5;
    const SENDERS: usize = 5;
    // Enough that a stuck reader's kernel buffers (up to 4 MiB) fill and its queue grows
    // past its limit, with room to spare (10 MB in all).
    const PER_SENDER: usize = 1000;
    let mut stuck = Vec::new();
    for n in 0..STUCK {
        let mut client = Client::connect_narrow(&server).await;
        client.hello(None, Some(&format!("stuck{n}"))).await;
        client.join("flood", None).await;
        stuck.push(client);
    }
    let rss_before = server.process().rss_kib();
    // Every stuck reader must be dropped: a doorman below sees each one leave the room.
    // A few of them read again as soon as they are dropped, and must find, after what
    // was already on its way, the close frame that says why: 4008. (Only a few: the
    // server waits 5 s to say goodbye, and each has megabytes in the pipe to read first.)
    const WOKEN: usize = 3;
    let mut doors = HashMap::new();
    let mut stuck_readers = Vec::new();
    for mut client in stuck.drain(..WOKEN) {
        let (open, opened) = tokio::sync::oneshot::channel::<()>();
        doors.insert(client.user().id, open);
        stuck_readers.push(tokio::spawn(async move {
            let _ = opened.await;
            let mut newest = 0;
            let close = loop {
                match tokio::time::timeout(WAIT, client.ws.next()).await.expect("the stream ends") {
                    Some(Ok(Message::Text(text))) => {
                        if let Ok(ServerMsg::Message(m)) = ServerMsg::decode(text.as_str()) {
                            assert!(m.seq > newest, "in order");
                            newest = m.seq;
                        }
                    }
                    Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => break None,
                }
            };
            (newest, close, client.token())
        }));
    }
    let mut doorman = server.named("doorman").await;
    doorman.join("flood", None).await;
    let mut stuck_ids: HashSet<_> = stuck.iter().map(|c| c.user().id).chain(doors.keys().cloned()).collect();
    let doorman = tokio::spawn(async move {
        while !stuck_ids.is_empty() {
            // Departures one by one, or (after the doorman itself fell behind the flood
            // and caught up) the whole list of who is still here.
            let gone: Vec<_> = match doorman.next().await {
                ServerMsg::Departed { user, .. } => vec![user.id],
                ServerMsg::Presence { online, .. } => {
                    stuck_ids.iter().filter(|id| !online.iter().any(|u| &u.id == *id)).cloned().collect()
                }
                _ => Vec::new(),
            };
            for id in gone {
                stuck_ids.remove(&id);
                if let Some(open) = doors.remove(&id) {
                    let _ = open.send(());
                }
            }
        }
        doorman
    });

    let total = SENDERS * PER_SENDER;
    let mut watchers = Vec::new();
    for n in 0..WATCHERS {
        let mut client = server.named(&format!("watcher{n}")).await;
        client.join("flood", None).await;
        watchers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut seqs = Vec::new();
            while seqs.len() < total {
                let m = client.next_message().await;
                latencies.push(now_us().saturating_sub(sent_at(&m.text).expect("a stamped text")));
                seqs.push(m.seq);
            }
            (latencies, seqs, client)
        }));
    }
    let mut senders = Vec::new();
    for n in 0..SENDERS {
        let mut client = server.named(&format!("sender{n}")).await;
        client.join("flood", None).await;
        senders.push(tokio::spawn(async move {
            // Senders read as they go, as the page does. 500 messages a second in all:
            // a load the debug build serves with room to spare, so that only the stuck
            // readers fall behind.
            let mut pace = tokio::time::interval(Duration::from_millis(10));
            let (mut sent, mut acked) = (0, 0);
            while acked < PER_SENDER {
                tokio::select! {
                    _ = pace.tick(), if sent < PER_SENDER => {
                        client.say("flood", &format!("s{n}-{sent}"), &stamped(2000)).await;
                        sent += 1;
                    }
                    msg = client.next() => acked += usize::from(matches!(msg, ServerMsg::Ack { .. })),
                }
            }
            client
        }));
    }
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (sampling, pid) = (sampling.clone(), server.process().pid());
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(testkit::process::rss_kib(pid));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            peak
        })
    };
    let mut kept = Vec::new();
    for sender in senders {
        kept.push(tokio::time::timeout(Duration::from_secs(60), sender).await.expect("senders finish").unwrap());
    }
    let mut all_latencies = Vec::new();
    for watcher in watchers {
        let (latencies, seqs, client) =
            tokio::time::timeout(Duration::from_secs(60), watcher).await.expect("watchers finish").unwrap();
        assert_eq!(seqs, (1..=total as Seq).collect::<Vec<_>>(), "a reading client gets every message, in order");
        all_latencies.extend(latencies);
        kept.push(client);
    }
    all_latencies.sort_unstable();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let rss_peak = sampler.await.unwrap();
    eprintln!(
        "{STUCK} stuck readers, {total} messages of 2000 characters to {} readers: latency p50 {} ms, \
         p99 {} ms, max {} ms; server RSS {} MiB before the flood, at most {} MiB during it",
        WATCHERS,
        percentile(&all_latencies, 0.50) / 1000,
        percentile(&all_latencies, 0.99) / 1000,
        all_latencies.last().unwrap() / 1000,
        rss_before / 1024,
        rss_peak / 1024,
    );
    // The stated bound: the flood costs the server at most 48 MiB, stuck readers included
    // (each may queue 1 MiB, but queued frames share one copy of each message).
    assert!(rss_peak < rss_before + 48 * 1024, "RSS grew from {rss_before} KiB to {rss_peak} KiB");

    // Every stuck reader was dropped, and those reading again were told why on the wire.
    let doorman =
        tokio::time::timeout(Duration::from_secs(30), doorman).await.expect("every stuck reader left").unwrap();
    let mut ended = Vec::new();
    for reader in stuck_readers {
        ended.push(tokio::time::timeout(Duration::from_secs(30), reader).await.expect("a stuck reader ends").unwrap());
    }
    for (newest, close, _) in &ended {
        assert!(*newest < total as Seq, "dropped before the end of the flood");
        assert_eq!(*close, Some(Close::SlowConsumer.code()), "closed as too slow, after {newest} messages");
    }
    // Watchers and senders are still in the room, and no stuck reader is.
    drop(doorman);
    let mut probe = server.named("probe").await;
    let (_, _, online) = probe.join("flood", None).await;
    let names: Vec<&str> = online.iter().map(|u| u.name.as_str()).collect();
    assert!(!names.iter().any(|n| n.starts_with("stuck")), "stuck readers are gone from the room: {names:?}");
    for n in 0..WATCHERS {
        assert!(names.contains(&format!("watcher{n}").as_str()), "{names:?}");
    }

    // A dropped reader that reconnects is brought up to the newest message.
    let (newest, _, token) = ended.pop().unwrap();
    let mut back = server.client().await;
    back.hello(Some(&token), None).await;
    let (messages, _, _) = back.join("flood", Some(newest)).await;
    assert_eq!(messages.last().map(|m| m.seq), Some(total as Seq), "caught up to the newest");
}

/// Posts a full burst (all the rate limit allows at once) each time `go` says so, and
/// reads acknowledgements, until the socket dies. Tells `sent` after each burst. Returns
/// what was acknowledged, in order, and what was sent without an acknowledgement.
async fn post_until_killed(
    client: &mut Client,
    who: usize,
    mut go: tokio::sync::watch::Receiver<u32>,
    sent: tokio::sync::mpsc::UnboundedSender<()>,
) -> (Vec<String>, BTreeMap<u32, String>) {
    use futures::SinkExt;
    let mut acked = Vec::new();
    let mut pending = BTreeMap::new();
    let mut next = 0u32;
    loop {
        tokio::select! {
            Ok(()) = go.changed() => {
                for _ in 0..BURST {
                    let id = format!("c{who:02}-{next:04}");
                    let frame = ClientMsg::Send {
                        room: room_id("crash"),
                        id: palaver_protocol::ClientMsgId(id.clone()),
                        text: id.clone(),
                        reply_to: None,
                        files: Vec::new(),
                    };
                    pending.insert(next, id);
                    next += 1;
                    if client.ws.feed(Message::text(frame.encode())).await.is_err() {
                        return (acked, pending);
                    }
                }
                if client.ws.flush().await.is_err() {
                    return (acked, pending);
                }
                let _ = sent.send(());
            }
            frame = client.ws.next() => match frame {
                Some(Ok(Message::Text(text))) => match ServerMsg::decode(text.as_str()) {
                    Ok(ServerMsg::Ack { id, .. }) => {
                        pending.retain(|_, p| *p != id.0);
                        acked.push(id.0);
                    }
                    Ok(ServerMsg::Error { reason, .. }) => panic!("a burst within the limit is refused: {reason:?}"),
                    _ => {}
                },
                Some(Ok(Message::Ping(data))) => {
                    let _ = client.ws.send(Message::Pong(data)).await;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return (acked, pending),
            }
        }
    }
}

/// Messages a poster may send at once (the rate limit's burst): enough that a burst
/// from every poster is still being stored when the server is killed.
const BURST: usize = 50;

/// Every message in a room, oldest first, by paging back through history (as fast as
/// the server lets one connection load pages).
async fn whole_history(client: &mut Client, room: &str) -> Vec<ChatMessage> {
    let (mut all, _, _) = client.join(room, None).await;
    loop {
        let Some(before) = all.first().map(|m| m.seq) else { return all };
        client.send_msg(ClientMsg::History { room: room_id(room), before }).await;
        match client.next_where(|m| matches!(m, ServerMsg::Older { .. } | ServerMsg::Error { .. })).await {
            ServerMsg::Older { messages, has_older, .. } => {
                all.splice(0..0, messages);
                if !has_older {
                    return all;
                }
            }
            ServerMsg::Error { reason: ErrorReason::RateLimited, retry_after_ms: Some(wait), .. } => {
                tokio::time::sleep(Duration::from_millis(wait)).await;
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_message_and_resending_duplicates_none() {
    let _turn = ONE_LOAD_AT_A_TIME.lock().await;
    // A full burst again after a second (the test waits two, for a busy machine).
    let rate = [("PALAVER_RATE_PER_SEC", "50"), ("PALAVER_RATE_BURST", "50")];
    let data = Arc::new(tempfile::tempdir().unwrap());
    let mut server = TestServer::binary_in(data.clone(), &rate);
    const CLIENTS: usize = 20;
    let (go, wait_go) = tokio::sync::watch::channel(0);
    let (sent, mut bursts) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::new();
    for who in 0..CLIENTS {
        let mut client = server.named(&format!("poster{who}")).await;
        client.join("crash", None).await;
        let (wait_go, sent) = (wait_go.clone(), sent.clone());
        tasks.push(tokio::spawn(async move {
            let (acked, pending) = post_until_killed(&mut client, who, wait_go, sent).await;
            (client.token(), acked, pending)
        }));
    }
    // A first burst from everyone, then, once the buckets have refilled, a second one
    // that is still being stored when the server is killed.
    go.send_replace(1);
    for _ in 0..CLIENTS {
        bursts.recv().await;
    }
    tokio::time::sleep(Duration::from_millis(2100)).await;
    go.send_replace(2);
    for _ in 0..CLIENTS {
        bursts.recv().await;
    }
    server.process().signal("KILL");
    assert!(server.process().wait_exit(WAIT).is_some(), "killed");
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(tokio::time::timeout(WAIT, task).await.expect("posters notice").unwrap());
    }
    let acked_before: usize = outcomes.iter().map(|(_, a, _)| a.len()).sum();
    let pending_before: usize = outcomes.iter().map(|(_, _, p)| p.len()).sum();
    eprintln!("killed with {acked_before} messages acknowledged and {pending_before} not yet");
    assert!(acked_before >= CLIENTS * BURST, "the first burst was acknowledged before the kill");
    assert!(pending_before > 0, "the kill came while posts were in flight, not after every one was answered");
    drop(server);

    let server = TestServer::binary_in(data, &rate);
    // Each poster comes back as itself and resends what it never saw acknowledged.
    for (token, _, pending) in &outcomes {
        let mut client = server.client().await;
        client.hello(Some(token), None).await;
        client.join("crash", None).await;
        for id in pending.values() {
            client.say("crash", id, id).await;
        }
        let mut waiting: HashSet<&String> = pending.values().collect();
        while !waiting.is_empty() {
            match client.next_where(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. })).await {
                ServerMsg::Ack { id, .. } => {
                    waiting.remove(&id.0);
                }
                ServerMsg::Error { reason: ErrorReason::RateLimited, id: Some(id), retry_after_ms, .. } => {
                    tokio::time::sleep(Duration::from_millis(retry_after_ms.unwrap_or(200))).await;
                    client.say("crash", &id.0, &id.0).await;
                }
                other => panic!("{other:?}"),
            }
        }
    }

    let mut reader = server.named("reader").await;
    let history = whole_history(&mut reader, "crash").await;
    assert_eq!(history.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=history.len() as Seq).collect::<Vec<_>>());
    let mut seen = HashMap::new();
    for m in &history {
        assert!(seen.insert(m.text.clone(), m.seq).is_none(), "{} appears twice", m.text);
    }
    for (_, acked, pending) in &outcomes {
        for id in acked.iter().chain(pending.values()) {
            assert!(seen.contains_key(id), "{id} was acknowledged (or resent) and is missing");
        }
        // One poster's messages keep the order it sent them in.
        let seqs: Vec<Seq> = acked.iter().map(|id| seen[id]).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "out of order: {seqs:?}");
    }
    assert_eq!(history.len(), acked_before + pending_before, "nothing else was stored");
}
