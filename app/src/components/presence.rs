//! Who is in the room right now.

use crate::chat::Chat;
use crate::protocol::RoomId;
use leptos::prelude::*;

#[component]
pub fn Presence(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let names = move || {
        chat.online.with(|o| o.get(&room).map(|users| users.iter().map(|u| u.name.clone()).collect::<Vec<_>>()))
    };
    view! {
        <p class="presence" data-testid="presence">
            {move || {
                names().filter(|names| !names.is_empty()).map(|names| {
                    view! {
                        <span class="presence-count" data-testid="online-count">{names.len()}</span>
                        " online: "
                        <span data-testid="online-names">{names.join(", ")}</span>
                    }
                })
            }}
        </p>
    }
}
