//! Accounts over real sockets, on the server binary or the server in this process: the
//! first-run owner page, signing up, in and out, the socket of a signed-in page, sign-in
//! limits and their answers, guests beside members, personal access tokens, the
//! settings page's sessions and password, and the `server admin` CLI.

use crate::common;

use common::accounts::{admin, closed_within_a_second, first_form_id, session_cookie};
use common::{Client, TestServer};
use palaver_protocol::{ClientMsg, ErrorReason, Hello, ServerMsg};
use std::{
    sync::{Arc, Mutex},
    time::Instant,
};

const PASSWORD: &str = "correct horse battery";
const OPEN: [(&str, &str); 1] = [("PALAVER_SIGN_UP", "open")];

/// Says `hello` with nothing but the socket's cookie: the welcome, or the refusal.
async fn hello_session(client: &mut Client) -> ServerMsg {
    client.send_msg(ClientMsg::Hello(Hello::Session)).await;
    client.next_where(|m| matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Error { .. })).await
}

async fn refusal_of(client: &mut Client, hello: Hello) -> (ErrorReason, String) {
    client.send_msg(ClientMsg::Hello(hello)).await;
    match client.next_where(|m| matches!(m, ServerMsg::Welcome { .. } | ServerMsg::Error { .. })).await {
        ServerMsg::Error { reason, detail, .. } => (reason, detail),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The alert a form page shows.
fn alert(body: &str) -> String {
    body.split("role=\"alert\">").nth(1).and_then(|r| r.split("</p>").next()).unwrap_or_default().to_owned()
}

#[test]
fn the_first_run_link_in_the_log_makes_the_owner_once_and_then_guests_need_an_account() {
    let link = Arc::new(Mutex::new(None::<String>));
    let seen = link.clone();
    let server = TestServer::binary_watched(Arc::new(tempfile::tempdir().unwrap()), &[], move |line| {
        if let Some(at) = line.find("/setup?code=") {
            let code = line[at..].split_whitespace().next().unwrap_or_default().to_owned();
            *seen.lock().unwrap() = Some(code);
        }
    });
    let path = link.lock().unwrap().clone().expect("the log says where the owner account is made");
    let code = path.trim_start_matches("/setup?code=").to_owned();
    let (status, body) = server.get(&path);
    assert_eq!(status, 200);
    assert!(body.contains("Create the owner account") && body.contains("name=\"code\""), "{body}");
    assert_eq!(server.get("/setup?code=wrong").0, 404, "only with the code from the log");
    let claim = |handle: &str, code: &str| {
        server.post(
            "/setup",
            &[("handle", handle), ("display_name", "Boss"), ("password", PASSWORD), ("code", code)],
            None,
            "",
        )
    };
    assert_eq!(claim("boss", "wrong").status, 404);
    let made = claim("boss", &code);
    assert_eq!(made.status, 303, "{}", made.text());
    let cookie = session_cookie(&made).expect("signed in as the owner");
    assert_eq!(claim("mallory", &code).status, 404, "nobody else can claim it");
    assert_eq!(server.get(&path).0, 404, "the page is gone once there is an owner");
    let page = server.get_as("/", &cookie).text();
    assert!(page.contains("data-member=\"boss\""), "the page is the owner's");
    // With an owner, guests are off unless the owner allows them.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut guest = server.client().await;
        let (reason, detail) = refusal_of(&mut guest, Hello::Name("Visitor".into())).await;
        assert_eq!(reason, ErrorReason::NotIdentified, "{detail}");
        assert_eq!(server.raw_upgrade("/", "").0, 403, "nor plain clients as guests");
        let mut owner = server.client_as(&cookie).await;
        match hello_session(&mut owner).await {
            ServerMsg::Welcome { user, token } => assert_eq!((user.name.as_str(), token.as_str()), ("Boss", "")),
            other => panic!("{other:?}"),
        }
    });
}

