//! Read positions and unread counts of the people connected to this node. A person's
//! counts are read from the store when their first tab asks for them, then kept here:
//! every message published on this node (its own, another node's, or one caught up from
//! the store) counts for the people following its room, and reading in any tab of theirs
//! (on any node: the bus carries it) takes them away. Each change goes to all their tabs
//! as an `unread` frame. Read positions are told to the other nodes and written to the
//! store in batches, a moment after they move: however many `read` frames a tab sends,
//! each person's position in a room costs at most one bus event and one row per batch.

use super::counts::Counts;
use super::{Frame, Hub, Shared};
use crate::bus::Event;
use crate::store::{Store, StoreError};
use palaver_protocol::{ChatMessage, Level, RoomId, RoomUnread, Seq, ServerMsg, UserId};
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};
use tokio::sync::broadcast;

/// Updates a person's tabs may fall behind before they are sent the whole state again.
const READER_QUEUE: usize = 16;
/// How long read positions wait to be told and written with others.
const SAVE_AFTER: Duration = Duration::from_millis(250);

#[derive(Default)]
pub(super) struct Readers {
    people: HashMap<UserId, Reader>,
    /// Who follows each room here (has counts for it).
    followers: HashMap<RoomId, HashSet<UserId>>,
    /// Read positions not yet written.
    unsaved: HashMap<(UserId, RoomId), Seq>,
    /// Read positions not yet told to the other nodes: the newest per person and room.
    untold: HashMap<(UserId, RoomId), Seq>,
    /// Rooms that came onto someone's list (opened, written to them, or naming them),
    /// whose names they are yet to be told (see `about::name_loop`), and what wakes it.
    pub(super) unnamed: Vec<(UserId, RoomId)>,
    pub(super) naming: Arc<tokio::sync::Notify>,
}

struct Reader {
    feed: broadcast::Sender<Frame>,
    rooms: HashMap<RoomId, Counts>,
    /// While their counts load from the store: the messages published meanwhile, to be
    /// counted once they are in.
    loading: Option<Vec<ChatMessage>>,
    /// Rooms opened meanwhile (with the newest number the tab was sent), to be put on
    /// their list once the counts are in.
    opening: Vec<(RoomId, Seq)>,
}

impl Reader {
    fn everything(&self) -> ServerMsg {
        ServerMsg::Unread { rooms: summaries(&self.rooms), all: true, left: Vec::new() }
    }
}

/// Every room on the person's list, in name order.
fn summaries(rooms: &HashMap<RoomId, Counts>) -> Vec<RoomUnread> {
    let mut out: Vec<RoomUnread> = rooms.iter().filter(|(_, c)| c.listed()).map(|(room, c)| c.summary(room)).collect();
    out.sort_by(|a, b| a.room.cmp(&b.room));
    out
}

/// A person's counts and levels as stored, per room, with their reading not yet
/// written (or being written) applied.
async fn stored_counts(
    store: &dyn Store,
    shared: &Shared,
    user: &UserId,
) -> Result<HashMap<RoomId, Counts>, StoreError> {
    // Their reading not yet written is written first, so the store counts from it.
    if shared.readers().unsaved.keys().any(|(u, _)| u == user) {
        save(store, shared).await;
    }
    // Any still unsaved (the store failed it) is applied: taken before the store is read,
    // as a position no longer unsaved by then is in it.
    let unsaved: Vec<(RoomId, Seq)> =
        shared.readers().unsaved.iter().filter(|((u, _), _)| u == user).map(|((_, r), s)| (r.clone(), *s)).collect();
    let (stored, levels) = (store.unread(user).await?, store.levels(user).await?);
    let mut rooms: HashMap<RoomId, Counts> = stored.into_iter().map(|u| (u.room.clone(), Counts::stored(u))).collect();
    for (room, level) in levels {
        rooms.entry(room).or_default().level = level;
    }
    for (room, seq) in unsaved {
        rooms.entry(room).or_default().read_to(seq);
    }
    Ok(rooms)
}

/// Tells a person's tabs how these rooms stand now.
fn tell(feed: &broadcast::Sender<Frame>, rooms: Vec<RoomUnread>) {
    // An error only means no tab listens right now.
    let _ = feed.send(Frame::event(&ServerMsg::Unread { rooms, all: false, left: Vec::new() }));
}

