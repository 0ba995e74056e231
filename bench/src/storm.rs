//! The `storm` scenario: a node dies and its clients all come back at once. Two nodes
//! share PostgreSQL and Redis, with 20,000 clients each, in rooms of 100 that have half
//! their members on each node; every room has a message a second, posted on node 1.
//! Then node 2 is killed (SIGKILL). Its clients reconnect to node 1, waiting between
//! attempts as the page does ([`backoff`]), and resume where they were: `hello` with
//! their token, `join` with the last `seq` they had. Printed: how long until every one
//! had resumed, the messages posted meanwhile, that every client got every message of
//! its room once, and node 1's p99 during the storm against before it.
//!
//! Node 1 ends with both nodes' clients, and the bench holds them all: where the
//! open-file limit does not allow 40,000 (see [`crate::server::open_files`]), the run
//! takes as many as it does, and says so. `--quick` (the test command's) takes 2,000 a
//! node.

use crate::client::{Conn, Ended, Seen, Wiring};
use crate::cluster::Cluster;
use crate::load::{enter_all, latency, open_quiet, room, source, Load, DONE};
use crate::settings::{Result, Settings};
use palaver_protocol::{backoff, Hello, RoomId, ServerMsg};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, OnceLock,
    },
    time::{Duration, Instant},
};
use testkit::process::cpu_seconds;

const PER_NODE: usize = 20_000;
/// With `--quick`, for the test command: the same storm, smaller.
const PER_NODE_QUICK: usize = 2_000;
const ROOM_SIZE: usize = 100;
/// The phases: steady, the storm (from the kill until every client has resumed), and a
/// while after it.
const STORM: u8 = 1;
const AFTER: u8 = 2;
/// The longest the storm may take before the run fails.
const STORM_LIMIT: Duration = Duration::from_secs(90);

/// A client, with what it needs to come back.
struct Member {
    conn: Conn,
    index: usize,
    room: RoomId,
    token: String,
}

/// What a client saw.
#[derive(Default)]
struct Record {
    seen: Seen,
    /// How far into its latencies each phase began.
    marks: Vec<usize>,
    /// For a client of node 2: how long after the kill it had resumed.
    resumed: Option<Duration>,
    /// Attempts that failed before it resumed.
    retries: u32,
    error: Option<String>,
}

/// Shared by the clients: when node 2 was killed, where node 1 is, and how many have
/// resumed.
struct Storm {
    killed: OnceLock<Instant>,
    survivor: SocketAddr,
    resumed: AtomicUsize,
}

