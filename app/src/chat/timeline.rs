//! One room's timeline as this browser shows it: the messages the server confirmed, in
//! its order, then this browser's own still on their way; what edits, deletes and
//! reactions do to the messages they name; and the rows a room is drawn as (days, name
//! lines, gaps). Plain data, so its rules are tested without a browser.

use super::entry::{apply_change, Delivery, Entry};
use palaver_protocol::{
    ChatMessage, ClientMsgId, ErrorReason, LinkPreview, MessageKind, Quote, Seq, User, UserId, HISTORY_PAGE,
};

/// Messages of one author this close together (milliseconds) share one name line.
pub const GROUP_MS: i64 = 5 * 60 * 1000;

/// One room: confirmed messages in server order, then this browser's unconfirmed ones
/// in the order they were typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    confirmed: Vec<Entry>,
    unconfirmed: Vec<Entry>,
    /// True once the server has sent this room (a `joined`).
    pub loaded: bool,
    /// Whether the server has messages older than the first one here.
    pub has_older: bool,
    /// True while an older page has been asked for and not arrived.
    pub loading_older: bool,
}

impl Timeline {
    /// A timeline holding a page of messages, as the server rendered it.
    pub fn from_page(messages: Vec<ChatMessage>, has_older: bool) -> Timeline {
        let mut t = Timeline { has_older, ..Timeline::default() };
        t.confirm_all(messages);
        t
    }

