//! The server under test: the release binary, started fresh for each scenario on its own
//! data directory and (when the machine has two cores or more) pinned to core 0, with
//! its CPU time and memory read from `/proc`.

use std::{path::PathBuf, process::Command, time::Duration};
use testkit::process::ServerProcess;

/// The longest a scenario's server may live; it is stopped with the scenario.
const LIFETIME: Duration = Duration::from_secs(600);

pub struct Server {
    process: ServerProcess,
    pub addr: std::net::SocketAddr,
    _data: Option<tempfile::TempDir>,
}

/// `program`, run on the server's core when there is one to itself.
fn pinned(program: &std::path::Path) -> Command {
    pinned_to(program, server_core())
}

/// `program`, run on `core`, or on any core of the machine if `None` (whatever cores
/// this process is limited to).
fn pinned_to(program: &std::path::Path, core: Option<usize>) -> Command {
    let cores = match core {
        Some(core) => core.to_string(),
        None if cores() > 1 => format!("0-{}", cores() - 1),
        None => return Command::new(program),
    };
    let mut c = Command::new("taskset");
    c.arg("-c").arg(cores).arg(program);
    c
}

/// Runs `command` and waits for it to say where it listens; its warnings are shown.
fn launch(command: Command, data: Option<tempfile::TempDir>) -> Server {
    let process = ServerProcess::start(command, LIFETIME, |line| {
        if line.contains("WARN") || line.contains("ERROR") || line.contains("DEBUG") {
            eprintln!("[server] {line}");
        }
    })
    .expect("the server starts (is taskset installed?)");
    Server { addr: process.addr, process, _data: data }
}

/// Where the release server binary is: `PALAVER_BENCH_SERVER`, or the workspace's
/// `target/release/server`.
fn binary() -> PathBuf {
    std::env::var_os("PALAVER_BENCH_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/server"))
}

/// Lets a running process (and what it starts later) use every core of the machine,
/// whatever cores this process is limited to.
pub fn free_to_use_any_core(pid: u32) {
    if cores() > 1 {
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", &format!("0-{}", cores() - 1), &pid.to_string()])
            .stdout(std::process::Stdio::null())
            .status();
    }
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
        Server::start_on(server_core(), env)
    }

    /// Like [`Server::start`], on `core` (any core if `None`).
    pub fn start_on(core: Option<usize>, env: &[(&str, String)]) -> Server {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let binary = binary();
        assert!(
            binary.exists(),
            "no server binary at {}: build it with `cargo leptos build --release`",
            binary.display()
        );
        let mut command = pinned_to(&binary, core);
        let site = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
        command
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_SITE_ROOT", site)
            .env("LEPTOS_ENV", "PROD")
            .env("PALAVER_DATA_DIR", data.path())
            .env("PALAVER_MAX_CONNECTIONS_PER_IP", "1000000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", "1000000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", "1000000")
            .env("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "1000000")
            .env("PALAVER_PAGES_PER_IP_PER_SEC", "1000000")
            .env("PALAVER_PAGES_PER_IP_BURST", "1000000")
            .env("RUST_LOG", std::env::var("PALAVER_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn,server=info".into()))
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

    /// Whether this is the yardstick (the only server started without data).
    pub fn is_baseline(&self) -> bool {
        self._data.is_none()
    }

    /// The server's process.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// CPU time the server has used, user and system, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        self.process.cpu_seconds()
    }

    /// The server's data directory (SQLite's `palaver.db` is in it).
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self._data.as_ref().map(|d| d.path())
    }

    /// Resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.process.rss_kib()
    }

    /// Kills the server at once (SIGKILL): no goodbye to anyone.
    pub fn kill(&self) {
        self.process.signal("KILL");
    }
}

/// Raises this process's open-file limit (which the servers it starts inherit) to
/// `wanted`, soft and hard. Where it cannot (that takes root with `CAP_SYS_RESOURCE`
/// when the hard limit is lower), it raises the soft limit to the hard one and says
/// why, with the hard limit.
pub fn open_files(wanted: u64) -> Result<(), (String, u64)> {
    let pid = std::process::id().to_string();
    let set = |limit: u64| Command::new("prlimit").args(["--pid", &pid, &format!("--nofile={limit}:{limit}")]).output();
    let why = match set(wanted) {
        Ok(out) if out.status.success() => return Ok(()),
        Ok(out) => format!(
            "cannot raise the open-file limit to {wanted} ({}): run as root with CAP_SYS_RESOURCE, or raise \
             `nofile` in /etc/security/limits.conf",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("running prlimit (util-linux): {e}"),
    };
    let hard = Command::new("prlimit")
        .args(["--pid", &pid, "--nofile", "--output", "HARD", "--noheadings"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
        .unwrap_or(1024);
    let _ = set(hard);
    Err((why, hard))
}
