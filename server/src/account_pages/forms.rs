//! The accounts' HTTP handlers: `GET`/`POST /sign-in`, `/sign-up` and `/setup` (the
//! first-run owner account), and `POST /sign-out`. Each form is a plain HTML form that
//! works without JavaScript; a POST is taken only from Palaver's own pages (its
//! `Origin`), and answers with the same page and the error in it, or, signed in, a
//! redirect to the chat with the session cookie set.

use super::pages::{self, Form, Typed};
use crate::accounts::audit;
use crate::accounts::Visitor;
use crate::accounts::{Applicant, Auth, Refusal, SignUp};
use crate::chat::Gate;
use crate::session;
use crate::store::accounts::{Account, Role, Which};
use crate::store::rooms::AuditEntry;
use app::locale::{Lang, Reader};
use axum::{
    extract::{ConnectInfo, Form as Posted, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};

/// What the accounts' pages allow: nothing from elsewhere; the site's own script (passkeys)
/// and requests; forms to here.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Deserialize)]
pub struct SignInForm {
    handle: String,
    password: String,
}

#[derive(Deserialize)]
pub struct NewAccountForm {
    handle: String,
    display_name: String,
    password: String,
    #[serde(default)]
    invite: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[derive(Deserialize)]
pub struct Link {
    #[serde(default)]
    invite: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// The reader's language, from the `lang` cookie or `Accept-Language`.
pub fn lang(headers: &HeaderMap) -> Lang {
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    Reader::of_request(header(header::COOKIE), header(header::ACCEPT_LANGUAGE), 0).lang
}

/// An HTML page of the accounts', with its status.
pub fn html(status: StatusCode, html: String) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        (header::CACHE_CONTROL, "no-store"),
    ];
    (status, headers, html).into_response()
}

fn status_of(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::WrongPassword => StatusCode::UNAUTHORIZED,
        Refusal::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Busy | Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::SignUpClosed | Refusal::InviteSpent | Refusal::OwnerTaken | Refusal::Suspended => {
            StatusCode::FORBIDDEN
        }
        Refusal::HandleTaken | Refusal::AlreadyAnAccount => StatusCode::CONFLICT,
        Refusal::BadHandle(_) | Refusal::BadName(_) | Refusal::Weak(_) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// The form again, with what was typed and why it was refused.
fn refused(headers: &HeaderMap, form: &Form, typed: &Typed<'_>, refusal: &Refusal) -> Response {
    let lang = lang(headers);
    let message = pages::refusal(lang, refusal);
    let mut response = html(status_of(refusal), pages::form(lang, form, typed, Some(&message)));
    if let Refusal::TooMany(wait) = refusal {
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    response
}

fn client_ip(gate: &Gate, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    gate.admission.client_ip(peer, headers)
}

/// Signed in: a session, its cookie, and the chat.
async fn signed_in(auth: &Auth, account: &Account, ip: IpAddr, headers: &HeaderMap) -> Result<Response, Refusal> {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let secret = auth.start_session(account, ip, agent).await?;
    tracing::info!(handle = %account.handle, %ip, "signed in");
    auth.audit(AuditEntry::new(audit::SIGN_IN).by(&account.user.id).from(&ip.to_string(), agent)).await;
    Ok(session::go_with_cookie("/", &secret, headers))
}

/// `GET /sign-in`.
pub async fn sign_in_page(headers: HeaderMap) -> Response {
    html(StatusCode::OK, pages::form(lang(&headers), &Form::SignIn, &Typed::default(), None))
}

/// `POST /sign-in`: fields `handle` and `password`.
pub async fn sign_in(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Posted(form): Posted<SignInForm>,
) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let auth = &gate.cx.auth;
    let ip = client_ip(&gate, peer, &headers);
    let typed = Typed { handle: &form.handle, display_name: "" };
    let outcome = match auth.sign_in(&form.handle, &form.password, ip).await {
        Ok(account) => signed_in(auth, &account, ip, &headers).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(signed_in) => signed_in,
        Err(refusal) => {
            if matches!(refusal, Refusal::WrongPassword | Refusal::Suspended | Refusal::TooMany(_)) {
                tracing::info!(handle = %form.handle, %ip, "sign-in refused");
                let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
                let handle: String = form.handle.trim().chars().take(64).collect();
                let entry = AuditEntry::new(audit::SIGN_IN_FAILED).from(&ip.to_string(), agent);
                auth.audit(entry.saying(format!("as {handle}"))).await;
            }
            refused(&headers, &Form::SignIn, &typed, &refusal)
        }
    }
}

/// `GET /sign-up` (`?invite=CODE` from an invite link).
pub async fn sign_up_page(State(gate): State<Gate>, headers: HeaderMap, Query(link): Query<Link>) -> Response {
    let auth = &gate.cx.auth;
    let form = Form::SignUp { invite: link.invite.clone() };
    let problem = match &link.invite {
        Some(code) if !auth.invite_open(code).await => Some(Refusal::InviteSpent),
        None if auth.settings.sign_up == SignUp::Invite => Some(Refusal::SignUpClosed),
        _ => None,
    };
    match problem {
        Some(refusal) => refused(&headers, &form, &Typed::default(), &refusal),
        None => html(StatusCode::OK, pages::form(lang(&headers), &form, &Typed::default(), None)),
    }
}

/// `POST /sign-up`: `handle`, `display_name`, `password`, and `invite` from the link.
/// A guest who signs up keeps their person: their messages are the account's.
pub async fn sign_up(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Posted(form): Posted<NewAccountForm>,
) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let auth = &gate.cx.auth;
    let invite = form.invite.as_deref().filter(|c| !c.is_empty());
    let person = match gate.cx.auth.visitor(&headers).await {
        Some(Visitor::Guest(user)) => Some(user),
        _ => None,
    };
    let allowed = invite.is_some() || auth.settings.sign_up == SignUp::Open;
    let page = Form::SignUp { invite: invite.map(str::to_owned) };
    make_and_sign_in(&gate, peer, &headers, &form, (Role::Member, invite, person, allowed), page).await
}

/// Makes the account a form asks for (with its role, invite, guest's person, and
/// whether it may be made) and signs it in; else the form again, saying why not.
async fn make_and_sign_in(
    gate: &Gate,
    peer: SocketAddr,
    headers: &HeaderMap,
    form: &NewAccountForm,
    (role, invite, person, allowed): (Role, Option<&str>, Option<palaver_protocol::User>, bool),
    page: Form,
) -> Response {
    let auth = &gate.cx.auth;
    let applicant = Applicant {
        handle: &form.handle,
        display_name: &form.display_name,
        password: &form.password,
        role,
        invite,
        person,
    };
    let ip = client_ip(gate, peer, headers);
    let outcome = match auth.make(applicant, allowed).await {
        Ok(account) => signed_in(auth, &account, ip, headers).await,
        Err(e) => Err(e),
    };
    let typed = Typed { handle: &form.handle, display_name: &form.display_name };
    outcome.unwrap_or_else(|refusal| refused(headers, &page, &typed, &refusal))
}

/// Whether the first-run page is open to this code: the workspace has no owner yet and
/// the code is the one printed in the log at start.
async fn setup_open(auth: &Auth, code: Option<&str>) -> bool {
    code.is_some_and(|c| auth.is_setup_code(c)) && matches!(auth.has_owner().await, Ok(false))
}

fn no_setup(headers: &HeaderMap) -> Response {
    let text = match lang(headers) {
        Lang::En => "This first-run link is not valid: the workspace has an owner, or the link is wrong.\n",
        Lang::Ko => "이 첫 실행 링크는 유효하지 않습니다. 워크스페이스에 이미 소유자가 있거나 링크가 잘못되었습니다.\n",
    };
    (StatusCode::NOT_FOUND, text).into_response()
}

/// `GET /setup?code=CODE`: the owner account's page, on first run only.
pub async fn setup_page(State(gate): State<Gate>, headers: HeaderMap, Query(link): Query<Link>) -> Response {
    match link.code {
        Some(code) if setup_open(&gate.cx.auth, Some(&code)).await => {
            html(StatusCode::OK, pages::form(lang(&headers), &Form::Setup { code }, &Typed::default(), None))
        }
        _ => no_setup(&headers),
    }
}

/// `POST /setup`: the owner account, with the first-run code.
pub async fn setup(
    State(gate): State<Gate>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Posted(form): Posted<NewAccountForm>,
) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    let auth = &gate.cx.auth;
    if !setup_open(auth, form.code.as_deref()).await {
        return no_setup(&headers);
    }
    let page = Form::Setup { code: form.code.clone().unwrap_or_default() };
    make_and_sign_in(&gate, peer, &headers, &form, (Role::Owner, None, None, true), page).await
}

/// `POST /sign-out`: this browser's session ends (its sockets close, on every node) and
/// its cookie is cleared.
pub async fn sign_out(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if let Err(refused) = session::from_our_page(&gate, &headers) {
        return refused.into_response();
    }
    if let Some(Visitor::Member { session, account }) = gate.cx.auth.visitor(&headers).await {
        if let Err(e) = gate.cx.auth.end_sessions(&account.user.id, Which::One(session)).await {
            tracing::warn!("cannot end a session: {e}");
        }
    }
    session::go_without_cookie("/", &headers)
}
