//! Files people attach to messages: uploaded over HTTP (`POST /files`, `upload.rs`)
//! before the message is sent, claimed by it when it is (`send` names their ids),
//! served to whoever may read the message (`serve.rs`), and removed from storage when
//! it is deleted. Their type is found from their content, never from their name;
//! pictures get two re-encoded sizes, and only those are served.

pub mod serve;
pub mod storage;
pub mod upload;

use crate::hub::Hub;
use crate::pictures::Thumbnailer;
use crate::store::unavailable;
use palaver_protocol::{Attachment, ClientMsgId, ErrorReason, FrameError, RoomId, Seq, User};
use std::sync::Arc;
pub use storage::{S3Settings, Storage};

/// How long an upload no message took is kept: a day.
pub const UNSENT_KEPT_MS: i64 = 24 * 3_600_000;

/// What uploads may add up to (`PALAVER_FILE_MAX_MB`, `PALAVER_UPLOAD_MB_PER_HOUR`,
/// `PALAVER_FILES_MAX_MB`), in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file.
    pub per_file: u64,
    /// What one person may upload in an hour.
    pub per_hour: u64,
    /// What the workspace keeps in all.
    pub total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { per_file: 25 << 20, per_hour: 500 << 20, total: 20 << 30 }
    }
}

/// How files are handed to browsers (`PALAVER_FILE_LINKS`): through the server, or
/// (files in an object store) by a redirect to a link signed for a few minutes, once
/// the server has checked that the reader may read the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Links {
    #[default]
    Server,
    Signed,
}

/// The files' settings (see `config.rs`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub limits: Limits,
    /// The object store, if any; else the `files` directory beside the database.
    pub s3: Option<S3Settings>,
    pub links: Links,
}

/// What the files' HTTP handlers are given (`State`): the files, who is who, and the
/// origins whose pages may upload.
#[derive(Clone)]
pub struct Desk {
    pub files: Arc<Files>,
    pub auth: Arc<crate::accounts::Auth>,
    pub origins: crate::origin::AllowedOrigins,
}

/// Everything that handles files.
pub struct Files {
    pub storage: Storage,
    pub limits: Limits,
    pub links: Links,
    pub hub: Arc<Hub>,
    thumbnailer: Thumbnailer,
}

impl Files {
    pub fn new(storage: Storage, settings: &Settings, hub: Arc<Hub>) -> Files {
        let (limits, links) = (settings.limits, settings.links);
        Files { storage, limits, links, hub, thumbnailer: Thumbnailer::default() }
    }

    /// Gives the uploads `ids` to `user`'s message `id` of `room`: all of them, or the
    /// message is refused (`bad_file`).
    pub async fn claim(
        &self,
        room: &RoomId,
        user: &User,
        id: &ClientMsgId,
        ids: &[String],
    ) -> Result<Vec<Attachment>, FrameError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let bad = |detail: &str| FrameError::new(ErrorReason::BadFile, detail).about(Some(room), Some(id));
        if ids.iter().enumerate().any(|(i, f)| ids[..i].contains(f)) {
            return Err(bad("a message carries each file once"));
        }
        let claimed = self.hub.store().claim_files(room, &user.id, id, ids).await;
        claimed.map_err(|e| unavailable(e).about(Some(room), Some(id)))?.ok_or_else(|| {
            bad("a file of this message is not one you uploaded to this room, or another message has it")
        })
    }

    /// Every hour, removes the uploads no message took within a day (a page closed
    /// before sending, a message abandoned): from the store, then from storage.
    pub async fn sweep_forever(&self) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match self.hub.store().drop_unsent(crate::store::now_ms() - UNSENT_KEPT_MS).await {
                Ok(ids) => self.remove_all(ids, "an upload never sent").await,
                Err(e) => tracing::warn!("cannot find uploads never sent: {e}"),
            }
        }
    }

    /// Removes the bytes of files whose rows are gone (`why`, for the log).
    async fn remove_all(&self, ids: Vec<String>, why: &str) {
        for id in ids {
            if let Err(e) = self.storage.remove(&id).await {
                tracing::warn!(id, "cannot remove {why}: {e}");
            }
        }
    }

    /// Message `seq` of `room` was deleted: its files go from the store and storage.
    pub fn deleted(self: &Arc<Self>, room: RoomId, seq: Seq) {
        let files = self.clone();
        tokio::spawn(async move {
            match files.hub.store().drop_files(&room, seq).await {
                Ok(ids) => files.remove_all(ids, "a deleted message's file").await,
                Err(e) => tracing::warn!(%room, seq, "cannot find a deleted message's files: {e}"),
            }
        });
    }
}
