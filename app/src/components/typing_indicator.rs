//! "Ann is typing…", shown while others type and for a few seconds after.

use crate::chat::{now_ms, typing_names, Chat};
use crate::locale::Locale;
use leptos::prelude::*;
use palaver_protocol::RoomId;

#[component]
pub fn TypingIndicator(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    // A clock that ticks while the page is open, so old "typing" notes disappear.
    let now = RwSignal::new(0.0);
    Effect::new(move |_| {
        now.set(now_ms());
        // Stopped when the room view goes (moving to another room).
        if let Ok(clock) = set_interval_with_handle(move || now.set(now_ms()), std::time::Duration::from_millis(500)) {
            on_cleanup(move || clock.clear());
        }
    });
    let t = Locale::get().t();
    let line = move || {
        // On a member's page, guests are marked as such.
        let guest = chat.my_user(false).and_then(|me| me.handle).map(|_| t.guest);
        chat.typing.with(|typing| t.typing(&typing_names(typing.get(&room), now.get(), guest)))
    };
    view! {
        <p class="typing" data-testid="typing">{line}</p>
    }
}
