//! The hub on one node: numbering, fan-out, presence and the room list.

use super::directory::{directory_interval, DIRECTORY_BUDGET_PER_SEC, DIRECTORY_EVERY};
use super::*;
use crate::store::sqlite::SqliteStore;
use crate::store::Appended;
use palaver_protocol::ClientMsgId;
use std::time::Duration;

async fn hub() -> (Arc<Hub>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    (Hub::start(store).await.unwrap(), dir)
}

fn user(id: &str) -> User {
    User { id: UserId(id.into()), name: id.to_uppercase(), handle: None }
}

fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

async fn post(hub: &Hub, r: &str, u: &str, id: &str) -> PostOutcome {
    hub.post(Post::text(room(r), user(u), ClientMsgId(id.into()), format!("{id} text"))).await.unwrap()
}

fn decode(frame: &Frame) -> ServerMsg {
    ServerMsg::decode(frame.text()).unwrap()
}

/// A listener that keeps what it is offered, for the test to read.
struct Tap(mpsc::UnboundedSender<Frame>);

impl Listener for Tap {
    fn offer(&self, frame: &Frame) {
        let _ = self.0.send(frame.clone());
    }
}

/// Joins `room` as `user`, with a listener the test reads.
fn join(hub: &Hub, room: &RoomId, user: &User) -> (mpsc::UnboundedReceiver<Frame>, Membership) {
    let (tap, heard) = mpsc::unbounded_channel();
    (heard, hub.join(room, Some(user), Arc::new(Tap(tap))))
}

#[tokio::test]
async fn posts_are_numbered_per_room_broadcast_once_serialized_and_deduplicated() {
    let (hub, _dir) = hub().await;
    let (mut feed, _m) = join(&hub, &room("a"), &user("u1"));
    assert!(matches!(decode(&feed.recv().await.unwrap()), ServerMsg::Arrived { .. }));
    assert_eq!(post(&hub, "a", "u1", "m1").await, PostOutcome::Accepted(1));
    assert_eq!(post(&hub, "b", "u1", "m1").await, PostOutcome::Accepted(1));
    assert_eq!(post(&hub, "a", "u1", "m2").await, PostOutcome::Accepted(2));
    assert_eq!(post(&hub, "a", "u1", "m1").await, PostOutcome::Duplicate(1));
    for expected in [1, 2] {
        let frame = feed.recv().await.unwrap();
        assert_eq!(frame.seq, Some(expected));
        assert!(matches!(decode(&frame), ServerMsg::Message(m) if m.seq == expected && m.room == room("a")));
    }
    assert!(feed.try_recv().is_err(), "the duplicate and room b's message did not come here");
}

#[tokio::test]
async fn concurrent_posts_get_one_gapless_order() {
    let (hub, _dir) = hub().await;
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let hub = hub.clone();
            tokio::spawn(async move {
                let mut seqs = Vec::new();
                for n in 0..25 {
                    seqs.push(post(&hub, "r", &format!("u{t}"), &format!("m{n}")).await.seq().unwrap());
                }
                seqs
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        let seqs = t.await.unwrap();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "each sender's messages keep their order");
        all.extend(seqs);
    }
    all.sort();
    assert_eq!(all, (1..=200).collect::<Vec<_>>());
}

#[tokio::test]
async fn presence_counts_people_not_tabs() {
    let (hub, _dir) = hub().await;
    let (_f1, tab1) = join(&hub, &room("r"), &user("ann"));
    assert_eq!(hub.online(&room("r")), [user("ann")]);
    let (_f2, tab2) = join(&hub, &room("r"), &user("ann"));
    let (mut watcher, _bob) = join(&hub, &room("r"), &user("bob"));
    assert_eq!(hub.online(&room("r")).len(), 2);
    let _ = watcher.recv().await; // bob's own arrival
    drop(tab1);
    assert_eq!(hub.online(&room("r")).len(), 2, "ann still has a tab open");
    assert!(watcher.try_recv().is_err(), "no presence change to announce");
    drop(tab2);
    assert_eq!(hub.online(&room("r")), [user("bob")]);
    assert!(
        matches!(decode(&watcher.recv().await.unwrap()), ServerMsg::Departed { user: u, .. } if u == user("ann")),
        "the change, not the whole list: presence costs the same in a room of thousands"
    );
    assert_eq!(hub.online(&room("other")), []);
}

