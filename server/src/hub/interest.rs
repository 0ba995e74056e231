//! What this node asks the bus to hear: the channels of the rooms it serves (someone
//! here is in the room or watches it, or follows it for unread counts) and of the
//! people connected to it whose counts are kept here or who signed in here. Worked out
//! again at once when a room starts being served here, and every [`INTEREST_EVERY`] for
//! what went away.

use super::Shared;
use crate::bus::Topic;
use palaver_protocol::RoomId;
use std::{collections::BTreeSet, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// How often the topics are worked out again even when nothing asked.
pub(super) const INTEREST_EVERY: Duration = Duration::from_secs(1);

impl Shared {
    /// The topics this node needs now, and the rooms it serves whose people through the
    /// other nodes are not read yet.
    fn interest(&self) -> (BTreeSet<Topic>, Vec<RoomId>) {
        let (mut topics, unknown): (BTreeSet<Topic>, Vec<RoomId>) = {
            let rooms = self.rooms();
            let topics = rooms.live.keys().map(|room| Topic::Room(room.clone())).collect();
            (topics, rooms.live.iter().filter(|(_, r)| !r.known).map(|(id, _)| id.clone()).collect())
        };
        {
            let readers = self.readers();
            topics.extend(readers.followed().map(|room| Topic::Room(room.clone())));
            topics.extend(readers.people().map(|user| Topic::Person(user.clone())));
        }
        topics.extend(self.signed().people().map(Topic::Person));
        (topics, unknown)
    }
}

/// Keeps the bus hearing what this node needs, and nothing else.
pub(super) async fn interest_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut asked: BTreeSet<Topic> = BTreeSet::new();
    loop {
        // A room served here whose people are not read yet is asked for again at each
        // pass until they are (it may have been left and entered again in between).
        let (topics, fresh) = shared.interest();
        if topics != asked || !fresh.is_empty() {
            shared.bus.listen(topics.clone(), fresh);
            asked = topics;
        }
        tokio::select! {
            () = tokio::time::sleep(INTEREST_EVERY) => {}
            () = shared.interest_changed.notified() => {}
            () = shutdown.cancelled() => return,
        }
    }
}
