//! The audit log: what is kept of security and moderation events (who, to whom, when,
//! where from, which room; never a message's text), for admins to read in the admin page
//! and export with `server admin audit`. Kept for `PALAVER_AUDIT_DAYS`.

use super::{now_ms, Auth, DAY_MS};
use crate::store::rooms::{AuditEntry, AuditQuery, AuditRow};
use crate::store::StoreError;
use std::time::Duration;

pub const SIGN_IN: &str = "sign_in";
pub const SIGN_IN_FAILED: &str = "sign_in_failed";
pub const SESSION_ENDED: &str = "session_ended";
pub const INVITE_CREATED: &str = "invite_created";
pub const INVITE_USED: &str = "invite_used";
pub const ROLE_CHANGED: &str = "role_changed";
pub const OWNERSHIP_TRANSFERRED: &str = "ownership_transferred";
pub const SUSPENDED: &str = "suspended";
pub const UNSUSPENDED: &str = "unsuspended";
pub const MESSAGE_REMOVED: &str = "message_removed";
pub const ROOM_MADE: &str = "room_made";
pub const ROOM_CHANGED: &str = "room_changed";
pub const MEMBER_ADDED: &str = "member_added";
pub const MEMBER_REMOVED: &str = "member_removed";
pub const REPORTED: &str = "reported";
pub const ROOM_EXPORTED: &str = "room_exported";
pub const ACCOUNT_DELETED: &str = "account_deleted";

/// Every kind, for the admin page's filter.
pub const KINDS: [&str; 17] = [
    SIGN_IN,
    SIGN_IN_FAILED,
    SESSION_ENDED,
    INVITE_CREATED,
    INVITE_USED,
    ROLE_CHANGED,
    OWNERSHIP_TRANSFERRED,
    SUSPENDED,
    UNSUSPENDED,
    MESSAGE_REMOVED,
    ROOM_MADE,
    ROOM_CHANGED,
    MEMBER_ADDED,
    MEMBER_REMOVED,
    REPORTED,
    ROOM_EXPORTED,
    ACCOUNT_DELETED,
];

/// How often old events are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

impl Auth {
    /// Keeps an event (a failure to keep it is logged, never in the way of what it records).
    pub async fn audit(&self, entry: AuditEntry) {
        let kind = entry.kind.clone();
        if let Err(e) = self.store.audit(entry, now_ms()).await {
            tracing::warn!(kind, "cannot keep an audit event: {e}");
        }
    }

    /// Events, the newest first.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditRow>, StoreError> {
        self.store.audit_log(query).await
    }

    /// Forgets the events older than the audit log is kept, now and then every hour.
    pub async fn prune_audit_forever(&self) {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        loop {
            every.tick().await;
            let before = now_ms() - self.settings.audit_days * DAY_MS;
            match self.store.prune_audit(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "forgot audit events past their time"),
                Err(e) => tracing::warn!("cannot forget old audit events: {e}"),
            }
        }
    }
}
