//! A server binary as a child process: started with its settings, found where it
//! listens (it logs `listening on http://ADDR`), signalled, and always stopped: killed
//! when dropped, and by a watchdog if it outlives its allowed lifetime.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// How long a server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running server process.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    /// Dropping it tells the watchdog the process was stopped in time.
    _watchdog: mpsc::Sender<()>,
}

impl ServerProcess {
    /// Starts `command` and waits for its address. Its log lines are passed to
    /// `on_line`; the process is killed after `lifetime` whatever happens.
    pub fn start(
        mut command: Command,
        lifetime: Duration,
        on_line: impl Fn(&str) + Send + 'static,
    ) -> Result<ServerProcess, String> {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit()).env("NO_COLOR", "1");
        let mut child = command.spawn().map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (found, address) = mpsc::channel();
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                on_line(&line);
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String =
                        rest.chars().take_while(|c| c.is_ascii_alphanumeric() || ".:[]".contains(*c)).collect();
                    if let Some(found) = found.take() {
                        let _ = found.send(addr);
                    }
                }
            }
        });
        let watchdog = watch(child.id(), lifetime);
        let addr = match address.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr.parse().map_err(|e| format!("{addr:?}: {e}"))?,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait().ok();
                return Err(format!("the server did not say where it listens (exit: {status:?})"));
            }
        };
        Ok(ServerProcess { child, addr, _watchdog: watchdog })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `KILL`, `STOP`, ...).
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {}", self.pid());
    }

    /// Waits for the process to exit by itself, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Resident memory, in KiB (0 once the process is gone).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// CPU time used so far, user and system, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills `pid` after `lifetime` unless the returned sender is dropped first.
pub(crate) fn watch(pid: u32, lifetime: Duration) -> mpsc::Sender<()> {
    let (alive, stopped) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(lifetime) {
            eprintln!("[testkit] server {pid} outlived its {lifetime:?}: killing it");
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
        }
    });
    alive
}

/// A process's resident memory, in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A process's CPU time, user and system, in seconds.
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 12th, stime the 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields.get(11..13).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    ticks as f64 / 100.0
}

/// CPU time, in seconds, of a process and everything under it: its live descendants
/// and the children it has waited for (a database server's finished backends).
pub fn tree_cpu_seconds(pid: u32) -> f64 {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, p)| *p == parent).map(|(c, _)| *c));
        i += 1;
    }
    let reaped = {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: u64 = fields.get(13..15).map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
        ticks as f64 / 100.0
    };
    tree.into_iter().map(cpu_seconds).sum::<f64>() + reaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(rss_kib(std::process::id()) > 0);
        assert!(tree_cpu_seconds(std::process::id()) >= cpu_seconds(std::process::id()));
        assert_eq!(rss_kib(u32::MAX), 0);
    }

    #[test]
    fn a_process_that_outlives_its_lifetime_is_killed() {
        let mut command = Command::new("sh");
        command.arg("-c").arg("echo 'listening on http://127.0.0.1:9'; exec sleep 60");
        let mut server = ServerProcess::start(command, Duration::from_millis(300), |_| {}).unwrap();
        assert_eq!(server.addr, "127.0.0.1:9".parse().unwrap());
        let status = server.wait_exit(Duration::from_secs(10)).expect("killed by the watchdog");
        assert!(!status.success());
    }
}
