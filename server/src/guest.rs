//! Plain WebSocket clients: anything that opens a socket at the site root (`ws://HOST/`)
//! without speaking the protocol, like `websocat` or a few lines of JavaScript. Such a
//! client is a guest in the lobby: each text frame it sends is posted there, and it
//! receives every lobby message as one plain line, `name: text`.

use crate::hub::Frame;
use crate::identity::random_bytes;
use crate::outbox::Outbox;
use crate::ws::{admit, finish, limited, read_failure, Bucket, Context, Ending, Heartbeat};
use app::protocol::{
    validate_text, ChatMessage, ClientMsgId, MessageKind, RoomId, Seq, User, UserId, CLOSE_GOING_AWAY, HISTORY_PAGE,
    MAX_REPLAY, MAX_TEXT_CHARS,
};
use axum::{
    extract::{
        ws::{Message, WebSocketUpgrade},
        FromRequestParts, Request, State,
    },
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::{Sink, Stream, StreamExt};
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

/// Close code for binary frames from a plain client (unsupported data).
const CLOSE_UNSUPPORTED: u16 = 1003;

/// Routes a WebSocket upgrade at `/` to the guest handler; everything else goes on.
pub async fn intercept(State(state): State<crate::AppState>, req: Request, next: Next) -> Response {
    let wants_socket = req.uri().path() == "/"
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_socket {
        return next.run(req).await;
    }
    let Some(peer) = crate::listen::peer(req.extensions()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no peer address for this connection").into_response();
    };
    let pass = match admit(&state, peer, req.headers()) {
        Ok(pass) => pass,
        Err(refused) => return refused.into_response(),
    };
    let (mut parts, _) = req.into_parts();
    match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(ws) => {
            let cx = Context::from_state(&state);
            limited(ws).on_upgrade(move |socket| {
                // A task of its own, as for chat sockets (see ws::upgrade).
                tokio::spawn(async move {
                    serve_guest(socket, cx).await;
                    drop(pass);
                });
                std::future::ready(())
            })
        }
        Err(rejection) => rejection.into_response(),
    }
}

/// A guest's display name: `guest-` and four hex digits.
fn guest() -> User {
    let bytes = random_bytes::<6>().unwrap_or_default();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    User { id: UserId(format!("guest-{hex}")), name: format!("guest-{}", &hex[..4]) }
}

/// How a message reads on a plain client.
pub fn plain_line(m: &ChatMessage) -> String {
    match m.kind {
        MessageKind::Text => format!("{}: {}", m.author.name, m.text),
        MessageKind::Renamed => format!("{} is now known as {}", m.text, m.author.name),
    }
}

pub async fn serve_guest<S>(socket: S, cx: Context)
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let _open = cx.hub.connection_opened();
    let user = guest();
    let lobby = RoomId::lobby();
    tracing::debug!(guest = %user.name, "plain client connected");
    let (feed, _membership) = cx.hub.join(&lobby, &user);
    let mut feed = BroadcastStream::new(feed);
    let shutdown = cx.hub.shutdown_signal();
    tokio::pin!(shutdown);
    let mut heartbeat = Heartbeat::new(cx.liveness);
    let mut posts = Bucket::new(cx.rate);
    let mut delivered: Option<Seq> = None;
    let (mut sink, mut stream) = socket.split();
    let mut outbox = Outbox::new();

    let ending = loop {
        let out: Vec<String> = tokio::select! {
            biased;
            () = &mut shutdown => break Ending::Close(CLOSE_GOING_AWAY, "server shutting down"),
            beat = heartbeat.beat() => match beat {
                Ok(ping) => match outbox.push([ping]) {
                    Ok(()) => continue,
                    Err(slow) => break slow,
                },
                Err(ending) => break ending,
            },
            written = outbox.write(&mut sink), if outbox.busy() => match written {
                Ok(()) => continue,
                Err(_) => break Ending::Gone,
            },
            Some(frame) = feed.next() => match frame {
                Ok(Frame { seq: Some(seq), message: Some(m), .. }) if delivered.is_none_or(|d| seq > d) => {
                    delivered = Some(seq);
                    vec![plain_line(&m)]
                }
                Ok(_) => continue,
                Err(BroadcastStreamRecvError::Lagged(_)) => {
                    // Catch up from the store rather than skip: what came after the last
                    // line sent, or, before any, the newest page (never the lobby's oldest).
                    let store = cx.hub.store();
                    let missed = match delivered {
                        Some(after) => store.after(&lobby, after, MAX_REPLAY).await,
                        None => store.latest(&lobby, HISTORY_PAGE).await.map(|page| page.messages),
                    };
                    match missed {
                        Ok(missed) => {
                            let mut lines: Vec<String> = missed.iter().map(plain_line).collect();
                            if missed.len() == MAX_REPLAY {
                                lines.push(format!("(only the first {MAX_REPLAY} missed lines are shown)"));
                            }
                            delivered = missed.last().map(|m| m.seq).or(delivered);
                            lines
                        }
                        Err(e) => {
                            tracing::error!("{e}");
                            vec!["error: some messages could not be loaded".into()]
                        }
                    }
                }
            },
            incoming = stream.next() => {
                heartbeat.heard();
                match incoming {
                    Some(Ok(Message::Text(line))) => match validate_text(line.as_str()) {
                        Ok(_) if posts.take().is_err() => {
                            vec![format!("error: slow down: at most {} messages a second", cx.rate.per_sec)]
                        }
                        Ok(text) => {
                            let id = ClientMsgId(format!("plain-{}", hex_nonce()));
                            match cx.hub.post(&lobby, &user, id, MessageKind::Text, text.to_owned()).await {
                                Ok(_) => continue,
                                Err(e) => {
                                    tracing::error!("{e}");
                                    vec!["error: the message could not be stored; try again".into()]
                                }
                            }
                        }
                        Err(app::protocol::ErrorReason::EmptyText) => vec!["error: message text is empty".into()],
                        Err(_) => vec![format!("error: message text is longer than {MAX_TEXT_CHARS} characters")],
                    },
                    Some(Ok(Message::Binary(_))) => break Ending::Close(CLOSE_UNSUPPORTED, "send text frames"),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break Ending::Gone,
                    Some(Err(e)) => break read_failure(e),
                }
            }
        };
        if let Err(slow) = outbox.push(out.into_iter().map(|l| Message::Text(l.into()))) {
            break slow;
        }
    };
    // The feed before the membership, so an empty lobby is let go.
    drop(feed);
    drop(_membership);
    finish(sink, outbox, ending).await;
}

fn hex_nonce() -> String {
    random_bytes::<8>().unwrap_or_default().iter().map(|b| format!("{b:02x}")).collect()
}
