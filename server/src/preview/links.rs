//! Giving messages their link's card: after a message (or an edit) with a link is
//! stored, its first link is fetched in the background (at most [`AT_ONCE`] fetches at a
//! time, each link at most once a day: the store keeps what it gave), the card is kept on
//! the message, and everyone in the room, on every node, is sent it (`preview`).

use super::{card, Fetcher, Want};
use crate::hub::Hub;
use crate::store::now_ms;
use palaver_protocol::{LinkPreview, RoomId, Seq};
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
}

impl Previews {
    pub fn new(fetcher: Fetcher, hub: Arc<Hub>) -> Arc<Previews> {
        Arc::new(Previews { fetcher, hub, turns: Semaphore::new(AT_ONCE) })
    }

    /// Message `seq` of `room` was stored with `text`: its first link, if any, gets its
    /// card in the background.
    pub fn stored(self: &Arc<Self>, room: RoomId, seq: Seq, text: &str) {
        // Most messages have no link: they cost one look, here on the writer's path.
        if !text.contains("://") {
            return;
        }
        let (this, text) = (self.clone(), text.to_owned());
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
            Ok(page) => card(&String::from_utf8_lossy(&page.body), &page.url).map(|c| LinkPreview {
                url: url.to_owned(),
                title: c.title,
                description: c.description,
                site: c.site,
            }),
            Err(refused) => {
                tracing::debug!(url, "no preview: {refused}");
                None
            }
        };
        if let Err(e) = store.keep_card(url, found.as_ref(), now_ms()).await {
            tracing::warn!("cannot keep a link's card: {e}");
        }
        found
    }
}
