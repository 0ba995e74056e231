//! The sidebar: every room with how many people are in it, and a box to join or
//! create a room by name. Alt+Up and Alt+Down move to the room above or below.

use super::form_error::FormError;
use super::notify_controls::NotifyControls;
use super::search_page::SearchBox;
use crate::chat::{Chat, Intent};
use crate::locale::Locale;
use crate::location::{room_href, Link, Location};
use leptos::{ev::SubmitEvent, prelude::*};
use palaver_protocol::{Level, RoomId, RoomSummary, RoomUnread, Seq};

/// The rooms listed: the server's, the lobby, the current one and any with something
/// unread, in name order.
fn listed(rooms: Vec<RoomSummary>, current: &RoomId, unread: Vec<RoomId>) -> Vec<RoomSummary> {
    let others = [RoomId::lobby(), current.clone()].into_iter().chain(unread);
    let mut out: Vec<RoomSummary> = Vec::with_capacity(rooms.len() + 2);
    // Each put in its place (a short list: no sort needed), the first of a name kept.
    for room in rooms.into_iter().chain(others.map(|room| RoomSummary { room, online: 0 })) {
        if let Err(at) = out.binary_search_by(|r| r.room.cmp(&room.room)) {
            out.insert(at, room);
        }
    }
    out
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
pub fn neighbour(rooms: &[RoomSummary], current: &RoomId, step: isize) -> Option<RoomId> {
    let at = rooms.iter().position(|r| &r.room == current)?;
    let to = at.checked_add_signed(step)?;
    rooms.get(to).map(|r| r.room.clone()).filter(|r| r != current)
}

#[component]
pub fn RoomList(current: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let rooms = {
        let current = current.clone();
        move || listed(chat.rooms.get(), &current, chat.unread.with(|u| u.keys().cloned().collect()))
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
            let rooms = listed(chat.rooms.get_untracked(), &current, unread);
            if let Some(room) = neighbour(&rooms, &current, step) {
                ev.prevent_default();
                location.go_to(&room_href(&room));
            }
        });
        on_cleanup(move || handle.remove());
    }
    let draft = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let locale = Locale::get();
    let t = locale.t();
    let other = locale.lang.other();
    let location = expect_context::<Location>();
    let for_notify = current.clone();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name = draft.get_untracked().trim().to_ascii_lowercase();
        match RoomId::parse(&name) {
            Ok(room) => {
                problem.set(None);
                draft.set(String::new());
                location.go_to(&room_href(&room));
            }
            Err(reason) => problem.set(Some(t.invalid(reason))),
        }
    };

    view! {
        <nav class="room-list" aria-label=t.rooms>
            <SearchBox/>
            <h2>{t.rooms}</h2>
            <ul data-testid="room-list">
                <For
                    each=rooms
                    key=|r: &RoomSummary| (r.room.clone(), r.online)
                    children=move |r: RoomSummary| {
                        let is_current = r.room == current;
                        let room = r.room.clone();
                        // As the page starts (the server's counts for its reader); the chat
                        // page keeps them current from then on.
                        let (unread, mentions, muted) = chat.unread.with_untracked(|u| marks(u.get(&room)));
                        // How many messages are unread, and how many name me, the chat page
                        // writes on the row (`data-unread`, `data-mentions`) for the style
                        // sheet to show; "mark all as read" shows with them.
                        view! {
                            <li
                                class:current=is_current
                                data-testid="room-entry"
                                data-room=r.room.to_string()
                                data-unread=unread
                                data-mentions=mentions
                                data-muted=muted.then_some("")
                            >
                                <Link href=room_href(&r.room) text=format!("#{}", r.room)/>
                                <button
                                    class="mark-read link"
                                    data-testid="mark-read"
                                    title=t.mark_read
                                    aria-label=format!("{}: #{}", t.mark_read, r.room)
                                    on:click=move |_| chat.intend(Intent::Read(room.clone(), Seq::MAX))
                                >
                                    "✓"
                                </button>
                                <span class="online-count" data-testid="room-online" title=t.people_online>{r.online}</span>
                            </li>
                        }
                    }
                />
            </ul>
            <form class="join-room" on:submit=on_submit>
                <input
                    type="text"
                    data-testid="join-room-input"
                    aria-label=t.room_name
                    placeholder=t.join_placeholder
                    autocomplete="off"
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="join-room-button">{t.go}</button>
                <FormError problem testid="join-room-error"/>
            </form>
            // The other language, by a plain link: the server remembers the choice and
            // renders the page in it.
            <p class="language">
                <span class="sr-only">{t.language} ": "</span>
                <a href=format!("?lang={}", other.code()) hreflang=other.code() lang=other.code() data-testid="language-switch">
                    {other.own_name()}
                </a>
            </p>
            <NotifyControls room=for_notify/>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_arrows_step_through_the_listed_rooms() {
        let room = |n: &str| RoomId::parse(n).unwrap();
        // The server's, the current one, the lobby, and one with unread messages.
        let rooms = listed(vec![RoomSummary { room: room("zed"), online: 1 }], &room("alpha"), vec![room("mid")]);
        assert_eq!(rooms.iter().map(|r| r.room.as_str()).collect::<Vec<_>>(), ["alpha", "lobby", "mid", "zed"]);
        assert_eq!(neighbour(&rooms, &room("lobby"), 1), Some(room("mid")));
        assert_eq!(neighbour(&rooms, &room("lobby"), -1), Some(room("alpha")));
        assert_eq!(neighbour(&rooms, &room("alpha"), -1), None, "the top stays");
        assert_eq!(neighbour(&rooms, &room("zed"), 1), None, "the bottom stays");
    }
}
