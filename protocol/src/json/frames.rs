//! Frames to and from JSON without serde: a client frame written, a server frame (and a
//! page of messages) read, each the same JSON as serde writes and reads.

use super::value::{write_str, Json, JsonError};
use crate::client::{ClientMsg, Hello};
use crate::error::ErrorReason;
use crate::ids::{ClientMsgId, RoomId, User, UserId};
use crate::message::{Attachment, ChatMessage, HistoryPage, LinkPreview, MessageKind, Quote, Reaction};
use crate::rooms::{Level, RoomAbout, RoomSummary, RoomUnread};
use crate::server::{SearchHit, ServerMsg};
use std::fmt::Write;

impl ClientMsg {
    /// The frame as JSON text (the same as serde writes; see [`json`](crate::json)).
    pub fn encode(&self) -> String {
        encode_client(self)
    }
}

impl ServerMsg {
    /// Reads a server frame: the same as deserialising [`ServerMsg`] with serde, by the
    /// plain reader of [`json`](crate::json), which keeps the page's WebAssembly small.
    pub fn decode(frame: &str) -> Result<ServerMsg, JsonError> {
        let value = Json::parse(frame)?;
        decode_server(&value).ok_or(JsonError { at: 0, what: "not a server frame" })
    }
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
        ClientMsg::Forget { room } => ("forget", Some(room)),
        ClientMsg::HidePreview { room, .. } => ("hide_preview", Some(room)),
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
                Hello::Session => (None, None),
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
        ClientMsg::Send { id, text, reply_to, files, .. } => {
            field(&mut out, "id", id.as_str());
            field(&mut out, "text", text);
            if let Some(reply_to) = reply_to {
                number(&mut out, "reply_to", *reply_to);
            }
            if !files.is_empty() {
                out.push_str(",\"files\":[");
                for (i, file) in files.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_str(&mut out, file);
                }
                out.push(']');
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
        ClientMsg::Around { seq, .. } | ClientMsg::Read { seq, .. } | ClientMsg::HidePreview { seq, .. } => {
            number(&mut out, "seq", *seq)
        }
        ClientMsg::Search { query, before } => {
            field(&mut out, "query", query);
            if let Some(before) = before {
                number(&mut out, "before", *before);
            }
        }
        ClientMsg::Notify { level, .. } => field(&mut out, "level", level.as_str()),
        ClientMsg::Leave { .. } | ClientMsg::Typing { .. } | ClientMsg::Unread | ClientMsg::Forget { .. } => {}
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
        "preview" => {
            ServerMsg::Preview { room: room()?, seq: seq()?, preview: optional(frame.get("preview"), preview_of)? }
        }
        "crowd" => ServerMsg::Crowd { room: room()?, more: frame.get("more")?.int()? as u32 },
        "arrived" => ServerMsg::Arrived { room: room()?, user: user()? },
        "departed" => ServerMsg::Departed { room: room()?, user: user()? },
        "typing" => ServerMsg::Typing { room: room()?, user: user()? },
        "rooms" => ServerMsg::Rooms {
            rooms: frame.get("rooms")?.list(|r| {
                let online = usize::try_from(r.get("online")?.int()?).ok()?;
                Some(RoomSummary { room: room_of(r.get("room")?)?, online })
            })?,
        },
        "about" => ServerMsg::About {
            rooms: frame.get("rooms")?.list(|r| {
                let text = |name: &str| optional(r.get(name), |t| Some(t.str()?.to_owned()));
                Some(RoomAbout {
                    room: room_of(r.get("room")?)?,
                    title: text("title")?.unwrap_or_default(),
                    topic: text("topic")?.unwrap_or_default(),
                })
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
            left: optional(frame.get("left"), |l| l.list(room_of))?.unwrap_or_default(),
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
    let handle = optional(value.get("handle"), |h| Some(h.str()?.to_owned()))?;
    Some(User { id: UserId(value.get("id")?.str()?.to_owned()), name: value.get("name")?.str()?.to_owned(), handle })
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
        removed: flag("removed")?,
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
        preview: optional(m.get("preview"), |p| preview_of(p).map(Box::new))?,
        files: optional(m.get("files"), |fs| fs.list(attachment_of))?.unwrap_or_default(),
    })
}

/// A file a message carries (also what `POST /files` answers).
pub fn attachment_of(f: &Json) -> Option<Attachment> {
    let side = |name: &str| optional(f.get(name), |n| u32::try_from(n.int()?).ok()).map(Option::unwrap_or_default);
    Some(Attachment {
        id: f.get("id")?.str()?.to_owned(),
        name: f.get("name")?.str()?.to_owned(),
        size: u64::try_from(f.get("size")?.int()?).ok()?,
        mime: f.get("type")?.str()?.to_owned(),
        width: side("width")?,
        height: side("height")?,
    })
}

/// A link's card.
fn preview_of(p: &Json) -> Option<LinkPreview> {
    let text = |name: &str| optional(p.get(name), |t| Some(t.str()?.to_owned())).map(Option::unwrap_or_default);
    Some(LinkPreview {
        url: p.get("url")?.str()?.to_owned(),
        title: p.get("title")?.str()?.to_owned(),
        description: text("description")?,
        site: text("site")?,
        image: text("image")?,
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
