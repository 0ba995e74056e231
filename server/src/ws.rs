//! The chat socket: one task per connection. It learns who the client is (`hello`),
//! joins rooms, answers each frame, and forwards the live feed of every joined room
//! until either side closes, the client goes silent, or the server shuts down.

use crate::admission::{Pass, Refused};
use crate::hub::{Frame, Hub, Membership, PostOutcome};
use crate::identity::Identity;
use crate::origin::CrossOrigin;
use crate::outbox::Outbox;
use crate::AppState;
use app::protocol::{
    ClientMsg, ClientMsgId, ErrorReason, FrameError, MessageKind, RoomId, Seq, ServerMsg, User, CLOSE_GOING_AWAY,
    CLOSE_IDLE, CLOSE_INVALID_UTF8, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG, HISTORY_PAGE, MAX_FRAME_BYTES, MAX_REPLAY,
    RATE_BURST, RATE_PER_SEC,
};
use axum::{
    extract::{
        ws::{CloseFrame, Message, WebSocketUpgrade},
        ConnectInfo, State,
    },
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use futures::{
    stream::{SplitSink, SplitStream},
    FutureExt, Sink, SinkExt, Stream, StreamExt,
};
use std::{
    collections::VecDeque,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::time::Instant;
use tokio_stream::{
    wrappers::{errors::BroadcastStreamRecvError, BroadcastStream, WatchStream},
    StreamMap,
};
use tracing::Instrument;

/// Bytes read from the socket at a time (tungstenite's default is 128 KiB per
/// connection). Client frames are small; a larger one takes a few reads. Every idle
/// connection keeps this buffer.
const READ_BUFFER_BYTES: usize = 256;
/// Bytes of encoded frames gathered before a write; a flush writes whatever is gathered.
/// The socket's own buffer holds at most this plus one frame: past it, the connection
/// waits for the peer and queues in its [`Outbox`] instead.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Most rooms one connection may have joined at once.
pub const MAX_ROOMS_PER_CONNECTION: usize = 32;

/// How often the server pings, and how long a silent connection lives.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    pub ping_every: Duration,
    pub idle_timeout: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { ping_every: Duration::from_secs(15), idle_timeout: Duration::from_secs(40) }
    }
}

/// How fast one connection may post: a token bucket.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_sec: u32,
    pub burst: u32,
}

impl Default for Rate {
    fn default() -> Self {
        Rate { per_sec: RATE_PER_SEC, burst: RATE_BURST }
    }
}

/// "Typing" notes a connection may send: a few a second at most; extra ones are dropped.
const TYPING_RATE: Rate = Rate { per_sec: 2, burst: 4 };

/// Joins, leaves and renames a connection may make: a person clicking around rooms
/// stays well within it; a client toggling rooms to spam presence does not.
const MOVES_RATE: Rate = Rate { per_sec: 2, burst: 20 };

/// A token bucket: holds up to `burst` tokens, refilled at `per_sec`. After a refusal
/// it refuses everything until the wait it gave is over, so a later post cannot slip in
/// ahead of a refused one and the connection's posts keep their order.
pub(crate) struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
    refusing_until: Option<Instant>,
}

impl Bucket {
    pub(crate) fn new(rate: Rate) -> Bucket {
        Bucket { rate, tokens: f64::from(rate.burst), last: Instant::now(), refusing_until: None }
    }

    /// Takes a token, or says how long until there is one.
    pub(crate) fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(until) = self.refusing_until.filter(|until| now < *until) {
            return Err(until - now);
        }
        let per_sec = f64::from(self.rate.per_sec.max(1));
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * per_sec).min(f64::from(self.rate.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // Whole milliseconds, as the refusal says.
            let wait = Duration::from_millis(((1.0 - self.tokens) / per_sec * 1000.0).ceil() as u64);
            self.refusing_until = Some(now + wait);
            Err(wait)
        }
    }

    /// The error a refused post gets.
    pub(crate) fn refusal(&self, wait: Duration, what: &str) -> FrameError {
        let detail = format!("slow down: at most {} {what} a second", self.rate.per_sec);
        FrameError {
            retry_after_ms: Some(wait.as_millis().max(1) as u64),
            ..FrameError::new(ErrorReason::RateLimited, detail)
        }
    }
}

/// Pings on a timer, and notices when the peer has gone silent.
pub(crate) struct Heartbeat {
    interval: tokio::time::Interval,
    idle_timeout: Duration,
    last_heard: Instant,
}

impl Heartbeat {
    pub(crate) fn new(liveness: Liveness) -> Heartbeat {
        let mut interval = tokio::time::interval(liveness.ping_every);
        interval.reset();
        Heartbeat { interval, idle_timeout: liveness.idle_timeout, last_heard: Instant::now() }
    }

