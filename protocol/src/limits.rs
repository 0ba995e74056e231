//! The limits on frames and on what the server serves, as named constants (the table of
//! limits in `docs/PROTOCOL.md` names them).

/// Longest message text, counted in Unicode scalar values (what a person sees as characters).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest display name, in characters, after trimming.
pub const MAX_NAME_CHARS: usize = 32;
/// Longest room name: lowercase letters, digits, `-` and `_`.
pub const MAX_ROOM_CHARS: usize = 64;
/// Longest client message id, in bytes.
pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;
/// Largest WebSocket message the server reads; larger ones close the socket (1009).
/// Comfortably above the largest valid frame: 2,000 four-byte characters, escaped.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Messages per history page: shown when a room opens, and per "load older".
pub const HISTORY_PAGE: usize = 50;
/// Longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Found messages per `results` page.
pub const SEARCH_PAGE: usize = 20;
/// Most messages replayed to a client resuming a room; a larger gap reloads the room.
pub const MAX_REPLAY: usize = 500;
/// Messages one connection may send per second, on average (`PALAVER_RATE_PER_SEC`).
pub const RATE_PER_SEC: u32 = 5;
/// Messages one connection may send at once after a pause (`PALAVER_RATE_BURST`).
pub const RATE_BURST: u32 = 10;
/// The room everyone starts in.
pub const DEFAULT_ROOM: &str = "lobby";
/// Most distinct reactions (kinds of emoji) one message can carry.
pub const MAX_REACTIONS: usize = 20;
/// The emoji a reaction may be: the picker's set, in the picker's order.
pub const REACTIONS: [&str; 24] = [
    "👍", "👎", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🚀", "✅", "🔥", "💯", "👏", "🤔", "😍", "😅", "🙌", "💡",
    "⭐", "☕", "🍕", "👋", "❌",
];
/// Longest reply quote: the start of the original's first line, in characters.
pub const QUOTE_CHARS: usize = 80;
/// Most files one message carries.
pub const MAX_FILES: usize = 10;
/// Longest name a file is shown by, in characters (longer names are cut).
pub const MAX_FILE_NAME_CHARS: usize = 200;
