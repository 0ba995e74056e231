//! The store's accounts, checked on both backends (a check of `store/tests.rs`'s suite).

use super::accounts::{Expiry, Made, NewAccount, Role, Which};
use super::tests::Reopen;
use palaver_protocol::{User, UserId};

fn new(id: &str, handle: &str, key: &str, role: Role) -> NewAccount {
    NewAccount {
        user: User { id: UserId(id.into()), name: handle.to_uppercase(), handle: Some(handle.into()) },
        handle: handle.into(),
        handle_key: key.into(),
        role,
        password: Some(format!("hash of {handle}")),
        invite: None,
    }
}

const DAY: i64 = 86_400_000;

pub(super) async fn accounts_sessions_tokens_and_invites(open: Reopen) {
    let store = open().await;
    let now = 1_000 * DAY;
    assert!(!store.has_owner().await.unwrap());
    assert_eq!(store.make_account(new("u1", "ann", "ann", Role::Owner), now).await.unwrap(), Made::Made);
    assert!(store.has_owner().await.unwrap());
    assert_eq!(store.make_account(new("u2", "bo", "bo", Role::Owner), now).await.unwrap(), Made::OwnerTaken);
    assert_eq!(store.make_account(new("u2", "аnn", "ann", Role::Member), now).await.unwrap(), Made::HandleTaken);
    assert_eq!(store.make_account(new("u1", "ann2", "ann2", Role::Member), now).await.unwrap(), Made::AlreadyAnAccount);
    let ann = store.account_by_key("ann").await.unwrap().unwrap();
    assert_eq!((ann.handle.as_str(), ann.role, ann.user.name.as_str()), ("ann", Role::Owner, "ANN"));
    assert_eq!(ann.password.as_deref(), Some("hash of ann"));
    assert_eq!(store.account(&UserId("u1".into())).await.unwrap(), Some(ann.clone()));
    assert!(store.people_named(vec!["ann".into()], 5).await.unwrap().iter().any(|p| p.id.as_str() == "u1"));
    assert!(store.name_taken("ann", "x").await.unwrap(), "a guest cannot take a member's display name");
    assert!(store.name_taken("x", "ann").await.unwrap(), "nor a name that looks like a member's handle");
    assert!(!store.name_taken("cy", "cy").await.unwrap());

    // Invites: a use each, then spent; expired and revoked ones work no more.
    store.add_invite("inv-a".into(), Some(&ann.user.id), now, now + DAY, 1).await.unwrap();
    let expired = store.add_invite("inv-old".into(), None, now - 2 * DAY, now - DAY, 5).await.unwrap();
    assert!(store.invite_open("inv-a", now).await.unwrap());
    assert!(!store.invite_open("inv-old", now).await.unwrap());
    let invited = |id: &str, handle: &str, code: &str| NewAccount {
        invite: Some(code.into()),
        ..new(id, handle, handle, Role::Member)
    };
    assert_eq!(store.make_account(invited("u3", "cy", "inv-old"), now).await.unwrap(), Made::InviteSpent);
    assert_eq!(store.make_account(invited("u3", "cy", "inv-a"), now).await.unwrap(), Made::Made);
    assert_eq!(store.make_account(invited("u4", "di", "inv-a"), now).await.unwrap(), Made::InviteSpent);
    assert!(store.account_by_key("di").await.unwrap().is_none(), "a refused sign-up makes nothing");
    let invites = store.invites().await.unwrap();
    assert_eq!(invites.len(), 2);
    assert_eq!(
        (invites[1].uses_left, invites[1].joined.clone()),
        (0, vec!["cy".to_owned()]),
        "who joined by which link"
    );
    assert!(store.revoke_invite(expired).await.unwrap());
    assert!(store.invites().await.unwrap().iter().find(|i| i.id == expired).unwrap().revoked);

    // Sessions: found by their hash while valid, idle and absolute expiry, ended.
    let expiry = Expiry { idle_ms: 30 * DAY, absolute_ms: 365 * DAY };
    let s1 = store.start_session("h1".into(), &ann.user.id, "127.0.0.1", "Firefox", now).await.unwrap();
    let s2 = store.start_session("h2".into(), &ann.user.id, "127.0.0.2", "Chromium", now + 1).await.unwrap();
    let s3 = store.start_session("h3".into(), &ann.user.id, "127.0.0.3", "curl", now + 2).await.unwrap();
    let found = store.session("h1", now + DAY, expiry).await.unwrap().unwrap();
    assert_eq!((found.id, found.account.handle.as_str()), (s1, "ann"));
    assert!(store.session("h1", now + 31 * DAY, expiry).await.unwrap().is_none(), "idle for 31 days");
    store.touch_session(s1, now + 29 * DAY).await.unwrap();
    assert!(store.session("h1", now + 31 * DAY, expiry).await.unwrap().is_some(), "seen again on day 29");
    for day in (58..=364).step_by(28) {
        store.touch_session(s1, now + day * DAY).await.unwrap();
    }
    assert!(store.session("h1", now + 366 * DAY, expiry).await.unwrap().is_none(), "a year at most, however used");
    assert!(store.session("nope", now, expiry).await.unwrap().is_none());
    let listed: Vec<i64> = store.sessions(&ann.user.id, now + 3, expiry).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(listed, vec![s1, s3, s2], "the most recently seen first");
    // A browser subscribed to pushes in a session goes when the session ends.
    let browser = crate::store::push::Subscription {
        endpoint: "https://push.example/ann".into(),
        keys: crate::store::push::Keys { p256dh: "k".into(), auth: "a".into() },
    };
    store.add_push(&ann.user.id, Some(s2), &browser, now).await.unwrap();
    assert_eq!(store.pushes(&ann.user.id).await.unwrap(), std::slice::from_ref(&browser));
    assert_eq!(store.end_sessions(&ann.user.id, Which::One(s2), now, expiry).await.unwrap(), vec![s2]);
    assert!(store.pushes(&ann.user.id).await.unwrap().is_empty(), "gone with its session");
    assert_eq!(store.end_sessions(&ann.user.id, Which::AllBut(s3), now, expiry).await.unwrap(), vec![s1]);
    assert!(store.session("h3", now, expiry).await.unwrap().is_some());
    assert_eq!(store.end_sessions(&ann.user.id, Which::All, now, expiry).await.unwrap(), vec![s3]);
    assert!(store.session("h3", now, expiry).await.unwrap().is_none());

    // Tokens: found by hash, listed, revoked by their owner only.
    let t = store.add_token("th".into(), &ann.user.id, "bot", now).await.unwrap();
    let (id, account) = store.token("th").await.unwrap().unwrap();
    assert_eq!((id, account.handle.as_str()), (t, "ann"));
    assert_eq!(store.tokens(&ann.user.id).await.unwrap(), vec![(t, "bot".to_owned(), now)]);
    assert!(!store.revoke_token(&UserId("u3".into()), t).await.unwrap(), "only its owner revokes it");
    assert!(store.revoke_token(&ann.user.id, t).await.unwrap());
    assert!(store.token("th").await.unwrap().is_none());

    // Passkeys: kept per person, found by credential id, updated when used, removed by
    // their owner only; ceremonies taken once, and not once expired.
    store.add_passkey(&ann.user.id, "cred-1", "laptop", "{\"k\":1}", now).await.unwrap();
    assert_eq!(store.passkey("cred-1").await.unwrap(), Some((ann.user.id.clone(), "{\"k\":1}".to_owned())));
    store.used_passkey("cred-1", "{\"k\":2}", now + 5).await.unwrap();
    let listed = store.passkeys(&ann.user.id).await.unwrap();
    assert_eq!((listed[0].label.as_str(), listed[0].last_used), ("laptop", Some(now + 5)));
    assert_eq!(store.passkeys_kept(&ann.user.id).await.unwrap(), vec!["{\"k\":2}".to_owned()]);
    assert!(!store.remove_passkey(&UserId("u3".into()), listed[0].id).await.unwrap());
    assert!(store.remove_passkey(&ann.user.id, listed[0].id).await.unwrap());
    assert!(store.passkey("cred-1").await.unwrap().is_none());
    store.put_ceremony("c1", Some(&ann.user.id), "state", now, now + 1000).await.unwrap();
    store.put_ceremony("c2", None, "other", now, now + 1000).await.unwrap();
    assert_eq!(
        store.take_ceremony("c1", now + 1).await.unwrap(),
        Some((Some(ann.user.id.clone()), "state".to_owned()))
    );
    assert_eq!(store.take_ceremony("c1", now + 1).await.unwrap(), None, "once");
    assert_eq!(store.take_ceremony("c2", now + 1000).await.unwrap(), None, "expired");

    // Kept: a new handle on the store (as another node) finds all of it.
    store.set_password(&ann.user.id, "new hash".into()).await.unwrap();
    store.set_display_name(&ann.user.id, "Ann Lee").await.unwrap();
    let again = open().await.account_by_key("ann").await.unwrap().unwrap();
    assert_eq!((again.password.as_deref(), again.user.name.as_str()), (Some("new hash"), "Ann Lee"));
}