async fn a_signed_in_page_socket_is_the_account_and_closes_when_its_session_ends(backend: &[(&str, &str)]) {
    let server = TestServer::start_with(&[OPEN.to_vec(), backend.to_vec()].concat());
    let cookie = server.sign_up("Ann", "Ann Lee", PASSWORD);
    let page = server.get_as("/", &cookie).text();
    assert!(page.contains("data-member=\"ann\""), "the handle, lower-cased");
    let mut socket = server.client_as(&cookie).await;
    let ServerMsg::Welcome { user: ann, token } = hello_session(&mut socket).await else { panic!() };
    assert_eq!((ann.name.as_str(), token.as_str()), ("Ann Lee", ""), "no token to keep in the browser");
    // A guest's token said on the account's socket changes nothing: the cookie is who it is.
    let guest = server.named("Someone").await.token();
    socket.send_msg(ClientMsg::Hello(Hello::Token(guest))).await;
    let ServerMsg::Welcome { user, .. } = socket.next_where(|m| matches!(m, ServerMsg::Welcome { .. })).await else {
        panic!()
    };
    assert_eq!(user, ann);
    // A second browser, then this one signs out: only this one's socket closes.
    let other = server.sign_in("ann", PASSWORD);
    let mut elsewhere = server.client_as(&other).await;
    hello_session(&mut elsewhere).await;
    let out = server.post("/sign-out", &[], Some(&cookie), "");
    assert_eq!((out.status, session_cookie(&out).as_deref()), (303, Some("")), "the cookie is cleared");
    assert_eq!(closed_within_a_second(&mut socket).await, 4003);
    assert!(!server.get_as("/", &cookie).text().contains("data-member"), "the old cookie is no one's");
    let mut stale = server.client_as(&cookie).await;
    let ServerMsg::Error { reason, .. } = hello_session(&mut stale).await else { panic!("a dead session says hello") };
    assert_eq!(reason, ErrorReason::BadToken);
    assert!(matches!(hello_session(&mut elsewhere).await, ServerMsg::Welcome { .. }), "the other browser stays");
}

async fn an_unknown_handle_and_a_wrong_password_get_one_answer_in_one_time_and_tries_are_limited(
    backend: &[(&str, &str)],
) {
    let env = [("PALAVER_SIGN_UP", "open"), ("PALAVER_TRUSTED_PROXIES", "127.0.0.1")];
    let server = TestServer::start_with(&[env.to_vec(), backend.to_vec()].concat());
    server.sign_up("ann", "Ann", PASSWORD);
    let from = |n: u32| format!("X-Forwarded-For: 10.0.{}.{}\r\n", n / 250, n % 250 + 1);
    let try_in = |handle: &str, address: u32| {
        let started = Instant::now();
        let answer =
            server.post("/sign-in", &[("handle", handle), ("password", "not the password")], None, &from(address));
        (answer, started.elapsed())
    };
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..8 {
        let (a, t) = try_in(&format!("nobody{i}"), 100 + i);
        let (b, u) = try_in("ann", 200 + i);
        assert_eq!((a.status, b.status), (401, 401));
        assert_eq!(alert(&a.text()), alert(&b.text()), "the same words");
        assert_eq!(alert(&a.text()), "That handle and password do not match an account.");
        unknown.push(t);
        wrong.push(u);
    }
    unknown.sort();
    wrong.sort();
    let (u, w) = (unknown[4].as_secs_f64(), wrong[4].as_secs_f64());
    eprintln!("median sign-in refusal: unknown handle {:.1} ms, wrong password {:.1} ms", u * 1e3, w * 1e3);
    assert!((u - w).abs() < 0.5 * u.max(w), "the same time: {u} s against {w} s");
    // Per account: two more from new addresses reach ann's limit of 10.
    try_in("ann", 300);
    try_in("ann", 301);
    let (limited, _) = try_in("ann", 302);
    assert_eq!(limited.status, 429, "the account's limit, from any address");
    assert!(limited.header("retry-after").is_some());
    assert!(alert(&limited.text()).starts_with("Too many sign-in attempts"));
    // Per address: one address trying many handles.
    for i in 0..10 {
        assert_eq!(try_in(&format!("someone{i}"), 400).0.status, 401);
    }
    assert_eq!(try_in("someone-else", 400).0.status, 429, "the address's limit, for any account");
    // Korean, from the language cookie.
    let korean = server.post(
        "/sign-in",
        &[("handle", "x"), ("password", "y")],
        None,
        &format!("{}Cookie: lang=ko\r\n", from(500)),
    );
    assert_eq!(alert(&korean.text()), "핸들과 비밀번호가 일치하는 계정이 없습니다.");
}