    /// Waits for the next beat: a ping to send, or the end of a silent connection.
    pub(crate) async fn beat(&mut self) -> Result<Message, Ending> {
        self.interval.tick().await;
        if self.last_heard.elapsed() >= self.idle_timeout {
            tracing::debug!("closing a silent connection");
            return Err(Ending::Close(CLOSE_IDLE, "no answer to pings"));
        }
        Ok(Message::Ping(Default::default()))
    }

    /// The peer said something (any frame, pongs included).
    pub(crate) fn heard(&mut self) {
        self.last_heard = Instant::now();
    }
}

/// Everything a connection needs from the server.
#[derive(Clone)]
pub struct Context {
    pub hub: Arc<Hub>,
    pub identity: Identity,
    pub liveness: Liveness,
    pub rate: Rate,
}

impl Context {
    pub fn from_state(state: &AppState) -> Context {
        Context { hub: state.hub.clone(), identity: state.identity.clone(), liveness: state.liveness, rate: state.rate }
    }
}

/// Sets the socket limits every chat connection has.
pub fn limited(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    let pass = match admit(&state, peer, &headers) {
        Ok(pass) => pass,
        Err(refused) => return refused.into_response(),
    };
    let cx = Context::from_state(&state);
    limited(ws).on_upgrade(move |socket| {
        // A task of the connection's own: the upgrade's task ends here, and with it the
        // state it kept for the handshake (a third of an idle connection's memory).
        // `map`, not an `async` block: a block would keep a second copy of the
        // connection's future next to the one it awaits.
        tokio::spawn(serve_socket(socket, cx).map(move |()| drop(pass)));
        std::future::ready(())
    })
}

/// Checks an upgrade's origin and its address's limits; the pass holds its place.
pub(crate) fn admit(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<Pass, Denied> {
    state.allowed_origins.check(headers).map_err(Denied::Origin)?;
    let ip = state.admission.client_ip(peer, headers);
    state.admission.admit(ip).map_err(Denied::Address)
}

/// Why an upgrade was refused before it started.
pub(crate) enum Denied {
    Origin(CrossOrigin),
    Address(Refused),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Origin(refused) => refused.into_response(),
            Denied::Address(refused) => refused.into_response(),
        }
    }
}

/// Why a connection ended, when the server ends it.
#[derive(Debug)]
pub(crate) enum Ending {
    /// The client left or the socket failed: nothing more to say.
    Gone,
    Close(u16, &'static str),
}

/// A joined room, as one connection sees it.
struct Joined {
    /// The newest message number this client has; live frames at or below it are skipped.
    delivered: Seq,
    _membership: Membership,
}

/// The rooms a connection has joined: a few at most, so a list (a hash map would cost
/// every idle connection a few hundred bytes more).
#[derive(Default)]
struct Joins(Vec<(RoomId, Joined)>);

impl Joins {
    fn get(&self, room: &RoomId) -> Option<&Joined> {
        self.0.iter().find(|(r, _)| r == room).map(|(_, j)| j)
    }

    fn get_mut(&mut self, room: &RoomId) -> Option<&mut Joined> {
        self.0.iter_mut().find(|(r, _)| r == room).map(|(_, j)| j)
    }

    fn contains_key(&self, room: &RoomId) -> bool {
        self.get(room).is_some()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds a room not joined yet.
    fn insert(&mut self, room: RoomId, joined: Joined) {
        self.0.push((room, joined));
    }

    fn remove(&mut self, room: &RoomId) {
        self.0.retain(|(r, _)| r != room);
    }

    fn keys(&self) -> impl Iterator<Item = &RoomId> {
        self.0.iter().map(|(r, _)| r)
    }
}

struct Connection {
    cx: Context,
    /// Posts being stored, answered in the order they came (the writer commits in that
    /// order, so only the oldest needs watching).
    acks: VecDeque<Pin<Box<dyn Future<Output = ServerMsg> + Send + Sync>>>,
    posts: Bucket,
    typing: Bucket,
    /// Joins, leaves and renames: each one is announced to everyone in the room.
    moves: Bucket,
    user: Option<User>,
    /// Declared (so dropped) before `rooms`: a room is let go once its last member's
    /// feed and membership are both gone.
    feeds: StreamMap<RoomId, BroadcastStream<Frame>>,
    rooms: Joins,
}

/// Runs one connection. Generic over the socket so tests can drive it with channels.
/// Not an `async fn`: the socket is split before the connection's future is made, so
/// that future (which every idle connection keeps) holds no second copy of it.
pub fn serve_socket<S>(socket: S, cx: Context) -> impl Future<Output = ()> + Send
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    S::Error: Send,
{
    static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
    let span = tracing::debug_span!("conn", id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed));
    let (sink, stream) = socket.split();
    run(sink, stream, cx).instrument(span)
}

async fn run<S>(mut sink: SplitSink<S, Message>, mut stream: SplitStream<S>, cx: Context)
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    tracing::debug!("connected");
    let _open = cx.hub.connection_opened();
    let shutdown = cx.hub.shutdown_signal();
    tokio::pin!(shutdown);
    // Changes only: `hello` answers with the list as it is.
    let mut directory = WatchStream::from_changes(cx.hub.directory());
    let mut heartbeat = Heartbeat::new(cx.liveness);
    let mut outbox = Outbox::new();
    let mut conn = Connection {
        cx: cx.clone(),
        acks: VecDeque::new(),
        posts: Bucket::new(cx.rate),
        typing: Bucket::new(TYPING_RATE),
        moves: Bucket::new(MOVES_RATE),
        user: None,
        rooms: Joins::default(),
        feeds: StreamMap::new(),
    };

