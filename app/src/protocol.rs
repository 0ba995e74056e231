//! The wire protocol: every frame the browser and the server exchange over the chat
//! WebSocket, the limits on them, and the validation both sides share.
//!
//! Frames are JSON text frames tagged by a `type` field; `docs/PROTOCOL.md` is the
//! reference with examples.

use serde::{Deserialize, Serialize};

/// Longest message text, counted in Unicode scalar values (what a person sees as characters).
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Longest client message id, in bytes.
pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;
/// Largest WebSocket message the server reads; larger ones close the socket (1009).
/// Comfortably above the largest valid frame: 2,000 four-byte characters, escaped.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// How many recent messages the server replays to a newly connected client.
pub const RECENT_ON_CONNECT: usize = 50;

/// Close code: the server is shutting down or restarting; reconnect and resume.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: a text frame was not valid UTF-8.
pub const CLOSE_INVALID_UTF8: u16 = 1007;
/// Close code: a message was larger than [`MAX_FRAME_BYTES`].
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Close code: the client fell too far behind the live feed; reconnect and resume.
pub const CLOSE_SLOW_CONSUMER: u16 = 4008;

/// The order of a message in the chat: assigned by the server, increasing by one.
pub type Seq = u64;

/// An id the sender gives its message, so a resend is recognised and a reply matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientMsgId(pub String);

impl ClientMsgId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ClientMsgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Post a message to the chat.
    Send { id: ClientMsgId, text: String },
}

/// A message as everyone sees it once the server has accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub seq: Seq,
    /// The sender's id for this message.
    pub id: ClientMsgId,
    pub text: String,
    /// Server time of acceptance, milliseconds since the Unix epoch (UTC).
    pub sent_at: i64,
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// First frame on every connection: the messages the client has not seen yet.
    /// `complete` is false when older messages it asked for are no longer available.
    History { messages: Vec<ChatMessage>, complete: bool },
    /// A message someone (maybe this client) posted.
    Message(ChatMessage),
    /// The server accepted this client's message `id` as number `seq`.
    Ack { id: ClientMsgId, seq: Seq },
    /// A frame from this client was refused; the connection stays open.
    Error {
        reason: ErrorReason,
        detail: String,
        /// The refused message, when the frame named one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<ClientMsgId>,
    },
}

/// Why a frame was refused: stable, machine-readable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorReason {
    /// Not JSON, or JSON that does not match any frame's fields.
    BadFrame,
    /// A JSON object whose `type` is not one this server knows.
    UnknownType,
    /// Binary frames are not part of the protocol.
    BinaryUnsupported,
    /// The text is empty or only whitespace.
    EmptyText,
    /// The text is longer than [`MAX_TEXT_CHARS`].
    TextTooLong,
    /// The client message id is empty or longer than [`MAX_CLIENT_MSG_ID_BYTES`].
    BadId,
}

/// A refused frame: the reason, a human-readable detail, and the message it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct FrameError {
    pub reason: ErrorReason,
    pub detail: String,
    pub id: Option<ClientMsgId>,
}

impl FrameError {
    fn new(reason: ErrorReason, detail: impl Into<String>, id: Option<ClientMsgId>) -> Self {
        Self { reason, detail: detail.into(), id }
    }

    pub fn binary() -> Self {
        Self::new(ErrorReason::BinaryUnsupported, "binary frames are not supported; send JSON text", None)
    }
}

impl From<FrameError> for ServerMsg {
    fn from(e: FrameError) -> Self {
        ServerMsg::Error { reason: e.reason, detail: e.detail, id: e.id }
    }
}

/// Message text after trimming, checked against the limits.
pub fn validate_text(text: &str) -> Result<&str, ErrorReason> {
    let text = text.trim();
    if text.is_empty() {
        Err(ErrorReason::EmptyText)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(ErrorReason::TextTooLong)
    } else {
        Ok(text)
    }
}

