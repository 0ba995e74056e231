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
                // The composer takes the place of this form: the next words typed go there.
                request_animation_frame(|| focus("#message-input"));
            }
            Err(reason) => problem.set(Some(t.invalid(reason))),
        }
    };
    // Opened by "Change name": the box to type the new one in has the focus.
    if on_done.is_some() {
        Effect::new(|_| focus("#display-name"));
    }
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
            // An account instead (on a first visit, not when changing the name).
            <p class="account-links" inner_html=if on_done.is_none() { t.account_links } else { "" }></p>
        </form>
    }
}

/// Moves the focus to the element `selector` names, if it is on the page.
fn focus(selector: &str) {
    use leptos::wasm_bindgen::JsCast;
    let found = document().query_selector(selector).ok().flatten();
    if let Some(el) = found.and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
    }
}