async fn guests_cannot_take_a_members_name_and_a_guest_who_signs_up_keeps_their_messages(backend: &[(&str, &str)]) {
    let server = TestServer::start_with(
        &[vec![("PALAVER_SIGN_UP", "open"), ("PALAVER_GUESTS", "on")], backend.to_vec()].concat(),
    );
    let mut guest = server.named("Cy").await;
    guest.join("lobby", None).await;
    guest.say("lobby", "c1", "written as a guest").await;
    guest.next_ack().await;
    // The guest's browser holds its token as the session cookie, then signs up.
    let cy = guest.user();
    let answer = server.post(
        "/sign-up",
        &[("handle", "cy"), ("display_name", "Cy Young"), ("password", PASSWORD)],
        Some(&guest.token()),
        "",
    );
    assert_eq!(answer.status, 303, "{}", answer.text());
    let cookie = session_cookie(&answer).unwrap();
    let mut member = server.client_as(&cookie).await;
    let ServerMsg::Welcome { user, .. } = hello_session(&mut member).await else { panic!() };
    assert_eq!(user.id, cy.id, "the same person: their messages are the account's");
    let (history, _, _) = member.join("lobby", None).await;
    assert!(history.iter().any(|m| m.author.id == cy.id && m.text == "written as a guest"));
    // Another guest cannot be "Cy Young", nor "cy", nor "сy" (Cyrillic с).
    for name in ["Cy Young", "cy Young", "cy", "сy"] {
        let mut other = server.client().await;
        let (reason, detail) = refusal_of(&mut other, Hello::Name(name.into())).await;
        assert_eq!(reason, ErrorReason::BadName, "{name}: {detail}");
    }
    server.named("Cyrus").await;
}

