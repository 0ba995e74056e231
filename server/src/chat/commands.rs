//! The answer to each command a client sends: `hello`, `join`, `leave`, `send`,
//! `typing` and `history`. Every refusal is a [`FrameError`] the client is told about;
//! nothing here ends the connection.

use super::allowed::may_be_told;
use super::rooms::{crowd, joined_frame, MAX_ROOMS_PER_CONNECTION};
use super::state::{Connection, Follow};
use super::transport::Transport;
use crate::accounts::audit;
use crate::hub::{Answer, PostOutcome};
use crate::identity::{fresh_id, SecretError};
use crate::preview::Previews;
use crate::store::rooms::AuditEntry;
use crate::store::{unavailable, Post, Refusal};
use palaver_protocol::{
    ClientMsg, ErrorReason, FrameError, Hello, MessageKind, RoomId, Seq, ServerMsg, User, HISTORY_PAGE, MAX_REACTIONS,
};
use tokio_stream::wrappers::BroadcastStream;

impl<T: Transport> Connection<T> {
    pub(super) async fn command(&mut self, msg: ClientMsg) -> Result<Vec<ServerMsg>, FrameError> {
        match msg {
            ClientMsg::Hello(hello) => self.hello(hello).await,
            // Before a hello, a visitor may watch rooms (listed nowhere) but not post.
            ClientMsg::Join { room, after } => {
                self.may_open(&room).await?;
                let user = self.user.clone();
                let mut out = self.join(room.clone(), after, user.as_ref()).await?;
                out.extend(self.about(&[room]).await);
                Ok(out)
            }
            ClientMsg::Leave { room } => {
                if self.rooms.contains(&room) {
                    self.moves.take_or_refuse("joins and leaves").map_err(|e| e.about(Some(&room), None))?;
                    self.leave(&room);
                }
                Ok(Vec::new())
            }
            // Whom a text names is worked out only for a post that is let in.
            ClientMsg::Send { room, id, text, reply_to, files } => {
                let (user, rules) = self.admit_post(&room, &id).await?;
                let files = self.cx.files.claim(&room, &user, &id, &files).await?;
                let mentions = may_be_told(&rules, self.cx.hub.named(&room, &text).await.map_err(unavailable)?);
                self.store_and_ack(Post::reply(room, user, id, text, reply_to).mentioning(mentions).carrying(files))
                    .await
            }
            ClientMsg::Edit { room, id, target, text } => {
                let (user, rules) = self.admit_post(&room, &id).await?;
                let mentions = may_be_told(&rules, self.cx.hub.named(&room, &text).await.map_err(unavailable)?);
                self.store_and_ack(Post::edit(room, user, id, target, text).mentioning(mentions)).await
            }
            ClientMsg::React { room, id, target, emoji, remove } => {
                let (user, _) = self.admit_post(&room, &id).await?;
                self.store_and_ack(Post::react(room, user, id, target, emoji, remove)).await
            }
            // An admin's delete of someone else's message takes it down ("removed by an
            // admin"), and is kept in the audit log.
            ClientMsg::Delete { room, id, target } => {
                let (user, _) = self.admit_post(&room, &id).await?;
                if let Some(author) = self.removes_anothers(&room, target, &user).await? {
                    let audit = AuditEntry::new(audit::MESSAGE_REMOVED)
                        .by(&user.id)
                        .to(&author)
                        .in_room(&room)
                        .saying(format!("message {target}"));
                    return self.store_then(Post::remove(room, user, id, target), Some(audit)).await;
                }
                self.store_and_ack(Post::delete(room, user, id, target)).await
            }
            ClientMsg::Typing { room } => {
                let user = self.identified()?;
                self.require_joined(&room, None)?;
                if self.typing.take().is_ok() {
                    self.cx.hub.typing(&room, &user);
                }
                Ok(Vec::new())
            }
            ClientMsg::History { room, before } => {
                self.require_joined(&room, None)?;
                self.pages.take_or_refuse("history pages").map_err(|e| e.about(Some(&room), None))?;
                let page = self.cx.hub.store().before(&room, before, HISTORY_PAGE).await.map_err(unavailable)?;
                Ok(vec![ServerMsg::Older { room, messages: page.messages, has_older: page.has_older }])
            }
            ClientMsg::Around { room, seq } => {
                self.require_joined(&room, None)?;
                self.pages.take_or_refuse("history pages").map_err(|e| e.about(Some(&room), None))?;
                let page = self.cx.hub.store().around(&room, seq, HISTORY_PAGE).await.map_err(unavailable)?;
                Ok(vec![ServerMsg::Around { room, seq, messages: page.messages, has_older: page.has_older }])
            }
            // In the rooms this person may read: public ones (unless removed from them),
            // and those they are listed in.
            ClientMsg::Search { query, before } => {
                self.searches.take_or_refuse("searches")?;
                let reader = self.reader();
                if !reader.is_member() && !self.cx.auth.guests_allowed().await {
                    let detail = "this workspace has no guests: sign in to search";
                    return Err(FrameError::new(ErrorReason::NotIdentified, detail));
                }
                let (hits, next) = crate::search::find(self.cx.hub.store(), &query, reader.id(), before).await?;
                Ok(vec![ServerMsg::Results { query, hits, next }])
            }
            ClientMsg::Read { room, seq } => {
                let user = self.identified()?;
                // Never past what this connection was sent in a joined room; in another,
                // only "mark all as read" from the room list (`Seq::MAX`): its newest.
                let newest = match self.rooms.get(&room) {
                    Some(joined) => joined.feed.delivered(),
                    // Of a room left since: stale (nothing of it was sent here now).
                    None if seq != Seq::MAX => return Ok(Vec::new()),
                    None => {
                        self.searches.take_or_refuse("reads of rooms not joined")?;
                        self.newest_of_existing(&room).await?
                    }
                };
                // At 0 (an empty room): opened, so that what comes later counts.
                self.cx.hub.mark_read(&user.id, &room, seq.min(newest));
                Ok(Vec::new())
            }
            ClientMsg::Notify { room, level } => {
                let user = self.identified()?;
                self.searches.take_or_refuse("notification settings").map_err(|e| e.about(Some(&room), None))?;
                if !self.cx.hub.exists(&room) {
                    self.newest_of_existing(&room).await?;
                }
                self.cx.hub.set_level(&user.id, &room, level).await.map_err(unavailable)?;
                Ok(Vec::new())
            }
            ClientMsg::Unread => {
                let user = self.identified()?;
                let now = match self.following {
                    Some(_) => self.cx.hub.unread_now(&user.id),
                    None => {
                        let (feed, now, following) = self.cx.hub.follow(&user.id).await.map_err(unavailable)?;
                        let feed = BroadcastStream::new(feed);
                        self.following = Some(Box::new(Follow { feed, _following: following }));
                        // The rooms joined before go on the list too.
                        for (room, newest) in self.rooms.delivered() {
                            self.cx.hub.open(&user.id, room, newest);
                        }
                        now
                    }
                };
                // And what the rooms on it are called.
                let listed = self.cx.hub.unread_of(&user.id).await.map_err(unavailable)?;
                let rooms: Vec<RoomId> = listed.into_iter().map(|r| r.room).collect();
                Ok(now.into_iter().chain(self.about(&rooms).await).collect())
            }
            // The author takes their message's card away, for everyone.
            ClientMsg::HidePreview { room, seq } => {
                let user = self.identified()?;
                self.require_joined(&room, None)?;
                let hidden = self.cx.hub.store().hide_preview(&room, seq, &user.id).await;
                if !hidden.map_err(|e| unavailable(e).about(Some(&room), None))? {
                    let detail = "only its author takes a message's card away";
                    return Err(FrameError::new(ErrorReason::NotYours, detail).about(Some(&room), None));
                }
                self.cx.hub.preview_found(room, seq, None);
                Ok(Vec::new())
            }
            ClientMsg::Forget { room } => {
                let user = self.identified()?;
                self.searches.take_or_refuse("rooms left").map_err(|e| e.about(Some(&room), None))?;
                self.cx
                    .hub
                    .leave_for_good(&user.id, &room)
                    .await
                    .map_err(|e| unavailable(e).about(Some(&room), None))?;
                Ok(Vec::new())
            }
        }
    }

