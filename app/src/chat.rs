//! The chat as one browser sees it: per room, the timeline of messages (confirmed and
//! still pending), who is online and who is typing; the room list; who "I" am; and the
//! connection status. Also the handle components use to act.
//!
//! Each room's `Timeline` is plain data with its rules, in `chat/timeline.rs`, so they
//! are tested without a browser, as are who is who (`chat/people.rs`); `Chat` here
//! wraps the state in signals for the components and the socket task.

mod entry;
mod link;
mod people;
mod timeline;

pub use entry::{Delivery, Entry};
pub use link::{ConnectionStatus, Intent, Results};
pub use people::{
    announce, avatar_colour, initials, typing_names, Me, ANNOUNCED_CHARS, AVATAR_COLOURS, TYPING_SHOWN_MS,
};
pub use timeline::{Row, Timeline, GROUP_MS};

use crate::by_room::ByRoom;
// The components and the socket task read the clock through here too.
pub use crate::clock::now_ms;
use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use leptos::prelude::*;
use palaver_protocol::{
    ClientMsgId, ErrorReason, MessageKind, Quote, RoomAbout, RoomId, RoomUnread, Seq, ServerMsg, User,
};

/// The chat's reactive state, shared by the components (through context) and the
/// socket task that the front end starts.
#[derive(Clone, Copy)]
pub struct Chat {
    pub me: RwSignal<Me>,
    pub room: RwSignal<RoomId>,
    pub timelines: RwSignal<ByRoom<Timeline>>,
    /// Per room, who is online as listed, and (in a crowded room) how many more.
    pub online: RwSignal<ByRoom<(Vec<User>, u32)>>,
    /// Per room, who is typing and until when (browser clock, milliseconds).
    pub typing: RwSignal<ByRoom<Vec<(User, f64)>>>,
    pub status: RwSignal<ConnectionStatus>,
    /// The message of mine being edited in the composer, and its text when editing began.
    pub editing: RwSignal<Option<(Seq, String)>>,
    /// The message the composer answers, and how it quotes it ("author: start").
    pub replying: RwSignal<Option<(Seq, String)>>,
    /// The message jumped to (from a reply's quote), shown highlighted.
    pub highlight: RwSignal<Option<Seq>>,
    /// A message of the room on screen to load once it is joined (the first unread
    /// one, when the room opens there).
    wanted: StoredValue<Option<Seq>>,
    /// The search on screen.
    pub found: RwSignal<Option<Results>>,
    /// My read position and unread counts, per room that has any.
    pub unread: RwSignal<ByRoom<RoomUnread>>,
    /// What rooms are called and what they are for, where an admin said so.
    pub about: RwSignal<ByRoom<RoomAbout>>,
    /// What is typed and not sent, per room.
    drafts: StoredValue<ByRoom<String>>,
    /// The last message from someone else in the room on screen, as a screen reader
    /// should say it ("Bob: see you"): the page's one polite live region reads it.
    pub announcement: RwSignal<String>,
    /// How many files the composer of the room on screen holds for the next message.
    pub attached: RwSignal<usize>,
    intents: StoredValue<UnboundedSender<Intent>>,
}

/// The socket task's end of the chat: the state to update, and the page's intents.
pub struct ChatLink {
    pub chat: Chat,
    pub intents: UnboundedReceiver<Intent>,
}

impl Chat {
    pub fn new() -> (Chat, ChatLink) {
        let (tx, rx) = unbounded();
        let chat = Chat {
            me: RwSignal::new(Me::Unknown),
            room: RwSignal::new(RoomId::lobby()),
            timelines: RwSignal::new(ByRoom::new()),
            online: RwSignal::new(ByRoom::new()),
            typing: RwSignal::new(ByRoom::new()),
            status: RwSignal::new(ConnectionStatus::Connecting),
            editing: RwSignal::new(None),
            replying: RwSignal::new(None),
            highlight: RwSignal::new(None),
            wanted: StoredValue::new(None),
            found: RwSignal::new(None),
            unread: RwSignal::new(ByRoom::new()),
            about: RwSignal::new(ByRoom::new()),
            drafts: StoredValue::new(ByRoom::new()),
            announcement: RwSignal::new(String::new()),
            attached: RwSignal::new(0),
            intents: StoredValue::new(tx),
        };
        (chat, ChatLink { chat, intents: rx })
    }

