//! Choosing a display name, on first visit or to change it.

use super::form_error::FormError;
use crate::chat::Chat;
use crate::locale::Locale;
use leptos::{ev::SubmitEvent, prelude::*};
use palaver_protocol::{validate_name, MAX_NAME_CHARS};

#[component]
pub fn NameForm(#[prop(optional)] on_done: Option<Callback<()>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let draft = RwSignal::new(chat.my_name(false).unwrap_or_default());
    let problem = RwSignal::new(None::<String>);
    let t = Locale::get().t();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        match validate_name(&draft.get_untracked()) {
            Ok(name) => {
                problem.set(None);
                chat.choose_name(name);
                if let Some(done) = on_done {
                    done.run(());
                }
            }
            Err(reason) => problem.set(Some(t.invalid(reason))),
        }
    };
    view! {
        <form class="name-form" data-testid="name-form" on:submit=on_submit>
            <label for="display-name">{t.your_name}</label>
            <input
                id="display-name"
                type="text"
                data-testid="name-input"
                placeholder=t.name_placeholder
                maxlength=MAX_NAME_CHARS * 2
                autocomplete="nickname"
                prop:value=draft
                on:input=move |ev| draft.set(event_target_value(&ev))
            />
            <button type="submit" data-testid="name-button">{t.start_chatting}</button>
            <FormError problem testid="name-error"/>
        </form>
    }
}
