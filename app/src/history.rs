//! The room's latest messages in the server-rendered page. The server loads them before
//! rendering and also writes them into the page as JSON, so that the browser hydrates
//! the same list it was sent; after that, the socket keeps every room current.

use crate::protocol::{HistoryPage, RoomId};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The page the server rendered into the HTML, for the room it was rendered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedPage {
    pub room: RoomId,
    pub page: HistoryPage,
}

impl RenderedPage {
    /// Reads what [`RenderedPage::to_script_json`] wrote (with the page's plain JSON
    /// reader, not serde's, which would grow the page's WebAssembly).
    pub fn read(json: &str) -> Option<RenderedPage> {
        let value = crate::protocol::json::Json::parse(json).ok()?;
        let room = crate::protocol::json::room_field(&value)?;
        Some(RenderedPage { room, page: crate::protocol::json::page_of(value.get("page")?)? })
    }
}

/// The `id` of the `<script type="application/json">` element that carries it.
pub const RENDERED_PAGE_ID: &str = "palaver-rendered-page";

impl RenderedPage {
    /// As JSON that is safe inside a `<script>` element.
    pub fn to_script_json(&self) -> String {
        script_json(&serde_json::to_string(self).unwrap_or_default())
    }
}

/// JSON made safe inside a `<script>` element: no `<`, `>` or `&` in it.
pub fn script_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// Holds the rendered page until the room view that shows it takes it; provided by
/// [`crate::App`]. Later room views (after moving to another room) start empty and are
/// filled by the socket.
#[derive(Clone, Copy)]
pub struct RenderedHistory(StoredValue<Option<RenderedPage>>);

impl RenderedHistory {
    /// On the server, what the request handler loaded (see `server/src/pages.rs`); in the
    /// browser, what the server wrote into the page.
    pub fn current() -> RenderedHistory {
        RenderedHistory(StoredValue::new(rendered_page()))
    }

    /// The rendered page of `room`, once.
    pub fn take(&self, room: &RoomId) -> Option<HistoryPage> {
        let mut taken = None;
        self.0.update_value(|held| {
            if held.as_ref().is_some_and(|p| &p.room == room) {
                taken = held.take().map(|p| p.page);
            }
        });
        taken
    }
}

#[cfg(feature = "hydrate")]
fn rendered_page() -> Option<RenderedPage> {
    let json = document().get_element_by_id(RENDERED_PAGE_ID)?.text_content()?;
    RenderedPage::read(&json)
}

#[cfg(not(feature = "hydrate"))]
fn rendered_page() -> Option<RenderedPage> {
    use_context::<RenderedPage>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ChatMessage, MessageKind, User, UserId};

    #[test]
    fn the_page_as_script_json_cannot_end_its_script_and_reads_back_the_same() {
        let page = RenderedPage {
            room: RoomId::lobby(),
            page: HistoryPage {
                messages: vec![ChatMessage {
                    room: RoomId::lobby(),
                    seq: 1,
                    id: crate::protocol::ClientMsgId("a".into()),
                    author: User { id: UserId("u".into()), name: "Ann".into() },
                    kind: MessageKind::Text,
                    text: "</script><script>alert(1)</script> & <!--".into(),
                    sent_at: 1,
                    target: None,
                    edited: false,
                    deleted: false,
                    quote: None,
                    reactions: Vec::new(),
                    mentions: Vec::new(),
                }],
                has_older: false,
            },
        };
        let json = page.to_script_json();
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'), "{json}");
        assert_eq!(serde_json::from_str::<RenderedPage>(&json).unwrap(), page);
        assert_eq!(RenderedPage::read(&json), Some(page), "the page's own reader reads the same");
    }
}