    /// The lines of the room, in order: messages and notices (edits, deletes and
    /// reactions show in the messages they change).
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.confirmed.iter().chain(self.unconfirmed.iter()).filter(|e| !e.is_change())
    }

    /// The lines of the room, a day's name before the first line of each day, and,
    /// where numbers are missing between two loaded ones (after a jump to an older
    /// message), a gap to fill. `day_of` gives the reader's local day of an instant;
    /// a line still on its way (no time yet) is `today`'s.
    pub fn rows(&self, day_of: &dyn Fn(i64) -> i64, today: i64, new_from: Option<Seq>) -> Vec<Row> {
        let mut new_line = new_from;
        let mut rows = Vec::new();
        let mut last = None;
        let mut group = Group::default();
        let mut shown_day = None;
        let lines = self.confirmed.iter().map(|e| (e, true)).chain(self.unconfirmed.iter().map(|e| (e, false)));
        for (e, confirmed) in lines {
            if confirmed {
                if let (Some(prev), Some(seq)) = (last, e.seq) {
                    if seq > prev + 1 {
                        rows.push(Row::Gap(prev));
                        group = Group::default();
                    }
                }
                last = e.seq;
            }
            if e.is_change() {
                continue;
            }
            let day = e.sent_at.map_or(today, day_of);
            if shown_day != Some(day) {
                shown_day = Some(day);
                rows.push(Row::Day(day));
                group = Group::default();
            }
            let first_new = confirmed && new_line.is_some_and(|from| e.seq.is_some_and(|seq| seq >= from));
            if first_new {
                new_line = None;
                group = Group::default();
            }
            let mut entry = group.place(e);
            entry.new_line = first_new;
            rows.push(Row::Message(entry));
        }
        rows
    }

    pub fn is_empty(&self) -> bool {
        self.confirmed.is_empty() && self.unconfirmed.is_empty()
    }

    /// The highest number seen: what a reconnecting client resumes after.
    pub fn last_seq(&self) -> Option<Seq> {
        self.confirmed.last().and_then(|e| e.seq)
    }

    /// The lowest number shown: where the next older page ends.
    pub fn first_seq(&self) -> Option<Seq> {
        self.confirmed.first().and_then(|e| e.seq)
    }

    /// This browser's messages that still need the server: what to (re)send.
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.unconfirmed.iter().filter(|e| e.delivery == Some(Delivery::Pending))
    }

    pub fn push_pending(&mut self, id: ClientMsgId, author: Option<User>, text: String) {
        self.push_pending_kind(id, author, MessageKind::Text, None, text);
    }

    /// My answer to message `target`, quoting it as shown here.
    pub fn push_reply(&mut self, id: ClientMsgId, author: Option<User>, text: String, target: Seq) {
        let quote = self
            .message(target)
            .map(|o| Quote::of(o.author.as_ref().map_or("", |a| a.name.as_str()), &o.text, o.deleted));
        self.push_pending_kind(id, author, MessageKind::Text, Some(target), text);
        if let Some(entry) = self.unconfirmed.last_mut() {
            entry.quote = quote;
        }
    }

    /// One of this browser's messages not yet stored.
    pub fn unsent_mut(&mut self, id: &ClientMsgId) -> Option<&mut Entry> {
        self.unconfirmed.iter_mut().find(|e| &e.id == id)
    }

    /// Forgets one of this browser's messages not yet stored (all its files were
    /// taken off before it went, and it has no text).
    pub fn drop_unsent(&mut self, id: &ClientMsgId) {
        self.unconfirmed.retain(|e| &e.id != id);
    }

    /// A pending message of any kind: an edit or a delete of `target` goes (and goes
    /// again after a reconnect) as posts do, and shows once the server confirms it.
    pub fn push_pending_kind(
        &mut self,
        id: ClientMsgId,
        author: Option<User>,
        kind: MessageKind,
        target: Option<Seq>,
        text: String,
    ) {
        self.unconfirmed.push(Entry {
            id,
            seq: None,
            author,
            kind,
            text,
            sent_at: None,
            delivery: Some(Delivery::Pending),
            target,
            edited: false,
            deleted: false,
            removed: false,
            quote: None,
            reactions: Vec::new(),
            mentions: Vec::new(),
            preview: None,
            files: Vec::new(),
            continued: false,
            new_line: false,
            as_of: 0,
        });
    }

    /// Where the confirmed entry numbered `seq` is, if it is here.
    fn index_of(&self, seq: Seq) -> Option<usize> {
        let at = self.confirmed.partition_point(|e| e.seq < Some(seq));
        (self.confirmed.get(at)?.seq == Some(seq)).then_some(at)
    }

    /// The message numbered `seq`, if it is here.
    pub fn message(&self, seq: Seq) -> Option<&Entry> {
        self.index_of(seq).map(|at| &self.confirmed[at])
    }

    /// Message `seq`'s first link has a card now, or none (if the message is here and
    /// not taken back).
    pub fn preview(&mut self, seq: Seq, preview: Option<LinkPreview>) {
        if let Some(entry) = self.index_of(seq).map(|at| &mut self.confirmed[at]).filter(|e| !e.deleted) {
            entry.preview = preview.map(Box::new);
        }
    }

    /// My newest message here that I can still edit (for the Up arrow).
    pub fn last_editable(&self, me: &User) -> Option<&Entry> {
        self.confirmed.iter().rev().find(|e| e.editable_by(me))
    }

    /// Marks a failed message pending again; true if there was one to retry.
    pub fn retry(&mut self, id: &ClientMsgId) -> bool {
        match self.unconfirmed.iter_mut().find(|e| &e.id == id) {
            Some(entry) if matches!(entry.delivery, Some(Delivery::Failed(_))) => {
                entry.delivery = Some(Delivery::Pending);
                true
            }
            _ => false,
        }
    }

    /// The server's answer to a join: `complete` false means what is shown may have a
    /// hole in it, so it is replaced. The first answer replaces the server-rendered page
    /// from its first message on; a page rendered before that (around the first unread
    /// message) stays, above a gap if the two do not meet.
    pub fn joined(&mut self, messages: Vec<ChatMessage>, complete: bool, has_older: bool) {
        if !complete {
            self.confirmed.clear();
        } else if !self.loaded {
            let from = messages.first().map(|m| m.seq);
            self.confirmed.retain(|e| from.is_some_and(|from| e.seq < Some(from)));
        }
        if self.confirmed.is_empty() {
            self.has_older = has_older;
        }
        // An older page asked for before is answered by now, or was lost with its
        // connection: the page may ask again.
        self.loading_older = false;
        self.loaded = true;
        self.confirm_all(messages);
    }

    /// An older page, put in front.
    pub fn older(&mut self, messages: Vec<ChatMessage>, has_older: bool) {
        self.loading_older = false;
        self.has_older = has_older;
        self.confirm_all(messages);
    }

    /// The page around a message: in its place, maybe with a gap after it.
    pub fn around(&mut self, messages: Vec<ChatMessage>, has_older: bool) {
        let first = messages.first().map(|m| m.seq);
        if first.is_some() && (self.first_seq().is_none() || first < self.first_seq()) {
            self.has_older = has_older;
        }
        self.confirm_all(messages);
    }

    /// The number to ask `around` for to fill the gap after `after`.
    pub fn gap_fill(after: Seq) -> Seq {
        after + 1 + HISTORY_PAGE as Seq / 2
    }

    /// A batch the server read at once: the state of each message in it already
    /// includes the changes in it.
    fn confirm_all(&mut self, messages: Vec<ChatMessage>) {
        let as_of = messages.iter().map(|m| m.seq).max().unwrap_or_default();
        for m in messages {
            self.confirm_as_of(m, as_of);
        }
    }

    pub fn ack(&mut self, id: &ClientMsgId, seq: Seq) {
        // Sent, but stays at the bottom until its broadcast gives it a place and a time.
        if let Some(entry) = self.unconfirmed.iter_mut().find(|e| &e.id == id) {
            entry.seq = Some(seq);
            entry.delivery = Some(Delivery::Sent);
        }
    }

    pub fn failed(&mut self, id: &ClientMsgId, reason: ErrorReason) {
        // A refused edit or delete changes nothing; the message stays as it is.
        self.unconfirmed.retain(|e| !(&e.id == id && e.is_change()));
        if let Some(entry) = self.unconfirmed.iter_mut().find(|e| &e.id == id) {
            entry.delivery = Some(Delivery::Failed(reason));
        }
    }

    /// One message as it happens.
    pub fn confirm(&mut self, m: ChatMessage) {
        let seq = m.seq;
        self.confirm_as_of(m, seq);
    }

    fn confirm_as_of(&mut self, m: ChatMessage, as_of: Seq) {
        if self.index_of(m.seq).is_some() {
            return;
        }
        let at = self.confirmed.partition_point(|e| e.seq < Some(m.seq));
        let delivery = match self
            .unconfirmed
            .iter()
            .position(|e| e.id == m.id && e.author.as_ref().is_none_or(|a| a.id == m.author.id))
        {
            Some(i) => {
                self.unconfirmed.remove(i);
                Some(Delivery::Sent)
            }
            None => None,
        };
        let change = m.target.filter(|_| m.kind.is_change()).map(|target| (target, m.clone()));
        self.confirmed.insert(at, Entry::confirmed(m, delivery, as_of));
        // A change applies to its message if that is here and does not include it yet
        // (if the message is not here, it comes later in its latest state); an edit or
        // delete also changes the quote in every answer to it.
        if let Some((target, change)) = change {
            let newer = |e: &Entry| e.as_of < change.seq && !e.is_change();
            if let Some(entry) = self.index_of(target).map(|at| &mut self.confirmed[at]).filter(|e| newer(e)) {
                apply_change(entry, &change);
            }
            if matches!(change.kind, MessageKind::Edit | MessageKind::Delete) {
                let deleted = change.kind == MessageKind::Delete;
                for reply in self.confirmed.iter_mut().filter(|e| e.target == Some(target) && newer(e)) {
                    if let Some(quote) = reply.quote.as_mut().filter(|q| !q.deleted) {
                        *quote = Quote::of(&quote.author, &change.text, deleted);
                    }
                }
            }
        }
    }
}