    /// Me as the server knows me (none until welcomed, or without a name): a copy, the
    /// one way the page reads it (a reading of the signal per use costs page size).
    pub fn my_user(&self, tracked: bool) -> Option<User> {
        let user = |m: &Me| m.user().cloned();
        if tracked {
            self.me.with(user)
        } else {
            self.me.with_untracked(user)
        }
    }

    /// The name I chose, if any (tracked or not).
    pub fn my_name(&self, tracked: bool) -> Option<String> {
        let name = |m: &Me| m.name().map(str::to_owned);
        if tracked {
            self.me.with(name)
        } else {
            self.me.with_untracked(name)
        }
    }

    pub fn intend(&self, intent: Intent) {
        // Fails only when no socket task runs (server rendering): nothing to do then.
        self.intents.with_value(|tx| {
            let _ = tx.unbounded_send(intent);
        });
    }

    /// Runs `f` on a room's timeline, creating it if needed.
    pub fn update_timeline<T>(&self, room: &RoomId, f: impl FnOnce(&mut Timeline) -> T) -> T {
        let mut f = Some(f);
        let mut out = None;
        self.timelines.update(|all| {
            if let Some(f) = f.take() {
                out = Some(f(all.or_default(room.clone())));
            }
        });
        out.expect("update runs its closure")
    }

    /// Shows the message at once as pending and hands it to the socket task; it
    /// answers the message being replied to, if any.
    pub fn send(&self, text: String) {
        let room = self.room.get_untracked();
        let me = self.my_user(false);
        let replying = self.replying.get_untracked().map(|(seq, _)| seq);
        self.replying.set(None);
        self.update_timeline(&room, |t| match replying {
            Some(target) => t.push_reply(new_message_id(), me, text, target),
            None => t.push_pending(new_message_id(), me, text),
        });
        self.intend(Intent::Flush);
    }

    /// The room's unsent text.
    pub fn draft(&self, room: &RoomId) -> String {
        self.drafts.with_value(|d| d.get(room).cloned().unwrap_or_default())
    }

    /// Keeps the room's unsent text (none, once it is sent).
    pub fn keep_draft(&self, room: &RoomId, text: &str) {
        self.drafts.update_value(|d| {
            if text.is_empty() {
                d.remove(room);
            } else if d.get(room).is_none_or(|kept| kept != text) {
                d.insert(room.clone(), text.to_owned());
            }
        });
    }

    /// The composer now answers message `seq` of the room on screen.
    pub fn reply_to(&self, seq: Seq) {
        let room = self.room.get_untracked();
        let quote = self.timelines.with_untracked(|all| {
            let o = all.get(&room)?.message(seq)?;
            let quote = Quote::of(o.author.as_ref().map_or("", |a| a.name.as_str()), &o.text, o.deleted);
            Some(format!("{}: {}", quote.author, quote.text))
        });
        if let Some(quote) = quote {
            self.editing.set(None);
            self.replying.set(Some((seq, quote)));
        }
    }

    /// Adds my reaction `emoji` to message `target` of the room on screen, or takes it back.
    pub fn react(&self, target: Seq, emoji: &str, remove: bool) {
        self.change(if remove { MessageKind::Unreact } else { MessageKind::React }, target, emoji.to_owned());
    }

    /// Shows message `seq` of the room on screen, highlighted: at once if it is loaded,
    /// else once the page around it is.
    pub fn jump(&self, seq: Seq) {
        self.highlight.set(Some(seq));
        self.show(seq);
    }

    /// Loads the page around message `seq` of the room on screen, unless it is loaded
    /// (or the room is not joined yet: its `joined` answer brings it then).
    pub fn show(&self, seq: Seq) {
        let room = self.room.get_untracked();
        let loaded = self.timelines.with_untracked(|all| all.get(&room).map(|t| (t.loaded, t.message(seq).is_some())));
        match loaded {
            Some((true, false)) => self.intend(Intent::Around(seq)),
            Some((true, true)) => {}
            _ => self.wanted.set_value(Some(seq)),
        }
    }

