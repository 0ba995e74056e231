//! The hub on one node: numbering, fan-out, presence and the room list.

use super::*;
use crate::store::sqlite::SqliteStore;
use app::protocol::ClientMsgId;

async fn hub() -> (Arc<Hub>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    (Hub::start(store).await.unwrap(), dir)
}

fn user(id: &str) -> User {
    User { id: UserId(id.into()), name: id.to_uppercase() }
}

fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

async fn post(hub: &Hub, r: &str, u: &str, id: &str) -> PostOutcome {
    hub.post(Post::text(room(r), user(u), ClientMsgId(id.into()), format!("{id} text"))).await.unwrap()
}

fn decode(frame: &Frame) -> ServerMsg {
    ServerMsg::decode(frame.text.as_str()).unwrap()
}

#[tokio::test]
async fn posts_are_numbered_per_room_broadcast_once_serialized_and_deduplicated() {
    let (hub, _dir) = hub().await;
    let (mut feed, _m) = hub.join(&room("a"), &user("u1"));
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
                    seqs.push(post(&hub, "r", &format!("u{t}"), &format!("m{n}")).await.seq());
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
    let (_f1, tab1) = hub.join(&room("r"), &user("ann"));
    assert_eq!(hub.online(&room("r")), [user("ann")]);
    let (_f2, tab2) = hub.join(&room("r"), &user("ann"));
    let (mut watcher, _bob) = hub.join(&room("r"), &user("bob"));
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
    let _m = hub.join(&room("lobby"), &user("ann"));
    let rooms = hub.rooms();
    assert_eq!(
        rooms,
        [RoomSummary { room: room("history-only"), online: 0 }, RoomSummary { room: room("lobby"), online: 1 },]
    );
    let mut directory = hub.directory();
    tokio::time::timeout(Duration::from_secs(2), directory.changed()).await.unwrap().unwrap();
    let frame = directory.borrow().clone();
    assert!(matches!(ServerMsg::decode(frame.as_str()).unwrap(), ServerMsg::Rooms { rooms: r } if r == rooms));

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
        let (feed, membership) = hub.join(&room(&format!("passing-{n}")), &user("u1"));
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
