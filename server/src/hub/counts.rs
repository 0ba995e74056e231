//! One person's place in one room: where they read to, which messages since are
//! unread and which name them, and how the room tells them of new ones; and how a
//! published message or their reading changes it.

use crate::store::Unread;
use palaver_protocol::{ChatMessage, Level, MessageKind, RoomId, RoomUnread, Seq, UserId};
use std::collections::BTreeSet;

/// One person's place in one room.
#[derive(Debug, Default)]
pub(super) struct Counts {
    /// `None`: never opened (only mentions count).
    pub(super) read: Option<Seq>,
    pub(super) unread: BTreeSet<Seq>,
    pub(super) mentions: BTreeSet<Seq>,
    /// The first unread message as the store found it (it may be older than any kept).
    pub(super) first: Option<Seq>,
    pub(super) level: Level,
}

impl Counts {
    pub(super) fn stored(u: Unread) -> Counts {
        Counts {
            read: u.read,
            unread: u.unread.into_iter().collect(),
            mentions: u.mentions.into_iter().collect(),
            first: u.first,
            level: Level::default(),
        }
    }

    pub(super) fn summary(&self, room: &RoomId) -> RoomUnread {
        RoomUnread {
            room: room.clone(),
            read: self.read,
            unread: self.unread.len() as u32,
            mentions: self.mentions.len() as u32,
            first: self.summary_first(),
            level: self.level,
        }
    }

    /// Nothing to tell of: no unread message, and the room tells of new ones as rooms do
    /// by default.
    pub(super) fn is_empty(&self) -> bool {
        self.unread.is_empty() && self.mentions.is_empty() && self.level == Level::default()
    }

    /// On the person's room list: opened (and not left since), or something in it
    /// names them.
    pub(super) fn listed(&self) -> bool {
        self.read.is_some() || !self.is_empty()
    }

    /// Where reading starts in a room opened for the first time: at its newest message
    /// (`newest`), or just before the first one still to read (one that names me).
    pub(super) fn opened_at(&self, newest: Seq) -> Option<Seq> {
        match self.read {
            Some(_) => None,
            None => Some(self.summary_first().map_or(newest, |f| f.saturating_sub(1).min(newest))),
        }
    }

    pub(super) fn summary_first(&self) -> Option<Seq> {
        self.first.into_iter().chain(self.unread.first().copied()).min()
    }

    /// Counts `m` for `me`; whether anything changed.
    pub(super) fn count(&mut self, me: &UserId, m: &ChatMessage) -> bool {
        let mentioned = m.mentions.iter().any(|u| &u.id == me);
        let read = self.read.unwrap_or(0);
        match (m.kind, m.target) {
            (MessageKind::Text, _) if &m.author.id != me && m.seq > read && (self.read.is_some() || mentioned) => {
                let mut changed = self.unread.insert(m.seq);
                if mentioned {
                    changed |= self.mentions.insert(m.seq);
                }
                changed
            }
            // An edit can name me, or stop naming me.
            (MessageKind::Edit, Some(target)) if &m.author.id != me && target > read => {
                let opened = self.read.is_some();
                if mentioned {
                    let added = self.mentions.insert(target);
                    added | (!opened && self.unread.insert(target))
                } else {
                    let taken = self.mentions.remove(&target);
                    taken | (!opened && self.unread.remove(&target))
                }
            }
            (MessageKind::Delete, Some(target)) => {
                if self.first == Some(target) {
                    self.first = None;
                }
                self.unread.remove(&target) | self.mentions.remove(&target)
            }
            _ => false,
        }
    }

    /// Whether `m`, just counted, is one to tell `me` of: a new message from someone
    /// else that names me, or any in a room set to tell of all, unless muted.
    pub(super) fn notifies(&self, me: &UserId, m: &ChatMessage) -> bool {
        let wanted = match self.level {
            Level::All => true,
            Level::Mentions => m.mentions.iter().any(|u| &u.id == me),
            Level::Muted => false,
        };
        wanted && m.kind == MessageKind::Text && &m.author.id != me
    }

