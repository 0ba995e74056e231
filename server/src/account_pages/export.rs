//! `GET /settings/export`: a signed-in person's own messages, as a JSON file to keep:
//! every message they wrote, as it is now (its latest text; a deleted one with none),
//! room by room and in order, each as the protocol writes a message.

use super::forms::lang;
use crate::accounts::{Refusal, Visitor};
use crate::chat::Gate;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};

/// Messages read from the store in one go.
const PAGE: usize = 500;

/// `GET /settings/export`.
pub async fn export(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    let Some(Visitor::Member { account, .. }) = gate.cx.auth.visitor(&headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let store = gate.cx.auth.store();
    let (mut room, mut seq, mut body) = (String::new(), 0, String::from("["));
    loop {
        let page = match store.messages_by(&account.user.id, &room, seq, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!("cannot export someone's messages: {e}");
                let why = super::refusal(lang(&headers), &Refusal::Unavailable);
                return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
            }
        };
        for message in &page {
            if body.len() > 1 {
                body.push(',');
            }
            body.push('\n');
            body.push_str(&serde_json::to_string(message).unwrap_or_default());
        }
        match page.last() {
            Some(last) if page.len() == PAGE => (room, seq) = (last.room.to_string(), last.seq),
            _ => break,
        }
    }
    body.push_str("\n]\n");
    let file = format!("attachment; filename=\"palaver-messages-{}.json\"", account.handle);
    let headers = [
        (header::CONTENT_TYPE, "application/json".to_owned()),
        (header::CONTENT_DISPOSITION, file),
        (header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    (StatusCode::OK, headers, body).into_response()
}
