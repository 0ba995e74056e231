//! The `nodes` scenario: what one node costs as nodes are added. 2, 4 and 8 nodes on
//! this machine share a PostgreSQL database and a Redis; each node serves rooms of its
//! own ([`OWN_ROOMS`] of [`MEMBERS`], [`OWN_RATE`] messages a second in each) and
//! [`SHARED`] members of one room every node has people in, where [`SHARED_RATE`]
//! messages a second are posted in all, from members on every node in turn. So each
//! node's load is the same whatever the number of nodes.
//!
//! Per node, over the run: the bytes it received from Redis (its sockets to Redis, as
//! the kernel counts them: `ss`) per second, and its CPU per message delivered to its
//! clients. With `--check`, a figure at 8 nodes more than [`FLAT`] times the figure at
//! 2 nodes fails the run: a node's cost must not grow with the number of nodes.

use crate::load::{room, Load};
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::RoomId;
use std::{collections::HashMap, process::Command, time::Duration};
use testkit::services::{Postgres, Redis};

const LIFETIME: Duration = Duration::from_secs(900);
const OWN_ROOMS: usize = 20;
const MEMBERS: usize = 10;
const OWN_RATE: f64 = 2.0;
const SHARED: usize = 2;
const SHARED_RATE: f64 = 2.0;
/// A node's figures at 8 nodes against 2, at most.
const FLAT: f64 = 1.2;

/// One run's figures, averaged over its nodes.
struct PerNode {
    nodes: usize,
    bus_bytes_per_sec: f64,
    cpu_us_per_delivery: f64,
    deliveries_per_sec: f64,
    lost: u64,
}

