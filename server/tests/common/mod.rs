//! Test support: a Palaver server (in this process on a free loopback port, or the
//! real binary for signals, kill -9, restarts and memory), and a WebSocket client that
//! speaks the chat protocol.
#![allow(dead_code)]

pub mod accounts;
#[macro_use]
pub mod backends;

use futures::{SinkExt, StreamExt};
use palaver_protocol::{ChatMessage, ClientMsg, ClientMsgId, Hello, RoomId, Seq, ServerMsg, User};
use server::config::Config;
use std::{
    collections::HashMap,
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::Command,
    sync::Arc,
    time::Duration,
};
use testkit::process::ServerProcess;
use tokio::net::TcpStream as TokioTcp;
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{protocol::CloseFrame, Message},
    MaybeTlsStream, WebSocketStream,
};
use tokio_util::sync::CancellationToken;

pub const WAIT: Duration = Duration::from_secs(5);
/// The longest a server started by a test may live.
const LIFETIME: Duration = Duration::from_secs(300);

/// Settings every test server has unless the test sets its own.
fn test_settings(data: &std::path::Path) -> Vec<(String, String)> {
    [
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        // Tests that post in bulk are not about the rate limit; the one that is sets it.
        ("PALAVER_RATE_PER_SEC", "100000"),
        ("PALAVER_RATE_BURST", "100000"),
        // Every test client comes from 127.0.0.1; the tests of per-address limits set them.
        ("PALAVER_MAX_CONNECTIONS_PER_IP", "100000"),
        ("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", "100000"),
        ("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", "100000"),
        ("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "100000"),
        ("PALAVER_PAGES_PER_IP_PER_SEC", "100000"),
        ("PALAVER_PAGES_PER_IP_BURST", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("PALAVER_DATA_DIR".to_owned(), data.display().to_string())])
    .collect()
}

/// A running Palaver server with its own data directory; stopped when dropped.
pub struct TestServer {
    pub addr: String,
    pub data: Arc<tempfile::TempDir>,
    running: Running,
}

enum Running {
    /// `server::run` on a runtime of its own, in this process.
    InProcess { shutdown: CancellationToken, thread: Option<std::thread::JoinHandle<()>> },
    /// The `server` binary.
    Binary(ServerProcess),
}

impl TestServer {
    /// The server in this process, with the test settings.
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// The server in this process, with `env` on top of the test settings.
    pub fn start_with(env: &[(&str, &str)]) -> TestServer {
        let data = Arc::new(tempfile::tempdir().unwrap());
        let mut vars: HashMap<String, String> = test_settings(data.path()).into_iter().collect();
        vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_lookup(|name| vars.get(name).cloned()).expect("valid test settings");
        let shutdown = CancellationToken::new();
        let (bound, addr) = std::sync::mpsc::channel();
        let token = shutdown.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = server::listen::bind(config.leptos.site_addr).expect("a free port");
                bound.send(listener.local_addr().unwrap()).unwrap();
                server::run(listener, config, token).await.expect("the server runs");
            });
        });
        let addr: SocketAddr = addr.recv_timeout(Duration::from_secs(30)).expect("the server is listening");
        TestServer { addr: addr.to_string(), data, running: Running::InProcess { shutdown, thread: Some(thread) } }
    }

    /// The real binary, with the test settings.
    pub fn binary() -> TestServer {
        Self::binary_in(Arc::new(tempfile::tempdir().unwrap()), &[])
    }

    /// The real binary on an existing data directory (a restart), with `env` on top of
    /// the test settings.
    pub fn binary_in(data: Arc<tempfile::TempDir>, env: &[(&str, &str)]) -> TestServer {
        Self::binary_watched(data, env, |_| {})
    }

    /// [`TestServer::binary_in`], with each line of the server's log also passed to
    /// `on_line` (for tests of what it tells its operator).
    pub fn binary_watched(
        data: Arc<tempfile::TempDir>,
        env: &[(&str, &str)],
        on_line: impl Fn(&str) + Send + 'static,
    ) -> TestServer {
        let print = move |line: &str| {
            eprintln!("[server] {line}");
            on_line(line);
        };
        let process =
            ServerProcess::start(binary_command(data.path(), env), LIFETIME, print).expect("the server binary starts");
        TestServer { addr: process.addr.to_string(), data, running: Running::Binary(process) }
    }

    /// Stops an in-process server as a signal would, and waits for `server::run` to return.
    pub fn shut_down(&mut self) {
        match &mut self.running {
            Running::InProcess { shutdown, thread } => {
                shutdown.cancel();
                thread.take().expect("running").join().expect("the server stops cleanly");
            }
            Running::Binary(_) => panic!("signal the binary instead"),
        }
    }

    /// The server process (for tests of the binary).
    pub fn process(&mut self) -> &mut ServerProcess {
        match &mut self.running {
            Running::Binary(process) => process,
            Running::InProcess { .. } => panic!("this test server runs in-process: start it with TestServer::binary"),
        }
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

    /// A plain HTTP/1.1 GET: status code, the response head and body.
    pub fn get_with_head(&self, path: &str) -> (u16, String, String) {
        let response = self.get_response(path);
        (response.status, response.head.clone(), response.text())
    }

    /// A plain HTTP/1.1 GET: the whole response (its body as bytes).
    pub fn get_response(&self, path: &str) -> testkit::http::Response {
        testkit::http::get(self.addr.parse().unwrap(), path, "").expect("an HTTP response")
    }
}

