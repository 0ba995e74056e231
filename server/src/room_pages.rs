//! Pages a member reaches from the chat, written whole by the server (plain forms that
//! work without JavaScript): reporting a message to the admins (`/report`), starting a
//! direct conversation (`/direct`), and a private room's people (`/people?room=`: who is
//! listed, adding someone, leaving it).

use crate::account_pages::forms::{html, lang};
use crate::account_pages::pages::{button, error_box, field, page, text};
use crate::accounts::moderation::{By, Denied};
use crate::accounts::{audit, now_ms, Visitor};
use crate::chat::Gate;
use crate::session;
use crate::store::accounts::Account;
use crate::store::rooms::{AuditEntry, Kind};
use app::locale::Lang;
use app::markdown::escape;
use axum::{
    extract::{Form, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use palaver_protocol::{RoomId, Seq};
use serde::Deserialize;

struct Words {
    report_title: &'static str,
    report_intro: &'static str,
    reason: &'static str,
    send_report: &'static str,
    reported: &'static str,
    direct_title: &'static str,
    direct_intro: &'static str,
    people: &'static str,
    start: &'static str,
    people_title: &'static str,
    add: &'static str,
    leave: &'static str,
    handle: &'static str,
    everyone: &'static str,
    my_rooms: &'static str,
    back: &'static str,
}

static WORDS: [Words; 2] = [
    Words {
        report_title: "Report a message",
        report_intro: "The admins of this workspace will see the message, who wrote it, and that you reported it.",
        reason: "Why (optional)",
        send_report: "Report it",
        reported: "Reported. Thank you: the admins will look at it.",
        direct_title: "Direct message",
        direct_intro: "A conversation of up to 8 people. The same people always have the same one.",
        people: "Handles, separated by commas",
        start: "Open the conversation",
        people_title: "People in #{room}",
        add: "Add",
        leave: "Leave this room",
        handle: "Handle",
        everyone: "Everyone in the workspace may read this room.",
        my_rooms: "Your private rooms",
        back: "Back to the chat",
    },
    Words {
        report_title: "메시지 신고",
        report_intro: "이 워크스페이스의 관리자가 메시지와 작성자, 그리고 신고한 사람을 보게 됩니다.",
        reason: "이유(선택)",
        send_report: "신고하기",
        reported: "신고했습니다. 관리자가 살펴볼 것입니다.",
        direct_title: "다이렉트 메시지",
        direct_intro: "최대 8명의 대화입니다. 같은 사람들은 언제나 같은 대화를 씁니다.",
        people: "쉼표로 구분한 핸들",
        start: "대화 열기",
        people_title: "#{room}의 사람들",
        add: "추가",
        leave: "이 방에서 나가기",
        handle: "핸들",
        everyone: "워크스페이스의 누구나 이 방을 읽을 수 있습니다.",
        my_rooms: "내 비공개 방",
        back: "채팅으로 돌아가기",
    },
];

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &WORDS[0],
        Lang::Ko => &WORDS[1],
    }
}

#[derive(Deserialize, Default)]
pub struct Posted {
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    seq: Option<Seq>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    handles: Option<String>,
    #[serde(default)]
    handle: Option<String>,
}

async fn member(gate: &Gate, headers: &HeaderMap) -> Result<Account, Response> {
    match gate.cx.auth.visitor(headers).await {
        Some(Visitor::Member { account, .. }) => Ok(account),
        _ => Err(Redirect::to("/sign-in").into_response()),
    }
}

/// The member of a form posted from Palaver's own pages.
async fn posting_member(gate: &Gate, headers: &HeaderMap) -> Result<Account, Response> {
    session::from_our_page(gate, headers).map_err(IntoResponse::into_response)?;
    member(gate, headers).await
}

fn room_of(name: Option<&str>) -> Option<RoomId> {
    RoomId::parse(name?.trim().trim_start_matches('#')).ok()
}

/// A page of one of these forms, with what went wrong if anything.
fn answer(lang: Lang, title: &str, body: &str, error: Option<&str>) -> Response {
    let mut h = String::new();
    text(&mut h, "h1", title);
    error_box(&mut h, error);
    h.push_str(body);
    h.push_str("<p class=\"account-links\"><a href=\"/\">");
    escape(&mut h, words(lang).back);
    h.push_str("</a></p>");
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    html(status, page(lang, title, &h))
}