    /// Shows message `seq` of `room` (a search result): moves there, then loads the page
    /// around it once the room is joined, if the newest page does not have it.
    pub fn open_at(&self, room: RoomId, seq: Seq) {
        self.switch_room(room);
        self.highlight.set(Some(seq));
    }

    /// Searches every room for `query` (the hits shown stay until its answer replaces
    /// them).
    pub fn search(&self, query: String) {
        self.found.update(|found| {
            let r = found.get_or_insert_with(Results::default);
            r.query = query.clone();
            r.loading = true;
        });
        self.intend(Intent::Search(query));
    }

    /// Loads the messages missing after number `after`.
    pub fn fill_gap(&self, after: Seq) {
        self.intend(Intent::Around(Timeline::gap_fill(after)));
    }

    /// Starts editing my message `seq` in the composer (the newest one I may edit, with
    /// `None`); false if there is none.
    pub fn start_editing(&self, seq: Option<Seq>) -> bool {
        let room = self.room.get_untracked();
        let Some(me) = self.my_user(false) else { return false };
        let found = self.timelines.with_untracked(|all| {
            let t = all.get(&room)?;
            let entry = match seq {
                Some(seq) => t.message(seq).filter(|e| e.editable_by(&me)),
                None => t.last_editable(&me),
            }?;
            Some((entry.seq?, entry.text.clone()))
        });
        let started = found.is_some();
        self.editing.set(found);
        started
    }

    /// Changes my message `target` in the room on screen to `text`.
    pub fn edit(&self, target: Seq, text: String) {
        self.change(MessageKind::Edit, target, text);
    }

    /// Takes back my message `target` in the room on screen.
    pub fn delete(&self, target: Seq) {
        self.change(MessageKind::Delete, target, String::new());
    }

    fn change(&self, kind: MessageKind, target: Seq, text: String) {
        let room = self.room.get_untracked();
        let me = self.my_user(false);
        self.update_timeline(&room, |t| t.push_pending_kind(new_message_id(), me, kind, Some(target), text));
        self.intend(Intent::Flush);
    }

    pub fn retry(&self, id: ClientMsgId) {
        let room = self.room.get_untracked();
        if self.update_timeline(&room, |t| t.retry(&id)) {
            self.intend(Intent::Flush);
        }
    }

    /// Sets (or changes) this browser's name; the server confirms it.
    pub fn choose_name(&self, name: String) {
        self.me.set(Me::Named { user: self.my_user(false), name });
        self.intend(Intent::Hello);
    }

    pub fn switch_room(&self, room: RoomId) {
        if self.room.get_untracked() != room {
            self.editing.set(None);
            self.replying.set(None);
            self.highlight.set(None);
            self.wanted.set_value(None);
            self.room.set(room);
            self.intend(Intent::SwitchRoom);
        }
    }

    pub fn load_older(&self) {
        let room = self.room.get_untracked();
        let ask = self.update_timeline(&room, |t| {
            let ask = t.has_older && !t.loading_older && t.first_seq().is_some();
            t.loading_older |= ask;
            ask
        });
        if ask {
            self.intend(Intent::LoadOlder);
        }
    }

    /// A room's people as a list names them (everyone, until a `crowd` says otherwise).
    fn listed(&self, room: RoomId, online: Vec<User>) {
        self.online.update(|o| {
            o.insert(room, (online, 0));
        });
    }

