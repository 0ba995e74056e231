//! The sidebar: my rooms, with what is unread in each, and a box to join or create a
//! room by name (typed as the page shows it, `#design-team`, or as people say it,
//! "Design Team"). Alt+Up and Alt+Down move to the room above or below.

use super::form_error;
use super::notify_controls::NotifyControls;
use crate::by_room::ByRoom;
use crate::chat::{Chat, Intent};
use crate::locale::{Locale, Texts};
use crate::location::{room_href, Location};
use crate::markdown::escape;
use leptos::{ev::SubmitEvent, prelude::*};
use palaver_protocol::{Level, RoomAbout, RoomId, RoomUnread, Seq};

/// The rooms listed: mine (opened and not left, or where someone names me), the lobby
/// and the current one, in name order.
fn listed(current: &RoomId, mine: Vec<RoomId>) -> Vec<RoomId> {
    let mut out: Vec<RoomId> = Vec::with_capacity(mine.len() + 2);
    // Each put in its place (a short list: no sort needed), each once.
    for room in [RoomId::lobby(), current.clone()].into_iter().chain(mine) {
        if let Err(at) = out.binary_search(&room) {
            out.insert(at, room);
        }
    }
    out
}

/// A room's name as people type it: `#design-team`, `Design-Team` and `design team`
/// are all `design-team` (a leading `#` dropped, letters lowercased, spaces made `-`).
fn typed_room(typed: &str) -> String {
    let name = typed.trim();
    let name = name.strip_prefix('#').unwrap_or(name).trim_start();
    name.split_whitespace().collect::<Vec<_>>().join("-").to_ascii_lowercase()
}

/// What a room's row shows (`data-unread`, `data-mentions`, and whether it is muted):
/// nothing for none, counts up to "999+"; a muted room only an empty mark (a dot) for
/// what is unread.
pub fn marks(r: Option<&RoomUnread>) -> (Option<String>, Option<String>, bool) {
    let Some(r) = r else { return (None, None, false) };
    let muted = r.level == Level::Muted;
    let shown = |count: u32| match count {
        0 => None,
        1000.. => Some("999+".to_owned()),
        _ => Some(count.to_string()),
    };
    match muted {
        true => ((r.unread > 0).then(String::new), None, true),
        false => (shown(r.unread), shown(r.mentions), false),
    }
}

/// How many messages are unread, and how many mention me, in rooms not muted (the
/// title's count and the icon's dot).
pub fn totals<'a>(rooms: impl Iterator<Item = &'a RoomUnread>) -> (u32, u32) {
    rooms.filter(|r| r.level != Level::Muted).fold((0, 0), |(n, m), r| (n + r.unread, m + r.mentions))
}

/// The room `step` places from `current` in the list (the ends stay where they are).
pub fn neighbour(rooms: &[RoomId], current: &RoomId, step: isize) -> Option<RoomId> {
    let at = rooms.iter().position(|r| r == current)?;
    let to = at.checked_add_signed(step)?;
    rooms.get(to).cloned().filter(|r| r != current)
}

/// The list's rows: each room's link and its "mark as read" button, with what is unread
/// as `data-unread`, `data-mentions` and `data-muted` (drawn by the style sheet). Who is
/// online shows in the room's header, not here: a bare number read as unread.
fn rows_html(
    rooms: &[RoomId],
    current: &RoomId,
    unread: &ByRoom<RoomUnread>,
    about: &ByRoom<RoomAbout>,
    t: &Texts,
) -> String {
    let mut html = String::new();
    for room in rooms {
        let name = room.as_str();
        let shown = about.shown_name(room);
        let (n, m, muted) = marks(unread.get(room));
        html.push_str(if room == current { "<li class=\"current\"" } else { "<li" });
        html.push_str(" data-testid=\"room-entry\" data-room=\"");
        escape(&mut html, name);
        html.push('"');
        for (attr, value) in
            [(" data-unread=\"", n), (" data-mentions=\"", m), (" data-muted=\"", muted.then(String::new))]
        {
            if let Some(value) = value {
                html.push_str(attr);
                escape(&mut html, &value);
                html.push('"');
            }
        }
        html.push_str("><a data-nav=\"\" href=\"");
        escape(&mut html, &room_href(room));
        html.push_str("\">");
        escape(&mut html, &shown);
        html.push_str("</a><button class=\"mark-read link\" data-testid=\"mark-read\" data-act=\"mark-read\" title=\"");
        escape(&mut html, t.mark_read);
        html.push_str("\" aria-label=\"");
        escape(&mut html, t.mark_read);
        html.push_str(": ");
        escape(&mut html, &shown);
        html.push_str("\">✓</button></li>");
    }
    html
}