#[tokio::test]
async fn the_room_list_counts_who_is_in_each_room() {
    let (hub, _dir) = hub().await;
    post(&hub, "history-only", "u1", "m1").await;
    let _m = join(&hub, &room("lobby"), &user("ann"));
    let rooms = hub.rooms();
    assert_eq!(
        rooms,
        [RoomSummary { room: room("history-only"), online: 0 }, RoomSummary { room: room("lobby"), online: 1 },]
    );
    let mut directory = hub.directory();
    tokio::time::timeout(Duration::from_secs(2), directory.changed()).await.unwrap().unwrap();
    let frame = directory.borrow().clone();
    let text = std::str::from_utf8(crate::socket::frames::payload(&frame)).unwrap();
    assert!(matches!(ServerMsg::decode(text).unwrap(), ServerMsg::Rooms { rooms: r } if r == rooms));

    // Many rooms: the list names the busiest, so its size stays bounded.
    for n in 0..MAX_LISTED_ROOMS + 10 {
        post(&hub, &format!("quiet-{n:03}"), "u1", "m1").await;
    }
    let rooms = hub.rooms();
    assert_eq!(rooms.len(), MAX_LISTED_ROOMS);
    assert!(rooms.iter().any(|r| r.room == room("lobby") && r.online == 1), "the room with people in it");
    assert!(rooms.windows(2).all(|w| w[0].room < w[1].room), "in name order");
}

#[tokio::test]
async fn a_room_entered_and_left_without_a_message_is_forgotten() {
    let (hub, _dir) = hub().await;
    for n in 0..100 {
        let (feed, membership) = join(&hub, &room(&format!("passing-{n}")), &user("u1"));
        drop((feed, membership));
    }
    post(&hub, "kept", "u1", "m1").await;
    assert_eq!(hub.rooms(), [RoomSummary { room: room("kept"), online: 0 }]);
    assert_eq!(hub.live_rooms(), 0);
}

#[test]
fn the_room_list_refreshes_less_often_on_a_busy_server() {
    assert_eq!(directory_interval(10), DIRECTORY_EVERY);
    assert_eq!(directory_interval(DIRECTORY_BUDGET_PER_SEC * 5), Duration::from_secs(5));
}

/// The hub of one node among several: the bus is this test's channel, the store real.
mod several_nodes {
    use super::*;
    use crate::bus::{Bus, Envelope, Event, Inbound, NodeId, Present};

    struct Quiet;

    impl Bus for Quiet {
        fn node(&self) -> &NodeId {
            static NODE: std::sync::OnceLock<NodeId> = std::sync::OnceLock::new();
            NODE.get_or_init(|| NodeId("n-self".into()))
        }
        fn spans_nodes(&self) -> bool {
            true
        }
        fn publish(&self, _: Event) {}
    }

    async fn node() -> (Arc<Hub>, Arc<dyn Store>, mpsc::Sender<Inbound>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let (tell, inbound) = mpsc::channel(64);
        let hub = Hub::start_with(store.clone(), Arc::new(Quiet), inbound, CancellationToken::new()).await.unwrap();
        (hub, store, tell, dir)
    }

    fn from(node: &str, event: Event) -> Inbound {
        Inbound::Event(Envelope { node: NodeId(node.into()), event })
    }

    /// Stores messages as another node would, without this node's writer.
    async fn stored_elsewhere(store: &Arc<dyn Store>, r: &str, count: usize) -> Vec<ChatMessage> {
        static IDS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let posts = (0..count).map(|_| {
            let n = IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Post::text(room(r), user("other"), ClientMsgId(format!("o{n}")), "x".into())
        });
        let out = store.append(posts.collect()).await.unwrap();
        out.into_iter().map(|a| if let Appended::New(m) = a { m } else { panic!("new") }).collect()
    }

