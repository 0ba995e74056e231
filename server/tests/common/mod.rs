//! Test support: the real server binary on a free loopback port, and a WebSocket client
//! that speaks the chat protocol.
#![allow(dead_code)]

use app::protocol::{ChatMessage, ClientMsg, ClientMsgId, RoomId, Seq, ServerMsg, User};
use futures::{SinkExt, StreamExt};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};
use tokio::net::TcpStream as TokioTcp;
use tokio_tungstenite::{
    connect_async,
    tungstenite::{protocol::CloseFrame, Message},
    MaybeTlsStream, WebSocketStream,
};

pub const WAIT: Duration = Duration::from_secs(5);

/// A running `server` binary with its own data directory; killed when dropped.
pub struct TestServer {
    child: Child,
    pub addr: String,
    pub data: std::sync::Arc<tempfile::TempDir>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> TestServer {
        Self::start_in(std::sync::Arc::new(tempfile::tempdir().unwrap()), env)
    }

    /// Starts a server on an existing data directory (a restart).
    pub fn start_in(data: std::sync::Arc<tempfile::TempDir>, env: &[(&str, &str)]) -> TestServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_server"))
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("PALAVER_DATA_DIR", data.path())
            // Tests that post in bulk are not about the rate limit; the one that is sets it.
            .env("PALAVER_RATE_PER_SEC", "100000")
            .env("PALAVER_RATE_BURST", "100000")
            // Every test client comes from 127.0.0.1; the tests of per-address limits set them.
            .env("PALAVER_MAX_CONNECTIONS_PER_IP", "100000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", "100000")
            .env("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", "100000")
            .env("RUST_LOG", std::env::var("TEST_SERVER_LOG").unwrap_or("info".into()))
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[server] {line}");
                if !sent {
                    if let Some(rest) = line.split("listening on http://").nth(1) {
                        let addr: String =
                            rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == ':').collect();
                        let _ = tx.send(addr);
                        sent = true;
                    }
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("server said where it listens");
        TestServer { child, addr, data }
    }

    /// A protocol client that has said hello as `name`.
    pub async fn named(&self, name: &str) -> Client {
        let mut client = self.client().await;
        client.hello(None, Some(name)).await;
        client
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url("/ws")).await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.pid().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit by itself, at most `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The server's resident memory, in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// A WebSocket upgrade by hand, with `extra` header lines (each ending in CRLF): the
    /// status, the response head, and the connection, still open.
    pub fn raw_upgrade(&self, path: &str, extra: &str) -> (u16, String, TcpStream) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\n{extra}Connection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            self.addr
        )
        .unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 1024];
        let n = stream.read(&mut buf).unwrap();
        let reply = String::from_utf8_lossy(&buf[..n]).into_owned();
        (reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0), reply, stream)
    }

    /// A plain HTTP/1.1 GET: status code and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_with_head(path);
        (status, body)
    }

    /// A plain HTTP/1.1 GET: status code, the response head (lowercased) and body.
    pub fn get_with_head(&self, path: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_owned()
        };
        (status, head.to_owned(), body)
    }
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

/// The value of header `name` in a response head, if present.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A protocol client over a real WebSocket.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TokioTcp>>,
    /// Who the server said we are, after a hello.
    pub welcome: Option<(User, String)>,
}

impl Client {
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, connect_async(url)).await.expect("connect in time").expect("connect");
        Client { ws, welcome: None }
    }

    /// A client whose socket takes in at most a few KiB unread: one that stops reading
    /// soon pushes back on the server.
    pub async fn connect_narrow(server: &TestServer) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(server.addr.parse().unwrap()).await.expect("connect");
        let (ws, _) = tokio_tungstenite::client_async(server.ws_url("/ws"), MaybeTlsStream::Plain(stream))
            .await
            .expect("upgrade");
        Client { ws, welcome: None }
    }

    pub async fn send_raw(&mut self, msg: Message) {
        self.ws.send(msg).await.expect("send");
    }

    pub async fn send_msg(&mut self, msg: ClientMsg) {
        self.send_raw(Message::text(msg.encode())).await;
    }

    /// Posts `text` to `room` with client message id `id`.
    pub async fn say(&mut self, room: &str, id: &str, text: &str) {
        self.send_msg(ClientMsg::Send { room: RoomId(room.into()), id: ClientMsgId(id.into()), text: text.into() })
            .await;
    }

    /// Says hello and returns who the server says we are, and our token.
    pub async fn hello(&mut self, token: Option<&str>, name: Option<&str>) -> (User, String) {
        self.send_msg(ClientMsg::Hello { token: token.map(Into::into), name: name.map(Into::into) }).await;
        match self.next_where(|m| matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Error { .. })).await {
            ServerMsg::Welcome { user, token } => {
                self.welcome = Some((user.clone(), token.clone()));
                (user, token)
            }
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub fn user(&self) -> User {
        self.welcome.clone().expect("said hello").0
    }

    pub fn token(&self) -> String {
        self.welcome.clone().expect("said hello").1
    }

    /// Joins a room; returns its messages, whether they are complete, and who is online.
    pub async fn join(&mut self, room: &str, after: Option<Seq>) -> (Vec<ChatMessage>, bool, Vec<User>) {
        self.send_msg(ClientMsg::Join { room: RoomId(room.into()), after }).await;
        match self.next_where(|m| matches!(m, ServerMsg::Joined { .. } | ServerMsg::Error { .. })).await {
            ServerMsg::Joined { messages, complete, online, .. } => (messages, complete, online),
            other => panic!("expected joined, got {other:?}"),
        }
    }

    /// The next protocol frame that `wanted` picks; others are skipped.
    pub async fn next_where(&mut self, wanted: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        loop {
            let msg = self.next().await;
            if wanted(&msg) {
                return msg;
            }
        }
    }

    /// The next chat message.
    pub async fn next_message(&mut self) -> ChatMessage {
        match self.next_where(|m| matches!(m, ServerMsg::Message(_))).await {
            ServerMsg::Message(m) => m,
            _ => unreachable!(),
        }
    }

    /// The next ack: (client id, seq).
    pub async fn next_ack(&mut self) -> (String, Seq) {
        match self.next_where(|m| matches!(m, ServerMsg::Ack { .. })).await {
            ServerMsg::Ack { id, seq, .. } => (id.0, seq),
            _ => unreachable!(),
        }
    }

    /// The next frame, whatever it is.
    pub async fn next_raw(&mut self) -> Message {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("socket still open")
                .expect("no socket error");
            match msg {
                // Answer at once, as browsers do.
                Message::Ping(data) => {
                    let _ = self.ws.send(Message::Pong(data)).await;
                }
                Message::Pong(_) => {}
                other => return other,
            }
        }
    }

    /// The next protocol frame.
    pub async fn next(&mut self) -> ServerMsg {
        match self.next_raw().await {
            Message::Text(text) => ServerMsg::decode(text.as_str()).expect("a protocol frame"),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The close frame the server ends with.
    pub async fn next_close(&mut self) -> Option<CloseFrame> {
        loop {
            match self.next_raw().await {
                Message::Close(frame) => return frame,
                Message::Text(_) => continue,
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }

    /// Asserts nothing arrives for a while.
    pub async fn expect_silence(&mut self, for_: Duration) {
        if let Ok(frame) = tokio::time::timeout(for_, self.ws.next()).await {
            panic!("expected no frame, got {frame:?}");
        }
    }
}
