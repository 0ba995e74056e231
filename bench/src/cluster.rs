//! The `cluster` scenario: two Palaver nodes sharing a PostgreSQL database and a Redis,
//! all on this machine, with the clients split over the nodes. Fan-out in one room and
//! in many small rooms, then committed messages per second through both nodes. The
//! `bigroom` scenario: 10,000 people in one room over two nodes, 10 messages a second.

use crate::load::{open_all, ordinary, room, run_fanout, write_flat_out, Fanout, Measured};
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::RoomId;
use std::time::Duration;
use testkit::{
    process::tree_cpu_seconds,
    services::{Postgres, Redis},
};

const LIFETIME: Duration = Duration::from_secs(900);

/// Two nodes, the PostgreSQL they share and their Redis.
pub struct Cluster {
    pub nodes: Vec<Server>,
    pg: Postgres,
    redis: Redis,
}

impl Cluster {
    pub fn start() -> Result<Cluster> {
        let pg = Postgres::start(LIFETIME)?;
        pg.create_database("palaver")?;
        let redis = Redis::start(LIFETIME)?;
        // Like the nodes, the database and Redis may use any core: not only the load's.
        for pid in [pg.pid(), redis.pid()].into_iter().flatten() {
            crate::server::free_to_use_any_core(pid);
        }
        let env = [
            ("PALAVER_DATABASE_URL", pg.url("palaver")),
            ("PALAVER_REDIS_URL", redis.url()),
            // The write test posts as fast as commits allow.
            ("PALAVER_RATE_PER_SEC", "1000000".into()),
            ("PALAVER_RATE_BURST", "1000000".into()),
        ];
        // Each node may run on any core: two nodes pinned to one core would queue behind
        // each other, which is not how anyone runs two nodes.
        let nodes = vec![Server::start_on(None, &env), Server::start_on(None, &env)];
        Ok(Cluster { nodes, pg, redis })
    }

    /// CPU seconds so far of node 1, node 2, PostgreSQL (with its backends), Redis.
    pub fn cpu(&self) -> Vec<f64> {
        let tree = |pid: Option<u32>| pid.map_or(0.0, tree_cpu_seconds);
        vec![self.nodes[0].cpu_seconds(), self.nodes[1].cpu_seconds(), tree(self.pg.pid()), tree(self.redis.pid())]
    }

    /// `count` connections, alternately on each node, `room(i)` for the i-th.
    async fn open(&self, count: usize, room: impl Fn(usize) -> RoomId + Copy) -> Result<Vec<crate::client::Conn>> {
        let half = count / 2;
        let (mut first, _) = open_all(&self.nodes[0], half, 200, |i| room(2 * i), None).await?;
        let (second, _) = open_all(&self.nodes[1], count - half, 200, |i| room(2 * i + 1), None).await?;
        // Interleaved back, so connection i is in room(i) on node i % 2.
        let mut conns = Vec::with_capacity(count);
        let mut second = second.into_iter();
        for conn in first.drain(..) {
            conns.push(conn);
            conns.extend(second.next());
        }
        conns.extend(second);
        Ok(conns)
    }
}

fn print_row(label: &str, offered: f64, m: &Measured) {
    let pct = |cpu: f64| format!("{:.0}%", cpu / m.elapsed * 100.0);
    println!(
        "| {label} | {offered:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} | {} | {} | {} | {} |",
        m.per_sec(m.delivered),
        m.latency.p50,
        m.latency.p99,
        m.latency.max,
        m.lost,
        m.duplicates,
        m.per_sec(m.sent),
        pct(m.cpu[0]),
        pct(m.cpu[1]),
        pct(m.cpu[2]),
        pct(m.cpu[3]),
    );
}

