//! What the CLI exports, one JSON object a line (JSON Lines): audit events and messages.

use crate::store::rooms::AuditRow;
use palaver_protocol::{ChatMessage, UserId};
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