    let ending = loop {
        // Deliveries before input: a client that floods the server gets everyone's
        // messages (its own included) before more of its input is read.
        let out: Vec<Message> = tokio::select! {
            biased;
            () = &mut shutdown => break Ending::Close(CLOSE_GOING_AWAY, "server shutting down"),
            beat = heartbeat.beat() => match beat {
                Ok(ping) => vec![ping],
                Err(ending) => break ending,
            },
            ready = ready_frames(&mut conn.feeds) => {
                let mut queued = Ok(());
                for (room, frame) in ready {
                    queued = match conn.live(room, frame, &mut outbox) {
                        // Rare, and it waits on the store: boxed, so that state does not
                        // sit in every connection's task.
                        Ok(Some(behind)) => outbox.push(Box::pin(conn.catch_up(behind)).await),
                        Ok(None) => Ok(()),
                        Err(slow) => Err(slow),
                    };
                    if queued.is_err() {
                        break;
                    }
                }
                match queued {
                    Ok(()) => Vec::new(),
                    Err(slow) => break slow,
                }
            },
            ack = next_ack(&mut conn.acks), if !conn.acks.is_empty() => vec![text(&ack)],
            written = outbox.write(&mut sink), if outbox.busy() => match written {
                Ok(()) => continue,
                Err(_) => break Ending::Gone,
            },
            Some(rooms) = directory.next(), if conn.user.is_some() => vec![Message::Text(rooms)],
            incoming = stream.next() => {
                heartbeat.heard();
                match incoming {
                    // Boxed: answering a frame may wait on the store, and that state
                    // should not sit in every idle connection's task.
                    Some(Ok(Message::Text(frame))) => Box::pin(conn.handle(frame.as_str())).await.iter().map(text).collect(),
                    Some(Ok(Message::Binary(_))) => vec![text(&FrameError::binary().into())],
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break Ending::Gone,
                    Some(Err(e)) => break read_failure(e),
                }
            }
        };
        if let Err(slow) = outbox.push(out) {
            break slow;
        }
        // Acknowledgements already committed go in the same write (a sender's own
        // message and its ack usually arrive together).
        let mut too_slow = None;
        while let (true, Some(ack)) = (too_slow.is_none(), next_ack(&mut conn.acks).now_or_never()) {
            too_slow = outbox.push([text(&ack)]).err();
        }
        if let Some(slow) = too_slow {
            break slow;
        }
        // Write now rather than on another pass of the loop: most of the time the socket
        // takes everything at once. If not, the `write` branch carries on.
        if outbox.busy() {
            if let Some(Err(_)) = outbox.write(&mut sink).now_or_never() {
                break Ending::Gone;
            }
        }
    };
    tracing::debug!("disconnected");
    // Out of every room at once, whatever the goodbye below takes.
    drop(conn);
    Box::pin(finish(sink, outbox, ending)).await;
}

/// Most frames taken off the feeds in one pass, so one busy room cannot hold up the rest.
const MAX_FRAMES_PER_PASS: usize = 256;

/// Every frame ready in the joined rooms' feeds, once there is at least one: under load,
/// several go out in one write.
fn ready_frames(
    feeds: &mut StreamMap<RoomId, BroadcastStream<Frame>>,
) -> impl Future<Output = Vec<(RoomId, Result<Frame, BroadcastStreamRecvError>)>> + '_ {
    std::future::poll_fn(move |cx| {
        let mut ready = Vec::new();
        while ready.len() < MAX_FRAMES_PER_PASS {
            match feeds.poll_next_unpin(cx) {
                std::task::Poll::Ready(Some(item)) => ready.push(item),
                _ => break,
            }
        }
        if ready.is_empty() {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(ready)
        }
    })
}