    /// Hands a post (a message, an edit or a delete) let in by [`Self::admit_post`] to
    /// the writer; it is acknowledged, in the order posts came, once committed, or
    /// refused with the reason.
    async fn store_and_ack(&mut self, post: Post) -> Result<Vec<ServerMsg>, FrameError> {
        self.store_then(post, None).await
    }

    /// As [`Self::store_and_ack`], and once the post is stored, `audit` is kept in the
    /// audit log.
    async fn store_then(&mut self, post: Post, audit: Option<AuditEntry>) -> Result<Vec<ServerMsg>, FrameError> {
        let (room, id) = (post.room.clone(), post.id.clone());
        let auth = self.cx.auth.clone();
        // A deleted message's files go from storage once the delete is stored.
        let deleted = (post.kind == MessageKind::Delete).then(|| (self.cx.files.clone(), post.target));
        // A message or an edit with a link: its card, once stored (most messages have no
        // link, and cost one look at their text here).
        let previews =
            self.cx.previews.clone().filter(|_| Previews::may_link(&post.text)).and_then(|p| match post.kind {
                MessageKind::Text => Some((p, (None, post.text.clone()))),
                MessageKind::Edit => Some((p, (post.target, post.text.clone()))),
                _ => None,
            });
        // Stored while the connection reads on; the writer acknowledges it (in the order
        // posts came) once committed, in the same write as the sender's own copy.
        let answer: Answer = Box::new(move |outcome| {
            if let (Ok(PostOutcome::Accepted(_)), Some(entry)) = (&outcome, audit) {
                tokio::spawn(async move { auth.audit(entry).await });
            }
            if let (Ok(PostOutcome::Accepted(_)), Some((files, Some(target)))) = (&outcome, deleted) {
                files.deleted(room.clone(), target);
            }
            if let (Ok(PostOutcome::Accepted(seq)), Some((previews, (target, text)))) = (&outcome, previews) {
                previews.stored(room.clone(), target.unwrap_or(*seq), text);
            }
            let msg = match outcome {
                Ok(PostOutcome::Refused(refusal)) => refused(refusal).about(Some(&room), Some(&id)).into(),
                Ok(outcome) => ServerMsg::Ack { seq: outcome.seq().unwrap_or_default(), room, id },
                // Trying again would fail again: the page marks it failed, not pending.
                Err(e) if e.is_the_datas() => {
                    tracing::warn!("a post the store refused: {e}");
                    FrameError::new(ErrorReason::BadFrame, "the store cannot hold this message as it is")
                        .about(Some(&room), Some(&id))
                        .into()
                }
                Err(e) => unavailable(e).about(Some(&room), Some(&id)).into(),
            };
            let mut out = Vec::with_capacity(1);
            T::write(&msg, &mut out);
            out
        });
        self.cx
            .hub
            .submit_answered(post, self.wire.clone(), answer)
            .await
            .map_err(|(e, post)| unavailable(e).about(Some(&post.room), Some(&post.id)))?;
        Ok(Vec::new())
    }