/// Keeps the keyboard's place when the rows are drawn anew: the same room's link or
/// button takes the focus back.
fn keep_focus(list: NodeRef<leptos::html::Ul>) {
    #[cfg(feature = "hydrate")]
    {
        let Some(ul) = list.get_untracked() else { return };
        let Some(active) = document().active_element().filter(|a| ul.contains(Some(a))) else { return };
        let room = active.closest("[data-room]").ok().flatten().and_then(|li| li.get_attribute("data-room"));
        let what = if active.tag_name() == "A" { "a" } else { "button" };
        request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            let selector = format!("[data-room=\"{}\"] {what}", room.unwrap_or_default());
            let found = ul.query_selector(&selector).ok().flatten();
            if let Some(el) = found.and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = list;
}

#[component]
pub fn RoomList(current: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let rooms = {
        let current = current.clone();
        move || listed(&current, chat.unread.with(|u| u.keys().cloned().collect()))
    };
    // Alt+Up / Alt+Down: the room above or below, from anywhere in the page.
    {
        let current = current.clone();
        let location = expect_context::<Location>();
        let handle = window_event_listener(leptos::ev::keydown, move |ev| {
            let step = match ev.key().as_str() {
                "ArrowUp" if ev.alt_key() => -1,
                "ArrowDown" if ev.alt_key() => 1,
                _ => return,
            };
            let unread = chat.unread.with_untracked(|u| u.keys().cloned().collect());
            let rooms = listed(&current, unread);
            if let Some(room) = neighbour(&rooms, &current, step) {
                ev.prevent_default();
                location.go_to(&room_href(&room));
            }
        });
        on_cleanup(move || handle.remove());
    }
    let locale = Locale::get();
    let t = locale.t();
    let location = expect_context::<Location>();
    let for_notify = current.clone();
    // The room box: a room by name, or what is wrong with the name (the search box's
    // plain form goes to the server).
    let on_submit = move |ev: SubmitEvent| {
        let Some((form, input)) = form_error::submitted(&ev, "join-room") else { return };
        match RoomId::parse(&typed_room(&input.value())) {
            Ok(room) => {
                form_error::say(&form, None);
                input.set_value("");
                location.go_to(&room_href(&room));
            }
            Err(reason) => form_error::say(&form, Some(&t.invalid(reason))),
        }
    };

    // The rows are one piece of HTML ([`rows_html`]); their links are followed by the
    // page's listener (`data-nav`), and their buttons answer here.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let target = event_target::<leptos::web_sys::Element>(&ev);
        let Some(button) = target.closest("[data-act=mark-read]").ok().flatten() else { return };
        let room = button.closest("[data-room]").ok().flatten().and_then(|li| li.get_attribute("data-room"));
        if let Some(room) = room.and_then(|r| RoomId::parse(&r).ok()) {
            chat.intend(Intent::Read(room, Seq::MAX));
        }
    };
    let list = NodeRef::<leptos::html::Ul>::new();
    // Drawn anew when the rooms listed change. The server's page carries its reader's
    // counts; from then on the chat page writes them on the rows, so new counts alone do
    // not draw the rows again.
    let mut drawn = false;
    let html = move || {
        let listed = rooms();
        let html = chat.about.with(|a| match drawn {
            false => chat.unread.with_untracked(|u| rows_html(&listed, &current, u, a, t)),
            true => rows_html(&listed, &current, &ByRoom::new(), a, t),
        });
        drawn = true;
        keep_focus(list);
        html
    };

    view! {
        <nav class="room-list" aria-label=t.rooms on:submit=on_submit>
            <div class="fixed" inner_html=head_html(t)></div>
            <ul data-testid="room-list" node_ref=list on:click=on_click inner_html=html></ul>
            <div class="fixed" inner_html=foot_html(locale)></div>
            <NotifyControls room=for_notify/>
        </nav>
    }
}

/// The list's fixed parts above the rows: the search box (a plain form to `/search`:
/// the server renders the results page) and the heading.
fn head_html(t: &Texts) -> String {
    let mut html =
        String::from("<form class=\"search-box\" role=\"search\" action=\"/search\" method=\"get\" aria-label=\"");
    escape(&mut html, t.search);
    html.push_str(
        "\"><input type=\"search\" name=\"q\" required data-testid=\"search-box\" autocomplete=\"off\" aria-label=\"",
    );
    escape(&mut html, t.search_messages);
    html.push_str("\" placeholder=\"");
    escape(&mut html, t.search_placeholder);
    html.push_str("\"></form><h2>");
    escape(&mut html, t.rooms);
    html.push_str("</h2>");
    html
}