    async fn next_seq(feed: &mut mpsc::UnboundedReceiver<Frame>) -> Seq {
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(3), feed.recv()).await.expect("in time").unwrap();
            if let Some(seq) = frame.seq {
                return seq;
            }
        }
    }

    #[tokio::test]
    async fn messages_out_of_order_go_out_in_order_and_a_lost_one_is_read_from_the_store() {
        let (hub, store, tell, _dir) = node().await;
        let (mut feed, _m) = join(&hub, &room("r"), &user("me"));
        // Two joiners found the room empty and at 2 messages: it starts after the lower.
        hub.caught_up(&room("r"), 2);
        hub.caught_up(&room("r"), 0);
        let m = stored_elsewhere(&store, "r", 5).await;
        // 2 arrives before 1: held until 1 comes.
        tell.send(from("n-a", Event::Message(m[1].clone()))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!matches!(feed.try_recv(), Ok(Frame { seq: Some(_), .. })), "2 is not sent before 1");
        tell.send(from("n-a", Event::Message(m[0].clone()))).await.unwrap();
        assert_eq!(next_seq(&mut feed).await, 1);
        assert_eq!(next_seq(&mut feed).await, 2);
        // A repeat of 2 is dropped; 3 goes out.
        tell.send(from("n-a", Event::Message(m[1].clone()))).await.unwrap();
        tell.send(from("n-a", Event::Message(m[2].clone()))).await.unwrap();
        assert_eq!(next_seq(&mut feed).await, 3);
        // 4 never comes over the bus: 5 waits, then 4 is read from the store.
        let started = std::time::Instant::now();
        tell.send(from("n-a", Event::Message(m[4].clone()))).await.unwrap();
        assert_eq!(next_seq(&mut feed).await, 4);
        assert!(started.elapsed() >= cluster::GAP_WAIT, "it waited for the bus first");
        assert_eq!(next_seq(&mut feed).await, 5);
        assert!(feed.try_recv().is_err(), "nothing twice");
    }

    #[tokio::test]
    async fn a_lost_last_message_arrives_from_the_store_without_a_later_one() {
        let (hub, store, tell, _dir) = node().await;
        let (mut feed, _m) = join(&hub, &room("r"), &user("me"));
        hub.caught_up(&room("r"), 0);
        let m = stored_elsewhere(&store, "r", 1).await;
        tell.send(from("n-a", Event::Message(m[0].clone()))).await.unwrap();
        assert_eq!(next_seq(&mut feed).await, 1);
        stored_elsewhere(&store, "r", 1).await; // number 2, never told
        let started = std::time::Instant::now();
        assert_eq!(next_seq(&mut feed).await, 2);
        assert!(started.elapsed() <= cluster::TAIL_EVERY * 2, "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn people_on_other_nodes_are_listed_once_and_leave_when_their_node_says_so() {
        let (hub, _store, tell, _dir) = node().await;
        let (mut feed, _me) = join(&hub, &room("r"), &user("me"));
        let _ = feed.recv().await; // my own arrival
        let ann = user("ann");
        tell.send(from("n-a", Event::Here { room: room("r"), user: ann.clone() })).await.unwrap();
        let arrived = decode(&tokio::time::timeout(Duration::from_secs(3), feed.recv()).await.unwrap().unwrap());
        assert!(matches!(arrived, ServerMsg::Arrived { user, .. } if user == ann));
        // Her second tab, on a third node: no second arrival, one person.
        tell.send(from("n-b", Event::Here { room: room("r"), user: ann.clone() })).await.unwrap();
        tell.send(from("n-a", Event::Gone { room: room("r"), user: ann.id.clone() })).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(feed.try_recv().is_err(), "still here through n-b: nothing to announce");
        assert_eq!(hub.online(&room("r")), [ann.clone(), user("me")]);
        assert!(hub.rooms().contains(&RoomSummary { room: room("r"), online: 2 }));
        // n-b's snapshot no longer has her: she leaves.
        // Redis says nobody is in r through other nodes any more (n-b's entry lapsed).
        tell.send(Inbound::Present(Present { rooms: vec![(room("r"), Vec::new())], busy: None })).await.unwrap();
        let departed = decode(&tokio::time::timeout(Duration::from_secs(3), feed.recv()).await.unwrap().unwrap());
        assert!(matches!(departed, ServerMsg::Departed { user, .. } if user == ann));
        assert_eq!(hub.online(&room("r")), [user("me")]);
        // Typing on another node reaches this node's connections.
        tell.send(from("n-b", Event::Typing { room: room("r"), user: ann.clone() })).await.unwrap();
        let typing = decode(&tokio::time::timeout(Duration::from_secs(3), feed.recv()).await.unwrap().unwrap());
        assert!(matches!(typing, ServerMsg::Typing { user, .. } if user == ann));
    }

    #[tokio::test]
    async fn the_kept_room_list_is_always_the_one_counted_afresh() {
        let (hub, store, tell, _dir) = node().await;
        // Rooms coming and going in every way, more of them than the list names: people
        // and watchers here, people on other nodes, messages here and elsewhere.
        let mut here: Vec<Membership> = Vec::new();
        let mut pick: u64 = 7;
        let mut next = |n: u64| {
            pick = pick.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (pick >> 33) % n
        };
        for step in 0..400 {
            let r = room(&format!("r{:02}", next(45)));
            let someone = user(&format!("u{}", next(12)));
            match next(9) {
                0 | 1 => here.push(hub.join(&r, Some(&someone), Arc::new(Tap(mpsc::unbounded_channel().0)))),
                2 => here.push(hub.join(&r, None, Arc::new(Tap(mpsc::unbounded_channel().0)))),
                3 | 4 if !here.is_empty() => drop(here.swap_remove(next(here.len() as u64) as usize)),
                5 => {
                    let node = format!("n-{}", next(3));
                    tell.send(from(&node, Event::Here { room: r, user: someone })).await.unwrap();
                }
                6 => {
                    let node = format!("n-{}", next(3));
                    tell.send(from(&node, Event::Gone { room: r, user: someone.id })).await.unwrap();
                }
                7 => {
                    let node = NodeId(format!("n-{}", next(3)));
                    let entries = if next(2) == 0 { Vec::new() } else { vec![(node, someone)] };
                    let busy = (next(2) == 0).then(|| {
                        (0..next(5)).map(|_| (room(&format!("r{:02}", next(60))), next(4) as usize)).collect()
                    });
                    tell.send(Inbound::Present(Present { rooms: vec![(r, entries)], busy })).await.unwrap();
                }
                _ => {
                    let m = stored_elsewhere(&store, r.as_str(), 1).await;
                    tell.send(from("n-0", Event::Message(m[0].clone()))).await.unwrap();
                }
            }
            if step % 4 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let mut rooms = hub.shared.rooms();
            let (kept, afresh) = (rooms.listed(), rooms.listed_from_scratch());
            assert_eq!(*kept, afresh, "step {step}");
        }
        drop(here);
        let mut rooms = hub.shared.rooms();
        assert_eq!(*rooms.listed(), rooms.listed_from_scratch());
    }
}

