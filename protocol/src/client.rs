//! What browsers send: the frames, and how one is read and checked (rooms, names, ids,
//! text, numbers) before the server acts on it. Written as JSON by `json`, for the page.

use crate::error::{ErrorReason, FrameError};
use crate::ids::{validate_name, ClientMsgId, RoomId, Seq, MAX_SEQ};
use crate::limits::{MAX_CLIENT_MSG_ID_BYTES, MAX_FILES, MAX_QUERY_CHARS, MAX_TEXT_CHARS, REACTIONS};
use crate::message::is_false;
use crate::rooms::Level;
use serde::{Deserialize, Serialize};

/// Who a `hello` says this is. On the wire, a `token`, a `name`, or both; a display
/// name is checked (and trimmed) when the frame is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HelloFields", into = "HelloFields")]
pub enum Hello {
    /// Someone new, by the name they chose.
    Name(String),
    /// Someone back, by the session token an earlier `welcome` gave them.
    Token(String),
    /// Someone back, taking a new name.
    Rename { token: String, name: String },
    /// The account of the session cookie the socket was opened with (a page of a
    /// signed-in browser): `{"type":"hello"}`.
    Session,
}

impl Hello {
    /// The hello for what a client knows: a token, a name, or both (`None` for neither).
    pub fn from_parts(token: Option<String>, name: Option<String>) -> Option<Hello> {
        match (token, name) {
            (Some(token), Some(name)) => Some(Hello::Rename { token, name }),
            (Some(token), None) => Some(Hello::Token(token)),
            (None, Some(name)) => Some(Hello::Name(name)),
            (None, None) => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct HelloFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl TryFrom<HelloFields> for Hello {
    type Error = String;
    fn try_from(fields: HelloFields) -> Result<Hello, String> {
        let name = fields.name.as_deref().map(validate_name).transpose().map_err(|e| e.to_string())?;
        Ok(Hello::from_parts(fields.token, name).unwrap_or(Hello::Session))
    }
}

impl From<Hello> for HelloFields {
    fn from(hello: Hello) -> HelloFields {
        match hello {
            Hello::Name(name) => HelloFields { token: None, name: Some(name) },
            Hello::Token(token) => HelloFields { token: Some(token), name: None },
            Hello::Rename { token, name } => HelloFields { token: Some(token), name: Some(name) },
            Hello::Session => HelloFields { token: None, name: None },
        }
    }
}

/// What browsers send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    /// Who this is: a session token from an earlier `welcome` (or a personal access
    /// token), a name, both (a rename), or neither (the socket's session cookie).
    Hello(Hello),
    /// Start receiving a room: its latest messages, or everything after `after`.
    Join {
        room: RoomId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Seq>,
    },
    /// Stop receiving a room.
    Leave { room: RoomId },
    /// Post a message to a joined room, answering message `reply_to` if given, with
    /// the files of these ids (uploaded by the sender to `POST /files`; the text, its
    /// caption, may then be empty).
    Send {
        room: RoomId,
        id: ClientMsgId,
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<Seq>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<String>,
    },
    /// Change the text of one's own message `target` (everyone sees it, marked edited).
    Edit { room: RoomId, id: ClientMsgId, target: Seq, text: String },
    /// Take back one's own message `target`: its text is gone, a tombstone stays.
    Delete { room: RoomId, id: ClientMsgId, target: Seq },
    /// Add (or, with `remove`, take back) my reaction `emoji` on message `target`.
    React {
        room: RoomId,
        id: ClientMsgId,
        target: Seq,
        emoji: String,
        #[serde(default, skip_serializing_if = "is_false")]
        remove: bool,
    },
    /// "I am typing" in a joined room; shown to the others for a few seconds.
    Typing { room: RoomId },
    /// The page of messages just before `before` in a joined room.
    History { room: RoomId, before: Seq },
    /// The page of messages around number `seq` in a joined room (to show a message
    /// that is not loaded, or to fill a hole after one).
    Around { room: RoomId, seq: Seq },
    /// Messages of every room with these words, newest first; the next page after the
    /// `next` of a `results` answer.
    Search {
        query: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<u64>,
    },
    /// I have read a room up to number `seq` (the newest message I have seen; 0 in an
    /// empty room, which opens it: what comes later counts as unread). A read
    /// position only moves forward, and never past what this connection was sent (in a
    /// joined room); in another room, only `Seq::MAX` counts ("mark all as read", to its
    /// newest message), any other number is a stale read and does nothing.
    Read { room: RoomId, seq: Seq },
    /// Send me my rooms and unread counts (an `unread` answer with every room on my
    /// list), then each change to them as it happens: new messages, reading in any of my
    /// tabs, a room opened or left. From then on, a room this connection joins goes on my
    /// list (read from its newest message on) if it is not there yet.
    Unread,
    /// Take room `room` off my list for good, in every tab of mine (my read position
    /// and notification level there are forgotten); joining it again puts it back.
    Forget { room: RoomId },
    /// Take the card away from my message `seq` of joined room `room`, for everyone, for
    /// good (its link is not fetched for it again).
    HidePreview { room: RoomId, seq: Seq },
    /// How room `room` tells me of new messages from now on (in every tab of mine: an
    /// `unread` update carries it to each).
    Notify { room: RoomId, level: Level },
}

/// Message text after trimming, checked against the limits: no control characters
/// but newline and tab (a NUL byte, for one, cannot be stored by every backend).
pub fn validate_text(text: &str) -> Result<&str, ErrorReason> {
    let text = text.trim();
    if text.is_empty() {
        Err(ErrorReason::EmptyText)
    } else if text.chars().count() > MAX_TEXT_CHARS {
        Err(ErrorReason::TextTooLong)
    } else if has_control(text, &['\n', '\t']) {
        Err(ErrorReason::BadFrame)
    } else {
        Ok(text)
    }
}

/// Whether `id` is a file's id: 32 lowercase hexadecimal digits.
pub fn is_file_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether `text` holds a control character other than those `allowed`.
pub fn has_control(text: &str, allowed: &[char]) -> bool {
    text.chars().any(|c| c.is_control() && !allowed.contains(&c))
}

impl ClientMsg {
    /// Parses and validates one text frame from a client. Rooms, names and ids are
    /// checked as they are read; text comes back trimmed.
    pub fn decode(frame: &str) -> Result<ClientMsg, FrameError> {
        serde_json::from_str::<ClientMsg>(frame).map_err(|e| explain(frame, &e))?.validated()
    }

    /// Checks what reading a frame cannot: a `send`'s id and text (trimmed), and that
    /// every message number is one a store can hold (at most [`MAX_SEQ`]).
    pub fn validated(self) -> Result<ClientMsg, FrameError> {
        if let Some((room, n)) = self.numbers().find(|(_, n)| *n > MAX_SEQ) {
            let detail = format!("message numbers are at most {MAX_SEQ}, not {n}");
            return Err(FrameError::new(ErrorReason::BadFrame, detail).about(room, self.id()));
        }
        if let ClientMsg::Search { query, before } = &self {
            let query = query.trim();
            if query.is_empty() || query.chars().count() > MAX_QUERY_CHARS {
                let detail = format!("a search query has 1 to {MAX_QUERY_CHARS} characters");
                return Err(FrameError::new(ErrorReason::BadQuery, detail));
            }
            if has_control(query, &[]) {
                return Err(FrameError::new(ErrorReason::BadQuery, "a search query cannot contain control characters"));
            }
            return Ok(ClientMsg::Search { query: query.to_owned(), before: *before });
        }
        let (room, id) = match &self {
            ClientMsg::Send { room, id, .. }
            | ClientMsg::Edit { room, id, .. }
            | ClientMsg::Delete { room, id, .. }
            | ClientMsg::React { room, id, .. } => (room, id),
            _ => return Ok(self),
        };
        if id.0.is_empty() || id.0.len() > MAX_CLIENT_MSG_ID_BYTES || has_control(&id.0, &[]) {
            let detail = format!("id must be 1 to {MAX_CLIENT_MSG_ID_BYTES} bytes, without control characters");
            return Err(FrameError::new(ErrorReason::BadId, detail).about(Some(room), None));
        }
        let checked = |text: &str| {
            validate_text(text).map(str::to_owned).map_err(|reason| {
                let detail = match reason {
                    ErrorReason::EmptyText => "message text is empty".to_owned(),
                    ErrorReason::BadFrame => {
                        "message text cannot contain control characters other than newline and tab".to_owned()
                    }
                    _ => format!("message text is longer than {MAX_TEXT_CHARS} characters"),
                };
                FrameError::new(reason, detail).about(Some(room), Some(id))
            })
        };
        match &self {
            ClientMsg::Send { room, id, text, reply_to, files } => {
                if files.len() > MAX_FILES || !files.iter().all(|f| is_file_id(f)) {
                    let detail = format!("a message carries at most {MAX_FILES} files, each by its 32-digit id");
                    return Err(FrameError::new(ErrorReason::BadFile, detail).about(Some(room), Some(id)));
                }
                let text = if files.is_empty() || !text.trim().is_empty() { checked(text)? } else { String::new() };
                let (room, id, reply_to, files) = (room.clone(), id.clone(), *reply_to, files.clone());
                Ok(ClientMsg::Send { text, id, room, reply_to, files })
            }
            ClientMsg::React { emoji, .. } if !REACTIONS.contains(&emoji.as_str()) => {
                let detail = format!("a reaction is one of {}", REACTIONS.concat());
                Err(FrameError::new(ErrorReason::BadReaction, detail).about(Some(room), Some(id)))
            }
            ClientMsg::Edit { room, id, target, text } => {
                Ok(ClientMsg::Edit { text: checked(text)?, id: id.clone(), room: room.clone(), target: *target })
            }
            _ => Ok(self),
        }
    }

    /// The message numbers the frame carries, with its room, but a `read`'s (any number
    /// there means "up to the newest I was sent").
    pub(crate) fn numbers(&self) -> impl Iterator<Item = (Option<&RoomId>, Seq)> {
        let (room, numbers): (Option<&RoomId>, [Option<Seq>; 1]) = match self {
            ClientMsg::Join { room, after } => (Some(room), [*after]),
            ClientMsg::Send { room, reply_to, .. } => (Some(room), [*reply_to]),
            ClientMsg::Edit { room, target, .. }
            | ClientMsg::Delete { room, target, .. }
            | ClientMsg::React { room, target, .. } => (Some(room), [Some(*target)]),
            ClientMsg::History { room, before } => (Some(room), [Some(*before)]),
            ClientMsg::Around { room, seq } | ClientMsg::HidePreview { room, seq } => (Some(room), [Some(*seq)]),
            ClientMsg::Search { before, .. } => (None, [*before]),
            _ => (None, [None]),
        };
        numbers.into_iter().flatten().map(move |n| (room, n))
    }

    /// The client's id of a post frame.
    fn id(&self) -> Option<&ClientMsgId> {
        match self {
            ClientMsg::Send { id, .. }
            | ClientMsg::Edit { id, .. }
            | ClientMsg::Delete { id, .. }
            | ClientMsg::React { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// The `type` of every frame a client may send.
pub const FRAME_TYPES: &[&str] = &[
    "hello",
    "join",
    "leave",
    "send",
    "edit",
    "delete",
    "react",
    "typing",
    "history",
    "around",
    "search",
    "read",
    "hide_preview",
    "unread",
    "notify",
];

/// Why a frame could not be read, in the protocol's terms: the frame is read again
/// loosely to find the field at fault. In this order: an unknown type, a bad room, a
/// hello's bad or missing name; anything else is a bad frame.
fn explain(frame: &str, e: &serde_json::Error) -> FrameError {
    use serde_json::Value;
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(frame) else {
        return FrameError::new(ErrorReason::BadFrame, format!("not a JSON object frame: {e}"));
    };
    let kind = obj.get("type").and_then(Value::as_str);
    if let Some(kind) = kind.filter(|k| !FRAME_TYPES.contains(k)) {
        return FrameError::new(ErrorReason::UnknownType, format!("unknown frame type {kind:?}"));
    }
    if let Some(Err(detail)) = obj.get("room").and_then(Value::as_str).map(RoomId::parse) {
        return FrameError::new(ErrorReason::BadRoom, detail.to_string());
    }
    if kind == Some("hello") {
        if let Some(Err(detail)) = obj.get("name").and_then(Value::as_str).map(validate_name) {
            return FrameError::new(ErrorReason::BadName, detail.to_string());
        }
    }
    FrameError::new(ErrorReason::BadFrame, format!("invalid frame: {e}"))
}
