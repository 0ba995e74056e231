//! Who sees what and moderation, in the store, checked on both backends (a check of
//! `store/tests.rs`'s suite): rooms' rules and people, what each person's reads and
//! searches reach, removed messages, roles, suspension, the audit log and reports.

use super::accounts::{Expiry, Made, NewAccount, Role, Which};
use super::rooms::{AuditEntry, AuditQuery, Kind, Posting, RoomRules};
use super::tests::{new, Reopen};
use super::Post;
use palaver_protocol::{ClientMsgId, RoomId, User, UserId};

fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

fn id(s: &str) -> UserId {
    UserId(s.into())
}

fn account(user: &str, role: Role) -> NewAccount {
    NewAccount {
        user: User { id: id(user), name: user.to_uppercase(), handle: Some(user.into()) },
        handle: user.into(),
        handle_key: user.into(),
        role,
        password: None,
        invite: None,
    }
}

pub(super) async fn who_sees_what(open: Reopen) {
    let store = open().await;
    let now = 1_000_000;
    // A room nobody made is public; a name that has messages is taken.
    assert_eq!(store.room_rules(&room("open")).await.unwrap(), RoomRules::default());
    store.append(vec![new("open", "ann", "o1", "hello plans"), new("secret", "ann", "s0", "taken")]).await.unwrap();
    let private = RoomRules { kind: Kind::Private, made: true, members: vec![id("ann")], ..RoomRules::default() };
    assert!(!store.make_room(&room("secret"), &private, Some(&id("ann")), now).await.unwrap(), "has messages");
    assert!(store.make_room(&room("plans"), &private, Some(&id("ann")), now).await.unwrap());
    assert!(!store.make_room(&room("plans"), &private, None, now).await.unwrap(), "made already");
    let rules = open().await.room_rules(&room("plans")).await.unwrap();
    assert_eq!((rules.kind, rules.made, rules.members.clone()), (Kind::Private, true, vec![id("ann")]));
    store.set_member(&room("plans"), &id("bob"), false, Some(&id("ann")), now + 1).await.unwrap();
    store.append(vec![new("plans", "ann", "p1", "secret plans for bob")]).await.unwrap();
    assert_eq!(store.rooms_of(&id("bob")).await.unwrap(), [room("plans")]);
    assert_eq!(store.unlisted().await.unwrap(), [room("plans")]);

    // Search finds a private room's messages for its members only.
    let query = crate::words::query("plans").unwrap();
    let rooms_found = |reader: &'static str| {
        let (store, query) = (store.clone(), query.clone());
        async move {
            let found = store.search(&query, reader, None, 10).await.unwrap();
            found.into_iter().map(|f| f.message.room.as_str().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(rooms_found("bob").await, ["plans", "open"]);
    assert_eq!(rooms_found("cat").await, ["open"], "not listed");
    assert_eq!(rooms_found("").await, ["open"], "a visitor");

    // Unread counts and mentions elsewhere reach only rooms one may read.
    let mention = |to: &str, idn: &str| {
        let to = User { id: id(to), name: to.to_uppercase(), handle: None };
        new("plans", "ann", idn, "hey").mentioning(vec![to])
    };
    store.append(vec![mention("cat", "p2"), mention("bob", "p3")]).await.unwrap();
    let unread_rooms = |who: &'static str| {
        let store = store.clone();
        async move { store.unread(&id(who)).await.unwrap().into_iter().map(|u| u.room).collect::<Vec<_>>() }
    };
    assert_eq!(unread_rooms("bob").await, [room("plans")]);
    assert!(unread_rooms("cat").await.is_empty(), "named in a room she may not read");
    store.mark_read(vec![(id("bob"), room("plans"), 1)]).await.unwrap();
    // Removed: no longer listed, found, or counted.
    store.set_member(&room("plans"), &id("bob"), true, Some(&id("ann")), now + 2).await.unwrap();
    let rules = store.room_rules(&room("plans")).await.unwrap();
    assert_eq!((rules.members, rules.removed), (vec![id("ann")], vec![id("bob")]));
    assert!(store.rooms_of(&id("bob")).await.unwrap().is_empty());
    assert_eq!(rooms_found("bob").await, ["open"]);
    assert!(unread_rooms("bob").await.is_empty());
    // Removed from a public room: the same.
    store.set_member(&room("open"), &id("bob"), true, None, now + 3).await.unwrap();
    assert!(rooms_found("bob").await.is_empty());

    // Rules change; what changed lately is what every node reads again.
    let (changed, _) = store.changed_since(now + 2).await.unwrap();
    assert_eq!(changed, [room("open")]);
    let (title, topic) = ("Company news".to_owned(), "news".to_owned());
    let announcements = RoomRules { posting: Posting::Admins, title, topic, ..RoomRules::default() };
    store.set_rules(&room("news"), &announcements, None, now + 10).await.unwrap();
    let archived = RoomRules { archived: true, ..RoomRules::default() };
    store.set_rules(&room("open"), &archived, None, now + 11).await.unwrap();
    let (changed, _) = store.changed_since(now + 5).await.unwrap();
    assert_eq!(changed.len(), 2);
    let news = store.room_rules(&room("news")).await.unwrap();
    assert_eq!((news.posting, news.topic.as_str(), news.made), (Posting::Admins, "news", true));
    assert_eq!(news.title, "Company news", "the name it is shown by");
    assert_eq!(store.unlisted().await.unwrap(), [room("open"), room("plans")]);
    let rows: Vec<(String, i64, String)> = store
        .room_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.room.as_str().to_owned(), r.members, r.title))
        .collect();
    let row = |name: &str, members, title: &str| (name.to_owned(), members, title.to_owned());
    assert_eq!(rows, [row("news", 0, "Company news"), row("open", 0, ""), row("plans", 1, "")]);
}

