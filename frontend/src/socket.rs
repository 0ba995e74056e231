//! The browser's side of the chat socket: connect, send what is pending, fold what the
//! server says into the timeline, and reconnect with jittered backoff whenever the
//! connection drops, resuming after the last message seen.

use app::chat::{Chat, ChatLink, ConnectionStatus};
use app::protocol::{ClientMsg, ClientMsgId, ServerMsg};
use futures::{
    channel::mpsc::UnboundedReceiver,
    future::{select, Either},
    SinkExt, StreamExt,
};
use gloo_net::websocket::{futures::WebSocket, Message};
use gloo_timers::future::sleep;
use leptos::prelude::*;
use std::{collections::HashSet, time::Duration};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(10);

pub fn connect(link: ChatLink) {
    leptos::task::spawn_local(run(link));
}

async fn run(ChatLink { chat, mut wakeups }: ChatLink) {
    let mut failures: u32 = 0;
    loop {
        let after = chat.timeline.with_untracked(|t| t.last_seq());
        match WebSocket::open(&socket_url(after)) {
            Ok(ws) => {
                if session(chat, ws, &mut wakeups).await {
                    failures = 0;
                }
            }
            Err(e) => leptos::logging::warn!("palaver: cannot open the chat socket: {e}"),
        }
        chat.status.set(ConnectionStatus::Reconnecting);
        sleep(backoff(failures)).await;
        failures = failures.saturating_add(1);
    }
}

/// One connection, until it closes. True if it got as far as the server's welcome.
async fn session(chat: Chat, ws: WebSocket, wakeups: &mut UnboundedReceiver<ClientMsgId>) -> bool {
    let (mut sink, mut frames) = ws.split();
    let mut welcomed = false;
    // What went out on this connection; after a reconnect everything pending goes again.
    let mut sent_here = HashSet::<ClientMsgId>::new();
    loop {
        let to_send: Vec<ClientMsg> = match select(frames.next(), wakeups.next()).await {
            Either::Left((Some(Ok(Message::Text(text))), _)) => match ServerMsg::decode(&text) {
                Ok(msg) => {
                    if let ServerMsg::Error { id: Some(id), .. } = &msg {
                        // Refused: a retry of it must go out again.
                        sent_here.remove(id);
                    }
                    let first = matches!(msg, ServerMsg::History { .. }) && !welcomed;
                    chat.timeline.update(|t| t.apply(msg));
                    if first {
                        welcomed = true;
                        chat.status.set(ConnectionStatus::Connected);
                        pending_frames(chat, &mut sent_here, |_| true)
                    } else {
                        Vec::new()
                    }
                }
                Err(e) => {
                    leptos::logging::warn!("palaver: unreadable frame from the server: {e}");
                    Vec::new()
                }
            },
            Either::Left((Some(Ok(Message::Bytes(_))), _)) => Vec::new(),
            Either::Left((Some(Err(_)) | None, _)) => return welcomed,
            Either::Right((Some(id), _)) if welcomed => pending_frames(chat, &mut sent_here, |e| *e == id),
            Either::Right(_) => Vec::new(),
        };
        for msg in to_send {
            if sink.send(Message::Text(msg.encode())).await.is_err() {
                return welcomed;
            }
        }
    }
}

/// Frames for the pending messages that `wanted` picks and this connection has not sent.
fn pending_frames(
    chat: Chat,
    sent_here: &mut HashSet<ClientMsgId>,
    wanted: impl Fn(&ClientMsgId) -> bool,
) -> Vec<ClientMsg> {
    chat.timeline.with_untracked(|t| {
        t.pending()
            .filter(|e| wanted(&e.id) && sent_here.insert(e.id.clone()))
            .map(|e| ClientMsg::Send { id: e.id.clone(), text: e.text.clone() })
            .collect()
    })
}

/// Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
fn backoff(failures: u32) -> Duration {
    let ceiling = FIRST_RETRY.saturating_mul(1 << failures.min(6)).min(MAX_RETRY);
    ceiling.mul_f64(0.5 + js_sys::Math::random() / 2.0)
}

fn socket_url(after: Option<u64>) -> String {
    let location = web_sys::window().expect("a browser window").location();
    let scheme = if location.protocol().as_deref() == Ok("https:") { "wss" } else { "ws" };
    let host = location.host().unwrap_or_default();
    match after {
        Some(seq) => format!("{scheme}://{host}/ws?after={seq}"),
        None => format!("{scheme}://{host}/ws"),
    }
}
