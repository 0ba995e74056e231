//! The chat page for one room (`/` is the lobby, `/r/NAME` any other): the room list,
//! the room's header with who is online, its messages, who is typing, and the composer
//! (or the name form, until this browser has a name).

use super::browse_page::directory;
use super::{
    composer::Composer, connection_status::ConnectionStatusBadge, message_list::MessageList, name_form::NameForm,
    presence::Presence, room_list::RoomList, search_page::search_body, typing_indicator::TypingIndicator,
};
use crate::by_room::ByRoom;
use crate::chat::{Chat, Me};
use crate::history::RenderedHistory;
use crate::locale::{fill, Locale};
use crate::location::{room_href, Link, Location, Place};
use crate::markdown::escape;
use leptos::either::Either;
use leptos::prelude::*;
use palaver_protocol::{RoomAbout, RoomId};

#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let location = expect_context::<Location>();
    let place = Memo::new(move |_| location.place());
    let t = Locale::get().t();
    #[cfg(feature = "hydrate")]
    let lang = Locale::get().lang;
    // The socket task follows the page to whatever room it shows, and so does the title
    // (the server writes the first one into the page).
    Effect::new(move |_| {
        if let Place::Room(r) = place.get() {
            chat.switch_room(r);
        }
    });
    // What is unread, where it shows: the title, the icon and the room list.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let title = place.with(|p| chat.about.with(|a| p.title(lang, a)));
        let unread = chat.unread.get();
        request_animation_frame(move || show_unread(unread.values(), &title));
    });

    #[cfg(feature = "hydrate")]
    crate::notify::take_turn();

    move || match place.get() {
        Place::Room(r) => Either::Left(view! { <RoomView room=r/> }),
        // In the same frame, beside the room list of the room it was opened from.
        Place::Search { query, .. } => Either::Left(view! { <RoomView room=chat.room.get_untracked() search=query/> }),
        Place::BadRoom { name, reason } => {
            let why = fill(t.bad_room_name, &[("name", &name), ("reason", &t.invalid(reason))]);
            Either::Right(plain_page("chat bad-room", "bad-room", t.no_such_room, not_there(Some(why))))
        }
        Place::NotFound => Either::Right(plain_page("chat not-found", "not-found", t.page_not_found, not_there(None))),
        Place::Rooms { .. } => {
            Either::Right(plain_page("chat browse-page", "browse-page", t.browse_rooms, directory()))
        }
    }
}

/// A page of words, not the chat: what is wrong, or the directory of rooms. Its body is
/// fixed markup (escaped where it holds a name).
fn plain_page(class: &'static str, testid: &'static str, title: &'static str, body: String) -> impl IntoView {
    view! {
        <main class=class data-testid=testid>
            <h1>{title}</h1>
            <div inner_html=body></div>
        </main>
    }
}

/// What a page that is not there says (answered with 404): what is wrong, and the way
/// back.
fn not_there(why: Option<String>) -> String {
    not_found();
    let t = Locale::get().t();
    let mut body = String::new();
    if let Some(why) = why {
        body.push_str("<p>");
        escape(&mut body, &why);
        body.push_str("</p>");
    }
    body.push_str("<p><a data-nav=\"\" href=\"/\">");
    escape(&mut body, t.go_to_lobby);
    body.push_str("</a></p>");
    body
}

