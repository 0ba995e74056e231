//! The browser's chat session as plain state: what to say on each connection (hello,
//! join with resume, pending messages), when to hold back (rate limits), what to ask
//! again (refused joins and leaves), and how long to wait before reconnecting.
//!
//! It reads the page ([`Page`]) and the server's frames and answers with [`Action`]s;
//! the front end does the I/O (socket, timers, storage), so every rule here is tested
//! without a browser.

use crate::by_room::ByRoom;
use crate::chat::{ConnectionStatus, Intent, Timeline};
use palaver_protocol::{backoff, ClientMsg, ClientMsgId, ErrorReason, Hello, MessageKind, RoomId, Seq, ServerMsg};

/// Where the browser keeps the person's token and name (`localStorage`).
pub const TOKEN_KEY: &str = "palaver.token";
pub const NAME_KEY: &str = "palaver.name";

/// How long to hold back when the server says "slow down" without saying how long.
const DEFAULT_RETRY_AFTER_MS: u64 = 1_000;
/// Timers for the server's waits fire this much later, so the server surely takes it.
const RETRY_MARGIN_MS: f64 = 5.0;

/// What the session reads of the page and the browser when it decides.
pub struct Page<'a> {
    /// The room on screen.
    pub room: &'a RoomId,
    pub timelines: &'a ByRoom<Timeline>,
    /// The name chosen on this browser, if any.
    pub name: Option<&'a str>,
    /// The session token an earlier `welcome` left in storage; read only when a hello is
    /// due, since another tab may have replaced it meanwhile.
    pub token: &'a dyn Fn() -> Option<String>,
    /// The browser clock, in milliseconds since the Unix epoch.
    pub now_ms: f64,
}

/// What the front end is to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this frame on the open connection.
    Send(ClientMsg),
    /// Show this connection status.
    Status(ConnectionStatus),
    /// Keep the token and name the server welcomed us with, for the next visit.
    Remember { token: String, name: String },
    /// The stored token is no good (another server signed it): drop it.
    ForgetToken,
    /// At `at_ms`, hand this intent to the session, whichever connection is open then.
    Wake { at_ms: f64, intent: Intent },
    /// Open a new connection at `at_ms`, or sooner if the browser comes back online or
    /// the tab is shown again.
    Reconnect { at_ms: f64 },
}

/// One browser tab's session with the server, across connections.
#[derive(Debug, Default)]
pub struct Session {
    /// Connections in a row that closed before joining a room: how long to back off.
    failures: u32,
    /// The open connection, if any.
    connection: Option<Connection>,
}

/// One connection's state.
#[derive(Debug, Default)]
struct Connection {
    welcomed: bool,
    /// No name yet: the room is watched (shown live, listed nowhere) until one is chosen.
    watching: bool,
    /// A new name was said on this connection and not yet welcomed: messages wait, so
    /// that none goes out under the name being left.
    renaming: bool,
    /// The room this connection has asked to join.
    joined: Option<RoomId>,
    /// Whether the server has answered that join: only then is there a room to send to.
    ready: bool,
    /// Whether this connection ever got that far.
    was_ready: bool,
    /// What went out on this connection; after a reconnect everything pending goes again.
    sent_here: Vec<ClientMsgId>,
    /// After "slow down", nothing more is sent until then (ms since the epoch), so a later
    /// message cannot overtake the refused one: the page's messages keep their order.
    held_until: f64,
    /// Rooms the server has not let us leave yet (switching rooms too fast): left again
    /// once it will take it, so nobody there sees us as still present.
    not_left: Vec<RoomId>,
    /// A retry of refused joins and leaves is waiting for the server's wait to pass.
    rejoin_due: bool,
}

impl Session {
    /// A new connection is open: introduce ourselves, if we have a name (or a token);
    /// if not, watch the room on screen until one is chosen.
    pub fn opened(&mut self, page: &Page) -> Vec<Action> {
        let mut c = Connection::default();
        let mut out = hello((page.token)(), page.name);
        if out.is_empty() {
            c.watching = true;
            out = c.join(page);
        }
        self.connection = Some(c);
        out
    }

    /// The connection closed (or never opened): say so, and when to try again. The wait
    /// starts over once a connection got as far as joining a room.
    pub fn closed(&mut self, now_ms: f64, random: f64) -> Vec<Action> {
        if self.connection.take().is_some_and(|c| c.was_ready) {
            self.failures = 0;
        }
        let at_ms = now_ms + backoff(self.failures, random);
        self.failures = self.failures.saturating_add(1);
        vec![Action::Status(ConnectionStatus::Reconnecting), Action::Reconnect { at_ms }]
    }