pub async fn run(settings: &Settings) -> Result<()> {
    let wanted = if settings.quick { PER_NODE_QUICK } else { PER_NODE };
    // Both nodes' clients at once, and the bench's own files.
    let per_node = match crate::server::open_files(2 * wanted as u64 + 2_000) {
        Ok(()) => wanted,
        Err((why, hard)) => {
            let fit = (hard.saturating_sub(1_000) as usize / 2 / ROOM_SIZE * ROOM_SIZE).min(wanted);
            println!("storm: {why}; taking {fit} clients a node, as the hard limit of {hard} open files allows");
            fit
        }
    };
    let cluster = Cluster::start()?;
    let (first, opening) = open_quiet(cluster.nodes[0].addr, per_node).await?;
    let (second, _) = open_quiet(cluster.nodes[1].addr, per_node).await?;
    // Client i is on node i % 2, in room i / ROOM_SIZE.
    let mut conns: Vec<Conn> = first.into_iter().zip(second).flat_map(|(a, b)| [a, b]).collect();
    let rooms = |i: usize| room(&format!("storm-{}", i / ROOM_SIZE));
    let (tokens, entering) = enter_all(&mut conns, |i| format!("storm{i}"), rooms).await?;
    println!();
    println!(
        "storm: 2 nodes with {per_node} clients each ({:.1} s to open, {:.1} s to say hello and join), {} rooms of \
         {ROOM_SIZE} with half their members on each node, a message a second in each posted on node 1",
        opening.as_secs_f64(),
        entering.as_secs_f64(),
        conns.len() / ROOM_SIZE,
    );
    let members: Vec<Member> = conns
        .into_iter()
        .zip(tokens)
        .enumerate()
        .map(|(index, (conn, token))| Member { conn, index, room: rooms(index), token })
        .collect();
    let storm = Arc::new(Storm { killed: OnceLock::new(), survivor: cluster.nodes[0].addr, resumed: 0.into() });
    let load = Load::spawn(members, false, |m, wiring| member(m, storm.clone(), wiring));
    // Each room's first member (on node 1) posts.
    let senders: Vec<(usize, RoomId)> = (0..2 * per_node).step_by(ROOM_SIZE).map(|i| (i, rooms(i))).collect();
    let per_sec = senders.len() as f64;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stop = std::sync::atomic::AtomicBool::new(false);
    let started = Instant::now();
    let sending = load.send_while(&senders, per_sec, 64, |_| !stop.load(Ordering::Relaxed));
    let storming = async {
        // Node 1, node 2, PostgreSQL, Redis, and this load generator.
        let cpu = || {
            let mut parts = cluster.cpu();
            parts.push(cpu_seconds(std::process::id()));
            parts
        };
        let spent = |before: &[f64], took: Duration| -> Vec<f64> {
            cpu().iter().zip(before).map(|(after, before)| (after - before) / took.as_secs_f64() * 100.0).collect()
        };
        let cpu_before = cpu();
        tokio::time::sleep(settings.run_for()).await;
        let steady_cpu = spent(&cpu_before, started.elapsed());
        load.phase(STORM);
        let killed = *storm.killed.get_or_init(Instant::now);
        cluster.nodes[1].kill();
        let cpu_before = cpu();
        while storm.resumed.load(Ordering::Relaxed) < per_node && killed.elapsed() < STORM_LIMIT {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let storm_took = killed.elapsed();
        let storm_cpu = spent(&cpu_before, storm_took);
        load.phase(AFTER);
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        (steady_cpu, killed - started, storm_took, storm_cpu)
    };
    let (sent, (steady_cpu, kill_at, storm_took, storm_cpu)) = tokio::join!(sending, storming);
    // What each room was sent: the senders take turns.
    let in_room = |r: usize| sent / senders.len() as u64 + u64::from((r as u64) < sent % senders.len() as u64);
    load.drain(sent * ROOM_SIZE as u64, Duration::from_secs(15)).await;
    let records = load.finish().await;

    let posted_in_storm =
        ((kill_at + storm_took).as_secs_f64() * per_sec) as u64 - (kill_at.as_secs_f64() * per_sec) as u64;
    let (mut lost, mut duplicates, mut retries, mut failed) = (0, 0, 0, Vec::new());
    let mut resumed: Vec<Duration> = Vec::new();
    let (mut before, mut during) = (Vec::new(), Vec::new());
    for (i, r) in records.iter().enumerate() {
        lost += in_room(i / ROOM_SIZE).saturating_sub(r.seen.messages) + r.seen.gaps;
        duplicates += r.seen.duplicates;
        retries += r.retries;
        if let Some(e) = &r.error {
            failed.push(format!("client {i}: {e}"));
        }
        if i % 2 == 1 {
            resumed.extend(r.resumed);
        } else if r.seen.closed || r.marks.len() < 2 {
            failed.push(format!("client {i} of node 1 was cut off"));
        } else {
            before.extend_from_slice(&r.seen.latencies_us[..r.marks[0]]);
            during.extend_from_slice(&r.seen.latencies_us[r.marks[0]..r.marks[1]]);
        }
    }
    resumed.sort_unstable();
    let at = |p: f64| {
        resumed.get(((resumed.len() as f64 * p).ceil() as usize).max(1) - 1).map_or(0.0, Duration::as_secs_f64)
    };
    let (before, during) = (percentiles(before), percentiles(during));
    println!(
        "storm: node 2 killed after {:.1} s; {} of its {per_node} clients resumed on node 1 (hello with their token, \
         join after their last message), all within {:.2} s of the kill (p50 {:.2} s, p99 {:.2} s), {retries} \
         attempts retried; {posted_in_storm} messages posted during the storm, {sent} in all: {lost} deliveries lost, \
         {duplicates} duplicated",
        kill_at.as_secs_f64(),
        resumed.len(),
        storm_took.as_secs_f64(),
        at(0.5),
        at(0.99),
    );
    let cpu = |c: &[f64]| {
        format!("CPU: node 1 {:.0}%, PostgreSQL {:.0}%, Redis {:.0}%, load generator {:.0}%", c[0], c[2], c[3], c[4])
    };
    println!(
        "storm: node 1's clients before the kill: p50 {:.2} ms, p99 {:.2} ms ({}); during the storm: p50 {:.2} ms, \
         p99 {:.2} ms, {:.1}x the p99 before ({})",
        before.p50,
        before.p99,
        cpu(&steady_cpu),
        during.p50,
        during.p99,
        during.p99 / before.p99.max(0.001),
        cpu(&storm_cpu),
    );
    if let Some(first) = failed.first() {
        return Err(format!("storm: {} clients failed, the first: {first}", failed.len()).into());
    }
    if resumed.len() < per_node || lost > 0 || duplicates > 0 {
        return Err(
            format!("storm: {} of {per_node} resumed, {lost} lost, {duplicates} duplicated", resumed.len()).into()
        );
    }
    Ok(())
}

fn percentiles(latencies_us: Vec<u32>) -> crate::load::Latency {
    latency(&[Seen { latencies_us, ..Seen::default() }])
}

/// One client: reads and tallies until the load is done, marking where each phase
/// begins; if its node dies, comes back on node 1.
async fn member(m: Member, storm: Arc<Storm>, mut wiring: Wiring) -> Record {
    let Member { mut conn, index, room, token } = m;
    let mut record = Record::default();
    loop {
        match conn.run_from(&mut record.seen, &mut wiring).await {
            Ended::Phase if *wiring.phase.borrow() == DONE => return record,
            Ended::Phase => {
                // Phases can pass faster than a busy client notices: each begins here.
                let phase = usize::from(*wiring.phase.borrow());
                record.marks.resize(phase.max(record.marks.len()), record.seen.latencies_us.len());
            }
            // Cut off by node 1, or a second time: a failure.
            Ended::Closed if index % 2 == 0 || record.resumed.is_some() => {
                record.seen.closed = true;
                return record;
            }
            Ended::Closed => {
                // Its socket goes before the next is opened, as in a browser.
                drop(conn);
                conn = match resume(index, &room, &token, &storm, &mut record, &wiring).await {
                    Ok(conn) => conn,
                    Err(e) => {
                        record.error = Some(e);
                        return record;
                    }
                };
                let killed = storm.killed.get().copied().unwrap_or_else(Instant::now);
                record.resumed = Some(killed.elapsed());
                storm.resumed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Comes back on node 1 as the page does: waits, tries, waits longer after each
/// failure; then takes the messages it missed from the `joined` answer.
async fn resume(
    index: usize,
    room: &RoomId,
    token: &str,
    storm: &Storm,
    record: &mut Record,
    wiring: &Wiring,
) -> std::result::Result<Conn, String> {
    loop {
        let wait = backoff(record.retries, jitter(index, record.retries));
        tokio::time::sleep(Duration::from_secs_f64(wait / 1000.0)).await;
        let after = Some(record.seen.last_seq).filter(|&seq| seq > 0);
        let attempt = async {
            let mut conn = Conn::open(storm.survivor, source(index)).await?;
            let (_, joined) = conn.enter_as(Hello::Token(token.into()), room, after).await?;
            std::io::Result::Ok((conn, joined))
        };
        match attempt.await {
            Ok((conn, joined)) => {
                let Ok(ServerMsg::Joined { messages, complete: true, .. }) = serde_json::from_str(&joined) else {
                    return Err(format!("no complete catch-up: {joined:.200}"));
                };
                for m in messages {
                    if record.seen.number(m.seq) {
                        wiring.received.fetch_add(1, Ordering::Relaxed);
                    }
                }
                return Ok(conn);
            }
            Err(e) if storm.killed.get().is_some_and(|k| k.elapsed() < STORM_LIMIT) => {
                if record.retries == 0 {
                    eprintln!("storm: client {index} could not resume at once: {e}");
                }
                record.retries += 1;
            }
            Err(e) => return Err(format!("could not resume: {e}")),
        }
    }
}

/// A number in [0, 1) for a client's n-th wait: the page's `Math.random()`, but the
/// same on every run.
fn jitter(index: usize, attempt: u32) -> f64 {
    let mut x = (index as u64) << 16 ^ u64::from(attempt) ^ 0x9e37_79b9_7f4a_7c15;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_waits_its_own_time_between_half_the_ceiling_and_the_ceiling() {
        let waits: Vec<f64> = (0..1000).map(|i| backoff(0, jitter(i, 0))).collect();
        assert!(waits.iter().all(|w| (125.0..250.0).contains(w)), "{waits:?}");
        let spread = waits.iter().cloned().fold(f64::MAX, f64::min)..waits.iter().cloned().fold(0.0, f64::max);
        assert!(spread.start < 130.0 && spread.end > 245.0, "the waits are spread out: {spread:?}");
        assert_ne!(jitter(7, 0), jitter(7, 1), "a client's next wait is drawn again");
    }
}
