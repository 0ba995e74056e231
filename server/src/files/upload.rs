//! `POST /files?room=R&name=N`, the file as the body: one upload, from the page of
//! someone who may post in room `R`. Checked before a byte is read where it can be (the
//! person, the room, the declared size against the limits), then streamed to storage a
//! part at a time, its type found from its first bytes. A picture is decoded within the
//! pixel cap and re-encoded in two sizes before the answer: `201` with the file as a
//! message carries it (JSON), which the page then names in its `send`.

use super::storage::Form;
use super::{serve, Desk, Files, Limits};
use crate::accounts::{now_ms, Visitor};
use crate::identity::random_bytes;
use crate::pictures::{Refused, LARGE_SIDE, MAX_PIXELS, SMALL_SIDE};
use crate::store::files::StoredFile;
use axum::{
    body::Body,
    extract::{Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use palaver_protocol::{has_control, Attachment, RoomId, MAX_FILE_NAME_CHARS};
use serde::Deserialize;

/// How much of a file its type is told from.
const SNIFF_BYTES: usize = 8 << 10;
const HOUR_MS: i64 = 3_600_000;

#[derive(Deserialize)]
pub struct Target {
    room: String,
    #[serde(default)]
    name: String,
}

/// An upload refused: its status and the words the page shows.
struct Refusal(StatusCode, String);

impl Refusal {
    fn new(status: StatusCode, why: impl Into<String>) -> Refusal {
        Refusal(status, why.into())
    }
}

pub async fn upload(
    State(desk): State<Desk>,
    Query(target): Query<Target>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match receive(&desk, target, &headers, body).await {
        Ok(file) => (StatusCode::CREATED, axum::Json(file)).into_response(),
        Err(Refusal(status, why)) => {
            (status, [(header::CACHE_CONTROL, "no-store")], format!("{why}\n")).into_response()
        }
    }
}

/// Megabytes, for people.
fn mb(bytes: u64) -> String {
    format!("{} MB", bytes.div_ceil(1 << 20))
}

async fn receive(desk: &Desk, target: Target, headers: &HeaderMap, body: Body) -> Result<Attachment, Refusal> {
    let files = &desk.files;
    if !desk.origins.from_own_page(headers) {
        return Err(Refusal::new(StatusCode::FORBIDDEN, "files are uploaded from Palaver's own pages"));
    }
    let visitor = match desk.auth.visitor(headers).await {
        Some(Visitor::Guest(_)) if !desk.auth.guests_allowed().await => None,
        visitor => visitor,
    };
    let Some(visitor) = visitor else {
        return Err(Refusal::new(StatusCode::UNAUTHORIZED, "choose a name or sign in before uploading"));
    };
    let room = RoomId::parse(&target.room).map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    let reader = Visitor::reader(Some(&visitor));
    let unavailable = |e: crate::store::StoreError| {
        tracing::warn!("an upload cannot be checked or kept: {e}");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "files cannot be kept right now; try again")
    };
    let rules = files.hub.rules(&room).await.map_err(unavailable)?;
    if !crate::access::may_read(&rules, &reader) {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "no such room"));
    }
    crate::access::may_post(&rules, &reader).map_err(|why| Refusal::new(StatusCode::FORBIDDEN, why))?;
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let owner = visitor.user().id.clone();
    let (mine, all) = files.hub.store().uploaded(&owner, now_ms() - HOUR_MS).await.map_err(unavailable)?;
    let limits = files.limits;
    // What this upload may come to, and which limit it would stop at.
    let cap = [(limits.per_file, 0), (limits.per_hour.saturating_sub(mine), 1), (limits.total.saturating_sub(all), 2)]
        .into_iter()
        .min()
        .unwrap_or_default();
    if declared.unwrap_or(1) > cap.0 {
        return Err(over(limits, cap.1));
    }
    let id: String = random_bytes::<16>()
        .map_err(|_| Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "no randomness; try again"))?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = file_name(&target.name);
    let (size, mime, picture) = store(files, &id, &name, body, cap).await?;
    let mut file = Attachment { id: id.clone(), name, size, mime, width: 0, height: 0 };
    if let Some(bytes) = picture {
        if let Err(refusal) = thumbnails(files, &mut file, bytes).await {
            let _ = files.storage.remove(&id).await;
            return Err(refusal);
        }
    }
    let stored = StoredFile { file: file.clone(), owner, room, message: None, created: now_ms() };
    if let Err(e) = files.hub.store().add_file(&stored).await {
        let _ = files.storage.remove(&id).await;
        return Err(unavailable(e));
    }
    Ok(file)
}

/// The refusal of an upload past limit `which` of `limits` (0: the size of a file, 1:
/// the hour's, 2: the workspace's).
fn over(limits: Limits, which: u8) -> Refusal {
    match which {
        0 => Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, format!("a file may be at most {}", mb(limits.per_file))),
        1 => {
            let why = format!("you may upload {} an hour; try again later", mb(limits.per_hour));
            Refusal::new(StatusCode::TOO_MANY_REQUESTS, why)
        }
        _ => Refusal::new(StatusCode::INSUFFICIENT_STORAGE, "the workspace's file storage is full"),
    }
}

