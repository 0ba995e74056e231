//! The server-rendered chat pages: a room's latest messages are loaded first (and for a
//! reader with a first unread message further back, the page around it), then the app
//! is rendered around them (and the same messages written into the page as JSON, for
//! the browser to hydrate).

use crate::access::{may_read, Reader, DIRECT_PREFIX};
use crate::accounts::Visitor;
use crate::chat::Gate;
use crate::hub::Hub;
use crate::store::rooms::Kind;
use app::chat::Results;
use app::components::browse_page::{RenderedDirectory, DIRECTORY_PAGE};
use app::components::search_page::RenderedSearch;
use app::history::RenderedPage;
use app::locale::{Lang, LANG_COOKIE};
use app::location::Place;
use app::shell;
use app::start::PageStart;
use axum::{
    body::Body,
    extract::State,
    http::{header, Request, StatusCode},
    response::{IntoResponse, Response},
};
use leptos::prelude::LeptosOptions;
use palaver_protocol::{RoomId, Seq, ServerMsg, HISTORY_PAGE};
use std::sync::Arc;

/// How long the language chosen with the page's switch is remembered: a year.
const LANG_COOKIE_SECONDS: u32 = 365 * 24 * 3600;

/// `GET /`, `/r/{room}`, `/search` and `/rooms`, rendered in the reader's language (`?lang=ko` chooses
/// one: remembered in a cookie, then the same address without it).
pub async fn page(
    State(hub): State<Arc<Hub>>,
    State(gate): State<Gate>,
    State(options): State<LeptosOptions>,
    request: Request<Body>,
) -> Response {
    // (A request that did not come through the accept loop has no peer address, and
    // nothing to count it against.)
    if let Some(peer) = crate::listen::peer(request.extensions()) {
        if let Err(refused) = gate.admission.admit_page(peer, request.headers()) {
            return refused.into_response();
        }
    }
    let query = request.uri().query().unwrap_or_default();
    if let Some(chosen) = query.split('&').find_map(|kv| kv.strip_prefix("lang=")) {
        let rest: Vec<&str> = query.split('&').filter(|kv| !kv.starts_with("lang=") && !kv.is_empty()).collect();
        let back = match rest.is_empty() {
            true => request.uri().path().to_owned(),
            false => format!("{}?{}", request.uri().path(), rest.join("&")),
        };
        return choose_language(&back, chosen);
    }
    let place = Place::of(request.uri().path_and_query().map_or("/", |p| p.as_str()));
    let visitor = gate.cx.auth.visitor(request.headers()).await;
    let reader = Visitor::reader(visitor.as_ref());
    // Where guests may not chat, the chat is for those signed in.
    if !reader.is_member() && !gate.cx.auth.guests_allowed().await {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/sign-in")]).into_response();
    }
    if let Place::Room(room) = &place {
        if !room_shown(&hub, &gate, &reader, room).await {
            return crate::account_pages::not_found(request.headers());
        }
    }
    let found = match &place {
        Place::Search { query, before } if !query.trim().is_empty() => {
            match crate::search::find(hub.store(), query, reader.id(), *before).await {
                Ok((hits, next)) => Some(RenderedSearch(Results::found(query.trim().to_owned(), hits, next))),
                // Nothing to look for, or the store failed (logged): the page says none found.
                Err(_) => Some(RenderedSearch(Results::found(query.trim().to_owned(), Vec::new(), None))),
            }
        }
        _ => None,
    };
    let directory = match &place {
        Place::Rooms { after } => Some(directory(&hub, after.as_deref()).await),
        _ => None,
    };
    // The rooms as the socket will list them, and the person of the session cookie
    // (the page is then theirs: see the Cache-Control below).
    let mut start = PageStart { frames: vec![ServerMsg::Rooms { rooms: hub.rooms() }] };
    let mut listed: Vec<RoomId> = match &place {
        Place::Room(room) => vec![room.clone()],
        _ => Vec::new(),
    };
    let member = match &visitor {
        Some(Visitor::Member { account, .. }) => {
            Some(app::Member(account.handle.clone(), account.role >= crate::store::accounts::Role::Admin))
        }
        _ => None,
    };
    if let Some(user) = visitor.map(|v| v.user().clone()) {
        let unread = hub.unread_of(&user.id).await.unwrap_or_else(|e| {
            tracing::warn!("rendering a page without its reader's unread counts: {e}");
            Vec::new()
        });
        start.frames.push(ServerMsg::Welcome { user, token: String::new() });
        listed.extend(unread.iter().map(|r| r.room.clone()));
        start.frames.push(ServerMsg::Unread { rooms: unread, all: true, left: Vec::new() });
    }
    // What the room on screen and those listed are called.
    listed.sort();
    listed.dedup();
    match hub.about(&reader, &listed).await {
        Ok(about) => start.frames.extend(about),
        Err(e) => tracing::warn!("rendering a page without what its rooms are called: {e}"),
    }
    let rendered = match place {
        Place::Room(room) => {
            let at = request.uri().path_and_query().and_then(|p| app::location::message_at(p.as_str()));
            rendered_room(&hub, room, &start, at).await
        }
        Place::BadRoom { .. } | Place::NotFound | Place::Search { .. } | Place::Rooms { .. } => None,
    };
    let file_mb = gate.cx.files.limits.per_file >> 20;
    let render = leptos_axum::render_app_to_stream_with_context(
        move || {
            leptos::prelude::provide_context(start.clone());
            if let Some(rendered) = rendered.clone() {
                leptos::prelude::provide_context(rendered);
            }
            if let Some(found) = found.clone() {
                leptos::prelude::provide_context(found);
            }
            if let Some(directory) = directory.clone() {
                leptos::prelude::provide_context(directory);
            }
            if let Some(member) = member.clone() {
                leptos::prelude::provide_context(member);
            }
            leptos::prelude::provide_context(app::FileLimit(file_mb));
        },
        move || shell(options.clone()),
    );
    let mut response = render(request).await;
    // A page may be one person's: kept by no shared cache, checked again by the browser.
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("private, no-cache"));
    response
}

