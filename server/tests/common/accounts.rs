//! Accounts from a test's side: forms posted as a browser posts them (from the site's
//! own page), the session cookie they set, and sockets opened with it.

use super::{Client, TestServer, WAIT};
use std::time::{Duration, Instant};
use testkit::http::{exchange, Response};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// A form's fields, URL-encoded.
pub fn form(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_owned(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

impl TestServer {
    /// `POST path` with `fields`, from the site's own page, with the session cookie if
    /// given and `extra` header lines.
    pub fn post(&self, path: &str, fields: &[(&str, &str)], cookie: Option<&str>, extra: &str) -> Response {
        let body = form(fields);
        let cookie = cookie.map(|c| format!("Cookie: palaver_session={c}\r\n")).unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n{cookie}{extra}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len(),
            addr = self.addr,
        );
        exchange(self.addr.parse().unwrap(), request.as_bytes()).expect("an HTTP response")
    }

    /// `GET path` with the session cookie.
    pub fn get_as(&self, path: &str, cookie: &str) -> Response {
        testkit::http::get(self.addr.parse().unwrap(), path, &format!("Cookie: palaver_session={cookie}\r\n"))
            .expect("an HTTP response")
    }

    /// Signs up (open sign-up) and returns the session cookie.
    pub fn sign_up(&self, handle: &str, name: &str, password: &str) -> String {
        let answer =
            self.post("/sign-up", &[("handle", handle), ("display_name", name), ("password", password)], None, "");
        assert_eq!(answer.status, 303, "signed up: {}", answer.text());
        session_cookie(&answer).expect("a session cookie")
    }

    /// Signs in and returns the session cookie.
    pub fn sign_in(&self, handle: &str, password: &str) -> String {
        let answer = self.post("/sign-in", &[("handle", handle), ("password", password)], None, "");
        assert_eq!(answer.status, 303, "signed in: {}", answer.text());
        session_cookie(&answer).expect("a session cookie")
    }

    /// A protocol client whose socket was opened with the session cookie.
    pub async fn client_as(&self, cookie: &str) -> Client {
        let mut request = self.ws_url("/ws").into_client_request().unwrap();
        let headers = request.headers_mut();
        headers.insert("cookie", format!("palaver_session={cookie}").parse().unwrap());
        headers.insert("origin", format!("http://{}", self.addr).parse().unwrap());
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async_with_config(request, None, true))
            .await
            .expect("connect in time")
            .expect("connect");
        Client { ws, welcome: None }
    }
}

/// The session cookie a response sets (empty when it clears it).
pub fn session_cookie(response: &Response) -> Option<String> {
    response.head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let value = value.trim().strip_prefix("palaver_session=")?;
        name.trim().eq_ignore_ascii_case("set-cookie").then(|| value.split(';').next().unwrap_or("").to_owned())
    })
}

/// Runs `server admin ARGS` on a data directory (and `env`), with `stdin` as its input:
/// exit code, standard output and standard error.
pub fn admin(data: &std::path::Path, env: &[(&str, &str)], args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut command = super::binary_command(data, env);
    command.arg("admin").args(args);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("the server binary runs");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The close code the server ends a connection with, within a second (0 for none).
pub async fn closed_within_a_second(client: &mut Client) -> u16 {
    let started = Instant::now();
    let frame = tokio::time::timeout(Duration::from_secs(1), client.next_close()).await.expect("closed within 1 s");
    eprintln!("closed after {:?}", started.elapsed());
    frame.map(|f| f.code.into()).unwrap_or(0)
}

/// The `id` the first form posting to `action` on a settings page carries.
pub fn first_form_id(page: &str, action: &str) -> String {
    page.split(&format!("action=\"{action}\""))
        .nth(1)
        .and_then(|r| r.split("value=\"").nth(1))
        .and_then(|r| r.split('"').next())
        .expect("a form posting there, with an id")
        .to_owned()
}
