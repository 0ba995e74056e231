//! Who sees what, and moderation, over the store: rooms made and changed, people added
//! to and removed from rooms, direct conversations, roles changed, ownership
//! transferred, accounts suspended. Each checks who may do it (an account by its role,
//! or the operator at the CLI), keeps an event in the audit log and, on a server,
//! tells every node at once (the hub); the CLI's changes reach running nodes within
//! about a second (they read what changed lately from the store).

use super::audit;
use super::{names, now_ms, Auth};
use crate::access::Creators;
use crate::identity::Credential;
use crate::store::accounts::{Account, Role, Which};
use crate::store::rooms::{AuditEntry, Kind, RoomRules, MAX_DIRECT};
use crate::store::StoreError;
use palaver_protocol::{Level, RoomId, UserId};
use sha2::{Digest, Sha256};
use std::fmt;

/// The name messages of a deleted account are shown under, where they are kept.
pub const DELETED_ACCOUNT: &str = "deleted account";

/// Who does it: an account, or the operator at the CLI (who may do what the owner may).
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Operator,
    Account(&'a Account),
}

impl By<'_> {
    fn id(&self) -> Option<&UserId> {
        match self {
            By::Operator => None,
            By::Account(a) => Some(&a.user.id),
        }
    }

    fn role(&self) -> Role {
        match self {
            By::Operator => Role::Owner,
            By::Account(a) => a.role,
        }
    }

    fn is_admin(&self) -> bool {
        self.role() >= Role::Admin
    }

    fn entry(&self, kind: &str) -> AuditEntry {
        let entry = AuditEntry::new(kind);
        match self.id() {
            Some(id) => entry.by(id),
            None => entry.saying("by the operator"),
        }
    }
}

/// The longest name a room is shown by, in characters.
pub const MAX_TITLE: usize = 80;

/// Why it was not done.
#[derive(Debug)]
pub enum Denied {
    /// Not theirs to do: why.
    NotAllowed(&'static str),
    NoSuchPerson(String),
    /// No such room, or one they may not see.
    NoSuchRoom(RoomId),
    /// A room of that name exists.
    Taken(RoomId),
    Store(StoreError),
}

impl From<StoreError> for Denied {
    fn from(e: StoreError) -> Denied {
        Denied::Store(e)
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denied::NotAllowed(why) => f.write_str(why),
            Denied::NoSuchPerson(handle) => write!(f, "there is no account @{handle}"),
            Denied::NoSuchRoom(room) => write!(f, "there is no room {room}"),
            Denied::Taken(room) => write!(f, "a room named {room} exists already"),
            Denied::Store(e) => write!(f, "the store failed: {e}"),
        }
    }
}

