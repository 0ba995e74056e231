//! The browser's side of the chat socket: the I/O around [`app::session`]. It opens the
//! socket, hands the session what the server and the page say, sends and stores what the
//! session decides and runs its timers, and reconnects early when the browser comes back
//! online or the tab is shown.

use app::chat::{now_ms, Chat, ChatLink, ConnectionStatus, Intent, Me};
use app::session::{Action, Page, Session, NAME_KEY, TOKEN_KEY};
use futures::{
    channel::mpsc::{unbounded, UnboundedReceiver},
    future::{select, Either},
    SinkExt, StreamExt,
};
use gloo_net::websocket::{futures::WebSocket, Message, WebSocketError};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use palaver_protocol::ServerMsg;
use std::time::Duration;

pub fn connect(link: ChatLink) {
    leptos::task::spawn_local(run(link));
}

async fn run(ChatLink { chat, mut intents }: ChatLink) {
    // After hydration (this task starts once it is done): the page was rendered not
    // knowing who we are, or for the person of its session cookie.
    let rendered_for = chat.my_user(false);
    chat.me.set(match (member(), stored(NAME_KEY)) {
        // Signed in to an account: who the server rendered the page for.
        (true, _) => rendered_for.map_or(Me::Anonymous, |user| Me::Named { name: user.name.clone(), user: Some(user) }),
        (false, Some(name)) => Me::Named { user: rendered_for.filter(|u| u.name == name), name },
        (false, None) => Me::Anonymous,
    });
    // Back online, or the tab shown again: retry now rather than after the backoff.
    let (nudge, mut nudges) = unbounded::<()>();
    // Gone offline: drop the connection now (browsers may keep a dead socket open for
    // minutes), so the page says so and queues what is typed.
    let (went_offline, mut offline) = unbounded::<()>();
    window_event_listener(leptos::ev::offline, move |_| {
        let _ = went_offline.unbounded_send(());
    });
    {
        let nudge = nudge.clone();
        window_event_listener(leptos::ev::online, move |_| {
            let _ = nudge.unbounded_send(());
        });
    }
    window_event_listener(leptos::ev::visibilitychange, move |_| {
        if document().visibility_state() == web_sys::VisibilityState::Visible {
            signed_out_elsewhere();
            let _ = nudge.unbounded_send(());
        }
    });

    let mut session = Session::default();
    loop {
        match WebSocket::open(&socket_url()) {
            Ok(ws) => converse(chat, &mut session, ws, &mut intents, &mut offline).await,
            Err(e) => leptos::logging::warn!("palaver: cannot open the chat socket: {e}"),
        }
        let mut reconnect_at = now_ms();
        for action in session.closed(now_ms(), js_sys::Math::random()) {
            match action {
                Action::Reconnect { at_ms } => reconnect_at = at_ms,
                other => perform(chat, other),
            }
        }
        let wait = sleep(until(reconnect_at));
        futures::pin_mut!(wait);
        let _ = select(wait, nudges.next()).await;
        while nudges.try_recv().is_ok() {}
    }
}

/// Carries one connection until it closes, or the browser goes offline.
async fn converse(
    chat: Chat,
    session: &mut Session,
    ws: WebSocket,
    intents: &mut UnboundedReceiver<Intent>,
    offline: &mut UnboundedReceiver<()>,
) {
    while offline.try_recv().is_ok() {}
    let (mut sink, mut frames) = ws.split();
    let mut actions = decide(chat, |page| session.opened(page));
    loop {
        for action in actions.drain(..) {
            match action {
                Action::Send(msg) => {
                    if sink.send(Message::Text(msg.encode())).await.is_err() {
                        return;
                    }
                }
                other => perform(chat, other),
            }
        }
        let page = select(intents.next(), offline.next());
        actions = match select(frames.next(), page).await {
            Either::Left((Some(Ok(Message::Text(text))), _)) => match ServerMsg::decode(&text) {
                Ok(msg) => {
                    // Folded in first: the session decides on the page as the frame left it.
                    chat.apply(msg.clone(), now_ms());
                    if let ServerMsg::Notification(m) = &msg {
                        app::notify::tell(chat, m.clone());
                    }
                    decide(chat, |page| session.received(&msg, page))
                }
                Err(e) => {
                    let start: String = text.chars().take(120).collect();
                    leptos::logging::warn!("palaver: unreadable frame from the server ({e}): {start}");
                    Vec::new()
                }
            },
            Either::Left((Some(Ok(Message::Bytes(_))), _)) => Vec::new(),
            // This browser signed out (here or elsewhere): the page starts again as it is now.
            Either::Left((Some(Err(WebSocketError::ConnectionClose(close))), _)) if close.code == SIGNED_OUT => {
                let _ = window().location().reload();
                return;
            }
            Either::Left((Some(Err(_)) | None, _)) => return,
            Either::Right((Either::Left((Some(intent), _)), _)) => decide(chat, |page| session.intended(&intent, page)),
            // Gone offline (or the page is gone).
            Either::Right(_) => return,
        };
    }
}

