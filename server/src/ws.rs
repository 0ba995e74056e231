//! The chat socket: one task per connection that sends the client what it missed,
//! answers its frames, and forwards the hub's live feed until either side closes.

use crate::hub::{Hub, Posted};
use app::protocol::{
    ClientMsg, FrameError, Seq, ServerMsg, CLOSE_GOING_AWAY, CLOSE_INVALID_UTF8, CLOSE_SLOW_CONSUMER, CLOSE_TOO_BIG,
    MAX_FRAME_BYTES,
};
use axum::{
    extract::{
        rejection::QueryRejection,
        ws::{CloseFrame, Message, WebSocketUpgrade},
        Query, State,
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use futures::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};
use tokio::sync::broadcast::error::RecvError;
use tracing::Instrument;

/// Bytes read from the socket at a time (tungstenite's default is 128 KiB per connection).
const READ_BUFFER_BYTES: usize = 8 * 1024;

/// `/ws?after=SEQ`: resume after the last message the client has seen.
#[derive(Debug, Deserialize)]
pub struct Resume {
    after: Option<Seq>,
}

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(hub): State<Arc<Hub>>,
    resume: Result<Query<Resume>, QueryRejection>,
) -> Response {
    let after = match resume {
        Ok(Query(r)) => r.after,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad query: {}", e.body_text())).into_response(),
    };
    ws.max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket| serve_socket(socket, hub, after))
}

/// Why a connection ended, when the server ends it.
enum Ending {
    /// The client left or the socket failed: nothing more to say.
    Gone,
    Close(u16, &'static str),
}

/// Runs one connection. Generic over the socket so tests can drive it with channels.
pub async fn serve_socket<S>(socket: S, hub: Arc<Hub>, after: Option<Seq>)
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);
    let span = tracing::debug_span!("conn", id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed));
    run_connection(socket, hub, after).instrument(span).await
}

async fn run_connection<S>(mut socket: S, hub: Arc<Hub>, after: Option<Seq>)
where
    S: Sink<Message> + Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    tracing::debug!(?after, "connected");
    let _open = hub.connection_opened();
    let shutdown = hub.shutdown_signal();
    tokio::pin!(shutdown);
    let sub = hub.subscribe(after);
    let mut live = sub.live;
    // The newest message this client has: live frames at or below it are skipped.
    let mut delivered = sub.newest;
    if socket.send(text(&sub.history)).await.is_err() {
        return;
    }

    let ending = loop {
        // Deliveries first: a client that floods the server gets everyone's messages
        // (its own included) before more of its input is read.
        tokio::select! {
            biased;
            () = &mut shutdown => break Ending::Close(CLOSE_GOING_AWAY, "server shutting down"),
            posted = live.recv() => {
                let sent = match posted {
                    Ok(Posted { seq, .. }) if seq <= delivered => continue,
                    Ok(Posted { seq, frame }) => {
                        delivered = seq;
                        socket.send(Message::Text(frame)).await.is_ok()
                    }
                    Err(RecvError::Lagged(missed)) => match hub.replay_after(delivered) {
                        Some(messages) => {
                            tracing::debug!(missed, "catching up from the backlog");
                            let mut ok = true;
                            for m in messages {
                                delivered = m.seq;
                                if socket.send(text(&ServerMsg::Message(m))).await.is_err() {
                                    ok = false;
                                    break;
                                }
                            }
                            ok
                        }
                        None => {
                            tracing::info!(missed, "closing a connection too far behind to catch up");
                            break Ending::Close(CLOSE_SLOW_CONSUMER, "too far behind; reconnect to resync");
                        }
                    },
                    Err(RecvError::Closed) => false,
                };
                if !sent {
                    break Ending::Gone;
                }
            }
            incoming = socket.next() => {
                let reply = match incoming {
                    Some(Ok(Message::Text(frame))) => handle_frame(&hub, frame.as_str()),
                    Some(Ok(Message::Binary(_))) => FrameError::binary().into(),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | None => break Ending::Gone,
                    Some(Err(e)) => break read_failure(e),
                };
                if socket.send(text(&reply)).await.is_err() {
                    break Ending::Gone;
                }
            }
        }
    };
    tracing::debug!("disconnected");
    if let Ending::Close(code, reason) = ending {
        let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
        let _ = socket.close().await;
    }
}

/// The server's answer to one text frame from a client.
fn handle_frame(hub: &Hub, frame: &str) -> ServerMsg {
    match ClientMsg::decode(frame) {
        Ok(ClientMsg::Send { id, text }) => {
            let seq = hub.post(id.clone(), text).seq();
            ServerMsg::Ack { id, seq }
        }
        Err(e) => {
            tracing::debug!(reason = ?e.reason, "refused a frame: {e}");
            e.into()
        }
    }
}

/// A read error either ends the connection quietly or earns a close code that says why.
fn read_failure(e: axum::Error) -> Ending {
    use tokio_tungstenite::tungstenite::Error as WsError;
    match e.into_inner().downcast::<WsError>().map(|e| *e) {
        Ok(WsError::Capacity(_)) => Ending::Close(CLOSE_TOO_BIG, "message too big"),
        Ok(WsError::Utf8(_)) => Ending::Close(CLOSE_INVALID_UTF8, "text frame is not valid UTF-8"),
        Ok(other) => {
            tracing::debug!("chat socket error: {other}");
            Ending::Gone
        }
        Err(other) => {
            tracing::debug!("chat socket error: {other}");
            Ending::Gone
        }
    }
}