pub(super) async fn moderation_roles_suspension_audit_and_reports(open: Reopen) {
    let store = open().await;
    let now = 2_000_000;
    for (user, role) in [("own", Role::Owner), ("adm", Role::Admin), ("mem", Role::Member)] {
        assert_eq!(store.make_account(account(user, role), now).await.unwrap(), Made::Made);
    }
    // An admin takes someone's message down: deleted, marked removed, in history too.
    store.append(vec![new("r", "mem", "m1", "rude words")]).await.unwrap();
    let admin = User { id: id("adm"), name: "ADM".into(), handle: None };
    let removal = Post::remove(room("r"), admin, ClientMsgId("x1".into()), 1);
    store.append(vec![removal]).await.unwrap();
    let all = open().await.after(&room("r"), 0, 10).await.unwrap();
    assert!(all[0].deleted && all[0].removed && all[0].text.is_empty(), "{:?}", all[0]);
    assert!(all[1].removed, "the event says so too");
    let found = store.search(&crate::words::query("rude").unwrap(), "", None, 10).await.unwrap();
    assert!(found.is_empty());

    // A person's own messages, as they are now, room by room, a page at a time.
    store
        .append(vec![
            new("a", "mem", "m2", "first"),
            new("b", "mem", "m3", "second"),
            new("a", "own", "o1", "not hers"),
        ])
        .await
        .unwrap();
    let page = store.messages_by(&id("mem"), "", 0, 2).await.unwrap();
    let texts = |p: &[palaver_protocol::ChatMessage]| p.iter().map(|m| m.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&page), ["first", "second"]);
    let last = page.last().unwrap();
    let rest = store.messages_by(&id("mem"), last.room.as_str(), last.seq, 2).await.unwrap();
    assert_eq!(rest.len(), 1, "the removed one, with no text: {rest:?}");
    assert!(rest[0].removed && rest[0].text.is_empty());

    // Roles below the owner's; ownership moves whole.
    assert!(store.set_role(&id("mem"), Role::Admin, now + 1).await.unwrap());
    assert!(!store.set_role(&id("own"), Role::Member, now + 1).await.unwrap(), "the owner's, by a transfer only");
    assert!(!store.set_role(&id("mem"), Role::Owner, now + 1).await.unwrap());
    assert!(store.transfer_ownership(&id("own"), &id("adm"), now + 2).await.unwrap());
    assert!(!store.transfer_ownership(&id("own"), &id("mem"), now + 2).await.unwrap(), "no longer the owner");
    let role = |user: &'static str| {
        let store = store.clone();
        async move { store.account(&id(user)).await.unwrap().unwrap().role }
    };
    assert_eq!((role("own").await, role("adm").await, role("mem").await), (Role::Admin, Role::Owner, Role::Admin));
    let (_, people) = store.changed_since(now).await.unwrap();
    assert_eq!(people.len(), 3);

    // Suspended: sessions and tokens refused, listed as such.
    let expiry = Expiry { idle_ms: 1_000_000, absolute_ms: 10_000_000 };
    store.start_session("s-mem".into(), &id("mem"), "127.0.0.1", "test", now).await.unwrap();
    store.add_token("t-mem".into(), &id("mem"), "bot", now).await.unwrap();
    assert!(store.session("s-mem", now + 5, expiry).await.unwrap().is_some());
    assert!(store.set_suspended(&id("mem"), true, now + 5).await.unwrap());
    assert!(!store.set_suspended(&id("mem"), true, now + 5).await.unwrap(), "already");
    assert!(store.session("s-mem", now + 6, expiry).await.unwrap().is_none());
    assert!(store.token("t-mem").await.unwrap().is_none());
    let listed = store.people("", 10).await.unwrap();
    let mem = listed.iter().find(|p| p.account.handle == "mem").unwrap();
    assert!(mem.account.suspended && mem.sessions == 1 && mem.last_seen == Some(now));
    assert_eq!(listed.iter().map(|p| p.account.handle.as_str()).collect::<Vec<_>>(), ["adm", "mem", "own"]);
    assert!(store.set_suspended(&id("mem"), false, now + 7).await.unwrap());
    assert!(store.session("s-mem", now + 8, expiry).await.unwrap().is_some());
    store.end_sessions(&id("mem"), Which::All, now + 8, expiry).await.unwrap();

    // The audit log: newest first, by person and kind, paged, forgotten past its time.
    for (at, kind, actor) in [(10, "sign_in", "mem"), (20, "suspended", "adm"), (30, "sign_in", "adm")] {
        let entry = AuditEntry::new(kind).by(&id(actor)).to(&id("mem")).from("127.0.0.1", "Firefox");
        store.audit(entry.in_room(&room("r")), now + at).await.unwrap();
    }
    let log = |q: AuditQuery| {
        let store = store.clone();
        async move { store.audit_log(&q).await.unwrap().into_iter().map(|r| r.entry.kind).collect::<Vec<_>>() }
    };
    let all = AuditQuery { limit: 10, ..AuditQuery::default() };
    assert_eq!(log(all.clone()).await, ["sign_in", "suspended", "sign_in"]);
    let first = store.audit_log(&all).await.unwrap();
    assert_eq!(first[2].entry.actor, Some(id("mem")));
    assert_eq!((first[2].entry.address.as_str(), first[2].entry.room.clone()), ("127.0.0.1", Some(room("r"))));
    assert_eq!(log(AuditQuery { kind: Some("sign_in".into()), ..all.clone() }).await.len(), 2);
    assert_eq!(log(AuditQuery { person: Some(id("adm")), ..all.clone() }).await.len(), 2);
    assert_eq!(log(AuditQuery { before: Some(first[0].id), limit: 1, ..all.clone() }).await, ["suspended"]);
    assert_eq!(log(AuditQuery { since: now + 15, ..all.clone() }).await.len(), 2);
    assert_eq!(store.prune_audit(now + 25).await.unwrap(), 2);
    assert_eq!(log(all).await, ["sign_in"]);

    // Reports: once per person and message, until an admin closes them.
    assert!(store.report(&room("r"), 1, &id("own"), "rude", now).await.unwrap());
    assert!(!store.report(&room("r"), 1, &id("own"), "again", now).await.unwrap());
    assert!(store.report(&room("r"), 1, &id("mem"), "", now).await.unwrap());
    let open_reports = store.open_reports(10).await.unwrap();
    assert_eq!(open_reports.len(), 2);
    assert_eq!((open_reports[1].reporter.clone(), open_reports[1].reason.as_str()), (id("own"), "rude"));
    assert!(store.close_report(open_reports[1].id, &id("adm"), now).await.unwrap());
    assert!(!store.close_report(open_reports[1].id, &id("adm"), now).await.unwrap());
    assert_eq!(store.open_reports(10).await.unwrap().len(), 1);

    // Deleting an account: it is gone, its messages shown under another name if kept.
    store.delete_account(&id("mem"), Some("deleted account")).await.unwrap();
    assert!(store.account(&id("mem")).await.unwrap().is_none());
    let kept = store.after(&room("a"), 0, 10).await.unwrap();
    assert_eq!((kept[0].author.name.as_str(), kept[0].author.handle.clone()), ("deleted account", None));
    assert!(store.people_named(vec!["MEM".into()], 5).await.unwrap().is_empty(), "no longer named");
    let again = NewAccount {
        user: User { id: id("mem2"), ..account("mem", Role::Member).user },
        ..account("mem", Role::Member)
    };
    assert_eq!(store.make_account(again, now).await.unwrap(), Made::Made, "the handle is free");
    assert_eq!(store.after(&room("a"), 0, 10).await.unwrap()[0].author.handle, None, "not the new one's");
}
