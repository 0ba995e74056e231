//! Giving messages their link's card: after a message (or an edit) with a link is
//! stored, its first link is fetched in the background (at most [`AT_ONCE`] fetches at a
//! time, each link at most once a day: the store keeps what it gave), its page's oEmbed
//! answer and picture too (through the same guard; the picture as the server's own
//! thumbnail), the card is kept on the message, and everyone in the room, on every node,
//! is sent it (`preview`).

use super::embed::{self, Embed};
use super::{head, Fetcher, Want};
use crate::hub::Hub;
use crate::pictures::{Thumbnailer, SMALL_SIDE};
use crate::store::now_ms;
use hmac::{Hmac, Mac};
use palaver_protocol::{LinkPreview, RoomId, Seq};
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Links fetched at the same time, at most; more wait their turn.
const AT_ONCE: usize = 8;
/// How long a link's card (or its lack of one) is kept before it is fetched again.
const KEPT_FOR_MS: i64 = 24 * 3600 * 1000;

/// The background fetching of messages' links (none when `PALAVER_LINK_PREVIEWS=off`).
pub struct Previews {
    fetcher: Fetcher,
    hub: Arc<Hub>,
    turns: Semaphore,
    thumbnailer: Thumbnailer,
    /// Keys the ids of pictures (see [`picture_id`]).
    key: [u8; 32],
}

/// Where the server serves a card's picture.
pub const PICTURES_AT: &str = "/previews/";

impl Previews {
    /// `key`: a secret of the server's own (the same on every node), so that a picture's
    /// id says nothing of the link it is of.
    pub fn new(fetcher: Fetcher, hub: Arc<Hub>, key: [u8; 32]) -> Arc<Previews> {
        let thumbnailer = Thumbnailer::default();
        Arc::new(Previews { fetcher, hub, turns: Semaphore::new(AT_ONCE), thumbnailer, key })
    }

    /// Whether `text` may have a link (else it needs no card, nor any work for one).
    pub fn may_link(text: &str) -> bool {
        text.contains("://")
    }

    /// Message `seq` of `room` was stored with `text`: its first link, if any, gets its
    /// card in the background.
    pub fn stored(self: &Arc<Self>, room: RoomId, seq: Seq, text: String) {
        let this = self.clone();
        tokio::spawn(async move {
            let Some(url) = app::markdown::first_link(&text) else { return };
            let Ok(_turn) = this.turns.acquire().await else { return };
            let Some(preview) = this.card_of(&url).await else { return };
            match this.hub.store().set_preview(&room, seq, &preview).await {
                Ok(true) => this.hub.preview_found(room, seq, Some(preview)),
                // Gone, taken back or edited meanwhile: nothing to show.
                Ok(false) => {}
                Err(e) => tracing::warn!(%room, seq, "cannot keep a link's card: {e}"),
            }
        });
    }

    /// `url`'s card: as kept lately, else fetched (and kept, card or not).
    async fn card_of(&self, url: &str) -> Option<LinkPreview> {
        let store = self.hub.store();
        match store.kept_card(url, now_ms() - KEPT_FOR_MS).await {
            Ok(Some(kept)) => return kept,
            Ok(None) => {}
            Err(e) => tracing::warn!("cannot read a link's kept card: {e}"),
        }
        let found = match self.fetcher.get(url, Want::Page).await {
            Ok(page) => {
                let head = head(&String::from_utf8_lossy(&page.body));
                let embed = match head.oembed_link(&page.url) {
                    Some(link) => self.embed(link.as_str()).await,
                    None => None,
                };
                head.card(&page.url, embed)
            }
            Err(refused) => {
                tracing::debug!(url, "no preview: {refused}");
                None
            }
        };
        let picture = match found.as_ref().and_then(|c| c.image.as_deref()) {
            Some(image) => self.thumbnail(image).await.map(|webp| (picture_id(&self.key, url), webp)),
            None => None,
        };
        let found = found.map(|c| LinkPreview {
            url: url.to_owned(),
            title: c.title,
            description: c.description,
            site: c.site,
            image: picture.as_ref().map(|(id, _)| format!("{PICTURES_AT}{id}.webp")).unwrap_or_default(),
        });
        let kept = picture.as_ref().map(|(id, webp)| (id.as_str(), webp.as_slice()));
        if let Err(e) = store.keep_card(url, found.as_ref(), kept, now_ms()).await {
            tracing::warn!("cannot keep a link's card: {e}");
        }
        found
    }

    /// A page's oEmbed answer, if it can be fetched and read (else the page's tags alone
    /// make its card).
    async fn embed(&self, link: &str) -> Option<Embed> {
        match self.fetcher.get(link, Want::Embed).await {
            Ok(answer) => embed::read(&answer.body),
            Err(refused) => {
                tracing::debug!(link, "no oEmbed answer: {refused}");
                None
            }
        }
    }

    /// A page's picture as a small WebP thumbnail, if it can be fetched and read.
    async fn thumbnail(&self, image: &str) -> Option<Vec<u8>> {
        let fetched = match self.fetcher.get(image, Want::Image).await {
            Ok(fetched) => fetched,
            Err(refused) => {
                tracing::debug!(image, "no picture for a preview: {refused}");
                return None;
            }
        };
        match self.thumbnailer.make(fetched.body, &[SMALL_SIDE]).await {
            Ok(mut thumbnails) => thumbnails.webp.pop(),
            Err(refused) => {
                tracing::debug!(image, "no picture for a preview: {refused}");
                None
            }
        }
    }
}

/// The id a link's picture is served under: a keyed hash of the link (32 hex digits).
pub fn picture_id(key: &[u8; 32], url: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    mac.finalize().into_bytes()[..16].iter().map(|b| format!("{b:02x}")).collect()
}