/// The list's fixed parts below the rows: the directory (a page of the server's), the
/// room box, and the other language (a plain link: the server remembers the choice and
/// renders the page in it).
fn foot_html(locale: Locale) -> String {
    let (t, other) = (locale.t(), locale.lang.other());
    let mut html = String::from("<a class=\"browse\" href=\"/rooms\" data-testid=\"browse-rooms\">");
    escape(&mut html, t.browse_rooms);
    html.push_str("</a><form class=\"join-room\"><input type=\"text\" data-testid=\"join-room-input\" autocomplete=\"off\" aria-label=\"");
    escape(&mut html, t.room_name);
    html.push_str("\" placeholder=\"");
    escape(&mut html, t.join_placeholder);
    html.push_str("\"><button type=\"submit\" data-testid=\"join-room-button\">");
    escape(&mut html, t.go);
    html.push_str("</button>");
    html.push_str(&form_error::line("join-room-error"));
    html.push_str("</form>");
    html.push_str("<p class=\"language\"><span class=\"sr-only\">");
    escape(&mut html, t.language);
    let code = other.code();
    html.push_str(&format!(
        ": </span><a href=\"?lang={code}\" hreflang=\"{code}\" lang=\"{code}\" data-testid=\"language-switch\">"
    ));
    escape(&mut html, other.own_name());
    html.push_str("</a></p>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rows_say_which_room_is_current_what_it_is_called_and_what_is_unread() {
        let room = |n: &str| RoomId::parse(n).unwrap();
        let rooms = [room("lobby"), room("design")];
        let mut unread = ByRoom::new();
        unread.insert(
            room("design"),
            RoomUnread {
                room: room("design"),
                read: None,
                unread: 1200,
                mentions: 2,
                first: Some(3),
                level: Level::All,
            },
        );
        let mut about = ByRoom::new();
        let (title, topic) = ("Design team".to_owned(), String::new());
        about.insert(room("design"), RoomAbout { room: room("design"), title, topic });
        let html = rows_html(&rooms, &room("lobby"), &unread, &about, &crate::locale::ENGLISH);
        let rows: Vec<&str> = html.split("</li>").filter(|r| !r.is_empty()).collect();
        assert_eq!(rows.len(), 2);
        assert!(
            rows[0].starts_with("<li class=\"current\" data-testid=\"room-entry\" data-room=\"lobby\">"),
            "{}",
            rows[0]
        );
        assert!(rows[0].contains("<a data-nav=\"\" href=\"/\">#lobby</a>"), "{}", rows[0]);
        assert!(
            rows[1].starts_with(
                "<li data-testid=\"room-entry\" data-room=\"design\" data-unread=\"999+\" data-mentions=\"2\">"
            ),
            "{}",
            rows[1]
        );
        assert!(rows[1].contains("href=\"/r/design\">Design team</a>"), "{}", rows[1]);
        assert!(rows[1].contains("aria-label=\"Mark all as read: Design team\""), "{}", rows[1]);
    }

    #[test]
    fn a_room_is_found_by_the_forms_the_page_shows() {
        for typed in ["design-team", "#design-team", "Design-Team", " # Design Team ", "DESIGN  team"] {
            assert_eq!(RoomId::parse(&typed_room(typed)), RoomId::parse("design-team"), "{typed}");
        }
        assert!(RoomId::parse(&typed_room("Not A Room!")).is_err());
        assert!(RoomId::parse(&typed_room("#")).is_err());
    }

    #[test]
    fn alt_arrows_step_through_the_listed_rooms() {
        let room = |n: &str| RoomId::parse(n).unwrap();
        // Mine, the current one and the lobby.
        let rooms = listed(&room("alpha"), vec![room("zed"), room("mid"), room("lobby")]);
        assert_eq!(rooms.iter().map(RoomId::as_str).collect::<Vec<_>>(), ["alpha", "lobby", "mid", "zed"]);
        assert_eq!(neighbour(&rooms, &room("lobby"), 1), Some(room("mid")));
        assert_eq!(neighbour(&rooms, &room("lobby"), -1), Some(room("alpha")));
        assert_eq!(neighbour(&rooms, &room("alpha"), -1), None, "the top stays");
        assert_eq!(neighbour(&rooms, &room("zed"), 1), None, "the bottom stays");
    }
}