    /// A frame from the server, once it is folded into the page (a `joined` replay may
    /// have confirmed messages that were pending, which then do not go again).
    pub fn received(&mut self, msg: &ServerMsg, page: &Page) -> Vec<Action> {
        let Some(c) = self.connection.as_mut() else { return Vec::new() };
        let mut out = Vec::new();
        match msg {
            ServerMsg::Welcome { user, token } => {
                out.push(Action::Remember { token: token.clone(), name: user.name.clone() });
                if !c.welcomed {
                    c.welcomed = true;
                    // My unread counts, and their changes from now on.
                    out.push(Action::Send(ClientMsg::Unread));
                    // A watcher is already in the room: the server lists it there now.
                    if std::mem::take(&mut c.watching) && c.ready {
                        out.extend(c.pending(page));
                    } else {
                        out.extend(c.join(page));
                    }
                } else if std::mem::take(&mut c.renaming) {
                    out.extend(c.pending(page));
                }
            }
            ServerMsg::Joined { room, .. } => {
                if c.joined.as_ref() == Some(room) {
                    c.ready = true;
                    c.was_ready = true;
                    out.push(Action::Status(ConnectionStatus::Connected));
                }
                out.extend(c.pending(page));
            }
            ServerMsg::Error { reason: ErrorReason::BadToken, .. } => {
                // Signed by another server (or its secret changed): start over by name.
                out.push(Action::ForgetToken);
                out.extend(hello(None, page.name));
            }
            ServerMsg::Error { reason: ErrorReason::RateLimited, id: Some(id), retry_after_ms, .. } => {
                // Sent too fast: still pending. Hold everything back until the server will
                // take it, then send what is pending, in order.
                c.sent_here.retain(|sent| sent != id);
                let wait = retry_after_ms.unwrap_or(DEFAULT_RETRY_AFTER_MS) as f64;
                c.held_until = c.held_until.max(page.now_ms + wait);
                out.push(Action::Wake { at_ms: page.now_ms + wait + RETRY_MARGIN_MS, intent: Intent::Flush });
            }
            ServerMsg::Error {
                reason: ErrorReason::RateLimited, id: None, room: Some(room), retry_after_ms, ..
            } => {
                // A join or leave refused for now (rooms switched too fast), or a page of
                // the room's history (pages asked for too fast): join again once the
                // server will take it, which also lets the page ask for older ones again.
                if c.joined.as_ref() != Some(room) && !c.not_left.contains(room) {
                    c.not_left.push(room.clone());
                }
                c.ready &= c.joined.as_ref() != Some(room);
                // One retry for all of them: the server refuses everything until then.
                if !c.rejoin_due {
                    c.rejoin_due = true;
                    let wait = retry_after_ms.unwrap_or(DEFAULT_RETRY_AFTER_MS) as f64;
                    out.push(Action::Wake { at_ms: page.now_ms + wait + RETRY_MARGIN_MS, intent: Intent::Rejoin });
                }
            }
            ServerMsg::Error { reason: ErrorReason::RateLimited, id: None, room: None, retry_after_ms, .. } => {
                // A rename refused for now (it came too soon after switching rooms): say it
                // again once the server will take it; messages wait for its welcome.
                let wait = retry_after_ms.unwrap_or(DEFAULT_RETRY_AFTER_MS) as f64;
                out.push(Action::Wake { at_ms: page.now_ms + wait + RETRY_MARGIN_MS, intent: Intent::Hello });
            }
            ServerMsg::Error { id: None, room: None, .. } if c.renaming => {
                // The new name was refused for good (the page checks names first): the
                // messages go under the name the server knows.
                c.renaming = false;
                out.extend(c.pending(page));
            }
            ServerMsg::Error { id: Some(id), .. } => {
                // Refused: a retry of it must go out again.
                c.sent_here.retain(|sent| sent != id);
            }
            _ => {}
        }
        out
    }

