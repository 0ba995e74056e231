//! The rooms one connection has joined, and keeping it current in each. A room offers
//! each frame to the connection's [`Feed`] from the task that sends it; the feed writes
//! it straight to the connection's wire, skipping by number what was already sent.
//! While the connection loads a room's history (a join, a catch-up) the feed holds the
//! room's frames, and lets those past the history through once it is written. A number
//! missing before a frame (it went out before this connection joined, on another
//! node's account) makes the connection catch up from the store, so nothing is ever
//! skipped silently and the numbers arrive in order.

use super::transport::Transport;
use crate::access::Reader;
use crate::hub::{Frame, Hub, Listener, Membership};
use crate::socket::Wire;
use crate::store::unavailable;
use bytes::Bytes;
use palaver_protocol::{FrameError, RoomId, Seq, ServerMsg, HISTORY_PAGE, MAX_REPLAY};
use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

/// Most rooms one connection may have joined at once.
pub const MAX_ROOMS_PER_CONNECTION: usize = 32;
/// Frames a feed holds while its history loads; past this, the rest is read from the
/// store afterwards.
const MAX_HELD: usize = 1024;
/// How long a connection waits before trying again to catch up when the store failed.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// A joined room, as one connection sees it.
pub(super) struct Joined {
    pub(super) feed: Arc<Feed>,
    pub(super) membership: Membership,
}

/// One connection's place in one room's fan-out.
pub(super) struct Feed {
    wire: Arc<Wire>,
    /// The frame's bytes as this connection's kind of client reads them.
    live: fn(&Frame) -> Option<Bytes>,
    state: Mutex<FeedState>,
}

struct FeedState {
    /// The newest message number this client has; frames at or below it are skipped.
    delivered: Seq,
    /// Frames held while the history is written.
    held: Option<Vec<Frame>>,
    /// More arrived than could be held.
    overflow: bool,
    /// The connection should catch this room up from the store.
    behind: bool,
    /// Who the connection reads the room as, for when the room's rules change.
    reader: Reader,
    /// No longer allowed in the room: offered nothing more, left by the connection.
    revoked: bool,
}

impl Feed {
    /// A feed that holds frames until [`Feed::release`].
    pub(super) fn new(wire: Arc<Wire>, live: fn(&Frame) -> Option<Bytes>, reader: Reader) -> Feed {
        let state =
            FeedState { delivered: 0, held: Some(Vec::new()), overflow: false, behind: false, reader, revoked: false };
        Feed { wire, live, state: Mutex::new(state) }
    }

    fn state(&self) -> MutexGuard<'_, FeedState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The newest number sent.
    pub(super) fn delivered(&self) -> Seq {
        self.state().delivered
    }

    /// Whether the connection should catch this room up.
    pub(super) fn behind(&self) -> bool {
        let state = self.state();
        state.behind && !state.revoked
    }

    /// Whether the room's rules no longer let the connection read it.
    pub(super) fn revoked(&self) -> bool {
        self.state().revoked
    }

    /// The connection reads the room as `reader` from now on (a visitor who said hello).
    pub(super) fn read_as(&self, reader: Reader) {
        self.state().reader = reader;
    }

    /// Holds frames from now on (while history loads).
    pub(super) fn hold(&self) {
        self.state().held.get_or_insert_with(Vec::new);
    }

    /// The history up to `newest` is written: what was held after it goes out.
    pub(super) fn release(&self, newest: Seq) {
        let mut state = self.state();
        state.delivered = state.delivered.max(newest);
        state.behind = false;
        let mut out = Vec::new();
        for frame in state.held.take().unwrap_or_default() {
            out.extend(self.pass(&mut state, &frame));
        }
        self.wire.send(out);
        if std::mem::take(&mut state.overflow) && !state.behind {
            tracing::debug!(delivered = state.delivered, "held too much; catching up from the store");
            state.held.get_or_insert_with(Vec::new);
            state.behind = true;
            self.wire.fall_behind();
        }
    }

    /// What of `frame` to write now, if anything: the caller writes it before letting
    /// go of the state, so frames leave in the order they passed.
    fn pass(&self, state: &mut FeedState, frame: &Frame) -> Option<Bytes> {
        if state.revoked {
            return None;
        }
        if let Some(held) = &mut state.held {
            if held.len() < MAX_HELD {
                held.push(frame.clone());
            } else {
                state.overflow = true;
            }
            return None;
        }
        match frame.seq {
            Some(seq) if seq <= state.delivered => None,
            Some(seq) if seq > state.delivered + 1 => {
                tracing::debug!(seq, delivered = state.delivered, "catching up a gap from the store");
                state.held = Some(vec![frame.clone()]);
                state.behind = true;
                self.wire.fall_behind();
                None
            }
            seq => {
                if let Some(seq) = seq {
                    state.delivered = seq;
                }
                (self.live)(frame)
            }
        }
    }
}