fn text(msg: &ServerMsg) -> Message {
    Message::Text(msg.encode().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::protocol::ClientMsgId;
    use futures::channel::mpsc;
    use std::{
        pin::Pin,
        task::{Context, Poll},
        time::Duration,
    };

    /// A socket made of two channels: what the test sends in, and what the server sends out.
    struct ChannelSocket {
        incoming: mpsc::UnboundedReceiver<Result<Message, axum::Error>>,
        outgoing: mpsc::Sender<Message>,
    }

    impl Stream for ChannelSocket {
        type Item = Result<Message, axum::Error>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.incoming.poll_next_unpin(cx)
        }
    }

    impl Sink<Message> for ChannelSocket {
        type Error = mpsc::SendError;
        fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            self.outgoing.poll_ready(cx)
        }
        fn start_send(mut self: Pin<&mut Self>, item: Message) -> Result<(), Self::Error> {
            self.outgoing.start_send(item)
        }
        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Pin::new(&mut self.outgoing).poll_flush(cx)
        }
        fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Pin::new(&mut self.outgoing).poll_close(cx)
        }
    }

    struct Peer {
        to_server: mpsc::UnboundedSender<Result<Message, axum::Error>>,
        from_server: mpsc::Receiver<Message>,
    }

    impl Peer {
        async fn next(&mut self) -> Message {
            tokio::time::timeout(Duration::from_secs(5), self.from_server.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
        }

        async fn next_msg(&mut self) -> ServerMsg {
            match self.next().await {
                Message::Text(t) => ServerMsg::decode(t.as_str()).unwrap(),
                other => panic!("expected text, got {other:?}"),
            }
        }

        fn send(&self, text: &str) {
            self.to_server.unbounded_send(Ok(Message::text(text))).unwrap();
        }
    }

    /// Runs a connection against the hub; `outgoing` frames fit before the server waits.
    fn connect(hub: &Arc<Hub>, outgoing: usize) -> (Peer, tokio::task::JoinHandle<()>) {
        let (to_server, incoming) = mpsc::unbounded();
        let (out_tx, from_server) = mpsc::channel(outgoing);
        let task = tokio::spawn(serve_socket(ChannelSocket { incoming, outgoing: out_tx }, hub.clone(), None));
        (Peer { to_server, from_server }, task)
    }

    fn close_code(msg: Message) -> u16 {
        match msg {
            Message::Close(Some(frame)) => frame.code,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_frames_and_relays_the_live_feed() {
        let hub = Arc::new(Hub::new());
        let (mut peer, _task) = connect(&hub, 16);
        assert!(matches!(peer.next_msg().await, ServerMsg::History { .. }));
        peer.send(r#"{"type":"send","id":"x","text":"hi"}"#);
        let mut got = [peer.next_msg().await, peer.next_msg().await];
        got.sort_by_key(|m| matches!(m, ServerMsg::Ack { .. }));
        assert!(matches!(&got[0], ServerMsg::Message(m) if m.text == "hi"));
        assert_eq!(got[1], ServerMsg::Ack { id: ClientMsgId("x".into()), seq: 1 });
        peer.send("{");
        assert!(matches!(peer.next_msg().await, ServerMsg::Error { .. }));
    }

    /// Posts `count` messages while the peer reads nothing, then reads: the seqs it got
    /// and the close code, if the server closed.
    async fn fall_behind(count: usize) -> (Vec<Seq>, Option<u16>) {
        let hub = Arc::new(Hub::new());
        let (mut peer, task) = connect(&hub, 1);
        assert!(matches!(peer.next_msg().await, ServerMsg::History { .. }));
        for n in 0..count {
            hub.post(ClientMsgId(format!("m{n}")), "x".into());
        }
        let mut seqs = Vec::new();
        while seqs.last() != Some(&(count as Seq)) {
            match peer.next().await {
                Message::Text(t) => match ServerMsg::decode(t.as_str()).unwrap() {
                    ServerMsg::Message(m) => seqs.push(m.seq),
                    other => panic!("{other:?}"),
                },
                other => {
                    task.await.unwrap();
                    return (seqs, Some(close_code(other)));
                }
            }
        }
        (seqs, None)
    }

    #[tokio::test]
    async fn a_reader_that_falls_behind_catches_up_from_the_backlog() {
        let count = crate::hub::LIVE_QUEUE * 3;
        let (seqs, closed) = fall_behind(count).await;
        assert_eq!(closed, None);
        assert_eq!(seqs, (1..=count as Seq).collect::<Vec<_>>(), "every message, once, in order");
    }

    #[tokio::test]
    async fn a_reader_too_far_behind_to_catch_up_is_closed_as_slow_not_skipped() {
        let (seqs, closed) = fall_behind(crate::hub::BACKLOG_LEN + crate::hub::LIVE_QUEUE * 2).await;
        assert_eq!(closed, Some(CLOSE_SLOW_CONSUMER));
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "what was delivered has no holes: {seqs:?}");
    }

    #[tokio::test]
    async fn shutdown_closes_with_going_away() {
        let hub = Arc::new(Hub::new());
        let (mut peer, task) = connect(&hub, 4);
        assert!(matches!(peer.next_msg().await, ServerMsg::History { .. }));
        hub.shut_down();
        assert_eq!(close_code(peer.next().await), CLOSE_GOING_AWAY);
        task.await.unwrap();
        assert_eq!(hub.open_connections(), 0);
    }
}
