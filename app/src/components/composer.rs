//! The text box and Send button. Enter sends; blank text is never sent.

use crate::chat::{new_message_id, Chat};
use crate::protocol::{validate_text, MAX_TEXT_CHARS};
use leptos::{ev::SubmitEvent, prelude::*};

#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let draft = RwSignal::new(String::new());
    let over_limit = move || draft.with(|d| d.trim().chars().count().saturating_sub(MAX_TEXT_CHARS));
    let sendable = move || draft.with(|d| validate_text(d).is_ok());

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if let Ok(text) = validate_text(&text) {
            chat.send(new_message_id(), text.to_owned());
            draft.set(String::new());
        }
    };

    view! {
        <form class="composer" on:submit=on_submit>
            <input
                type="text"
                name="text"
                data-testid="composer-input"
                aria-label="Message"
                placeholder="Write a message…"
                autocomplete="off"
                prop:value=draft
                on:input=move |ev| draft.set(event_target_value(&ev))
            />
            <button type="submit" data-testid="send-button" disabled=move || !sendable()>
                "Send"
            </button>
            <Show when=move || { over_limit() > 0 }>
                <p class="composer-hint" role="alert">
                    {move || format!("{} characters over the {MAX_TEXT_CHARS}-character limit", over_limit())}
                </p>
            </Show>
        </form>
    }
}
