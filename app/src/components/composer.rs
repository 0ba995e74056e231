//! The text box and Send button. Enter sends; blank text is never sent. Typing tells
//! the room (at most every couple of seconds). Also who "I" am, with a way to rename.

use super::name_form::NameForm;
use crate::chat::{now_ms, Chat, Intent};
use crate::protocol::{validate_text, MAX_TEXT_CHARS};
use leptos::{either::Either, ev::SubmitEvent, prelude::*};

/// Least time between two "typing" notes to the room, in milliseconds.
const TYPING_EVERY_MS: f64 = 2_000.0;

#[component]
pub fn Composer() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let draft = RwSignal::new(String::new());
    let renaming = RwSignal::new(false);
    let last_typing = StoredValue::new(0.0);
    let over_limit = move || draft.with(|d| d.trim().chars().count().saturating_sub(MAX_TEXT_CHARS));
    let sendable = move || draft.with(|d| validate_text(d).is_ok());

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        if let Ok(text) = validate_text(&text) {
            chat.send(text.to_owned());
            draft.set(String::new());
            last_typing.set_value(0.0);
        }
    };
    let on_input = move |ev| {
        draft.set(event_target_value(&ev));
        let now = now_ms();
        if now - last_typing.get_value() > TYPING_EVERY_MS && sendable() {
            last_typing.set_value(now);
            chat.intend(Intent::Typing);
        }
    };
    let my_name = move || chat.me.with(|m| m.name().map(str::to_owned));

    let has_name = Memo::new(move |_| my_name().is_some());
    let showing_over_limit = Memo::new(move |_| over_limit() > 0);
    let me_or_rename = move || {
        if renaming.get() {
            Either::Left(view! { <NameForm on_done=Callback::new(move |()| renaming.set(false))/> })
        } else {
            Either::Right(has_name.get().then(|| {
                view! {
                    <p class="me" data-testid="me">
                        "You are "
                        <strong data-testid="my-name">{my_name}</strong>
                        " · "
                        <button class="link" data-testid="rename-button" on:click=move |_| renaming.set(true)>
                            "change name"
                        </button>
                    </p>
                }
            }))
        }
    };

    view! {
        <div class="composer-area">
            {me_or_rename}
            <form class="composer" on:submit=on_submit>
                <input
                    type="text"
                    name="text"
                    data-testid="composer-input"
                    aria-label="Message"
                    placeholder="Write a message…"
                    autocomplete="off"
                    prop:value=draft
                    on:input=on_input
                />
                <button type="submit" data-testid="send-button" disabled=move || !sendable()>
                    "Send"
                </button>
                {move || {
                    showing_over_limit.get().then(|| {
                        view! {
                            <p class="composer-hint" role="alert">
                                {move || format!("{} characters over the {MAX_TEXT_CHARS}-character limit", over_limit())}
                            </p>
                        }
                    })
                }}
            </form>
        </div>
    }
}