/// The `server` binary with the test settings, `env` on top.
pub fn binary_command(data: &std::path::Path, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        // As a service manager would start it: not in development unless told.
        .env_remove("LEPTOS_ENV")
        .env_remove("LEPTOS_WATCH")
        .envs(test_settings(data))
        .env("RUST_LOG", std::env::var("TEST_SERVER_LOG").unwrap_or("info".into()))
        .envs(env.iter().copied());
    command
}

#[allow(unused_imports)]
pub use testkit::http::header;

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Running::InProcess { shutdown, thread } = &mut self.running {
            shutdown.cancel();
            if let Some(thread) = thread.take() {
                // A server that failed (while the test itself passed) fails the test.
                if thread.join().is_err() && !std::thread::panicking() {
                    panic!("the in-process server panicked");
                }
            }
        }
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
        // As browsers do: small frames go at once (TCP_NODELAY).
        let connecting = connect_async_with_config(url, None, true);
        let (ws, _) = tokio::time::timeout(WAIT, connecting).await.expect("connect in time").expect("connect");
        Client { ws, welcome: None }
    }

    /// A client whose socket takes in at most a few KiB unread: one that stops reading
    /// soon pushes back on the server.
    pub async fn connect_narrow(server: &TestServer) -> Client {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = tokio::time::timeout(WAIT, socket.connect(server.addr.parse().unwrap()))
            .await
            .expect("connect in time")
            .expect("connect");
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
        self.send_msg(ClientMsg::Send {
            room: room_id(room),
            id: ClientMsgId(id.into()),
            text: text.into(),
            reply_to: None,
            files: Vec::new(),
        })
        .await;
    }

    /// Says hello and returns who the server says we are, and our token.
    pub async fn hello(&mut self, token: Option<&str>, name: Option<&str>) -> (User, String) {
        let hello = Hello::from_parts(token.map(Into::into), name.map(Into::into)).expect("a token or a name");
        self.send_msg(ClientMsg::Hello(hello)).await;
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
        self.send_msg(ClientMsg::Join { room: room_id(room), after }).await;
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

    /// The next protocol frame if one comes within `limit` (which may be longer than
    /// [`WAIT`]); `None` if none did.
    /// Whether a frame that `wanted` picks comes within `limit` (others are skipped).
    pub async fn heard_within(&mut self, limit: Duration, wanted: impl Fn(&ServerMsg) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while let Some(msg) = self.next_within(deadline.saturating_duration_since(tokio::time::Instant::now())).await {
            if wanted(&msg) {
                return true;
            }
        }
        false
    }

    pub async fn next_within(&mut self, limit: Duration) -> Option<ServerMsg> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next()).await.ok()?;
            match msg.expect("socket still open").expect("no socket error") {
                Message::Ping(data) => {
                    let _ = self.ws.send(Message::Pong(data)).await;
                }
                Message::Pong(_) => {}
                Message::Text(text) => return Some(ServerMsg::decode(text.as_str()).expect("a protocol frame")),
                other => panic!("expected a text frame, got {other:?}"),
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

    /// Closes the connection and waits until the server has ended it.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        let ended = async { while let Some(Ok(_)) = self.ws.next().await {} };
        tokio::time::timeout(WAIT, ended).await.expect("the server ends the connection");
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
}

/// A room by name.
pub fn room_id(name: &str) -> RoomId {
    RoomId::parse(name).expect("a valid room name")
}

/// A JPEG with its EXIF saying where it was taken (the bytes "GPS" and a place).
pub fn photo_with_position() -> Vec<u8> {
    use image::ImageEncoder;
    let picture = image::RgbImage::from_pixel(64, 32, image::Rgb([200, 30, 30]));
    let mut exif = b"II\x2a\x00\x08\x00\x00\x00\x01\x00".to_vec();
    exif.extend_from_slice(&[0x25, 0x88, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x1a, 0, 0, 0, 0, 0, 0, 0]);
    exif.extend_from_slice(b"GPS 52.3676N 4.9041E our office");
    let mut out = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    encoder.set_exif_metadata(exif).unwrap();
    encoder.write_image(picture.as_raw(), 64, 32, image::ExtendedColorType::Rgb8).unwrap();
    out
}
