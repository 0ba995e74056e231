//! The accounts' pages, written whole by the server in the reader's language: plain
//! forms that work without JavaScript. `pages.rs` (the forms' HTML and what a refusal
//! says), `forms.rs` (`/sign-in`, `/sign-up`, `/setup`, `/sign-out`) and `settings.rs`
//! (`/settings`: sessions, password, access tokens, invite links).

pub mod forms;
mod pages;
pub mod settings;

pub use pages::refusal;
