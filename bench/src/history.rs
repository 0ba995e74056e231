//! The `writes` and `history` scenario: writing as fast as the server commits into one
//! room until it holds a million messages, then how fast that room opens and its older
//! pages load, over the socket and as a server-rendered page.

use crate::client::{self, Conn};
use crate::load::{ms, open_all, ordinary, room, source, write_flat_out};
use crate::page::page_times;
use crate::server::Server;
use crate::settings::{Result, Settings};
use std::time::Instant;

/// Writes as fast as the server commits (rate limit lifted), into one room, until it
/// holds a million messages; then the latency of opening that room and of older pages.
pub async fn writes_and_history(settings: &Settings) -> Result<()> {
    let server = Server::start(&[("PALAVER_RATE_PER_SEC", "1000000".into()), ("PALAVER_RATE_BURST", "1000000".into())]);
    let room = room("history");
    let total: u64 = if settings.quick { 100_000 } else { 1_000_000 };
    const WRITERS: usize = 4;
    let (conns, _) = open_all(&server, WRITERS, WRITERS, |_| room.clone(), None).await?;
    let cpu_before = server.cpu_seconds();
    let rooms = vec![room.clone(); WRITERS];
    let (acked, took) = write_flat_out(conns, rooms, total / WRITERS as u64, ordinary).await?;
    let cpu = server.cpu_seconds() - cpu_before;
    println!();
    println!(
        "writes: {acked} messages acknowledged (each after its commit) in {took:.1} s: {:.0} committed messages/s, \
         server CPU {:.0}% of one core",
        acked as f64 / took,
        cpu / took * 100.0
    );

    // Opening the room: join and leave, over and over. Joins and leaves are rate-limited
    // per connection (a burst of 20), so each connection opens it a few times.
    const OPENS_PER_CONNECTION: usize = 9;
    let rounds = if settings.quick { 200 } else { 1000 };
    let mut opens = Vec::new();
    let mut readers = Vec::new();
    for round in 0..rounds {
        if round % OPENS_PER_CONNECTION == 0 {
            let mut fresh = Conn::open(server.addr, source(round)).await?;
            fresh.enter("reader", &self::room("elsewhere")).await?;
            readers.push(fresh);
        }
        let reader = readers.last_mut().ok_or("no reader")?;
        let t = Instant::now();
        reader.send(&client::text(&palaver_protocol::ClientMsg::Join { room: room.clone(), after: None })).await?;
        reader.expect(r#"{"type":"joined""#).await?;
        opens.push(t.elapsed());
        reader.send(&client::text(&palaver_protocol::ClientMsg::Leave { room: room.clone() })).await?;
    }
    // Older pages: rate-limited per connection too (a burst of 20), so each connection
    // loads a few.
    const PAGES_PER_CONNECTION: usize = 20;
    let mut pages = Vec::new();
    let mut pick: u64 = 12345;
    for round in 0..rounds {
        if round % PAGES_PER_CONNECTION == 0 {
            let mut fresh = Conn::open(server.addr, source(round)).await?;
            fresh.enter("reader", &room).await?;
            readers.push(fresh);
        }
        let reader = readers.last_mut().ok_or("no reader")?;
        pick = pick.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let before = 51 + (pick >> 33) % total.saturating_sub(51).max(1);
        let t = Instant::now();
        reader.send(&client::text(&palaver_protocol::ClientMsg::History { room: room.clone(), before })).await?;
        reader.expect(r#"{"type":"older""#).await?;
        pages.push(t.elapsed());
    }
    let ssr = page_times(&server, "/r/history", rounds).await?;
    println!(
        "history: a room of {total} messages: opening it (join, 50 newest) p50 {} p99 {}; an older page of 50 \
         p50 {} p99 {}; its server-rendered page p50 {} p99 {}",
        ms(&mut opens, 0.5),
        ms(&mut opens, 0.99),
        ms(&mut pages, 0.5),
        ms(&mut pages, 0.99),
        ms(&mut ssr.clone(), 0.5),
        ms(&mut ssr.clone(), 0.99),
    );
    Ok(())
}
