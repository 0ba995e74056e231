//! The badge that says whether the page is connected to the server right now.

use crate::chat::Chat;
use crate::locale::Locale;
use leptos::prelude::*;

#[component]
pub fn ConnectionStatusBadge() -> impl IntoView {
    let status = expect_context::<Chat>().status;
    let t = Locale::get().t();
    view! {
        <p
            class="connection-status"
            role="status"
            data-testid="connection-status"
            data-status=move || status.get().as_str()
        >
            {move || status.get().label(t)}
        </p>
    }
}
