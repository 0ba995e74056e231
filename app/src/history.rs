//! The room's latest messages in the server-rendered page (and, for a reader whose first
//! unread message is further back, the page around that one too). The server loads them
//! before rendering and also writes them into the page as JSON, so that the browser
//! hydrates the same list it was sent; after that, the socket keeps every room current.

use crate::chat::Timeline;
use leptos::prelude::*;
use palaver_protocol::{HistoryPage, RoomId};
use serde::{Deserialize, Serialize};

/// The page the server rendered into the HTML, for the room it was rendered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedPage {
    pub room: RoomId,
    pub page: HistoryPage,
    /// The page around the reader's first unread message, when the newest page does
    /// not reach back to it: shown above the newest, with a gap between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub around: Option<HistoryPage>,
}

impl RenderedPage {
    /// Reads what [`RenderedPage::to_script_json`] wrote (with the page's plain JSON
    /// reader, not serde's, which would grow the page's WebAssembly).
    pub fn read(json: &str) -> Option<RenderedPage> {
        let value = palaver_protocol::json::Json::parse(json).ok()?;
        let room = palaver_protocol::json::room_field(&value)?;
        let page = palaver_protocol::json::page_of(value.get("page")?)?;
        let around = match value.get("around") {
            Some(around) => Some(palaver_protocol::json::page_of(around)?),
            None => None,
        };
        Some(RenderedPage { room, page, around })
    }

    /// The room's timeline as the page shows it.
    pub fn timeline(self) -> Timeline {
        let mut timeline = Timeline::from_page(self.page.messages, self.page.has_older);
        if let Some(around) = self.around {
            timeline.around(around.messages, around.has_older);
        }
        timeline
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

    /// The rendered timeline of `room`, once.
    pub fn take(&self, room: &RoomId) -> Option<Timeline> {
        let mut taken = None;
        self.0.update_value(|held| {
            if held.as_ref().is_some_and(|p| &p.room == room) {
                taken = held.take().map(RenderedPage::timeline);
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
    use crate::chat::Row;
    use palaver_protocol::{ChatMessage, MessageKind, User, UserId};

    #[test]
    fn the_page_as_script_json_cannot_end_its_script_and_reads_back_the_same() {
        let mut rendered = page(1..=1, false);
        rendered.messages[0].text = "</script><script>alert(1)</script> & <!--".into();
        let page = RenderedPage { room: RoomId::lobby(), page: rendered, around: None };
        let json = page.to_script_json();
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'), "{json}");
        assert_eq!(serde_json::from_str::<RenderedPage>(&json).unwrap(), page);
        assert_eq!(RenderedPage::read(&json), Some(page), "the page's own reader reads the same");
    }

    fn page(seqs: std::ops::RangeInclusive<u64>, has_older: bool) -> HistoryPage {
        let messages = seqs
            .map(|seq| ChatMessage {
                room: RoomId::lobby(),
                seq,
                id: palaver_protocol::ClientMsgId(format!("m{seq}")),
                author: User { id: UserId("u".into()), name: "Bob".into(), handle: None },
                kind: MessageKind::Text,
                text: format!("message {seq}"),
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
            })
            .collect();
        HistoryPage { messages, has_older }
    }

    #[test]
    fn a_page_rendered_around_the_first_unread_stays_above_the_newest_once_joined() {
        let rendered =
            RenderedPage { room: RoomId::lobby(), page: page(71..=120, true), around: Some(page(1..=50, false)) };
        let read = RenderedPage::read(&rendered.to_script_json()).expect("reads back");
        assert_eq!(read, rendered);
        let mut t = read.timeline();
        let gaps = |t: &Timeline| -> Vec<u64> {
            t.rows(&|_| 0, 0, None)
                .into_iter()
                .filter_map(|r| if let Row::Gap(after) = r { Some(after) } else { None })
                .collect()
        };
        assert_eq!((t.first_seq(), t.last_seq(), gaps(&t), t.has_older), (Some(1), Some(120), vec![50], false));
        // The socket's first answer: the newest page, two messages on. The page above stays.
        t.joined(page(73..=122, true).messages, true, true);
        assert_eq!((t.first_seq(), t.last_seq(), gaps(&t), t.has_older), (Some(1), Some(122), vec![50], false));
        assert!(t.message(71).is_some() && t.message(30).is_some());
        // Later, an answer with a hole in it (back after too long away) replaces it all.
        t.joined(page(300..=349, true).messages, false, true);
        assert_eq!((t.first_seq(), gaps(&t), t.has_older), (Some(300), vec![], true));
    }
}
