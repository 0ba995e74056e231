//! The line under a form that says what is wrong with what was typed.

use leptos::prelude::*;

#[component]
pub fn FormError(problem: RwSignal<Option<String>>, testid: &'static str) -> impl IntoView {
    view! {
        <Show when=move || problem.with(Option::is_some)>
            <p class="form-error" role="alert" data-testid=testid>{move || problem.get()}</p>
        </Show>
    }
}
