//! What a connection may do where: open a room (read it, or make it), post in it, and
//! whom its `@name`s may reach. The rules are `access.rs`'s; here they meet a
//! connection's frames. Every refusal is a [`FrameError`] the client is told about.

use super::state::Connection;
use super::transport::Transport;
use crate::access::{may_post, may_read, unreadable, unwritable, Reader, DIRECT_PREFIX};
use crate::store::accounts::Role;
use crate::store::rooms::RoomRules;
use crate::store::unavailable;
use palaver_protocol::{ClientMsgId, ErrorReason, FrameError, RoomId, Seq, User, UserId};
use std::sync::Arc;

/// Of the people a text names, those who may read a room with these rules: nobody else
/// is told. (Only accounts are ever listed in a room, so each is asked of as a member.)
pub(super) fn may_be_told(rules: &RoomRules, named: Vec<User>) -> Vec<User> {
    let reads = |u: &User| may_read(rules, &Reader::Member { id: u.id.clone(), role: Role::Member });
    named.into_iter().filter(reads).collect()
}

impl<T: Transport> Connection<T> {
    /// The rules of a room this connection may read (refused the same way whether it
    /// exists or not). A room that does not exist yet is opened (and so made) only by
    /// whoever may make rooms: members, or admins only (`PALAVER_ROOM_CREATORS`), never
    /// guests.
    pub(super) async fn may_open(&self, room: &RoomId) -> Result<Arc<RoomRules>, FrameError> {
        let reader = self.reader();
        if !reader.is_member() && !self.cx.auth.guests_allowed().await {
            return Err(unreadable(room));
        }
        let rules = self.cx.hub.rules(room).await.map_err(|e| unavailable(e).about(Some(room), None))?;
        if !may_read(&rules, &reader) {
            return Err(unreadable(room));
        }
        if rules.made || *room == RoomId::lobby() || self.cx.hub.exists(room) {
            return Ok(rules);
        }
        if room.as_str().starts_with(DIRECT_PREFIX) {
            return Err(unreadable(room));
        }
        if !self.cx.auth.may_make_rooms(&reader).await && !self.has_messages(room).await? {
            let detail = format!("there is no room {room}, and only members make rooms here");
            return Err(FrameError::new(ErrorReason::NotAllowed, detail).about(Some(room), None));
        }
        Ok(rules)
    }

    /// Whether the store has messages in `room` (another node's, not heard of here yet).
    async fn has_messages(&self, room: &RoomId) -> Result<bool, FrameError> {
        let heads = self.cx.hub.store().heads(std::slice::from_ref(room)).await.map_err(unavailable)?;
        Ok(heads.first().is_some_and(|(_, head)| *head > 0))
    }

    /// Who may post `id` to `room` now: someone who said hello, joined it, may post in
    /// it by its rules, and is within the posting rate. Checked before anything costs
    /// more than the frame's reading (the rules are kept in memory); the room's rules
    /// come with them, for whom its mentions may reach.
    pub(super) async fn admit_post(
        &mut self,
        room: &RoomId,
        id: &ClientMsgId,
    ) -> Result<(User, Arc<RoomRules>), FrameError> {
        let user = self.identified().map_err(|e| e.about(Some(room), Some(id)))?;
        self.require_joined(room, Some(id))?;
        let rules = self.cx.hub.rules(room).await.map_err(|e| unavailable(e).about(Some(room), Some(id)))?;
        may_post(&rules, &self.reader()).map_err(|why| unwritable(room, why).about(Some(room), Some(id)))?;
        self.posts.take_or_refuse("messages").map_err(|e| e.about(Some(room), Some(id)))?;
        Ok((user, rules))
    }

    /// Whether an admin's delete takes down someone else's message: its author, as
    /// stored, if that is another.
    pub(super) async fn removes_anothers(
        &self,
        room: &RoomId,
        target: Seq,
        user: &User,
    ) -> Result<Option<UserId>, FrameError> {
        if !self.reader().is_admin() || target == 0 {
            return Ok(None);
        }
        let found = self.cx.hub.store().after(room, target - 1, 1).await.map_err(unavailable)?;
        Ok(found.into_iter().next().filter(|m| m.seq == target && m.author.id != user.id).map(|m| m.author.id))
    }

    pub(super) fn require_joined(&self, room: &RoomId, id: Option<&ClientMsgId>) -> Result<(), FrameError> {
        if self.rooms.get(room).is_some_and(|j| !j.feed.revoked()) {
            Ok(())
        } else {
            Err(FrameError::new(ErrorReason::NotJoined, format!("join {room} first")).about(Some(room), id))
        }
    }

    /// The newest number of `room`, a room not joined here, as the store has it; a room
    /// that has no message (in the store) and nobody in it (on any node), or that this
    /// person may not read, is refused alike, so that no read position or setting is
    /// kept for it.
    pub(super) async fn newest_of_existing(&self, room: &RoomId) -> Result<Seq, FrameError> {
        let no_room = || {
            let detail = format!("there is no room {room}: nothing was said there and nobody is in it");
            FrameError::new(ErrorReason::BadRoom, detail).about(Some(room), None)
        };
        // Whether it exists first: a name that is no room's costs one read, as before.
        let heads = self.cx.hub.store().heads(std::slice::from_ref(room)).await.map_err(unavailable)?;
        let newest = match heads.first().map(|(_, head)| *head) {
            Some(head) if head > 0 => head,
            _ if self.cx.hub.exists(room) => 0,
            _ => return Err(no_room()),
        };
        let rules = self.cx.hub.rules(room).await.map_err(unavailable)?;
        match may_read(&rules, &self.reader()) {
            true => Ok(newest),
            false => Err(no_room()),
        }
    }
}