#[test]
fn the_cli_makes_accounts_and_tokens_and_a_revoked_token_stops_at_once() {
    let data = Arc::new(tempfile::tempdir().unwrap());
    let cli = |args: &[&str], stdin: &str| admin(data.path(), &[], args, stdin);
    let made = cli(
        &["create-user", "--handle", "Ann", "--display-name", "Ann Lee", "--password-stdin", "--role", "owner"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!((made.0, made.1.as_str()), (0, "ann\n"), "{}", made.2);
    let taken = cli(&["create-user", "--handle", "аnn", "--password-stdin"], PASSWORD);
    assert_eq!(taken.0, 3, "a look-alike handle is refused: {}", taken.2);
    assert!(taken.2.contains("taken"), "{}", taken.2);
    let weak = cli(&["create-user", "--handle", "bo", "--password-stdin"], "password123");
    assert_eq!(weak.0, 3, "{}", weak.2);
    assert_eq!(cli(&["create-user", "--handle", "bo"], PASSWORD).0, 2, "no password");
    assert_eq!(cli(&["frobnicate"], "").0, 2);
    assert_eq!(cli(&["create-token", "--handle", "nobody"], "").0, 3);
    let (code, token, err) = cli(&["create-token", "--handle", "ann", "--label", "bot"], "");
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("pat_"), "{token}");
    let (code, link, _) = cli(&["invite", "--uses", "2", "--expires", "1d"], "");
    assert_eq!(code, 0);
    assert!(link.trim().starts_with("/sign-up?invite="), "{link}");

    let server = TestServer::binary_in(data.clone(), &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut bot = server.client().await;
        let (user, kept) = bot.hello(Some(&token), None).await;
        assert_eq!((user.name.as_str(), kept.as_str()), ("Ann Lee", ""), "the token is the account's");
        // The invite link works twice.
        let invite = link.trim().trim_start_matches("/sign-up?invite=");
        for handle in ["cy", "di"] {
            let fields = [("handle", handle), ("display_name", handle), ("password", PASSWORD), ("invite", invite)];
            assert_eq!(server.post("/sign-up", &fields, None, "").status, 303);
        }
        let third = [("handle", "ed"), ("display_name", "Ed"), ("password", PASSWORD), ("invite", invite)];
        let spent = server.post("/sign-up", &third, None, "");
        assert_eq!(spent.status, 403);
        assert!(alert(&spent.text()).contains("invite link"));
        assert_eq!(server.post("/sign-up", &third[..3], None, "").status, 403, "no sign-up without an invite");
        // Revoked from the settings page: the bot's socket closes, and the token is no more.
        let cookie = server.sign_in("ann", PASSWORD);
        let settings = server.get_as("/settings", &cookie).text();
        let id = first_form_id(&settings, "/settings/tokens/revoke");
        assert_eq!(server.post("/settings/tokens/revoke", &[("id", &id)], Some(&cookie), "").status, 200);
        assert_eq!(closed_within_a_second(&mut bot).await, 4003);
        let mut again = server.client().await;
        let (reason, _) = refusal_of(&mut again, Hello::Token(token.clone())).await;
        assert_eq!(reason, ErrorReason::BadToken);
    });
    let (code, sessions, _) = cli(&["sessions", "--handle", "ann"], "");
    assert_eq!((code, sessions.lines().count()), (0, 1), "{sessions}");
    assert_eq!(cli(&["end-sessions", "--handle", "ann"], "").1, "1\n");
    assert_eq!(cli(&["sessions", "--handle", "ann"], "").1, "");
}

