//! What passes between the page and its socket task: what the page asks it to do, how
//! the connection stands, and the search on screen as its results come.

use palaver_protocol::{Level, RoomId, SearchHit, Seq};

/// What the page wants the socket task to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Send whatever is pending in the current room.
    Flush,
    /// The name was chosen or changed: introduce ourselves (again).
    Hello,
    /// The page switched to another room.
    SwitchRoom,
    /// Tell the room we are typing.
    Typing,
    /// Load the page before the first message shown.
    LoadOlder,
    /// Ask again for a join or leave that the server refused for now (rate-limited).
    Rejoin,
    /// Load the page around this number.
    Around(Seq),
    /// Search every room.
    Search(String),
    /// A room is read up to this number (`Seq::MAX`: all of it).
    Read(RoomId, Seq),
    /// How a room tells me of new messages from now on.
    Notify(RoomId, Level),
    /// Take a room off my list, in all my tabs.
    Forget(RoomId),
    /// Take the card away from my message of the room on screen.
    HidePreview(Seq),
}

/// The search on screen: what was asked last, and what has been found for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Results {
    pub query: String,
    pub hits: Vec<SearchHit>,
    /// Where the next page starts, if there is more.
    pub next: Option<u64>,
    /// Asked and not answered yet.
    pub loading: bool,
}

impl Results {
    /// What the server found for a query (the page it rendered, or a `results` answer).
    pub fn found(query: String, hits: Vec<SearchHit>, next: Option<u64>) -> Results {
        Results { query, hits, next, loading: false }
    }
}

/// What the user sees of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    Connecting,
    Connected,
    Reconnecting,
    /// Not connected, and the browser has no network: what is written waits for it.
    Offline,
}

impl ConnectionStatus {
    pub fn label(self, t: &crate::locale::Texts) -> &'static str {
        match self {
            ConnectionStatus::Connecting => t.connecting,
            ConnectionStatus::Connected => t.connected,
            ConnectionStatus::Reconnecting => t.reconnecting,
            ConnectionStatus::Offline => t.offline,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Connecting => "connecting",
            ConnectionStatus::Connected => "connected",
            ConnectionStatus::Reconnecting => "reconnecting",
            ConnectionStatus::Offline => "offline",
        }
    }
}
