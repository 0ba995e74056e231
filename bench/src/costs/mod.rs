//! The `costs` scenario: what the hostile form of each costly request costs the server,
//! as a ratio to its plain form measured in the same run (server CPU from `/proc`).
//! With `--check`, a ratio past its bound fails the run: a request whose cost grows
//! with what a visitor puts in it, rather than with what it answers, shows up here.
//!
//! - mentions: posts of 2,000 characters of `@a @a …` (every `@` the start of 200
//!   known names), posts whose `@`s start the most names there are to look up, and
//!   posts naming 200 people, beside plain posts of the same length;
//! - search over the socket: a query of the same 16 words over and over, to 200 characters,
//!   beside a one-word query, over messages full of those words;
//! - the search page: `/search?q=` with 10,000 repeated words beside a one-word page;
//! - reading requests (history pages, `around`, `read`/`notify`, page loads): `reads.rs`.

mod reads;

use crate::client::{text, Conn};
use crate::load::{room, source};
use crate::page::get;
use crate::server::Server;
use crate::settings::{Result, Settings};
use palaver_protocol::{ClientMsg, ClientMsgId, RoomId};

/// Known people, all named `a…`: what an `@a` could name.
const PEOPLE: usize = 200;
/// Words of the messages searched, and of the hostile query.
const WORDS: [&str; 16] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "xi",
    "omicron", "pi",
];
/// Queries one connection asks (its search rate allows a burst of 15).
const QUERIES_PER_CONNECTION: usize = 14;

/// How much more a hostile form may cost than the plain one, at most. A message that
/// does name 32 people (the most one can) is stored with them and counted for each.
const MENTIONS_BOUND: f64 = 3.0;
/// (The same text without its `@`s costs 2.5x: it has twice the words to index.)
const LOOKUPS_BOUND: f64 = 5.0;
const NAMING_BOUND: f64 = 8.0;
const SEARCH_BOUND: f64 = 6.0;
const SEARCH_PAGE_BOUND: f64 = 2.0;

/// `n` copies of `unit`, cut to at most 2,000 characters.
fn filled(unit: &str) -> String {
    unit.repeat(2_000 / unit.len())
}

pub async fn run(settings: &Settings) -> Result<()> {
    let server = Server::start(&[("PALAVER_RATE_PER_SEC", "1000000".into()), ("PALAVER_RATE_BURST", "1000000".into())]);
    let posts = if settings.quick { 3_000 } else { 10_000 };
    let room = room("costs");
    for i in 0..PEOPLE {
        let mut conn = Conn::open(server.addr, source(i)).await?;
        conn.enter(&format!("a{i}"), &room).await?;
    }
    let mut poster = Conn::open(server.addr, source(0)).await?;
    poster.enter("poster", &room).await?;
    let everyone: Vec<String> = (0..PEOPLE).map(|i| format!("@a{i}")).collect();
    let forms = [
        ("plain posts", filled("lorem ipsum "), 1.0),
        ("posts of `@a @a …`", filled("@a "), MENTIONS_BOUND),
        ("posts of `@1.1.1.1 @2.2.2.2 …` (the most names a post looks up)", many_names(), LOOKUPS_BOUND),
        ("posts naming 200 people", everyone.join(" ").chars().take(2_000).collect(), NAMING_BOUND),
    ];
    // Each form three times, in turn, its cheapest run counted (the least disturbed by
    // the machine's noise, for the plain form as for the others: the plain form's few
    // hundred milliseconds swing the ratios most).
    const ROUNDS: usize = 3;
    let mut cpu = vec![f64::MAX; forms.len()];
    for round in 0..ROUNDS {
        for (n, (_, text, _)) in forms.iter().enumerate() {
            let spent = measure(&server, post_all(&mut poster, &room, round * forms.len() + n, posts, text)).await?;
            cpu[n] = cpu[n].min(spent);
        }
    }
    let mut failed = Vec::new();
    for (n, (name, _, bound)) in forms.iter().enumerate().skip(1) {
        let plain = format!("{posts} {}", forms[0].0);
        failed.extend(report("mentions", &plain, cpu[0], &format!("{posts} {name}"), cpu[n], *bound));
    }

    // Messages full of the same sixteen words, then queries of one and of all of them.
    let full = filled(&(WORDS.join(" ") + " "));
    post_all(&mut poster, &room, ROUNDS * forms.len(), posts, &full).await?;
    let queries = if settings.quick { 280 } else { 1_400 };
    // Whole words only, up to the 200 characters a query may have.
    let mut hostile = String::new();
    for word in WORDS.iter().cycle() {
        if hostile.len() + word.len() + 1 > 200 {
            break;
        }
        hostile += word;
        hostile.push(' ');
    }
    let plain = measure(&server, search(&server, queries, "alpha ")).await?;
    let worst = measure(&server, search(&server, queries, &hostile)).await?;
    failed.extend(report(
        "search",
        &format!("{queries} one-word queries"),
        plain,
        &format!("{queries} queries of 16 words over and over to 200 characters"),
        worst,
        SEARCH_BOUND,
    ));

    // The search page reads its query from the address: 10,000 words there (near the
    // 64 KiB an address may have).
    let pages = if settings.quick { 100 } else { 500 };
    let long = format!("/search?q={}", vec!["alpha+beta"; 5_000].join("+"));
    let plain = measure(&server, load(&server, pages, |_| "/search?q=alpha".into())).await?;
    let worst = measure(&server, load(&server, pages, |_| long.clone())).await?;
    failed.extend(report(
        "search page",
        &format!("{pages} one-word pages"),
        plain,
        &format!("{pages} pages asking for 10,000 words"),
        worst,
        SEARCH_PAGE_BOUND,
    ));
    failed.extend(reads::run(settings, &server, &mut poster).await?);
    if settings.check && !failed.is_empty() {
        return Err(failed.join("; ").into());
    }
    Ok(())
}

