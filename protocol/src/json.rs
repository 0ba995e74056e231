//! The browser's JSON: reading server frames and writing client frames without serde.
//!
//! Frames are the same JSON as serde makes and reads on the server (the tests hold the
//! two to each other), but this code is plain and not generic: in the page's
//! WebAssembly it is a fraction of the size of serde's derived readers, serde_json's
//! generic parser, and the float formatting its error messages pull in.
//!
//! The reader takes any JSON text; numbers must be integers (no frame has any other).
//! Nesting deeper than [`MAX_DEPTH`] is refused rather than followed.

use crate::{
    ChatMessage, ClientMsg, ClientMsgId, ErrorReason, Hello, HistoryPage, Level, MessageKind, Quote, Reaction, RoomId,
    RoomSummary, RoomUnread, SearchHit, ServerMsg, User, UserId,
};
use std::fmt::Write;

/// Arrays and objects nested deeper than this are refused.
pub const MAX_DEPTH: usize = 32;

/// A JSON value, numbers being integers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

/// Why a text is not a frame: where, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub at: usize,
    pub what: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// Reads one JSON value that is the whole of `text` (whitespace around it aside).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
        let value = reader.value(0)?;
        reader.space();
        if reader.at != reader.bytes.len() {
            return Err(reader.fail("text after the value"));
        }
        Ok(value)
    }

    /// The field `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Json::Str(s) => Some(s),
            _ => None,
        }
    }

    fn int(&self) -> Option<i128> {
        match self {
            Json::Int(n) => Some(*n),
            _ => None,
        }
    }

    fn list<T>(&self, item: impl Fn(&Json) -> Option<T>) -> Option<Vec<T>> {
        match self {
            Json::Arr(items) => items.iter().map(item).collect(),
            _ => None,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn fail(&self, what: &'static str) -> JsonError {
        JsonError { at: self.at, what }
    }

    fn space(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(word);
        if found {
            self.at += word.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nested too deep"));
        }
        self.space();
        match self.bytes.get(self.at) {
            Some(b'{') => {
                self.at += 1;
                let mut fields = Vec::new();
                self.space();
                if self.eat(b"}") {
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.space();
                    let key = self.string()?;
                    self.space();
                    if !self.eat(b":") {
                        return Err(self.fail("expected ':'"));
                    }
                    fields.push((key, self.value(depth + 1)?));
                    self.space();
                    if self.eat(b"}") {
                        return Ok(Json::Obj(fields));
                    }
                    if !self.eat(b",") {
                        return Err(self.fail("expected ',' or '}'"));
                    }
                }
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.space();
                if self.eat(b"]") {
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.space();
                    if self.eat(b"]") {
                        return Ok(Json::Arr(items));
                    }
                    if !self.eat(b",") {
                        return Err(self.fail("expected ',' or ']'"));
                    }
                }
            }
            Some(b'"') => self.string().map(Json::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ if self.eat(b"true") => Ok(Json::Bool(true)),
            _ if self.eat(b"false") => Ok(Json::Bool(false)),
            _ if self.eat(b"null") => Ok(Json::Null),
            _ => Err(self.fail("expected a value")),
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.at;
        self.eat(b"-");
        let digits = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let len = self.at - digits;
        if len == 0 || (len > 1 && self.bytes[digits] == b'0') {
            return Err(self.fail("not a number"));
        }
        if matches!(self.bytes.get(self.at), Some(b'.' | b'e' | b'E')) {
            return Err(self.fail("a number with a fraction or exponent"));
        }
        let text = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.fail("not a number"))?;
        // 39 digits overflow i128; no frame's number comes near.
        text.parse().map(Json::Int).map_err(|_| self.fail("a number too large"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        if !self.eat(b"\"") {
            return Err(self.fail("expected a string"));
        }
        let mut out = String::new();
        loop {
            // Copy the run up to the next quote or escape as it is (the text is UTF-8).
            let run = self.at;
            while self.bytes.get(self.at).is_some_and(|b| *b != b'"' && *b != b'\\' && *b >= 0x20) {
                self.at += 1;
            }
            out.push_str(std::str::from_utf8(&self.bytes[run..self.at]).map_err(|_| self.fail("not UTF-8"))?);
            match self.bytes.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escaped = self.bytes.get(self.at).copied().ok_or_else(|| self.fail("unfinished escape"))?;
                    self.at += 1;
                    match escaped {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let unit = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&unit) {
                                // A surrogate pair: the second half must follow.
                                if !self.eat(b"\\u") {
                                    return Err(self.fail("a lone surrogate"));
                                }
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.fail("a lone surrogate"));
                                }
                                char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                            } else {
                                char::from_u32(unit)
                            };
                            out.push(c.ok_or_else(|| self.fail("a lone surrogate"))?);
                        }
                        _ => return Err(self.fail("an unknown escape")),
                    }
                }
                Some(_) => return Err(self.fail("a control character in a string")),
                None => return Err(self.fail("an unfinished string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.bytes.get(self.at..self.at + 4).ok_or_else(|| self.fail("a short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.fail("a bad \\u escape"))?;
        let unit = u32::from_str_radix(text, 16).map_err(|_| self.fail("a bad \\u escape"))?;
        self.at += 4;
        Ok(unit)
    }
}

/// `text` as a JSON string, escaped as serde_json escapes it.
pub fn write_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A client frame as JSON: the same text serde writes for it.
pub fn encode_client(msg: &ClientMsg) -> String {
    let mut out = String::from("{\"type\":");
    let field = |out: &mut String, name: &str, value: &str| {
        out.push_str(",\"");
        out.push_str(name);
        out.push_str("\":");
        write_str(out, value);
    };
    let number = |out: &mut String, name: &str, value: u64| {
        let _ = write!(out, ",\"{name}\":{value}");
    };
    let (kind, room) = match msg {
        ClientMsg::Hello(_) => ("hello", None),
        ClientMsg::Join { room, .. } => ("join", Some(room)),
        ClientMsg::Leave { room } => ("leave", Some(room)),
        ClientMsg::Send { room, .. } => ("send", Some(room)),
        ClientMsg::Edit { room, .. } => ("edit", Some(room)),
        ClientMsg::Delete { room, .. } => ("delete", Some(room)),
        ClientMsg::React { room, .. } => ("react", Some(room)),
        ClientMsg::Typing { room } => ("typing", Some(room)),
        ClientMsg::History { room, .. } => ("history", Some(room)),
        ClientMsg::Around { room, .. } => ("around", Some(room)),
        ClientMsg::Search { .. } => ("search", None),
        ClientMsg::Read { room, .. } => ("read", Some(room)),
        ClientMsg::Unread => ("unread", None),
        ClientMsg::Notify { room, .. } => ("notify", Some(room)),
    };
    write_str(&mut out, kind);
    if let Some(room) = room {
        field(&mut out, "room", room.as_str());
    }
    match msg {
        ClientMsg::Hello(hello) => {
            let (token, name) = match hello {
                Hello::Name(name) => (None, Some(name)),
                Hello::Token(token) => (Some(token), None),
                Hello::Rename { token, name } => (Some(token), Some(name)),
            };
            if let Some(token) = token {
                field(&mut out, "token", token);
            }
            if let Some(name) = name {
                field(&mut out, "name", name);
            }
        }
        ClientMsg::Join { after, .. } => {
            if let Some(after) = after {
                number(&mut out, "after", *after);
            }
        }
        ClientMsg::Send { id, text, reply_to, .. } => {
            field(&mut out, "id", id.as_str());
            field(&mut out, "text", text);
            if let Some(reply_to) = reply_to {
                number(&mut out, "reply_to", *reply_to);
            }
        }
        ClientMsg::Edit { id, target, text, .. } => {
            field(&mut out, "id", id.as_str());
            number(&mut out, "target", *target);
            field(&mut out, "text", text);
        }
        ClientMsg::Delete { id, target, .. } => {
            field(&mut out, "id", id.as_str());
            number(&mut out, "target", *target);
        }
        ClientMsg::React { id, target, emoji, remove, .. } => {
            field(&mut out, "id", id.as_str());
            number(&mut out, "target", *target);
            field(&mut out, "emoji", emoji);
            if *remove {
                out.push_str(",\"remove\":true");
            }
        }
        ClientMsg::History { before, .. } => number(&mut out, "before", *before),
        ClientMsg::Around { seq, .. } | ClientMsg::Read { seq, .. } => number(&mut out, "seq", *seq),
        ClientMsg::Search { query, before } => {
            field(&mut out, "query", query);
            if let Some(before) = before {
                number(&mut out, "before", *before);
            }
        }
        ClientMsg::Notify { level, .. } => field(&mut out, "level", level.as_str()),
        ClientMsg::Leave { .. } | ClientMsg::Typing { .. } | ClientMsg::Unread => {}
    }
    out.push('}');
    out
}

/// A server frame from its JSON (see [`ServerMsg::decode`]).
pub fn decode_server(frame: &Json) -> Option<ServerMsg> {
    let room = || frame.get("room").and_then(room_of);
    let user = || frame.get("user").and_then(user_of);
    let messages = || frame.get("messages")?.list(message_of);
    let flag = |name: &str| match frame.get(name)? {
        Json::Bool(b) => Some(*b),
        _ => None,
    };
    let seq = || frame.get("seq")?.int().and_then(|n| u64::try_from(n).ok());
    let online = || frame.get("online")?.list(user_of);
    Some(match frame.get("type")?.str()? {
        "message" => ServerMsg::Message(message_of(frame)?),
        "notification" => ServerMsg::Notification(message_of(frame)?),
        "welcome" => ServerMsg::Welcome { user: user()?, token: frame.get("token")?.str()?.to_owned() },
        "joined" => ServerMsg::Joined {
            room: room()?,
            messages: messages()?,
            complete: flag("complete")?,
            has_older: flag("has_older")?,
            online: online()?,
        },
        "ack" => ServerMsg::Ack { room: room()?, id: ClientMsgId(frame.get("id")?.str()?.to_owned()), seq: seq()? },
        "older" => ServerMsg::Older { room: room()?, messages: messages()?, has_older: flag("has_older")? },
        "around" => {
            ServerMsg::Around { room: room()?, seq: seq()?, messages: messages()?, has_older: flag("has_older")? }
        }
        "results" => ServerMsg::Results {
            query: frame.get("query")?.str()?.to_owned(),
            hits: frame.get("hits")?.list(|hit| {
                let marks = hit.get("marks")?.list(|m| {
                    let pair = m.list(|n| u32::try_from(n.int()?).ok())?;
                    <[u32; 2]>::try_from(pair).ok()
                })?;
                Some(SearchHit { message: message_of(hit.get("message")?)?, marks })
            })?,
            next: optional(frame.get("next"), |n| u64::try_from(n.int()?).ok())?,
        },
        "presence" => ServerMsg::Presence { room: room()?, online: online()? },
        "arrived" => ServerMsg::Arrived { room: room()?, user: user()? },
        "departed" => ServerMsg::Departed { room: room()?, user: user()? },
        "typing" => ServerMsg::Typing { room: room()?, user: user()? },
        "rooms" => ServerMsg::Rooms {
            rooms: frame.get("rooms")?.list(|r| {
                let online = usize::try_from(r.get("online")?.int()?).ok()?;
                Some(RoomSummary { room: room_of(r.get("room")?)?, online })
            })?,
        },
        "unread" => ServerMsg::Unread {
            all: optional(frame.get("all"), |b| match b {
                Json::Bool(b) => Some(*b),
                _ => None,
            })?
            .unwrap_or(false),
            rooms: frame.get("rooms")?.list(|r| {
                let count = |name: &str| u32::try_from(r.get(name)?.int()?).ok();
                let number = |name: &str| optional(r.get(name), |n| u64::try_from(n.int()?).ok());
                Some(RoomUnread {
                    room: room_of(r.get("room")?)?,
                    read: number("read")?,
                    unread: count("unread")?,
                    mentions: count("mentions")?,
                    first: number("first")?,
                    level: optional(r.get("level"), |l| Level::named(l.str()?))?.unwrap_or_default(),
                })
            })?,
        },
        "error" => ServerMsg::Error {
            reason: ErrorReason::named(frame.get("reason")?.str()?)?,
            detail: frame.get("detail")?.str()?.to_owned(),
            id: optional(frame.get("id"), |id| Some(ClientMsgId(id.str()?.to_owned())))?,
            room: optional(frame.get("room"), room_of)?,
            retry_after_ms: optional(frame.get("retry_after_ms"), |n| u64::try_from(n.int()?).ok())?,
        },
        _ => return None,
    })
}

/// An optional field: absent or null is `None`; present, it must read.
fn optional<T>(value: Option<&Json>, read: impl Fn(&Json) -> Option<T>) -> Option<Option<T>> {
    match value {
        None | Some(Json::Null) => Some(None),
        Some(v) => read(v).map(Some),
    }
}

fn room_of(value: &Json) -> Option<RoomId> {
    RoomId::parse(value.str()?).ok()
}

fn user_of(value: &Json) -> Option<User> {
    Some(User { id: UserId(value.get("id")?.str()?.to_owned()), name: value.get("name")?.str()?.to_owned() })
}

/// A stored message, from a `message` frame or a page's list.
pub fn message_of(m: &Json) -> Option<ChatMessage> {
    let text = |name: &str| Some(m.get(name)?.str()?.to_owned());
    let flag = |name: &str| {
        optional(m.get(name), |v| match v {
            Json::Bool(b) => Some(*b),
            _ => None,
        })
        .map(Option::unwrap_or_default)
    };
    let people = |name: &str| optional(m.get(name), |v| v.list(user_of)).map(Option::unwrap_or_default);
    Some(ChatMessage {
        room: room_of(m.get("room")?)?,
        seq: u64::try_from(m.get("seq")?.int()?).ok()?,
        id: ClientMsgId(text("id")?),
        author: user_of(m.get("author")?)?,
        kind: optional(m.get("kind"), |k| MessageKind::named(k.str()?))?.unwrap_or_default(),
        text: text("text")?,
        sent_at: i64::try_from(m.get("sent_at")?.int()?).ok()?,
        target: optional(m.get("target"), |t| u64::try_from(t.int()?).ok())?,
        edited: flag("edited")?,
        deleted: flag("deleted")?,
        quote: optional(m.get("quote"), |q| {
            let deleted = optional(q.get("deleted"), |v| match v {
                Json::Bool(b) => Some(*b),
                _ => None,
            })?;
            Some(Quote {
                author: q.get("author")?.str()?.to_owned(),
                text: q.get("text")?.str()?.to_owned(),
                deleted: deleted.unwrap_or_default(),
            })
        })?,
        reactions: optional(m.get("reactions"), |rs| {
            rs.list(|r| Some(Reaction { emoji: r.get("emoji")?.str()?.to_owned(), by: r.get("by")?.list(user_of)? }))
        })?
        .unwrap_or_default(),
        mentions: people("mentions")?,
    })
}

/// A page of messages (`messages`, `has_older`), as the server writes one into the page.
pub fn page_of(value: &Json) -> Option<HistoryPage> {
    let has_older = match value.get("has_older")? {
        Json::Bool(b) => *b,
        _ => return None,
    };
    Some(HistoryPage { messages: value.get("messages")?.list(message_of)?, has_older })
}

/// The room of a value's `room` field.
pub fn room_field(value: &Json) -> Option<RoomId> {
    room_of(value.get("room")?)
}