impl Listener for Feed {
    fn offer(&self, frame: &Frame) {
        let mut state = self.state();
        if let Some(bytes) = self.pass(&mut state, frame) {
            self.wire.send_one(bytes);
        }
    }

    fn offer_all(&self, frames: &[Frame]) {
        let mut state = self.state();
        let out: Vec<Bytes> = frames.iter().filter_map(|frame| self.pass(&mut state, frame)).collect();
        self.wire.send(out);
    }

    fn admits(&self, may: &dyn Fn(&Reader) -> bool) -> bool {
        let mut state = self.state();
        if may(&state.reader) {
            return true;
        }
        state.revoked = true;
        state.held = None;
        drop(state);
        // The connection's task leaves the room and says why.
        self.wire.fall_behind();
        false
    }
}

/// The rooms a connection has joined: a few at most, so a list (a hash map would cost
/// every idle connection a few hundred bytes more).
#[derive(Default)]
pub(super) struct Joins(Vec<(RoomId, Joined)>);

impl Joins {
    pub(super) fn get(&self, room: &RoomId) -> Option<&Joined> {
        self.0.iter().find(|(r, _)| r == room).map(|(_, j)| j)
    }

    pub(super) fn get_mut(&mut self, room: &RoomId) -> Option<&mut Joined> {
        self.0.iter_mut().find(|(r, _)| r == room).map(|(_, j)| j)
    }

    pub(super) fn contains(&self, room: &RoomId) -> bool {
        self.get(room).is_some()
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    /// Adds a room not joined yet.
    pub(super) fn insert(&mut self, room: RoomId, joined: Joined) {
        self.0.push((room, joined));
    }

    pub(super) fn remove(&mut self, room: &RoomId) {
        self.0.retain(|(r, _)| r != room);
    }

    pub(super) fn names(&self) -> impl Iterator<Item = &RoomId> {
        self.0.iter().map(|(r, _)| r)
    }

    /// Each room with the newest number this connection was sent of it.
    pub(super) fn delivered(&self) -> impl Iterator<Item = (&RoomId, Seq)> {
        self.0.iter().map(|(r, j)| (r, j.feed.delivered()))
    }

    /// Leaves the rooms whose rules no longer let this connection read them: their names.
    pub(super) fn take_revoked(&mut self) -> Vec<RoomId> {
        let revoked: Vec<RoomId> = self.0.iter().filter(|(_, j)| j.feed.revoked()).map(|(r, _)| r.clone()).collect();
        self.0.retain(|(_, j)| !j.feed.revoked());
        revoked
    }

    /// The rooms to catch up from the store.
    pub(super) fn behind(&self) -> Vec<RoomId> {
        self.0.iter().filter(|(_, j)| j.feed.behind()).map(|(r, _)| r.clone()).collect()
    }
}

/// What a connection that fell behind its rooms missed.
impl Joins {
    /// Catches up every room whose feed asked for it.
    pub(super) async fn catch_up_all<T: Transport>(&self, hub: &Hub, wire: &Wire) {
        for room in self.behind() {
            self.catch_up::<T>(hub, wire, room).await;
        }
    }

    /// What a connection that fell behind a room missed, from the store, then what the
    /// room sent meanwhile.
    async fn catch_up<T: Transport>(&self, hub: &Hub, wire: &Wire, room: RoomId) {
        let Some(feed) = self.get(&room).map(|j| j.feed.clone()) else { return };
        let after = feed.delivered();
        let (mut out, newest) = match joined_frame(hub, &room, Some(after)).await {
            Ok((frame, newest, _)) => match frame {
                // Within reach: just the missed messages, as live frames.
                ServerMsg::Joined { messages, complete: true, .. } => {
                    (messages.into_iter().map(ServerMsg::Message).collect(), newest)
                }
                // Too far behind: the room starts over, as on a fresh join.
                other => (vec![other], newest),
            },
            Err(e) => {
                tokio::time::sleep(RETRY_AFTER).await;
                (vec![e.into()], after)
            }
        };
        // Presence changes may have been among the missed frames.
        let (online, more) = hub.online_listed(&room);
        out.push(ServerMsg::Presence { online, room: room.clone() });
        out.extend(crowd(&room, more));
        T::send(wire, out);
        feed.release(newest);
    }
}

/// The `joined` frame for a room: the latest page, or everything after `after` when
/// that is within [`MAX_REPLAY`]. Also the newest number it covers.
pub(super) async fn joined_frame(
    hub: &Hub,
    room: &RoomId,
    after: Option<Seq>,
) -> Result<(ServerMsg, Seq, u32), FrameError> {
    let store = hub.store();
    hub.presence_read(room).await;
    let (online, more) = hub.online_listed(room);
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
                return Ok((frame, newest, more));
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
    Ok((frame, newest, more))
}

/// The `crowd` frame that follows a list of a crowded room's people, if it is crowded.
pub(super) fn crowd(room: &RoomId, more: u32) -> Option<ServerMsg> {
    (more > 0).then(|| ServerMsg::Crowd { room: room.clone(), more })
}