#[tokio::test]
async fn reading_not_yet_written_counts_for_counts_read_from_the_store() {
    let (hub, _dir) = hub().await;
    for id in ["a", "b", "c"] {
        post(&hub, "r", "bob", id).await;
    }
    // Ann reads up to 2 in a tab that then closes: nobody here follows her counts, and
    // the position is not written yet (it is, a moment later).
    hub.mark_read(&UserId("ann".into()), &room("r"), 2);
    let now = hub.unread_of(&UserId("ann".into())).await.unwrap();
    assert_eq!(now.iter().map(|r| (r.read, r.unread)).collect::<Vec<_>>(), [(Some(2), 1)], "{now:?}");
    let (mut feed, now, _following) = hub.follow(&UserId("ann".into())).await.unwrap();
    let now = now.unwrap_or_else(|| decode(&feed.try_recv().unwrap()));
    let ServerMsg::Unread { rooms, .. } = now else { panic!("{now:?}") };
    assert_eq!(rooms.iter().map(|r| (r.read, r.unread)).collect::<Vec<_>>(), [(Some(2), 1)]);
    // Written: the same from the store alone.
    hub.save_reads().await;
    let stored = hub.store().unread(&UserId("ann".into())).await.unwrap();
    assert_eq!(stored.iter().map(|u| (u.read, u.unread.len())).collect::<Vec<_>>(), [(Some(2), 1)]);
}

