//! Real PostgreSQL and Redis servers for tests: each started from Debian's packages in
//! a temporary directory of its own, on a free loopback port, stopped when dropped and
//! killed by a watchdog if it outlives its allowed lifetime. Nothing here uses a
//! service already running on the machine.
//!
//! PostgreSQL refuses to run as root; under root its programs run as the `postgres`
//! user the package creates.

use crate::process::watch;
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    os::unix::{fs::chown, process::CommandExt},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// How long a service may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// A free loopback port (free when asked; the service binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A service process with its watchdog.
pub(crate) struct Running {
    pub(crate) child: Child,
    _watchdog: mpsc::Sender<()>,
}

impl Running {
    pub(crate) fn spawn(mut command: Command, lifetime: Duration) -> Result<Running, String> {
        let child = command.spawn().map_err(|e| format!("cannot start {command:?}: {e}"))?;
        let watchdog = watch(child.id(), lifetime);
        Ok(Running { child, _watchdog: watchdog })
    }

    /// Asks it to stop with `signal`, and waits; kills it if it has not stopped in 20 s.
    pub(crate) fn stop(mut self, signal: &str) {
        let _ = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The directory holding a Debian PostgreSQL's programs (the newest installed).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("postgres").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_default()
}

/// Whether this process runs as root.
pub(crate) fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1));
    euid == Some("0")
}

/// The uid and gid of the `postgres` user, when this process runs as root.
fn postgres_user() -> Option<(u32, u32)> {
    if !is_root() {
        return None;
    }
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}

/// A PostgreSQL server of the test's own, with a `palaver` superuser that needs no
/// password from loopback.
pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<Running>,
    lifetime: Duration,
}

impl Postgres {
    /// Makes a new cluster and starts it. Killed after `lifetime` whatever happens.
    pub fn start(lifetime: Duration) -> Result<Postgres, String> {
        let dir = tempfile::Builder::new().prefix("palaver-pg-").tempdir().map_err(|e| e.to_string())?;
        let postgres = Postgres { dir, port: free_port(), server: None, lifetime };
        if let Some((uid, gid)) = postgres_user() {
            chown(postgres.dir.path(), Some(uid), Some(gid)).map_err(|e| format!("chown: {e}"))?;
        }
        let mut initdb = postgres.command("initdb");
        initdb
            .arg("-D")
            .arg(postgres.data())
            .args(["-U", "palaver", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])
            .stdout(Stdio::null());
        let out = initdb.output().map_err(|e| format!("cannot run initdb ({:?}): {e}", postgres_bin()))?;
        if !out.status.success() {
            return Err(format!("initdb failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let mut postgres = postgres;
        postgres.resume()?;
        Ok(postgres)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(postgres_bin().join(program));
        command.current_dir(self.dir.path());
        if let Some((uid, gid)) = postgres_user() {
            command.uid(uid).gid(gid);
        }
        command
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's main process (its backends are its children), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(|s| s.child.id())
    }

    /// The address of database `db`, as Palaver's `PALAVER_DATABASE_URL` takes it.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://palaver@127.0.0.1:{}/{db}", self.port)
    }

    /// Makes a new, empty database.
    pub fn create_database(&self, name: &str) -> Result<(), String> {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(())
    }

    /// Runs SQL with `psql` and returns what it printed (unaligned, tuples only).
    pub fn sql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(postgres_bin().join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "palaver", "-d", db])
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Stops the server (a fast shutdown: open connections are cut).
    pub fn pause(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop("INT");
        }
    }

    /// Starts the server again, on the same port with the same data.
    pub fn resume(&mut self) -> Result<(), String> {
        let mut postgres = self.command("postgres");
        postgres
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .args(["-c", "max_connections=200", "-c", "log_min_messages=fatal"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.server = Some(Running::spawn(postgres, self.lifetime)?);
        wait_until(&format!("PostgreSQL on port {}", self.port), || self.sql("postgres", "SELECT 1").is_ok())
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.pause();
    }
}

/// A Redis server of the test's own, keeping nothing on disk.
pub struct Redis {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<Running>,
    lifetime: Duration,
}

impl Redis {
    /// Starts one. Killed after `lifetime` whatever happens.
    pub fn start(lifetime: Duration) -> Result<Redis, String> {
        let dir = tempfile::Builder::new().prefix("palaver-redis-").tempdir().map_err(|e| e.to_string())?;
        let mut redis = Redis { dir, port: free_port(), server: None, lifetime };
        redis.resume()?;
        Ok(redis)
    }

    /// Its process, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(|s| s.child.id())
    }

    /// Its address, as Palaver's `PALAVER_REDIS_URL` takes it.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it outright (`kill -9`): subscribers are cut off and what was in flight is lost.
    pub fn kill(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop("KILL");
        }
    }

    /// Starts it again on the same port.
    pub fn resume(&mut self) -> Result<(), String> {
        let mut redis = Command::new("redis-server");
        redis
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null());
        self.server = Some(Running::spawn(redis, self.lifetime)?);
        let addr: SocketAddr = ([127, 0, 0, 1], self.port).into();
        wait_until(&format!("Redis on port {}", self.port), || ping(addr))
    }

    /// Runs one command (words separated by spaces) and returns the raw reply.
    pub fn command(&self, words: &[&str]) -> Result<String, String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| e.to_string())?;
        let mut request = format!("*{}\r\n", words.len());
        for w in words {
            request.push_str(&format!("${}\r\n{w}\r\n", w.len()));
        }
        stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let n = stream.read(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn ping(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 16];
    stream.write_all(b"PING\r\n").is_ok() && stream.read(&mut buf).is_ok_and(|n| buf[..n].starts_with(b"+PONG"))
}

fn wait_until(what: &str, ready: impl Fn() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    while Instant::now() < deadline {
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{what} did not start within {READY_TIMEOUT:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_and_redis_start_answer_and_restart() {
        let mut pg = Postgres::start(Duration::from_secs(120)).unwrap();
        pg.create_database("t").unwrap();
        assert_eq!(pg.sql("t", "SELECT 40 + 2").unwrap(), "42");
        pg.pause();
        assert!(pg.sql("t", "SELECT 1").is_err(), "stopped");
        pg.resume().unwrap();
        assert_eq!(pg.sql("t", "SELECT 1").unwrap(), "1", "the same data after a restart");

        let mut redis = Redis::start(Duration::from_secs(120)).unwrap();
        assert!(redis.command(&["SET", "k", "v"]).unwrap().starts_with("+OK"));
        redis.kill();
        assert!(redis.command(&["PING"]).is_err(), "killed");
        redis.resume().unwrap();
        assert!(redis.command(&["PING"]).unwrap().starts_with("+PONG"));
    }

    #[test]
    fn programs_are_installed() {
        assert!(postgres_bin().join("initdb").exists(), "PostgreSQL: run scripts/setup.sh");
    }
}
