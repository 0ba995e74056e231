//! Who is in the room right now.

use crate::chat::Chat;
use crate::locale::{around, Locale};
use crate::markdown::escape;
use leptos::prelude::*;
use palaver_protocol::RoomId;

#[component]
pub fn Presence(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // "{count} online: {names}": the count and the names are elements of their own.
    let (before, rest) = around(Locale::get().t().online, "count");
    let (between, after) = around(rest, "names");
    // Drawn as one piece of HTML (names escaped): less code in the page than a view.
    let html = move || {
        chat.online.with(|o| {
            let names: Vec<&str> = o.get(&room).into_iter().flatten().map(|u| u.name.as_str()).collect();
            let mut html = String::new();
            if !names.is_empty() {
                escape(&mut html, before);
                html.push_str(&format!(
                    "<span class=\"presence-count\" data-testid=\"online-count\">{}</span>",
                    names.len()
                ));
                escape(&mut html, between);
                html.push_str("<span data-testid=\"online-names\">");
                escape(&mut html, &names.join(", "));
                html.push_str("</span>");
                escape(&mut html, after);
            }
            html
        })
    };
    view! { <p class="presence" data-testid="presence" inner_html=html></p> }
}
