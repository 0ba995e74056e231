//! The line under a form that says what is wrong with what was typed.

use leptos::prelude::*;

#[component]
pub fn FormError(problem: RwSignal<Option<String>>, testid: &'static str) -> impl IntoView {
    move || problem.get().map(|problem| view! { <p class="form-error" role="alert" data-testid=testid>{problem}</p> })
}
