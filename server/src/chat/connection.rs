//! One connection, from upgrade to goodbye: a single loop that sends pings, relays the
//! live feed of every joined room, answers the client's frames, acknowledges posts once
//! they are stored, and writes through the outbox, until either side closes, the client
//! goes silent or too slow, or the server shuts down. What the frames look like is the
//! transport's business; everything else is the same for every kind of client.

use super::rooms::Joins;
use super::transport::Transport;
use super::Context;
use crate::hub::{Following, Frame};
use crate::limits::{Bucket, MOVES_RATE, SEARCH_RATE, TYPING_RATE};
use crate::socket::{finish, read_failure, Ending, Heartbeat, Outbox};
use app::protocol::{Close, RoomId, ServerMsg, User};
use axum::extract::ws::{Message, Utf8Bytes};
use futures::{
    stream::{SplitSink, SplitStream},
    FutureExt, Sink, Stream, StreamExt,
};
use std::{
    collections::VecDeque,
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
};
use tokio_stream::{
    wrappers::{errors::BroadcastStreamRecvError, BroadcastStream, WatchStream},
    StreamMap,
};
use tracing::Instrument;

/// The answer to a post, once it is committed.
pub(super) type PendingAck = Pin<Box<dyn Future<Output = ServerMsg> + Send + Sync>>;

/// A connection's state between frames.
pub(super) struct Connection<T> {
    pub(super) cx: Context,
    pub(super) transport: T,
    /// Posts being stored, answered in the order they came (the writer commits in that
    /// order, so only the oldest needs watching).
    pub(super) acks: VecDeque<PendingAck>,
    pub(super) posts: Bucket,
    pub(super) typing: Bucket,
    /// Joins, leaves and renames: each one is announced to everyone in the room.
    pub(super) moves: Bucket,
    /// Searches it may make.
    pub(super) searches: Bucket,
    pub(super) user: Option<User>,
    /// Declared (so dropped) before `rooms`: a room is let go once its last member's
    /// feed and membership are both gone.
    pub(super) feeds: StreamMap<RoomId, BroadcastStream<Frame>>,
    pub(super) rooms: Joins,
    /// The person's unread counts, once asked for (boxed: most connections never ask).
    pub(super) following: Option<Box<Follow>>,
}

/// A connection's feed of its person's unread counts.
pub(super) struct Follow {
    pub(super) feed: BroadcastStream<Frame>,
    /// Declared after the feed, so that the counts are let go once no feed is left.
    pub(super) _following: Following,
}

/// Runs one connection. Generic over the socket so tests can drive it with channels.
/// Not an `async fn`: the socket is split before the connection's future is made, so
/// that future (which every idle connection keeps) holds no second copy of it.
pub fn serve<S, T>(socket: S, cx: Context, transport: T) -> impl Future<Output = ()> + Send
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    S::Error: Send,
    T: Transport,
{
    static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
    let span = tracing::debug_span!("conn", id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed));
    let (sink, stream) = socket.split();
    run(sink, stream, cx, transport).instrument(span)
}

