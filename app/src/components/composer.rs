//! The text box and Send button. Enter sends; blank text is never sent. Typing tells
//! the room (at most every couple of seconds). Up in an empty box edits my last
//! message (as does its Edit button); Enter saves the edit, Esc cancels it. Also who "I"
//! am, with a way to rename.

use super::name_form::NameForm;
use crate::chat::{now_ms, Chat, Intent};
use crate::protocol::{validate_text, MAX_TEXT_CHARS};
use leptos::{either::Either, ev::KeyboardEvent, ev::SubmitEvent, html, prelude::*};

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

    let input = NodeRef::<html::Input>::new();
    // Editing begins: the message's text in the box, ready to change.
    Effect::new(move |_| {
        if let Some((_, text)) = chat.editing.get() {
            draft.set(text);
            if let Some(input) = input.get() {
                let _ = input.focus();
            }
        }
    });
    let stop_editing = move || {
        chat.editing.set(None);
        draft.set(String::new());
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let text = draft.get_untracked();
        let Ok(text) = validate_text(&text) else { return };
        match chat.editing.get_untracked() {
            Some((seq, before)) => {
                if text != before.trim() {
                    chat.edit(seq, text.to_owned());
                }
                stop_editing();
            }
            None => {
                chat.send(text.to_owned());
                draft.set(String::new());
                last_typing.set_value(0.0);
            }
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let editing = chat.editing.with_untracked(Option::is_some);
        match ev.key().as_str() {
            "ArrowUp" if !editing && draft.with_untracked(String::is_empty) => {
                if chat.start_editing(None) {
                    ev.prevent_default();
                }
            }
            "Escape" if editing => {
                ev.prevent_default();
                stop_editing();
            }
            _ => {}
        }
    };
    let editing = Memo::new(move |_| chat.editing.with(Option::is_some));
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
            {move || {
                editing.get().then(|| {
                    view! {
                        <p class="composer-editing" data-testid="editing-hint">
                            "Editing your message · Enter to save · Esc to cancel "
                            <button type="button" class="link" data-testid="cancel-edit" on:click=move |_| stop_editing()>
                                "Cancel"
                            </button>
                        </p>
                    }
                })
            }}
            <form class="composer" class:editing=editing on:submit=on_submit>
                <input
                    node_ref=input
                    type="text"
                    name="text"
                    data-testid="composer-input"
                    aria-label="Message"
                    placeholder="Write a message…"
                    autocomplete="off"
                    prop:value=draft
                    on:input=on_input
                    on:keydown=on_keydown
                />
                <button type="submit" data-testid="send-button" disabled=move || !sendable()>
                    {move || if editing.get() { "Save" } else { "Send" }}
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
