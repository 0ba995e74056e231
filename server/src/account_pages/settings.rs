//! `/settings`: a signed-in person's account. Their sessions (each one's browser,
//! address and when it was last seen; "sign out" for any, "sign out everywhere else"),
//! a new password (which ends every other session), personal access tokens for
//! programs (made, shown once, revoked), and for the owner and admins the invite
//! links (made with a number of uses and an expiry, listed with who joined by each,
//! revoked). Plain forms; each answers with the page again and what it did.

use super::forms::{html, lang};
use super::pages::{button, error_box, field, page, refusal, text, when};
use super::settings_words::words;
use crate::accounts::Visitor;
use crate::accounts::{now_ms, Refusal};
use crate::chat::Gate;
use crate::session;
use crate::store::accounts::{Account, Role, Which};
use app::locale::Lang;
use app::markdown::escape;
use axum::{
    extract::{ConnectInfo, Form, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use std::{net::SocketAddr, time::Duration};

/// What the page says after a form: done, a secret to copy once, or why not.
#[derive(Default)]
struct Said {
    done: Option<String>,
    secret: Option<(&'static str, String)>,
    error: Option<String>,
}

async fn render(gate: &Gate, lang: Lang, session: i64, account: &Account, said: Said) -> Response {
    let (w, store, auth) = (words(lang), gate.cx.auth.store(), &gate.cx.auth);
    let now = now_ms();
    let sessions = store.sessions(&account.user.id, now, auth.settings.expiry).await;
    let tokens = store.tokens(&account.user.id).await;
    let passkeys = store.passkeys(&account.user.id).await;
    let invites = match account.role >= Role::Admin {
        true => Some(store.invites().await),
        false => None,
    };
    let (Ok(sessions), Ok(tokens), Ok(passkeys)) = (sessions, tokens, passkeys) else {
        return html(StatusCode::SERVICE_UNAVAILABLE, page(lang, w.title, &refusal(lang, &Refusal::Unavailable)));
    };
    let mut h = String::new();
    text(&mut h, "h1", w.title);
    let role = account.role.as_str();
    let who = w.signed_in_as.replace("{role}", role).replace("{handle}", &account.handle);
    text(&mut h, "p", &who.replace("{name}", &account.user.name));
    error_box(&mut h, said.error.as_deref());
    if let Some(done) = &said.done {
        h.push_str("<p class=\"form-done\" role=\"status\">");
        escape(&mut h, done);
        h.push_str("</p>");
    }
    if let Some((intro, secret)) = &said.secret {
        h.push_str("<p class=\"form-done\" role=\"status\">");
        escape(&mut h, intro);
        h.push_str(" <code data-testid=\"new-secret\">");
        escape(&mut h, secret);
        h.push_str("</code></p>");
    }
    text(&mut h, "h2", w.sessions);
    h.push_str("<ul class=\"sessions\" data-testid=\"sessions\">");
    for s in &sessions {
        h.push_str("<li>");
        escape(&mut h, &s.user_agent);
        h.push_str(" · ");
        escape(&mut h, &s.address);
        h.push_str(&format!(" · {} ", w.signed_in));
        when(&mut h, s.created_at);
        h.push_str(&format!(" · {} ", w.last_seen));
        when(&mut h, s.last_seen);
        if s.id == session {
            h.push_str(&format!(" · <strong>{}</strong>", w.this_browser));
        } else {
            button(&mut h, "/settings/sessions/end", &[("id", s.id.to_string())], w.sign_out);
        }
        h.push_str("</li>");
    }
    h.push_str("</ul>");
    button(&mut h, "/settings/sessions/end-others", &[], w.sign_out_others);
    text(&mut h, "h2", w.change_password);
    h.push_str("<form method=\"post\" action=\"/settings/password\" class=\"account-form\">");
    h.push_str(&format!(
        "<input type=\"text\" name=\"username\" value=\"{}\" autocomplete=\"username\" hidden>",
        account.handle
    ));
    field(&mut h, "current", w.current_password, "password", "", "autocomplete=\"current-password\"", None);
    field(&mut h, "password", w.new_password, "password", "", "autocomplete=\"new-password\" minlength=\"10\"", None);
    h.push_str("<button type=\"submit\">");
    escape(&mut h, w.change_password);
    h.push_str("</button></form>");
    text(&mut h, "h2", w.passkeys);
    text(&mut h, "p", w.passkeys_intro);
    h.push_str("<ul data-testid=\"passkeys\">");
    for p in &passkeys {
        h.push_str("<li>");
        escape(&mut h, &p.label);
        h.push_str(&format!(" · {} ", w.added));
        when(&mut h, p.created_at);
        h.push_str(" · ");
        match p.last_used {
            Some(used) => {
                h.push_str(&format!("{} ", w.last_seen));
                when(&mut h, used);
            }
            None => escape(&mut h, w.never_used),
        }
        button(&mut h, "/settings/passkeys/remove", &[("id", p.id.to_string())], w.remove);
        h.push_str("</li>");
    }
    // Shown by the page's script where the browser has passkeys.
    h.push_str("</ul><div class=\"account-form passkey-area\" id=\"passkey-area\" hidden>");
    h.push_str(&format!("<label for=\"passkey-name\">{}</label>", w.passkey_name));
    h.push_str("<input id=\"passkey-name\" type=\"text\" maxlength=\"64\" value=\"");
    escape(&mut h, &format!("{} passkey", account.user.name));
    h.push_str("\"><button type=\"button\" id=\"add-passkey\">");
    escape(&mut h, w.add_passkey);
    h.push_str("</button></div><p class=\"form-error\" id=\"passkey-status\" role=\"alert\" hidden></p>");
    push_section(&mut h, w);
    text(&mut h, "h2", w.tokens);
    text(&mut h, "p", w.tokens_intro);
    h.push_str("<ul data-testid=\"tokens\">");
    for (id, label, made) in &tokens {
        h.push_str("<li>");
        escape(&mut h, label);
        h.push_str(" · ");
        when(&mut h, *made);
        button(&mut h, "/settings/tokens/revoke", &[("id", id.to_string())], w.revoke);
        h.push_str("</li>");
    }
    h.push_str("</ul><form method=\"post\" action=\"/settings/tokens\" class=\"account-form\">");
    field(&mut h, "label", w.label, "text", "", "maxlength=\"64\"", None);
    h.push_str("<button type=\"submit\">");
    escape(&mut h, w.make_token);
    h.push_str("</button></form>");
    if let Some(invites) = invites {
        text(&mut h, "h2", w.invites);
        h.push_str("<ul data-testid=\"invites\">");
        for i in invites.unwrap_or_default() {
            h.push_str("<li>");
            escape(&mut h, &w.uses_left.replace("{count}", &i.uses_left.to_string()));
            h.push_str(&format!(" · {} ", w.expires));
            when(&mut h, i.expires_at);
            if !i.joined.is_empty() {
                h.push_str(&format!(" · {}: ", w.joined));
                escape(&mut h, &i.joined.iter().map(|j| format!("@{j}")).collect::<Vec<_>>().join(", "));
            }
            match i.revoked {
                true => h.push_str(&format!(" · {}", w.revoked)),
                false => button(&mut h, "/settings/invites/revoke", &[("id", i.id.to_string())], w.revoke),
            }
            h.push_str("</li>");
        }
        h.push_str("</ul><form method=\"post\" action=\"/settings/invites\" class=\"account-form\">");
        field(&mut h, "uses", w.uses, "number", "1", "min=\"1\" max=\"1000\"", None);
        field(&mut h, "days", w.days, "number", "7", "min=\"1\" max=\"365\"", None);
        h.push_str("<button type=\"submit\">");
        escape(&mut h, w.make_invite);
        h.push_str("</button></form>");
    }
    delete_form(&mut h, w);
    let links = [("/direct", w.direct), ("/people", w.my_rooms), ("/settings/export", w.export)];
    h.push_str("<p class=\"account-links\">");
    for (i, (href, label)) in links.iter().enumerate() {
        h.push_str(&format!("{}<a href=\"{href}\">", if i > 0 { " · " } else { "" }));
        escape(&mut h, label);
        h.push_str("</a>");
    }
    if account.role >= Role::Admin {
        h.push_str(" · <a href=\"/admin\">");
        escape(&mut h, w.admin);
        h.push_str("</a>");
    }
    h.push_str("</p><p class=\"account-links\"><a href=\"/\">");
    escape(&mut h, w.back);
    h.push_str("</a></p>");
    let status = if said.error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    html(status, page(lang, w.title, &h))
}

/// The signed-in member of a request (their session and account), if any.
async fn member(gate: &Gate, headers: &HeaderMap) -> Option<(i64, Account)> {
    match gate.cx.auth.visitor(headers).await {
        Some(Visitor::Member { session, account }) => Some((session, account)),
        _ => None,
    }
}

/// `GET /settings`.
pub async fn show(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    match member(&gate, &headers).await {
        Some((session, account)) => render(&gate, lang(&headers), session, &account, Said::default()).await,
        None => Redirect::to("/sign-in").into_response(),
    }
}

/// Deleting one's account: the password again, and what becomes of one's messages.
fn delete_form(h: &mut String, w: &super::settings_words::Words) {
    text(h, "h2", w.delete_title);
    h.push_str(
        "<form method=\"post\" action=\"/settings/delete\" class=\"account-form\" data-testid=\"delete-account\">",
    );
    text(h, "p", w.delete_intro);
    h.push_str("<fieldset><legend>");
    escape(h, w.delete_messages);
    h.push_str("</legend>");
    for (value, label, checked) in [("keep", w.keep_messages, " checked"), ("remove", w.remove_messages, "")] {
        h.push_str(&format!("<label><input type=\"radio\" name=\"messages\" value=\"{value}\"{checked}> "));
        escape(h, label);
        h.push_str("</label>");
    }
    h.push_str("</fieldset>");
    field(h, "confirm", w.confirm_password, "password", "", "autocomplete=\"current-password\" required", None);
    h.push_str("<button type=\"submit\">");
    escape(h, w.delete_button);
    h.push_str("</button></form>");
}

/// The fields any settings form may post.
#[derive(Deserialize, Default)]
pub struct Posted {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    current: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    uses: Option<i64>,
    #[serde(default)]
    days: Option<u64>,
    #[serde(default)]
    messages: Option<String>,
    /// The password again, to delete the account.
    #[serde(default)]
    confirm: Option<String>,
}

/// `POST /settings/{what}`: one change, then the page again.
pub async fn change(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::extract::Path(what): axum::extract::Path<String>,
    headers: HeaderMap,
    Form(form): Form<Posted>,
) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let Some((session, account)) = member(&gate, &headers).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let (lang, auth, user) = (lang(&headers), &gate.cx.auth, &account.user.id);
    let w = words(lang);
    let failed = |r: Refusal| Said { error: Some(refusal(lang, &r)), ..Said::default() };
    let done = |text: &str| Said { done: Some(text.to_owned()), ..Said::default() };
    let said = match (what.as_str(), form) {
        ("sessions/end", Posted { id: Some(id), .. }) if id != session => {
            match auth.end_sessions(user, Which::One(id)).await {
                Ok(_) => done(w.ended),
                Err(e) => failed(Refusal::from(e)),
            }
        }
        ("sessions/end-others", _) => match auth.end_sessions(user, Which::AllBut(session)).await {
            Ok(_) => done(w.ended),
            Err(e) => failed(Refusal::from(e)),
        },
        ("password", Posted { current: Some(current), password: Some(new), .. }) => {
            let ip = gate.admission.client_ip(peer, &headers);
            match auth.check_password(&account, &current, ip).await {
                Ok(()) => match auth.change_password(user, Some(session), &new, &account.handle).await {
                    Ok(()) => done(w.password_changed),
                    Err(r) => failed(r),
                },
                Err(r) => failed(r),
            }
        }
        ("tokens", Posted { label, .. }) => {
            let label: String = label.unwrap_or_default().trim().chars().take(64).collect();
            match auth.make_token(user, if label.is_empty() { "token" } else { &label }).await {
                Ok(token) => Said { secret: Some((w.token_made, token)), ..Said::default() },
                Err(r) => failed(r),
            }
        }
        ("passkeys/remove", Posted { id: Some(id), .. }) => match auth.store().remove_passkey(user, id).await {
            Ok(_) => Said::default(),
            Err(e) => failed(Refusal::from(e)),
        },
        ("tokens/revoke", Posted { id: Some(id), .. }) => match auth.revoke_token(user, id).await {
            Ok(_) => Said::default(),
            Err(e) => failed(Refusal::from(e)),
        },
        ("invites", Posted { uses, days, .. }) if account.role >= Role::Admin => {
            let (uses, days) = (uses.unwrap_or(1).clamp(1, 1000), days.unwrap_or(7).clamp(1, 365));
            match auth.invite(Some(user), uses, Duration::from_secs(days * 86_400)).await {
                Ok(code) => Said { secret: Some((w.invite_made, invite_link(&headers, &code))), ..Said::default() },
                Err(r) => failed(r),
            }
        }
        ("invites/revoke", Posted { id: Some(id), .. }) if account.role >= Role::Admin => {
            match auth.store().revoke_invite(id).await {
                Ok(_) => Said::default(),
                Err(e) => failed(Refusal::from(e)),
            }
        }
        ("delete", Posted { confirm: Some(current), messages, .. }) => {
            let ip = gate.admission.client_ip(peer, &headers);
            match auth.check_password(&account, &current, ip).await {
                Ok(()) => match auth.delete_account(&account, messages.as_deref() == Some("remove")).await {
                    Ok(()) => return session::go_without_cookie("/", &headers),
                    Err(denied) => Said { error: Some(denied.to_string()), ..Said::default() },
                },
                Err(r) => failed(r),
            }
        }
        _ => return (StatusCode::BAD_REQUEST, "not a change the settings page makes\n").into_response(),
    };
    render(&gate, lang, session, &account, said).await
}

/// The whole link of an invite, on the address the page was loaded from.
fn invite_link(headers: &HeaderMap, code: &str) -> String {
    let origin = headers.get(axum::http::header::ORIGIN).and_then(|o| o.to_str().ok()).unwrap_or_default();
    format!("{origin}/sign-up?invite={code}")
}

/// Web Push for this browser: worked by `public/push.js`, which says where the browser
/// cannot (the words it needs ride on the section).
fn push_section(h: &mut String, w: &super::settings_words::Words) {
    text(h, "h2", w.push);
    text(h, "p", w.push_intro);
    h.push_str("<div class=\"account-form\" id=\"push-area\"");
    for (name, said) in [
        ("on", w.push_on),
        ("off", w.push_off),
        ("turn-on", w.push_turn_on),
        ("turn-off", w.push_turn_off),
        ("denied", w.push_denied),
        ("sent", w.push_sent),
    ] {
        h.push_str(&format!(" data-{name}=\""));
        escape(h, said);
        h.push('"');
    }
    h.push_str("><p id=\"push-state\">");
    escape(h, w.push_unsupported);
    h.push_str("</p><button type=\"button\" id=\"push-toggle\" hidden></button>");
    h.push_str("<button type=\"button\" id=\"push-test\" hidden>");
    escape(h, w.push_test);
    h.push_str("</button></div><p class=\"form-error\" id=\"push-status\" role=\"status\" hidden></p>");
}
