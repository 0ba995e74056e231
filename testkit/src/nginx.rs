//! A real nginx for tests, beside the PostgreSQL and Redis of `services`: Debian's
//! nginx, started in the foreground with a configuration, logs, pid file and temporary
//! files of its own in a temporary directory, on the port the test chose; stopped when
//! dropped and killed by a watchdog if it outlives its allowed lifetime. Also
//! self-signed certificates for it, made with the `openssl` program.

use crate::services::{is_root, Running};
use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// How long nginx may take to accept connections.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// An nginx of the test's own.
pub struct Nginx {
    dir: tempfile::TempDir,
    port: u16,
    server: Option<Running>,
}

impl Nginx {
    /// Starts nginx with `site` (what goes in the `http` block: upstreams, `server`
    /// blocks) listening on `port`, in a main configuration of its own. Killed after
    /// `lifetime` whatever happens.
    pub fn start(site: &str, port: u16, lifetime: Duration) -> Result<Nginx, String> {
        let dir = tempfile::Builder::new().prefix("palaver-nginx-").tempdir().map_err(|e| e.to_string())?;
        let d = dir.path().display();
        // Under root, nginx's workers would otherwise switch to `nobody`, which may not
        // read the temporary directory.
        let user = if is_root() { "user root;" } else { "" };
        let config = format!(
            "{user}\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n    access_log {d}/access.log;\n    client_body_temp_path {d}/body;\n    \
             proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n    \
             scgi_temp_path {d}/scgi;\n{site}\n}}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        let mut nginx = Command::new("nginx");
        nginx
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut server =
            Running::spawn(nginx, lifetime).map_err(|e| format!("{e} (scripts/setup.sh installs nginx)"))?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                return Err(format!("nginx exited at start ({status}): {log}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                server.stop("KILL");
                return Err(format!("nginx did not listen on {addr} within {READY_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Nginx { dir, port, server: Some(server) })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What nginx logged (its errors and warnings), for a failing test to show.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            // A fast shutdown: open connections are cut.
            server.stop("TERM");
        }
    }
}

/// A self-signed certificate and its key, in PEM files (as nginx reads them) and the
/// certificate in DER too (as a TLS client trusts it).
pub struct Certificate {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub cert_der: Vec<u8>,
}

/// Makes a self-signed certificate for the host name `name`, in `dir`: a server's
/// certificate (not a CA's, which TLS clients refuse to see as a server's), which a
/// client trusts by adding it to its roots.
pub fn self_signed(dir: &Path, name: &str) -> Result<Certificate, String> {
    let (cert_pem, key_pem, config) =
        (dir.join(format!("{name}.pem")), dir.join(format!("{name}.key")), dir.join(format!("{name}.cnf")));
    let extensions = format!(
        "[req]\ndistinguished_name = dn\nx509_extensions = server\nprompt = no\n[dn]\nCN = {name}\n\
         [server]\nsubjectAltName = DNS:{name}\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n"
    );
    std::fs::write(&config, extensions).map_err(|e| format!("cannot write {}: {e}", config.display()))?;
    let openssl = |args: &[&std::ffi::OsStr]| -> Result<Vec<u8>, String> {
        let out = Command::new("openssl").args(args).output().map_err(|e| format!("cannot run openssl: {e}"))?;
        match out.status.success() {
            true => Ok(out.stdout),
            false => Err(format!("openssl failed: {}", String::from_utf8_lossy(&out.stderr))),
        }
    };
    let mut request: Vec<&std::ffi::OsStr> = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        .into_iter()
        .chain(["-nodes", "-days", "2", "-config"])
        .map(AsRef::as_ref)
        .collect();
    request.extend([
        config.as_os_str(),
        "-keyout".as_ref(),
        key_pem.as_os_str(),
        "-out".as_ref(),
        cert_pem.as_os_str(),
    ]);
    openssl(&request)?;
    let cert_der =
        openssl(&["x509".as_ref(), "-in".as_ref(), cert_pem.as_os_str(), "-outform".as_ref(), "DER".as_ref()])?;
    Ok(Certificate { cert_pem, key_pem, cert_der })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn nginx_starts_answers_and_stops() {
        let port = crate::services::free_port();
        let site = format!("server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"hello\\n\"; }} }}");
        let nginx = Nginx::start(&site, port, Duration::from_secs(60)).unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", nginx.port())).unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200") && reply.ends_with("hello\n"), "{reply}");
        drop(nginx);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
    }

    #[test]
    fn self_signed_certificates_are_made() {
        let dir = tempfile::tempdir().unwrap();
        let cert = self_signed(dir.path(), "chat.example.com").unwrap();
        assert!(cert.key_pem.exists() && cert.cert_pem.exists());
        assert_eq!(cert.cert_der.first(), Some(&0x30), "a DER sequence");
    }
}
