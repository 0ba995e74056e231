//! Palaver's server: the server-rendered chat page, static files, and the WebSocket
//! that fans every accepted message out to everyone connected.

pub mod config;
pub mod error;
pub mod hub;
pub mod ws;

use app::{shell, App};
use axum::{extract::FromRef, routing::get, Router};
use hub::Hub;
use leptos::prelude::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

/// What every request handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: Arc<Hub>,
}

/// The whole HTTP surface: pages and static files (compressed), and the chat socket.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(|| leptos::view! { <App/> });
    let pages = Router::new()
        .leptos_routes(&state, routes, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(CompressionLayer::new());
    Router::new().route("/ws", get(ws::upgrade)).merge(pages).layer(TraceLayer::new_for_http()).with_state(state)
}
