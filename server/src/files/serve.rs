//! `GET /files/{id}` (a picture's large form, or the file itself) and
//! `GET /files/{id}/small` (a picture's thumbnail): to whoever may read the message
//! that carries the file (its uploader alone before it is sent; nobody once the message
//! is deleted, when the file is gone). Every answer says what it is and that it is
//! never to run: `nosniff`, a sandboxing Content-Security-Policy, and a file that is
//! not a picture is a download (`attachment`), whatever its type.

use super::storage::{Form, Reading};
use super::{Desk, Links};
use crate::accounts::Visitor;
use axum::{
    body::Body,
    extract::{Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use palaver_protocol::is_file_id;

/// What every file answer carries: content that never runs, even opened on its own.
const SANDBOX: &str = "sandbox; default-src 'none'";

/// `Content-Disposition` for a file named `name`: inline for a picture (its re-encoded
/// form), a download for anything else.
pub fn disposition(picture: bool, name: &str) -> String {
    let ascii: String =
        name.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' }).collect();
    let encoded = palaver_protocol::percent_encode(name);
    let kind = if picture { "inline" } else { "attachment" };
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn file(State(desk): State<Desk>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    serve(&desk, &id, None, &headers).await
}

pub async fn form(State(desk): State<Desk>, Path((id, form)): Path<(String, String)>, headers: HeaderMap) -> Response {
    match form.as_str() {
        "small" => serve(&desk, &id, Some(Form::Small), &headers).await,
        _ => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such file\n").into_response()
}

async fn serve(desk: &Desk, id: &str, form: Option<Form>, headers: &HeaderMap) -> Response {
    if !is_file_id(id) {
        return not_found();
    }
    let files = &desk.files;
    let unavailable = |e: String| {
        tracing::warn!(id, "a file cannot be read: {e}");
        (StatusCode::SERVICE_UNAVAILABLE, "files cannot be read right now; try again\n").into_response()
    };
    let (stored, sent) = match files.hub.store().file(id).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e.to_string()),
    };
    let visitor = desk.auth.visitor(headers).await;
    let reader = Visitor::reader(visitor.as_ref());
    let readable = if sent {
        match files.hub.rules(&stored.room).await {
            Ok(rules) => crate::access::may_read(&rules, &reader),
            Err(e) => return unavailable(e.to_string()),
        }
    } else {
        reader.id() == Some(&stored.owner)
    };
    if !readable {
        return not_found();
    }
    let picture = stored.file.width > 0;
    let form = match (form, picture) {
        (Some(form), true) => form,
        (None, true) => Form::Large,
        (None, false) => Form::Original,
        (Some(_), false) => return not_found(),
    };
    if files.links == Links::Signed {
        if let Some(signed) = files.storage.signed(id, form).await {
            return match signed {
                Ok(url) => Redirect::temporary(url.as_str()).into_response(),
                Err(e) => unavailable(e.to_string()),
            };
        }
    }
    let Reading { size, bytes } = match files.storage.read(id, form).await {
        Ok(Some(reading)) => reading,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e.to_string()),
    };
    let mime = if picture { "image/webp" } else { stored.file.mime.as_str() };
    let value = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Body::from_stream(bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, value(mime));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    h.insert(header::CONTENT_DISPOSITION, value(&disposition(picture, &stored.file.name)));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    // Only the reader's browser keeps it (the address alone does not give it to anyone).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_a_download_by_its_name_and_a_picture_is_shown() {
        assert_eq!(
            disposition(false, "the plan.pdf"),
            "attachment; filename=\"the plan.pdf\"; filename*=UTF-8''the%20plan.pdf"
        );
        assert_eq!(
            disposition(true, "café \"x\".png"),
            "inline; filename=\"caf_ _x_.png\"; filename*=UTF-8''caf%C3%A9%20%22x%22.png"
        );
    }
}