/// The message a member may report: in a room they may read, not deleted.
async fn reportable(gate: &Gate, account: &Account, room: &RoomId, seq: Seq) -> Option<palaver_protocol::ChatMessage> {
    let reader = crate::access::Reader::Member { id: account.user.id.clone(), role: account.role };
    if !gate.cx.hub.may_read(&reader, room).await.ok()? {
        return None;
    }
    let found = gate.cx.hub.store().after(room, seq.checked_sub(1)?, 1).await.ok()?;
    found.into_iter().next().filter(|m| m.seq == seq && !m.deleted)
}

/// `GET /report?room=R&seq=N`: the message, and a reason to give.
pub async fn report_page(State(gate): State<Gate>, headers: HeaderMap, Query(asked): Query<Posted>) -> Response {
    let account = match member(&gate, &headers).await {
        Ok(account) => account,
        Err(to_sign_in) => return to_sign_in,
    };
    let (lang, w) = (lang(&headers), words(lang(&headers)));
    let (Some(room), Some(seq)) = (room_of(asked.room.as_deref()), asked.seq) else {
        return crate::account_pages::not_found(&headers);
    };
    let Some(message) = reportable(&gate, &account, &room, seq).await else {
        return crate::account_pages::not_found(&headers);
    };
    let mut h = String::new();
    text(&mut h, "p", w.report_intro);
    h.push_str("<blockquote data-testid=\"reported-message\"><p>");
    escape(&mut h, &format!("{}: ", message.author.name));
    escape(&mut h, &message.text);
    h.push_str("</p></blockquote><form method=\"post\" action=\"/report\" class=\"account-form\">");
    h.push_str(&format!(
        "<input type=\"hidden\" name=\"room\" value=\"{room}\"><input type=\"hidden\" name=\"seq\" value=\"{seq}\">"
    ));
    field(&mut h, "reason", w.reason, "text", "", "maxlength=\"500\"", None);
    h.push_str("<button type=\"submit\">");
    escape(&mut h, w.send_report);
    h.push_str("</button></form>");
    answer(lang, w.report_title, &h, None)
}