impl ClientMsg {
    /// Parses and validates one text frame from a client. Text comes back trimmed.
    pub fn decode(frame: &str) -> Result<ClientMsg, FrameError> {
        let msg: ClientMsg =
            serde_json::from_str(frame).map_err(|e| match serde_json::from_str::<serde_json::Value>(frame) {
                Ok(serde_json::Value::Object(obj)) => match obj.get("type").and_then(|t| t.as_str()) {
                    Some(kind) if !KNOWN_TYPES.contains(&kind) => {
                        FrameError::new(ErrorReason::UnknownType, format!("unknown frame type {kind:?}"), None)
                    }
                    _ => FrameError::new(ErrorReason::BadFrame, format!("invalid frame: {e}"), None),
                },
                _ => FrameError::new(ErrorReason::BadFrame, format!("not a JSON object frame: {e}"), None),
            })?;
        match msg {
            ClientMsg::Send { id, text } => {
                if id.0.is_empty() || id.0.len() > MAX_CLIENT_MSG_ID_BYTES {
                    return Err(FrameError::new(
                        ErrorReason::BadId,
                        format!("id must be 1 to {MAX_CLIENT_MSG_ID_BYTES} bytes"),
                        None,
                    ));
                }
                match validate_text(&text) {
                    Ok(trimmed) => Ok(ClientMsg::Send { text: trimmed.to_owned(), id }),
                    Err(ErrorReason::EmptyText) => {
                        Err(FrameError::new(ErrorReason::EmptyText, "message text is empty", Some(id)))
                    }
                    Err(reason) => Err(FrameError::new(
                        reason,
                        format!("message text is longer than {MAX_TEXT_CHARS} characters"),
                        Some(id),
                    )),
                }
            }
        }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

const KNOWN_TYPES: &[&str] = &["send"];

impl ServerMsg {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    pub fn decode(frame: &str) -> Result<ServerMsg, serde_json::Error> {
        serde_json::from_str(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    #[test]
    fn send_round_trips_with_its_wire_shape() {
        let msg = ClientMsg::Send { id: id("a1"), text: "hello".into() };
        let wire = msg.encode();
        assert_eq!(wire, r#"{"type":"send","id":"a1","text":"hello"}"#);
        assert_eq!(ClientMsg::decode(&wire).unwrap(), msg);
    }

    #[test]
    fn server_frames_round_trip() {
        let message = ChatMessage { seq: 7, id: id("x"), text: "<b>hi</b> ünï".into(), sent_at: 1_700_000_000_000 };
        let frames = [
            ServerMsg::History { messages: vec![message.clone()], complete: true },
            ServerMsg::Message(message),
            ServerMsg::Ack { id: id("x"), seq: 7 },
            FrameError::new(ErrorReason::TextTooLong, "too long", Some(id("x"))).into(),
            FrameError::binary().into(),
        ];
        for frame in frames {
            assert_eq!(ServerMsg::decode(&frame.encode()).unwrap(), frame);
        }
        let wire = ServerMsg::Ack { id: id("x"), seq: 7 }.encode();
        assert_eq!(wire, r#"{"type":"ack","id":"x","seq":7}"#);
    }

    #[test]
    fn text_is_trimmed() {
        let msg = ClientMsg::decode(r#"{"type":"send","id":"a","text":"  hi there \n"}"#).unwrap();
        assert_eq!(msg, ClientMsg::Send { id: id("a"), text: "hi there".into() });
    }

    #[test]
    fn malformed_frames_are_bad_frames() {
        for frame in [
            "",
            "not json",
            "[1,2]",
            "{",
            r#"{"id":"a","text":"x"}"#,
            r#"{"type":"send","id":"a"}"#,
            r#"{"type":7}"#,
            r#"{"type":"send","id":5,"text":"x"}"#,
        ] {
            let err = ClientMsg::decode(frame).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "frame {frame:?} gave {err:?}");
            assert!(!err.detail.is_empty());
        }
    }

    #[test]
    fn fields_the_protocol_does_not_have_are_ignored() {
        let msg = ClientMsg::decode(r#"{"type":"send","id":"a","text":"x","author":"mallory","seq":1}"#).unwrap();
        assert_eq!(msg, ClientMsg::Send { id: id("a"), text: "x".into() });
    }

    #[test]
    fn unknown_types_are_named() {
        let err = ClientMsg::decode(r#"{"type":"shout","text":"x"}"#).unwrap_err();
        assert_eq!(err.reason, ErrorReason::UnknownType);
        assert!(err.detail.contains("shout"));
    }

    #[test]
    fn empty_and_whitespace_text_is_refused_with_its_id() {
        for text in ["", " ", "\n\t  "] {
            let frame = serde_json::json!({"type": "send", "id": "m1", "text": text}).to_string();
            let err = ClientMsg::decode(&frame).unwrap_err();
            assert_eq!(err.reason, ErrorReason::EmptyText);
            assert_eq!(err.id, Some(id("m1")));
        }
    }

    #[test]
    fn text_length_is_counted_in_characters() {
        let at_limit = "é".repeat(MAX_TEXT_CHARS);
        let frame = serde_json::json!({"type": "send", "id": "m", "text": at_limit}).to_string();
        assert!(ClientMsg::decode(&frame).is_ok());
        assert!(frame.len() <= MAX_FRAME_BYTES);

        let over = "a".repeat(MAX_TEXT_CHARS + 1);
        let frame = serde_json::json!({"type": "send", "id": "m", "text": over}).to_string();
        assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::TextTooLong);
    }

    #[test]
    fn ids_are_bounded() {
        for bad in [String::new(), "x".repeat(MAX_CLIENT_MSG_ID_BYTES + 1)] {
            let frame = serde_json::json!({"type": "send", "id": bad, "text": "hi"}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadId);
        }
    }

    #[test]
    fn largest_valid_frame_fits_the_frame_limit() {
        let text = "\u{1F600}".repeat(MAX_TEXT_CHARS);
        let frame = ClientMsg::Send { id: ClientMsgId("x".repeat(MAX_CLIENT_MSG_ID_BYTES)), text }.encode();
        assert!(frame.len() <= MAX_FRAME_BYTES, "{} bytes", frame.len());
    }
}
