//! A message's link card, found (or taken away) on some node: sent to everyone in its
//! room here, and told to the other nodes, which do the same.

use super::{Hub, Shared};
use crate::bus::Event;
use palaver_protocol::{LinkPreview, RoomId, Seq, ServerMsg};

impl Shared {
    /// Sends message `seq`'s card (or that it has none now) to this node's connections
    /// in `room`.
    pub(super) fn show_preview(&self, room: RoomId, seq: Seq, preview: Option<LinkPreview>) {
        if let Some(live) = self.rooms().live.get(&room) {
            live.send(&ServerMsg::Preview { room: room.clone(), seq, preview });
        }
    }
}

impl Hub {
    /// Message `seq` of `room` has its link's card now, or none (as the store has it):
    /// everyone in the room is sent it, on every node.
    pub fn preview_found(&self, room: RoomId, seq: Seq, preview: Option<LinkPreview>) {
        self.shared.show_preview(room.clone(), seq, preview.clone());
        self.shared.bus.publish(Event::Preview { room, seq, preview: preview.map(Box::new) });
    }
}
