//! Link previews: a message's first link, fetched by the server (never by the reader's
//! browser) through an SSRF guard (`guard.rs`, `fetch.rs`), read into a card
//! (`card.rs`, with the page's oEmbed answer where it names one: `embed.rs`), its picture made the server's own thumbnail, kept on the message and
//! sent to its room (`links.rs`), the picture served by `serve.rs`.

pub mod card;
pub mod embed;
pub mod fetch;
pub mod guard;
pub mod links;
pub mod serve;

pub use card::{card, head, Card, Head};
pub use fetch::{Fetched, Fetcher, Refused, Want};
pub use guard::Guard;
pub use links::Previews;