/// Lets the session decide, reading the page as it is now.
fn decide(chat: Chat, session_decides: impl FnOnce(&Page) -> Vec<Action>) -> Vec<Action> {
    let room = chat.room.get_untracked();
    let name = chat.my_name(false);
    let token = || if member() { None } else { stored(TOKEN_KEY) };
    chat.timelines.with_untracked(|timelines| {
        session_decides(&Page { room: &room, timelines, name: name.as_deref(), token: &token, now_ms: now_ms() })
    })
}

/// Does what the session decided, apart from sending (the connection does that) and
/// reconnecting (the loop in `run` does that).
fn perform(chat: Chat, action: Action) {
    match action {
        // Not connected with the browser offline: the page says it is offline.
        Action::Status(ConnectionStatus::Reconnecting) if !window().navigator().on_line() => {
            chat.status.set(ConnectionStatus::Offline)
        }
        Action::Status(status) => chat.status.set(status),
        // An account's page keeps nothing: its session cookie is who it is.
        Action::Remember { .. } if member() => {}
        Action::Remember { token, name } => {
            signed_out_elsewhere();
            store(TOKEN_KEY, &token);
            store(NAME_KEY, &name);
            // The session cookie, for the pages the server renders (see the server's
            // `session.rs`): a request that outlives the page if need be.
            let _ = window().navigator().send_beacon_with_opt_str("/session", Some(&token));
        }
        Action::ForgetToken => forget(TOKEN_KEY),
        Action::Wake { at_ms, intent } => leptos::task::spawn_local(async move {
            sleep(until(at_ms)).await;
            chat.intend(intent);
        }),
        Action::Send(_) | Action::Reconnect { .. } => {}
    }
}

thread_local! {
    /// Whether this page has kept a token (so that its going means signing out).
    static KEPT_A_TOKEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Signed out in another tab (the token this page kept is gone): this one starts again
/// as a visitor, rather than sign in again with the token it still holds.
fn signed_out_elsewhere() {
    if member() {
        return;
    }
    let kept = stored(TOKEN_KEY).is_some();
    if KEPT_A_TOKEN.replace(kept) && !kept {
        let _ = window().location().reload();
    }
}

/// Whether the page is a signed-in account's (the server marks `<html data-member>`).
fn member() -> bool {
    document().document_element().is_some_and(|e| e.has_attribute("data-member"))
}

/// The close code of a connection whose session ended.
const SIGNED_OUT: u16 = palaver_protocol::Close::SignedOut.code();

/// How long from now until `at_ms` (ms since the epoch).
fn until(at_ms: f64) -> Duration {
    Duration::from_millis((at_ms - now_ms()).max(0.0).ceil() as u64)
}

fn socket_url() -> String {
    let location = window().location();
    let scheme = if location.protocol().as_deref() == Ok("https:") { "wss" } else { "ws" };
    format!("{scheme}://{}/ws", location.host().unwrap_or_default())
}

fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn stored(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten().filter(|v| !v.is_empty())
}

fn store(key: &str, value: &str) {
    if let Some(s) = local_storage() {
        let _ = s.set_item(key, value);
    }
}

fn forget(key: &str) {
    if let Some(s) = local_storage() {
        let _ = s.remove_item(key);
    }
}
