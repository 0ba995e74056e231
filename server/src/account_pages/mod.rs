//! The accounts' pages, written whole by the server in the reader's language: plain
//! forms that work without JavaScript. `pages.rs` (the forms' HTML and what a refusal
//! says), `forms.rs` (`/sign-in`, `/sign-up`, `/setup`, `/sign-out`), `passkeys.rs`
//! (the passkey ceremonies' JSON, for `public/passkeys.js`) and `settings.rs`
//! (`/settings`: sessions, password, passkeys, access tokens, invite links).

pub mod forms;
mod pages;
pub mod passkeys;
pub mod settings;

pub use pages::refusal;