#[tokio::test]
async fn a_name_is_looked_up_in_the_store_and_a_new_one_said_here_counts_at_once() {
    let (hub, _dir) = hub().await;
    let named = |text: &'static str| {
        let hub = hub.clone();
        async move { hub.named(&room("r"), text).await.unwrap().into_iter().map(|u| u.name).collect::<Vec<_>>() }
    };
    // Written after this node started (by another node, or before a restart): nobody
    // this node has heard of, and still named.
    let cat = User { id: UserId("cat".into()), name: "Cat".into(), handle: None };
    hub.store().remember(vec![cat.clone()]).await.unwrap();
    assert_eq!(named("@cat, look").await, ["Cat"]);
    // A new name said here names her before it is written, and the old one no longer does.
    hub.remember(&User { id: cat.id.clone(), name: "Kit".into(), handle: None });
    assert_eq!(named("@Kit and @Cat").await, ["Kit"]);
    hub.save_reads().await;
    assert_eq!(hub.store().people_named(vec!["kit".into()], 5).await.unwrap().len(), 1, "written with the reads");
    assert!(named("hello, nobody@cat").await.is_empty());
}

/// A listener that notes how many frames each handing-over carried.
struct Counter(Mutex<Vec<usize>>);

impl Listener for Counter {
    fn offer(&self, _: &Frame) {
        self.0.lock().unwrap().push(1);
    }

    fn offer_all(&self, frames: &[Frame]) {
        self.0.lock().unwrap().push(frames.len());
    }
}

#[tokio::test]
async fn a_batch_stored_in_one_commit_reaches_each_member_in_one_handing_over() {
    let (hub, _dir) = hub().await;
    let counter = Arc::new(Counter(Mutex::new(Vec::new())));
    let _watching = hub.join(&room("r"), None, counter.clone());
    // All queued before the writer runs: one commit, one batch.
    let pending = tokio::task::unconstrained(async {
        let mut pending = Vec::new();
        for n in 0..5 {
            let post = Post::text(room("r"), user("u"), ClientMsgId(format!("b{n}")), "x".into());
            pending.push(hub.submit(post).await.unwrap());
        }
        pending
    })
    .await;
    for outcome in pending {
        outcome.await.unwrap();
    }
    assert_eq!(*counter.0.lock().unwrap(), [5], "five frames, handed over together (so written together)");
    post(&hub, "r", "u", "alone").await;
    assert_eq!(*counter.0.lock().unwrap(), [5, 1]);
}

/// A member whose frames go to its wire as they are offered (as a connection's feed).
struct OnWire(Arc<Wire>);

impl Listener for OnWire {
    fn offer(&self, frame: &Frame) {
        self.0.send_one(frame.bytes.clone());
    }
}

#[tokio::test]
async fn a_posters_own_copy_and_its_answer_leave_in_one_write_once_committed() {
    let (hub, _dir) = hub().await;
    let socket = crate::socket::Tank::with_room(1 << 20);
    let wire = Arc::new(Wire::new(socket.clone()));
    let _member = hub.join(&room("r"), None, Arc::new(OnWire(wire.clone())));
    let (answered, outcome) = oneshot::channel();
    let answer: Answer = Box::new(move |result| {
        let _ = answered.send(result.clone());
        vec![crate::socket::frames::text(&format!("{result:?}"))]
    });
    let post = Post::text(room("r"), user("u"), ClientMsgId("own".into()), "hello".into());
    hub.submit_answered(post, wire.clone(), answer).await.map_err(|(e, _)| e).unwrap();
    assert_eq!(outcome.await.unwrap().unwrap(), PostOutcome::Accepted(1));
    let written = socket.taken();
    let text = String::from_utf8_lossy(&written);
    let (own, ack) = (text.find("hello").expect("its own copy"), text.find("Accepted(1)").expect("the answer"));
    assert!(own < ack, "the message first, then its answer: {text}");
    assert_eq!(socket.writes(), 1, "in one write");
}