    /// Folds one server frame into the state. `now` is the browser clock in ms.
    pub fn apply(&self, msg: ServerMsg, now: f64) {
        match msg {
            ServerMsg::Welcome { user, .. } => self.me.set(Me::Named { name: user.name.clone(), user: Some(user) }),
            ServerMsg::Joined { room, messages, complete, has_older, online } => {
                self.update_timeline(&room, |t| t.joined(messages, complete, has_older));
                // A message opened from elsewhere (a search result), or the first unread
                // one the room opens at, and not in this page. (A room joined again after
                // a reconnect stays where the reader is.)
                if self.room.with_untracked(|r| r == &room) {
                    let wanted = self.wanted.try_update_value(Option::take).flatten();
                    if let Some(seq) = self.highlight.get_untracked().or(wanted) {
                        self.show(seq);
                    }
                }
                self.listed(room, online);
            }
            ServerMsg::Message(m) => {
                let room = m.room.clone();
                let author = m.author.id.clone();
                // Their message ends their "typing"; only then does the typing line change.
                let was_typing = self
                    .typing
                    .with_untracked(|t| t.get(&room).is_some_and(|list| list.iter().any(|(u, _)| u.id == author)));
                if was_typing {
                    self.typing.update(|t| {
                        if let Some(list) = t.get_mut(&room) {
                            list.retain(|(u, _)| u.id != author);
                        }
                    });
                }
                let mine = self.my_user(false).is_some_and(|me| me.id == author);
                if m.kind == MessageKind::Text && !mine && self.room.with_untracked(|r| r == &room) {
                    self.announcement.set(announce(&m.author.name, &m.text));
                }
                self.update_timeline(&room, |t| t.confirm(m));
            }
            ServerMsg::Ack { room, id, seq } => self.update_timeline(&room, |t| t.ack(&id, seq)),
            ServerMsg::Older { room, messages, has_older } => {
                self.update_timeline(&room, |t| t.older(messages, has_older))
            }
            ServerMsg::Around { room, messages, has_older, .. } => {
                self.update_timeline(&room, |t| t.around(messages, has_older))
            }
            // The answer to the search asked last (an older one is of no use now).
            ServerMsg::Results { query, hits, next } => self.found.update(|found| {
                if let Some(r) = found.as_mut().filter(|r| r.query == query && r.loading) {
                    *r = Results::found(query, hits, next);
                }
            }),
            ServerMsg::Preview { room, seq, preview } => self.update_timeline(&room, |t| t.preview(seq, preview)),
            ServerMsg::Presence { room, online } => self.listed(room, online),
            ServerMsg::Crowd { room, more } => self.online.update(|o| o.or_default(room).1 = more),
            ServerMsg::Arrived { room, user } => self.online.update(|o| {
                let list = &mut o.or_default(room).0;
                list.retain(|u| u.id != user.id);
                let at = list.partition_point(|u| (&u.name, &u.id) < (&user.name, &user.id));
                list.insert(at, user);
            }),
            ServerMsg::Departed { room, user } => self.online.update(|o| {
                if let Some((list, _)) = o.get_mut(&room) {
                    list.retain(|u| u.id != user.id);
                }
            }),
            ServerMsg::Typing { room, user } => {
                if self.my_user(false).is_some_and(|me| me.id == user.id) {
                    return;
                }
                self.typing.update(|t| {
                    let list = t.or_default(room);
                    list.retain(|(u, _)| u.id != user.id);
                    list.push((user, now + TYPING_SHOWN_MS));
                });
            }
            // The busiest rooms: the page lists mine (`unread`), and offers the directory.
            ServerMsg::Rooms { .. } => {}
            ServerMsg::Unread { rooms, all, left } => self.unread.update(|unread| {
                if all {
                    unread.clear();
                }
                for room in &left {
                    unread.remove(room);
                }
                for r in rooms {
                    unread.insert(r.room.clone(), r);
                }
            }),
            ServerMsg::About { rooms } => self.about.update(|about| {
                for r in rooms {
                    about.insert(r.room.clone(), r);
                }
            }),
            // Shown on the desktop by the socket task (`notify::tell`).
            ServerMsg::Notification(_) => {}
            // Too fast: it stays pending, and the socket task sends it again shortly.
            ServerMsg::Error { reason: ErrorReason::RateLimited, .. } => {}
            ServerMsg::Error { reason, id: Some(id), room: Some(room), .. } => {
                self.update_timeline(&room, |t| t.failed(&id, reason))
            }
            // The room may not be opened (or no longer: I was taken out of it): what it
            // showed goes, and so does the page, to the lobby.
            ServerMsg::Error { reason: ErrorReason::NotAllowed, room: Some(room), .. } => {
                self.timelines.update(|t| {
                    t.remove(&room);
                });
                #[cfg(feature = "hydrate")]
                if self.room.with_untracked(|r| r == &room) {
                    crate::location::go_to_from_outside("/");
                }
            }
            ServerMsg::Error { .. } => {}
        }
    }
}

