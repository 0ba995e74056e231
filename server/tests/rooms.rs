//! Who sees what, over real sockets and pages, on SQLite and on PostgreSQL: a private
//! room's messages reach its members only, on every path (join, history, search, unread
//! counts, mentions, the room list, the directory, the server-rendered page); someone
//! removed stops receiving it at once; announcement and archived rooms; guests make no
//! rooms; admins take messages down and suspend accounts; the audit log records it;
//! rooms are shown by the names and topics admins give them.

use crate::common;

use common::accounts::admin;
use common::{room_id, Client, TestServer};
use palaver_protocol::{ClientMsg, ClientMsgId, ErrorReason, Hello, RoomId, Seq, ServerMsg};
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

struct Workspace {
    server: TestServer,
    env: Vec<(String, String)>,
}

impl Workspace {
    fn start(backend: &[(&str, &str)]) -> Workspace {
        let env: Vec<(&str, &str)> = [&[("PALAVER_SIGN_UP", "open")], backend].concat();
        let server = TestServer::start_with(&env);
        Workspace { server, env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() }
    }

    /// `server admin ARGS` on the workspace's store: its standard output (it must succeed).
    fn cli(&self, args: &[&str]) -> String {
        let (code, out, err) = self.cli_answer(args);
        assert_eq!(code, 0, "server admin {args:?}: {err}");
        out
    }

    fn cli_answer(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_with(args, "")
    }

    fn cli_with(&self, args: &[&str], stdin: &str) -> (i32, String, String) {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        admin(self.server.data.path(), &env, args, stdin)
    }

    /// A signed-up member's cookie, and their socket having said hello.
    async fn member(&self, handle: &str) -> (String, Client) {
        let cookie = self.server.sign_up(handle, &handle.to_uppercase(), PASSWORD);
        (cookie.clone(), self.socket(&cookie).await)
    }

    async fn socket(&self, cookie: &str) -> Client {
        let mut client = self.server.client_as(cookie).await;
        client.send_msg(ClientMsg::Hello(Hello::Session)).await;
        client.next_where(|m| matches!(m, ServerMsg::Welcome { .. })).await;
        client
    }
}

