//! A room's latest messages for the server-rendered page, through a server function:
//! the server renders them into the HTML, and the browser gets the same data to
//! hydrate with (or over HTTP when it navigates to another room).

use crate::protocol::ChatMessage;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The newest page of a room, and whether older messages exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomPage {
    pub messages: Vec<ChatMessage>,
    pub has_older: bool,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::RoomPage;
    use crate::protocol::RoomId;
    use std::{future::Future, pin::Pin, sync::Arc};

    type Load = dyn Fn(RoomId) -> Pin<Box<dyn Future<Output = Result<RoomPage, String>> + Send>> + Send + Sync;

    /// How the server loads a room's page; put in context by the server.
    #[derive(Clone)]
    pub struct PageLoader(pub Arc<Load>);
}

/// The latest messages of `room`.
#[server]
pub async fn latest_messages(room: String) -> Result<RoomPage, ServerFnError> {
    let room = crate::protocol::RoomId::parse(&room).map_err(ServerFnError::new)?;
    let loader = use_context::<ssr::PageLoader>().ok_or_else(|| ServerFnError::new("history is not available"))?;
    (loader.0)(room).await.map_err(ServerFnError::new)
}
