//! The costs of reading requests: history pages, `around`, `read` and `notify`, and page
//! loads, each hostile form beside its plain one in the same run (see `mod.rs`).
//!
//! Two rooms of the same messages: `plain`, and `flooded`, whose newest rows are
//! thousands of reactions toggled on its newest message (what a page must read past).
//! - history: the page before the newest message of `plain`, beside the page before
//!   2^63-1 of `flooded`;
//! - around: a message in the middle of `plain`, beside 2^63-1 and 0 in `flooded`;
//! - read/notify: `read` of the joined room at its newest, beside `read` at 2^63-1,
//!   "mark all as read" of rooms that do not exist and `notify` of them (refused past
//!   the connection's rate, as a flood of them is);
//! - page loads: `/r/plain`, beside `/r/flooded`, rooms that do not exist and an
//!   address with 8 KiB of query.

use super::{load, measure, report};
use crate::client::{text, Conn};
use crate::load::{room, source};
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::{ClientMsg, ClientMsgId, Level, RoomId, Seq, MAX_SEQ};

/// Messages in each room, and reaction toggles after them in `flooded`.
const MESSAGES: u64 = 300;
const TOGGLES: usize = 3_000;
/// Pages one connection asks: within its history pages' burst (20).
const PER_CONNECTION: usize = 18;
/// `read`s and `notify`s one connection sends (the hostile ones past its rate's burst, 15).
const READS_PER_CONNECTION: usize = 600;

/// A page of a flood of reactions is four rows a line (`ROWS_PER_LINE`), 200 rows
/// beside the plain page's 50: it answers four times as much.
const HISTORY_BOUND: f64 = 8.0;
const AROUND_BOUND: f64 = 4.0;
const READ_BOUND: f64 = 3.0;
const PAGE_BOUND: f64 = 3.0;