/// The refusal the next answer is, whatever came before it.
async fn refusal(client: &mut Client) -> (ErrorReason, Option<RoomId>) {
    match client.next_where(|m| matches!(m, ServerMsg::Error { .. } | ServerMsg::Joined { .. })).await {
        ServerMsg::Error { reason, room, .. } => (reason, room),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn send(room: &str, id: &str, text: &str) -> ClientMsg {
    ClientMsg::Send {
        room: room_id(room),
        id: ClientMsgId(id.into()),
        text: text.into(),
        reply_to: None,
        files: Vec::new(),
    }
}

async fn a_private_room_is_read_by_its_members_only_on_every_path(backend: &[(&str, &str)]) {
    let w = Workspace::start(backend);
    let (ann_cookie, mut ann) = w.member("ann").await;
    let (bob_cookie, mut bob) = w.member("bob").await;
    let (cat_cookie, mut cat) = w.member("cat").await;
    assert_eq!(w.cli(&["create-room", "--name", "plans", "--kind", "private", "--members", "ann,bob"]), "plans\n");
    ann.join("plans", None).await;
    bob.join("plans", None).await;
    for client in [&mut ann, &mut bob, &mut cat] {
        client.send_msg(ClientMsg::Unread).await;
        client.next_where(|m| matches!(m, ServerMsg::Unread { .. })).await;
    }
    // A mention of someone who may not read the room names nobody.
    ann.send_msg(send("plans", "p1", "secret plans for @bob and @cat")).await;
    let said = bob.next_message().await;
    assert_eq!(said.mentions.iter().map(|u| u.handle.as_deref()).collect::<Vec<_>>(), [Some("bob")]);
    let notified = |m: &ServerMsg| matches!(m, ServerMsg::Notification(_));
    assert!(bob.heard_within(Duration::from_secs(2), notified).await, "bob is told");

    // Every path of the socket: nothing of it for cat.
    cat.send_msg(ClientMsg::Join { room: room_id("plans"), after: None }).await;
    assert_eq!(refusal(&mut cat).await, (ErrorReason::NotAllowed, Some(room_id("plans"))));
    cat.send_msg(ClientMsg::History { room: room_id("plans"), before: 5 }).await;
    assert_eq!(refusal(&mut cat).await.0, ErrorReason::NotJoined);
    cat.send_msg(ClientMsg::Around { room: room_id("plans"), seq: 1 }).await;
    assert_eq!(refusal(&mut cat).await.0, ErrorReason::NotJoined);
    cat.send_msg(ClientMsg::Read { room: room_id("plans"), seq: Seq::MAX }).await;
    let (no_room, _) = refusal(&mut cat).await;
    cat.send_msg(ClientMsg::Read { room: room_id("nowhere-at-all"), seq: Seq::MAX }).await;
    assert_eq!(refusal(&mut cat).await.0, no_room, "the same answer as a room that does not exist");
    cat.send_msg(send("plans", "c1", "let me in")).await;
    assert_eq!(refusal(&mut cat).await.0, ErrorReason::NotJoined);
    cat.send_msg(ClientMsg::Search { query: "secret".into(), before: None }).await;
    match cat.next_where(|m| matches!(m, ServerMsg::Results { .. })).await {
        ServerMsg::Results { hits, .. } => assert!(hits.is_empty(), "{hits:?}"),
        _ => unreachable!(),
    }
    assert!(
        !cat.heard_within(Duration::from_millis(500), |m| format!("{m:?}").contains("plans")).await,
        "no count, notification or list entry of it"
    );
    // The members find it.
    ann.send_msg(ClientMsg::Search { query: "secret".into(), before: None }).await;
    match ann.next_where(|m| matches!(m, ServerMsg::Results { .. })).await {
        ServerMsg::Results { hits, .. } => assert_eq!(hits.len(), 1),
        _ => unreachable!(),
    }

    // The pages: 404 as for a room that does not exist, for cat and for a visitor.
    let s = &w.server;
    assert_eq!(s.get_as("/r/plans", &cat_cookie).status, 404);
    assert_eq!(s.get("/r/plans").0, 404);
    let page = s.get_as("/r/plans", &ann_cookie);
    assert!(page.status == 200 && page.text().contains("secret plans"), "{}", page.status);
    assert!(!s.get_as("/search?q=secret", &cat_cookie).text().contains("secret plans"));
    assert!(s.get_as("/search?q=secret", &bob_cookie).text().contains("secret plans"));
    let directory = s.get_as("/rooms", &ann_cookie).text();
    let listed = directory.split("data-testid=\"browse-page\"").nth(1).and_then(|d| d.split("</main>").next());
    let listed = listed.expect("the directory");
    assert!(listed.contains("/r/lobby") || listed.contains("Browse"), "{listed}");
    assert!(!listed.contains("/r/plans"), "out of the directory, even for its members: {listed}");
    assert!(!s.get_as("/", &cat_cookie).text().contains("plans"), "out of cat's room list");

    // Removed: bob stops receiving it at once, and cannot come back.
    w.cli(&["remove-member", "--room", "plans", "--handle", "bob"]);
    let left = |m: &ServerMsg| matches!(m, ServerMsg::Error { reason: ErrorReason::NotAllowed, .. });
    assert!(bob.heard_within(Duration::from_secs(3), left).await, "told the room is gone");
    ann.send_msg(send("plans", "p2", "bob is gone")).await;
    ann.next_ack().await;
    let leak = |m: &ServerMsg| format!("{m:?}").contains("bob is gone");
    assert!(!bob.heard_within(Duration::from_millis(700), leak).await);
    bob.send_msg(ClientMsg::Join { room: room_id("plans"), after: Some(0) }).await;
    assert_eq!(refusal(&mut bob).await.0, ErrorReason::NotAllowed);
    assert_eq!(s.get_as("/r/plans", &bob_cookie).status, 404);
    // Her own messages, to keep: hers alone, as they are now.
    let export = s.get_as("/settings/export", &ann_cookie);
    assert_eq!(export.status, 200);
    assert!(export.header("content-disposition").is_some_and(|d| d.contains("attachment")));
    let mine: Vec<serde_json::Value> = serde_json::from_str(&export.text()).expect("JSON");
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert!(mine.iter().all(|m| m["author"]["handle"] == "ann"));
    // Let back in: the room again, with what was said meanwhile.
    w.cli(&["add-member", "--room", "plans", "--handle", "bob"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (messages, ..) = bob.join("plans", None).await;
    assert!(messages.iter().any(|m| m.text == "bob is gone"));
}

async fn announcements_archives_guests_and_admins_taking_messages_down(backend: &[(&str, &str)]) {
    let w = Workspace::start(&[backend, &[("PALAVER_GUESTS", "on")]].concat());
    let (_, ann) = w.member("ann").await;
    let (mem_cookie, mut mem) = w.member("mem").await;
    w.cli(&["set-role", "--handle", "ann", "--role", "admin"]);
    // Signed in again: the socket carries the role it signs in with.
    ann.close().await;
    let ann_cookie = w.server.sign_in("ann", PASSWORD);
    let mut ann = w.socket(&ann_cookie).await;
    // Announcements: admins post, members read.
    mem.join("news", None).await;
    mem.say("news", "m0", "before").await;
    mem.next_ack().await;
    w.cli(&["set-room", "--room", "news", "--posting", "admins", "--topic", "What is new"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mem.send_msg(send("news", "m1", "can I?")).await;
    assert_eq!(refusal(&mut mem).await.0, ErrorReason::NotAllowed);
    ann.join("news", None).await;
    ann.say("news", "a1", "release on friday").await;
    ann.next_ack().await;
    // An admin takes a member's message down: gone for everyone, marked as removed.
    ann.send_msg(ClientMsg::Delete { room: room_id("news"), id: ClientMsgId("a2".into()), target: 1 }).await;
    ann.next_ack().await;
    let change = mem.next_where(|m| matches!(m, ServerMsg::Message(c) if c.target == Some(1))).await;
    assert!(matches!(&change, ServerMsg::Message(c) if c.removed), "{change:?}");
    let (history, ..) = mem.join("news", None).await;
    let first = history.iter().find(|m| m.seq == 1).unwrap();
    assert!(first.deleted && first.removed && first.text.is_empty(), "{first:?}");
    // A member cannot do the same to an admin's message.
    w.cli(&["set-room", "--room", "news", "--posting", "everyone"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mem.send_msg(ClientMsg::Delete { room: room_id("news"), id: ClientMsgId("m2".into()), target: 2 }).await;
    assert_eq!(refusal(&mut mem).await.0, ErrorReason::NotYours);
    // The room, exported from the admin page: every event, the removed text nowhere.
    let export = w.server.get_as("/admin/rooms/export?room=news", &ann_cookie);
    assert_eq!(export.status, 200);
    let lines: Vec<serde_json::Value> = export.text().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(export.text().contains("release on friday") && !export.text().contains("before"));
    assert_eq!(w.server.get_as("/admin/rooms/export?room=news", &mem_cookie).status, 403);
    let audit = w.cli(&["audit", "--kind", "message_removed"]);
    assert_eq!(audit.lines().count(), 1, "{audit}");
    assert!(audit.contains("\"room\":\"news\"") && !audit.contains("before"), "never the text: {audit}");

    // Archived: read only, out of the directory.
    w.cli(&["set-room", "--room", "news", "--archived", "yes"]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    ann.send_msg(send("news", "a3", "too late")).await;
    assert_eq!(refusal(&mut ann).await.0, ErrorReason::NotAllowed);
    let directory = w.server.get_as("/rooms", &mem_cookie).text();
    let listed = directory.split("data-testid=\"browse-page\"").nth(1).and_then(|d| d.split("</main>").next());
    assert!(!listed.expect("the directory").contains("/r/news"));
    assert!(w.server.get_as("/r/news", &mem_cookie).text().contains("release on friday"), "still readable");

    // With an owner, guests join rooms that exist, and make none.
    let made = w.cli_with(&["create-user", "--handle", "boss", "--role", "owner", "--password-stdin"], PASSWORD);
    assert_eq!(made.0, 0, "{}", made.2);
    let mut guest = w.server.named("Visitor").await;
    guest.join("lobby", None).await;
    guest.send_msg(ClientMsg::Join { room: room_id("brand-new"), after: None }).await;
    assert_eq!(refusal(&mut guest).await.0, ErrorReason::NotAllowed);

    // Suspended: signed out everywhere within a second or so, and refused at sign-in.
    assert_eq!(w.cli(&["suspend", "--handle", "mem"]), "suspended\n");
    let closed = tokio::time::timeout(Duration::from_secs(3), closed_within_a_second_or_two(&mut mem)).await;
    assert_eq!(closed.expect("closed"), palaver_protocol::Close::SignedOut.code());
    let refused = w.server.post("/sign-in", &[("handle", "mem"), ("password", PASSWORD)], None, "");
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("suspended"));
    let audit = w.cli(&["audit", "--since", "1d"]);
    for kind in ["sign_in", "role_changed", "room_changed", "message_removed", "suspended", "sign_in_failed"] {
        assert!(audit.contains(&format!("\"kind\":\"{kind}\"")), "{kind} in {audit}");
    }
    w.cli(&["suspend", "--handle", "mem", "--lift"]);
    let mem_cookie = w.server.sign_in("mem", PASSWORD);

    // Deleting one's account: signed out, messages kept under "deleted account".
    let mut mem = w.socket(&mem_cookie).await;
    mem.join("chatter", None).await;
    mem.say("chatter", "m9", "my last words").await;
    mem.next_ack().await;
    let form = [("confirm", PASSWORD), ("messages", "keep")];
    let gone = w.server.post("/settings/delete", &form, Some(&mem_cookie), "");
    assert_eq!(gone.status, 303, "{}", gone.text());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(2), closed_within_a_second_or_two(&mut mem)).await.unwrap(),
        4003
    );
    assert_eq!(w.server.post("/sign-in", &[("handle", "mem"), ("password", PASSWORD)], None, "").status, 401);
    let page = w.server.get("/r/chatter").1;
    assert!(page.contains("my last words") && page.contains("deleted account"), "kept, under another name");
    // Or removed: ann's text is gone for everyone, at once.
    let (cat_cookie, mut cat) = w.member("cat").await;
    cat.join("chatter", None).await;
    cat.say("chatter", "c1", "cat was here").await;
    cat.next_ack().await;
    ann.join("chatter", None).await;
    let form = [("confirm", PASSWORD), ("messages", "remove")];
    assert_eq!(w.server.post("/settings/delete", &form, Some(&cat_cookie), "").status, 303);
    let taken =
        ann.next_where(|m| matches!(m, ServerMsg::Message(c) if c.kind == palaver_protocol::MessageKind::Delete)).await;
    assert!(matches!(taken, ServerMsg::Message(c) if !c.removed), "the author's own delete");
    assert!(!w.server.get("/r/chatter").1.contains("cat was here"));
    let audit = w.cli(&["audit", "--kind", "account_deleted"]);
    assert_eq!(audit.lines().count(), 2, "{audit}");
}

/// Whether `m` tells what `room` is called and what it is for.
fn about(m: &ServerMsg, room: &str, title: &str, topic: &str) -> bool {
    let ServerMsg::About { rooms } = m else { return false };
    rooms.iter().any(|r| r.room == room_id(room) && r.title == title && r.topic == topic)
}

/// The text of the element of the page with `data-testid` `id` (its tags left out).
fn element_text(page: &str, id: &str) -> String {
    let at = page.find(&format!("data-testid=\"{id}\"")).unwrap_or_else(|| panic!("no {id} in the page"));
    let inner = page[at..].split_once('>').map_or("", |(_, rest)| rest);
    let inner = inner.split("</").next().unwrap_or_default();
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

async fn rooms_are_shown_by_the_name_and_topic_admins_give_them(backend: &[(&str, &str)]) {
    let w = Workspace::start(backend);
    let (ann_cookie, mut ann) = w.member("ann").await;
    let (bob_cookie, mut bob) = w.member("bob").await;
    w.cli(&["create-room", "--name", "plans", "--kind", "public"]);
    ann.join("plans", None).await;
    // Named by the operator (no bus: every node reads the change within a second): whoever
    // is in the room is told.
    w.cli(&["set-room", "--room", "plans", "--title", " Q3 plans ", "--topic", "What we ship"]);
    let named = |m: &ServerMsg| about(m, "plans", "Q3 plans", "What we ship");
    assert!(ann.heard_within(Duration::from_secs(4), named).await, "told while in the room");
    // Whoever joins later is told with the room, and with their list of rooms.
    bob.join("plans", None).await;
    assert!(bob.heard_within(Duration::from_secs(2), named).await, "told on joining");
    bob.send_msg(ClientMsg::Unread).await;
    assert!(bob.heard_within(Duration::from_secs(2), named).await, "told with the list");
    // The page: its title, heading, topic and room list; the address stays the name.
    let page = w.server.get_as("/r/plans", &ann_cookie).text();
    assert!(page.contains("<title>Q3 plans · Palaver</title>"), "the title");
    assert_eq!(element_text(&page, "room-name"), "Q3 plans");
    assert_eq!(element_text(&page, "room-topic"), "What we ship");
    assert!(page.contains("href=\"/r/plans\">Q3 plans</a>"), "the room list");
    // A name shown is one line of at most 80 characters; the audit log says it changed.
    let long = "x".repeat(81);
    assert_ne!(w.cli_answer(&["set-room", "--room", "plans", "--title", &long]).0, 0);
    assert!(w.cli(&["audit", "--kind", "room_changed"]).contains("name shown"));

    // A direct conversation is called by the others in it, for each of them.
    let opened = w.server.post("/direct", &[("handles", "bob")], Some(&ann_cookie), "");
    assert_eq!(opened.status, 303, "{}", opened.text());
    let path = opened.header("location").expect("to the conversation");
    let dm = path.strip_prefix("/r/").expect("a room").to_owned();
    ann.join(&dm, None).await;
    assert!(ann.heard_within(Duration::from_secs(2), |m| about(m, &dm, "BOB", "")).await);
    // Bob is told as it comes onto his list, before he opens it.
    ann.send_msg(send(&dm, "d1", "hi bob")).await;
    ann.next_ack().await;
    assert!(bob.heard_within(Duration::from_secs(2), |m| about(m, &dm, "ANN", "")).await, "on his list");
    bob.join(&dm, None).await;
    assert!(bob.heard_within(Duration::from_secs(2), |m| about(m, &dm, "ANN", "")).await);
    let page = w.server.get_as(&path, &bob_cookie).text();
    assert_eq!(element_text(&page, "room-name"), "ANN");
    assert!(!page.contains(&format!(">#{dm}<")), "its name is not shown");
}

/// The close code of the next close, however long it takes (the caller bounds it).
async fn closed_within_a_second_or_two(client: &mut Client) -> u16 {
    loop {
        if let Some(frame) = client.next_close().await {
            return frame.code.into();
        }
    }
}

on_each_backend!(
    a_private_room_is_read_by_its_members_only_on_every_path,
    announcements_archives_guests_and_admins_taking_messages_down,
    rooms_are_shown_by_the_name_and_topic_admins_give_them,
);