impl Readers {
    /// The rooms someone here follows.
    pub(super) fn followed(&self) -> impl Iterator<Item = &RoomId> {
        self.followers.keys()
    }

    /// The people here whose counts are kept.
    pub(super) fn people(&self) -> impl Iterator<Item = &UserId> {
        self.people.keys()
    }

    /// Whether a tab here follows `user`'s counts.
    pub(super) fn is_following(&self, user: &UserId) -> bool {
        self.people.contains_key(user)
    }

    /// Counts a published message for the people here it concerns.
    pub(super) fn count(&mut self, m: &ChatMessage) {
        let Readers { people, followers, unnamed, naming, .. } = self;
        let following = followers.get(&m.room).into_iter().flatten();
        let named = m.mentions.iter().map(|u| &u.id);
        let concerned: HashSet<&UserId> = following.chain(named).filter(|u| people.contains_key(*u)).collect();
        let (mut new_followers, mut gone) = (Vec::new(), Vec::new());
        for user in concerned {
            let Some(reader) = people.get_mut(user) else { continue };
            if let Some(loading) = &mut reader.loading {
                loading.push(m.clone());
                continue;
            }
            let listed = reader.rooms.contains_key(&m.room);
            let counts = reader.rooms.entry(m.room.clone()).or_default();
            if counts.count(user, m) {
                if !listed {
                    unnamed.push((user.clone(), m.room.clone()));
                    naming.notify_one();
                }
                let summary = counts.summary(&m.room);
                tell(&reader.feed, vec![summary]);
                if counts.notifies(user, m) {
                    let _ = reader.feed.send(Frame::event(&ServerMsg::Notification(m.clone())));
                }
            }
            // A room never opened follows only while something in it names them.
            if counts.read.is_none() && counts.is_empty() {
                reader.rooms.remove(&m.room);
                gone.push(user.clone());
            } else {
                new_followers.push(user.clone());
            }
        }
        if !new_followers.is_empty() || !gone.is_empty() {
            let set = followers.entry(m.room.clone()).or_default();
            set.extend(new_followers);
            for user in &gone {
                set.remove(user);
            }
            if set.is_empty() {
                followers.remove(&m.room);
            }
        }
    }

    /// `user` read `room` up to `seq` (in a tab here or on another node). Whether that
    /// may be news: false only when their position here was already as far.
    pub(super) fn read(&mut self, user: &UserId, room: &RoomId, seq: Seq) -> bool {
        let Some(reader) = self.people.get_mut(user) else { return true };
        if !reader.rooms.contains_key(room) {
            self.unnamed.push((user.clone(), room.clone()));
            self.naming.notify_one();
        }
        let counts = reader.rooms.entry(room.clone()).or_default();
        let moved = counts.read_to(seq);
        if moved {
            let summary = counts.summary(room);
            tell(&reader.feed, vec![summary]);
        }
        self.followers.entry(room.clone()).or_default().insert(user.clone());
        moved
    }

    /// `room` tells `user` of new messages as `level` says (set in a tab here or on
    /// another node).
    pub(super) fn level(&mut self, user: &UserId, room: &RoomId, level: Level) {
        let Some(reader) = self.people.get_mut(user) else { return };
        let counts = reader.rooms.entry(room.clone()).or_default();
        if counts.level != level {
            counts.level = level;
            let summary = counts.summary(room);
            tell(&reader.feed, vec![summary]);
        }
        self.followers.entry(room.clone()).or_default().insert(user.clone());
    }

    /// `user` opened `room` in a tab here, whose newest message is `newest`: where their
    /// reading starts if the room is not on their list yet (`None`: it is, or their counts
    /// are still loading, and it is put there once they are in).
    fn open(&mut self, user: &UserId, room: &RoomId, newest: Seq) -> Option<Seq> {
        let reader = self.people.get_mut(user)?;
        if reader.loading.is_some() {
            reader.opening.push((room.clone(), newest));
            return None;
        }
        reader.rooms.get(room).map_or(Some(newest), |c| c.opened_at(newest))
    }