    /// Something the page (or one of our own timers) wants done.
    pub fn intended(&mut self, intent: &Intent, page: &Page) -> Vec<Action> {
        let Some(c) = self.connection.as_mut() else { return Vec::new() };
        match intent {
            Intent::Hello => {
                let out = hello((page.token)(), page.name);
                c.renaming |= c.welcomed && !out.is_empty();
                out
            }
            Intent::SwitchRoom if c.welcomed || c.watching => c.join(page),
            Intent::Rejoin => {
                c.rejoin_due = false;
                // The room on screen first, then the rooms still to leave.
                let mut out = if (c.welcomed || c.watching) && !c.ready { c.join(page) } else { Vec::new() };
                let joined = c.joined.clone();
                out.extend(
                    std::mem::take(&mut c.not_left)
                        .into_iter()
                        .filter(|room| Some(room) != joined.as_ref())
                        .map(|room| Action::Send(ClientMsg::Leave { room })),
                );
                out
            }
            // Any connection may search, in a room or not.
            Intent::Search(query) => vec![Action::Send(ClientMsg::Search { query: query.clone(), before: None })],
            // Reading the room joined, or a whole room marked read from the list (up to
            // its newest, `Seq::MAX`); a read of a room left since is stale.
            Intent::Read(room, seq) if c.welcomed && (c.joined.as_ref() == Some(room) || *seq == Seq::MAX) => {
                vec![Action::Send(ClientMsg::Read { room: room.clone(), seq: *seq })]
            }
            Intent::Notify(room, level) if c.welcomed => {
                vec![Action::Send(ClientMsg::Notify { room: room.clone(), level: *level })]
            }
            Intent::Forget(room) if c.welcomed => vec![Action::Send(ClientMsg::Forget { room: room.clone() })],
            Intent::Read(..) | Intent::Notify(..) | Intent::Forget(..) => Vec::new(),
            _ if !c.ready => Vec::new(),
            Intent::Flush => c.pending(page),
            Intent::SwitchRoom => Vec::new(),
            Intent::Typing => vec![Action::Send(ClientMsg::Typing { room: page.room.clone() })],
            Intent::LoadOlder => match page.timelines.get(page.room).and_then(Timeline::first_seq) {
                Some(before) => vec![Action::Send(ClientMsg::History { room: page.room.clone(), before })],
                None => Vec::new(),
            },
            Intent::Around(seq) => vec![Action::Send(ClientMsg::Around { room: page.room.clone(), seq: *seq })],
            Intent::HidePreview(seq) => {
                vec![Action::Send(ClientMsg::HidePreview { room: page.room.clone(), seq: *seq })]
            }
        }
    }
}

impl Connection {
    /// Joins the room on screen (leaving the one joined before), resuming after the last
    /// message of a timeline the server has sent.
    fn join(&mut self, page: &Page) -> Vec<Action> {
        let room = page.room.clone();
        let mut out = Vec::new();
        if let Some(old) = self.joined.replace(room.clone()) {
            if old != room {
                out.push(Action::Send(ClientMsg::Leave { room: old }));
            }
        }
        self.ready = false;
        let after = page.timelines.get(&room).filter(|t| t.loaded).and_then(Timeline::last_seq);
        out.push(Action::Send(ClientMsg::Join { room, after }));
        out
    }

    /// The joined room's pending messages this connection has not sent.
    fn pending(&mut self, page: &Page) -> Vec<Action> {
        let Some(room) = self.joined.as_ref().filter(|_| self.ready && !self.renaming) else { return Vec::new() };
        if page.now_ms < self.held_until {
            // The timer set with the hold sends them.
            return Vec::new();
        }
        let Some(timeline) = page.timelines.get(room) else { return Vec::new() };
        timeline
            .pending()
            .filter(|e| {
                let new = !self.sent_here.contains(&e.id);
                if new {
                    self.sent_here.push(e.id.clone());
                }
                new
            })
            .map(|e| {
                let (room, id, text) = (room.clone(), e.id.clone(), e.text.clone());
                Action::Send(match (e.kind, e.target) {
                    (MessageKind::Edit, Some(target)) => ClientMsg::Edit { room, id, target, text },
                    (MessageKind::Delete, Some(target)) => ClientMsg::Delete { room, id, target },
                    (MessageKind::React | MessageKind::Unreact, Some(target)) => {
                        ClientMsg::React { room, id, target, emoji: text, remove: e.kind == MessageKind::Unreact }
                    }
                    _ => {
                        let files = e.files.iter().map(|f| f.id.clone()).collect();
                        ClientMsg::Send { room, id, text, reply_to: e.target, files }
                    }
                })
            })
            .collect()
    }
}

