//! The server-rendered chat pages: a room's latest messages are loaded first, then the
//! app is rendered around them (and the same messages written into the page as JSON,
//! for the browser to hydrate).

use crate::hub::Hub;
use app::history::RenderedPage;
use app::location::Place;
use app::protocol::HISTORY_PAGE;
use app::shell;
use axum::{body::Body, extract::State, http::Request, response::Response};
use leptos::prelude::LeptosOptions;
use std::sync::Arc;

/// `GET /` and `GET /r/{room}`.
pub async fn page(
    State(hub): State<Arc<Hub>>,
    State(options): State<LeptosOptions>,
    request: Request<Body>,
) -> Response {
    let rendered = match Place::of(request.uri().path()) {
        Place::Room(room) => match hub.store().latest(&room, HISTORY_PAGE).await {
            Ok(page) => Some(RenderedPage { room, page }),
            Err(e) => {
                // The page still works: the socket brings the messages once it connects.
                tracing::warn!(%room, "rendering a page without its history: {e}");
                None
            }
        },
        Place::BadRoom { .. } | Place::NotFound => None,
    };
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            if let Some(rendered) = rendered.clone() {
                leptos::prelude::provide_context(rendered);
            }
        },
        move || shell(options.clone()),
    );
    render(request).await
}
