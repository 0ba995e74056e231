//! How a connection's frames look on the wire. The chat protocol speaks JSON frames
//! (`docs/PROTOCOL.md`); a plain WebSocket client (`websocat`, a few lines of
//! JavaScript) is a guest in the lobby that sends lines of text and reads each message
//! as `name: text`. Both run on the same connection: only reading and writing differ.

use crate::hub::Frame;
use crate::identity::{fresh_id, new_guest, SecretError};
use crate::socket::{frames, Ending, Wire};
use bytes::Bytes;
use palaver_protocol::{ChatMessage, ClientMsg, Close, ErrorReason, FrameError, MessageKind, RoomId, ServerMsg, User};

/// One way of speaking over a chat connection.
pub trait Transport: Send + Sync + 'static {
    /// Whether the peer is sent the room list whenever it changes.
    const ROOM_LIST: bool;

    /// Who the peer is from the start, and the room it is in, when the transport knows
    /// without being told.
    fn opening(&self) -> Option<(User, RoomId)>;

    /// A text frame from the peer, as a command.
    fn read(&self, frame: &str) -> Result<ClientMsg, FrameError>;

    /// A binary frame from the peer: the answer, or the end of the connection.
    fn binary(&self) -> Result<ServerMsg, Ending>;

    /// An answer or event, as the frames this kind of peer reads (none, if it does not
    /// see it).
    fn write(msg: &ServerMsg, out: &mut Vec<Bytes>);

    /// A frame from a room, as this kind of peer reads it (the same bytes for all).
    fn live(frame: &Frame) -> Option<Bytes>;

    /// Answers and events for the peer, as this kind of peer reads them, in one write.
    fn send(wire: &Wire, msgs: impl IntoIterator<Item = ServerMsg>) {
        let mut out: Vec<Bytes> = Vec::new();
        for msg in msgs {
            Self::write(&msg, &mut out);
        }
        if !out.is_empty() {
            wire.send(out);
        }
    }
}

/// The chat protocol: JSON text frames both ways.
pub struct Protocol;

impl Transport for Protocol {
    const ROOM_LIST: bool = true;

    fn opening(&self) -> Option<(User, RoomId)> {
        None
    }

    fn read(&self, frame: &str) -> Result<ClientMsg, FrameError> {
        ClientMsg::decode(frame)
    }

    fn binary(&self) -> Result<ServerMsg, Ending> {
        Ok(FrameError::binary().into())
    }

    fn write(msg: &ServerMsg, out: &mut Vec<Bytes>) {
        out.push(frames::text(&msg.encode()));
    }

    fn live(frame: &Frame) -> Option<Bytes> {
        // Framed once for the whole room.
        Some(frame.bytes.clone())
    }
}

/// A plain client: a guest in the lobby, lines of text both ways.
pub struct Plain {
    guest: User,
}

impl Plain {
    /// A new guest (see [`new_guest`]).
    pub fn guest() -> Result<Plain, SecretError> {
        let guest = new_guest()?;
        tracing::debug!(guest = %guest.name, "plain client connected");
        Ok(Plain { guest })
    }
}

impl Transport for Plain {
    const ROOM_LIST: bool = false;

    fn opening(&self) -> Option<(User, RoomId)> {
        Some((self.guest.clone(), RoomId::lobby()))
    }

    /// Each line is a message to the lobby, checked as the protocol checks messages.
    fn read(&self, line: &str) -> Result<ClientMsg, FrameError> {
        let id = fresh_id().map_err(|e| FrameError::new(ErrorReason::Unavailable, e.to_string()))?;
        ClientMsg::Send { room: RoomId::lobby(), id, text: line.to_owned(), reply_to: None, files: Vec::new() }
            .validated()
    }

    fn binary(&self) -> Result<ServerMsg, Ending> {
        Err(Ending::Close(Close::Unsupported))
    }

    fn write(msg: &ServerMsg, out: &mut Vec<Bytes>) {
        let mut line = |text: String| out.push(frames::text(&text));
        match msg {
            ServerMsg::Message(m) => plain_line(m).into_iter().for_each(line),
            ServerMsg::Error { detail, .. } => line(format!("error: {detail}")),
            // Caught up from too far behind: the newest lines, after a note that some
            // were skipped. (On connecting, a guest sees only what comes next.)
            ServerMsg::Joined { messages, complete: false, .. } => {
                line("(some lines were missed; the newest follow)".to_owned());
                messages.iter().filter_map(plain_line).for_each(line);
            }
            _ => {}
        }
    }

    fn live(frame: &Frame) -> Option<Bytes> {
        // Framed once for every plain client in the room.
        frame.plain(|m| plain_line(m).map(|line| frames::text(&line))).cloned()
    }
}

/// How a message reads on a plain client; reactions are not shown there.
pub fn plain_line(m: &ChatMessage) -> Option<String> {
    let name = match &m.quote {
        Some(quote) => format!("{} (replying to {})", m.author.name, quote.author),
        None => m.author.name.clone(),
    };
    Some(match m.kind {
        MessageKind::Text if m.deleted => format!("{name}: (message deleted)"),
        MessageKind::Text if m.edited => format!("{name}: {} (edited)", m.text),
        MessageKind::Text => format!("{name}: {}", m.text),
        MessageKind::Renamed => format!("{} is now known as {name}", m.text),
        MessageKind::Edit => format!("{name} edited: {}", m.text),
        MessageKind::Delete => format!("{name} deleted a message"),
        MessageKind::React | MessageKind::Unreact => return None,
    })
}