    /// Who this connection is, once it has said hello.
    pub(super) fn identified(&self) -> Result<User, FrameError> {
        self.user
            .clone()
            .ok_or_else(|| FrameError::new(ErrorReason::NotIdentified, "say hello with a name or token first"))
    }

    /// What `rooms` are called, as this connection's reader sees them (nothing, when the
    /// store cannot say: the page shows their names).
    async fn about(&self, rooms: &[RoomId]) -> Option<ServerMsg> {
        self.cx.hub.about(&self.reader(), rooms).await.unwrap_or_else(|e| {
            tracing::warn!("cannot say what rooms are called: {e}");
            None
        })
    }

    async fn join(
        &mut self,
        room: RoomId,
        after: Option<u64>,
        user: Option<&User>,
    ) -> Result<Vec<ServerMsg>, FrameError> {
        let new = !self.rooms.contains(&room);
        if new && self.rooms.len() >= MAX_ROOMS_PER_CONNECTION {
            let detail = format!("at most {MAX_ROOMS_PER_CONNECTION} rooms per connection; leave one first");
            return Err(FrameError::new(ErrorReason::BadRoom, detail).about(Some(&room), None));
        }
        // In the room (its frames held) before loading, so nothing stored in between
        // is missed; what arrives twice is skipped by number. A room joined again is
        // loaded again: a history page.
        if new {
            self.moves.take_or_refuse("joins and leaves").map_err(|e| e.about(Some(&room), None))?;
            self.enter(room.clone(), user);
        } else {
            self.pages.take_or_refuse("history pages").map_err(|e| e.about(Some(&room), None))?;
        }
        let Some(feed) = self.rooms.get(&room).map(|j| j.feed.clone()) else { return Ok(Vec::new()) };
        feed.hold();
        match joined_frame(&self.cx.hub, &room, after).await {
            Ok((frame, newest, more)) => {
                self.cx.hub.caught_up(&room, newest);
                // The history first, then what the room sent meanwhile.
                self.send(std::iter::once(frame).chain(crowd(&room, more)));
                feed.release(newest);
                // On the person's list from now on, if their tab follows it.
                if let (Some(user), Some(_)) = (user, &self.following) {
                    self.cx.hub.open(&user.id, &room, newest);
                }
                Ok(Vec::new())
            }
            Err(e) => {
                // Not joined after all: the client was told so.
                if new {
                    self.leave(&room);
                } else {
                    feed.release(0);
                }
                Err(e)
            }
        }
    }

