//! What the CLI exports, one JSON object a line (JSON Lines): audit events and messages.

use crate::store::rooms::AuditRow;
use crate::store::{Store, StoreError};
use palaver_protocol::{ChatMessage, RoomId, UserId};
use serde_json::json;

/// An audit event: its number, when (milliseconds, and as ISO 8601 UTC), its kind, who
/// did it to whom, in which room, from where.
pub fn audit_line(row: &AuditRow) -> String {
    let e = &row.entry;
    json!({
        "id": row.id,
        "at": row.at,
        "time": app::locale::iso_time(row.at),
        "kind": e.kind,
        "actor": e.actor.as_ref().map(UserId::as_str),
        "subject": e.subject.as_ref().map(UserId::as_str),
        "room": e.room.as_ref().map(|r| r.as_str()),
        "address": e.address,
        "user_agent": e.user_agent,
        "detail": e.detail,
    })
    .to_string()
}

/// A message as the protocol writes it.
pub fn message_line(message: &ChatMessage) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// A room's every event, oldest first, a line each (the CLI's and the admin page's
/// export of a room).
pub async fn room_lines(store: &dyn Store, room: &RoomId) -> Result<Vec<String>, StoreError> {
    let (mut lines, mut after) = (Vec::new(), 0);
    loop {
        let page = store.after(room, after, 500).await?;
        let Some(last) = page.last() else { return Ok(lines) };
        after = last.seq;
        lines.extend(page.iter().map(message_line));
    }
}
