//! What a page starts from, the same on the server and in the browser: the rooms, as
//! the socket's `rooms` frame lists them, and for the person of the session cookie,
//! who they are and their unread counts (a `welcome` without the token, and `unread`).
//! The server renders the page from these frames and writes them into it; the browser
//! hydrates from the same, so nothing moves when the socket brings the same news.

use crate::by_room::ByRoom;
use crate::chat::Chat;
use palaver_protocol::{RoomAbout, RoomUnread, ServerMsg};

/// Provided by the server's page handler.
#[derive(Debug, Clone, Default)]
pub struct PageStart {
    pub frames: Vec<ServerMsg>,
}

/// The `id` of the `<script type="application/json">` element that carries it.
pub const PAGE_START_ID: &str = "palaver-start";

impl PageStart {
    /// The frames, a line each, safe inside a `<script>` element.
    pub fn to_script(&self) -> String {
        let lines: Vec<String> = self.frames.iter().map(ServerMsg::encode).collect();
        crate::history::script_json(&lines.join("\n"))
    }

    /// The unread counts of the person the page is for.
    pub fn unread(&self) -> impl Iterator<Item = &RoomUnread> {
        self.frames.iter().flat_map(|f| match f {
            ServerMsg::Unread { rooms, .. } => rooms.as_slice(),
            _ => &[],
        })
    }

    /// What the rooms are called, as the page starts.
    pub fn about(&self) -> ByRoom<RoomAbout> {
        let mut about = ByRoom::new();
        for r in self.frames.iter().flat_map(|f| match f {
            ServerMsg::About { rooms } => rooms.as_slice(),
            _ => &[],
        }) {
            about.insert(r.room.clone(), r.clone());
        }
        about
    }

    /// Starts `chat` as the page was rendered: from the request's frames on the server,
    /// from those written into the page in the browser.
    pub fn apply(chat: Chat) {
        #[cfg(feature = "ssr")]
        if let Some(start) = leptos::prelude::use_context::<PageStart>() {
            for frame in start.frames {
                chat.apply(frame, 0.0);
            }
        }
        #[cfg(feature = "hydrate")]
        if let Some(text) = leptos::prelude::document().get_element_by_id(PAGE_START_ID).and_then(|e| e.text_content())
        {
            for frame in text.lines().filter_map(|line| ServerMsg::decode(line).ok()) {
                chat.apply(frame, 0.0);
            }
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        let _ = chat;
    }
}
