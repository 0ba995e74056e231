//! Who is in the room right now.

use crate::chat::Chat;
use crate::locale::{around, Locale};
use leptos::prelude::*;
use palaver_protocol::RoomId;

#[component]
pub fn Presence(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // "{count} online: {names}": the count and the names are elements of their own.
    let (before, rest) = around(Locale::get().t().online, "count");
    let (between, after) = around(rest, "names");
    let names = move || {
        chat.online.with(|o| o.get(&room).map(|users| users.iter().map(|u| u.name.clone()).collect::<Vec<_>>()))
    };
    view! {
        <p class="presence" data-testid="presence">
            {move || {
                names().filter(|names| !names.is_empty()).map(|names| {
                    view! {
                        {before}
                        <span class="presence-count" data-testid="online-count">{names.len()}</span>
                        {between}
                        <span data-testid="online-names">{names.join(", ")}</span>
                        {after}
                    }
                })
            }}
        </p>
    }
}