/// Fills both rooms; then measures each pair. Returns the failures.
pub async fn run(settings: &Settings, server: &Server, poster: &mut Conn) -> Result<Vec<String>> {
    let (plain, flooded) = (room("plain"), room("flooded"));
    for r in [&plain, &flooded] {
        poster.send(&text(&ClientMsg::Join { room: r.clone(), after: None })).await?;
        poster.expect(r#"{"type":"joined""#).await?;
        for i in 0..MESSAGES {
            let id = ClientMsgId(format!("{}-{i}", r.as_str()));
            let msg = ClientMsg::Send {
                room: r.clone(),
                id,
                text: format!("message {i} of the room"),
                reply_to: None,
                files: Vec::new(),
            };
            poster.send(&text(&msg)).await?;
        }
        for _ in 0..MESSAGES {
            poster.expect(r#"{"type":"ack""#).await?;
        }
    }
    for i in 0..TOGGLES {
        let id = ClientMsgId(format!("toggle-{i}"));
        let msg =
            ClientMsg::React { room: flooded.clone(), id, target: MESSAGES, emoji: "🎉".into(), remove: i % 2 == 1 };
        poster.send(&text(&msg)).await?;
    }
    for _ in 0..TOGGLES {
        poster.expect(r#"{"type":"ack""#).await?;
    }

    let rounds = if settings.quick { 1_080 } else { 3_600 };
    let mut failed = Vec::new();
    let history = |r: &RoomId, before| ClientMsg::History { room: r.clone(), before };
    let (plain_cpu, worst) = cheapest_pair(
        server,
        || ask(server, &plain, rounds, |_| history(&plain, MESSAGES), "older"),
        || ask(server, &flooded, rounds, |_| history(&flooded, MAX_SEQ), "older"),
    )
    .await?;
    let what = format!("{rounds} pages before 2^63-1 of a room ending in {TOGGLES} reactions");
    failed.extend(report("history", &format!("{rounds} pages"), plain_cpu, &what, worst, HISTORY_BOUND));

    let around = |r: &RoomId, seq| ClientMsg::Around { room: r.clone(), seq };
    let far = |i: usize| around(&flooded, if i.is_multiple_of(2) { MAX_SEQ } else { 0 });
    let (plain_cpu, worst) = cheapest_pair(
        server,
        || ask(server, &plain, rounds, |_| around(&plain, MESSAGES / 2), "around"),
        || ask(server, &flooded, rounds, far, "around"),
    )
    .await?;
    let what = format!("{rounds} pages around 2^63-1 and 0 of a room ending in {TOGGLES} reactions");
    failed.extend(report("around", &format!("{rounds} pages"), plain_cpu, &what, worst, AROUND_BOUND));

    let read = |r: &RoomId, seq| ClientMsg::Read { room: r.clone(), seq };
    // Cheap both ways: many, so that the CPU counted (in 10 ms ticks) means something.
    let rounds = if settings.quick { 36_000 } else { 120_000 };
    let hostile = |i: usize| match i % 3 {
        0 => read(&plain, MAX_SEQ),
        1 => read(&room(&format!("nowhere-{i}")), Seq::MAX),
        _ => ClientMsg::Notify { room: room(&format!("nowhere-{i}")), level: Level::All },
    };
    let (plain_cpu, worst) = cheapest_pair(
        server,
        || tell(server, &plain, rounds, |_| read(&plain, MESSAGES)),
        || tell(server, &plain, rounds, hostile),
    )
    .await?;
    let what = format!("{rounds} reads past the end and reads and settings of rooms that do not exist");
    failed.extend(report("read/notify", &format!("{rounds} reads"), plain_cpu, &what, worst, READ_BOUND));

    let pages = if settings.quick { 100 } else { 500 };
    let long = format!("/r/flooded?q={}", "x".repeat(8_192));
    let path = |i: usize| match i % 3 {
        0 => "/r/flooded".to_owned(),
        1 => format!("/r/nowhere-{i}"),
        _ => long.clone(),
    };
    let (plain_cpu, worst) =
        cheapest_pair(server, || load(server, pages, |_| "/r/plain".to_owned()), || load(server, pages, path)).await?;
    let what = format!("{pages} pages of the flooded room, of rooms that do not exist and with 8 KiB of query");
    failed.extend(report("page loads", &format!("{pages} pages of a room"), plain_cpu, &what, worst, PAGE_BOUND));
    Ok(failed)
}

/// The server's CPU for a plain form and a hostile one, each run three times in turn
/// and its cheapest run counted: the plain forms' few hundred milliseconds of CPU, in
/// 10 ms ticks, swing a ratio most on a noisy machine.
async fn cheapest_pair<P, H>(server: &Server, plain: impl Fn() -> P, hostile: impl Fn() -> H) -> Result<(f64, f64)>
where
    P: std::future::Future<Output = Result<()>>,
    H: std::future::Future<Output = Result<()>>,
{
    let (mut plain_cpu, mut hostile_cpu) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        plain_cpu = plain_cpu.min(measure(server, plain()).await?);
        hostile_cpu = hostile_cpu.min(measure(server, hostile()).await?);
    }
    Ok((plain_cpu, hostile_cpu))
}

/// A named connection in `r`, a fresh one every [`PER_CONNECTION`] requests.
async fn member(server: &Server, r: &RoomId, i: usize) -> Result<Conn> {
    let mut conn = Conn::open(server.addr, source(i)).await?;
    conn.enter(&format!("reader{i}"), r).await?;
    Ok(conn)
}

/// Asks `rounds` requests (`msg(i)`) of members of `r`, each answered by a frame of `answer`'s type.
async fn ask(server: &Server, r: &RoomId, rounds: usize, msg: impl Fn(usize) -> ClientMsg, answer: &str) -> Result<()> {
    let prefix = format!(r#"{{"type":"{answer}""#);
    for start in (0..rounds).step_by(PER_CONNECTION) {
        let mut conn = member(server, r, start).await?;
        for i in start..(start + PER_CONNECTION).min(rounds) {
            conn.send(&text(&msg(i))).await?;
            conn.expect(&prefix).await?;
        }
    }
    Ok(())
}

/// Sends `rounds` frames (`msg(i)`) that have no answer but a refusal, from members of
/// `r`; each connection's last frame is `unread`, whose answer says the others are done.
async fn tell(server: &Server, r: &RoomId, rounds: usize, msg: impl Fn(usize) -> ClientMsg) -> Result<()> {
    for start in (0..rounds).step_by(READS_PER_CONNECTION) {
        let mut conn = member(server, r, start).await?;
        for i in start..(start + READS_PER_CONNECTION).min(rounds) {
            conn.send(&text(&msg(i))).await?;
        }
        conn.send(&text(&ClientMsg::Unread)).await?;
        loop {
            match conn.next_text().await? {
                Some(t) if t.starts_with(r#"{"type":"unread""#) => break,
                Some(_) => continue,
                None => return Err("closed before its unread counts".into()),
            }
        }
    }
    Ok(())
}
