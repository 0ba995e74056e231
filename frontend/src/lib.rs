//! Palaver in the browser: hydrates the server-rendered page and keeps the chat's
//! WebSocket open.

mod socket;

use app::App;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // A panic names itself in the console in development; the release build stops the
    // page where it panics, with nothing to print (scripts/release.sh).
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(|| leptos::view! { <App connect=socket::connect/> });
}