    /// `user` left `room` for good (in a tab here or on another node): it goes off their
    /// list in every tab, and no position of it is left to write.
    pub(super) fn leave(&mut self, user: &UserId, room: &RoomId) {
        let key = (user.clone(), room.clone());
        self.unsaved.remove(&key);
        self.untold.remove(&key);
        self.unfollow(user, room);
        if let Some(reader) = self.people.get_mut(user) {
            reader.rooms.remove(room);
            let left = ServerMsg::Unread { rooms: Vec::new(), all: false, left: vec![room.clone()] };
            let _ = reader.feed.send(Frame::event(&left));
        }
    }

    /// Tells `user`'s tabs here `msg`.
    pub(super) fn tell_person(&self, user: &UserId, msg: &ServerMsg) {
        if let Some(reader) = self.people.get(user) {
            // An error only means no tab listens right now.
            let _ = reader.feed.send(Frame::event(msg));
        }
    }

    /// The people here who follow `room`.
    pub(super) fn followers_of<'a>(&'a self, room: &RoomId) -> impl Iterator<Item = &'a UserId> + 'a {
        self.followers.get(room).into_iter().flatten()
    }

    fn forget(&mut self, user: &UserId) {
        if let Some(reader) = self.people.remove(user) {
            for room in reader.rooms.keys() {
                self.unfollow(user, room);
            }
        }
    }

    /// `user` no longer follows `room` here (a room's set goes with its last follower).
    fn unfollow(&mut self, user: &UserId, room: &RoomId) {
        if let Some(set) = self.followers.get_mut(room) {
            set.remove(user);
            if set.is_empty() {
                self.followers.remove(room);
            }
        }
    }
}

/// A tab following its person's counts; when the last of them goes, so do the counts.
pub struct Following {
    shared: Arc<Shared>,
    user: UserId,
}

impl Drop for Following {
    fn drop(&mut self) {
        let mut readers = self.shared.readers();
        if readers.people.get(&self.user).is_some_and(|r| r.feed.receiver_count() == 0) {
            readers.forget(&self.user);
        }
    }
}

impl Hub {
    /// Follows `user`'s unread counts: their updates, and everything now (in the answer
    /// if known here, else as the first update once read from the store, to every tab
    /// that asked meanwhile).
    pub async fn follow(
        &self,
        user: &UserId,
    ) -> Result<(broadcast::Receiver<Frame>, Option<ServerMsg>, Following), StoreError> {
        let following = Following { shared: self.shared.clone(), user: user.clone() };
        let feed = {
            let mut readers = self.shared.readers();
            if let Some(reader) = readers.people.get(user) {
                let now = reader.loading.is_none().then(|| reader.everything());
                return Ok((reader.feed.subscribe(), now, following));
            }
            let feed = broadcast::channel(READER_QUEUE).0;
            let rx = feed.subscribe();
            let reader = Reader { feed, rooms: HashMap::new(), loading: Some(Vec::new()), opening: Vec::new() };
            readers.people.insert(user.clone(), reader);
            rx
        };
        let stored = match stored_counts(self.store.as_ref(), &self.shared, user).await {
            Ok(stored) => stored,
            Err(e) => {
                self.shared.readers().forget(user);
                return Err(e);
            }
        };
        let mut readers = self.shared.readers();
        let (meanwhile, opened) = {
            let Readers { people, followers, .. } = &mut *readers;
            let Some(reader) = people.get_mut(user) else { return Ok((feed, None, following)) };
            for (room, counts) in stored {
                followers.entry(room.clone()).or_default().insert(user.clone());
                reader.rooms.insert(room, counts);
            }
            (reader.loading.take().unwrap_or_default(), std::mem::take(&mut reader.opening))
        };
        for m in &meanwhile {
            readers.count(m);
        }
        drop(readers);
        // The rooms they follow are heard from now on.
        self.shared.interest_changed.notify_one();
        for (room, newest) in opened {
            self.open(user, &room, newest);
        }
        let mut readers = self.shared.readers();
        // Reading not yet written is as good as written.
        let unsaved: Vec<(RoomId, Seq)> =
            readers.unsaved.iter().filter(|((u, _), _)| u == user).map(|((_, r), s)| (r.clone(), *s)).collect();
        for (room, seq) in unsaved {
            readers.read(user, &room, seq);
        }
        // To every tab that asked meanwhile, this one included.
        if let Some(reader) = readers.people.get(user) {
            let _ = reader.feed.send(Frame::event(&reader.everything()));
        }
        Ok((feed, None, following))
    }

