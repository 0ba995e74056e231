//! Link previews: a message's first link, fetched by the server (never by the reader's
//! browser) through an SSRF guard (`guard.rs`, `fetch.rs`), and read into a card
//! (`card.rs`).

pub mod card;
pub mod fetch;
pub mod guard;

pub use card::{card, Card};
pub use fetch::{Fetched, Fetcher, Refused, Want};
pub use guard::Guard;
