//! What connections that do little cost: 10,000 idle ones (`idle`), and clients that
//! stop reading among many that do (`slow`).

use crate::client::Conn;
use crate::load::{enter_all, latency, open_all, open_quiet, room, source, Load};
use crate::server::Server;
use crate::settings::{Result, Settings};
use futures::{stream, StreamExt};
use palaver_protocol::{Close, RoomId};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// The close a stuck client must be sent.
const CLOSE_SLOW_CONSUMER: u16 = Close::SlowConsumer.code();

/// 10,000 connections joined to rooms of 10, then left idle: how fast they are
/// accepted, how fast they say hello and join, and what each costs in memory.
pub async fn idle(_settings: &Settings) -> Result<()> {
    let server = Server::start(&[]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let count = 10_000;
    let (mut conns, accepting) = open_quiet(server.addr, count).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let upgraded = server.rss_kib();
    let (_, entering) = enter_all(&mut conns, |i| format!("idle{i}"), |i| room(&format!("idle-{}", i / 10))).await?;
    let load = Load::start(conns);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_kib();
    println!();
    println!(
        "idle: {count} WebSocket upgrades in {:.2} s: {:.0} connections accepted/s; hello and join on all of them \
         in {:.2} s: {:.0}/s; server RSS {:.1} MiB before, {:.1} MiB upgraded, {:.1} MiB joined: \
         {:.1} KiB per idle connection",
        accepting.as_secs_f64(),
        count as f64 / accepting.as_secs_f64(),
        entering.as_secs_f64(),
        count as f64 / entering.as_secs_f64(),
        before as f64 / 1024.0,
        upgraded as f64 / 1024.0,
        after as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / count as f64,
    );
    load.finish().await;
    Ok(())
}

/// 100 clients that stop reading, in a room with 200 readers and a steady stream of long
/// messages: what the readers' latency and the server's memory do, and whether the server
/// lets the stuck clients go as too slow (close code 4008).
pub async fn slow_readers(settings: &Settings) -> Result<()> {
    const STUCK: usize = 100;
    // Until the server has let every stuck client go (their buffers in the kernel and
    // the server's 1 MiB hold about 18 s of this load here), and at least `run_for` twice.
    const MOST: Duration = Duration::from_secs(60);
    let server = Server::start(&[]);
    let room = room("slow");
    // The stuck clients, by name: `stuck0`, `stuck1`, … (a small receive buffer each).
    let addr = server.addr;
    let stuck: Vec<std::io::Result<Conn>> = stream::iter(0..STUCK)
        .map(|i| {
            let room = room.clone();
            async move {
                let mut conn = Conn::open_with(addr, source(i), Some(4096)).await?;
                conn.enter(&format!("stuck{i}"), &room).await?;
                Ok(conn)
            }
        })
        .buffered(100)
        .collect()
        .await;
    let stuck = stuck.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    let rss_before = server.rss_kib();
    let (readers, _) = open_all(&server, 200, 100, |_| room.clone(), None).await?;
    // Someone in the room who notes departures: only the stuck clients leave it, when
    // the server lets them go. (If the watcher itself falls behind the stream, it is
    // caught up with the list of who is still here instead of each departure.)
    let mut watcher = Conn::open(server.addr, source(300)).await?;
    watcher.enter("watcher", &room).await?;
    let (departures, let_go) = watch::channel(std::collections::HashSet::<String>::new());
    tokio::spawn(async move {
        while let Ok(Some(frame)) = watcher.next_text().await {
            let departed = frame.starts_with(r#"{"type":"departed""#);
            if !departed && !frame.starts_with(r#"{"type":"presence""#) {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(&frame).unwrap_or_default();
            let gone: Vec<String> = if departed {
                value["user"]["name"].as_str().map(str::to_owned).into_iter().collect()
            } else {
                let here: std::collections::HashSet<&str> =
                    value["online"].as_array().into_iter().flatten().filter_map(|u| u["name"].as_str()).collect();
                (0..STUCK).map(|i| format!("stuck{i}")).filter(|name| !here.contains(name.as_str())).collect()
            };
            departures.send_modify(|all| all.extend(gone));
        }
    });
    // Once let go, each stuck client reads again: it should find its connection closed
    // with 4008. It reads as soon as it is let go, while the server still waits (10 s)
    // for it to take the close frame; behind the frame are whatever the kernel's
    // buffers held for it, which a busy load generator takes a while to read.
    let endings = futures::future::join_all(stuck.into_iter().enumerate().map(|(i, mut conn)| {
        let mut let_go = let_go.clone();
        let name = format!("stuck{i}");
        tokio::spawn(async move {
            let _ = tokio::time::timeout(MOST, let_go.wait_for(|gone| gone.contains(&name))).await;
            match tokio::time::timeout(Duration::from_secs(30), conn.close_code()).await {
                Ok(Ok(Some(code))) => format!("closed with {code}"),
                Ok(Ok(None)) => "ended without a close frame".to_owned(),
                Ok(Err(e)) => format!("ended without a close frame ({})", e.kind()),
                Err(_) => "still open".to_owned(),
            }
        })
    }));
    let senders: Vec<(usize, RoomId)> = (0..20).map(|i| (i * 10, room.clone())).collect();
    let load = Load::start(readers);
    let per_sec = 100.0;
    let started = Instant::now();
    let mut peak = rss_before;
    let sent = {
        let at_least = settings.run_for() * 2;
        let go_on = |elapsed| elapsed < at_least || (elapsed < MOST && let_go.borrow().len() < STUCK);
        let sending = load.send_while(&senders, per_sec, 2000, go_on);
        tokio::pin!(sending);
        loop {
            tokio::select! {
                sent = &mut sending => break sent,
                _ = tokio::time::sleep(Duration::from_millis(100)) => peak = peak.max(server.rss_kib()),
            }
        }
    };
    let sending_for = started.elapsed();
    load.drain(sent * 200, Duration::from_secs(10)).await;
    let seen = load.finish().await;
    let l = latency(&seen);
    let delivered: u64 = seen.iter().map(|s| s.messages).sum();
    let duplicates: u64 = seen.iter().map(|s| s.duplicates).sum();
    let lost = (sent * 200).saturating_sub(delivered) + seen.iter().map(|s| s.gaps).sum::<u64>();
    let mut endings_seen: BTreeMap<String, usize> = BTreeMap::new();
    for ending in endings.await {
        *endings_seen.entry(ending?).or_default() += 1;
    }
    let as_slow = format!("closed with {CLOSE_SLOW_CONSUMER}");
    let slow_closed = endings_seen.get(&as_slow).copied().unwrap_or(0);
    println!();
    println!(
        "slow readers: {STUCK} clients that stop reading among 200 that do, {per_sec:.0} messages/s of 2,000 \
         characters for {:.0} s: readers' latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; lost {lost}; duplicates \
         {duplicates}; stuck clients closed with {CLOSE_SLOW_CONSUMER}: {slow_closed} of {STUCK}; server RSS {:.1} \
         MiB with the stuck clients connected, at most {:.1} MiB during the load",
        sending_for.as_secs_f64(),
        l.p50,
        l.p99,
        l.max,
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
    );
    let mut problems = Vec::new();
    if lost > 0 || duplicates > 0 {
        problems.push(format!("{lost} deliveries to reading clients lost, {duplicates} duplicated"));
    }
    if slow_closed < STUCK {
        let others: Vec<String> =
            endings_seen.iter().filter(|(e, _)| **e != as_slow).map(|(e, n)| format!("{n} {e}")).collect();
        problems.push(format!("stuck clients not closed with {CLOSE_SLOW_CONSUMER}: {}", others.join(", ")));
    }
    if !problems.is_empty() {
        return Err(format!("slow readers: {}", problems.join("; ")).into());
    }
    Ok(())
}
