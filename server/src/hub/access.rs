//! What the hub knows of who sees what: each room's rules, read from the store the
//! first time they are asked for and kept until they change (on this node, or on
//! another: the `rules` bus event); which rooms are out of the lists; and the role of
//! each member connected here. When a room's rules change, whoever may no longer read
//! it is taken out of its fan-out at once (see `Listener::admits`), and those still in
//! it are told its new name and topic.

use super::{Hub, Shared};
use crate::access::{may_read, Reader};
use crate::bus::Event;
use crate::store::accounts::Role;
use crate::store::rooms::{Kind, RoomRules};
use crate::store::{Store, StoreError};
use palaver_protocol::{RoomAbout, RoomId, ServerMsg, UserId};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// Rules kept at most: past this many, the cache starts again (they are read again as
/// rooms are opened).
const MAX_KEPT: usize = 10_000;
/// How often each node reads what changed in the store lately (rooms' rules and people,
/// roles, suspensions): changes made where no bus reaches (the CLI), or whose event was
/// lost, apply within about this long.
const CHANGES_EVERY: Duration = Duration::from_secs(1);
/// How far back before the last reading each one looks: past the time one takes, and
/// the clocks of two machines apart.
const CHANGES_OVERLAP_MS: i64 = 5_000;

#[derive(Default)]
pub(super) struct Access {
    rules: HashMap<RoomId, Arc<RoomRules>>,
    /// The workspace role of each member who connected here, as it is now.
    roles: HashMap<UserId, Role>,
}

impl Shared {
    fn access(&self) -> std::sync::MutexGuard<'_, Access> {
        self.access.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A room's rules are now `rules`: kept, the room listed or not, and everyone here
    /// who may no longer read it out of its fan-out.
    pub(super) fn apply_rules(&self, room: &RoomId, rules: Arc<RoomRules>) {
        let renamed = {
            let mut access = self.access();
            if access.rules.len() >= MAX_KEPT {
                access.rules.clear();
            }
            let old = access.rules.insert(room.clone(), rules.clone());
            old.is_some_and(|old| (&old.title, &old.topic) != (&rules.title, &rules.topic))
        };
        let mut rooms = self.rooms();
        let unlisted = rules.archived || rules.kind != Kind::Public;
        let was = rooms.unlisted.contains(room);
        if unlisted != was {
            if unlisted {
                rooms.unlisted.insert(room.clone());
            } else {
                rooms.unlisted.remove(room);
            }
            rooms.relist(room);
            self.directory_dirty.notify_one();
        }
        if let Some(live) = rooms.live.get_mut(room) {
            live.feed.retain(&|reader: &Reader| may_read(&rules, reader));
            // Its new name and topic, to whoever is in it now.
            if let Some(about) = shared_about(room, &rules).filter(|_| renamed) {
                live.send(&ServerMsg::About { rooms: vec![about] });
            }
        }
        drop(rooms);
        // Their counts of it go too (only accounts are ever listed in a room, so a
        // follower is asked of as a member).
        let mut readers = self.readers();
        let gone: Vec<UserId> = readers
            .followers_of(room)
            .filter(|id| !may_read(&rules, &Reader::Member { id: (*id).clone(), role: Role::Member }))
            .cloned()
            .collect();
        for user in gone {
            readers.leave(&user, room);
        }
    }

    /// Events may have been lost (the bus reconnected): every room's rules and every
    /// role are read again as they are next needed, and the rooms open here now.
    pub(super) fn forget_access(self: &Arc<Self>, store: &Arc<dyn Store>) {
        {
            let mut access = self.access();
            access.rules.clear();
            access.roles.clear();
        }
        let live: Vec<RoomId> = self.rooms().live.keys().cloned().collect();
        for room in live {
            tokio::spawn(reload(store.clone(), self.clone(), room));
        }
    }

