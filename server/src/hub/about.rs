//! What rooms are called and what they are for, as one reader sees them: the name an
//! admin gave a room and its topic (both in its rules); a direct conversation is called
//! by the other people in it. Sent when a room is joined, with a person's list of rooms,
//! when a room comes onto that list (someone wrote to them), in the page, and to everyone
//! in a room when an admin changes them.

use super::access::{rules_in, shared_about};
use super::{Hub, Shared};
use crate::access::{may_read, Reader};
use crate::store::accounts::Role;
use crate::store::rooms::RoomRules;
use crate::store::{Store, StoreError};
use palaver_protocol::{RoomAbout, RoomId, ServerMsg};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What `rooms` are called and what they are for, as `reader` sees them: those that
/// have a name or a topic, of the rooms they may read. `None` when there is nothing to
/// say.
async fn about_of(
    store: &dyn Store,
    shared: &Shared,
    reader: &Reader,
    rooms: &[RoomId],
) -> Result<Option<ServerMsg>, StoreError> {
    let mut out = Vec::new();
    for room in rooms {
        let rules = rules_in(store, shared, room).await?;
        if !may_read(&rules, reader) {
            continue;
        }
        let about = match shared_about(room, &rules) {
            Some(about) => about,
            None => RoomAbout { room: room.clone(), title: called(store, &rules, reader).await?, topic: String::new() },
        };
        if !about.title.is_empty() || !about.topic.is_empty() {
            out.push(about);
        }
    }
    Ok((!out.is_empty()).then_some(ServerMsg::About { rooms: out }))
}

/// A direct conversation's name for `reader`: the others in it, by the names they go by
/// (the reader's own when they are alone in it).
async fn called(store: &dyn Store, rules: &RoomRules, reader: &Reader) -> Result<String, StoreError> {
    let mut names = Vec::new();
    let mut own = String::new();
    for member in &rules.members {
        let Some(account) = store.account(member).await? else { continue };
        match reader.id() == Some(member) {
            true => own = account.user.name,
            false => names.push(account.user.name),
        }
    }
    names.sort();
    Ok(if names.is_empty() { own } else { names.join(", ") })
}

/// Tells people here what the rooms that came onto their lists are called (see
/// `Readers::unnamed`), until `shutdown`.
pub(super) async fn name_loop(store: Arc<dyn Store>, shared: Arc<Shared>, shutdown: CancellationToken) {
    let naming = shared.readers().naming.clone();
    loop {
        tokio::select! {
            () = naming.notified() => {}
            () = shutdown.cancelled() => return,
        }
        let unnamed = std::mem::take(&mut shared.readers().unnamed);
        for (user, room) in unnamed {
            // Only accounts are ever listed in a room: asked of as a member.
            let reader = Reader::Member { id: user.clone(), role: Role::Member };
            match about_of(store.as_ref(), &shared, &reader, &[room]).await {
                Ok(Some(about)) => shared.readers().tell_person(&user, &about),
                Ok(None) => {}
                Err(e) => tracing::warn!("cannot say what a room is called: {e}"),
            }
        }
    }
}

impl Hub {
    /// What `rooms` are called and what they are for, as `reader` sees them (see
    /// [`about_of`]).
    pub async fn about(&self, reader: &Reader, rooms: &[RoomId]) -> Result<Option<ServerMsg>, StoreError> {
        about_of(self.store.as_ref(), &self.shared, reader, rooms).await
    }
}