async fn settings_sign_out_everywhere_else_and_a_new_password_end_the_other_sessions(backend: &[(&str, &str)]) {
    let server = TestServer::start_with(&[OPEN.to_vec(), backend.to_vec()].concat());
    let here = server.sign_up("ann", "Ann", PASSWORD);
    let there = server.sign_in("ann", PASSWORD);
    let mut socket = server.client_as(&there).await;
    hello_session(&mut socket).await;
    // "Sign out" on one session of the list: that one only.
    let extra = server.sign_in("ann", PASSWORD);
    let page = server.get_as("/settings", &here).text();
    assert_eq!(
        page.split("data-testid=\"sessions\"").nth(1).unwrap().split("</ul>").next().unwrap().matches("<li>").count(),
        3
    );
    let newest_other = first_form_id(&page, "/settings/sessions/end");
    assert_eq!(server.post("/settings/sessions/end", &[("id", &newest_other)], Some(&here), "").status, 200);
    assert!(!server.get_as("/", &extra).text().contains("data-member"), "the one signed out");
    assert!(server.get_as("/", &there).text().contains("data-member"), "not the others");
    let page = server.get_as("/settings", &here).text();
    assert!(page.contains("this browser"));
    let ended = server.post("/settings/sessions/end-others", &[], Some(&here), "");
    assert_eq!(ended.status, 200);
    assert_eq!(closed_within_a_second(&mut socket).await, 4003);
    assert!(!server.get_as("/", &there).text().contains("data-member"));
    // A new password: the other sessions end; this one stays; the old password fails.
    let third = server.sign_in("ann", PASSWORD);
    let wrong =
        server.post("/settings/password", &[("current", "nope"), ("password", "another fine secret")], Some(&here), "");
    assert_eq!(wrong.status, 422);
    let weak = server.post("/settings/password", &[("current", PASSWORD), ("password", "qwertyuiop")], Some(&here), "");
    assert!(alert(&weak.text()).contains("common"), "{}", weak.text());
    let changed = server.post(
        "/settings/password",
        &[("current", PASSWORD), ("password", "another fine secret")],
        Some(&here),
        "",
    );
    assert_eq!(changed.status, 200);
    assert!(changed.text().contains("Password changed"));
    assert!(!server.get_as("/", &third).text().contains("data-member"));
    assert!(server.get_as("/", &here).text().contains("data-member"));
    assert_eq!(server.post("/sign-in", &[("handle", "ann"), ("password", PASSWORD)], None, "").status, 401);
    server.sign_in("ann", "another fine secret");
    // Forms from another site's page are refused.
    let forged = testkit::http::exchange(
        server.addr.parse().unwrap(),
        format!(
            "POST /settings/sessions/end-others HTTP/1.1\r\nHost: {}\r\nOrigin: http://evil.example\r\nCookie: palaver_session={here}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            server.addr
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(forged.status, 403);
}

async fn an_at_handle_reaches_exactly_the_handles_owner_whoever_else_goes_by_that_name(backend: &[(&str, &str)]) {
    let server = TestServer::start_with(
        &[vec![("PALAVER_SIGN_UP", "open"), ("PALAVER_GUESTS", "on")], backend.to_vec()].concat(),
    );
    // A guest called "Ann" from before the account, in the room.
    let mut guest = server.named("Ann").await;
    guest.join("lobby", None).await;
    let cookie = server.sign_up("ann", "Annie Lee", PASSWORD);
    let mut annie = server.client_as(&cookie).await;
    let ServerMsg::Welcome { user: owner, .. } = hello_session(&mut annie).await else { panic!() };
    let mut bo = server.named("Bo").await;
    bo.join("lobby", None).await;
    bo.say("lobby", "b1", "@ann the report is ready").await;
    let m = bo.next_message().await;
    assert_eq!(m.mentions.iter().map(|u| u.id.clone()).collect::<Vec<_>>(), vec![owner.id], "the handle's owner alone");
    // The handle goes with the account's name wherever it is shown: presence, its
    // messages live and from the history; a guest has none.
    let (_, _, online) = annie.join("lobby", None).await;
    let shown = |name: &str| online.iter().find(|u| u.name == name).map(|u| u.handle.clone());
    assert_eq!((shown("Annie Lee"), shown("Ann")), (Some(Some("ann".into())), Some(None)));
    annie.say("lobby", "a1", "from the account").await;
    let m = bo.next_where(|m| matches!(m, ServerMsg::Message(m) if m.text == "from the account")).await;
    let ServerMsg::Message(m) = m else { unreachable!() };
    assert_eq!(m.author.handle.as_deref(), Some("ann"));
    let mut later = server.named("Later").await;
    let (history, _, _) = later.join("lobby", None).await;
    let authors: Vec<(String, Option<String>)> =
        history.iter().map(|m| (m.author.name.clone(), m.author.handle.clone())).collect();
    assert!(authors.contains(&("Annie Lee".into(), Some("ann".into()))), "{authors:?}");
    assert!(authors.contains(&("Bo".into(), None)));
    // A display name still names its people where no handle is spelled.
    bo.say("lobby", "b2", "@Annie Lee and @Bo").await;
    let m = bo.next_message().await;
    assert!(m.mentions.iter().any(|u| u.name == "Annie Lee"), "{:?}", m.mentions);
}

// The tests of the server in this process, on each backend: the SQLite file, and a
// PostgreSQL database of the test's own.
on_each_backend!(
    a_signed_in_page_socket_is_the_account_and_closes_when_its_session_ends,
    an_unknown_handle_and_a_wrong_password_get_one_answer_in_one_time_and_tries_are_limited,
    guests_cannot_take_a_members_name_and_a_guest_who_signs_up_keeps_their_messages,
    settings_sign_out_everywhere_else_and_a_new_password_end_the_other_sessions,
    an_at_handle_reaches_exactly_the_handles_owner_whoever_else_goes_by_that_name,
);
