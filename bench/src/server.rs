//! The server under test: the release binary, started fresh for each scenario on its own
//! data directory and (when the machine has two cores or more) pinned to core 0, with
//! its CPU time and memory read from `/proc`.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    _data: Option<tempfile::TempDir>,
}

/// `program`, run on the server's core when there is one to itself.
fn pinned(program: &std::path::Path) -> Command {
    match server_core() {
        Some(core) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(core.to_string()).arg(program);
            c
        }
        None => Command::new(program),
    }
}

/// Runs `command` and waits for it to say where it listens.
fn launch(mut command: Command, data: Option<tempfile::TempDir>) -> Server {
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command.spawn().expect("start the server (is taskset installed?)");
    let stdout = child.stdout.take().expect("server stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let _ = tx.send(rest.trim().to_owned());
            } else if line.contains("WARN") || line.contains("ERROR") {
                eprintln!("[server] {line}");
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the server said where it listens");
    Server { child, addr: addr.parse().expect("a socket address"), _data: data }
}

/// Where the release server binary is: `PALAVER_BENCH_SERVER`, or the workspace's
/// `target/release/server`.
fn binary() -> PathBuf {
    std::env::var_os("PALAVER_BENCH_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/server"))
}

/// The machine's online cores (not just those this process may run on).
pub fn cores() -> usize {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap_or_default();
    let count: usize = online
        .trim()
        .split(',')
        .filter_map(|part| match part.split_once('-') {
            Some((a, b)) => Some(b.parse::<usize>().ok()? - a.parse::<usize>().ok()? + 1),
            None => part.parse::<usize>().ok().map(|_| 1),
        })
        .sum();
    count.max(1)
}

/// The core the server runs on, when there is one to spare for the load.
pub fn server_core() -> Option<usize> {
    (cores() >= 2).then_some(0)
}

impl Server {
    /// Starts the server with `env` on top of the bench's settings: every connection
    /// comes from loopback, so the per-address limits are raised out of the way.
    pub fn start(env: &[(&str, String)]) -> Server {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let binary = binary();
        assert!(
            binary.exists(),
            "no server binary at {}: build it with `cargo leptos build --release`",
            binary.display()
        );
        let mut command = pinned(&binary);
        let site = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
        command
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_SITE_ROOT", site)
            .env("LEPTOS_ENV", "PROD")
            .env("PALAVER_DATA_DIR", data.path())
            .env("PALAVER_MAX_CONNECTIONS_PER_IP", "1000000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", "1000000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", "1000000")
            .env("RUST_LOG", "warn,server=info")
            .env("NO_COLOR", "1")
            .envs(env.iter().map(|(k, v)| (k, v)));
        launch(command, Some(data))
    }

    /// Starts the minimal broadcaster (this binary, `--baseline-server`) the same way.
    pub fn start_baseline() -> Server {
        let me = std::env::current_exe().expect("the bench's own path");
        let mut command = pinned(&me);
        command.arg("--baseline-server");
        launch(command, None)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the server has used, user and system, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
        ticks as f64 / 100.0
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