/// Shows the unread counts: in the title, "(3) #lobby · Palaver"; in the icon, a dot
/// while something mentions me; on each room of the list, `data-unread` and
/// `data-mentions` (drawn by the style sheet), the room in bold, and its link's name
/// saying both.
#[cfg(feature = "hydrate")]
fn show_unread<'a>(unread: impl Iterator<Item = &'a palaver_protocol::RoomUnread> + Clone, title: &str) {
    use leptos::wasm_bindgen::JsCast;
    let t = Locale::get().t();
    let doc = document();
    // Muted rooms count for nothing here: their rows get a dot.
    let total = super::room_list::totals(unread.clone());
    doc.set_title(&if total.0 > 0 { format!("({}) {title}", total.0) } else { title.to_owned() });
    if let Ok(Some(icon)) = doc.query_selector("link[rel=icon]") {
        let _ = icon.set_attribute("href", if total.1 > 0 { "/favicon-mention.svg" } else { "/favicon.svg" });
    }
    let chat = expect_context::<Chat>();
    let room = doc.query_selector("main[data-room]").ok().flatten().and_then(|r| r.get_attribute("data-room"));
    // The Rooms button (a phone's way to the list) says what is unread in other rooms.
    if let Ok(Some(menu)) = doc.query_selector("[data-testid=menu-button]") {
        let (n, m) = super::room_list::totals(unread.clone().filter(|r| Some(r.room.as_str()) != room.as_deref()));
        let shown = |count: u32| (count > 0).then(|| count.to_string());
        mark(&menu, &menu, t.rooms.to_owned(), (shown(n), shown(m), false));
    }
    // This room's level, and whether notifications are still to be allowed.
    if let Ok(Some(select)) = doc.query_selector("[data-testid=notify-level]") {
        let level = unread.clone().find(|r| Some(r.room.as_str()) == room.as_deref()).map(|r| r.level);
        if let Ok(select) = select.dyn_into::<leptos::web_sys::HtmlSelectElement>() {
            select.set_value(level.unwrap_or_default().as_str());
        }
    }
    if let Ok(Some(ask)) = doc.query_selector("[data-testid=enable-notifications]") {
        let _ = ask.toggle_attribute_with_force("hidden", !crate::notify::may_ask());
    }
    let Ok(rows) = doc.query_selector_all("[data-testid=room-entry]") else { return };
    for row in (0..rows.length()).filter_map(|i| rows.item(i)?.dyn_into::<leptos::web_sys::Element>().ok()) {
        let name = row.get_attribute("data-room").unwrap_or_default();
        let (Ok(Some(link)), Ok(room)) = (row.query_selector("a"), RoomId::parse(&name)) else { continue };
        mark(
            &row,
            &link,
            chat.about.with_untracked(|a| a.shown_name(&room)),
            super::room_list::marks(unread.clone().find(|r| r.room == room)),
        );
    }
}

/// Writes what is unread on `el` (`data-unread`, `data-mentions`, `data-muted`, which
/// the style sheet draws) and says it in `labelled`'s name: "#design · 3 unread".
#[cfg(feature = "hydrate")]
fn mark(
    el: &leptos::web_sys::Element,
    labelled: &leptos::web_sys::Element,
    name: String,
    marks: (Option<String>, Option<String>, bool),
) {
    let t = Locale::get().t();
    let (n, m, muted) = marks;
    let mut label = name;
    for (attr, count, text) in [("data-unread", n, t.unread_count), ("data-mentions", m, t.mention_count)] {
        match count {
            Some(count) => {
                let _ = el.set_attribute(attr, &count);
                let said = if muted { t.muted_unread.to_owned() } else { fill(text, &[("count", &count)]) };
                label = format!("{label} · {said}");
            }
            None => {
                let _ = el.remove_attribute(attr);
            }
        }
    }
    let _ = if muted { el.set_attribute("data-muted", "") } else { el.remove_attribute("data-muted") };
    let _ = labelled.set_attribute("aria-label", &label);
}

/// Answers the page's request with 404 (on the server; nothing to do in the browser).
fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}

