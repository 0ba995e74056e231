//! The hub's side of running several nodes: delivering each room's messages in number
//! order whatever order the bus brings them in, filling gaps and catching up quiet
//! rooms from the store (the bus may lose events), applying what the other nodes say
//! (their presence is kept in `presence.rs`), and keeping who is here in Redis.

use super::{Hub, Shared};
use crate::bus::REFRESH_EVERY;
use crate::bus::{Envelope, Event, Inbound, Present};
use crate::identity::is_guest;
use crate::store::Store;
use palaver_protocol::{RoomId, Seq, ServerMsg, UserId};
use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

/// How long a room waits for a missing number to arrive before reading it from the store.
pub const GAP_WAIT: Duration = Duration::from_millis(100);
/// How often every room with people in it is compared with the store's newest number,
/// so a lost last message arrives even if no later one shows the gap.
pub const TAIL_EVERY: Duration = Duration::from_secs(1);
/// How often the gaps are looked at.
const MEND_EVERY: Duration = Duration::from_millis(50);
/// Messages read from the store per room in one go when filling a gap.
const FILL_LIMIT: usize = 1024;

/// Starts hearing the other nodes, mending gaps and sending this node's presence.
pub(super) fn spawn(
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    inbound: mpsc::Receiver<Inbound>,
    shutdown: CancellationToken,
) {
    let resync = Arc::new(Notify::new());
    tokio::spawn(listen(store.clone(), shared.clone(), inbound, resync.clone()));
    tokio::spawn(mend(store, shared.clone(), resync.clone(), shutdown.clone()));
    tokio::spawn(super::interest::interest_loop(shared.clone(), shutdown.clone()));
    tokio::spawn(refresh_presence(shared, resync, shutdown));
}

/// Applies what the other nodes say.
async fn listen(store: Arc<dyn Store>, shared: Arc<Shared>, mut inbound: mpsc::Receiver<Inbound>, resync: Arc<Notify>) {
    while let Some(item) = inbound.recv().await {
        let Envelope { node, event } = match item {
            Inbound::Event(envelope) => envelope,
            Inbound::Present(present) => {
                // Rooms just served here: their lists, and what they said meanwhile.
                let rooms: Vec<RoomId> = present.rooms.iter().map(|(room, _)| room.clone()).collect();
                apply(&shared, present);
                let (store, shared) = (store.clone(), shared.clone());
                tokio::spawn(async move { catch_up_rooms(store.as_ref(), &shared, rooms).await });
                continue;
            }
            Inbound::Resync => {
                // Wakes both the mender and the presence loop.
                resync.notify_waiters();
                shared.forget_access(&store);
                match store.rooms().await {
                    Ok(stored) => {
                        let mut rooms = shared.rooms();
                        for room in stored {
                            rooms.relist(&room);
                            rooms.stored.insert(room);
                        }
                        drop(rooms);
                        shared.directory_dirty.notify_one();
                    }
                    Err(e) => tracing::warn!("cannot refresh the room list: {e}"),
                }
                continue;
            }
        };
        let changed = match event {
            Event::Message(message) => {
                shared.publish(message);
                false
            }
            Event::Typing { room, user } => {
                if let Some(r) = shared.rooms().live.get(&room) {
                    r.send(&ServerMsg::Typing { room, user });
                }
                false
            }
            Event::Here { room, user } => {
                // Someone who said hello there: that node keeps their name in the store.
                if !is_guest(&user.id) {
                    shared.people().seen(&user);
                }
                shared.rooms().remote_set(&node, &room, &user.id, Some(super::presence::Shown::of(&user)))
            }
            Event::Gone { room, user } => shared.rooms().remote_set(&node, &room, &user, None),
            Event::Read { user, room, seq } => {
                shared.readers().read(&user, &room, seq);
                false
            }
            Event::Level { user, room, level } => {
                shared.readers().level(&user, &room, level);
                false
            }
            Event::Left { user, room } => {
                shared.readers().leave(&user, &room);
                false
            }
            Event::SignedOut { ended, .. } => {
                shared.sign_out(&ended);
                false
            }
            Event::Rules { room } => {
                tokio::spawn(super::access::reload(store.clone(), shared.clone(), room));
                false
            }
            Event::Preview { room, seq, preview } => {
                shared.show_preview(room, seq, preview.map(|p| *p));
                false
            }
            Event::Role { user, role } => {
                shared.apply_role(&user, role.as_deref().and_then(crate::store::accounts::Role::parse));
                false
            }
        };
        if changed {
            shared.directory_dirty.notify_one();
        }
    }
}