/// A fresh id for an outgoing message: time plus randomness, unique per browser.
pub fn new_message_id() -> ClientMsgId {
    #[cfg(feature = "hydrate")]
    let (now, noise) = (js_sys::Date::now() as u64, (js_sys::Math::random() * 4_294_967_296.0) as u64);
    #[cfg(not(feature = "hydrate"))]
    let (now, noise) = {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        (now, COUNTER.fetch_add(1, Ordering::Relaxed))
    };
    ClientMsgId::fresh(now, noise)
}

#[cfg(test)]
mod tests {
    use super::timeline::tests::{msg, user};
    use super::*;
    use palaver_protocol::{ChatMessage, SearchHit, UserId};

    #[test]
    fn messages_from_others_in_the_room_on_screen_are_announced_briefly() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let (chat, _link) = Chat::new();
        chat.me.set(Me::Named { name: "Ann".into(), user: Some(user("Ann")) });
        let from = |who: &str, room: &str, text: &str| {
            ServerMsg::Message(ChatMessage {
                author: user(who),
                room: RoomId::parse(room).unwrap(),
                ..msg(1, "x", text)
            })
        };
        chat.apply(from("Bob", "lobby", "see\n  you"), 0.0);
        assert_eq!(chat.announcement.get_untracked(), "Bob: see you");
        chat.apply(from("Ann", "lobby", "mine"), 0.0);
        chat.apply(from("Cy", "elsewhere", "another room"), 0.0);
        assert_eq!(chat.announcement.get_untracked(), "Bob: see you", "not my own, nor another room's");
        assert_eq!(announce("Bob", &"x".repeat(500)).chars().count(), "Bob: ".len() + ANNOUNCED_CHARS + 1);
    }

    #[test]
    fn presence_changes_fold_into_the_list_in_name_order() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let (chat, _link) = Chat::new();
        let lobby = RoomId::lobby;
        let names = || {
            chat.online
                .with_untracked(|o| o.get(&lobby()).unwrap().0.iter().map(|u| u.name.clone()).collect::<Vec<_>>())
        };
        chat.apply(ServerMsg::Presence { room: lobby(), online: vec![user("Bob")] }, 0.0);
        chat.apply(ServerMsg::Arrived { room: lobby(), user: user("Ann") }, 0.0);
        chat.apply(ServerMsg::Arrived { room: lobby(), user: user("Cy") }, 0.0);
        chat.apply(ServerMsg::Arrived { room: lobby(), user: user("Ann") }, 0.0);
        assert_eq!(names(), ["Ann", "Bob", "Cy"], "an arrival already listed is not listed twice");
        let renamed = User { id: UserId("cy".into()), name: "Al".into(), handle: None };
        chat.apply(ServerMsg::Arrived { room: lobby(), user: renamed }, 0.0);
        assert_eq!(names(), ["Al", "Ann", "Bob"], "a rename replaces the old name");
        chat.apply(ServerMsg::Departed { room: lobby(), user: user("Bob") }, 0.0);
        chat.apply(ServerMsg::Departed { room: lobby(), user: user("Bob") }, 0.0);
        assert_eq!(names(), ["Al", "Ann"]);
        // A crowded room: the list, then how many more; a list alone is everyone.
        let more = || chat.online.with_untracked(|o| o.get(&lobby()).map(|(_, more)| *more));
        chat.apply(ServerMsg::Presence { room: lobby(), online: vec![user("Bob")] }, 0.0);
        chat.apply(ServerMsg::Crowd { room: lobby(), more: 4_000 }, 0.0);
        assert_eq!((names(), more()), (vec!["Bob".to_owned()], Some(4_000)));
        chat.apply(ServerMsg::Presence { room: lobby(), online: vec![user("Bob"), user("Cy")] }, 0.0);
        assert_eq!(more(), Some(0));
    }

    #[test]
    fn a_search_shows_the_answer_to_what_was_asked_last() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let (chat, _link) = Chat::new();
        let hit = |text: &str| SearchHit { message: msg(1, "a", text), marks: vec![[0, 1]] };
        let answer =
            |query: &str, text: &str| ServerMsg::Results { query: query.into(), hits: vec![hit(text)], next: None };
        chat.search("ca".into());
        chat.search("cafe".into());
        // The answer to "ca" comes after "cafe" was asked: not shown.
        chat.apply(answer("ca", "cat"), 0.0);
        let shown = || chat.found.get_untracked().unwrap();
        assert!(shown().loading && shown().hits.is_empty());
        chat.apply(answer("cafe", "café"), 0.0);
        assert!(!shown().loading);
        assert_eq!(shown().hits, [hit("café")]);
        // A new query keeps the hits on screen until its answer.
        chat.search("cafes".into());
        assert!(shown().loading && shown().hits == [hit("café")]);
    }

    #[test]
    fn a_room_left_for_good_goes_off_my_list() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let (chat, _link) = Chat::new();
        let room = |name: &str| RoomUnread {
            room: RoomId::parse(name).unwrap(),
            read: Some(1),
            unread: 0,
            mentions: 0,
            first: None,
            level: Default::default(),
        };
        chat.apply(ServerMsg::Unread { rooms: vec![room("design"), room("ops")], all: true, left: Vec::new() }, 0.0);
        let left = vec![RoomId::parse("design").unwrap()];
        chat.apply(ServerMsg::Unread { rooms: Vec::new(), all: false, left }, 0.0);
        let mine: Vec<String> = chat.unread.with_untracked(|u| u.keys().map(|r| r.to_string()).collect());
        assert_eq!(mine, ["ops"]);
    }

    #[test]
    fn a_room_opens_at_its_first_unread_message_but_a_rejoin_keeps_the_readers_place() {
        let owner = leptos::prelude::Owner::new();
        owner.set();
        let lobby = RoomId::lobby;
        let unread = ServerMsg::Unread {
            rooms: vec![RoomUnread {
                room: lobby(),
                read: Some(5),
                unread: 520,
                mentions: 0,
                first: Some(6),
                level: Default::default(),
            }],
            all: true,
            left: Vec::new(),
        };
        let joined = |complete| ServerMsg::Joined {
            room: lobby(),
            messages: (476..=525).map(|n| msg(n, &n.to_string(), "flood")).collect(),
            complete,
            has_older: true,
            online: Vec::new(),
        };
        let arounds = |link: &mut ChatLink| {
            std::iter::from_fn(|| link.intents.try_recv().ok())
                .filter(|i| matches!(i, Intent::Around(_)))
                .collect::<Vec<_>>()
        };
        // Opening: the list asks for the first unread one before the room is joined.
        let (chat, mut link) = Chat::new();
        chat.apply(unread.clone(), 0.0);
        chat.show(6);
        assert_eq!(arounds(&mut link), [], "not before the room is joined");
        chat.apply(joined(true), 0.0);
        assert_eq!(arounds(&mut link), [Intent::Around(6)]);
        // Back after a long time offline: the newest page replaces what was shown, and
        // nothing loads the first unread one beside it (a page with a hole in it).
        chat.apply(joined(false), 0.0);
        assert_eq!(arounds(&mut link), []);
        // The same, in a tab that had read the room before the unread counts came.
        let (chat, mut link) = Chat::new();
        chat.apply(joined(true), 0.0);
        chat.apply(unread, 0.0);
        chat.apply(joined(false), 0.0);
        assert_eq!(arounds(&mut link), []);
    }

    #[test]
    fn message_ids_differ() {
        assert_ne!(new_message_id(), new_message_id());
    }
}