/// The answer to the oldest post being stored, once it is committed.
async fn next_ack(acks: &mut VecDeque<Pin<Box<dyn Future<Output = ServerMsg> + Send + Sync>>>) -> ServerMsg {
    let answer = std::future::poll_fn(|cx| match acks.front_mut() {
        Some(oldest) => oldest.as_mut().poll(cx),
        None => std::task::Poll::Pending,
    })
    .await;
    acks.pop_front();
    answer
}

/// How long a closing connection may take to say goodbye to an unresponsive peer.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Writes what is still queued (unless the peer is too slow for it), sends the close
/// frame if the server is the one ending the connection, and closes.
pub(crate) async fn finish<S: Sink<Message> + Unpin>(mut socket: S, mut outbox: Outbox, ending: Ending) {
    let goodbye = async {
        if !matches!(ending, Ending::Close(CLOSE_SLOW_CONSUMER, _) | Ending::Gone) {
            let _ = outbox.write(&mut socket).await;
        }
        if let Ending::Close(code, reason) = ending {
            let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        }
        let _ = socket.close().await;
    };
    let _ = tokio::time::timeout(CLOSE_WAIT, goodbye).await;
}

impl Connection {
    /// A frame from a joined room's live feed, queued for the peer. Says which room to
    /// catch up from the store, if the connection fell behind its feed.
    fn live(
        &mut self,
        room: RoomId,
        frame: Result<Frame, BroadcastStreamRecvError>,
        outbox: &mut Outbox,
    ) -> Result<Option<RoomId>, Ending> {
        let Some(joined) = self.rooms.get_mut(&room) else { return Ok(None) };
        match frame {
            Ok(Frame { seq: Some(seq), .. }) if seq <= joined.delivered => Ok(None),
            Ok(Frame { seq, text, .. }) => {
                if let Some(seq) = seq {
                    joined.delivered = seq;
                }
                outbox.push([Message::Text(text)]).map(|()| None)
            }
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                tracing::debug!(missed, %room, "catching up from the store");
                Ok(Some(room))
            }
        }
    }

    /// What a connection that fell behind its room's feed missed, from the store.
    async fn catch_up(&mut self, room: RoomId) -> Vec<Message> {
        let after = self.rooms.get(&room).map_or(0, |j| j.delivered);
        let mut out = match self.joined_frame(&room, Some(after)).await {
            Ok((frame, newest)) => {
                if let Some(joined) = self.rooms.get_mut(&room) {
                    joined.delivered = joined.delivered.max(newest);
                }
                match frame {
                    // Within reach: just the missed messages, as live frames.
                    ServerMsg::Joined { messages, complete: true, .. } => {
                        messages.into_iter().map(|m| text(&ServerMsg::Message(m))).collect()
                    }
                    // Too far behind: the room starts over, as on a fresh join.
                    other => vec![text(&other)],
                }
            }
            Err(e) => vec![text(&e.into())],
        };
        // Presence changes may have been among the missed frames.
        out.push(text(&ServerMsg::Presence { online: self.cx.hub.online(&room), room }));
        out
    }

    /// The answer to one text frame.
    async fn handle(&mut self, frame: &str) -> Vec<ServerMsg> {
        let result = match ClientMsg::decode(frame) {
            Ok(msg) => self.command(msg).await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            tracing::debug!(reason = ?e.reason, "refused a frame: {e}");
            vec![e.into()]
        })
    }

    async fn command(&mut self, msg: ClientMsg) -> Result<Vec<ServerMsg>, FrameError> {
        if let ClientMsg::Hello { token, name } = msg {
            return self.hello(token, name).await;
        }
        let Some(user) = self.user.clone() else {
            return Err(FrameError::new(ErrorReason::NotIdentified, "say hello with a name or token first"));
        };
        match msg {
            ClientMsg::Hello { .. } => unreachable!("handled above"),
            ClientMsg::Join { room, after } => {
                if !self.rooms.contains_key(&room) && self.rooms.len() >= MAX_ROOMS_PER_CONNECTION {
                    let detail = format!("at most {MAX_ROOMS_PER_CONNECTION} rooms per connection; leave one first");
                    return Err(FrameError::new(ErrorReason::BadRoom, detail).about(Some(&room), None));
                }
                // Subscribe before loading, so nothing stored in between is missed;
                // what arrives twice is skipped by number.
                let new = !self.rooms.contains_key(&room);
                if new {
                    if let Err(wait) = self.moves.take() {
                        return Err(self.moves.refusal(wait, "joins and leaves").about(Some(&room), None));
                    }
                    let (feed, membership) = self.cx.hub.join(&room, &user);
                    self.feeds.insert(room.clone(), BroadcastStream::new(feed));
                    self.rooms.insert(room.clone(), Joined { delivered: 0, _membership: membership });
                }
                match self.joined_frame(&room, after).await {
                    Ok((frame, newest)) => {
                        if let Some(joined) = self.rooms.get_mut(&room) {
                            joined.delivered = newest;
                        }
                        Ok(vec![frame])
                    }
                    Err(e) => {
                        // Not joined after all: the client was told so.
                        if new {
                            self.leave(&room);
                        }
                        Err(e)
                    }
                }
            }
            ClientMsg::Leave { room } => {
                if self.rooms.contains_key(&room) {
                    if let Err(wait) = self.moves.take() {
                        return Err(self.moves.refusal(wait, "joins and leaves").about(Some(&room), None));
                    }
                    self.leave(&room);
                }
                Ok(Vec::new())
            }
            ClientMsg::Send { room, id, text } => {
                self.require_joined(&room, Some(&id))?;
                if let Err(wait) = self.posts.take() {
                    return Err(self.posts.refusal(wait, "messages").about(Some(&room), Some(&id)));
                }
                // Stored while the connection reads on; acknowledged in order once committed.
                let stored = self
                    .cx
                    .hub
                    .submit(&room, &user, id.clone(), MessageKind::Text, text)
                    .await
                    .map_err(|e| unavailable(e).about(Some(&room), Some(&id)))?;
                self.acks.push_back(Box::pin(async move {
                    match stored.await {
                        Ok(PostOutcome::Accepted(seq) | PostOutcome::Duplicate(seq)) => {
                            ServerMsg::Ack { room, id, seq }
                        }
                        Err(e) => unavailable(e).about(Some(&room), Some(&id)).into(),
                    }
                }));
                Ok(Vec::new())
            }
            ClientMsg::Typing { room } => {
                self.require_joined(&room, None)?;
                if self.typing.take().is_ok() {
                    self.cx.hub.typing(&room, &user);
                }
                Ok(Vec::new())
            }
            ClientMsg::History { room, before } => {
                self.require_joined(&room, None)?;
                let page = self.cx.hub.store().before(&room, before, HISTORY_PAGE).await.map_err(unavailable)?;
                Ok(vec![ServerMsg::Older { room, messages: page.messages, has_older: page.has_older }])
            }
        }
    }

    async fn hello(&mut self, token: Option<String>, name: Option<String>) -> Result<Vec<ServerMsg>, FrameError> {
        let identity = &self.cx.identity;
        let known = match token {
            Some(t) => Some(identity.verify(&t).ok_or_else(|| {
                FrameError::new(ErrorReason::BadToken, "this session token is not valid here; say hello with a name")
            })?),
            None => None,
        };
        let user = match (known, name) {
            (Some(user), None) => user,
            (Some(user), Some(name)) => User { name, ..user },
            (None, Some(name)) => {
                identity.new_user(name).map_err(|e| FrameError::new(ErrorReason::Unavailable, e.to_string()))?
            }
            (None, None) => unreachable!("decode refuses a hello with neither"),
        };
        if let Some(current) = &self.user {
            if current.id != user.id {
                return Err(FrameError::new(ErrorReason::BadToken, "this connection is already someone else's"));
            }
            if current.name != user.name {
                if let Err(wait) = self.moves.take() {
                    return Err(self.moves.refusal(wait, "renames"));
                }
                // A rename: announced in every room this connection is in.
                tracing::debug!(from = %current.name, to = %user.name, "rename");
                self.cx.hub.rename(&user);
                let rooms: Vec<RoomId> = self.rooms.keys().cloned().collect();
                for room in rooms {
                    let id = ClientMsgId(format!("rename-{}", now_nanos()));
                    self.post(&room, &user, id, MessageKind::Renamed, current.name.clone()).await?;
                }
            }
        }
        self.user = Some(user.clone());
        let token = identity.token(&user);
        let rooms = ServerMsg::Rooms { rooms: self.cx.hub.rooms() };
        Ok(vec![ServerMsg::Welcome { user, token }, rooms])
    }

    /// Out of a room: the feed first, then the membership (see `Connection::feeds`).
    fn leave(&mut self, room: &RoomId) {
        self.feeds.remove(room);
        self.rooms.remove(room);
    }

    fn require_joined(&self, room: &RoomId, id: Option<&ClientMsgId>) -> Result<(), FrameError> {
        if self.rooms.contains_key(room) {
            Ok(())
        } else {
            Err(FrameError::new(ErrorReason::NotJoined, format!("join {room} first")).about(Some(room), id))
        }
    }

    async fn post(
        &self,
        room: &RoomId,
        user: &User,
        id: ClientMsgId,
        kind: MessageKind,
        text: String,
    ) -> Result<Seq, FrameError> {
        match self.cx.hub.post(room, user, id.clone(), kind, text).await {
            Ok(PostOutcome::Accepted(seq) | PostOutcome::Duplicate(seq)) => Ok(seq),
            Err(e) => Err(unavailable(e).about(Some(room), Some(&id))),
        }
    }

    /// The `joined` frame for a room: the latest page, or everything after `after` when
    /// that is within [`MAX_REPLAY`]. Also the newest number it covers.
    async fn joined_frame(&self, room: &RoomId, after: Option<Seq>) -> Result<(ServerMsg, Seq), FrameError> {
        let store = self.cx.hub.store();
        let online = self.cx.hub.online(room);
        let wrap = |e| unavailable(e).about(Some(room), None);
        if let Some(after) = after {
            let missed = store.after(room, after, MAX_REPLAY + 1).await.map_err(wrap)?;
            if missed.len() <= MAX_REPLAY {
                let newest = missed.last().map_or(after, |m| m.seq);
                // A number beyond this room's newest is from some other history: reload.
                let known =
                    !missed.is_empty() || after == 0 || store.after(room, after - 1, 1).await.map_err(wrap)?.len() == 1;
                if known {
                    let has_older = after > 0 || missed.first().is_some_and(|m| m.seq > 1);
                    let frame =
                        ServerMsg::Joined { room: room.clone(), messages: missed, complete: true, has_older, online };
                    return Ok((frame, newest));
                }
            }
        }
        let page = store.latest(room, HISTORY_PAGE).await.map_err(wrap)?;
        let newest = page.messages.last().map_or(0, |m| m.seq);
        let frame = ServerMsg::Joined {
            room: room.clone(),
            messages: page.messages,
            complete: after.is_none(),
            has_older: page.has_older,
            online,
        };
        Ok((frame, newest))
    }
}

