//! The `search` scenario: a million messages of made-up words over 100 rooms, written as
//! fast as the server commits them (each indexed in its commit), then two-word queries
//! and queries whose last word is being typed, over the socket; and what the index costs
//! on disk beside the messages themselves.

use crate::client::{text, Conn};
use crate::load::{ms, open_all, source, write_flat_out};
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::{ClientMsg, RoomId};
use std::time::{Duration, Instant};

const ROOMS: usize = 100;
/// Words in the made-up language; a message draws them with a skew to the common ones,
/// as people do.
const VOCABULARY: usize = 20_000;
/// Queries one connection asks before the next takes over (its rate limit is a burst of
/// 15).
const QUERIES_PER_CONNECTION: usize = 14;

/// A made-up word: two to four syllables, the same for the same number.
fn word(n: usize) -> String {
    const SYLLABLES: [&str; 32] = [
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "zo", "fu", "ge", "hi", "ju", "ba", "co", "du",
        "el", "fa", "go", "ha", "in", "jo", "ku", "la", "mo", "nu", "or", "pa", "qui", "ro",
    ];
    let mut n = n + 32;
    let mut w = String::new();
    while n > 0 {
        w.push_str(SYLLABLES[n % 32]);
        n /= 32;
    }
    w
}

/// A random number in 0..1, from a counter (xorshift over a splitmix start).
fn unit(seed: u64) -> f64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as f64 / u64::MAX as f64
}

/// A word of the vocabulary, common ones far more often (Zipf-like).
fn drawn(seed: u64) -> usize {
    ((VOCABULARY as f64).powf(unit(seed)) as usize).saturating_sub(1)
}

/// Writer `w`'s message `n`: 6 to 13 words.
fn message(w: usize, n: u64) -> String {
    let seed = (w as u64) << 32 | n;
    let count = 6 + (unit(seed ^ 0xabc) * 8.0) as usize;
    (0..count).map(|i| word(drawn(seed.wrapping_mul(31).wrapping_add(i as u64)))).collect::<Vec<_>>().join(" ")
}

pub async fn run(settings: &Settings) -> Result<()> {
    let server = Server::start(&[("PALAVER_RATE_PER_SEC", "1000000".into()), ("PALAVER_RATE_BURST", "1000000".into())]);
    let total: u64 = if settings.quick { 50_000 } else { 1_000_000 };
    let rooms: Vec<RoomId> = (0..ROOMS).map(|r| RoomId::parse(&format!("search-{r}")).unwrap()).collect();
    let (conns, _) = open_all(&server, ROOMS, 20, |i| rooms[i].clone(), None).await?;
    let cpu_before = server.cpu_seconds();
    let (acked, took) = write_flat_out(conns, rooms.clone(), total / ROOMS as u64, message).await?;
    let cpu = server.cpu_seconds() - cpu_before;
    println!();
    println!(
        "search: {acked} messages in {ROOMS} rooms, each committed with its words indexed: {:.0} committed messages/s, \
         server CPU {:.0}% of one core",
        acked as f64 / took,
        cpu / took * 100.0
    );
    if let Some(dir) = server.data_dir() {
        let (messages, index) = sizes(&dir.join("palaver.db"))?;
        println!(
            "search: on disk, the messages {:.1} MiB, the search index {:.1} MiB: {:.2}x the messages' own size",
            messages as f64 / 1048576.0,
            index as f64 / 1048576.0,
            index as f64 / messages as f64
        );
    }

    // Queries: two words each from the common-but-not-everywhere middle of the
    // vocabulary; then a word and the start of another, as typed.
    let rounds = if settings.quick { 150 } else { 1000 };
    let two_words = |i: usize| {
        let (a, b) = (20 + drawn(i as u64 * 7 + 1) % 400, 20 + drawn(i as u64 * 7 + 2) % 400);
        format!("{} {} ", word(a), word(b))
    };
    let prefix = |i: usize| {
        let (a, b) = (drawn(i as u64 * 11 + 3) % 400, drawn(i as u64 * 11 + 4) % 2000);
        format!("{} {}", word(a), &word(b)[..3])
    };
    let (mut plain, plain_found) = queries(&server, rounds, 0, two_words).await?;
    let (mut typed, typed_found) = queries(&server, rounds, rounds, prefix).await?;
    println!(
        "search: two-word queries p50 {} p99 {} ({:.1} results a page on average); a word and the start of one \
         p50 {} p99 {} ({:.1} a page)",
        ms(&mut plain, 0.5),
        ms(&mut plain, 0.99),
        plain_found,
        ms(&mut typed, 0.5),
        ms(&mut typed, 0.99),
        typed_found
    );
    Ok(())
}

/// Asks `rounds` queries, one at a time, each from a connection that asked at most a
/// few; their round-trip times, and the average number of results a page.
async fn queries(
    server: &Server,
    rounds: usize,
    first: usize,
    query: impl Fn(usize) -> String,
) -> Result<(Vec<Duration>, f64)> {
    let mut times = Vec::with_capacity(rounds);
    let mut found = 0usize;
    let mut conn: Option<Conn> = None;
    for i in 0..rounds {
        if i % QUERIES_PER_CONNECTION == 0 {
            conn = Some(Conn::open(server.addr, source(first + i)).await?);
        }
        let conn = conn.as_mut().ok_or("no connection")?;
        let t = Instant::now();
        conn.send(&text(&ClientMsg::Search { query: query(i), before: None })).await?;
        let answer = conn.expect(r#"{"type":"results""#).await?;
        times.push(t.elapsed());
        found += answer.matches(r#""marks":"#).count();
    }
    Ok((times, found as f64 / rounds as f64))
}

/// Bytes on disk of the messages (their table) and of the search index (its tables),
/// from SQLite's own page accounting.
fn sizes(db: &std::path::Path) -> Result<(u64, u64)> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let size = |like: &str| -> rusqlite::Result<u64> {
        conn.query_row("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE ?1", [like], |r| {
            r.get::<_, i64>(0).map(|n| n as u64)
        })
    };
    Ok((size("messages")?, size("search%")?))
}