/// The name of the direct conversation of these people (in any order): the same
/// people always have the same one, and the name tells nothing of who they are.
pub fn direct_name(key: &[u8; 32], people: &[UserId]) -> RoomId {
    let mut ids: Vec<&str> = people.iter().map(UserId::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hash = Sha256::new();
    hash.update(key);
    for id in ids {
        hash.update(id.as_bytes());
        hash.update([0]);
    }
    let hex: String = hash.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect();
    RoomId::parse(&format!("{}{hex}", crate::access::DIRECT_PREFIX)).unwrap_or_else(|_| RoomId::lobby())
}

impl Auth {
    /// The account of a handle (as typed: `@` and case do not matter).
    pub async fn account_of(&self, handle: &str) -> Result<Account, Denied> {
        let typed = handle.trim().trim_start_matches('@').to_lowercase();
        let key = names::handle(&typed).map(|h| names::key(&h)).unwrap_or_else(|_| typed.clone());
        self.store.account_by_key(&key).await?.ok_or(Denied::NoSuchPerson(typed))
    }

    /// A room's rules or people changed: every node applies them now.
    async fn tell_rules(&self, room: &RoomId) {
        if let Some(hub) = &self.hub {
            if let Err(e) = hub.rules_changed(room).await {
                tracing::warn!(%room, "cannot apply a room's new rules: {e}");
            }
        }
    }

    /// Makes a public or private room, its maker and `members` (handles) listed in a
    /// private one.
    pub async fn make_room(
        &self,
        by: By<'_>,
        room: &RoomId,
        kind: Kind,
        topic: &str,
        members: &[String],
    ) -> Result<(), Denied> {
        let may = match by {
            By::Operator => true,
            By::Account(a) => {
                self.settings.creators.admit(&crate::access::Reader::Member { id: a.user.id.clone(), role: a.role })
            }
        };
        if !may {
            let why = match self.settings.creators {
                Creators::Admins => "only admins make rooms here",
                Creators::Members => "only members make rooms",
            };
            return Err(Denied::NotAllowed(why));
        }
        if kind == Kind::Direct || room.as_str().starts_with(crate::access::DIRECT_PREFIX) {
            return Err(Denied::NotAllowed("a direct conversation is started with the people in it"));
        }
        if kind != Kind::Public && *room == RoomId::lobby() {
            return Err(Denied::NotAllowed("the lobby is open to everyone"));
        }
        let mut rules = RoomRules { kind, topic: topic.trim().to_owned(), made: true, ..RoomRules::default() };
        if kind == Kind::Private {
            rules.members.extend(by.id().cloned());
            for handle in members {
                rules.members.push(self.account_of(handle).await?.user.id);
            }
        }
        rules.members.sort();
        rules.members.dedup();
        if !self.store.make_room(room, &rules, by.id(), now_ms()).await? {
            return Err(Denied::Taken(room.clone()));
        }
        let detail = format!("{} room", kind.as_str());
        self.audit(by.entry(audit::ROOM_MADE).in_room(room).saying(detail)).await;
        for member in &rules.members {
            self.put_on_list(member, room).await;
        }
        self.tell_rules(room).await;
        Ok(())
    }

    /// Changes a room's kind (public or private), the name it is shown by, its topic,
    /// posting and archived: admins. Made private, a room lists its maker and whoever has
    /// it on their list now; the lobby stays public and open. Its address stays its name.
    pub async fn change_room(&self, by: By<'_>, room: &RoomId, mut new: RoomRules) -> Result<(), Denied> {
        if !by.is_admin() {
            return Err(Denied::NotAllowed("only admins change a room's settings"));
        }
        new.title = new.title.trim().to_owned();
        if new.title.chars().count() > MAX_TITLE || new.title.chars().any(char::is_control) {
            return Err(Denied::NotAllowed("a room's name shown is one line of at most 80 characters"));
        }
        let old = self.store.room_rules(room).await?;
        if old.kind == Kind::Direct || new.kind == Kind::Direct {
            return Err(Denied::NotAllowed("a direct conversation keeps its people and its kind"));
        }
        if *room == RoomId::lobby() && (new.kind != Kind::Public || new.archived) {
            return Err(Denied::NotAllowed("the lobby is open to everyone"));
        }
        let now = now_ms();
        self.store.set_rules(room, &new, by.id(), now).await?;
        let mut said = Vec::new();
        if old.kind != new.kind {
            said.push(format!("kind {} → {}", old.kind.as_str(), new.kind.as_str()));
        }
        if old.posting != new.posting {
            said.push(format!("posting {} → {}", old.posting.as_str(), new.posting.as_str()));
        }
        if old.archived != new.archived {
            said.push(if new.archived { "archived" } else { "unarchived" }.to_owned());
        }
        if old.title != new.title {
            said.push("name shown".to_owned());
        }
        if old.topic != new.topic {
            said.push("topic".to_owned());
        }
        self.audit(by.entry(audit::ROOM_CHANGED).in_room(room).saying(said.join(", "))).await;
        self.tell_rules(room).await;
        Ok(())
    }

    /// Lists someone in a private room (its members and admins may), or lets someone
    /// removed from a public room back in (admins).
    pub async fn add_member(&self, by: By<'_>, room: &RoomId, handle: &str) -> Result<(), Denied> {
        let rules = self.store.room_rules(room).await?;
        let listed = by.id().is_some_and(|id| rules.members.binary_search(id).is_ok());
        match rules.kind {
            Kind::Direct => return Err(Denied::NotAllowed("a direct conversation keeps its people")),
            Kind::Private if !(listed || by.is_admin()) => return Err(Denied::NoSuchRoom(room.clone())),
            Kind::Public if !by.is_admin() => return Err(Denied::NotAllowed("only admins let people back in")),
            _ => {}
        }
        let person = self.account_of(handle).await?;
        self.store.set_member(room, &person.user.id, false, by.id(), now_ms()).await?;
        self.audit(by.entry(audit::MEMBER_ADDED).to(&person.user.id).in_room(room)).await;
        if rules.kind == Kind::Private {
            self.put_on_list(&person.user.id, room).await;
        }
        self.tell_rules(room).await;
        Ok(())
    }

    /// Removes someone from a room (admins; anyone may leave a private room): they stop
    /// receiving it at once, on every node, and cannot read it again.
    pub async fn remove_member(&self, by: By<'_>, room: &RoomId, handle: &str) -> Result<(), Denied> {
        let person = self.account_of(handle).await?;
        let rules = self.store.room_rules(room).await?;
        let themselves = by.id() == Some(&person.user.id);
        if rules.kind == Kind::Direct && !themselves {
            return Err(Denied::NotAllowed("a direct conversation keeps its people"));
        }
        if !(by.is_admin() || themselves && rules.kind == Kind::Private) {
            return Err(Denied::NotAllowed("only admins remove people from a room"));
        }
        if person.role == Role::Owner && !themselves {
            return Err(Denied::NotAllowed("nobody removes the owner"));
        }
        self.store.set_member(room, &person.user.id, true, by.id(), now_ms()).await?;
        self.audit(by.entry(audit::MEMBER_REMOVED).to(&person.user.id).in_room(room)).await;
        self.tell_rules(room).await;
        match &self.hub {
            Some(hub) => hub.leave_for_good(&person.user.id, room).await?,
            None => self.store.forget_room(&person.user.id, room).await?,
        }
        Ok(())
    }

    /// The direct conversation of `by` and these people (handles): made the first time,
    /// the same one after. Every message in it notifies the others.
    pub async fn direct(&self, by: &Account, handles: &[String]) -> Result<RoomId, Denied> {
        let mut people = vec![by.user.id.clone()];
        for handle in handles {
            let person = self.account_of(handle).await?;
            if person.suspended {
                return Err(Denied::NoSuchPerson(person.handle));
            }
            people.push(person.user.id);
        }
        people.sort();
        people.dedup();
        if people.len() < 2 || people.len() > MAX_DIRECT {
            return Err(Denied::NotAllowed("a direct conversation has 2 to 8 people"));
        }
        let room = direct_name(&self.identity.derive_key(b"palaver direct conversations"), &people);
        let rules = RoomRules { kind: Kind::Direct, made: true, members: people.clone(), ..RoomRules::default() };
        if self.store.make_room(&room, &rules, Some(&by.user.id), now_ms()).await? {
            for person in &people {
                self.put_on_list(person, &room).await;
                if let Some(hub) = &self.hub {
                    hub.set_level(person, &room, Level::All).await?;
                }
            }
            self.tell_rules(&room).await;
        }
        Ok(room)
    }

    /// Puts a room on someone's list, in all their tabs (read from its start).
    async fn put_on_list(&self, user: &UserId, room: &RoomId) {
        let done = match &self.hub {
            Some(hub) => {
                hub.mark_read(user, room, 0);
                Ok(())
            }
            None => self.store.mark_read(vec![(user.clone(), room.clone(), 0)]).await,
        };
        if let Err(e) = done {
            tracing::warn!(%room, "cannot put a room on someone's list: {e}");
        }
    }

    /// Gives someone a role below the owner's: the owner (or the operator) alone, for
    /// an admin is not below an admin.
    pub async fn set_role(&self, by: By<'_>, handle: &str, role: Role) -> Result<(), Denied> {
        let person = self.account_of(handle).await?;
        if role == Role::Owner {
            return Err(Denied::NotAllowed("the owner hands ownership on with a transfer"));
        }
        if person.role >= by.role() || role >= by.role() {
            return Err(Denied::NotAllowed("only roles below your own can be changed"));
        }
        if person.role == role {
            return Ok(());
        }
        if !self.store.set_role(&person.user.id, role, now_ms()).await? {
            return Err(Denied::NotAllowed("the owner's role changes only by a transfer"));
        }
        let detail = format!("{} → {}", person.role.as_str(), role.as_str());
        self.audit(by.entry(audit::ROLE_CHANGED).to(&person.user.id).saying(detail)).await;
        if let Some(hub) = &self.hub {
            hub.role_changed(&person.user.id, Some(role));
        }
        Ok(())
    }

    /// Makes someone the owner, and the owner an admin: the owner alone.
    pub async fn transfer_ownership(&self, by: By<'_>, handle: &str) -> Result<(), Denied> {
        let person = self.account_of(handle).await?;
        let owner = match by {
            By::Account(a) if a.role == Role::Owner => a.clone(),
            By::Account(_) => return Err(Denied::NotAllowed("only the owner hands ownership on")),
            By::Operator => {
                match self.store.people("", usize::MAX >> 1).await?.into_iter().find(|p| p.account.role == Role::Owner)
                {
                    Some(p) => p.account,
                    None => return Err(Denied::NotAllowed("this Palaver has no owner yet")),
                }
            }
        };
        if person.suspended || !self.store.transfer_ownership(&owner.user.id, &person.user.id, now_ms()).await? {
            return Err(Denied::NotAllowed("ownership can go to an account in good standing only"));
        }
        let entry = by.entry(audit::OWNERSHIP_TRANSFERRED).to(&person.user.id);
        self.audit(entry.saying(format!("from @{}", owner.handle))).await;
        if let Some(hub) = &self.hub {
            hub.role_changed(&owner.user.id, Some(Role::Admin));
            hub.role_changed(&person.user.id, Some(Role::Owner));
        }
        Ok(())
    }

    /// Deletes one's own account: signed out everywhere, its profile, sessions, tokens,
    /// passkeys and lists gone, the handle free again. Its messages stay, shown as "deleted
    /// account", or (`remove`) are taken back one by one as its own deletes, so every
    /// page drops their text at once. The owner hands on ownership first.
    pub async fn delete_account(&self, account: &Account, remove: bool) -> Result<(), Denied> {
        if account.role == Role::Owner {
            return Err(Denied::NotAllowed("the owner hands on ownership before deleting the account"));
        }
        let id = &account.user.id;
        self.sign_out_everywhere(id).await?;
        if let (Some(hub), true) = (&self.hub, remove) {
            self.take_back_all(hub, account).await?;
        }
        self.store.delete_account(id, (!remove).then_some(DELETED_ACCOUNT)).await?;
        let said = if remove { "messages removed" } else { "messages kept" };
        self.audit(AuditEntry::new(audit::ACCOUNT_DELETED).to(id).saying(said)).await;
        Ok(())
    }

    /// Ends all of a person's sessions, and closes the sockets of their sessions and
    /// access tokens on every node.
    async fn sign_out_everywhere(&self, id: &UserId) -> Result<(), StoreError> {
        self.end_sessions(id, Which::All).await?;
        let tokens = self.store.tokens(id).await?;
        if let Some(hub) = &self.hub {
            hub.sign_out(id, tokens.into_iter().map(|(token, _, _)| Credential::Token(token)).collect());
        }
        Ok(())
    }

    /// Every message of the account taken back, as its own deletes (in each room's order).
    async fn take_back_all(&self, hub: &crate::hub::Hub, account: &Account) -> Result<(), Denied> {
        let (mut room, mut seq) = (String::new(), 0);
        loop {
            let page = self.store.messages_by(&account.user.id, &room, seq, 500).await?;
            let mut waits = Vec::new();
            for m in page.iter().filter(|m| !m.deleted) {
                let id = crate::identity::fresh_id().map_err(|_| Denied::NotAllowed("no randomness just now"))?;
                let post = crate::store::Post::delete(m.room.clone(), account.user.clone(), id, m.seq);
                waits.push(hub.submit(post).await?);
            }
            for wait in waits {
                wait.await?;
            }
            match page.last() {
                Some(last) if page.len() == 500 => (room, seq) = (last.room.to_string(), last.seq),
                _ => return Ok(()),
            }
        }
    }

    /// Suspends an account (or lifts it): its sessions end, its connections close on
    /// every node, and it cannot sign in; its messages stay. Admins suspend members;
    /// the owner, admins too; nobody, the owner.
    pub async fn suspend(&self, by: By<'_>, handle: &str, suspended: bool) -> Result<(), Denied> {
        let person = self.account_of(handle).await?;
        if person.role >= by.role() || person.role == Role::Owner {
            return Err(Denied::NotAllowed("only people of a role below your own can be suspended"));
        }
        let id = &person.user.id;
        if !self.store.set_suspended(id, suspended, now_ms()).await? {
            return Ok(());
        }
        if suspended {
            self.sign_out_everywhere(id).await?;
            if let Some(hub) = &self.hub {
                hub.role_changed(id, None);
            }
        } else if let Some(hub) = &self.hub {
            hub.role_changed(id, Some(person.role));
        }
        let kind = if suspended { audit::SUSPENDED } else { audit::UNSUSPENDED };
        self.audit(by.entry(kind).to(id)).await;
        Ok(())
    }
}
