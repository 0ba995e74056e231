//! The rooms one connection has joined, and keeping it current in each: live frames
//! skipped by number when already delivered, and a catch-up from the store when it fell
//! behind a room's live feed, so nothing is ever skipped silently.

use super::connection::Connection;
use super::transport::Transport;
use crate::hub::{Frame, Membership};
use crate::socket::{Ending, Outbox};
use app::protocol::{FrameError, RoomId, Seq, ServerMsg, HISTORY_PAGE, MAX_REPLAY};
use axum::extract::ws::Message;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

/// A joined room, as one connection sees it.
pub(super) struct Joined {
    /// The newest message number this client has; live frames at or below it are skipped.
    pub(super) delivered: Seq,
    pub(super) _membership: Membership,
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
}

impl<T: Transport> Connection<T> {
    /// A frame from a joined room's live feed, queued for the peer. Says which room to
    /// catch up from the store, if the connection fell behind its feed.
    pub(super) fn live(
        &mut self,
        room: RoomId,
        frame: Result<Frame, BroadcastStreamRecvError>,
        outbox: &mut Outbox,
    ) -> Result<Option<RoomId>, Ending> {
        let Some(joined) = self.rooms.get_mut(&room) else { return Ok(None) };
        match frame {
            Ok(Frame { seq: Some(seq), .. }) if seq <= joined.delivered => Ok(None),
            // A number is missing before this one (it went out before this connection
            // subscribed on another node's account): the store has it, as it was
            // committed first.
            Ok(Frame { seq: Some(seq), .. }) if seq > joined.delivered + 1 => {
                tracing::debug!(seq, delivered = joined.delivered, %room, "catching up a gap from the store");
                Ok(Some(room))
            }
            Ok(frame) => {
                if let Some(seq) = frame.seq {
                    joined.delivered = seq;
                }
                outbox.push(self.transport.live(&frame)).map(|()| None)
            }
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                tracing::debug!(missed, %room, "catching up from the store");
                Ok(Some(room))
            }
        }
    }

    /// What a connection that fell behind its room's feed missed, from the store.
    pub(super) async fn catch_up(&mut self, room: RoomId) -> Vec<Message> {
        let after = self.rooms.get(&room).map_or(0, |j| j.delivered);
        let mut out = match self.joined_frame(&room, Some(after)).await {
            Ok((frame, newest)) => {
                if let Some(joined) = self.rooms.get_mut(&room) {
                    joined.delivered = joined.delivered.max(newest);
                }
                match frame {
                    // Within reach: just the missed messages, as live frames.
                    ServerMsg::Joined { messages, complete: true, .. } => {
                        messages.into_iter().map(ServerMsg::Message).collect()
                    }
                    // Too far behind: the room starts over, as on a fresh join.
                    other => vec![other],
                }
            }
            Err(e) => vec![e.into()],
        };
        // Presence changes may have been among the missed frames.
        out.push(ServerMsg::Presence { online: self.cx.hub.online(&room), room });
        self.write(out)
    }

    /// The `joined` frame for a room: the latest page, or everything after `after` when
    /// that is within [`MAX_REPLAY`]. Also the newest number it covers.
    pub(super) async fn joined_frame(&self, room: &RoomId, after: Option<Seq>) -> Result<(ServerMsg, Seq), FrameError> {
        let store = self.cx.hub.store();
        let online = self.cx.hub.online(room);
        let wrap = |e| super::commands::unavailable(e).about(Some(room), None);
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
