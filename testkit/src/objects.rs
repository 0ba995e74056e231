//! An S3-compatible object store for tests: `s3s-fs` (installed by `scripts/setup.sh`),
//! which checks every request's SigV4 signature, keeping its objects as plain files in
//! a temporary directory of its own, on a free loopback port; stopped when dropped and
//! killed by a watchdog if it outlives its allowed lifetime.

use crate::services::{free_port, Running};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bucket every test store has.
pub const BUCKET: &str = "palaver";
pub const KEY_ID: &str = "palaver-test-key";
pub const SECRET: &str = "palaver-test-secret-that-is-long";

pub struct ObjectStore {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<Running>,
}

impl ObjectStore {
    /// Starts one with an empty bucket [`BUCKET`]. Killed after `lifetime` whatever happens.
    pub fn start(lifetime: Duration) -> Result<ObjectStore, String> {
        let dir = tempfile::Builder::new().prefix("palaver-s3-").tempdir().map_err(|e| e.to_string())?;
        std::fs::create_dir(dir.path().join(BUCKET)).map_err(|e| e.to_string())?;
        let port = free_port();
        let mut command = Command::new("s3s-fs");
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", KEY_ID, "--secret-key", SECRET])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let server =
            Running::spawn(command, lifetime).map_err(|e| format!("{e} (scripts/setup.sh installs s3s-fs)"))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("s3s-fs did not listen on {addr} within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(ObjectStore { dir, port, server: Some(server) })
    }

    /// The settings that point Palaver at it.
    pub fn settings(&self) -> Vec<(String, String)> {
        [
            ("PALAVER_S3_URL", format!("http://127.0.0.1:{}/{BUCKET}", self.port)),
            ("PALAVER_S3_ACCESS_KEY_ID", KEY_ID.to_owned()),
            ("PALAVER_S3_SECRET_ACCESS_KEY", SECRET.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Where it keeps object `key` of the bucket on disk.
    pub fn object_path(&self, key: &str) -> PathBuf {
        self.dir.path().join(BUCKET).join(key)
    }
}

impl Drop for ObjectStore {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop("TERM");
        }
    }
}