fn unavailable(e: crate::store::StoreError) -> FrameError {
    tracing::error!("{e}");
    FrameError::new(ErrorReason::Unavailable, "messages cannot be stored or loaded right now; try again")
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// A read error either ends the connection quietly or earns a close code that says why.
pub(crate) fn read_failure(e: axum::Error) -> Ending {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::Capacity(_)) => Ending::Close(CLOSE_TOO_BIG, "message too big"),
        Ok(WsError::Utf8(_)) => Ending::Close(CLOSE_INVALID_UTF8, "text frame is not valid UTF-8"),
        Ok(other) => {
            tracing::debug!("chat socket error: {other}");
            Ending::Gone
        }
        Err(other) => {
            tracing::debug!("chat socket error: {other}");
            Ending::Gone
        }
    }
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(msg.encode().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use app::protocol::ClientMsgId;
    use futures::channel::mpsc;
    use std::{
        pin::Pin,
        task::{Context, Poll},
        time::Duration,
    };

    /// A socket made of two channels: what the test sends in, and what the server sends out.
    struct ChannelSocket {
        incoming: mpsc::UnboundedReceiver<Result<Message, axum::Error>>,
        outgoing: mpsc::Sender<Message>,
    }

    impl Stream for ChannelSocket {
        type Item = Result<Message, axum::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.incoming.poll_next_unpin(cx)
        }
    }

    impl Sink<Message> for ChannelSocket {
        type Error = mpsc::SendError;
        fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.outgoing.poll_ready(cx)
        }
        fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.outgoing.start_send(item)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Pin::new(&mut self.outgoing).poll_flush(cx)
        }
        fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Pin::new(&mut self.outgoing).poll_close(cx)
        }
    }

    struct Peer {
        to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        from_server: mpsc::Receiver<Message>,
    }

    impl Peer {
        async fn next(&mut self) -> Message {
            tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
        }

        async fn next_msg(&mut self) -> ServerMsg {
            match self.next().await {
                Message::Text(t) => ServerMsg::decode(t.as_str()).unwrap(),
                other => panic!("expected text, got {other:?}"),
            }
        }

        fn send(&self, text: &str) {
            self.to_server.unbounded_send(Ok(Message::text(text))).unwrap();
        }
    }

    /// Runs a connection against the hub; `outgoing` frames fit before the server waits.
    fn connect(hub: &Arc<Hub>, outgoing: usize) -> (Peer, tokio::task::JoinHandle<()>) {
        let (to_server, incoming) = mpsc::unbounded();
        let (out_tx, from_server) = mpsc::channel(outgoing);
        let cx = super::Context {
            hub: hub.clone(),
            identity: Identity::new(b"a test secret that is long enough".to_vec()),
            liveness: Liveness::default(),
            rate: Rate::default(),
        };
        let task = tokio::spawn(serve_socket(ChannelSocket { incoming, outgoing: out_tx }, cx));
        (Peer { to_server, from_server }, task)
    }

    async fn hub() -> (Arc<Hub>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let hub = Hub::start(Arc::new(SqliteStore::open(dir.path()).unwrap())).await.unwrap();
        (hub, dir)
    }

    /// Says hello and joins the lobby, skipping the answers.
    async fn enter(peer: &mut Peer) {
        peer.send(r#"{"type":"hello","name":"Ann"}"#);
        peer.send(r#"{"type":"join","room":"lobby"}"#);
        while !matches!(peer.next_msg().await, ServerMsg::Joined { .. }) {}
    }

    #[tokio::test]
    async fn answers_frames_and_relays_the_live_feed() {
        let (hub, _dir) = hub().await;
        let (mut peer, _task) = connect(&hub, 64);
        peer.send(r#"{"type":"send","room":"lobby","id":"x","text":"hi"}"#);
        assert!(matches!(peer.next_msg().await, ServerMsg::Error { reason: ErrorReason::NotIdentified, .. }));
        enter(&mut peer).await;
        peer.send(r#"{"type":"send","room":"lobby","id":"x","text":"hi"}"#);
        let (mut message, mut ack) = (false, false);
        while !(message && ack) {
            match peer.next_msg().await {
                ServerMsg::Message(m) => message |= m.text == "hi",
                ServerMsg::Ack { seq: 1, .. } => ack = true,
                _ => {}
            }
        }
        peer.send("{");
        assert!(matches!(peer.next_msg().await, ServerMsg::Error { reason: ErrorReason::BadFrame, .. }));
    }

    #[tokio::test]
    async fn posts_sent_without_waiting_are_acknowledged_in_order_after_their_commits() {
        let (hub, _dir) = hub().await;
        let (mut peer, _task) = connect(&hub, 256);
        enter(&mut peer).await;
        // A burst the rate limit allows.
        for n in 0..10 {
            peer.send(&format!(r#"{{"type":"send","room":"lobby","id":"p{n}","text":"t{n}"}}"#));
        }
        let mut acks = Vec::new();
        while acks.len() < 10 {
            if let ServerMsg::Ack { id, seq, .. } = peer.next_msg().await {
                acks.push((id.0, seq));
            }
        }
        let expected: Vec<(String, Seq)> = (0..10).map(|n| (format!("p{n}"), n as Seq + 1)).collect();
        assert_eq!(acks, expected);
        let stored = hub.store().latest(&RoomId::lobby(), 50).await.unwrap().messages;
        assert_eq!(stored.len(), 10, "every acknowledged post is stored");
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_catches_up_from_the_store_without_gaps() {
        let (hub, _dir) = hub().await;
        let (mut peer, _task) = connect(&hub, 1);
        enter(&mut peer).await;
        // Behind by more than the live queue, but within what a resume replays.
        let count = crate::hub::LIVE_QUEUE + 100;
        let author = User { id: app::protocol::UserId("u-bob".into()), name: "Bob".into() };
        for n in 0..count {
            hub.post(&RoomId::lobby(), &author, ClientMsgId(format!("m{n}")), MessageKind::Text, "x".into())
                .await
                .unwrap();
        }
        let mut seqs = Vec::new();
        while seqs.last() != Some(&(count as Seq)) {
            if let ServerMsg::Message(m) = peer.next_msg().await {
                seqs.push(m.seq);
            }
        }
        assert_eq!(seqs, (1..=count as Seq).collect::<Vec<_>>(), "every message, once, in order");
    }

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let mut bucket = Bucket::new(Rate { per_sec: 5, burst: 10 });
        for _ in 0..10 {
            assert!(bucket.take().is_ok());
        }
        let wait = bucket.take().unwrap_err();
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO, "{wait:?}");
        assert_eq!(bucket.refusal(wait, "messages").retry_after_ms, Some(wait.as_millis() as u64));
        // Until that wait is over, everything is refused, even as the bucket refills.
        tokio::time::advance(wait - Duration::from_millis(1)).await;
        assert_eq!(bucket.take(), Err(Duration::from_millis(1)), "no overtaking a refused post");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(bucket.take().is_ok());
        assert!(bucket.take().is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..10 {
            assert!(bucket.take().is_ok(), "refills up to the burst, no further");
        }
        assert!(bucket.take().is_err());
    }

    /// Frames a hostile client might send: any text, frames of every type with made-up
    /// field values, binary data.
    fn hostile_frame() -> impl proptest::strategy::Strategy<Value = Message> {
        use proptest::prelude::*;
        let value = prop_oneof![
            Just("null".to_owned()),
            Just("\"lobby\"".to_owned()),
            Just("-1".to_owned()),
            Just("18446744073709551615".to_owned()),
            Just("[]".to_owned()),
            Just("{}".to_owned()),
            any::<String>().prop_map(|s| serde_json::Value::from(s).to_string()),
        ];
        let kind = prop::sample::select(vec!["hello", "join", "leave", "send", "typing", "history", "nope"]);
        let field = prop::sample::select(vec!["token", "name", "room", "after", "before", "id", "text"]);
        let shaped = (kind, proptest::collection::vec((field, value), 0..5)).prop_map(|(kind, fields)| {
            let fields: String = fields.iter().map(|(f, v)| format!(",\"{f}\":{v}")).collect();
            Message::text(format!("{{\"type\":\"{kind}\"{fields}}}"))
        });
        prop_oneof![
            shaped,
            any::<String>().prop_map(Message::text),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| Message::Binary(b.into())),
        ]
    }

    /// A fuzz target for the whole connection: after any run of hostile frames the
    /// connection is still there and still works. More cases: `PROPTEST_CASES=N`.
    #[test]
    fn fuzz_a_connection_survives_any_frames_and_keeps_working() {
        use proptest::test_runner::{Config, TestRunner};
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (hub, _dir) = runtime.block_on(hub());
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64);
        let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
        let result = runner.run(&proptest::collection::vec(hostile_frame(), 1..16), |frames| {
            runtime.block_on(async {
                let (mut peer, task) = connect(&hub, 1024);
                for frame in frames {
                    peer.to_server.unbounded_send(Ok(frame)).unwrap();
                }
                enter(&mut peer).await;
                assert!(!task.is_finished(), "the connection is still open");
            });
            Ok(())
        });
        result.unwrap();
    }

    #[tokio::test]
    async fn a_room_is_let_go_when_its_last_connection_ends_without_leaving() {
        let (hub, _dir) = hub().await;
        let (mut peer, task) = connect(&hub, 64);
        enter(&mut peer).await;
        assert_eq!(hub.live_rooms(), 1);
        drop(peer);
        task.await.unwrap();
        assert_eq!(hub.live_rooms(), 0, "no room kept for nobody");
    }

    #[tokio::test]
    async fn joins_and_renames_are_rate_limited_and_a_refused_join_leaves_nothing_behind() {
        let (hub, _dir) = hub().await;
        let (mut peer, _task) = connect(&hub, 256);
        enter(&mut peer).await;
        let mut refused = 0;
        for n in 0..40 {
            peer.send(&format!(r#"{{"type":"join","room":"r{n}"}}"#));
        }
        let mut answers = 0;
        while answers < 40 {
            match peer.next_msg().await {
                ServerMsg::Joined { .. } => answers += 1,
                ServerMsg::Error { reason, .. } => {
                    answers += 1;
                    refused += usize::from(reason == ErrorReason::RateLimited || reason == ErrorReason::BadRoom);
                }
                _ => {}
            }
        }
        assert!(refused >= 20, "a burst of room changes is cut short ({refused} refused)");
        assert!(hub.live_rooms() <= MAX_ROOMS_PER_CONNECTION, "refused joins hold no room");
    }

    #[tokio::test]
    async fn shutdown_closes_with_going_away() {
        let (hub, _dir) = hub().await;
        let (mut peer, task) = connect(&hub, 4);
        enter(&mut peer).await;
        hub.shut_down();
        loop {
            match peer.next().await {
                Message::Close(frame) => {
                    assert_eq!(frame.map(|f| f.code), Some(CLOSE_GOING_AWAY));
                    break;
                }
                Message::Text(_) => continue,
                other => panic!("{other:?}"),
            }
        }
        task.await.unwrap();
        assert_eq!(hub.open_connections(), 0);
        assert!(hub.online(&RoomId::lobby()).is_empty(), "a closed connection is nobody's presence");
    }
}
/// An idle connection's memory is mostly its task: the future below. It is checked here
/// so that a change that grows it (an unboxed rare path, a second copy of the socket)
/// shows up as a failure, not as a slow creep in the idle benchmark.
#[cfg(test)]
mod idle_size {
    use futures::FutureExt;

    fn size_of_return<A, R>(_: impl Fn(A) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    #[test]
    fn a_connection_task_stays_small() {
        let task = size_of_return(|(ws, cx): (axum::extract::ws::WebSocket, super::Context)| {
            super::serve_socket(ws, cx).map(|()| ())
        });
        assert!(task <= 1536, "a chat connection's future takes {task} bytes");
    }
}
