//! What the server-rendered pages need from the chat: a room's latest messages.

use crate::hub::Hub;
use app::history::{ssr::PageLoader, RoomPage};
use app::protocol::HISTORY_PAGE;
use std::sync::Arc;

/// Loads a room's latest page from the hub's store, for the page's server function.
pub fn page_loader(hub: Arc<Hub>) -> PageLoader {
    PageLoader(Arc::new(move |room| {
        let hub = hub.clone();
        Box::pin(async move {
            let page = hub.store().latest(&room, HISTORY_PAGE).await.map_err(|e| e.to_string())?;
            Ok(RoomPage { messages: page.messages, has_older: page.has_older })
        })
    }))
}