    /// Read up to `seq`; whether anything changed.
    pub(super) fn read_to(&mut self, seq: Seq) -> bool {
        if self.read.is_some_and(|r| r >= seq) {
            return false;
        }
        self.read = Some(seq);
        self.unread = self.unread.split_off(&(seq + 1));
        self.mentions = self.mentions.split_off(&(seq + 1));
        self.first = self.first.filter(|f| *f > seq);
        true
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use palaver_protocol::{ClientMsgId, User};

    pub(crate) fn message(
        seq: Seq,
        author: &str,
        kind: MessageKind,
        target: Option<Seq>,
        mentions: &[&str],
    ) -> ChatMessage {
        ChatMessage {
            room: RoomId::parse("r").unwrap(),
            seq,
            id: ClientMsgId(format!("c{seq}")),
            author: User { id: UserId(author.into()), name: author.into(), handle: None },
            kind,
            text: String::new(),
            sent_at: 0,
            target,
            edited: false,
            deleted: false,
            removed: false,
            quote: None,
            reactions: Vec::new(),
            mentions: mentions
                .iter()
                .map(|u| User { id: UserId((*u).into()), name: (*u).into(), handle: None })
                .collect(),
            preview: None,
            files: Vec::new(),
        }
    }

    fn seen(c: &Counts) -> (Vec<Seq>, Vec<Seq>, Option<Seq>) {
        (
            c.unread.iter().copied().collect(),
            c.mentions.iter().copied().collect(),
            c.summary(&RoomId::parse("r").unwrap()).first,
        )
    }

    #[test]
    fn counts_follow_messages_edits_deletes_and_reading() {
        let me = UserId("me".into());
        let text = |seq, author, mentions: &[&str]| message(seq, author, MessageKind::Text, None, mentions);
        let mut c = Counts { read: Some(2), ..Counts::default() };
        assert!(!c.count(&me, &text(2, "bob", &[])), "already read");
        assert!(!c.count(&me, &text(3, "me", &[])), "my own");
        assert!(c.count(&me, &text(4, "bob", &[])));
        assert!(!c.count(&me, &text(4, "bob", &[])), "twice (from two paths) counts once");
        assert!(c.count(&me, &text(5, "bob", &["me"])));
        assert!(!c.count(&me, &message(6, "bob", MessageKind::React, Some(4), &[])), "a reaction is no message");
        assert_eq!(seen(&c), (vec![4, 5], vec![5], Some(4)));
        assert!(c.count(&me, &message(7, "bob", MessageKind::Edit, Some(4), &["me"])), "an edit names me");
        assert!(c.count(&me, &message(8, "bob", MessageKind::Edit, Some(5), &[])), "another stops naming me");
        assert_eq!(seen(&c), (vec![4, 5], vec![4], Some(4)));
        assert!(c.count(&me, &message(9, "bob", MessageKind::Delete, Some(4), &[])));
        assert_eq!(seen(&c), (vec![5], vec![], Some(5)));
        assert!(c.read_to(5));
        assert!(!c.read_to(3), "never back");
        assert_eq!((seen(&c), c.read), ((vec![], vec![], None), Some(5)));
    }

    #[test]
    fn in_a_room_never_opened_only_mentions_count() {
        let me = UserId("me".into());
        let mut c = Counts::default();
        assert!(!c.count(&me, &message(1, "bob", MessageKind::Text, None, &[])));
        assert!(c.count(&me, &message(2, "bob", MessageKind::Text, None, &["me"])));
        assert_eq!(seen(&c), (vec![2], vec![2], Some(2)));
        assert!(c.count(&me, &message(3, "bob", MessageKind::Edit, Some(2), &[])), "the mention edited away");
        assert_eq!(seen(&c), (vec![], vec![], None));
        // Opened: from then on, everything counts.
        assert!(c.read_to(3));
        assert!(c.count(&me, &message(4, "bob", MessageKind::Text, None, &[])));
        assert_eq!(seen(&c), (vec![4], vec![], Some(4)));
    }
}
