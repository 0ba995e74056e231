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
            // In a crowded room, the first ones by name, and how many more.
            let (people, more) = o.get(&room).map_or((&[][..], 0), |(p, more)| (p.as_slice(), *more));
            let mut html = String::new();
            if !people.is_empty() {
                escape(&mut html, before);
                html.push_str(&format!(
                    "<span class=\"presence-count\" data-testid=\"online-count\">{}</span>",
                    people.len() + more as usize
                ));
                escape(&mut html, between);
                // A crowded room's names end in "…" (`.more` in the style sheet).
                html.push_str(if more > 0 {
                    "<span class=more data-testid=online-names>"
                } else {
                    "<span data-testid=online-names>"
                });
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