/// `POST /report`: fields `room`, `seq`, `reason`.
pub async fn report(State(gate): State<Gate>, headers: HeaderMap, Form(form): Form<Posted>) -> Response {
    let account = match posting_member(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let (lang, w) = (lang(&headers), words(lang(&headers)));
    let (Some(room), Some(seq)) = (room_of(form.room.as_deref()), form.seq) else {
        return crate::account_pages::not_found(&headers);
    };
    let Some(message) = reportable(&gate, &account, &room, seq).await else {
        return crate::account_pages::not_found(&headers);
    };
    let reason: String = form.reason.unwrap_or_default().trim().chars().take(500).collect();
    let store = gate.cx.hub.store();
    match store.report(&room, seq, &account.user.id, &reason, now_ms()).await {
        Ok(new) => {
            if new {
                let entry = AuditEntry::new(audit::REPORTED).by(&account.user.id).to(&message.author.id);
                gate.cx.auth.audit(entry.in_room(&room).saying(format!("message {seq}"))).await;
            }
            let mut h = String::from("<p class=\"form-done\" role=\"status\">");
            escape(&mut h, w.reported);
            h.push_str(&format!("</p><p><a href=\"/r/{room}?at={seq}#m-{seq}\">#{room}</a></p>"));
            answer(lang, w.report_title, &h, None)
        }
        Err(e) => {
            tracing::warn!("cannot keep a report: {e}");
            let why = crate::account_pages::refusal(lang, &crate::accounts::Refusal::Unavailable);
            answer(lang, w.report_title, "", Some(&why))
        }
    }
}

fn direct_form(lang: Lang, typed: &str) -> String {
    let w = words(lang);
    let mut h = String::new();
    text(&mut h, "p", w.direct_intro);
    h.push_str("<form method=\"post\" action=\"/direct\" class=\"account-form\">");
    field(&mut h, "handles", w.people, "text", typed, "required maxlength=\"300\"", None);
    h.push_str("<button type=\"submit\">");
    escape(&mut h, w.start);
    h.push_str("</button></form>");
    h
}

/// `GET /direct`: whom to talk to.
pub async fn direct_page(State(gate): State<Gate>, headers: HeaderMap, Query(asked): Query<Posted>) -> Response {
    if let Err(to_sign_in) = member(&gate, &headers).await {
        return to_sign_in;
    }
    let lang = lang(&headers);
    answer(lang, words(lang).direct_title, &direct_form(lang, asked.handles.as_deref().unwrap_or_default()), None)
}

/// `POST /direct`: field `handles`; opens the conversation (made the first time).
pub async fn direct(State(gate): State<Gate>, headers: HeaderMap, Form(form): Form<Posted>) -> Response {
    let account = match posting_member(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let typed = form.handles.unwrap_or_default();
    let handles: Vec<String> = typed.split(',').map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect();
    match gate.cx.auth.direct(&account, &handles).await {
        Ok(room) => (StatusCode::SEE_OTHER, [(header::LOCATION, format!("/r/{room}"))]).into_response(),
        Err(denied) => {
            let lang = lang(&headers);
            answer(lang, words(lang).direct_title, &direct_form(lang, &typed), Some(&denied.to_string()))
        }
    }
}

/// `GET /people?room=R`: who is listed in a private room (for those listed in it).
pub async fn people_page(State(gate): State<Gate>, headers: HeaderMap, Query(asked): Query<Posted>) -> Response {
    let account = match member(&gate, &headers).await {
        Ok(account) => account,
        Err(to_sign_in) => return to_sign_in,
    };
    match room_of(asked.room.as_deref()) {
        Some(room) => people(&gate, &headers, &account, &room, None).await,
        None => my_rooms(&gate, &headers, &account).await,
    }
}

/// `GET /people`: the private and direct rooms one is listed in.
async fn my_rooms(gate: &Gate, headers: &HeaderMap, account: &Account) -> Response {
    let (lang, w) = (lang(headers), words(lang(headers)));
    let rooms = match gate.cx.auth.store().rooms_of(&account.user.id).await {
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::warn!("cannot list someone's private rooms: {e}");
            let why = crate::account_pages::refusal(lang, &crate::accounts::Refusal::Unavailable);
            return answer(lang, w.my_rooms, "", Some(&why));
        }
    };
    let mut h = String::from("<ul data-testid=\"my-rooms\">");
    for room in &rooms {
        h.push_str(&format!("<li><a href=\"/people?room={room}\">#{room}</a></li>"));
    }
    h.push_str("</ul>");
    answer(lang, w.my_rooms, &h, None)
}

async fn people(gate: &Gate, headers: &HeaderMap, account: &Account, room: &RoomId, error: Option<&str>) -> Response {
    let (lang, w) = (lang(headers), words(lang(headers)));
    let reader = crate::access::Reader::Member { id: account.user.id.clone(), role: account.role };
    let rules = match gate.cx.hub.rules(room).await {
        Ok(rules) if crate::access::may_read(&rules, &reader) => rules,
        _ => return crate::account_pages::not_found(headers),
    };
    let mut h = String::new();
    if rules.kind == Kind::Public {
        text(&mut h, "p", w.everyone);
    }
    h.push_str("<ul data-testid=\"room-people\">");
    for id in &rules.members {
        h.push_str("<li>");
        match gate.cx.auth.store().account(id).await {
            Ok(Some(a)) => escape(&mut h, &format!("{} (@{})", a.user.name, a.handle)),
            _ => escape(&mut h, id.as_str()),
        }
        h.push_str("</li>");
    }
    h.push_str("</ul>");
    if rules.kind == Kind::Private {
        h.push_str("<form method=\"post\" action=\"/people/add\" class=\"account-form\">");
        h.push_str(&format!("<input type=\"hidden\" name=\"room\" value=\"{room}\">"));
        field(&mut h, "handle", w.handle, "text", "", "required maxlength=\"33\"", None);
        h.push_str("<button type=\"submit\">");
        escape(&mut h, w.add);
        h.push_str("</button></form>");
        button(&mut h, "/people/leave", &[("room", room.to_string())], w.leave);
    }
    h.push_str(&format!("<p><a href=\"/r/{room}\">#{room}</a></p>"));
    answer(lang, &w.people_title.replace("{room}", room.as_str()), &h, error)
}

/// `POST /people/add` (`room`, `handle`) and `/people/leave` (`room`).
pub async fn people_change(
    State(gate): State<Gate>,
    axum::extract::Path(action): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<Posted>,
) -> Response {
    let account = match posting_member(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let Some(room) = room_of(form.room.as_deref()) else { return crate::account_pages::not_found(&headers) };
    let by = By::Account(&account);
    let done: Result<(), Denied> = match action.as_str() {
        "add" => gate.cx.auth.add_member(by, &room, form.handle.as_deref().unwrap_or_default()).await,
        "leave" => gate.cx.auth.remove_member(by, &room, &account.handle).await,
        _ => return crate::account_pages::not_found(&headers),
    };
    match done {
        Ok(()) if action == "leave" => Redirect::to("/").into_response(),
        Ok(()) => people(&gate, &headers, &account, &room, None).await,
        Err(e) => people(&gate, &headers, &account, &room, Some(&e.to_string())).await,
    }
}
