//! The room list every identified connection is sent: the busiest rooms by name, with
//! how many people are in each (on any node), sent again when it changes, at most twice
//! a second, and less often on a busy server.

use super::Shared;
use app::protocol::{RoomId, RoomSummary, ServerMsg};
use bytes::Bytes;
use std::{collections::BTreeSet, sync::Arc, time::Duration};

/// Room-list updates are sent at most this often.
pub(super) const DIRECTORY_EVERY: Duration = Duration::from_millis(500);
/// Rooms the room list names at most: the busiest ones. Every identified connection
/// gets the list when it changes, so its size is paid once per connection.
pub const MAX_LISTED_ROOMS: usize = 30;

impl Shared {
    /// The busiest [`MAX_LISTED_ROOMS`] rooms, by name.
    pub(super) fn summary(&self) -> Vec<RoomSummary> {
        let rooms = self.rooms();
        let elsewhere = rooms.remote.rooms();
        let unstored: BTreeSet<&RoomId> =
            rooms.live.keys().chain(elsewhere.iter()).filter(|r| !rooms.stored.contains(*r)).collect();
        let mut list: Vec<RoomSummary> = rooms
            .stored
            .iter()
            .chain(unstored)
            .map(|r| RoomSummary { room: r.clone(), online: rooms.online_count(r) })
            .collect();
        if list.len() > MAX_LISTED_ROOMS {
            list.sort_by(|a, b| b.online.cmp(&a.online).then_with(|| a.room.cmp(&b.room)));
            list.truncate(MAX_LISTED_ROOMS);
        }
        list.sort_by(|a, b| a.room.cmp(&b.room));
        list
    }
}

/// Room-list frames the server sends per second at most, over all connections: on a busy
/// server the list refreshes less often rather than cost more.
pub(super) const DIRECTORY_BUDGET_PER_SEC: usize = 4_000;

/// How long to wait between room-list updates with `listeners` connections.
pub(super) fn directory_interval(listeners: usize) -> Duration {
    DIRECTORY_EVERY.max(Duration::from_secs_f64(listeners as f64 / DIRECTORY_BUDGET_PER_SEC as f64))
}

/// The room list as a whole frame.
pub(super) fn frame(shared: &Shared) -> Bytes {
    crate::socket::frames::text(&ServerMsg::Rooms { rooms: shared.summary() }.encode())
}

/// Sends the room list when it changed, at most every [`DIRECTORY_EVERY`] (less often
/// with many connections: see [`DIRECTORY_BUDGET_PER_SEC`]).
pub(super) async fn directory_loop(shared: Arc<Shared>) {
    loop {
        shared.directory_dirty.notified().await;
        tokio::time::sleep(directory_interval(shared.directory.receiver_count())).await;
        let frame = frame(&shared);
        shared.directory.send_if_modified(|current| {
            let changed = *current != frame;
            *current = frame;
            changed
        });
    }
}