/// 10,000 members in one room, half on each node, 10 of them (on both nodes) posting a
/// message a second: 100,000 deliveries a second, and nothing lost.
pub async fn big_room(settings: &Settings) -> Result<()> {
    const MEMBERS: usize = 10_000;
    let cluster = Cluster::start()?;
    let big = room("bigroom");
    let conns = cluster.open(MEMBERS, |_| big.clone()).await?;
    let senders: Vec<(usize, RoomId)> = (0..10).map(|i| (i * 1000 + i % 2, big.clone())).collect();
    let label = "bigroom: 10,000 in one room over 2 nodes, 10 sending 1/s";
    let fanout = Fanout { senders, per_sec: 10.0, members_per_room: MEMBERS as u64, spin: false };
    let m = run_fanout(label, conns, fanout, settings, || cluster.cpu()).await;
    println!();
    println!("{HEADER}");
    println!("{RULE}");
    print_row(label, 100_000.0, &m);
    m.check(label)
}

const HEADER: &str = "| load | offered deliveries/s | delivered/s | p50 ms | p99 ms | max ms | lost | duplicates | \
                      committed messages/s | node 1 CPU | node 2 CPU | PostgreSQL CPU | Redis CPU |";
const RULE: &str = "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |";

pub async fn run(settings: &Settings) -> Result<()> {
    let cluster = Cluster::start()?;
    println!();
    println!(
        "cluster: 2 nodes + PostgreSQL + Redis on this machine, each free to use any core; clients alternate \
         between the nodes"
    );
    println!("{HEADER}");
    println!("{RULE}");

    let one = room("cluster-fanout");
    let conns = cluster.open(1000, |_| one.clone()).await?;
    // Senders spread over both nodes: every tenth connection.
    let senders: Vec<(usize, RoomId)> = (0..100).map(|i| (i * 10 + i % 2, one.clone())).collect();
    let label = "cluster: 1,000 in one room over 2 nodes, 100 sending 1/s";
    // The load generator sleeps when idle: the database and Redis share its core.
    let fanout = Fanout { senders, per_sec: 100.0, members_per_room: 1000, spin: false };
    let m = run_fanout(label, conns, fanout, settings, || cluster.cpu()).await;
    print_row(label, 100_000.0, &m);
    m.check(label)?;

    let small = |i: usize| room(&format!("cluster-room-{}", i % 500));
    let conns = cluster.open(5000, small).await?;
    let senders: Vec<(usize, RoomId)> = (0..5000).map(|i| (i, small(i))).collect();
    let label = "cluster: 5,000 in 500 rooms of 10 over 2 nodes, all sending 1/s";
    let fanout = Fanout { senders, per_sec: 5000.0, members_per_room: 10, spin: false };
    let m = run_fanout(label, conns, fanout, settings, || cluster.cpu()).await;
    print_row(label, 50_000.0, &m);
    m.check(label)?;

    // Committed messages per second: writers on both nodes, each in a room of its own
    // (rooms take numbers one commit at a time, so one room is one node's at a time).
    const WRITERS: usize = 16;
    let total: u64 = if settings.quick { 32_000 } else { 320_000 };
    let rooms: Vec<RoomId> = (0..WRITERS).map(|w| room(&format!("cluster-writes-{w}"))).collect();
    let conns = cluster.open(WRITERS, |i| rooms[i].clone()).await?;
    let before = cluster.cpu();
    let (acked, took) = write_flat_out(conns, rooms.clone(), total / WRITERS as u64, ordinary).await?;
    let cpu: Vec<String> =
        cluster.cpu().iter().zip(before).map(|(a, b)| format!("{:.0}%", (a - b) / took * 100.0)).collect();
    let stored: u64 = cluster
        .pg
        .sql("palaver", "SELECT count(*) FROM messages WHERE room LIKE 'cluster-writes-%'")?
        .parse()
        .map_err(|e| format!("counting stored messages: {e}"))?;
    println!(
        "cluster writes: {acked} messages from {WRITERS} writers over 2 nodes acknowledged (each after its \
         PostgreSQL commit) in {took:.1} s: {:.0} committed messages/s; node 1 CPU {}, node 2 CPU {}, \
         PostgreSQL CPU {}, Redis CPU {}; {stored} in the database",
        acked as f64 / took,
        cpu[0],
        cpu[1],
        cpu[2],
        cpu[3],
    );
    if stored != acked {
        return Err(format!("cluster writes: {acked} acknowledged but {stored} stored").into());
    }
    Ok(())
}