/// Introduces us by what we know: a token, a name, or both (nothing if neither).
fn hello(token: Option<String>, name: Option<&str>) -> Vec<Action> {
    Hello::from_parts(token, name.map(str::to_owned)).map(|h| Action::Send(ClientMsg::Hello(h))).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use palaver_protocol::{ChatMessage, MessageKind, Seq, User, UserId};

    fn room(name: &str) -> RoomId {
        RoomId::parse(name).unwrap()
    }

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    fn ann() -> User {
        User { id: UserId("u1".into()), name: "Ann".into(), handle: None }
    }

    fn message(room: &RoomId, seq: Seq, msg_id: &str) -> ChatMessage {
        ChatMessage {
            room: room.clone(),
            seq,
            id: id(msg_id),
            author: ann(),
            kind: MessageKind::Text,
            text: msg_id.into(),
            sent_at: seq as i64,
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

    fn welcome() -> ServerMsg {
        ServerMsg::Welcome { user: ann(), token: "tok".into() }
    }

    fn joined(room: &RoomId, messages: Vec<ChatMessage>) -> ServerMsg {
        ServerMsg::Joined { room: room.clone(), messages, complete: true, has_older: false, online: vec![ann()] }
    }

    fn refused(reason: ErrorReason, room: &RoomId, msg_id: Option<&str>, retry_after_ms: Option<u64>) -> ServerMsg {
        ServerMsg::Error { reason, detail: "no".into(), id: msg_id.map(id), room: Some(room.clone()), retry_after_ms }
    }

    fn send(room: &RoomId, msg_id: &str) -> Action {
        Action::Send(ClientMsg::Send {
            room: room.clone(),
            id: id(msg_id),
            text: msg_id.into(),
            reply_to: None,
            files: Vec::new(),
        })
    }

    fn join(room: &RoomId, after: Option<Seq>) -> Action {
        Action::Send(ClientMsg::Join { room: room.clone(), after })
    }

    fn leave(room: &RoomId) -> Action {
        Action::Send(ClientMsg::Leave { room: room.clone() })
    }

    fn say(hello: Hello) -> Action {
        Action::Send(ClientMsg::Hello(hello))
    }

    /// One tab: the session, and the page and storage it reads.
    struct Tab {
        session: Session,
        room: RoomId,
        timelines: ByRoom<Timeline>,
        name: Option<String>,
        token: Option<String>,
        now: f64,
    }

    impl Tab {
        fn new(name: Option<&str>, token: Option<&str>) -> Tab {
            Tab {
                session: Session::default(),
                room: RoomId::lobby(),
                timelines: ByRoom::new(),
                name: name.map(str::to_owned),
                token: token.map(str::to_owned),
                now: 1_000.0,
            }
        }

        fn ann() -> Tab {
            Tab::new(Some("Ann"), None)
        }

        fn with_page(&mut self, decide: impl FnOnce(&mut Session, &Page) -> Vec<Action>) -> Vec<Action> {
            let token = self.token.clone();
            let stored = move || token.clone();
            let page = Page {
                room: &self.room,
                timelines: &self.timelines,
                name: self.name.as_deref(),
                token: &stored,
                now_ms: self.now,
            };
            decide(&mut self.session, &page)
        }

        fn open(&mut self) -> Vec<Action> {
            self.with_page(|s, page| s.opened(page))
        }

        fn close(&mut self, random: f64) -> Vec<Action> {
            self.session.closed(self.now, random)
        }

        /// A server frame, folded into the timelines first as the page does.
        fn hear(&mut self, msg: ServerMsg) -> Vec<Action> {
            match &msg {
                ServerMsg::Joined { room, messages, complete, has_older, .. } => {
                    self.timelines.or_default(room.clone()).joined(messages.clone(), *complete, *has_older)
                }
                ServerMsg::Ack { room, id, seq } => self.timelines.or_default(room.clone()).ack(id, *seq),
                _ => {}
            }
            self.with_page(|s, page| s.received(&msg, page))
        }

        fn intend(&mut self, intent: Intent) -> Vec<Action> {
            self.with_page(|s, page| s.intended(&intent, page))
        }

        fn switch_to(&mut self, to: &RoomId) -> Vec<Action> {
            self.room = to.clone();
            self.intend(Intent::SwitchRoom)
        }

        /// Typed into the room on screen: pending until the server stores it.
        fn type_message(&mut self, msg_id: &str) {
            self.timelines.or_default(self.room.clone()).push_pending(id(msg_id), None, msg_id.into());
        }

        /// Opened, welcomed and in the room on screen.
        fn connect(&mut self) {
            self.open();
            self.hear(welcome());
            let room = self.room.clone();
            self.hear(joined(&room, Vec::new()));
        }
    }

    #[test]
    fn reconnect_waits_grow_until_a_connection_joins_a_room() {
        let mut tab = Tab::ann();
        // The socket could not even be opened.
        assert_eq!(
            tab.close(0.0),
            [Action::Status(ConnectionStatus::Reconnecting), Action::Reconnect { at_ms: 1_125.0 }]
        );
        tab.open();
        assert_eq!(tab.close(0.0)[1], Action::Reconnect { at_ms: 1_250.0 });
        tab.open();
        tab.hear(welcome());
        assert_eq!(tab.close(0.0)[1], Action::Reconnect { at_ms: 1_500.0 }, "welcomed is not yet joined");
        tab.connect();
        assert_eq!(tab.close(0.0)[1], Action::Reconnect { at_ms: 1_125.0 }, "a joined room starts the waits over");
        assert_eq!(tab.close(1.0)[1], Action::Reconnect { at_ms: 1_500.0 });
        assert_eq!(tab.intend(Intent::Typing), [], "nothing is sent while closed");
    }

    #[test]
    fn hello_names_us_by_token_name_or_both() {
        let rename = Hello::Rename { token: "tok".into(), name: "Ann".into() };
        assert_eq!(Tab::new(Some("Ann"), Some("tok")).open(), [say(rename)]);
        assert_eq!(Tab::new(None, Some("tok")).open(), [say(Hello::Token("tok".into()))]);
        assert_eq!(Tab::new(Some("Ann"), None).open(), [say(Hello::Name("Ann".into()))]);
        let lobby = RoomId::lobby();
        let watch = Action::Send(ClientMsg::Join { room: lobby.clone(), after: None });
        assert_eq!(
            Tab::new(None, None).open(),
            [watch],
            "nobody to introduce: the room is watched until a name is chosen"
        );

        let mut tab = Tab::new(None, None);
        tab.open();
        tab.name = Some("Bo".into());
        tab.token = Some("from-another-tab".into());
        let rename = Hello::Rename { token: "from-another-tab".into(), name: "Bo".into() };
        assert_eq!(tab.intend(Intent::Hello), [say(rename)], "the stored token is read when saying hello");
    }

    #[test]
    fn a_visitor_watches_the_room_and_once_welcomed_posts_there_without_joining_again() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::new(None, None);
        tab.open();
        let joined = ServerMsg::Joined {
            room: lobby.clone(),
            messages: vec![],
            complete: true,
            has_older: false,
            online: vec![],
        };
        assert_eq!(tab.hear(joined), [Action::Status(ConnectionStatus::Connected)], "live, not connecting");
        tab.name = Some("Vi".into());
        assert_eq!(tab.intend(Intent::Hello), [say(Hello::Name("Vi".into()))]);
        let user = User { id: UserId("vi".into()), name: "Vi".into(), handle: None };
        let welcome = ServerMsg::Welcome { user: user.clone(), token: "t".into() };
        assert_eq!(
            tab.hear(welcome),
            [Action::Remember { token: "t".into(), name: "Vi".into() }, Action::Send(ClientMsg::Unread)],
            "no second join"
        );
        tab.timelines.or_default(lobby.clone()).push_pending(id("m1"), Some(user), "m1".into());
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "m1")]);
    }

    #[test]
    fn after_welcome_it_joins_the_room_on_screen_resuming_after_its_last_message() {
        let dev = room("dev");
        let mut tab = Tab::ann();
        tab.room = dev.clone();
        tab.timelines.or_default(dev.clone()).joined(
            (1..=7).map(|n| message(&dev, n, &format!("m{n}"))).collect(),
            true,
            false,
        );
        tab.open();
        assert_eq!(
            tab.hear(welcome()),
            [
                Action::Remember { token: "tok".into(), name: "Ann".into() },
                Action::Send(ClientMsg::Unread),
                join(&dev, Some(7))
            ],
            "my unread counts asked for, then the room"
        );
        let renamed = ServerMsg::Welcome { user: User { name: "Bo".into(), ..ann() }, token: "tok2".into() };
        assert_eq!(tab.hear(renamed), [Action::Remember { token: "tok2".into(), name: "Bo".into() }], "joined once");
    }

    #[test]
    fn reading_and_notification_levels_are_told_once_welcomed() {
        let mut tab = Tab::ann();
        tab.open();
        let read = Intent::Read(RoomId::lobby(), 3);
        let level = Intent::Notify(room("dev"), palaver_protocol::Level::Muted);
        assert_eq!(tab.intend(read.clone()), [], "not before the welcome");
        assert_eq!(tab.intend(level.clone()), []);
        tab.hear(welcome());
        assert_eq!(tab.intend(read), [Action::Send(ClientMsg::Read { room: RoomId::lobby(), seq: 3 })]);
        assert_eq!(tab.intend(Intent::Read(room("dev"), 3)), [], "a room left since");
        let all = ClientMsg::Read { room: room("dev"), seq: Seq::MAX };
        assert_eq!(tab.intend(Intent::Read(room("dev"), Seq::MAX)), [Action::Send(all)], "marked read from the list");
        let left = ClientMsg::Forget { room: room("dev") };
        assert_eq!(tab.intend(Intent::Forget(room("dev"))), [Action::Send(left)], "left for good");
        let muted = ClientMsg::Notify { room: room("dev"), level: palaver_protocol::Level::Muted };
        assert_eq!(tab.intend(level), [Action::Send(muted)]);
    }

    #[test]
    fn a_page_the_server_rendered_is_joined_afresh() {
        // Rendered into the page, but not sent on a connection: it may be stale.
        let mut tab = Tab::ann();
        tab.timelines.insert(RoomId::lobby(), Timeline::from_page(vec![message(&RoomId::lobby(), 4, "m4")], true));
        tab.open();
        assert_eq!(tab.hear(welcome())[2], join(&RoomId::lobby(), None));
    }

    #[test]
    fn pending_edits_and_deletes_go_as_their_own_frames_and_again_after_a_reconnect() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        let timeline = tab.timelines.or_default(lobby.clone());
        timeline.push_pending_kind(id("e"), None, MessageKind::Edit, Some(3), "new words".into());
        timeline.push_pending_kind(id("d"), None, MessageKind::Delete, Some(4), String::new());
        tab.open();
        tab.hear(welcome());
        let edit = ClientMsg::Edit { room: lobby.clone(), id: id("e"), target: 3, text: "new words".into() };
        let delete = ClientMsg::Delete { room: lobby.clone(), id: id("d"), target: 4 };
        assert_eq!(
            tab.hear(joined(&lobby, Vec::new())),
            [Action::Status(ConnectionStatus::Connected), Action::Send(edit.clone()), Action::Send(delete.clone())]
        );
        tab.open();
        tab.hear(welcome());
        assert_eq!(
            tab.hear(joined(&lobby, Vec::new())),
            [Action::Status(ConnectionStatus::Connected), Action::Send(edit), Action::Send(delete)],
            "not acknowledged: they go again on the new connection"
        );
    }

    #[test]
    fn pending_messages_go_once_the_room_is_joined_and_once_per_connection() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.type_message("a");
        tab.type_message("b");
        tab.open();
        tab.hear(welcome());
        assert_eq!(tab.intend(Intent::Flush), [], "not before the server has joined us");
        assert_eq!(
            tab.hear(joined(&lobby, Vec::new())),
            [Action::Status(ConnectionStatus::Connected), send(&lobby, "a"), send(&lobby, "b")]
        );
        assert_eq!(tab.intend(Intent::Flush), [], "already sent on this connection");
        tab.type_message("c");
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "c")]);
        assert_eq!(tab.hear(joined(&room("elsewhere"), Vec::new())), [], "a join answer for another room");
    }

    #[test]
    fn after_a_reconnect_everything_pending_goes_again() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.timelines.get_mut(&lobby).unwrap().confirm(message(&lobby, 1, "x"));
        for m in ["a", "b", "c"] {
            tab.type_message(m);
        }
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "a"), send(&lobby, "b"), send(&lobby, "c")]);
        tab.close(0.5);
        tab.open();
        assert_eq!(tab.hear(welcome())[2], join(&lobby, Some(1)), "resumes after the last message seen");
        assert_eq!(tab.intend(Intent::Flush), []);
        // "a" was stored before the connection dropped: the replay confirms it.
        let replay = vec![message(&lobby, 2, "a")];
        assert_eq!(
            tab.hear(joined(&lobby, replay)),
            [Action::Status(ConnectionStatus::Connected), send(&lobby, "b"), send(&lobby, "c")]
        );
        assert_eq!(tab.intend(Intent::Flush), []);
    }

    #[test]
    fn a_rate_limited_message_holds_every_later_send_until_the_wait_is_over() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.now = 10_000.0;
        tab.type_message("a");
        tab.type_message("b");
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "a"), send(&lobby, "b")]);
        tab.hear(ServerMsg::Ack { room: lobby.clone(), id: id("a"), seq: 1 });
        let slow_down = refused(ErrorReason::RateLimited, &lobby, Some("b"), Some(1_000));
        assert_eq!(tab.hear(slow_down), [Action::Wake { at_ms: 11_005.0, intent: Intent::Flush }]);
        tab.now = 10_500.0;
        tab.type_message("c");
        assert_eq!(tab.intend(Intent::Flush), [], "c may not overtake b");
        tab.now = 10_999.0;
        assert_eq!(tab.intend(Intent::Flush), []);
        tab.now = 11_005.0;
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "b"), send(&lobby, "c")]);
        assert_eq!(tab.intend(Intent::Flush), []);
    }

    #[test]
    fn a_refused_rename_is_said_again_after_the_wait_and_messages_wait_for_it() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.token = Some("tok".into());
        tab.name = Some("Annie".into());
        let rename = say(Hello::Rename { token: "tok".into(), name: "Annie".into() });
        assert_eq!(tab.intend(Intent::Hello), std::slice::from_ref(&rename));
        tab.type_message("under the new name");
        assert_eq!(tab.intend(Intent::Flush), [], "a message waits for the new name's welcome");
        tab.now = 20_000.0;
        let refusal = ServerMsg::Error {
            reason: ErrorReason::RateLimited,
            detail: "slow down: at most 2 renames a second".into(),
            id: None,
            room: None,
            retry_after_ms: Some(400),
        };
        assert_eq!(tab.hear(refusal), [Action::Wake { at_ms: 20_405.0, intent: Intent::Hello }]);
        assert_eq!(tab.intend(Intent::Flush), []);
        tab.now = 20_405.0;
        assert_eq!(tab.intend(Intent::Hello), [rename]);
        let annie = User { name: "Annie".into(), ..ann() };
        assert_eq!(
            tab.hear(ServerMsg::Welcome { user: annie, token: "tok".into() }),
            [Action::Remember { token: "tok".into(), name: "Annie".into() }, send(&lobby, "under the new name")]
        );
    }

    #[test]
    fn a_name_refused_for_good_lets_the_waiting_messages_go() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.token = Some("tok".into());
        tab.intend(Intent::Hello);
        tab.type_message("still me");
        assert_eq!(tab.intend(Intent::Flush), []);
        let refusal = ServerMsg::Error {
            reason: ErrorReason::BadName,
            detail: "a name cannot be empty".into(),
            id: None,
            room: None,
            retry_after_ms: None,
        };
        assert_eq!(tab.hear(refusal), [send(&lobby, "still me")]);
    }

    #[test]
    fn a_rate_limit_without_a_wait_holds_for_a_second() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.type_message("a");
        tab.intend(Intent::Flush);
        let slow_down = refused(ErrorReason::RateLimited, &lobby, Some("a"), None);
        assert_eq!(tab.hear(slow_down), [Action::Wake { at_ms: 2_005.0, intent: Intent::Flush }]);
    }

    #[test]
    fn a_refused_message_goes_again_once_retried() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.connect();
        tab.type_message("a");
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "a")]);
        assert_eq!(tab.hear(refused(ErrorReason::Unavailable, &lobby, Some("a"), None)), []);
        let timeline = tab.timelines.get_mut(&lobby).unwrap();
        timeline.failed(&id("a"), ErrorReason::Unavailable);
        assert_eq!(tab.intend(Intent::Flush), [], "a failed message waits for the person");
        assert!(tab.timelines.get_mut(&lobby).unwrap().retry(&id("a")));
        assert_eq!(tab.intend(Intent::Flush), [send(&lobby, "a")]);
    }

    #[test]
    fn switching_rooms_leaves_the_old_one_and_resumes_where_it_was() {
        let (lobby, dev) = (RoomId::lobby(), room("dev"));
        let mut tab = Tab::ann();
        tab.open();
        assert_eq!(tab.switch_to(&dev), [], "before the welcome there is nothing to leave");
        tab.room = lobby.clone();
        tab.hear(welcome());
        tab.hear(joined(&lobby, vec![message(&lobby, 1, "x"), message(&lobby, 2, "y")]));
        assert_eq!(tab.switch_to(&dev), [leave(&lobby), join(&dev, None)]);
        assert_eq!(tab.hear(joined(&dev, Vec::new())), [Action::Status(ConnectionStatus::Connected)]);
        assert_eq!(tab.switch_to(&lobby), [leave(&dev), join(&lobby, Some(2))]);
    }

    #[test]
    fn refused_joins_and_leaves_are_asked_again_once_room_on_screen_first() {
        let (lobby, dev) = (RoomId::lobby(), room("dev"));
        let mut tab = Tab::ann();
        tab.connect();
        tab.now = 20_000.0;
        assert_eq!(tab.switch_to(&dev), [leave(&lobby), join(&dev, None)]);
        let leave_refused = refused(ErrorReason::RateLimited, &lobby, None, Some(2_000));
        assert_eq!(tab.hear(leave_refused.clone()), [Action::Wake { at_ms: 22_005.0, intent: Intent::Rejoin }]);
        let join_refused = refused(ErrorReason::RateLimited, &dev, None, Some(1_500));
        assert_eq!(tab.hear(join_refused), [], "one retry for all of them");
        assert_eq!(tab.hear(leave_refused), [], "a room is left once");
        tab.now = 22_005.0;
        assert_eq!(tab.intend(Intent::Rejoin), [join(&dev, None), leave(&lobby)]);
        assert_eq!(tab.hear(joined(&dev, Vec::new())), [Action::Status(ConnectionStatus::Connected)]);
        assert_eq!(tab.intend(Intent::Rejoin), [], "nothing left to ask again");
    }

    #[test]
    fn a_room_to_leave_that_is_back_on_screen_is_not_left() {
        let (lobby, dev) = (RoomId::lobby(), room("dev"));
        let mut tab = Tab::ann();
        tab.connect();
        tab.switch_to(&dev);
        tab.hear(refused(ErrorReason::RateLimited, &lobby, None, Some(2_000)));
        assert_eq!(tab.switch_to(&lobby), [leave(&dev), join(&lobby, None)]);
        assert_eq!(tab.intend(Intent::Rejoin), [join(&lobby, None)]);
    }

    #[test]
    fn bad_token_forgets_it_and_says_hello_by_name() {
        let mut tab = Tab::new(Some("Ann"), Some("old"));
        let rename = Hello::Rename { token: "old".into(), name: "Ann".into() };
        assert_eq!(tab.open(), [say(rename)]);
        let bad_token = ServerMsg::Error {
            reason: ErrorReason::BadToken,
            detail: "unknown token".into(),
            id: None,
            room: None,
            retry_after_ms: None,
        };
        assert_eq!(tab.hear(bad_token.clone()), [Action::ForgetToken, say(Hello::Name("Ann".into()))]);

        let mut nameless = Tab::new(None, Some("old"));
        nameless.open();
        assert_eq!(nameless.hear(bad_token), [Action::ForgetToken], "no name to start over with yet");
    }

    #[test]
    fn a_history_page_refused_for_now_is_followed_by_joining_again_once_the_server_takes_it() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.open();
        tab.hear(welcome());
        tab.hear(joined(&lobby, vec![message(&lobby, 51, "m51")]));
        tab.now = 30_000.0;
        let older = Action::Send(ClientMsg::History { room: lobby.clone(), before: 51 });
        assert_eq!(tab.intend(Intent::LoadOlder), [older]);
        let slow_down = refused(ErrorReason::RateLimited, &lobby, None, Some(400));
        assert_eq!(tab.hear(slow_down), [Action::Wake { at_ms: 30_405.0, intent: Intent::Rejoin }]);
        assert_eq!(tab.intend(Intent::LoadOlder), [], "nothing more asked meanwhile");
        tab.now = 30_405.0;
        // Joined again (the page's older button then works again: see the next test).
        let again = tab.intend(Intent::Rejoin);
        assert!(matches!(&again[..], [Action::Send(ClientMsg::Join { room, .. })] if *room == lobby), "{again:?}");
        tab.hear(joined(&lobby, vec![message(&lobby, 51, "m51")]));
        assert_eq!(tab.intend(Intent::LoadOlder).len(), 1, "asked again as the reader scrolls");
    }

    #[test]
    fn an_older_page_lost_with_its_connection_can_be_asked_for_again() {
        let lobby = RoomId::lobby();
        let mut timeline = Timeline::from_page(vec![message(&lobby, 51, "m51")], true);
        timeline.loading_older = true;
        timeline.joined(vec![message(&lobby, 51, "m51")], true, true);
        assert!(!timeline.loading_older, "the page's button works again once the room is joined");
    }

    #[test]
    fn typing_and_older_pages_wait_for_the_room() {
        let lobby = RoomId::lobby();
        let mut tab = Tab::ann();
        tab.timelines.insert(lobby.clone(), Timeline::from_page(vec![message(&lobby, 51, "m51")], true));
        tab.open();
        tab.hear(welcome());
        assert_eq!(tab.intend(Intent::Typing), []);
        assert_eq!(tab.intend(Intent::LoadOlder), []);
        tab.hear(joined(&lobby, vec![message(&lobby, 51, "m51")]));
        assert_eq!(tab.intend(Intent::Typing), [Action::Send(ClientMsg::Typing { room: lobby.clone() })]);
        assert_eq!(
            tab.intend(Intent::LoadOlder),
            [Action::Send(ClientMsg::History { room: lobby.clone(), before: 51 })]
        );
        tab.switch_to(&room("empty"));
        tab.hear(joined(&room("empty"), Vec::new()));
        assert_eq!(tab.intend(Intent::LoadOlder), [], "nothing shown, nothing older");
    }
}
