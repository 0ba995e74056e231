//! Palaver's server: the server-rendered chat pages, static files, and the WebSocket
//! that fans every stored message out to everyone in its room.

pub mod admission;
pub mod config;
pub mod error;
pub mod guest;
pub mod hub;
pub mod identity;
pub mod listen;
pub mod origin;
pub mod outbox;
pub mod pages;
pub mod store;
pub mod ws;

use app::shell;
use axum::http::{header, HeaderValue};
use axum::{extract::FromRef, middleware, routing::get, Router};
use hub::Hub;
use identity::Identity;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use tower_http::{compression::CompressionLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer};

/// What every request handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: Arc<Hub>,
    pub identity: Identity,
    pub liveness: ws::Liveness,
    pub allowed_origins: origin::AllowedOrigins,
    pub rate: ws::Rate,
    pub admission: admission::Admission,
}

/// The whole HTTP surface: pages and static files (compressed), the chat socket at
/// `/ws`, and plain WebSocket clients at `/`.
pub fn router(state: AppState) -> Router {
    // Rendering a page runs its futures on Tokio (an error only means it already does).
    let _ = any_spawner::Executor::init_tokio();
    let pages = Router::new()
        .route("/", get(pages::page))
        .route("/r/{room}", get(pages::page))
        // Static files, and every other address: a page that says it is not there (404).
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")));
    Router::new()
        .route("/ws", get(ws::upgrade))
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), guest::intercept))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
