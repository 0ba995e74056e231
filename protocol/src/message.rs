//! What a message is and carries: its kind, reactions, the quote of what it answers,
//! and who its `@name`s name; and a page of a room's messages.

use crate::ids::{ClientMsgId, RoomId, Seq, User};
use crate::limits::QUOTE_CHARS;
use serde::{Deserialize, Serialize};

/// What a message is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Something someone wrote.
    #[default]
    Text,
    /// The author changed their name; `text` is the name they had before.
    Renamed,
    /// The author changed message `target`'s text to `text`.
    Edit,
    /// The author took back message `target`.
    Delete,
    /// The author reacted to message `target` with the emoji `text`.
    React,
    /// The author took back their reaction `text` on message `target`.
    Unreact,
}

impl MessageKind {
    pub const ALL: [MessageKind; 6] = [
        MessageKind::Text,
        MessageKind::Renamed,
        MessageKind::Edit,
        MessageKind::Delete,
        MessageKind::React,
        MessageKind::Unreact,
    ];

    /// Its name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Renamed => "renamed",
            MessageKind::Edit => "edit",
            MessageKind::Delete => "delete",
            MessageKind::React => "react",
            MessageKind::Unreact => "unreact",
        }
    }

    pub fn named(name: &str) -> Option<MessageKind> {
        MessageKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A change to another message (`target`) rather than a line of its own.
    pub fn is_change(self) -> bool {
        matches!(self, MessageKind::Edit | MessageKind::Delete | MessageKind::React | MessageKind::Unreact)
    }
}

/// One emoji on a message, and who reacted with it (each person once), oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reaction {
    pub emoji: String,
    pub by: Vec<User>,
}

/// The card a message's first link gets: what the linked page says it is (fetched by
/// the server, never by the reader's browser).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LinkPreview {
    /// The link, as written in the message.
    pub url: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The site's name (its own, else its host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub site: String,
    /// The page's picture, as the server's own thumbnail (a path on the server, never
    /// the page's address); empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image: String,
}

/// A file a message carries: stored by the server under an unguessable id, at
/// `/files/{id}` (a picture's re-encoded form, or the file itself as a download, by its
/// name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attachment {
    /// 32 hexadecimal digits.
    pub id: String,
    /// The name it was uploaded by.
    pub name: String,
    /// Its size in bytes, as uploaded.
    pub size: u64,
    /// Its type, as the server found it from its content (never from its name).
    #[serde(rename = "type")]
    pub mime: String,
    /// For a picture: its size in pixels as shown (0 for other files). A picture has
    /// a thumbnail at `/files/{id}/small`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub width: u32,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub height: u32,
}

impl Attachment {
    /// Whether it is shown as a picture (it has thumbnails).
    pub fn is_picture(&self) -> bool {
        self.width > 0
    }
}

/// `text` for a URL's query or a `filename*`: every byte but ASCII letters, digits and
/// `-._~` written as `%XX`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
    out
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What a reply shows of the message it answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quote {
    /// The original's author's name.
    pub author: String,
    /// The start of the original's first line (at most [`QUOTE_CHARS`] characters);
    /// empty once it was deleted.
    pub text: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
}

impl Quote {
    /// The quote of a message by `author` whose latest text is `text`.
    pub fn of(author: &str, text: &str, deleted: bool) -> Quote {
        let line = text.lines().next().unwrap_or_default();
        let mut short: String = line.chars().take(QUOTE_CHARS).collect();
        if short.len() < line.len() || text.lines().nth(1).is_some() {
            short.push('…');
        }
        Quote { author: author.to_owned(), text: if deleted { String::new() } else { short }, deleted }
    }
}

/// Where `@name`s in `text` name one of `names` (ignoring ASCII case; the longest name
/// that ends where a word does): the byte range of each `@name`, and the name.
pub fn find_mentions<'a>(text: &str, names: &[&'a str]) -> Vec<(std::ops::Range<usize>, &'a str)> {
    let mut found = Vec::new();
    let mut word_before = false;
    for (at, c) in text.char_indices() {
        if c == '@' && !word_before && found.last().is_none_or(|(r, _): &(std::ops::Range<usize>, _)| r.end <= at) {
            let after = &text[at + 1..];
            let best = names.iter().filter_map(|name| Some((name_length(after, name)?, *name))).max_by_key(|m| m.0);
            if let Some((len, name)) = best {
                found.push((at..at + 1 + len, name));
            }
        }
        word_before = is_word(c);
    }
    found
}

/// A letter or digit, for where a word ends: ASCII ones, and every other character but
/// spaces (names in other scripts are matched exactly, without Unicode's case and
/// letter tables, which would grow the page's WebAssembly).
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace())
}

/// How many bytes of `text` spell `name` (ignoring ASCII case) as a whole word, if it starts with it.
fn name_length(text: &str, name: &str) -> Option<usize> {
    let mut rest = text.char_indices();
    for n in name.chars() {
        let (_, c) = rest.next()?;
        if !c.eq_ignore_ascii_case(&n) {
            return None;
        }
    }
    match rest.next() {
        Some((_, c)) if is_word(c) => None,
        Some((end, _)) => Some(end),
        None if name.is_empty() => None,
        None => Some(text.len()),
    }
}

/// Add `user`'s `emoji` to `reactions` (or take it away): one of each per person.
pub fn toggle_reaction(reactions: &mut Vec<Reaction>, emoji: &str, user: &User, add: bool) {
    match reactions.iter().position(|r| r.emoji == emoji) {
        Some(at) if add => {
            if !reactions[at].by.iter().any(|u| u.id == user.id) {
                reactions[at].by.push(user.clone());
            }
        }
        Some(at) => {
            reactions[at].by.retain(|u| u.id != user.id);
            if reactions[at].by.is_empty() {
                reactions.remove(at);
            }
        }
        None if add => reactions.push(Reaction { emoji: emoji.to_owned(), by: vec![user.clone()] }),
        None => {}
    }
}

/// A message as everyone sees it once the server has stored it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChatMessage {
    pub room: RoomId,
    pub seq: Seq,
    /// The sender's id for this message.
    pub id: ClientMsgId,
    pub author: User,
    #[serde(default)]
    pub kind: MessageKind,
    pub text: String,
    /// Server time of acceptance, milliseconds since the Unix epoch (UTC).
    pub sent_at: i64,
    /// For an `edit`, `delete`, `react` or `unreact`: the number of the message it
    /// changes. For a `text` message: the message it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Seq>,
    /// On a message: its text was changed after it was sent (`text` is the latest).
    #[serde(default, skip_serializing_if = "is_false")]
    pub edited: bool,
    /// On a message: taken back by its author (`text` is empty).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deleted: bool,
    /// On a deleted message, and on the `delete` that took it down: it was an admin
    /// who removed it, not its author.
    #[serde(default, skip_serializing_if = "is_false")]
    pub removed: bool,
    /// On a reply: what it answers, as that message is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<Quote>,
    /// On a message: its reactions now, in the order they were first made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// On a message or an edit: the people its `@name`s named when it was written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentions: Vec<User>,
    /// On a message: its first link's card, once the server has fetched it (boxed: most
    /// messages have none, and every message is copied to many).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<Box<LinkPreview>>,
    /// On a message: the files it carries (none once it is deleted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<Attachment>,
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A run of a room's consecutive messages, oldest first, and whether older ones exist:
/// what the store loads, the server renders into a page, and a `history` answer carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub has_older: bool,
}