/// A post whose text PostgreSQL cannot hold (a NUL byte, which the protocol refuses, so
/// made here past it) fails alone: the others of its batch are stored and answered.
#[tokio::test]
async fn one_post_the_store_refuses_fails_alone_not_its_whole_batch() {
    let pg = testkit::services::Postgres::start(Duration::from_secs(300)).expect("PostgreSQL (scripts/setup.sh)");
    pg.create_database("apart").unwrap();
    let store = Arc::new(crate::store::postgres::PostgresStore::open(&pg.url("apart")).await.unwrap());
    let hub = Hub::start(store).await.unwrap();
    let post = |id: &str, text: &str| Post::text(room("a"), user("u1"), ClientMsgId(id.into()), text.into());
    // Handed over together before the writer runs (one thread): one batch.
    let mut pending = Vec::new();
    for (id, text) in [("m1", "first"), ("m2", "bad\u{0}text"), ("m3", "third"), ("m4", "fourth")] {
        pending.push(hub.submit(post(id, text)).await.unwrap());
    }
    let mut outcomes = Vec::new();
    for outcome in pending {
        outcomes.push(outcome.await);
    }
    assert_eq!(outcomes[0].as_ref().unwrap(), &PostOutcome::Accepted(1));
    let refused = outcomes[1].as_ref().unwrap_err();
    assert!(refused.is_the_datas(), "{refused}");
    assert_eq!(outcomes[2].as_ref().unwrap(), &PostOutcome::Accepted(2));
    assert_eq!(outcomes[3].as_ref().unwrap(), &PostOutcome::Accepted(3));
    let stored = hub.store().latest(&room("a"), 10).await.unwrap().messages;
    let texts: Vec<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "third", "fourth"]);
    // The store being away is not the data's fault: that fails the batch as before.
    assert!(!crate::store::StoreError::backend("the writer has stopped").is_the_datas());
}

/// The room list of a page load, timed with 10 and with 10,000 rooms while people come
/// and go: kept as rooms change, it costs about the same (sorting every room for each
/// page load cost a thousand times more).
#[tokio::test]
async fn reading_the_room_list_costs_the_same_with_ten_rooms_or_ten_thousand() {
    async fn hub_of(rooms: usize) -> (Arc<Hub>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let posts = (0..rooms)
            .map(|n| Post::text(room(&format!("room-{n:05}")), user("u1"), ClientMsgId(format!("m{n}")), "x".into()));
        store.append(posts.collect()).await.unwrap();
        (Hub::start(store).await.unwrap(), dir)
    }
    /// The median time of a page load's room list, someone having come or gone since
    /// the one before.
    fn median_list(hub: &Hub) -> Duration {
        let mut times = Vec::new();
        for n in 0..300 {
            let visiting = hub.join(
                &room(&format!("room-{:05}", n % 10)),
                Some(&user("visitor")),
                Arc::new(Tap(mpsc::unbounded_channel().0)),
            );
            let started = std::time::Instant::now();
            let list = hub.rooms();
            times.push(started.elapsed());
            assert!(list.iter().any(|r| r.online == 1) && list.len() <= MAX_LISTED_ROOMS, "{list:?}");
            drop(visiting);
        }
        times.sort();
        times[times.len() / 2]
    }
    let (few, _a) = hub_of(10).await;
    let (many, _b) = hub_of(10_000).await;
    let (with_few, with_many) = (median_list(&few), median_list(&many));
    eprintln!("a page load's room list: {with_few:?} with 10 rooms, {with_many:?} with 10,000 (medians of 300)");
    assert!(
        with_many < with_few * 10 + Duration::from_micros(50),
        "{with_many:?} with 10,000 rooms against {with_few:?} with 10: it grows with the rooms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_changed_in_the_store_by_another_process_apply_within_a_second_or_two() {
    use crate::store::rooms::{Kind, RoomRules};
    let (hub, _dir) = hub().await;
    let r = RoomId::parse("plans").unwrap();
    assert!(hub.listed(&r));
    let private = RoomRules { kind: Kind::Private, made: true, ..RoomRules::default() };
    assert!(hub.store_handle().make_room(&r, &private, None, crate::accounts::now_ms()).await.unwrap());
    let started = std::time::Instant::now();
    while hub.listed(&r) {
        assert!(started.elapsed() < Duration::from_secs(3), "applied within about a second");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