    async fn hello(&mut self, hello: Hello) -> Result<Vec<ServerMsg>, FrameError> {
        let user = self.identify(hello).await?;
        if let Some(current) = self.user.clone() {
            if current.id != user.id {
                return Err(FrameError::new(ErrorReason::BadToken, "this connection is already someone else's"));
            }
            if current.name != user.name {
                self.rename(&current.name, &user).await?;
            }
        }
        if self.user.is_none() {
            // Watching until now: listed from now on in every room watched.
            let rooms: Vec<RoomId> = self.rooms.names().cloned().collect();
            for room in rooms {
                if let Some(joined) = self.rooms.get_mut(&room) {
                    self.cx.hub.attend(&mut joined.membership, &user);
                }
            }
        }
        self.cx.hub.remember(&user);
        self.user = Some(user.clone());
        // The rooms watched until now are read as this person from now on.
        let reader = self.reader();
        for room in self.rooms.names() {
            if let Some(joined) = self.rooms.get(room) {
                joined.feed.read_as(reader.clone());
            }
        }
        // An account's connection has no token to keep: its cookie or access token is it.
        let token = if self.member.is_some() { String::new() } else { self.cx.identity.token(&user) };
        let rooms = ServerMsg::Rooms { rooms: self.cx.hub.rooms() };
        Ok(vec![ServerMsg::Welcome { user, token }, rooms])
    }

    /// A new name, announced in every room this connection is in.
    async fn rename(&mut self, old_name: &str, user: &User) -> Result<(), FrameError> {
        self.moves.take_or_refuse("renames")?;
        // Every notice's id first: once presence shows the new name, the rename stands.
        let notices = self
            .rooms
            .names()
            .map(|room| Ok(Post::renamed(room.clone(), user.clone(), fresh_id()?, old_name.to_owned())))
            .collect::<Result<Vec<Post>, SecretError>>()
            .map_err(|e| FrameError::new(ErrorReason::Unavailable, e.to_string()))?;
        tracing::debug!(from = %old_name, to = %user.name, "rename");
        self.cx.hub.rename(user);
        for post in notices {
            let (room, id) = (post.room.clone(), post.id.clone());
            self.cx.hub.post(post).await.map_err(|e| unavailable(e).about(Some(&room), Some(&id)))?;
        }
        Ok(())
    }
}

/// What a client is told when a reply, edit, delete or reaction may not be made.
fn refused(refusal: Refusal) -> FrameError {
    match refusal {
        Refusal::NoSuchMessage => FrameError::new(ErrorReason::NoSuchMessage, "there is no such message in this room"),
        Refusal::NotYours => FrameError::new(ErrorReason::NotYours, "only its author may edit or delete a message"),
        Refusal::Deleted => FrameError::new(ErrorReason::Deleted, "that message was deleted"),
        Refusal::TooManyReactions => FrameError::new(
            ErrorReason::TooManyReactions,
            format!("a message has at most {MAX_REACTIONS} kinds of reaction"),
        ),
    }
}
