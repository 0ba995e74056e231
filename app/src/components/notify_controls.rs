//! My settings at the foot of the room list: how a room tells me of new messages,
//! leaving it, notifications allowed in this browser, and signing out.

use crate::chat::Chat;
use crate::locale::{fill, Locale};
use leptos::prelude::*;
use palaver_protocol::{Level, RoomId};

/// My settings: how this room tells me of new messages, leaving it, the control that asks this
/// browser's permission to show notifications (shown, by the chat page's
/// `show_unread`, until it is asked), and signing out (a plain form). Last in the room
/// list, so that nothing moves as they appear; the style sheet hides them from a
/// visitor without a name. Fixed markup from the locale's own strings (no one's
/// input), one handler for all.
#[component]
pub fn NotifyControls(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let t = Locale::get().t();
    // Any room but the lobby can be left (taken off my list, in all my tabs).
    let leave = match room == RoomId::lobby() {
        true => String::new(),
        false => format!(
            "<button class=\"link\" data-testid=\"leave-room\" data-act=\"leave\">{}</button>",
            fill(t.leave_room, &[("room", room.as_str())])
        ),
    };
    let markup = format!(
        "<label>{}<select class=\"notify-level\" data-testid=\"notify-level\">\
         <option value=\"all\">{}</option><option value=\"mentions\" selected>{}</option>\
         <option value=\"muted\">{}</option></select></label>\
         <button class=\"enable-notifications\" data-testid=\"enable-notifications\" hidden>{}</button>{}\
         <a class=\"link member-only\" href=\"/settings\">{}</a><a class=\"link guest-only\" href=\"/sign-up\">{}</a>\
         <form method=\"post\" action=\"/sign-out\">\
         <button class=\"link\" data-testid=\"sign-out\" data-act=\"sign-out\">{}</button></form>",
        fill(t.notify_label, &[("room", room.as_str())]),
        t.notify_all,
        t.notify_mentions,
        t.notify_muted,
        t.enable_notifications,
        leave,
        t.settings,
        t.keep_name,
        t.sign_out
    );
    let (room_left, location) = (room.clone(), expect_context::<crate::location::Location>());
    let on_change = move |ev: leptos::ev::Event| {
        if let Some(level) = Level::named(&event_target_value(&ev)) {
            chat.intend(crate::chat::Intent::Notify(room.clone(), level));
        }
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            let target = event_target::<leptos::web_sys::Element>(&ev);
            let act = target.get_attribute("data-act");
            if act.as_deref() == Some("leave") {
                chat.intend(crate::chat::Intent::Forget(room_left.clone()));
                location.go_to("/");
            } else if act.is_some() {
                // Signing out (the form goes on): this browser forgets who it was, and
                // the server's answer clears the session cookie.
                if let Ok(Some(storage)) = window().local_storage() {
                    for key in [crate::session::TOKEN_KEY, crate::session::NAME_KEY] {
                        let _ = storage.remove_item(key);
                    }
                }
            } else if target.tag_name() == "BUTTON" {
                // The answer shows (or hides) the control again.
                crate::notify::ask(chat);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &room_left, location);
    };
    view! { <div class="notify" inner_html=markup on:change=on_change on:click=on_click></div> }
}
