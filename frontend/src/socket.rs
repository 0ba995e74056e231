//! The browser's side of the chat socket: connect, say who we are, join the room on
//! screen (resuming after the last message seen), send what is pending, fold what the
//! server says into the chat state, and reconnect with jittered backoff whenever the
//! connection drops, at once when the browser comes back online or the tab is shown.

use app::chat::{now_ms, Chat, ChatLink, ConnectionStatus, Intent, Me};
use app::protocol::{ClientMsg, ClientMsgId, ErrorReason, Hello, RoomId, ServerMsg};
use futures::{
    channel::mpsc::{unbounded, UnboundedReceiver},
    future::{select, Either},
    SinkExt, StreamExt,
};
use gloo_net::websocket::{futures::WebSocket, Message};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use std::{collections::HashSet, time::Duration};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(10);
const TOKEN_KEY: &str = "palaver.token";
const NAME_KEY: &str = "palaver.name";

pub fn connect(link: ChatLink) {
    leptos::task::spawn_local(run(link));
}

async fn run(ChatLink { chat, mut intents }: ChatLink) {
    // After hydration (this task starts once it is done): the page was rendered not
    // knowing who we are.
    chat.me.set(match stored(NAME_KEY) {
        Some(name) => Me::Named { name, user: None },
        None => Me::Anonymous,
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
            let _ = nudge.unbounded_send(());
        }
    });

    let mut failures: u32 = 0;
    loop {
        match WebSocket::open(&socket_url()) {
            Ok(ws) => {
                if Session::new(chat).run(ws, &mut intents, &mut offline).await {
                    failures = 0;
                }
            }
            Err(e) => leptos::logging::warn!("palaver: cannot open the chat socket: {e}"),
        }
        chat.status.set(ConnectionStatus::Reconnecting);
        let wait = sleep(backoff(failures));
        futures::pin_mut!(wait);
        let _ = select(wait, nudges.next()).await;
        while nudges.try_recv().is_ok() {}
        failures = failures.saturating_add(1);
    }
}

/// One connection's state.
struct Session {
    chat: Chat,
    welcomed: bool,
    /// The room this connection has asked to join.
    joined: Option<RoomId>,
    /// Whether the server has answered that join: only then is there a room to send to.
    ready: bool,
    /// Whether this connection ever got that far.
    was_ready: bool,
    /// What went out on this connection; after a reconnect everything pending goes again.
    sent_here: HashSet<ClientMsgId>,
    /// After "slow down", nothing more is sent until then (ms since the epoch), so a later
    /// message cannot overtake the refused one: the page's messages keep their order.
    held_until: f64,
    /// Rooms the server has not let us leave yet (switching rooms too fast): left again
    /// once it will take it, so nobody there sees us as still present.
    not_left: Vec<RoomId>,
    /// A retry of refused joins and leaves is waiting for the server's wait to pass.
    rejoin_due: bool,
}

impl Session {
    fn new(chat: Chat) -> Session {
        Session {
            chat,
            welcomed: false,
            joined: None,
            ready: false,
            was_ready: false,
            sent_here: HashSet::new(),
            held_until: 0.0,
            not_left: Vec::new(),
            rejoin_due: false,
        }
    }

    /// Runs until the connection closes. True if it got as far as joining a room.
    async fn run(
        mut self,
        ws: WebSocket,
        intents: &mut UnboundedReceiver<Intent>,
        offline: &mut UnboundedReceiver<()>,
    ) -> bool {
        while offline.try_recv().is_ok() {}
        let (mut sink, mut frames) = ws.split();
        let mut out = self.hello();
        loop {
            for msg in out.drain(..) {
                if sink.send(Message::Text(msg.encode())).await.is_err() {
                    return self.was_ready;
                }
            }
            let page = select(intents.next(), offline.next());
            out = match select(frames.next(), page).await {
                Either::Left((Some(Ok(Message::Text(text))), _)) => match ServerMsg::decode(&text) {
                    Ok(msg) => self.received(msg),
                    Err(e) => {
                        leptos::logging::warn!("palaver: unreadable frame from the server: {e}");
                        Vec::new()
                    }
                },
                Either::Left((Some(Ok(Message::Bytes(_))), _)) => Vec::new(),
                Either::Left((Some(Err(_)) | None, _)) => return self.was_ready,
                Either::Right((Either::Left((Some(intent), _)), _)) => self.intended(intent),
                Either::Right((Either::Right((Some(()), _)), _)) => return self.was_ready,
                Either::Right(_) => return self.was_ready,
            };
        }
    }

    /// Introduces us, if we have a name (or a token from before).
    fn hello(&self) -> Vec<ClientMsg> {
        let token = stored(TOKEN_KEY);
        let name = self.chat.me.with_untracked(|m| m.name().map(str::to_owned));
        Hello::from_parts(token, name).map(ClientMsg::Hello).into_iter().collect()
    }