/// The run of messages a new one may join: whose, and when the last was sent.
#[derive(Default)]
struct Group {
    author: Option<UserId>,
    at: Option<i64>,
}

impl Group {
    /// The entry as shown after the group so far (continuing it, or not), and the group
    /// it leaves for the next.
    fn place(&mut self, e: &Entry) -> Entry {
        let mut entry = e.clone();
        let author = e.author.as_ref().map(|a| a.id.clone());
        let close = match (self.at, e.sent_at) {
            (Some(a), Some(b)) => b - a < GROUP_MS,
            // Mine, still on its way: with what I sent just before.
            _ => e.sent_at.is_none(),
        };
        entry.continued = e.kind == MessageKind::Text && author.is_some() && author == self.author && close;
        if e.kind == MessageKind::Text {
            self.author = author;
            self.at = e.sent_at.or(self.at);
        } else {
            *self = Group::default();
        }
        entry
    }
}

/// One row of a room's list: a line, or a run of numbers not loaded (after the number
/// given) that can be filled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
// Rows live only while the list is compared and drawn; a gap is rare.
#[allow(clippy::large_enum_variant)]
pub enum Row {
    Message(Entry),
    Gap(Seq),
    /// The local day (days since 1970-01-01) its following lines were sent on.
    Day(i64),
}
#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use palaver_protocol::RoomId;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    pub(crate) fn user(name: &str) -> User {
        User { id: UserId(name.to_lowercase()), name: name.into(), handle: None }
    }

    pub(crate) fn msg(seq: Seq, i: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: RoomId::lobby(),
            seq,
            id: id(i),
            author: user("Ann"),
            kind: MessageKind::Text,
            text: text.into(),
            sent_at: 1_000 * seq as i64,
            target: None,
            edited: false,
            deleted: false,
            removed: false,
            quote: None,
            reactions: Vec::new(),
            mentions: Vec::new(),
            preview: None,
            files: Vec::new(),
        }
    }

    fn texts(t: &Timeline) -> Vec<&str> {
        t.entries().map(|e| e.text.as_str()).collect()
    }

    fn change(seq: Seq, i: &str, kind: MessageKind, target: Seq, text: &str) -> ChatMessage {
        ChatMessage { kind, target: Some(target), ..msg(seq, i, text) }
    }

    fn react(seq: Seq, i: &str, who: &str, target: Seq, emoji: &str, add: bool) -> ChatMessage {
        let kind = if add { MessageKind::React } else { MessageKind::Unreact };
        ChatMessage { author: user(who), ..change(seq, i, kind, target, emoji) }
    }

    fn counts(t: &Timeline, seq: Seq) -> Vec<(String, usize)> {
        t.message(seq).unwrap().reactions.iter().map(|r| (r.emoji.clone(), r.by.len())).collect()
    }

    #[test]
    fn edits_and_deletes_change_their_message_in_any_order_of_arrival() {
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "first"), msg(2, "b", "second")], true, false);
        t.confirm(change(3, "e", MessageKind::Edit, 1, "first, better"));
        assert_eq!(texts(&t), ["first, better", "second"], "the edit shows in its message, not as a line");
        assert!(t.entries().next().unwrap().edited);
        assert_eq!(t.last_seq(), Some(3), "resuming starts after the edit");
        t.confirm(change(4, "d", MessageKind::Delete, 2, ""));
        assert!(t.entries().nth(1).is_some_and(|e| e.deleted && e.text.is_empty()));
        // Again, after a resume that replays them: the same.
        t.joined(
            vec![change(3, "e", MessageKind::Edit, 1, "first, better"), change(4, "d", MessageKind::Delete, 2, "")],
            true,
            false,
        );
        assert_eq!(texts(&t), ["first, better", ""]);
        // An edit after a delete (from before it, arriving late) cannot bring the text back.
        t.confirm(change(5, "e2", MessageKind::Edit, 2, "back?"));
        assert!(t.entries().nth(1).is_some_and(|e| e.deleted && e.text.is_empty()));

        // A change to a message not loaded yet waits for the message, which comes in its
        // latest state (an older page).
        let mut t = Timeline::default();
        t.joined(vec![change(9, "e", MessageKind::Edit, 3, "new")], false, true);
        assert_eq!(texts(&t), Vec::<&str>::new());
        t.older(vec![ChatMessage { edited: true, ..msg(3, "c", "new") }], false);
        assert_eq!(texts(&t), ["new"]);
    }

    #[test]
    fn one_authors_messages_close_together_share_a_name_line() {
        let at = |seq: Seq, who: &str, minute: i64| ChatMessage {
            author: user(who),
            sent_at: minute * 60_000,
            ..msg(seq, &format!("m{seq}"), "x")
        };
        let mut t = Timeline::default();
        t.joined(
            vec![at(1, "Ann", 0), at(2, "Ann", 1), at(3, "Bob", 2), at(4, "Ann", 3), at(5, "Ann", 9)],
            true,
            false,
        );
        t.push_pending(id("p"), Some(user("Ann")), "mine".into());
        let continued: Vec<bool> = t
            .rows(&|_| 0, 0, None)
            .into_iter()
            .filter_map(|r| match r {
                Row::Message(e) => Some(e.continued),
                Row::Day(_) => None,
                Row::Gap(_) => panic!("no gap"),
            })
            .collect();
        assert_eq!(continued, [false, true, false, false, false, true], "a new author, or 5 minutes, start a group");
    }

    #[test]
    fn each_day_begins_with_its_name_and_a_new_name_line() {
        let minute = 60_000;
        let at = |seq: Seq, minutes: i64| ChatMessage {
            author: user("Ann"),
            sent_at: minutes * minute,
            ..msg(seq, &format!("m{seq}"), "x")
        };
        // Days of 1,440 minutes from 0: Ann at 23:57 and 23:58 of day 0, then 00:01 and
        // 00:02 of day 1 (close together, but a new day), and mine, on its way, today.
        let mut t = Timeline::default();
        t.joined(vec![at(1, 1437), at(2, 1438), at(3, 1441), at(4, 1442)], true, false);
        t.push_pending(id("p"), Some(user("Ann")), "mine".into());
        let day_of = |ms: i64| ms.div_euclid(1440 * minute);
        let shown = |rows: Vec<Row>| -> Vec<String> {
            rows.into_iter()
                .map(|r| match r {
                    Row::Day(d) => format!("day {d}"),
                    Row::Message(e) => format!("{}{}", e.text, if e.continued { "+" } else { "" }),
                    Row::Gap(_) => "gap".into(),
                })
                .collect()
        };
        assert_eq!(shown(t.rows(&day_of, 1, None)), ["day 0", "x", "x+", "day 1", "x", "x+", "mine+"]);
        assert_eq!(shown(t.rows(&day_of, 5, None)), ["day 0", "x", "x+", "day 1", "x", "x+", "day 5", "mine"]);
        // In a zone three hours east, all four were sent on day 1.
        let east = |ms: i64| (ms + 180 * minute).div_euclid(1440 * minute);
        assert_eq!(shown(t.rows(&east, 1, None)), ["day 1", "x", "x+", "x+", "x+", "mine+"]);
    }

    #[test]
    fn reactions_apply_once_whatever_the_order_of_arrival() {
        // Live, one by one: one per person and kind, taken back by the same person.
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "hello")], true, false);
        t.confirm(react(2, "r1", "Bob", 1, "👍", true));
        t.confirm(react(3, "r2", "Bob", 1, "👍", true));
        t.confirm(react(4, "r3", "Cy", 1, "👍", true));
        t.confirm(react(5, "r4", "Cy", 1, "🎉", true));
        t.confirm(react(4, "r3", "Cy", 1, "👍", true));
        assert_eq!(counts(&t, 1), [("👍".into(), 2), ("🎉".into(), 1)], "a replayed event counts once");
        t.confirm(react(6, "r5", "Bob", 1, "👍", false));
        assert_eq!(counts(&t, 1), [("👍".into(), 1), ("🎉".into(), 1)]);
        assert_eq!(texts(&t), ["hello"], "reactions are not lines");

        // An older page after its newer events: the message's state already has them,
        // so the events in the page (older than that state) are not applied again.
        let latest = ChatMessage {
            reactions: vec![palaver_protocol::Reaction { emoji: "🎉".into(), by: vec![user("Cy")] }],
            edited: true,
            ..msg(1, "a", "v3")
        };
        let mut t = Timeline::default();
        t.joined(
            vec![react(60, "u", "Bob", 1, "👍", false), change(61, "e3", MessageKind::Edit, 1, "v3")],
            false,
            true,
        );
        t.older(
            vec![
                latest,
                react(2, "r1", "Bob", 1, "👍", true),
                change(3, "e2", MessageKind::Edit, 1, "v2"),
                react(4, "r2", "Cy", 1, "🎉", true),
            ],
            true,
        );
        assert_eq!(counts(&t, 1), [("🎉".into(), 1)], "Bob took his back at 60");
        assert_eq!(texts(&t), ["v3"], "not the older edit in the page");

        // A resume that replays what was missed: a reaction, an edit, a delete.
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "one"), msg(2, "b", "two")], true, false);
        t.joined(
            vec![
                react(3, "r", "Bob", 1, "👍", true),
                change(4, "e", MessageKind::Edit, 1, "one!"),
                change(5, "d", MessageKind::Delete, 2, ""),
            ],
            true,
            false,
        );
        assert_eq!((texts(&t), counts(&t, 1)), (vec!["one!", ""], vec![("👍".into(), 1)]));
        assert!(t.message(2).unwrap().deleted);
    }

    #[test]
    fn replies_follow_their_original_and_a_jump_leaves_a_gap_to_fill() {
        let quote = |text: &str, deleted| Some(Quote::of("Ann", text, deleted));
        let reply = |seq, i, target| ChatMessage {
            target: Some(target),
            quote: quote("question", false),
            author: user("Bob"),
            ..msg(seq, i, "answer")
        };
        // The original is far back: the reply's quote still follows its edit and delete.
        let mut t = Timeline::default();
        t.joined(vec![reply(100, "r", 5)], false, true);
        t.confirm(change(101, "e", MessageKind::Edit, 5, "question, edited"));
        assert_eq!(t.message(100).unwrap().quote, quote("question, edited", false));
        t.confirm(change(102, "d", MessageKind::Delete, 5, ""));
        assert_eq!(t.message(100).unwrap().quote, quote("", true));
        // Jumping to it loads the page around it, leaving a gap before the rest.
        t.around((1..=30).map(|n| msg(n, &format!("m{n}"), "old")).collect(), false);
        let gaps: Vec<_> = t
            .rows(&|_| 0, 0, None)
            .into_iter()
            .filter_map(|r| if let Row::Gap(after) = r { Some(after) } else { None })
            .collect();
        assert_eq!(gaps, [30]);
        assert!(!t.has_older);
        assert_eq!(t.last_seq(), Some(102), "resuming still starts after the newest");
        // Filling it: the page from just after the gap.
        assert_eq!(Timeline::gap_fill(30) - HISTORY_PAGE as Seq / 2, 31);
        t.around((31..=99).map(|n| msg(n, &format!("m{n}"), "mid")).collect(), true);
        assert!(t.rows(&|_| 0, 0, None).iter().all(|r| !matches!(r, Row::Gap(_))));
        // My reply shows its quote at once.
        t.push_reply(id("mine"), Some(user("Ann")), "me too".into(), 31);
        assert_eq!(t.entries().last().unwrap().quote, Some(Quote::of("Ann", "mid", false)));
    }

    #[test]
    fn my_pending_edit_goes_like_a_post_and_shows_when_stored() {
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "typo")], true, false);
        assert_eq!(t.last_editable(&user("Ann")).map(|e| e.seq), Some(Some(1)));
        assert!(t.last_editable(&user("Bob")).is_none(), "only my own");
        t.push_pending_kind(id("e"), Some(user("Ann")), MessageKind::Edit, Some(1), "fixed".into());
        assert_eq!(texts(&t), ["typo"], "not a line of its own");
        assert_eq!(t.pending().count(), 1, "it goes out as posts do");
        t.confirm(change(2, "e", MessageKind::Edit, 1, "fixed"));
        assert_eq!((texts(&t), t.pending().count()), (vec!["fixed"], 0));
        // A refused one is dropped: the message stays as it was.
        t.push_pending_kind(id("d"), Some(user("Ann")), MessageKind::Delete, Some(1), String::new());
        t.failed(&id("d"), ErrorReason::NotYours);
        assert_eq!((texts(&t), t.pending().count()), (vec!["fixed"], 0));
    }

    #[test]
    fn own_message_is_pending_then_sent_whichever_comes_first() {
        for ack_first in [true, false] {
            let mut t = Timeline::default();
            t.joined(vec![msg(1, "o", "old")], true, false);
            t.push_pending(id("m"), Some(user("Ann")), "mine".into());
            assert_eq!(t.pending().count(), 1);
            if ack_first {
                t.ack(&id("m"), 2);
                t.confirm(msg(2, "m", "mine"));
            } else {
                t.confirm(msg(2, "m", "mine"));
                t.ack(&id("m"), 2);
            }
            assert_eq!(texts(&t), ["old", "mine"]);
            assert_eq!(t.pending().count(), 0);
            let mine: Vec<_> = t.entries().filter(|e| e.id == id("m")).collect();
            assert_eq!(mine.len(), 1);
            assert_eq!(mine[0].delivery, Some(Delivery::Sent));
            assert_eq!(mine[0].sent_at, Some(2_000));
            assert_eq!(t.last_seq(), Some(2));
        }
    }

    #[test]
    fn pending_messages_stay_below_confirmed_ones() {
        let mut t = Timeline::default();
        t.push_pending(id("m"), None, "mine".into());
        t.confirm(msg(1, "x", "theirs"));
        assert_eq!(texts(&t), ["theirs", "mine"]);
    }

    #[test]
    fn replayed_messages_are_not_shown_twice() {
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "one"), msg(2, "b", "two")], true, false);
        t.joined(vec![msg(2, "b", "two"), msg(3, "c", "three")], true, false);
        assert_eq!(texts(&t), ["one", "two", "three"]);
    }

    #[test]
    fn an_incomplete_join_replaces_what_was_shown() {
        let mut t = Timeline::default();
        t.joined(vec![msg(1, "a", "one")], true, false);
        t.push_pending(id("p"), None, "still mine".into());
        t.joined(vec![msg(90, "z", "ninety")], false, true);
        assert_eq!(texts(&t), ["ninety", "still mine"], "pending messages survive");
        assert!(t.has_older);
    }

    #[test]
    fn older_pages_go_in_front_in_order() {
        let mut t = Timeline::from_page(vec![msg(51, "a", "51"), msg(52, "b", "52")], true);
        assert_eq!(t.first_seq(), Some(51));
        t.older((1..=50).map(|n| msg(n, &format!("m{n}"), &n.to_string())).collect(), false);
        assert_eq!(t.entries().count(), 52);
        assert_eq!(t.entries().map(|e| e.seq.unwrap()).collect::<Vec<_>>(), (1..=52).collect::<Vec<_>>());
        assert!(!t.has_older);
    }

    #[test]
    fn refused_message_fails_and_can_be_retried() {
        let mut t = Timeline::default();
        t.push_pending(id("m"), None, "x".into());
        t.failed(&id("m"), ErrorReason::TextTooLong);
        assert_eq!(t.entries().next().unwrap().delivery, Some(Delivery::Failed(ErrorReason::TextTooLong)));
        assert_eq!(t.pending().count(), 0);
        assert!(t.retry(&id("m")));
        assert_eq!(t.pending().count(), 1);
        assert!(!t.retry(&id("m")), "a pending message is not retried twice");
    }
}
