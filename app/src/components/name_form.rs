//! Choosing a display name, on first visit or to change it.

use super::form_error;
use crate::chat::Chat;
use crate::locale::Locale;
use crate::markdown::escape;
use leptos::{ev::SubmitEvent, prelude::*};
use palaver_protocol::{validate_name, MAX_NAME_CHARS};

#[component]
pub fn NameForm(#[prop(optional)] on_done: Option<Callback<()>>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let t = Locale::get().t();
    let on_submit = move |ev: SubmitEvent| {
        let Some((form, input)) = form_error::submitted(&ev, "name-form") else { return };
        match validate_name(&input.value()) {
            Ok(name) => {
                form_error::say(&form, None);
                chat.choose_name(name);
                if let Some(done) = on_done {
                    done.run(());
                }
                // The composer takes the place of this form: the next words typed go there.
                request_animation_frame(|| focus("#message-input"));
            }
            Err(reason) => form_error::say(&form, Some(&t.invalid(reason))),
        }
    };
    // Opened by "Change name": the box to type the new one in has the focus.
    if on_done.is_some() {
        Effect::new(|_| focus("#display-name"));
    }
    // Fixed HTML: the box starts with the name I have; an account instead, on a first
    // visit (not when changing the name).
    let mut html = String::from("<label for=\"display-name\">");
    escape(&mut html, t.your_name);
    html.push_str(&format!(
        "</label><input id=\"display-name\" type=\"text\" data-testid=\"name-input\" maxlength=\"{}\" \
         autocomplete=\"nickname\" placeholder=\"",
        MAX_NAME_CHARS * 2
    ));
    escape(&mut html, t.name_placeholder);
    html.push_str("\" value=\"");
    escape(&mut html, &chat.my_name(false).unwrap_or_default());
    html.push_str("\"><button type=\"submit\" data-testid=\"name-button\">");
    escape(&mut html, t.start_chatting);
    html.push_str("</button>");
    html.push_str(&form_error::line("name-error"));
    html.push_str("<p class=\"account-links\">");
    html.push_str(if on_done.is_none() { t.account_links } else { "" });
    html.push_str("</p>");
    view! { <form class="name-form" data-testid="name-form" on:submit=on_submit inner_html=html></form> }
}

/// Moves the focus to the element `selector` names, if it is on the page.
fn focus(selector: &str) {
    use leptos::wasm_bindgen::JsCast;
    let found = document().query_selector(selector).ok().flatten();
    if let Some(el) = found.and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
        let _ = el.focus();
    }
}