/// Gives a picture its two sizes (stored), and its size upright; a picture that
/// cannot be decoded, or has more pixels than the cap, is refused.
async fn thumbnails(files: &Files, file: &mut Attachment, bytes: Bytes) -> Result<(), Refusal> {
    let made = files.thumbnailer.make(bytes, &[SMALL_SIDE, LARGE_SIDE]).await.map_err(|refused| match refused {
        Refused::TooManyPixels(w, h) => {
            let why = format!(
                "the picture is {w}×{h}: more than the {} megapixels a picture may have",
                MAX_PIXELS / 1_000_000
            );
            Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, why)
        }
        _ => Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "the picture cannot be read"),
    })?;
    let (mut webp, id) = (made.webp.into_iter(), file.id.clone());
    for form in [Form::Small, Form::Large] {
        let bytes = webp.next().unwrap_or_default();
        files.storage.put(&id, form, bytes, &serve::disposition(true, &file.name)).await.map_err(|e| {
            tracing::warn!(id, "a picture's thumbnail cannot be written: {e}");
            Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the file cannot be kept right now; try again")
        })?;
    }
    let large = LARGE_SIDE as f64 / made.width.max(made.height).max(1) as f64;
    let scale = large.min(1.0);
    file.width = ((made.width as f64 * scale).round() as u32).max(1);
    file.height = ((made.height as f64 * scale).round() as u32).max(1);
    Ok(())
}

/// The name a file is shown by: its own, without paths or control characters, cut to
/// [`MAX_FILE_NAME_CHARS`]; "file" for none.
pub fn file_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(MAX_FILE_NAME_CHARS).collect();
    let clean = clean.trim();
    if clean.is_empty() || has_control(clean, &[]) || clean == "." || clean == ".." {
        "file".to_owned()
    } else {
        clean.to_owned()
    }
}

/// The type of a file from its first bytes: what `infer` recognises, else plain text
/// for UTF-8, else bytes.
pub fn sniff(head: &[u8]) -> &'static str {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type();
    }
    match std::str::from_utf8(head) {
        Ok(text) if !has_control(text, &['\n', '\r', '\t']) => "text/plain",
        // Cut in the middle of a character at the end of what was read.
        Err(e) if e.error_len().is_none() && !has_control(&String::from_utf8_lossy(head), &['\n', '\r', '\t']) => {
            "text/plain"
        }
        _ => "application/octet-stream",
    }
}

/// Whether a type is a picture Palaver re-encodes (and serves inline).
pub fn is_picture(mime: &str) -> bool {
    matches!(mime, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// Streams the body into storage as file `id`'s original, stopping past `cap` (its
/// size, and why it stops there). Its size and type, and a picture's bytes, which
/// are decoded next.
async fn store(
    files: &Files,
    id: &str,
    name: &str,
    body: Body,
    cap: (u64, u8),
) -> Result<(u64, String, Option<Bytes>), Refusal> {
    let broken = |e: String| {
        tracing::warn!(id, "an upload cannot be written: {e}");
        Refusal::new(StatusCode::SERVICE_UNAVAILABLE, "the file cannot be kept right now; try again")
    };
    let mut stream = body.into_data_stream();
    let mut head = BytesMut::new();
    let mut ended = false;
    while head.len() < SNIFF_BYTES {
        match stream.next().await {
            Some(Ok(chunk)) => head.extend_from_slice(&chunk),
            Some(Err(_)) => return Err(Refusal::new(StatusCode::BAD_REQUEST, "the upload stopped before its end")),
            None => {
                ended = true;
                break;
            }
        }
    }
    let mime = sniff(&head[..head.len().min(SNIFF_BYTES)]);
    let picture = is_picture(mime);
    let disposition = serve::disposition(picture, name);
    let mut writer = files.storage.writer(id, mime, &disposition).await.map_err(|e| broken(e.to_string()))?;
    let mut kept = picture.then(BytesMut::new);
    let mut size = 0u64;
    let mut chunk = Some(head.freeze());
    loop {
        let Some(bytes) = chunk.take() else { break };
        size += bytes.len() as u64;
        if size > cap.0 {
            let _ = writer.abort().await;
            let _ = files.storage.remove(id).await;
            return Err(over(files.limits, cap.1));
        }
        if let Some(kept) = kept.as_mut() {
            kept.extend_from_slice(&bytes);
        }
        writer.put(bytes);
        if let Err(e) = writer.wait_for_capacity(1).await {
            return Err(broken(e.to_string()));
        }
        if !ended {
            match stream.next().await {
                Some(Ok(next)) => chunk = Some(next),
                Some(Err(_)) => {
                    let _ = writer.abort().await;
                    let _ = files.storage.remove(id).await;
                    return Err(Refusal::new(StatusCode::BAD_REQUEST, "the upload stopped before its end"));
                }
                None => ended = true,
            }
        }
    }
    if size == 0 {
        let _ = writer.abort().await;
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "the file is empty"));
    }
    writer.finish().await.map_err(|e| broken(e.to_string()))?;
    Ok((size, mime.to_owned(), kept.map(BytesMut::freeze)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_is_told_by_the_content_never_the_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff("notes: ünï\ncode\tand tabs\r\n".as_bytes()), "text/plain");
        // Cut in the middle of a character at the end of what was read: still text.
        assert_eq!(sniff(&"ü".repeat(10).as_bytes()[..19]), "text/plain");
        assert_eq!(sniff(b"\0\x01\x02binary"), "application/octet-stream");
        assert!(is_picture("image/webp") && !is_picture("image/svg+xml") && !is_picture("text/html"));
    }

    #[test]
    fn a_name_is_kept_without_paths_or_control_characters() {
        assert_eq!(file_name("C:\\Users\\ann\\plan.pdf"), "plan.pdf");
        assert_eq!(file_name("../../etc/passwd"), "passwd");
        assert_eq!(file_name("a\u{0}b\nc.txt"), "abc.txt");
        assert_eq!(file_name("  "), "file");
        assert_eq!(file_name(".."), "file");
        assert_eq!(file_name(&"x".repeat(300)).chars().count(), MAX_FILE_NAME_CHARS);
    }
}