    /// `user`'s counts now, for a page rendered for them: as kept here while a tab of
    /// theirs follows them, else as stored.
    pub async fn unread_of(&self, user: &UserId) -> Result<Vec<RoomUnread>, StoreError> {
        if let Some(ServerMsg::Unread { rooms, .. }) = self.unread_now(user) {
            return Ok(rooms);
        }
        Ok(summaries(&stored_counts(self.store.as_ref(), &self.shared, user).await?))
    }

    /// Everything about `user`'s counts now (for a tab that fell behind their updates).
    pub fn unread_now(&self, user: &UserId) -> Option<ServerMsg> {
        self.shared.readers().people.get(user).filter(|r| r.loading.is_none()).map(Reader::everything)
    }

    /// `user` has read `room` up to `seq`: their tabs here are told at once; their tabs
    /// on other nodes, and the store, shortly (the newest position of the moment, once).
    pub fn mark_read(&self, user: &UserId, room: &RoomId, seq: Seq) {
        {
            let mut readers = self.shared.readers();
            if !readers.read(user, room, seq) {
                return;
            }
            let key = (user.clone(), room.clone());
            let unsaved = readers.unsaved.entry(key.clone()).or_insert(seq);
            *unsaved = (*unsaved).max(seq);
            let untold = readers.untold.entry(key).or_insert(seq);
            *untold = (*untold).max(seq);
        }
        self.shared.saving.notify_one();
    }

    /// `user` opened `room` in a tab here that follows their counts, and was sent up to
    /// `newest` of it: a room not on their list yet is put there, read from then on
    /// (what names them there before stays unread), in all their tabs, and kept.
    pub fn open(&self, user: &UserId, room: &RoomId, newest: Seq) {
        let at = self.shared.readers().open(user, room, newest);
        if let Some(at) = at {
            self.mark_read(user, room, at);
        }
    }

    /// `user` takes `room` off their list: their read position and level there are
    /// forgotten, in the store and in all their tabs, on every node. Opening it again
    /// puts it back, read from then on.
    pub async fn leave_for_good(&self, user: &UserId, room: &RoomId) -> Result<(), StoreError> {
        // No write of a position of it in between, to bring it back.
        let _one_at_a_time = self.shared.save_lock.lock().await;
        self.shared.readers().leave(user, room);
        self.store.forget_room(user, room).await?;
        self.shared.bus.publish(Event::Left { user: user.clone(), room: room.clone() });
        Ok(())
    }

    /// `room` tells `user` of new messages as `level` says from now on: kept in the
    /// store, then their tabs everywhere are told.
    pub async fn set_level(&self, user: &UserId, room: &RoomId, level: Level) -> Result<(), StoreError> {
        self.store.set_level(user, room, level).await?;
        self.shared.readers().level(user, room, level);
        self.shared.bus.publish(Event::Level { user: user.clone(), room: room.clone(), level });
        Ok(())
    }

    /// Tells and writes the read positions not yet told and written (at shutdown).
    pub async fn save_reads(&self) {
        tell_nodes(&self.shared);
        save(self.store.as_ref(), &self.shared).await;
    }
}

/// Tells the other nodes and writes read positions a moment after they move, many at
/// once.
pub(super) async fn save_loop(store: Arc<dyn Store>, shared: Arc<Shared>) {
    loop {
        shared.saving.notified().await;
        tokio::time::sleep(SAVE_AFTER).await;
        tell_nodes(&shared);
        save(store.as_ref(), &shared).await;
    }
}

/// Tells the other nodes where people read to since last time: one event per person
/// and room.
fn tell_nodes(shared: &Shared) {
    let untold = std::mem::take(&mut shared.readers().untold);
    for ((user, room), seq) in untold {
        shared.bus.publish(Event::Read { user, room, seq });
    }
}

