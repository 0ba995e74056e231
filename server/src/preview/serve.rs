//! `GET /previews/{id}.webp`: a link card's picture, the server's own WebP thumbnail of
//! it. Never the linked page's own bytes; served as an image and nothing else
//! (`nosniff`, a sandboxing Content-Security-Policy), kept by browsers for a day.

use crate::hub::Hub;
use axum::{
    extract::{Path, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use std::sync::Arc;

/// What every picture answer carries: an image, never a document that could run.
const SANDBOX: &str = "sandbox; default-src 'none'";

pub async fn picture(State(hub): State<Arc<Hub>>, Path(file): Path<String>) -> Response {
    let id = file.strip_suffix(".webp").filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(id) = id else { return (StatusCode::NOT_FOUND, "no such picture").into_response() };
    match hub.store().picture(id).await {
        Ok(Some(webp)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/webp")),
                (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX)),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            webp,
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such picture").into_response(),
        Err(e) => {
            tracing::warn!("cannot read a card's picture: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "pictures cannot be read right now; try again").into_response()
        }
    }
}