    fn join(&mut self) -> Vec<ClientMsg> {
        let room = self.chat.room.get_untracked();
        let mut out = Vec::new();
        if let Some(old) = self.joined.replace(room.clone()) {
            if old != room {
                out.push(ClientMsg::Leave { room: old });
            }
        }
        self.ready = false;
        let after =
            self.chat.timelines.with_untracked(|t| t.get(&room).filter(|t| t.loaded).and_then(|t| t.last_seq()));
        out.push(ClientMsg::Join { room, after });
        out
    }

    fn received(&mut self, msg: ServerMsg) -> Vec<ClientMsg> {
        let mut out = Vec::new();
        match &msg {
            ServerMsg::Welcome { user, token } => {
                store(TOKEN_KEY, token);
                store(NAME_KEY, &user.name);
                if !self.welcomed {
                    self.welcomed = true;
                    out = self.join();
                }
            }
            ServerMsg::Joined { room, .. } if self.joined.as_ref() == Some(room) => {
                self.ready = true;
                self.was_ready = true;
                self.chat.status.set(ConnectionStatus::Connected);
            }
            ServerMsg::Error { reason: ErrorReason::BadToken, .. } => {
                // Signed by another server (or its secret changed): start over by name.
                forget(TOKEN_KEY);
                out = self.hello();
            }
            ServerMsg::Error { reason: ErrorReason::RateLimited, id: Some(id), retry_after_ms, .. } => {
                // Sent too fast: still pending. Hold everything back until the server will
                // take it, then send what is pending, in order.
                self.sent_here.remove(id);
                let wait = retry_after_ms.unwrap_or(1_000);
                self.held_until = self.held_until.max(now_ms() + wait as f64);
                let chat = self.chat;
                leptos::task::spawn_local(async move {
                    sleep(Duration::from_millis(wait + 5)).await;
                    chat.intend(Intent::Flush);
                });
            }
            ServerMsg::Error {
                reason: ErrorReason::RateLimited, id: None, room: Some(room), retry_after_ms, ..
            } => {
                // A join or leave refused for now (rooms switched too fast): ask again
                // once the server will take it.
                if self.joined.as_ref() != Some(room) && !self.not_left.contains(room) {
                    self.not_left.push(room.clone());
                }
                // One retry for all of them: the server refuses everything until then.
                if !self.rejoin_due {
                    self.rejoin_due = true;
                    let wait = retry_after_ms.unwrap_or(1_000);
                    let chat = self.chat;
                    leptos::task::spawn_local(async move {
                        sleep(Duration::from_millis(wait + 5)).await;
                        chat.intend(Intent::Rejoin);
                    });
                }
            }
            ServerMsg::Error { id: Some(id), .. } => {
                // Refused: a retry of it must go out again.
                self.sent_here.remove(id);
            }
            _ => {}
        }
        let flush = matches!(msg, ServerMsg::Joined { .. });
        self.chat.apply(msg, now_ms());
        if flush {
            out.extend(self.pending());
        }
        out
    }

    fn intended(&mut self, intent: Intent) -> Vec<ClientMsg> {
        match intent {
            Intent::Hello => self.hello(),
            Intent::SwitchRoom if self.welcomed => self.join(),
            Intent::Rejoin => {
                self.rejoin_due = false;
                // The room on screen first, then the rooms still to leave.
                let mut out = if self.welcomed && !self.ready { self.join() } else { Vec::new() };
                let joined = self.joined.clone();
                out.extend(
                    std::mem::take(&mut self.not_left)
                        .into_iter()
                        .filter(|room| Some(room) != joined.as_ref())
                        .map(|room| ClientMsg::Leave { room }),
                );
                out
            }
            _ if !self.ready => Vec::new(),
            Intent::Flush => self.pending(),
            Intent::SwitchRoom => Vec::new(),
            Intent::Typing => vec![ClientMsg::Typing { room: self.chat.room.get_untracked() }],
            Intent::LoadOlder => {
                let room = self.chat.room.get_untracked();
                match self.chat.timelines.with_untracked(|t| t.get(&room).and_then(|t| t.first_seq())) {
                    Some(before) => vec![ClientMsg::History { room, before }],
                    None => Vec::new(),
                }
            }
        }
    }

    /// Frames for the current room's pending messages this connection has not sent.
    fn pending(&mut self) -> Vec<ClientMsg> {
        let Some(room) = self.joined.clone().filter(|_| self.ready) else { return Vec::new() };
        if now_ms() < self.held_until {
            // The timer set with the hold sends them.
            return Vec::new();
        }
        let sent_here = &mut self.sent_here;
        self.chat.timelines.with_untracked(|all| {
            all.get(&room)
                .map(|t| {
                    t.pending()
                        .filter(|e| sent_here.insert(e.id.clone()))
                        .map(|e| ClientMsg::Send { room: room.clone(), id: e.id.clone(), text: e.text.clone() })
                        .collect()
                })
                .unwrap_or_default()
        })
    }
}

/// Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
fn backoff(failures: u32) -> Duration {
    let ceiling = FIRST_RETRY.saturating_mul(1 << failures.min(6)).min(MAX_RETRY);
    ceiling.mul_f64(0.5 + js_sys::Math::random() / 2.0)
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