    /// `user`'s role is now `role` (`None`: no longer a member, or suspended).
    pub(super) fn apply_role(&self, user: &UserId, role: Option<Role>) {
        let mut access = self.access();
        match role {
            Some(role) => access.roles.insert(user.clone(), role),
            None => access.roles.remove(user),
        };
    }
}

/// A room's name and topic as its rules give them, the same for everyone in it (`None`
/// for a direct conversation, whose name depends on who looks).
pub(super) fn shared_about(room: &RoomId, rules: &RoomRules) -> Option<RoomAbout> {
    (rules.kind != Kind::Direct).then(|| RoomAbout {
        room: room.clone(),
        title: rules.title.clone(),
        topic: rules.topic.clone(),
    })
}

/// A room's rules: as kept, or read from the store.
pub(super) async fn rules_in(store: &dyn Store, shared: &Shared, room: &RoomId) -> Result<Arc<RoomRules>, StoreError> {
    if let Some(rules) = shared.access().rules.get(room) {
        return Ok(rules.clone());
    }
    let rules = Arc::new(store.room_rules(room).await?);
    shared.apply_rules(room, rules.clone());
    Ok(rules)
}

/// Reads a room's rules again and applies them (another node changed them).
pub(super) async fn reload(store: Arc<dyn Store>, shared: Arc<Shared>, room: RoomId) {
    match store.room_rules(&room).await {
        Ok(rules) => shared.apply_rules(&room, Arc::new(rules)),
        Err(e) => {
            // Not kept: the next reader reads them from the store.
            tracing::warn!(%room, "cannot read the room's new rules: {e}");
            shared.access().rules.remove(&room);
        }
    }
}

/// Applies what changed in the store lately, every [`CHANGES_EVERY`], until `shutdown`.
pub(super) async fn follow_changes(store: Arc<dyn Store>, shared: Arc<Shared>, shutdown: CancellationToken) {
    let now = crate::store::now_ms;
    let mut since = now();
    let mut failing = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(CHANGES_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
        let started = now();
        match store.changed_since(since - CHANGES_OVERLAP_MS).await {
            Ok((rooms, people)) => {
                failing = false;
                since = started;
                for room in rooms {
                    reload(store.clone(), shared.clone(), room).await;
                }
                for (user, role, suspended) in people {
                    if suspended {
                        shared.sign_out_person(&user);
                        shared.apply_role(&user, None);
                    } else {
                        shared.apply_role(&user, Role::parse(&role));
                    }
                }
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("cannot read what changed in rooms and roles (trying again each second): {e}");
            }
            Err(_) => {}
        }
    }
}

impl Hub {
    /// A room's rules: as kept, or read from the store.
    pub async fn rules(&self, room: &RoomId) -> Result<Arc<RoomRules>, StoreError> {
        rules_in(self.store.as_ref(), &self.shared, room).await
    }

    /// Whether `reader` may read `room` by its rules.
    pub async fn may_read(&self, reader: &Reader, room: &RoomId) -> Result<bool, StoreError> {
        Ok(may_read(&*self.rules(room).await?, reader))
    }

    /// A room's rules or people changed in the store: applied here, then on every node.
    pub async fn rules_changed(&self, room: &RoomId) -> Result<(), StoreError> {
        let rules = Arc::new(self.store.room_rules(room).await?);
        self.shared.apply_rules(room, rules);
        self.shared.bus.publish(Event::Rules { room: room.clone() });
        Ok(())
    }

    /// A member connected here with this role (as the store had it then).
    pub fn role_seen(&self, user: &UserId, role: Role) {
        self.shared.access().roles.insert(user.clone(), role);
    }

    /// A member's role as it is now, if they connected here.
    pub fn role(&self, user: &UserId) -> Option<Role> {
        self.shared.access().roles.get(user).copied()
    }

    /// A member's role changed (or they were suspended: `None`): here, and on every node.
    pub fn role_changed(&self, user: &UserId, role: Option<Role>) {
        self.shared.apply_role(user, role);
        self.shared.bus.publish(Event::Role { user: user.clone(), role: role.map(|r| r.as_str().to_owned()) });
    }
}
