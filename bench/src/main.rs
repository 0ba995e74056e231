//! `palaver-bench`: Palaver's load test. Starts the release server (pinned to core 0),
//! drives it from many real WebSocket connections spread over loopback addresses
//! 127.0.0.2-127.0.0.51, and prints what it measured.
//!
//! ```text
//! palaver-bench [--quick] [--check] [SCENARIO ...]
//! ```
//! Scenarios: fanout, max (the highest fan-out one core sustains), rooms (500 of 10), idle, crowd (100,000 connections
//! on one node, with a fan-out among them), writes (also fills the room `history` reads),
//! history, search, slow, page, cluster (two nodes with PostgreSQL and Redis), bigroom (10,000 in one room over two
//! nodes), nodes (a node's cost with 2, 4 and 8 nodes), storm (one of two nodes killed, its clients
//! reconnecting to the other), costs (hostile requests beside plain
//! ones, see `costs/`), signins (sign-ins a second, and the chat beside a flood of them), uploads (50 uploaders of 1 MB
//! and 20 MB files: throughput, memory, and the chat beside them). With none, all of them run. `--quick` runs each for less time
//! and with fewer messages, for a smoke test. `--check` first compares Palaver's cost per
//! delivery with the yardstick's in the same run, and fails if it has doubled (see
//! [`fanout::CHECK_FLOOR`]). See docs/PERFORMANCE.md.
//!
//! Each scenario is a module: `fanout.rs` (fanout, baseline, max, rooms, and `--check`),
//! `connections.rs` (idle, slow), `crowd.rs`, `history.rs` (writes, history), `search.rs`,
//! `page.rs`, `cluster.rs`, `nodes.rs`, `storm.rs`, `costs/` (`mod.rs`: posts and searches; `reads.rs`: pages,
//! `read`, `notify`), `signins.rs`, `uploads.rs`. What they share: `load.rs` (opening connections, a running load,
//! what it measured), `client.rs` (one connection), `server.rs` (the server under
//! test), `settings.rs`; `baseline.rs` is the yardstick.

mod baseline;
mod client;
mod cluster;
mod connections;
mod costs;
mod crowd;
mod fanout;
mod history;
mod load;
mod nodes;
mod page;
mod search;
mod server;
mod settings;
mod signins;
mod storm;
mod uploads;

use connections::{idle, slow_readers};
use fanout::{baseline_fanout, check, fanout, many_rooms, max};
use history::writes_and_history;
use page::page;
use settings::Settings;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--baseline-server") {
        if let Err(e) = baseline::serve() {
            eprintln!("baseline server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let settings = Settings { quick: args.iter().any(|a| a == "--quick"), check: args.iter().any(|a| a == "--check") };
    let mut wanted: Vec<&str> = args.iter().filter(|a| !a.starts_with("--")).map(String::as_str).collect();
    const ALL: [&str; 17] = [
        "baseline", "fanout", "max", "rooms", "idle", "crowd", "history", "search", "slow", "page", "cluster",
        "bigroom", "nodes", "storm", "costs", "signins", "uploads",
    ];
    let checking = settings.check;
    if wanted.is_empty() && !checking {
        wanted = ALL.to_vec();
    }
    if checking {
        wanted.insert(0, "check");
    }
    if let Some(unknown) = wanted.iter().find(|w| !ALL.contains(w) && !["writes", "check"].contains(w)) {
        eprintln!("unknown scenario {unknown:?}; choose from {}", ALL.join(", "));
        std::process::exit(2);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    println!("{}", machine());
    for name in wanted {
        let scenario = async {
            match name {
                "baseline" => baseline_fanout(&settings).await,
                "fanout" => fanout(&settings).await,
                "max" => max(&settings).await,
                "rooms" => many_rooms(&settings).await,
                "idle" => idle(&settings).await,
                "crowd" => crowd::run(&settings).await,
                "writes" | "history" => writes_and_history(&settings).await,
                "search" => search::run(&settings).await,
                "slow" => slow_readers(&settings).await,
                "page" => page(&settings).await,
                "cluster" => cluster::run(&settings).await,
                "bigroom" => cluster::big_room(&settings).await,
                "nodes" => nodes::run(&settings).await,
                "storm" => storm::run(&settings).await,
                "costs" => costs::run(&settings).await,
                "signins" => signins::run(&settings).await,
                "uploads" => uploads::run(&settings).await,
                "check" => check(&settings).await,
                _ => unreachable!(),
            }
        };
        // On time out the scenario is dropped, and with it the server it started.
        let limit = settings.time_limit();
        let result = runtime
            .block_on(async { tokio::time::timeout(limit, scenario).await })
            .unwrap_or_else(|_| Err(format!("did not finish within {} s", limit.as_secs()).into()));
        if let Err(e) = result {
            eprintln!("{name}: failed: {e}");
            std::process::exit(1);
        }
    }
}

/// The machine, as the results should be read against it.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = server::cores();
    let pinning = match server::server_core() {
        Some(core) => format!("server pinned to core {core}, load on the others"),
        None => "one core: server and load share it".into(),
    };
    format!("machine: {cpu}, {cores} cores; {pinning}")
}