async fn run<S, T>(mut sink: SplitSink<S, Message>, mut stream: SplitStream<S>, cx: Context, transport: T)
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
    T: Transport,
{
    tracing::debug!("connected");
    let shutdown = cx.shutdown.clone();
    let stopping = shutdown.cancelled();
    tokio::pin!(stopping);
    // Changes only: `hello` answers with the list as it is. Only for transports that
    // show it (plain clients do not), so only they count towards its refresh budget.
    let mut directory = T::ROOM_LIST.then(|| WatchStream::from_changes(cx.hub.directory()));
    let mut heartbeat = Heartbeat::new(cx.liveness);
    let mut outbox = Outbox::default();
    let mut conn = Connection {
        posts: Bucket::new(cx.rate),
        cx,
        transport,
        acks: VecDeque::new(),
        typing: Bucket::new(TYPING_RATE),
        moves: Bucket::new(MOVES_RATE),
        searches: Bucket::new(SEARCH_RATE),
        user: None,
        rooms: Joins::default(),
        feeds: StreamMap::new(),
        following: None,
    };
    Box::pin(conn.open()).await;

    let ending = loop {
        // Deliveries before input: a client that floods the server gets everyone's
        // messages (its own included) before more of its input is read.
        let out: Vec<Message> = tokio::select! {
            biased;
            () = &mut stopping => break Ending::Close(Close::GoingAway),
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
            ack = next_ack(&mut conn.acks), if !conn.acks.is_empty() => conn.write([ack]),
            written = outbox.write(&mut sink), if outbox.busy() => match written {
                Ok(()) => continue,
                Err(_) => break Ending::Gone,
            },
            Some(rooms) = next_room_list(&mut directory), if conn.user.is_some() => vec![Message::Text(rooms)],
            counts = next_counts(&mut conn.following), if conn.following.is_some() => match counts {
                Some(Ok(frame)) => conn.transport.live(&frame).into_iter().collect(),
                // Behind on them: everything again.
                Some(Err(_)) => {
                    let user = conn.user.as_ref().map(|u| u.id.clone());
                    conn.write(user.and_then(|u| conn.cx.hub.unread_now(&u)))
                }
                None => {
                    conn.following = None;
                    Vec::new()
                }
            },
            incoming = stream.next() => {
                heartbeat.heard();
                match incoming {
                    // Boxed: answering a frame may wait on the store, and that state
                    // should not sit in every idle connection's task.
                    Some(Ok(Message::Text(frame))) => {
                        let answers = Box::pin(conn.handle(frame.as_str())).await;
                        conn.write(answers)
                    }
                    Some(Ok(Message::Binary(_))) => match conn.transport.binary() {
                        Ok(answer) => conn.write([answer]),
                        Err(ending) => break ending,
                    },
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
            too_slow = outbox.push(conn.write([ack])).err();
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
    tracing::debug!(?ending, "disconnected");
    // Out of every room at once, whatever the goodbye below takes.
    drop(conn);
    Box::pin(finish(sink, outbox, ending)).await;
}

impl<T: Transport> Connection<T> {
    /// Who the transport's peer is from the start, in its room (a plain client: a guest
    /// in the lobby), receiving what is posted from now on.
    async fn open(&mut self) {
        let Some((user, room)) = self.transport.opening() else { return };
        self.enter(room.clone(), Some(&user));
        self.user = Some(user);
        // Messages from before are not shown, so those stored until now count as delivered
        // (should the connection fall behind, it catches up from here).
        match self.cx.hub.store().latest(&room, 1).await {
            Ok(page) => {
                if let (Some(joined), Some(newest)) = (self.rooms.get_mut(&room), page.messages.last()) {
                    joined.delivered = newest.seq;
                }
            }
            Err(e) => tracing::warn!(%room, "cannot tell a new connection's place in its room: {e}"),
        }
    }

    /// The answer to one text frame.
    async fn handle(&mut self, frame: &str) -> Vec<ServerMsg> {
        let result = match self.transport.read(frame) {
            Ok(msg) => self.command(msg).await,
            Err(e) => Err(e),
        };
        result.unwrap_or_else(|e| {
            tracing::debug!(reason = ?e.reason, "refused a frame: {e}");
            vec![e.into()]
        })
    }

    /// Frames for the peer, as its transport writes them.
    pub(super) fn write(&self, msgs: impl IntoIterator<Item = ServerMsg>) -> Vec<Message> {
        let mut out = Vec::new();
        for msg in msgs {
            self.transport.write(&msg, &mut out);
        }
        out
    }
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

/// The next room list, for a connection that follows it; never, for one that does not.
fn next_room_list(directory: &mut Option<WatchStream<Utf8Bytes>>) -> impl Future<Output = Option<Utf8Bytes>> + '_ {
    std::future::poll_fn(move |cx| match directory {
        Some(rooms) => rooms.poll_next_unpin(cx),
        None => std::task::Poll::Pending,
    })
}

/// The next change to the person's unread counts, for a connection that follows them.
fn next_counts(
    following: &mut Option<Box<Follow>>,
) -> impl Future<Output = Option<Result<Frame, BroadcastStreamRecvError>>> + '_ {
    std::future::poll_fn(move |cx| match following {
        Some(follow) => follow.feed.poll_next_unpin(cx),
        None => std::task::Poll::Pending,
    })
}

/// The answer to the oldest post being stored, once it is committed.
async fn next_ack(acks: &mut VecDeque<PendingAck>) -> ServerMsg {
    let answer = std::future::poll_fn(|cx| match acks.front_mut() {
        Some(oldest) => oldest.as_mut().poll(cx),
        None => std::task::Poll::Pending,
    })
    .await;
    acks.pop_front();
    answer
}
