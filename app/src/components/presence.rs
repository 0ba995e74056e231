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
    let t = Locale::get().t();
    let (before, rest) = around(t.online, "count");
    let (between, after) = around(rest, "names");
    // Drawn as one piece of HTML (names escaped): less code in the page than a view.
    let html = move || {
        chat.online.with(|o| {
            let people = o.get(&room).map_or(&[][..], |p| p.as_slice());
            let mut html = String::new();
            if !people.is_empty() {
                escape(&mut html, before);
                html.push_str(&format!(
                    "<span class=\"presence-count\" data-testid=\"online-count\">{}</span>",
                    people.len()
                ));
                escape(&mut html, between);
                html.push_str("<span data-testid=\"online-names\">");
                for (i, user) in people.iter().enumerate() {
                    if i > 0 {
                        html.push_str(", ");
                    }
                    super::message_item::person(&mut html, "name", Some(user), t);
                    html.push('>');
                    escape(&mut html, &user.name);
                    html.push_str("</span>");
                }
                html.push_str("</span>");
                escape(&mut html, after);
            }
            html
        })
    };
    view! { <p class="presence" data-testid="presence" inner_html=html></p> }
}