pub async fn run(settings: &Settings) -> Result<()> {
    let pg = Postgres::start(LIFETIME)?;
    println!();
    println!(
        "nodes: 2, 4 and 8 nodes + PostgreSQL + Redis on this machine; each node {OWN_ROOMS} rooms of {MEMBERS} of \
         its own ({OWN_RATE} messages/s in each) and {SHARED} members of one room shared by all ({SHARED_RATE} \
         messages/s in all, from every node in turn)"
    );
    println!(
        "| nodes | bytes from Redis per node per s | server CPU per delivered message (µs, per node) | deliveries/s \
         per node | lost |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    let mut runs = Vec::new();
    for nodes in [2, 4, 8] {
        let run = measure(&pg, nodes, settings).await?;
        println!(
            "| {} | {:.0} | {:.1} | {:.0} | {} |",
            run.nodes, run.bus_bytes_per_sec, run.cpu_us_per_delivery, run.deliveries_per_sec, run.lost
        );
        if run.lost > 0 {
            return Err(format!("nodes: {} messages lost with {nodes} nodes", run.lost).into());
        }
        runs.push(run);
    }
    let (two, eight) = (&runs[0], &runs[2]);
    let bytes = eight.bus_bytes_per_sec / two.bus_bytes_per_sec.max(1.0);
    let cpu = eight.cpu_us_per_delivery / two.cpu_us_per_delivery.max(0.001);
    println!(
        "nodes: at 8 nodes against 2, per node: {bytes:.2}x the bytes from Redis, {cpu:.2}x the CPU per delivered \
         message (at most {FLAT}x)"
    );
    if settings.check && (bytes > FLAT || cpu > FLAT) {
        return Err(format!("nodes: a node's cost grew with the nodes: {bytes:.2}x bytes, {cpu:.2}x CPU").into());
    }
    Ok(())
}

async fn measure(pg: &Postgres, nodes: usize, settings: &Settings) -> Result<PerNode> {
    let db = format!("palaver_nodes_{nodes}");
    pg.create_database(&db)?;
    let redis = Redis::start(LIFETIME)?;
    for pid in [pg.pid(), redis.pid()].into_iter().flatten() {
        crate::server::free_to_use_any_core(pid);
    }
    let env = [("PALAVER_DATABASE_URL", pg.url(&db)), ("PALAVER_REDIS_URL", redis.url())];
    let servers: Vec<Server> = (0..nodes).map(|_| Server::start_on(None, &env)).collect();
    let shared = room("nodes-shared");
    // Connection i belongs to node `owner[i]`; one sender per room per node.
    let (mut conns, mut owner, mut members) = (Vec::new(), Vec::new(), HashMap::new());
    let (mut own, mut in_shared) = (Vec::new(), Vec::new());
    for (n, server) in servers.iter().enumerate() {
        let mut rooms: Vec<(RoomId, usize)> =
            (0..OWN_ROOMS).map(|r| (room(&format!("nodes-{n}-{r}")), MEMBERS)).collect();
        rooms.push((shared.clone(), SHARED));
        for (r, count) in rooms {
            let (opened, _) = crate::load::open_all(server, count, 50, |_| r.clone(), None).await?;
            let senders = if r == shared { &mut in_shared } else { &mut own };
            senders.push((conns.len(), r.clone()));
            *members.entry(r).or_insert(0u64) += count as u64;
            owner.extend(std::iter::repeat_n(n, opened.len()));
            conns.extend(opened);
        }
    }
    // Everyone's arrival settles before the run.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let load = Load::start_with(conns, false);
    let port = redis.url().trim_end_matches('/').rsplit(':').next().unwrap_or_default().parse::<u16>()?;
    let pids: Vec<u32> = servers.iter().map(Server::pid).collect();
    let (bytes_before, cpu_before) = (bytes_from(&pids, port)?, cpus(&servers));
    let started = std::time::Instant::now();
    let run_for = settings.run_for();
    let (sent_own, sent_shared) = tokio::join!(
        load.send(&own, own.len() as f64 * OWN_RATE, 64, run_for),
        load.send(&in_shared, SHARED_RATE, 64, run_for),
    );
    // Round-robin: sender k of S sent every S-th message from the k-th on.
    let expected_of = |senders: &[(usize, RoomId)], sent: u64| -> u64 {
        let s = senders.len() as u64;
        let each = |k: usize| sent / s + u64::from((k as u64) < sent % s);
        senders.iter().enumerate().map(|(k, (_, r))| each(k) * members[r]).sum()
    };
    let expected = expected_of(&own, sent_own) + expected_of(&in_shared, sent_shared);
    load.drain(expected, Duration::from_secs(10)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (bytes_after, cpu_after) = (bytes_from(&pids, port)?, cpus(&servers));
    let seen = load.finish().await;
    let mut delivered = vec![0u64; nodes];
    for (s, n) in seen.iter().zip(&owner) {
        delivered[*n] += s.messages;
    }
    let total: u64 = delivered.iter().sum();
    let gaps: u64 = seen.iter().map(|s| s.gaps).sum();
    let bytes: f64 = pids.iter().map(|p| bytes_after[p].saturating_sub(bytes_before[p]) as f64).sum();
    let cpu: f64 = cpu_after.iter().zip(&cpu_before).map(|(a, b)| a - b).sum();
    Ok(PerNode {
        nodes,
        bus_bytes_per_sec: bytes / nodes as f64 / elapsed,
        cpu_us_per_delivery: cpu * 1e6 / total.max(1) as f64,
        deliveries_per_sec: total as f64 / nodes as f64 / elapsed,
        lost: expected.saturating_sub(total) + gaps,
    })
}

fn cpus(servers: &[Server]) -> Vec<f64> {
    servers.iter().map(Server::cpu_seconds).collect()
}

/// Bytes each of `pids` has received on its TCP connections to Redis on `port`, as the
/// kernel counts them (`ss -tinp`: `bytes_received` per socket).
fn bytes_from(pids: &[u32], port: u16) -> Result<HashMap<u32, u64>> {
    let out = Command::new("ss")
        .args(["-tinpH", "state", "established", &format!("( dport = :{port} )")])
        .output()
        .map_err(|e| format!("running ss (iproute2): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut bytes: HashMap<u32, u64> = pids.iter().map(|p| (*p, 0)).collect();
    let mut current: Option<u32> = None;
    for line in text.lines() {
        if let Some(users) = line.split("users:").nth(1) {
            current = users.split("pid=").nth(1).and_then(|s| s.split(',').next()).and_then(|p| p.parse().ok());
        }
        let received = line.split_whitespace().find_map(|w| w.strip_prefix("bytes_received:"));
        if let (Some(pid), Some(n)) = (current, received.and_then(|n| n.parse::<u64>().ok())) {
            if let Some(total) = bytes.get_mut(&pid) {
                *total += n;
            }
            current = None;
        }
    }
    Ok(bytes)
}