async fn save(store: &dyn Store, shared: &Shared) {
    let _one_at_a_time = shared.save_lock.lock().await;
    // Kept as unsaved until committed: a person's counts read from the store meanwhile
    // still see them (see `stored_counts`).
    let marks: Vec<(UserId, RoomId, Seq)> =
        shared.readers().unsaved.iter().map(|((u, r), s)| (u.clone(), r.clone(), *s)).collect();
    if !marks.is_empty() {
        match store.mark_read(marks.clone()).await {
            Ok(()) => {
                let mut readers = shared.readers();
                for (u, r, s) in marks {
                    let key = (u, r);
                    // (Unless it moved on meanwhile: that is written next time.)
                    if readers.unsaved.get(&key) == Some(&s) {
                        readers.unsaved.remove(&key);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(count = marks.len(), "cannot write read positions (trying again soon): {e}");
                shared.saving.notify_one();
            }
        }
    }
    let people = shared.people().unsaved();
    if !people.is_empty() {
        match store.remember(people.clone()).await {
            Ok(()) => shared.people().saved(&people),
            Err(e) => {
                tracing::warn!(count = people.len(), "cannot write people's names (trying again soon): {e}");
                shared.saving.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::counts::tests::message;
    use palaver_protocol::MessageKind;

    #[test]
    fn a_person_is_told_of_mentions_or_of_everything_as_each_room_says_once_each() {
        let me = UserId("me".into());
        let room = RoomId::parse("r").unwrap();
        let mut readers = Readers::default();
        let feed = broadcast::channel(64).0;
        let mut heard = feed.subscribe();
        readers.people.insert(me.clone(), Reader { feed, rooms: HashMap::new(), loading: None, opening: Vec::new() });
        readers.read(&me, &room, 1);
        let mut told = |readers: &mut Readers, m: ChatMessage| {
            readers.count(&m);
            let frames: Vec<String> =
                std::iter::from_fn(|| heard.try_recv().ok()).map(|f| f.text().to_string()).collect();
            frames.iter().filter(|f| f.starts_with(r#"{"type":"notification""#)).count()
        };
        let text = |seq, author, mentions: &[&str]| message(seq, author, MessageKind::Text, None, mentions);
        // By default, what names me.
        assert_eq!(told(&mut readers, text(2, "bob", &[])), 0);
        assert_eq!(told(&mut readers, text(3, "bob", &["me"])), 1);
        assert_eq!(told(&mut readers, text(3, "bob", &["me"])), 0, "a message counted twice tells once");
        assert_eq!(told(&mut readers, text(4, "me", &["me"])), 0, "never my own");
        // Everything, in a room set so; nothing at all when muted.
        readers.level(&me, &room, Level::All);
        assert_eq!(told(&mut readers, text(5, "bob", &[])), 1);
        assert_eq!(told(&mut readers, message(6, "bob", MessageKind::React, Some(5), &[])), 0, "not a reaction");
        readers.level(&me, &room, Level::Muted);
        assert_eq!(told(&mut readers, text(7, "bob", &["me"])), 0);
    }

    #[test]
    fn a_person_follows_a_room_never_opened_only_while_something_there_names_them() {
        let me = UserId("me".into());
        let room = RoomId::parse("r").unwrap();
        let mut readers = Readers::default();
        let feed = broadcast::channel(READER_QUEUE).0;
        let mut heard = feed.subscribe();
        readers.people.insert(me.clone(), Reader { feed, rooms: HashMap::new(), loading: None, opening: Vec::new() });
        readers.count(&message(1, "bob", MessageKind::Text, None, &[]));
        assert!(readers.followers.is_empty(), "nothing there for me");
        readers.count(&message(2, "bob", MessageKind::Text, None, &["me"]));
        assert!(readers.followers[&room].contains(&me));
        assert!(heard.try_recv().unwrap().text().contains(r#""mentions":1"#), "told");
        readers.count(&message(3, "bob", MessageKind::Edit, Some(2), &[]));
        assert!(readers.followers.is_empty() && readers.people[&me].rooms.is_empty(), "the mention edited away");
        // Reading it makes it followed for good; forgetting the person leaves nothing.
        readers.read(&me, &room, 3);
        assert!(readers.followers[&room].contains(&me));
        readers.forget(&me);
        assert!(readers.followers.is_empty() && readers.people.is_empty());
    }
}
