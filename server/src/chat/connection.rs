//! One connection, from upgrade to goodbye: a single loop that sends pings, answers the
//! client's frames and writes through the wire, until either side closes, the client
//! goes silent or too slow, or the server shuts down. (Rooms' frames, and the
//! acknowledgements of posts once they are stored, are written to the wire by whoever
//! has them: the rooms and the writer.) What the frames look like is the
//! transport's business; everything else is the same for every kind of client.

use super::context::Context;
use super::state::{Connection, Follow, Member};
use super::transport::Transport;
use crate::hub::Frame;
use crate::socket::{finish, read_failure, Attention, Ending, Frames, Heartbeat, Wire};
use bytes::Bytes;
use futures::StreamExt;
use palaver_protocol::{Close, ServerMsg};
use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, WatchStream};
use tokio_tungstenite::tungstenite::Message;
use tracing::Instrument;

/// Runs one connection: its frames to read, and the wire its frames are written to.
/// Not an `async fn`, so the span is made before the connection's future.
pub fn serve<T: Transport>(
    frames: Frames,
    wire: Arc<Wire>,
    cx: Context,
    transport: T,
    member: Option<Box<Member>>,
) -> impl Future<Output = ()> + Send {
    static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
    let span = tracing::debug_span!("conn", id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed));
    run(frames, wire, cx, transport, member).instrument(span)
}

async fn run<T: Transport>(
    mut frames: Frames,
    wire: Arc<Wire>,
    cx: Context,
    transport: T,
    member: Option<Box<Member>>,
) {
    tracing::debug!("connected");
    let shutdown = cx.shutdown.clone();
    let stopping = shutdown.cancelled();
    tokio::pin!(stopping);
    // Changes only: `hello` answers with the list as it is. Only for transports that
    // show it (plain clients do not), so only they count towards its refresh budget.
    let mut directory = T::ROOM_LIST.then(|| WatchStream::from_changes(cx.hub.directory()));
    let mut heartbeat = Heartbeat::new(cx.liveness);
    let mut conn = Connection::new(cx, transport, wire.clone());
    if let Some(member) = member {
        conn.cx.hub.signed_in(member.credential, &member.user.id, &wire);
        conn.cx.hub.role_seen(&member.user.id, member.role);
        conn.member = Some(member);
    }
    Box::pin(conn.open()).await;

    let ending = loop {
        // A tab that follows its person's rooms (`unread`) lists those, not the busiest.
        if conn.following.is_some() {
            directory = None;
        }
        // The rooms' frames do not pass through here: they are written as they go out
        // (see `rooms.rs`). This loop answers the client, and writes what the socket
        // could not take at once.
        let out: Vec<ServerMsg> = tokio::select! {
            biased;
            () = &mut stopping => break Ending::Close(Close::GoingAway),
            attention = wire.attention() => match attention {
                Attention::End(ending) => break ending,
                // Rare, and it waits on the store: boxed, so that state does not sit in
                // every connection's task.
                Attention::Behind => {
                    // Rooms whose rules no longer let it in first: left, and said why.
                    let revoked = conn.rooms.take_revoked();
                    conn.send(revoked.iter().map(|room| crate::access::unreadable(room).into()));
                    Box::pin(conn.rooms.catch_up_all::<T>(&conn.cx.hub, &conn.wire)).await;
                    continue;
                }
            },
            beat = heartbeat.beat() => match beat {
                Ok(ping) => {
                    wire.send([ping]);
                    continue;
                }
                Err(ending) => break ending,
            },
            Some(rooms) = next_room_list(&mut directory), if conn.user.is_some() => {
                wire.send([rooms]);
                continue;
            }
            counts = next_counts(&mut conn.following), if conn.following.is_some() => match counts {
                Some(Ok(frame)) => {
                    wire.send(T::live(&frame));
                    continue;
                }
                // Behind on them: everything again.
                Some(Err(_)) => conn.user.as_ref().and_then(|u| conn.cx.hub.unread_now(&u.id)).into_iter().collect(),
                None => {
                    conn.following = None;
                    continue;
                }
            },
            incoming = frames.next() => {
                heartbeat.heard();
                match incoming {
                    // Boxed: answering a frame may wait on the store, and that state
                    // should not sit in every idle connection's task.
                    Some(Ok(Message::Text(frame))) => Box::pin(conn.handle(frame.as_str())).await,
                    Some(Ok(Message::Binary(_))) => match conn.transport.binary() {
                        Ok(answer) => vec![answer],
                        Err(ending) => break ending,
                    },
                    Some(Ok(Message::Close(_))) => break Ending::Left,
                    Some(Ok(_)) => continue,
                    None => break Ending::Gone,
                    Some(Err(e)) => break read_failure(e),
                }
            }
        };
        conn.send(out);
    };
    tracing::debug!(?ending, "disconnected");
    // Out of every room at once, whatever the goodbye below takes.
    drop(conn);
    drop(frames);
    Box::pin(finish(&wire, ending)).await;
}

impl<T: Transport> Connection<T> {
    /// Who the transport's peer is from the start, in its room (a plain client: a guest
    /// in the lobby), receiving what is posted from now on.
    async fn open(&mut self) {
        let Some((user, room)) = self.transport.opening() else { return };
        // Messages from before are not shown, so those stored until now count as delivered
        // (should the connection fall behind, it catches up from here). Read before it
        // enters the room: once the others are told it is there, whatever they say
        // reaches it (a message stored in between comes from the store with the next).
        let newest = match self.cx.hub.store().heads(std::slice::from_ref(&room)).await {
            Ok(heads) => heads.first().map_or(0, |(_, head)| *head),
            Err(e) => {
                tracing::warn!(%room, "cannot tell a new connection's place in its room: {e}");
                0
            }
        };
        self.enter(room.clone(), Some(&user));
        self.user = Some(user);
        if let Some(joined) = self.rooms.get(&room) {
            joined.feed.release(newest);
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
}

/// The next room list, for a connection that follows it; never, for one that does not.
fn next_room_list(directory: &mut Option<WatchStream<Bytes>>) -> impl Future<Output = Option<Bytes>> + '_ {
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
