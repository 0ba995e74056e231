//! Desktop notifications through the browser's Notification API. Permission is asked
//! for only after a click on "Enable notifications", never on load. Of one browser's
//! tabs, the one holding the `palaver-notifier` lock (Web Locks) shows them, so a
//! message is shown once however many tabs are open; when that tab closes, the next
//! waiting tab takes the lock over. Each notification's tag names its message too, so
//! a browser without locks still keeps one on screen.
//!
//! A message is not shown while any tab of the browser shows its room: each tab that
//! shows a room, in sight, says so in `localStorage` (`palaver-shown-TAB`: the room and
//! when it last said so, again every [`SHOWN_AGAIN_MS`] while it does), and takes it
//! back when hidden or closed. A word older than [`SHOWN_FRESH_MS`] (a tab that
//! crashed) counts for nothing.
//!
//! Showing one is a lazily loaded part of the page (`parts.rs`), with the files'.

use crate::chat::Chat;
use leptos::prelude::*;
use palaver_protocol::ChatMessage;
use std::cell::{Cell, RefCell};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::{Notification, NotificationOptions, NotificationPermission};

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks.request(name, callback)`.
    #[wasm_bindgen(catch, js_namespace = ["navigator", "locks"], js_name = request)]
    fn request_lock(name: &str, callback: &JsValue) -> Result<JsValue, JsValue>;
}

thread_local! {
    static SHOWN_HERE: Cell<bool> = const { Cell::new(false) };
    /// This tab's key in `localStorage`, and the room it shows.
    static TAB: String = format!("{SHOWN_KEY}{}", (js_sys::Math::random() * 1e12) as u64);
    static ROOM: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The start of every tab's key that says which room it shows.
const SHOWN_KEY: &str = "palaver-shown-";
/// How often a tab in sight says again which room it shows.
const SHOWN_AGAIN_MS: u64 = 10_000;
/// How long a tab's word holds: a few of its repeats.
const SHOWN_FRESH_MS: u64 = 35_000;

/// Tells the other tabs which room this one shows (`None`: no room).
pub fn show_room(room: Option<String>) {
    ROOM.set(room);
    say_shown();
}

/// Writes (or, out of sight, takes back) this tab's word of the room it shows.
fn say_shown() {
    let Ok(Some(storage)) = leptos::prelude::window().local_storage() else { return };
    let room = ROOM.with_borrow(Clone::clone).filter(|_| !leptos::prelude::document().hidden());
    TAB.with(|key| match room {
        Some(room) => storage.set_item(key, &format!("{room} {}", crate::clock::now_ms() as u64)),
        None => storage.remove_item(key),
    })
    .ok();
}

/// Whether another tab of this browser shows `room`, in sight.
fn shown_elsewhere(room: &str) -> bool {
    let Ok(Some(storage)) = leptos::prelude::window().local_storage() else { return false };
    // Whole milliseconds: the page carries no code to write or read fractions.
    let now = crate::clock::now_ms() as u64;
    TAB.with(|own| {
        (0..storage.length().unwrap_or(0))
            .filter_map(|i| storage.key(i).ok().flatten())
            .filter(|key| key.starts_with(SHOWN_KEY) && key != own)
            .filter_map(|key| storage.get_item(&key).ok().flatten())
            .any(|word| {
                word.rsplit_once(' ').is_some_and(|(shown, at)| {
                    shown == room && at.parse::<u64>().is_ok_and(|at| now.saturating_sub(at) < SHOWN_FRESH_MS)
                })
            })
    })
}

/// Whether this browser shows notifications at all (not in an insecure page).
fn supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false)
}

/// Whether permission is still to be asked for: the "Enable" control shows only then.
pub fn may_ask() -> bool {
    supported() && Notification::permission() == NotificationPermission::Default
}

/// Asks for permission (on a click); once the person has answered, the controls show
/// whether to ask again.
pub fn ask(chat: Chat) {
    leptos::task::spawn_local(async move {
        let _ = ask_part(chat).await;
    });
}

#[crate::parts::wasm_split(uploads, fallible, wasm_split_path = crate::parts)]
fn ask_part(chat: Chat) -> Result<(), crate::parts::SplitLoaderError> {
    let then = Closure::once_into_js(move |_: JsValue| chat.unread.update(|_| ()));
    let _ = Notification::request_permission_with_permission_callback(then.unchecked_ref());
    Ok(())
}

/// Waits in line, for as long as the tab is open, to be the tab that shows
/// notifications (once the part is in).
pub fn take_turn() {
    leptos::task::spawn_local(async move {
        let _ = take_turn_part().await;
    });
}

#[crate::parts::wasm_split(uploads, fallible, wasm_split_path = crate::parts)]
fn take_turn_part() -> Result<(), crate::parts::SplitLoaderError> {
    // Which room this tab shows, said again while in sight and taken back when not.
    leptos::prelude::window_event_listener_untyped("visibilitychange", |_| say_shown());
    leptos::prelude::window_event_listener_untyped("pagehide", |_| {
        ROOM.set(None);
        say_shown();
    });
    let _ = leptos::prelude::set_interval_with_handle(say_shown, std::time::Duration::from_millis(SHOWN_AGAIN_MS));
    // Held until the tab goes: the callback's promise never settles.
    let hold = Closure::once_into_js(|_: JsValue| -> JsValue {
        SHOWN_HERE.set(true);
        js_sys::Promise::new(&mut |_, _| {}).into()
    });
    if request_lock("palaver-notifier", &hold).is_err() {
        SHOWN_HERE.set(true);
    }
    Ok(())
}

/// Shows a notification, if permitted and this is the tab to; a click on it brings the
/// tab to the front and runs `open`.
fn show(title: &str, body: &str, tag: &str, open: impl FnOnce() + 'static) {
    if !SHOWN_HERE.get() || !supported() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    options.set_icon("/icon-192.png");
    if let Ok(shown) = Notification::new_with_options(title, &options) {
        let click = Closure::once_into_js(move || {
            let _ = leptos::prelude::window().focus();
            open();
        });
        shown.set_onclick(Some(click.unchecked_ref()));
    }
}

/// Tells of message `m` on the desktop, unless it is on screen in this tab (its room is
/// the one shown, in a tab not hidden) or in another tab of the browser. A click on it
/// opens its room at it.
pub fn tell(chat: Chat, m: ChatMessage) {
    leptos::task::spawn_local(async move {
        let _ = tell_part(chat, m).await;
    });
}

#[crate::parts::wasm_split(uploads, fallible, wasm_split_path = crate::parts)]
fn tell_part(chat: Chat, m: ChatMessage) -> Result<(), crate::parts::SplitLoaderError> {
    let room_on_screen = chat.room.with_untracked(|r| r == &m.room);
    if (room_on_screen && !leptos::prelude::document().hidden()) || shown_elsewhere(m.room.as_str()) {
        return Ok(());
    }
    let title = format!("{} · #{}", m.author.name, m.room);
    let body: String = m.text.chars().take(200).collect();
    let (room, seq) = (m.room.clone(), m.seq);
    show(&title, &body, &format!("palaver {} {}", m.room, m.seq), move || {
        chat.open_at(room.clone(), seq);
        crate::location::go_to_from_outside(&crate::location::room_href(&room));
    });
    Ok(())
}
