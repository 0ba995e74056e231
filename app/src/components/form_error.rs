//! The line under a form that says what is wrong with what was typed.

use leptos::prelude::*;

#[component]
pub fn FormError(problem: RwSignal<Option<String>>, testid: &'static str) -> impl IntoView {
    // Said as a sentence: the reasons are written to fit inside one too ("… is not a
    // valid room name: {reason}.").
    move || {
        problem
            .get()
            .map(|problem| view! { <p class="form-error" role="alert" data-testid=testid>{sentence(&problem)}</p> })
    }
}

/// `text` with its first letter a capital (the reasons start with an ASCII letter, or
/// with a letter that has no capital; Unicode's case tables would cost page size).
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| std::iter::once(first.to_ascii_uppercase()).chain(chars).collect()).unwrap_or_default()
}
