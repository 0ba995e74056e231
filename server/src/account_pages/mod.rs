//! The accounts' pages, written whole by the server in the reader's language: plain
//! forms that work without JavaScript. `pages.rs` (the forms' HTML and what a refusal
//! says), `forms.rs` (`/sign-in`, `/sign-up`, `/setup`, `/sign-out`), `passkeys.rs`
//! (the passkey ceremonies' JSON, for `public/passkeys.js`) and `settings.rs`
//! (`/settings`: sessions, password, passkeys, access tokens, invite links).

pub mod export;
pub mod forms;
pub(crate) mod pages;
pub mod passkeys;
pub mod settings;
mod settings_words;

pub use pages::refusal;

/// "Page not found" (404), written whole by the server in the reader's language: what a
/// room one may not read answers, as one that is not there does.
pub fn not_found(headers: &axum::http::HeaderMap) -> axum::response::Response {
    let lang = forms::lang(headers);
    let t = lang.texts();
    let mut body = String::from("<h1>");
    app::markdown::escape(&mut body, t.page_not_found);
    body.push_str("</h1><p><a href=\"/\">");
    app::markdown::escape(&mut body, t.go_to_lobby);
    body.push_str("</a></p>");
    forms::html(axum::http::StatusCode::NOT_FOUND, pages::page(lang, t.page_not_found, &body))
}
