//! The `crowd` scenario: 100,000 connections on one node, in 1,000 rooms of 100. How
//! fast they are accepted and say hello and join, what each costs the server in memory
//! once idle (at most [`MAX_KIB_PER_CONNECTION`]), then a message a second in every
//! room (100,000 deliveries a second) with nothing lost.
//!
//! 100,000 sockets at each end need more open files than a session usually may: the
//! bench raises its own limit (`prlimit`, [`OPEN_FILES`]; the server it starts inherits
//! it), which takes root with `CAP_SYS_RESOURCE` when the hard limit is lower. Where it
//! cannot, the run takes as many connections as the hard limit allows, and says so:
//! its figures are then not the 100,000 ones. Clients come from 50 loopback addresses.

use crate::load::{enter_all, open_quiet, room, run_fanout, Fanout};
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::RoomId;
use std::time::Duration;

const CONNECTIONS: usize = 100_000;
const ROOM_SIZE: usize = 100;
/// Open files this process (and the server it starts) may have.
const OPEN_FILES: u64 = 262_144;
/// The most an idle connection may cost the server.
const MAX_KIB_PER_CONNECTION: f64 = 8.0;

pub async fn run(settings: &Settings) -> Result<()> {
    let connections = match crate::server::open_files(OPEN_FILES) {
        Ok(()) => CONNECTIONS,
        Err((why, hard)) => {
            // The server's own files (database, listeners) and the bench's besides.
            let fit = (hard.saturating_sub(1_000) as usize / ROOM_SIZE * ROOM_SIZE).min(CONNECTIONS);
            println!("crowd: {why}; taking {fit} connections, as the hard limit of {hard} open files allows");
            fit
        }
    };
    let server = Server::start(&[]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = server.rss_kib();
    let (mut conns, accepting) = open_quiet(server.addr, connections).await?;
    let rooms = |i: usize| room(&format!("crowd-{}", i / ROOM_SIZE));
    let (_, entering) = enter_all(&mut conns, |i| format!("crowd{i}"), rooms).await?;
    // Names and read positions are written a moment after; memory settles.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = server.rss_kib();
    let per_connection = after.saturating_sub(before) as f64 / connections as f64;
    println!();
    println!(
        "crowd: {connections} WebSocket upgrades in {:.1} s: {:.0} connections accepted/s; hello and join in \
         {ROOM_SIZE}-person rooms in {:.1} s: {:.0}/s; server RSS {:.1} MiB before, {:.1} MiB with all joined: \
         {per_connection:.2} KiB per idle connection (at most {MAX_KIB_PER_CONNECTION})",
        accepting.as_secs_f64(),
        connections as f64 / accepting.as_secs_f64(),
        entering.as_secs_f64(),
        connections as f64 / entering.as_secs_f64(),
        before as f64 / 1024.0,
        after as f64 / 1024.0,
    );
    // A message a second in every room, from its first member.
    let senders: Vec<(usize, RoomId)> = (0..connections).step_by(ROOM_SIZE).map(|i| (i, rooms(i))).collect();
    let per_sec = senders.len() as f64;
    let label = &format!(
        "crowd: {connections} connections, {} rooms of {ROOM_SIZE}, a message a second in each",
        senders.len()
    );
    let fanout = Fanout { senders, per_sec, members_per_room: ROOM_SIZE as u64, spin: true };
    let m = run_fanout(label, conns, fanout, settings, || vec![server.cpu_seconds()]).await;
    println!(
        "{label}: {:.0} deliveries/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, server CPU {:.0}% of a core, \
         {} lost, {} duplicates",
        m.per_sec(m.delivered),
        m.latency.p50,
        m.latency.p99,
        m.latency.max,
        m.cpu[0] / m.elapsed * 100.0,
        m.lost,
        m.duplicates,
    );
    m.check(label)?;
    if per_connection > MAX_KIB_PER_CONNECTION {
        return Err(format!("crowd: {per_connection:.2} KiB per idle connection").into());
    }
    Ok(())
}
