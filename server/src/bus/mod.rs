//! What the nodes of one Palaver tell each other: every stored message, who is typing,
//! who is here, and who read what. One seam, two sides: [`Local`] when this node is the
//! only one, and [`redis::RedisBus`] (Redis pub/sub) when several share a database.
//!
//! Each event travels on the channel of what it is about ([`Topic`]): a room's, or a
//! person's. A node hears only the topics it asks for, those of the rooms and people it
//! serves, so what it receives grows with its own people, not with the number of nodes.
//! Who is in each room is kept in Redis too (`presence.rs`), per room, each node writing
//! its own people's entries and reading the rooms it serves.
//!
//! Delivery across nodes is best effort, as Redis pub/sub is: the hub numbers, orders
//! and completes every room's messages from the store, so a lost or late event costs
//! a short wait, never a message.

mod link;
mod listen;
mod presence;
pub mod redis;
pub mod signing;

pub use presence::{ENTRY_LIFE, REFRESH_EVERY};

use palaver_protocol::{ChatMessage, RoomId, User, UserId};
use serde::{Deserialize, Serialize};
use std::{collections::BTreeSet, fmt};

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
    /// `user`'s sessions ended or tokens revoked on this node: their connections close
    /// everywhere.
    SignedOut {
        user: UserId,
        ended: Vec<crate::identity::Credential>,
    },
}

/// What an event is about, which names the channel it travels on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// A room's messages, typing, presence, rules and cards: heard by the nodes with
    /// someone in the room or following it.
    Room(RoomId),
    /// A person's reading, levels, role, sessions, and the messages that name them: heard
    /// by the nodes that person is connected to.
    Person(UserId),
}

impl Topic {
    /// The Redis channel of this topic.
    pub fn channel(&self) -> String {
        match self {
            Topic::Room(room) => format!("palaver:room:{room}"),
            Topic::Person(user) => format!("palaver:person:{}", user.0),
        }
    }
}

impl Event {
    /// The topics this event goes to: its room's, or its person's; a message also goes
    /// to each person it names, whose nodes may not follow its room yet.
    pub fn topics(&self) -> Vec<Topic> {
        match self {
            Event::Message(m) => std::iter::once(Topic::Room(m.room.clone()))
                .chain(m.mentions.iter().map(|u| Topic::Person(u.id.clone())))
                .collect(),
            Event::Typing { room, .. }
            | Event::Here { room, .. }
            | Event::Gone { room, .. }
            | Event::Rules { room }
            | Event::Preview { room, .. } => vec![Topic::Room(room.clone())],
            Event::Read { user, .. }
            | Event::Level { user, .. }
            | Event::Left { user, .. }
            | Event::Role { user, .. }
            | Event::SignedOut { user, .. } => vec![Topic::Person(user.clone())],
        }
    }
}

/// Who is in some rooms through the other nodes, as Redis has it; and, after a refresh,
/// how many people the busiest rooms have (on every node).
#[derive(Debug, Default, PartialEq)]
pub struct Present {
    pub rooms: Vec<(RoomId, Vec<(NodeId, User)>)>,
    pub busy: Option<Vec<(RoomId, usize)>>,
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
    /// Who is in the rooms this node started serving, read once their channels were
    /// heard: each room's messages are caught up from the store, and its list replaced.
    Present(Present),
}

pub trait Bus: Send + Sync + 'static {
    fn node(&self) -> &NodeId;

    /// Whether other nodes may exist (and so rooms must be caught up from the store).
    fn spans_nodes(&self) -> bool;

    /// Tells the other nodes, without waiting for them.
    fn publish(&self, event: Event);

    /// Hears the events of `topics` from now on, and of no others. Once the channels of
    /// the `fresh` rooms (rooms this node just started serving) are heard, who is in them
    /// comes back as [`Inbound::Present`].
    fn listen(&self, topics: BTreeSet<Topic>, fresh: Vec<RoomId>) {
        let _ = (topics, fresh);
    }

    /// Writes who is here through this node (`mine`, every room it serves, empty ones
    /// included) and reads who is in those rooms through the others, and the busiest
    /// rooms. `None`: nothing shared, or unreachable for now.
    fn refresh(&self, mine: Vec<(RoomId, Vec<User>)>) -> futures::future::BoxFuture<'_, Option<Present>> {
        let _ = mine;
        Box::pin(async { None })
    }

    /// How many nodes listen to `topic` now (`None`: no other node, or not known now).
    fn listeners(&self, topic: &Topic) -> futures::future::BoxFuture<'_, Option<u64>> {
        let _ = topic;
        Box::pin(async { None })
    }

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

    fn message(room: &RoomId, author: &User) -> ChatMessage {
        ChatMessage {
            room: room.clone(),
            seq: 7,
            id: ClientMsgId("c1".into()),
            author: author.clone(),
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
        }
    }

    #[test]
    fn each_event_goes_to_its_room_or_its_person_and_a_message_also_to_whom_it_names() {
        let room = RoomId::parse("r").unwrap();
        let ann = User { id: UserId("ann".into()), name: "Ann".into(), handle: None };
        let bob = User { id: UserId("bob".into()), name: "Bob".into(), handle: None };
        let message = ChatMessage { mentions: vec![bob.clone()], ..message(&room, &ann) };
        assert_eq!(Event::Message(message).topics(), [Topic::Room(room.clone()), Topic::Person(bob.id.clone())]);
        assert_eq!(Event::Typing { room: room.clone(), user: ann.clone() }.topics(), [Topic::Room(room.clone())]);
        assert_eq!(
            Event::Read { user: ann.id.clone(), room: room.clone(), seq: 1 }.topics(),
            [Topic::Person(ann.id.clone())]
        );
        assert_eq!(
            Event::SignedOut { user: bob.id.clone(), ended: Vec::new() }.topics(),
            [Topic::Person(bob.id.clone())]
        );
        assert_eq!(Topic::Room(room).channel(), "palaver:room:r");
        assert_eq!(Topic::Person(bob.id).channel(), "palaver:person:bob");
    }

    #[test]
    fn events_survive_the_wire() {
        let room = RoomId::parse("r").unwrap();
        let user = User { id: UserId("u1".into()), name: "Ann".into(), handle: None };
        let message = message(&room, &user);
        for event in [
            Event::Message(message),
            Event::Typing { room: room.clone(), user: user.clone() },
            Event::Here { room: room.clone(), user: user.clone() },
            Event::Gone { room: room.clone(), user: user.id.clone() },
            Event::Read { user: user.id.clone(), room: room.clone(), seq: 9 },
            Event::Level { user: user.id.clone(), room: room.clone(), level: palaver_protocol::Level::Muted },
            Event::SignedOut {
                user: user.id.clone(),
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