/// `@`s each followed by words of its own, to 2,000 characters: every `@` adds names to
/// look up, to the most one post may ask for.
fn many_names() -> String {
    let mut text = String::new();
    for i in 0.. {
        let unit = format!("@{i}.{i}.{i}.{i} ");
        if text.len() + unit.len() > 2_000 {
            break;
        }
        text += &unit;
    }
    text
}

/// The server's CPU seconds while `work` runs.
async fn measure(server: &Server, work: impl std::future::Future<Output = Result<()>>) -> Result<f64> {
    let before = server.cpu_seconds();
    work.await?;
    Ok(server.cpu_seconds() - before)
}

/// Prints one comparison; its failure, if the ratio is past `bound`.
fn report(what: &str, plain: &str, plain_cpu: f64, hostile: &str, hostile_cpu: f64, bound: f64) -> Option<String> {
    // /proc counts in ticks of 10 ms: never divide by less than one.
    let ratio = hostile_cpu / plain_cpu.max(0.01);
    println!(
        "costs: {what}: {plain} {:.0} ms of server CPU, {hostile} {:.0} ms: {ratio:.2}x (at most {bound}x)",
        plain_cpu * 1000.0,
        hostile_cpu * 1000.0
    );
    (ratio > bound).then(|| format!("{what}: {ratio:.2}x the plain form's CPU, over {bound}x"))
}

/// Posts `count` copies of `text` (ids `c{batch}-{i}`) and waits for every answer.
async fn post_all(conn: &mut Conn, room: &RoomId, batch: usize, count: usize, text_: &str) -> Result<()> {
    for i in 0..count {
        let msg = ClientMsg::Send {
            room: room.clone(),
            id: ClientMsgId(format!("c{batch}-{i}")),
            text: text_.to_owned(),
            reply_to: None,
            files: Vec::new(),
        };
        conn.send(&text(&msg)).await?;
    }
    for _ in 0..count {
        conn.expect(r#"{"type":"ack""#).await?;
    }
    Ok(())
}

/// Asks `rounds` searches for `query` over the socket, a fresh connection every few.
async fn search(server: &Server, rounds: usize, query: &str) -> Result<()> {
    let mut conn: Option<Conn> = None;
    for i in 0..rounds {
        if i % QUERIES_PER_CONNECTION == 0 {
            conn = Some(Conn::open(server.addr, source(i)).await?);
        }
        let conn = conn.as_mut().ok_or("no connection")?;
        conn.send(&text(&ClientMsg::Search { query: query.to_owned(), before: None })).await?;
        conn.expect(r#"{"type":"results""#).await?;
    }
    Ok(())
}

/// Loads `rounds` pages (`path(i)`), each answered 200.
async fn load(server: &Server, rounds: usize, path: impl Fn(usize) -> String) -> Result<()> {
    for i in 0..rounds {
        let path = path(i);
        let (status, _, _) = get(server, &path, "identity").await?;
        if status != 200 {
            return Err(format!("GET {}…: {status}", &path[..path.len().min(40)]).into());
        }
    }
    Ok(())
}
