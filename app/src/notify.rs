//! Desktop notifications through the browser's Notification API. Permission is asked
//! for only after a click on "Enable notifications", never on load. Of one browser's
//! tabs, the one holding the `palaver-notifier` lock (Web Locks) shows them, so a
//! message is shown once however many tabs are open; when that tab closes, the next
//! waiting tab takes the lock over. Each notification's tag names its message too, so
//! a browser without locks still keeps one on screen.

use crate::protocol::ChatMessage;
use std::cell::Cell;
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
}

/// Whether this browser shows notifications at all (not in an insecure page).
fn supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"Notification".into()).unwrap_or(false)
}

/// Whether permission is still to be asked for: the "Enable" control shows only then.
pub fn may_ask() -> bool {
    supported() && Notification::permission() == NotificationPermission::Default
}

/// Asks for permission (on a click); `answered` runs once the person has answered.
pub fn ask(answered: impl FnOnce() + 'static) {
    let then = Closure::once_into_js(move |_: JsValue| answered());
    let _ = Notification::request_permission_with_permission_callback(then.unchecked_ref());
}

/// Waits in line, for as long as the tab is open, to be the tab that shows
/// notifications.
pub fn take_turn() {
    // Held until the tab goes: the callback's promise never settles.
    let hold = Closure::once_into_js(|_: JsValue| -> JsValue {
        SHOWN_HERE.set(true);
        js_sys::Promise::new(&mut |_, _| {}).into()
    });
    if request_lock("palaver-notifier", &hold).is_err() {
        SHOWN_HERE.set(true);
    }
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
/// the one shown, in a tab not hidden). A click on it runs `open`.
pub fn tell(m: &ChatMessage, room_on_screen: bool, open: impl FnOnce() + 'static) {
    if room_on_screen && !leptos::prelude::document().hidden() {
        return;
    }
    let title = format!("{} · #{}", m.author.name, m.room);
    let body: String = m.text.chars().take(200).collect();
    show(&title, &body, &format!("palaver {} {}", m.room, m.seq), open);
}