/// Fills gaps that did not close by themselves within [`GAP_WAIT`], and every
/// [`TAIL_EVERY`] (or on a resync) catches every live room up to the store's newest.
async fn mend(store: Arc<dyn Store>, shared: Arc<Shared>, resync: Arc<Notify>, shutdown: CancellationToken) {
    let mut last_tail = Instant::now();
    loop {
        let resynced = tokio::select! {
            () = tokio::time::sleep(MEND_EVERY) => false,
            () = resync.notified() => true,
            () = shutdown.cancelled() => return,
        };
        let gaps: Vec<(RoomId, Seq)> = {
            let mut rooms = shared.rooms();
            rooms
                .live
                .iter_mut()
                .filter_map(|(id, r)| Some((id.clone(), r.order.missing(GAP_WAIT, &mut r.feed)?)))
                .collect()
        };
        for (room, from) in gaps {
            fill(store.as_ref(), &shared, &room, from).await;
        }
        if resynced || last_tail.elapsed() >= TAIL_EVERY {
            last_tail = Instant::now();
            catch_up_tails(store.as_ref(), &shared).await;
        }
    }
}

/// Brings every live room up to the newest number in the store.
async fn catch_up_tails(store: &dyn Store, shared: &Shared) {
    let live: Vec<RoomId> = shared.rooms().live.keys().cloned().collect();
    catch_up_rooms(store, shared, live).await;
}

/// Brings `live` (every live room, or rooms just served here) up to the newest number
/// in the store.
async fn catch_up_rooms(store: &dyn Store, shared: &Shared, live: Vec<RoomId>) {
    if live.is_empty() {
        return;
    }
    let heads = match store.heads(&live).await {
        Ok(heads) => heads,
        Err(e) => {
            tracing::warn!("cannot compare rooms with the store: {e}");
            return;
        }
    };
    for (room, head) in heads {
        let next = shared.rooms().live.get(&room).map(|r| r.order.next());
        let from = match next {
            Some(Some(next)) if head >= next => next,
            // Nothing has gone out live here yet: the newest one is sent, and each
            // connection that lacks anything before it catches up from the store.
            Some(None) if head > 0 => head,
            _ => continue,
        };
        fill(store, shared, &room, from).await;
    }
}

/// Delivers a room's messages from number `from` on, read from the store.
async fn fill(store: &dyn Store, shared: &Shared, room: &RoomId, from: Seq) {
    match store.after(room, from.saturating_sub(1), FILL_LIMIT).await {
        Ok(messages) => {
            if !messages.is_empty() {
                tracing::debug!(%room, from, count = messages.len(), "filled from the store");
            }
            shared.publish_all(messages);
        }
        Err(e) => tracing::warn!(%room, "cannot fill a gap from the store yet: {e}"),
    }
}

/// Keeps this node's people listed in Redis: writes them again every
/// [`REFRESH_EVERY`] (and at once after a resync), reading back who is in the rooms
/// served here through the other nodes, and the busiest rooms for the room list. A room
/// no longer served is sent once more with nobody, so that Redis counts it again.
async fn refresh_presence(shared: Arc<Shared>, resync: Arc<Notify>, shutdown: CancellationToken) {
    let mut before: HashSet<RoomId> = HashSet::new();
    loop {
        let mut mine = shared.rooms().local_presence();
        let now: HashSet<RoomId> = mine.iter().map(|(room, _)| room.clone()).collect();
        mine.extend(before.difference(&now).map(|room| (room.clone(), Vec::new())));
        before = now;
        let written: Vec<(RoomId, UserId)> =
            mine.iter().flat_map(|(room, users)| users.iter().map(|u| (room.clone(), u.id.clone()))).collect();
        if let Some(present) = shared.bus.refresh(mine).await {
            apply(&shared, present);
        }
        // Someone who left while their entry was written again: taken away once more,
        // after it, or it would hold for another 20 s.
        let gone: Vec<(RoomId, UserId)> = {
            let rooms = shared.rooms();
            let here = |room: &RoomId, user: &UserId| rooms.live.get(room).is_some_and(|r| r.online.contains_key(user));
            written.into_iter().filter(|(room, user)| !here(room, user)).collect()
        };
        for (room, user) in gone {
            shared.bus.publish(Event::Gone { room, user });
        }
        tokio::select! {
            () = tokio::time::sleep(REFRESH_EVERY) => {}
            () = resync.notified() => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Puts who Redis says is in some rooms (and the busiest rooms) in place.
fn apply(shared: &Shared, present: Present) {
    let mut rooms = shared.rooms();
    let mut changed = false;
    for (room, entries) in present.rooms {
        changed |= rooms.remote_room(&room, entries);
    }
    if let Some(busy) = present.busy {
        changed |= rooms.set_busy(busy);
    }
    drop(rooms);
    shared.presence_read.notify_waiters();
    if changed {
        shared.directory_dirty.notify_one();
    }
}

impl Hub {
    /// Tells the other nodes, as this node shuts down, that nobody is here any more, so
    /// its people leave their lists at once rather than when their entries lapse.
    pub async fn leave_cluster(&self) {
        if self.shared.bus.spans_nodes() {
            let here = self.shared.rooms().local_presence();
            for (room, users) in here {
                for user in users {
                    self.shared.bus.publish(Event::Gone { room: room.clone(), user: user.id });
                }
            }
            self.shared.bus.flush(Duration::from_secs(1)).await;
        }
    }
}