/// A room, or the search page (`search`: its query) opened from it: the room list
/// beside the page's own part.
#[component]
fn RoomView(room: RoomId, #[prop(optional)] search: Option<String>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let t = Locale::get().t();
    let named = Memo::new(move |_| chat.me.with(|m| !matches!(m, Me::Anonymous)));
    let (for_list, for_title) = (room.clone(), room.clone());
    // On a phone the room list is a drawer behind the header's Rooms button: it keeps
    // the focus while open, and Esc or a tap outside closes it.
    let drawer = RwSignal::new(false);
    let drawer_ref = NodeRef::<leptos::html::Div>::new();
    let menu_ref = NodeRef::<leptos::html::Button>::new();
    let focusables = move || {
        use leptos::wasm_bindgen::JsCast;
        let Some(el) = drawer_ref.get_untracked() else { return Vec::new() };
        let Ok(list) = el.query_selector_all("a, button, input") else { return Vec::new() };
        (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<leptos::web_sys::HtmlElement>().ok()).collect()
    };
    let close_drawer = move || {
        drawer.set(false);
        if let Some(menu) = menu_ref.get_untracked() {
            let _ = menu.focus();
        }
    };
    let open_drawer = move |_| {
        drawer.set(true);
        request_animation_frame(move || {
            if let Some(first) = focusables().first() {
                let _ = first.focus();
            }
        });
    };
    let on_drawer_key = move |ev: leptos::ev::KeyboardEvent| {
        if !drawer.get_untracked() {
            return;
        }
        match ev.key().as_str() {
            "Escape" => close_drawer(),
            "Tab" => {
                // Round and round inside the drawer.
                let all = focusables();
                let active = document().active_element();
                let (Some(first), Some(last)) = (all.first(), all.last()) else { return };
                let at = |el: &leptos::web_sys::HtmlElement| {
                    active.as_ref().is_some_and(|a| a == el.as_ref() as &leptos::web_sys::Element)
                };
                if ev.shift_key() && at(first) {
                    ev.prevent_default();
                    let _ = last.focus();
                } else if !ev.shift_key() && at(last) {
                    ev.prevent_default();
                    let _ = first.focus();
                }
            }
            _ => {}
        }
    };

    let searching = search.is_some();
    let (heading, rest) = match search {
        Some(query) => (
            Either::Left(view! {
                <Link href=room_href(&room) text=format!("← #{room}")/>
                <h1>{t.search}</h1>
            }),
            Either::Left(search_body(query)),
        ),
        None => (
            Either::Right(view! {
                <div class="room-title" inner_html=move || chat.about.with(|a| title_html(a, &for_title))></div>
                <Presence room=room.clone()/>
                <ConnectionStatusBadge/>
            }),
            Either::Right(room_parts(room.clone(), named)),
        ),
    };

    view! {
        <div class="chat">
            // First in the tab order: straight to the box to write in.
            {(!searching).then(|| view! {
                <a
                    class="skip-link"
                    href=move || if named.get() { "#message-input" } else { "#display-name" }
                    data-testid="skip-link"
                >
                    {t.skip_to_composer}
                </a>
            })}
            <div class="drawer" class:open=drawer id="rooms-drawer" node_ref=drawer_ref on:keydown=on_drawer_key>
                <RoomList current=for_list/>
            </div>
            {move || {
                drawer.get().then(|| view! { <div class="backdrop" data-testid="drawer-backdrop" on:click=move |_| close_drawer()></div> })
            }}
            <main
                class=if searching { "room search-page" } else { "room" }
                data-testid=if searching { "search-page" } else { "room" }
                data-room=(!searching).then(|| room.to_string())
            >
                <header class="chat-header">
                    <button
                        class="menu-button"
                        data-testid="menu-button"
                        node_ref=menu_ref
                        aria-controls="rooms-drawer"
                        aria-expanded=move || drawer.get().to_string()
                        on:click=open_drawer
                    >
                        {t.rooms}
                    </button>
                    {heading}
                </header>
                {rest}
            </main>
        </div>
    }
}

/// A room's name as the page shows it (see `ByRoom::shown_name`), and its topic.
fn title_html(about: &ByRoom<RoomAbout>, room: &RoomId) -> String {
    let mut html = String::from("<h1 data-testid=\"room-name\">");
    escape(&mut html, &about.shown_name(room));
    html.push_str("</h1><p class=\"topic\" data-testid=\"room-topic\">");
    escape(&mut html, about.get(room).map_or("", |a| a.topic.as_str()));
    html.push_str("</p>");
    html
}

/// A room's own part under its header: its messages, who is typing, and the composer (or
/// the name form, until this browser has a name).
fn room_parts(room: RoomId, named: Memo<bool>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let t = Locale::get().t();
    let ssr_page = expect_context::<RenderedHistory>().take(&room);
    let (for_list, for_typing) = (room.clone(), room.clone());
    view! {
        <noscript>
            <p class="notice">{t.needs_javascript}</p>
        </noscript>
        <MessageList room=for_list ssr_page/>
        // What a screen reader says of new messages (see `Chat::announcement`).
        <p class="sr-only" aria-live="polite" data-testid="announcer">{move || chat.announcement.get()}</p>
        <TypingIndicator room=for_typing/>
        {move || {
            if named.get() {
                Either::Left(view! { <Composer room=room.clone()/> })
            } else {
                Either::Right(view! { <NameForm/> })
            }
        }}
    }
}
