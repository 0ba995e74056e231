//! One line of a room as this browser shows it: a message the server confirmed, or one
//! of this browser's own still on its way, and what changes to it do.

use palaver_protocol::{
    toggle_reaction, Attachment, ChatMessage, ClientMsgId, ErrorReason, LinkPreview, MessageKind, Quote, Reaction, Seq,
    User,
};

/// Where one of this browser's own messages stands.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Shown at once, not yet stored by the server.
    Pending,
    /// Shown at once, waiting for its files to be uploaded before it goes.
    Uploading,
    /// Stored by the server and numbered.
    Sent,
    /// Refused by the server; kept visible with the reason so it can be retried.
    Failed(ErrorReason),
}

/// One line of a room's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entry {
    pub id: ClientMsgId,
    pub seq: Option<Seq>,
    pub author: Option<User>,
    pub kind: MessageKind,
    pub text: String,
    pub sent_at: Option<i64>,
    /// `None` for other people's messages.
    pub delivery: Option<Delivery>,
    /// For an edit, a delete or a reaction: the message it changes; for a message,
    /// the one it answers.
    pub target: Option<Seq>,
    /// Changed since it was sent (`text` is the latest).
    pub edited: bool,
    /// Taken back by its author.
    pub deleted: bool,
    /// Taken down by an admin (and so deleted).
    pub removed: bool,
    /// On a reply: what it answers.
    pub quote: Option<Quote>,
    pub reactions: Vec<Reaction>,
    /// Who its `@name`s name.
    pub mentions: Vec<User>,
    /// Its first link's card, once the server fetched it.
    pub preview: Option<Box<LinkPreview>>,
    /// The files it carries.
    pub files: Vec<Attachment>,
    /// Follows a message of the same author within [`GROUP_MS`] (set by
    /// [`Timeline::rows`]): shown without the name line.
    pub continued: bool,
    /// The first message unread when the room was opened: the "New" line goes above it
    /// (set by [`Timeline::rows`]).
    pub new_line: bool,
    /// The newest number its state already includes: changes numbered up to it were
    /// made before the server read it (it came in a batch that reached this far).
    pub(super) as_of: Seq,
}

impl Entry {
    pub(super) fn confirmed(m: ChatMessage, delivery: Option<Delivery>, as_of: Seq) -> Entry {
        Entry {
            id: m.id,
            seq: Some(m.seq),
            author: Some(m.author),
            kind: m.kind,
            text: m.text,
            sent_at: Some(m.sent_at),
            delivery,
            target: m.target,
            edited: m.edited,
            deleted: m.deleted,
            removed: m.removed,
            quote: m.quote,
            reactions: m.reactions,
            mentions: m.mentions,
            preview: m.preview,
            files: m.files,
            continued: false,
            new_line: false,
            as_of,
        }
    }

    /// An edit, a delete or a reaction: a change to another message, not a line of its own.
    pub fn is_change(&self) -> bool {
        self.kind.is_change()
    }

    /// Whether its `@name`s name `me`.
    pub fn mentions_me(&self, me: &User) -> bool {
        self.mentions.iter().any(|u| u.id == me.id)
    }

    /// Whether `me` may edit (or delete) this: a message of theirs, not deleted.
    pub fn editable_by(&self, me: &User) -> bool {
        self.kind == MessageKind::Text && !self.deleted && self.author.as_ref().is_some_and(|a| a.id == me.id)
    }
}

/// What an edit, delete or reaction does to the message it names.
pub(super) fn apply_change(entry: &mut Entry, change: &ChatMessage) {
    match change.kind {
        MessageKind::Edit if !entry.deleted => {
            entry.text = change.text.clone();
            entry.edited = true;
            entry.mentions = change.mentions.clone();
            // The card was of the old text (the new one's comes as a `preview`).
            entry.preview = None;
        }
        MessageKind::Delete => {
            entry.text.clear();
            entry.deleted = true;
            entry.removed = change.removed;
            entry.reactions.clear();
            entry.mentions.clear();
            entry.preview = None;
            entry.files.clear();
        }
        MessageKind::React | MessageKind::Unreact if !entry.deleted => {
            let add = change.kind == MessageKind::React;
            toggle_reaction(&mut entry.reactions, &change.text, &change.author, add);
        }
        _ => {}
    }
}