/// Whether a room's page is shown to `reader`: they may read it, and it exists or they
/// may make it. Otherwise the page is "Page not found" (404), the same for a room that
/// does not exist and one they may not read, so that a name tells nothing.
async fn room_shown(hub: &Hub, gate: &Gate, reader: &Reader, room: &RoomId) -> bool {
    let rules = match hub.rules(room).await {
        Ok(rules) => rules,
        Err(e) => {
            tracing::warn!(%room, "cannot tell who may read a room: {e}");
            return false;
        }
    };
    if !may_read(&rules, reader) {
        return false;
    }
    let exists = rules.made || *room == RoomId::lobby() || hub.exists(room);
    exists || (!room.as_str().starts_with(DIRECT_PREFIX) && gate.cx.auth.may_make_rooms(reader).await)
}

/// A page of the directory of rooms, from the first room named after `after` (a name
/// that is no room's name starts from the top): the rooms in everyone's lists (public,
/// not archived).
async fn directory(hub: &Hub, after: Option<&str>) -> RenderedDirectory {
    let mut after = after.and_then(|a| RoomId::parse(a).ok());
    let mut listed = Vec::new();
    loop {
        match hub.store().directory(after.clone(), DIRECTORY_PAGE + 1).await {
            Ok(rooms) => {
                let end = rooms.len() <= DIRECTORY_PAGE;
                after = rooms.last().map(|r| r.room.clone());
                for room in rooms {
                    let rules = hub.rules(&room.room).await;
                    if rules.is_ok_and(|r| r.kind == Kind::Public && !r.archived) {
                        listed.push(room);
                    }
                }
                if end || listed.len() > DIRECTORY_PAGE {
                    break;
                }
            }
            Err(e) => {
                // The page says there are none (logged here).
                tracing::warn!("rendering the directory of rooms without its rooms: {e}");
                return RenderedDirectory { rooms: Vec::new(), more_after: None };
            }
        }
    }
    let more = listed.len() > DIRECTORY_PAGE;
    listed.truncate(DIRECTORY_PAGE);
    let more_after = more.then(|| listed.last().map(|r| r.room.clone())).flatten();
    RenderedDirectory { rooms: listed, more_after }
}

/// A room's newest page as the page shows it, with the page around the message the room
/// opens at if the newest does not reach back to it: the one the address names (`at`),
/// else the reader's first unread one.
async fn rendered_room(hub: &Hub, room: RoomId, start: &PageStart, at: Option<Seq>) -> Option<RenderedPage> {
    let page = match hub.store().latest(&room, HISTORY_PAGE).await {
        Ok(page) => page,
        Err(e) => {
            // The page still works: the socket brings the messages once it connects.
            tracing::warn!(%room, "rendering a page without its history: {e}");
            return None;
        }
    };
    let wanted = at.or_else(|| start.unread().find(|r| r.room == room).and_then(|r| r.first));
    let oldest = page.messages.first().map(|m| m.seq);
    let around = match wanted.filter(|w| oldest.is_some_and(|o| *w < o)) {
        Some(wanted) => {
            match hub.store().around(&room, wanted, HISTORY_PAGE).await {
                Ok(around) => Some(around),
                Err(e) => {
                    // The page then loads it once the room is joined.
                    tracing::warn!(%room, "rendering a page without the message it opens at: {e}");
                    None
                }
            }
        }
        None => None,
    };
    Some(RenderedPage { room, page, around })
}

/// `?lang=CODE`: remember the language and show the page again at its own address.
fn choose_language(path: &str, code: &str) -> Response {
    let Some(lang) = Lang::parse(code).filter(|l| l.code() == code) else {
        let spoken: Vec<&str> = Lang::ALL.iter().map(|l| l.code()).collect();
        let message = format!("unknown language {code:?}: Palaver speaks {}\n", spoken.join(" and "));
        return (StatusCode::BAD_REQUEST, message).into_response();
    };
    let cookie = format!("{LANG_COOKIE}={}; Path=/; Max-Age={LANG_COOKIE_SECONDS}; SameSite=Lax", lang.code());
    (StatusCode::SEE_OTHER, [(header::LOCATION, path.to_owned()), (header::SET_COOKIE, cookie)]).into_response()
}
