//! `/admin`: the workspace's admin page, for admins and the owner, written whole by the
//! server (plain forms that work without JavaScript, nothing in the page's
//! WebAssembly), in the reader's language. People (role, standing, last seen,
//! sessions; set a role, suspend, sign out everywhere, hand on ownership), rooms (make
//! one; each one's kind, name shown, topic, posting, archive and people), reports (the message and
//! who reported it; remove it, close the report) and the audit log (by person and kind,
//! paged). Every change goes through `accounts::moderation`, which checks it and keeps
//! it in the audit log. The words are `words.rs`, the sections' HTML `render.rs`.

mod render;
mod words;

use crate::account_pages::forms::{html, lang};
use crate::account_pages::pages::page;
use crate::accounts::moderation::{By, Denied};
use crate::accounts::{audit, Visitor};
use crate::chat::Gate;
use crate::identity::fresh_id;
use crate::session;
use crate::store::accounts::{Account, Role, Which};
use crate::store::rooms::{AuditEntry, AuditQuery, Kind, Posting, RoomRules};
use crate::store::Post;
use app::locale::Lang;
use axum::{
    extract::{Form, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use palaver_protocol::{RoomId, UserId};
use render::Section;
use serde::Deserialize;
use std::collections::HashMap;
use words::words;

/// People or audit events a page shows.
const PAGE: usize = 50;

/// What an admin page's address may ask for.
#[derive(Deserialize, Default)]
pub struct Asked {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    person: Option<String>,
    #[serde(default)]
    kind: Option<String>,
}

/// What an admin page's forms post.
#[derive(Deserialize, Default)]
pub struct Posted {
    #[serde(default)]
    handle: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    room: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    posting: Option<String>,
    #[serde(default)]
    archived: Option<String>,
    #[serde(default)]
    members: Option<String>,
    #[serde(default)]
    id: Option<i64>,
}

/// The admin of a request: a signed-in admin or owner.
async fn admin(gate: &Gate, headers: &HeaderMap) -> Result<Account, Response> {
    match gate.cx.auth.visitor(headers).await {
        Some(Visitor::Member { account, .. }) if account.role >= Role::Admin => Ok(account),
        Some(Visitor::Member { .. }) => {
            let (lang, w) = (lang(headers), words(lang(headers)));
            let body = format!("<h1>{}</h1><p>{}</p><p><a href=\"/\">{}</a></p>", w.title, w.not_admin, w.back);
            Err(html(StatusCode::FORBIDDEN, page(lang, w.title, &body)))
        }
        _ => Err(Redirect::to("/sign-in").into_response()),
    }
}

/// `GET /admin`: people.
pub async fn show(State(gate): State<Gate>, headers: HeaderMap, Query(asked): Query<Asked>) -> Response {
    match admin(&gate, &headers).await {
        Ok(account) => render(&gate, lang(&headers), &account, Section::People, &asked, Ok(None)).await,
        Err(refused) => refused,
    }
}

/// `GET /admin/rooms`, `/admin/reports`, `/admin/audit`.
pub async fn show_section(
    State(gate): State<Gate>,
    Path(section): Path<String>,
    headers: HeaderMap,
    Query(asked): Query<Asked>,
) -> Response {
    let account = match admin(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let section = match section.as_str() {
        "invites" => Section::Invites,
        "rooms" => Section::Rooms,
        "reports" => Section::Reports,
        "audit" => Section::Audit,
        _ => return crate::account_pages::not_found(&headers),
    };
    render(&gate, lang(&headers), &account, section, &asked, Ok(None)).await
}

async fn render(
    gate: &Gate,
    lang: Lang,
    account: &Account,
    section: Section,
    asked: &Asked,
    said: Result<Option<&str>, String>,
) -> Response {
    let (w, auth) = (words(lang), &gate.cx.auth);
    let mut h = String::new();
    let (done, error) = match &said {
        Ok(done) => (*done, None),
        Err(e) => (None, Some(e.as_str())),
    };
    render::head(&mut h, w, section, done, error);
    let filled = match section {
        Section::People => {
            let after = asked.after.clone().unwrap_or_default();
            auth.store().people(&after, PAGE + 1).await.map(|mut rows| {
                let more = (rows.len() > PAGE).then(|| rows[PAGE - 1].account.handle.clone());
                rows.truncate(PAGE);
                render::people(&mut h, w, account.role, &rows, more.as_deref());
            })
        }
        Section::Invites => match auth.store().invites().await {
            Ok(rows) => {
                let names = handles(gate, rows.iter().filter_map(|i| i.created_by.clone()).collect()).await;
                render::invites(&mut h, w, &rows, &names);
                Ok(())
            }
            Err(e) => Err(e),
        },
        Section::Rooms => auth.store().room_rows().await.map(|rows| render::rooms(&mut h, w, &rows)),
        Section::Reports => reports(gate, &mut h, w).await,
        Section::Audit => audit_log(gate, &mut h, w, asked).await,
    };
    if let Err(e) = filled {
        tracing::warn!("the admin page without its {section:?}: {e}");
        crate::account_pages::pages::error_box(
            &mut h,
            Some(&crate::account_pages::refusal(lang, &crate::accounts::Refusal::Unavailable)),
        );
    }
    h.push_str("<p class=\"account-links\"><a href=\"/\">");
    app::markdown::escape(&mut h, w.back);
    h.push_str("</a></p>");
    let status = if said.is_err() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    html(status, page(lang, w.title, &format!("<div class=\"admin-page\">{h}</div>")))
}

/// The handles of these people, where they have accounts.
async fn handles(gate: &Gate, ids: Vec<UserId>) -> HashMap<UserId, String> {
    let mut out = HashMap::new();
    for id in ids {
        if out.contains_key(&id) {
            continue;
        }
        if let Ok(Some(account)) = gate.cx.auth.store().account(&id).await {
            out.insert(id, account.handle);
        }
    }
    out
}

async fn reports(gate: &Gate, h: &mut String, w: &words::Words) -> Result<(), crate::store::StoreError> {
    let store = gate.cx.auth.store();
    let open = store.open_reports(PAGE).await?;
    let names = handles(gate, open.iter().map(|r| r.reporter.clone()).collect()).await;
    let mut rows = Vec::new();
    for report in open {
        let message = store.after(&report.room, report.seq.saturating_sub(1), 1).await?;
        let message = message.into_iter().next().filter(|m| m.seq == report.seq);
        let reporter = names.get(&report.reporter).cloned().unwrap_or_else(|| report.reporter.to_string());
        rows.push((report, message, reporter));
    }
    render::reports(h, w, &rows);
    Ok(())
}

async fn audit_log(
    gate: &Gate,
    h: &mut String,
    w: &words::Words,
    asked: &Asked,
) -> Result<(), crate::store::StoreError> {
    let person_typed = asked.person.clone().unwrap_or_default();
    let person = match person_typed.trim() {
        "" => None,
        typed => Some(gate.cx.auth.account_of(typed).await.map(|a| a.user.id).unwrap_or(UserId(String::new()))),
    };
    let kind = asked.kind.clone().filter(|k| !k.is_empty());
    let query = AuditQuery { since: 0, person, kind: kind.clone(), before: asked.before, limit: PAGE };
    let rows = gate.cx.auth.audit_log(&query).await?;
    let ids: Vec<UserId> =
        rows.iter().flat_map(|r| [r.entry.actor.clone(), r.entry.subject.clone()]).flatten().collect();
    let names = handles(gate, ids).await;
    render::audit(h, w, &rows, &names, person_typed.trim(), kind.as_deref().unwrap_or_default());
    Ok(())
}

/// `GET /admin/rooms/export?room=R`: a room the admin may read, as JSON Lines (each
/// message as the protocol writes it, oldest first), to download.
pub async fn export_room(State(gate): State<Gate>, headers: HeaderMap, Query(asked): Query<Posted>) -> Response {
    let account = match admin(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let reader = crate::access::Reader::Member { id: account.user.id.clone(), role: account.role };
    let room = asked.room.as_deref().and_then(|r| RoomId::parse(r).ok());
    let Some(room) = room else { return crate::account_pages::not_found(&headers) };
    if !gate.cx.hub.may_read(&reader, &room).await.unwrap_or(false) {
        return crate::account_pages::not_found(&headers);
    }
    let body = match crate::admin::json::room_lines(gate.cx.hub.store(), &room).await {
        Ok(lines) => lines.iter().map(|line| format!("{line}\n")).collect::<String>(),
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    };
    let file = format!("attachment; filename=\"palaver-{room}.jsonl\"");
    let kept = [
        (axum::http::header::CONTENT_TYPE, "application/jsonl".to_owned()),
        (axum::http::header::CONTENT_DISPOSITION, file),
        (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    gate.cx.auth.audit(AuditEntry::new(audit::ROOM_EXPORTED).by(&account.user.id).in_room(&room)).await;
    (StatusCode::OK, kept, body).into_response()
}

/// `POST /admin/...`: each form; the section again, with what it did.
pub async fn change(
    State(gate): State<Gate>,
    Path((section, action)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<Posted>,
) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let account = match admin(&gate, &headers).await {
        Ok(account) => account,
        Err(refused) => return refused,
    };
    let lang = lang(&headers);
    let what = format!("{section}/{action}");
    let section = if what.starts_with("rooms/") {
        Section::Rooms
    } else if what.starts_with("reports/") {
        Section::Reports
    } else {
        Section::People
    };
    let outcome = act(&gate, &account, &what, form).await;
    let said = outcome.map(|()| Some(words(lang).done)).map_err(|e| e.to_string());
    render(&gate, lang, &account, section, &Asked::default(), said).await
}

async fn act(gate: &Gate, account: &Account, what: &str, form: Posted) -> Result<(), Denied> {
    let auth = &gate.cx.auth;
    let by = By::Account(account);
    let handle = || form.handle.clone().unwrap_or_default();
    let room = || -> Result<RoomId, Denied> {
        let name = form.room.clone().or(form.name.clone()).unwrap_or_default();
        RoomId::parse(name.trim().trim_start_matches('#')).map_err(|_| Denied::NotAllowed("that is not a room name"))
    };
    match what {
        "people/role" => {
            let role = form.role.as_deref().and_then(Role::parse).ok_or(Denied::NotAllowed("which role?"))?;
            auth.set_role(by, &handle(), role).await
        }
        "people/owner" => auth.transfer_ownership(by, &handle()).await,
        "people/suspend" => auth.suspend(by, &handle(), true).await,
        "people/lift" => auth.suspend(by, &handle(), false).await,
        "people/sign-out" => {
            let person = auth.account_of(&handle()).await?;
            if person.role >= account.role {
                return Err(Denied::NotAllowed("only people of a role below your own can be signed out"));
            }
            auth.end_sessions(&person.user.id, Which::All).await?;
            Ok(())
        }
        "rooms/make" => {
            let kind = form.kind.as_deref().and_then(Kind::parse).unwrap_or(Kind::Public);
            let members: Vec<String> = form
                .members
                .clone()
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty())
                .collect();
            auth.make_room(by, &room()?, kind, form.topic.as_deref().unwrap_or_default(), &members).await
        }
        "rooms/save" => {
            let room = room()?;
            let old = auth.store().room_rules(&room).await?;
            let rules = RoomRules {
                kind: form.kind.as_deref().and_then(Kind::parse).unwrap_or(old.kind),
                title: form.title.clone().unwrap_or(old.title.clone()),
                topic: form.topic.clone().unwrap_or_default().trim().chars().take(200).collect(),
                posting: form.posting.as_deref().and_then(Posting::parse).unwrap_or(old.posting),
                archived: form.archived.as_deref() == Some("yes"),
                ..old
            };
            auth.change_room(by, &room, rules).await
        }
        "rooms/add" => auth.add_member(by, &room()?, &handle()).await,
        "rooms/remove" => auth.remove_member(by, &room()?, &handle()).await,
        "reports/remove" | "reports/close" => {
            let id = form.id.ok_or(Denied::NotAllowed("which report?"))?;
            let now = crate::accounts::now_ms();
            if what == "reports/remove" {
                take_down(gate, account, id).await?;
            }
            auth.store().close_report(id, &account.user.id, now).await?;
            Ok(())
        }
        _ => Err(Denied::NotAllowed("there is no such form")),
    }
}

/// Takes down a reported message (as an admin's delete in the room: gone for everyone
/// at once), and keeps it in the audit log.
async fn take_down(gate: &Gate, account: &Account, report: i64) -> Result<(), Denied> {
    let store = gate.cx.auth.store();
    let found = store.open_reports(usize::MAX >> 1).await?.into_iter().find(|r| r.id == report);
    let Some(report) = found else { return Err(Denied::NotAllowed("that report is closed")) };
    let message = store.after(&report.room, report.seq.saturating_sub(1), 1).await?;
    let Some(message) = message.into_iter().next().filter(|m| m.seq == report.seq) else {
        return Err(Denied::NotAllowed("that message is gone"));
    };
    let id = fresh_id().map_err(|_| Denied::NotAllowed("no randomness for an id just now"))?;
    let post = Post::remove(report.room.clone(), account.user.clone(), id, report.seq);
    match gate.cx.hub.post(post).await? {
        crate::hub::PostOutcome::Refused(_) => Err(Denied::NotAllowed("that message is gone")),
        _ => {
            let entry = AuditEntry::new(audit::MESSAGE_REMOVED).by(&account.user.id).to(&message.author.id);
            gate.cx.auth.audit(entry.in_room(&report.room).saying(format!("message {} (reported)", report.seq))).await;
            Ok(())
        }
    }
}
