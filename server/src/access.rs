//! Who may read and post where: each room kind's and each role's rules, as decisions
//! over a room's rules (`store::rooms::RoomRules`) and who is asking. Every path a
//! message can take asks here (see docs/SECURITY.md, "Who sees what").

use crate::store::accounts::Role;
use crate::store::rooms::{Kind, Posting, RoomRules};
use palaver_protocol::{ErrorReason, FrameError, RoomId, UserId};

/// How a direct conversation's name begins: such a room is made only as a direct
/// conversation, never by joining its name.
pub const DIRECT_PREFIX: &str = "dm-";

/// Who is asking: someone who has said nothing yet, a guest (no account), or a member
/// (an account) with their workspace role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reader {
    Visitor,
    Guest(UserId),
    Member { id: UserId, role: Role },
}

impl Reader {
    pub fn id(&self) -> Option<&UserId> {
        match self {
            Reader::Visitor => None,
            Reader::Guest(id) | Reader::Member { id, .. } => Some(id),
        }
    }

    pub fn is_member(&self) -> bool {
        matches!(self, Reader::Member { .. })
    }

    /// An admin or the owner.
    pub fn is_admin(&self) -> bool {
        matches!(self, Reader::Member { role: Role::Admin | Role::Owner, .. })
    }
}

/// Who may make rooms (`PALAVER_ROOM_CREATORS`): members (the default) or admins
/// only. Guests never.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Creators {
    #[default]
    Members,
    Admins,
}

impl Creators {
    pub fn parse(s: &str) -> Option<Creators> {
        match s {
            "members" => Some(Creators::Members),
            "admins" => Some(Creators::Admins),
            _ => None,
        }
    }

    pub fn admit(self, reader: &Reader) -> bool {
        match self {
            Creators::Members => reader.is_member(),
            Creators::Admins => reader.is_admin(),
        }
    }
}

/// Whether `reader` may read a room with these rules: a public room unless they were
/// removed from it; a private or direct room if they are listed in it (only accounts
/// are ever listed). Whether guests may chat at all is the caller's to ask.
pub fn may_read(rules: &RoomRules, reader: &Reader) -> bool {
    let listed = |list: &[UserId]| reader.id().is_some_and(|id| list.binary_search(id).is_ok());
    if listed(&rules.removed) {
        return false;
    }
    match rules.kind {
        Kind::Public => true,
        Kind::Private | Kind::Direct => reader.is_member() && listed(&rules.members),
    }
}

/// Why `reader` may not post in a room they may read, if they may not.
pub fn may_post(rules: &RoomRules, reader: &Reader) -> Result<(), &'static str> {
    if rules.archived {
        Err("this room is archived: it can be read, not written in")
    } else if rules.posting == Posting::Admins && !reader.is_admin() {
        Err("only admins post in this room")
    } else {
        Ok(())
    }
}

/// The refusal of a room someone may not read: the same words whether the room exists
/// or not, so that a name tells nothing.
pub fn unreadable(room: &RoomId) -> FrameError {
    FrameError::new(ErrorReason::NotAllowed, format!("there is no room {room} that you may open"))
        .about(Some(room), None)
}

/// The refusal of a post, with why.
pub fn unwritable(room: &RoomId, why: &str) -> FrameError {
    FrameError::new(ErrorReason::NotAllowed, why).about(Some(room), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, role: Role) -> Reader {
        Reader::Member { id: UserId(id.into()), role }
    }

    fn private(members: &[&str]) -> RoomRules {
        let mut members: Vec<UserId> = members.iter().map(|m| UserId((*m).into())).collect();
        members.sort();
        RoomRules { kind: Kind::Private, made: true, members, ..RoomRules::default() }
    }

    #[test]
    fn a_private_room_is_read_by_those_listed_only_whatever_their_role() {
        let rules = private(&["ann", "bob"]);
        assert!(may_read(&rules, &member("ann", Role::Member)));
        assert!(!may_read(&rules, &member("cat", Role::Member)));
        // Admins see that it exists (the admin page), not what is said in it.
        assert!(!may_read(&rules, &member("owner", Role::Owner)));
        // A guest with a listed id is still not a member.
        assert!(!may_read(&rules, &Reader::Guest(UserId("ann".into()))));
        assert!(!may_read(&rules, &Reader::Visitor));
    }

    #[test]
    fn a_public_room_is_read_by_all_but_those_removed() {
        let mut rules = RoomRules::default();
        assert!(may_read(&rules, &Reader::Visitor));
        assert!(may_read(&rules, &Reader::Guest(UserId("g".into()))));
        rules.removed = vec![UserId("g".into())];
        assert!(!may_read(&rules, &Reader::Guest(UserId("g".into()))));
        assert!(may_read(&rules, &member("ann", Role::Member)));
    }

    #[test]
    fn archived_rooms_take_no_posts_and_announcements_take_admins_only() {
        let announcements = RoomRules { posting: Posting::Admins, ..RoomRules::default() };
        assert!(may_post(&announcements, &member("ann", Role::Member)).is_err());
        assert!(may_post(&announcements, &member("adm", Role::Admin)).is_ok());
        let archived = RoomRules { archived: true, ..RoomRules::default() };
        assert!(may_post(&archived, &member("own", Role::Owner)).is_err());
    }

    #[test]
    fn guests_never_make_rooms() {
        assert!(!Creators::Members.admit(&Reader::Guest(UserId("g".into()))));
        assert!(Creators::Members.admit(&member("ann", Role::Member)));
        assert!(!Creators::Admins.admit(&member("ann", Role::Member)));
        assert!(Creators::Admins.admit(&member("adm", Role::Admin)));
    }
}
