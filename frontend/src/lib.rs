//! Palaver in the browser: hydrates the server-rendered page and keeps the chat's
//! WebSocket open.

mod socket;

use app::App;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(|| leptos::view! { <App connect=socket::connect/> });
}
