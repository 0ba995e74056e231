//! What the nodes of one Palaver tell each other: every stored message, who is typing,
//! who is here, and who read what. One seam, two sides: [`Local`] when this node is the
//! only one, and [`redis::RedisBus`] (Redis pub/sub) when several share a database.
//!
//! Delivery across nodes is best effort, as Redis pub/sub is: the hub numbers, orders
//! and completes every room's messages from the store, so a lost or late event costs
//! a short wait, never a message.

pub mod redis;
pub mod signing;

use palaver_protocol::{ChatMessage, RoomId, User, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One running server among those sharing a database: a fresh name every start.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId(pub String);

impl NodeId {
    pub fn fresh() -> Result<NodeId, crate::identity::SecretError> {
        let bytes = crate::identity::random_bytes::<6>()?;
        Ok(NodeId(format!("n{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Something a node tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
// Each event is made once and handed on whole; most are messages.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// A message this node stored (committed).
    Message(ChatMessage),
    Typing {
        room: RoomId,
        user: User,
    },
    /// `user` is in `room` through this node (first tab here, or a new name).
    Here {
        room: RoomId,
        user: User,
    },
    /// `user`'s last tab in `room` on this node closed.
    Gone {
        room: RoomId,
        user: UserId,
    },
    /// `user` read `room` up to `seq` in a tab on this node.
    Read {
        user: UserId,
        room: RoomId,
        seq: palaver_protocol::Seq,
    },
    /// `user` chose how `room` tells them of new messages, in a tab on this node.
    Level {
        user: UserId,
        room: RoomId,
        level: palaver_protocol::Level,
    },
    /// `user` took `room` off their list, in a tab on this node.
    Left {
        user: UserId,
        room: RoomId,
    },
    /// A room's rules or people changed (in the store): every node reads them again,
    /// and whoever may no longer read the room stops receiving it.
    Rules {
        room: RoomId,
    },
    /// A member's workspace role changed (`None`: suspended, or no longer a member).
    Role {
        user: UserId,
        role: Option<String>,
    },
    /// Message `seq` of `room` got its link's card on this node, or lost it (`None`: its
    /// author took it away), as the store has it now.
    Preview {
        room: RoomId,
        seq: palaver_protocol::Seq,
        preview: Option<Box<palaver_protocol::LinkPreview>>,
    },
    /// Sessions ended or tokens revoked on this node: their connections close everywhere.
    SignedOut {
        ended: Vec<crate::identity::Credential>,
    },
    /// Everyone in every room through this node, sent every few seconds: it corrects
    /// any lost `here`/`gone`, and a node that stops sending it is taken for dead.
    Snapshot {
        rooms: Vec<(RoomId, Vec<User>)>,
    },
}

/// An event with the node it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub node: NodeId,
    pub event: Event,
}

/// What the bus hands the hub.
#[derive(Debug)]
// Events pass through once each; a resync is rare.
#[allow(clippy::large_enum_variant)]
pub enum Inbound {
    Event(Envelope),
    /// The bus was (re)connected: events may have been lost meanwhile, so every room
    /// is to be caught up from the store and this node's presence told again.
    Resync,
}

pub trait Bus: Send + Sync + 'static {
    fn node(&self) -> &NodeId;

    /// Whether other nodes may exist (and so rooms must be caught up from the store).
    fn spans_nodes(&self) -> bool;

    /// Tells the other nodes, without waiting for them.
    fn publish(&self, event: Event);

    /// Events heard from the bus and dropped since start (forged, replayed or unreadable).
    fn dropped(&self) -> u64 {
        0
    }

    /// Waits, at most `limit`, until what was published has been sent (at shutdown).
    fn flush(&self, limit: std::time::Duration) -> futures::future::BoxFuture<'_, ()> {
        let _ = limit;
        Box::pin(async {})
    }
}

/// The bus of a node that is the only one: nothing to tell.
pub struct Local {
    node: NodeId,
}

impl Local {
    pub fn new(node: NodeId) -> Local {
        Local { node }
    }
}

impl Bus for Local {
    fn node(&self) -> &NodeId {
        &self.node
    }

    fn spans_nodes(&self) -> bool {
        false
    }

    fn publish(&self, _event: Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use palaver_protocol::{ClientMsgId, MessageKind};

    #[test]
    fn events_survive_the_wire() {
        let room = RoomId::parse("r").unwrap();
        let user = User { id: UserId("u1".into()), name: "Ann".into(), handle: None };
        let message = ChatMessage {
            room: room.clone(),
            seq: 7,
            id: ClientMsgId("c1".into()),
            author: user.clone(),
            kind: MessageKind::Text,
            text: "hi".into(),
            sent_at: 1,
            target: None,
            edited: false,
            deleted: false,
            removed: false,
            quote: None,
            reactions: Vec::new(),
            mentions: Vec::new(),
            preview: None,
            files: Vec::new(),
        };
        for event in [
            Event::Message(message),
            Event::Typing { room: room.clone(), user: user.clone() },
            Event::Here { room: room.clone(), user: user.clone() },
            Event::Gone { room: room.clone(), user: user.id.clone() },
            Event::Snapshot { rooms: vec![(room.clone(), vec![user.clone()])] },
            Event::Read { user: user.id.clone(), room: room.clone(), seq: 9 },
            Event::Level { user: user.id.clone(), room: room.clone(), level: palaver_protocol::Level::Muted },
            Event::SignedOut {
                ended: vec![crate::identity::Credential::Session(7), crate::identity::Credential::Token(8)],
            },
            Event::Left { user: user.id.clone(), room: room.clone() },
        ] {
            let envelope = Envelope { node: NodeId("n1".into()), event };
            let wire = serde_json::to_vec(&envelope).unwrap();
            assert_eq!(serde_json::from_slice::<Envelope>(&wire).unwrap(), envelope);
        }
        let bad = br#"{"node":"n1","event":{"t":"here","room":"../etc","user":{"id":"u","name":"x"}}}"#;
        assert!(serde_json::from_slice::<Envelope>(bad).is_err(), "room names are checked on the way in");
    }
}
