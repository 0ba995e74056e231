//! One suite for every backend: each check runs against a fresh SQLite file and a fresh
//! database on a PostgreSQL server of the test's own.

use super::{postgres::PostgresStore, sqlite::SqliteStore, Appended, Post, Store};
use palaver_protocol::{ChatMessage, ClientMsgId, HistoryPage, RoomId, RoomListing, Seq, User, UserId};
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};
use testkit::services::Postgres;

/// A text post by `author` (whose name is theirs in capitals).
pub(super) fn new(room: &str, author: &str, id: &str, text: &str) -> Post {
    Post::text(
        RoomId::parse(room).unwrap(),
        User { id: UserId(author.into()), name: author.to_uppercase(), handle: None },
        ClientMsgId(id.into()),
        text.into(),
    )
}

fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

fn seqs(messages: &[ChatMessage]) -> Vec<Seq> {
    messages.iter().map(|m| m.seq).collect()
}

/// Opens the store under test again: a new SQLite handle on the same file, or a new
/// connection pool on the same database (as a second node would).
pub(super) type Reopen = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>> + Send + Sync>;

type Check = fn(Reopen) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every check of the suite, by name.
const SUITE: &[(&str, Check)] = &[
    ("numbers per room and deduplicates per author", |s| Box::pin(numbers_per_room_and_deduplicates_per_author(s))),
    ("pages are complete and ordered", |s| Box::pin(pages_are_complete_and_ordered(s))),
    ("messages survive reopening", |s| Box::pin(messages_survive_reopening(s))),
    ("heads name each room's newest number", |s| Box::pin(heads_name_each_rooms_newest_number(s))),
    ("edits and deletes change the message and are numbered events", |s| {
        Box::pin(edits_and_deletes_change_the_message_and_are_numbered_events(s))
    }),
    ("replies quote, reactions count once per person, mentions are kept", |s| {
        Box::pin(replies_quote_reactions_count_once_per_person_mentions_are_kept(s))
    }),
    ("search finds words folded, Korean inside words, newest first, latest text", |s| {
        Box::pin(search_finds_words_folded_korean_inside_words_newest_first_latest_text(s))
    }),
    ("read positions move forward and count what came since; levels are kept", |s| {
        Box::pin(read_positions_move_forward_and_count_what_came_since(s))
    }),
    ("people are kept by their latest name", |s| Box::pin(people_are_kept_by_their_latest_name(s))),
    ("an edit is served with its message's current text, an earlier text nowhere", |s| {
        Box::pin(an_edit_is_served_with_its_messages_current_text_an_earlier_text_nowhere(s))
    }),
    ("pages count the lines people read, not events", |s| Box::pin(pages_count_the_lines_people_read_not_events(s))),
    ("the directory lists rooms by name with their members and newest message", |s| {
        Box::pin(the_directory_lists_rooms_by_name_with_their_members_and_newest_message(s))
    }),
    ("accounts: handles, one owner, invites, sessions and tokens", |s| {
        Box::pin(super::accounts_tests::accounts_sessions_tokens_and_invites(s))
    }),
    ("rooms: private rooms' people, what reads and searches reach, removals", |s| {
        Box::pin(super::rooms_tests::who_sees_what(s))
    }),
    ("moderation: removed messages, roles, suspension, the audit log, reports", |s| {
        Box::pin(super::rooms_tests::moderation_roles_suspension_audit_and_reports(s))
    }),
    ("push subscriptions: several a person, each browser one person's, the oldest go", |s| {
        Box::pin(push_subscriptions_are_kept_per_person_and_browser(s))
    }),
];

async fn push_subscriptions_are_kept_per_person_and_browser(open: Reopen) {
    use crate::store::push::{Keys, Subscription, PER_PERSON};
    let store = open().await;
    let browser = |n: usize| Subscription {
        endpoint: format!("https://push.example/{n}"),
        keys: Keys { p256dh: format!("key{n}"), auth: format!("auth{n}") },
    };
    let (ann, bob) = (UserId("ann".into()), UserId("bob".into()));
    store.add_push(&ann, None, &browser(1), 10).await.unwrap();
    store.add_push(&ann, None, &browser(2), 20).await.unwrap();
    assert_eq!(store.pushes(&ann).await.unwrap(), [browser(1), browser(2)]);
    // The same browser subscribing again, as Bob now, with new keys: his alone.
    let again = Subscription { keys: Keys { p256dh: "new".into(), auth: "new".into() }, ..browser(1) };
    store.add_push(&bob, None, &again, 30).await.unwrap();
    assert_eq!(store.pushes(&ann).await.unwrap(), [browser(2)]);
    assert_eq!(store.pushes(&bob).await.unwrap(), std::slice::from_ref(&again));
    // Only its person removes it (or anyone's, when no person is named).
    assert!(!store.remove_push(&again.endpoint, Some(&ann)).await.unwrap());
    assert!(store.remove_push(&again.endpoint, Some(&bob)).await.unwrap());
    assert!(!store.remove_push(&again.endpoint, None).await.unwrap());
    assert!(store.remove_push(&browser(2).endpoint, None).await.unwrap());
    // Past the most a person may have, the oldest go; kept across reopening.
    for n in 0..PER_PERSON + 2 {
        store.add_push(&ann, None, &browser(100 + n), 100 + n as i64).await.unwrap();
    }
    let store = open().await;
    let kept = store.pushes(&ann).await.unwrap();
    assert_eq!(kept, (2..PER_PERSON + 2).map(|n| browser(100 + n)).collect::<Vec<_>>());
}

async fn the_directory_lists_rooms_by_name_with_their_members_and_newest_message(open: Reopen) {
    let store = open().await;
    let said = |room: &str, at: i64| Post { sent_at: at, ..new(room, "u", &format!("{room}{at}"), "x") };
    store.append(vec![said("b", 10), said("b", 20), said("d", 5), said("a", 7)]).await.unwrap();
    let (ann, bob) = (UserId("ann".into()), UserId("bob".into()));
    // Rooms on someone's list, with messages or not.
    store
        .mark_read(vec![(ann.clone(), room("b"), 1), (bob.clone(), room("b"), 0), (ann.clone(), room("c"), 0)])
        .await
        .unwrap();
    store.mark_read(vec![(ann.clone(), room("b"), 2)]).await.unwrap();
    let listed = |l: Vec<RoomListing>| {
        l.into_iter().map(|r| (r.room.as_str().to_owned(), r.members, r.last_at)).collect::<Vec<_>>()
    };
    let all = listed(store.directory(None, 10).await.unwrap());
    let at = |n: i64| Some(n);
    assert_eq!(all, [("a".into(), 0, at(7)), ("b".into(), 2, at(20)), ("c".into(), 1, None), ("d".into(), 0, at(5))]);
    // Pages of it, after a name.
    let first = listed(store.directory(None, 2).await.unwrap());
    assert_eq!(first.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    let next = listed(store.directory(Some(room("b")), 2).await.unwrap());
    assert_eq!(next.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["c", "d"]);
    // Left for good: one member fewer, and a room nobody has left without messages.
    store.forget_room(&bob, &room("b")).await.unwrap();
    store.forget_room(&ann, &room("c")).await.unwrap();
    store.forget_room(&ann, &room("never")).await.unwrap();
    let all = listed(open().await.directory(None, 10).await.unwrap());
    assert_eq!(all.iter().map(|r| (r.0.as_str(), r.1)).collect::<Vec<_>>(), [("a", 0), ("b", 1), ("d", 0)]);
    assert!(store.unread(&ann).await.unwrap().iter().all(|u| u.room != room("c")), "her position there is gone");
}

async fn people_are_kept_by_their_latest_name(open: Reopen) {
    let store = open().await;
    let person = |id: &str, name: &str| User { id: UserId(id.into()), name: name.into(), handle: None };
    let asked = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(store.people_named(asked(&["ann"]), 5).await.unwrap(), []);
    store.remember(vec![person("u1", "Ann"), person("u2", "김민준"), person("u3", "ANN")]).await.unwrap();
    store.remember(vec![person("u1", "Ann Lee")]).await.unwrap();
    store.remember(Vec::new()).await.unwrap();
    let store = open().await;
    // By name as mentions match it: ASCII letters in either case, other letters as they are.
    let named = store.people_named(asked(&["ann lee", "김민준", "ann", "nobody"]), 5).await.unwrap();
    assert_eq!(named, [person("u1", "Ann Lee"), person("u2", "김민준"), person("u3", "ANN")]);
    store.remember(vec![person("u4", "Éva"), person("u5", "éva")]).await.unwrap();
    assert_eq!(store.people_named(asked(&["éva"]), 5).await.unwrap(), [person("u5", "éva")], "only ASCII folds");
    // Many people by one name: the first few by id.
    store.remember((10..30).map(|i| person(&format!("s{i}"), "Sam")).collect()).await.unwrap();
    let sams = store.people_named(asked(&["sam"]), 3).await.unwrap();
    assert_eq!(sams, [person("s10", "Sam"), person("s11", "Sam"), person("s12", "Sam")]);
}

async fn read_positions_move_forward_and_count_what_came_since(open: Reopen) {
    use super::Unread;
    let store = open().await;
    let ann = User { id: UserId("ann".into()), name: "ANN".into(), handle: None };
    store
        .append(vec![
            new("r", "u2", "a", "one"),
            new("r", "ann", "b", "mine"),
            new("r", "u2", "c", "hey @ANN").mentioning(vec![ann.clone()]),
            new("r", "u2", "d", "three"),
            new("other", "u2", "e", "@ANN look").mentioning(vec![ann.clone()]),
        ])
        .await
        .unwrap();
    let unread = |read, unread: &[Seq], mentions: &[Seq], room_name: &str| Unread {
        room: room(room_name),
        read,
        unread: unread.to_vec(),
        mentions: mentions.to_vec(),
        first: unread.first().copied(),
    };
    // Rooms never opened: only what mentions her counts.
    let mut now = store.unread(&ann.id).await.unwrap();
    now.sort_by(|a, b| a.room.cmp(&b.room));
    assert_eq!(now, [unread(None, &[1], &[1], "other"), unread(None, &[3], &[3], "r")]);
    // Opened and read to 1: everything from others after it (not her own), her mention.
    store.mark_read(vec![(ann.id.clone(), room("r"), 1)]).await.unwrap();
    let in_r = |all: Vec<Unread>| all.into_iter().find(|u| u.room == room("r")).unwrap();
    assert_eq!(in_r(store.unread(&ann.id).await.unwrap()), unread(Some(1), &[3, 4], &[3], "r"));
    // Never back, also within one batch; kept across reopening.
    store.mark_read(vec![(ann.id.clone(), room("r"), 0), (ann.id.clone(), room("other"), 1)]).await.unwrap();
    store.mark_read(vec![(ann.id.clone(), room("other"), 0)]).await.unwrap();
    let again = open().await;
    let mut now = again.unread(&ann.id).await.unwrap();
    now.sort_by(|a, b| a.room.cmp(&b.room));
    assert_eq!(now, [unread(Some(1), &[], &[], "other"), unread(Some(1), &[3, 4], &[3], "r")]);
    // An edit that drops the mention, a deleted message: no longer counted.
    again.append(vec![edit("u2", "e1", 3, "hey"), delete("u2", "d1", 4)]).await.unwrap();
    assert_eq!(in_r(again.unread(&ann.id).await.unwrap()), unread(Some(1), &[3], &[], "r"));
    again.mark_read(vec![(ann.id.clone(), room("r"), 7)]).await.unwrap();
    assert_eq!(in_r(again.unread(&ann.id).await.unwrap()), unread(Some(7), &[], &[], "r"));
    // Someone who never read or was named anywhere has nothing.
    assert_eq!(again.unread(&UserId("u9".into())).await.unwrap(), []);
    // How each room tells her of new messages: the default is not kept, the last choice
    // is, per person.
    use palaver_protocol::Level;
    assert_eq!(again.levels(&ann.id).await.unwrap(), []);
    again.set_level(&ann.id, &room("r"), Level::Muted).await.unwrap();
    again.set_level(&ann.id, &room("other"), Level::All).await.unwrap();
    again.set_level(&ann.id, &room("r"), Level::All).await.unwrap();
    again.set_level(&UserId("u2".into()), &room("r"), Level::Muted).await.unwrap();
    let mut levels = open().await.levels(&ann.id).await.unwrap();
    levels.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(levels, [(room("other"), Level::All), (room("r"), Level::All)]);
    again.set_level(&ann.id, &room("other"), Level::Mentions).await.unwrap();
    assert_eq!(again.levels(&ann.id).await.unwrap(), [(room("r"), Level::All)]);
}

/// What a search typed as `text` finds: (room, seq), newest first, all pages.
pub(super) async fn found(store: &dyn Store, text: &str) -> Vec<(String, Seq)> {
    let query = crate::words::query(text).expect("words to look for");
    let mut out = Vec::new();
    let mut before = None;
    loop {
        let page = store.search(&query, "", before, 2).await.unwrap();
        out.extend(page.iter().map(|f| (f.message.room.to_string(), f.message.seq)));
        match page.last() {
            Some(last) if page.len() == 2 => before = Some(last.position),
            _ => return out,
        }
    }
}

async fn search_finds_words_folded_korean_inside_words_newest_first_latest_text(open: Reopen) {
    let store = open().await;
    store
        .append(vec![
            new("r", "u1", "a", "Le Café Crème est ouvert"),
            new("r", "u1", "b", "내일 회의는 세 시에 합니다"),
            new("r", "u2", "c", "a helicopter AND a \"quoted\" (thing)*"),
            new("other", "u2", "d", "café again, in another room"),
            new("r", "u1", "e", "secret plans for the café"),
            new("r", "u2", "f", "회의 자료"),
        ])
        .await
        .unwrap();
    let r = |seq| ("r".to_owned(), seq);
    // Case and accents folded, every room (all are public), newest first, in pages.
    assert_eq!(found(&*store, "CAFE ").await, [r(4), ("other".into(), 1), r(1)]);
    assert_eq!(found(&*store, "café crème ").await, [r(1)]);
    // Korean: a word inside the word-with-particle it was written as.
    assert_eq!(found(&*store, "회의 ").await, [r(5), r(2)]);
    assert_eq!(found(&*store, "회의는").await, [r(2)]);
    // The last word while typing is the start of a word.
    assert_eq!(found(&*store, "helic").await, [r(3)]);
    assert_eq!(found(&*store, "helic ").await, Vec::<(String, Seq)>::new(), "a finished word is whole");
    // Quotes, operators and stars are plain words.
    assert_eq!(found(&*store, "\"quoted\" AND (thing)*").await, [r(3)]);
    assert_eq!(found(&*store, "NOT helicopter").await, Vec::<(String, Seq)>::new(), "NOT is a word, not an operator");
    // An edited message is found by its new words only; a deleted one not at all.
    store.append(vec![edit("u1", "e1", 1, "Le bistro est fermé")]).await.unwrap();
    assert_eq!(found(&*store, "creme").await, Vec::<(String, Seq)>::new());
    assert_eq!(found(&*store, "ferme ").await, [r(1)], "at its own place in the order");
    assert_eq!(found(&*store, "bistro est").await, [r(1)]);
    let Post { room, author, id, .. } = new("r", "u1", "d1", "");
    store.append(vec![Post::delete(room, author, id, 4)]).await.unwrap();
    assert_eq!(found(&*store, "plans").await, Vec::<(String, Seq)>::new());
    assert_eq!(found(&*store, "cafe ").await, [("other".into(), 1)]);
}

async fn numbers_per_room_and_deduplicates_per_author(open: Reopen) {
    let store = open().await;
    let out = store
        .append(vec![
            new("a", "u1", "m1", "one"),
            new("b", "u1", "m1", "other room"),
            new("a", "u2", "m1", "same id, other author"),
            new("a", "u1", "m1", "resend"),
        ])
        .await
        .unwrap();
    let numbers: Vec<_> = out
        .iter()
        .map(|a| match a {
            Appended::New(m) => (m.room.to_string(), m.seq, true),
            Appended::Duplicate(s) => ("dup".into(), *s, false),
            Appended::Refused(r) => panic!("refused: {r:?}"),
        })
        .collect();
    assert_eq!(
        numbers,
        [("a".into(), 1, true), ("b".into(), 1, true), ("a".into(), 2, true), ("dup".into(), 1, false)]
    );
    let out = store.append(vec![new("a", "u1", "m1", "resend in a later batch"), new("a", "u1", "m2", "next")]).await;
    assert!(matches!(out.unwrap()[..], [Appended::Duplicate(1), Appended::New(ref m)] if m.seq == 3));
    assert_eq!(store.rooms().await.unwrap(), [room("a"), room("b")]);
}

async fn pages_are_complete_and_ordered(open: Reopen) {
    let store = open().await;
    let batch = (1..=120).map(|n| new("r", "u", &format!("m{n}"), &format!("text {n}"))).collect();
    store.append(batch).await.unwrap();
    let r = room("r");
    let latest = store.latest(&r, 50).await.unwrap();
    assert_eq!(seqs(&latest.messages), (71..=120).collect::<Vec<_>>());
    assert!(latest.has_older);
    assert_eq!(latest.messages[49].text, "text 120");
    let older = store.before(&r, 71, 50).await.unwrap();
    assert_eq!(seqs(&older.messages), (21..=70).collect::<Vec<_>>());
    assert!(older.has_older);
    let oldest = store.before(&r, 21, 50).await.unwrap();
    assert_eq!(seqs(&oldest.messages), (1..=20).collect::<Vec<_>>());
    assert!(!oldest.has_older);
    assert_eq!(seqs(&store.after(&r, 115, 500).await.unwrap()), [116, 117, 118, 119, 120]);
    assert_eq!(store.after(&r, 10, 3).await.unwrap().len(), 3);
    assert_eq!(store.latest(&room("empty"), 50).await.unwrap(), HistoryPage::default());
}

async fn messages_survive_reopening(open: Reopen) {
    {
        let store = open().await;
        store.append(vec![new("r", "u", "m1", "kept")]).await.unwrap();
    }
    let store = open().await;
    let page = store.latest(&room("r"), 50).await.unwrap();
    assert_eq!(page.messages[0].text, "kept");
    assert_eq!(page.messages[0].author.name, "U");
    let out = store.append(vec![new("r", "u", "m2", "next")]).await.unwrap();
    assert!(matches!(&out[0], Appended::New(m) if m.seq == 2));
}

async fn heads_name_each_rooms_newest_number(open: Reopen) {
    let store = open().await;
    store.append(vec![new("a", "u", "1", "x"), new("a", "u", "2", "x"), new("b", "u", "1", "x")]).await.unwrap();
    let mut heads = store.heads(&[room("a"), room("b"), room("never")]).await.unwrap();
    heads.sort();
    assert_eq!(heads, [(room("a"), 2), (room("b"), 1)]);
}

#[tokio::test]
async fn the_suite_on_sqlite() {
    for (name, check) in SUITE {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let open: Reopen = Box::new(move || {
            let dir = dir.clone();
            Box::pin(async move { Arc::new(SqliteStore::open(dir.path()).unwrap()) as Arc<dyn Store> })
        });
        eprintln!("sqlite: {name}");
        check(open).await;
    }
}

fn postgres() -> Postgres {
    Postgres::start(Duration::from_secs(300)).expect("PostgreSQL for the store tests (scripts/setup.sh installs it)")
}

fn pg_opener(url: String) -> Reopen {
    Box::new(move || {
        let url = url.clone();
        Box::pin(async move { Arc::new(PostgresStore::open(&url).await.unwrap()) as Arc<dyn Store> })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_on_postgres() {
    let pg = postgres();
    for (n, (name, check)) in SUITE.iter().enumerate() {
        let db = format!("suite{n}");
        pg.create_database(&db).unwrap();
        eprintln!("postgres: {name}");
        check(pg_opener(pg.url(&db))).await;
    }
}

/// Two nodes posting to one room at once, each with resends of the other's posts:
/// gapless numbers, every post stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_gapless_numbering_and_one_dedupe() {
    let pg = postgres();
    pg.create_database("shared").unwrap();
    // Both start at once: the migrations run once.
    let url = pg.url("shared");
    let (a, b) = tokio::join!(PostgresStore::open(&url), PostgresStore::open(&url));
    let (a, b) = (Arc::new(a.unwrap()), Arc::new(b.unwrap()));
    let node = |store: Arc<PostgresStore>, author: &'static str| {
        tokio::spawn(async move {
            let mut stored = Vec::new();
            for n in 0..40 {
                // Batches span two rooms in both orders, as real batches do.
                let batch = if n % 2 == 0 {
                    vec![new("x", author, &format!("{n}"), "t"), new("y", author, &format!("{n}"), "t")]
                } else {
                    vec![new("y", author, &format!("{n}"), "t"), new("x", author, &format!("{n}"), "t")]
                };
                stored.extend(store.append(batch).await.unwrap());
            }
            stored
        })
    };
    let (from_a, from_b) = tokio::join!(node(a.clone(), "ann"), node(b.clone(), "bob"));
    let all: Vec<Appended> = from_a.unwrap().into_iter().chain(from_b.unwrap()).collect();
    assert!(all.iter().all(|a| matches!(a, Appended::New(_))), "no post taken for another");
    for r in ["x", "y"] {
        let page = a.latest(&room(r), 500).await.unwrap();
        assert_eq!(seqs(&page.messages), (1..=80).collect::<Vec<_>>(), "room {r}: gapless");
    }
    // Ann's node died before acking; her page resends to Bob's node: stored once.
    let again = b.append(vec![new("x", "ann", "7", "t")]).await.unwrap();
    assert!(matches!(again[..], [Appended::Duplicate(_)]), "{again:?}");
    assert_eq!(a.heads(&[room("x")]).await.unwrap(), [(room("x"), 80)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_gets_the_one_secret_kept_in_the_database() {
    let pg = postgres();
    pg.create_database("secret").unwrap();
    let a = PostgresStore::open(&pg.url("secret")).await.unwrap();
    let b = PostgresStore::open(&pg.url("secret")).await.unwrap();
    let kept = a.shared_secret(vec![1; 32]).await.unwrap();
    assert_eq!(kept, Some(vec![1; 32]));
    assert_eq!(b.shared_secret(vec![2; 32]).await.unwrap(), kept, "the second node's own is not used");
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(SqliteStore::open(dir.path()).unwrap().shared_secret(vec![3; 32]).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_gives_errors_then_recovers_by_itself() {
    let mut pg = postgres();
    pg.create_database("away").unwrap();
    let store = PostgresStore::open(&pg.url("away")).await.unwrap();
    store.append(vec![new("r", "u", "1", "before")]).await.unwrap();
    pg.pause();
    let started = std::time::Instant::now();
    let err = store.append(vec![new("r", "u", "2", "while away")]).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "an error, not a hang: {:?}", started.elapsed());
    assert!(!err.to_string().is_empty());
    assert!(store.latest(&room("r"), 10).await.is_err());
    pg.resume().unwrap();
    let out = store.append(vec![new("r", "u", "2", "after")]).await.unwrap();
    assert!(matches!(&out[0], Appended::New(m) if m.seq == 2), "{out:?}");
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_at_start() {
    let port = testkit::services::free_port();
    let err = PostgresStore::open(&format!("postgres://palaver@127.0.0.1:{port}/none")).await.err().unwrap();
    assert!(err.to_string().contains(&format!("127.0.0.1:{port}")), "{err}");
    let err = PostgresStore::open("postgres://[bad").await.err().unwrap();
    assert!(err.to_string().contains("message store"), "{err}");
}

/// A post of another kind by `author` in room `r`.
pub(super) fn edit(author: &str, id: &str, target: Seq, text: &str) -> Post {
    let Post { room, author, id, .. } = new("r", author, id, "");
    Post::edit(room, author, id, target, text.into())
}

pub(super) fn delete(author: &str, id: &str, target: Seq) -> Post {
    let Post { room, author, id, .. } = new("r", author, id, "");
    Post::delete(room, author, id, target)
}

async fn edits_and_deletes_change_the_message_and_are_numbered_events(open: Reopen) {
    use super::Refusal;
    let store = open().await;
    store.append(vec![new("r", "u1", "a", "first words"), new("r", "u2", "b", "bob's")]).await.unwrap();
    let out = store.append(vec![edit("u1", "e1", 1, "better words")]).await.unwrap();
    assert!(matches!(&out[..], [Appended::New(m)] if m.seq == 3 && m.target == Some(1) && m.text == "better words"));
    // Refused, each without taking a number: someone else's, no such message, an event.
    let out = store
        .append(vec![edit("u2", "x1", 1, "hijack"), edit("u1", "x2", 99, "nothing"), delete("u1", "x3", 3)])
        .await
        .unwrap();
    assert_eq!(
        out,
        [
            Appended::Refused(Refusal::NotYours),
            Appended::Refused(Refusal::NoSuchMessage),
            Appended::Refused(Refusal::NoSuchMessage)
        ]
    );
    let page = store.latest(&room("r"), 50).await.unwrap();
    assert_eq!(seqs(&page.messages), [1, 2, 3], "no number taken by a refusal");
    assert!(page.messages[0].edited && page.messages[0].text == "better words", "the message in its latest state");

    let out = store.append(vec![delete("u1", "d1", 1)]).await.unwrap();
    assert!(matches!(&out[..], [Appended::New(m)] if m.seq == 4 && m.target == Some(1)));
    let again = store.append(vec![delete("u1", "d1", 1), edit("u1", "e2", 1, "too late")]).await.unwrap();
    assert_eq!(again, [Appended::Duplicate(4), Appended::Refused(Refusal::Deleted)], "a resend; a deleted message");
    let all = store.after(&room("r"), 0, 50).await.unwrap();
    assert!(all[0].deleted && all[0].text.is_empty(), "{:?}", all[0]);
    for m in &all {
        assert!(!m.text.contains("words"), "the deleted message's text is gone, its edits' too: {m:?}");
    }
    assert_eq!(all.iter().map(|m| m.kind).collect::<Vec<_>>(), {
        use palaver_protocol::MessageKind::*;
        [Text, Text, Edit, Delete]
    });
    let out = store.append(vec![new("r", "u1", "c", "next")]).await.unwrap();
    assert!(matches!(&out[..], [Appended::New(m)] if m.seq == 5));
}

fn react(author: &str, id: &str, target: Seq, emoji: &str, remove: bool) -> Post {
    let Post { room, author, id, .. } = new("r", author, id, "");
    Post::react(room, author, id, target, emoji.into(), remove)
}

fn reply(author: &str, id: &str, target: Seq, text: &str) -> Post {
    let Post { room, author, id, .. } = new("r", author, id, "");
    Post::reply(room, author, id, text.into(), Some(target))
}

/// Each message's reactions as (emoji, who), from a read.
fn chips(m: &ChatMessage) -> Vec<(String, Vec<String>)> {
    m.reactions.iter().map(|r| (r.emoji.clone(), r.by.iter().map(|u| u.id.to_string()).collect())).collect()
}

async fn replies_quote_reactions_count_once_per_person_mentions_are_kept(open: Reopen) {
    use super::Refusal;
    use palaver_protocol::{Quote, MAX_REACTIONS, REACTIONS};
    let store = open().await;
    let bob = User { id: UserId("u2".into()), name: "U2".into(), handle: None };
    let first = new("r", "u1", "a", "the question\nsecond line").mentioning(vec![bob.clone()]);
    store.append(vec![first, new("r", "u2", "b", "other")]).await.unwrap();
    // A reply comes back with its quote, live and when read.
    let out =
        store.append(vec![reply("u2", "r1", 1, "the answer"), reply("u2", "r2", 77, "to nothing")]).await.unwrap();
    let quote = Quote::of("U1", "the question\nsecond line", false);
    assert!(matches!(&out[0], Appended::New(m) if m.seq == 3 && m.quote.as_ref() == Some(&quote)), "{out:?}");
    assert_eq!(out[1], Appended::Refused(Refusal::NoSuchMessage), "a reply to a message not in the room");
    // Reactions: the same one twice (two tabs of one person) counts once; taking it
    // back takes it away; each change is a numbered event.
    let out = store
        .append(vec![
            react("u1", "x1", 1, "👍", false),
            react("u1", "x2", 1, "👍", false),
            react("u2", "x3", 1, "🎉", false),
            react("u2", "x4", 1, "👍", false),
            react("u2", "x5", 1, "🎉", true),
            react("u2", "x6", 3, "🎉", false),
        ])
        .await
        .unwrap();
    assert!(out.iter().all(|a| matches!(a, Appended::New(_))), "{out:?}");
    let all = store.after(&room("r"), 0, 50).await.unwrap();
    assert_eq!(seqs(&all), (1..=9).collect::<Vec<_>>());
    assert_eq!(chips(&all[0]), [("👍".into(), vec!["u1".into(), "u2".into()])]);
    assert_eq!(chips(&all[2]), [("🎉".into(), vec!["u2".into()])]);
    assert_eq!(all[0].mentions, std::slice::from_ref(&bob), "mentions are kept with the message");
    assert_eq!(all[2].quote.as_ref(), Some(&quote));
    // At most MAX_REACTIONS kinds: one more kind is refused, more of a kind is not.
    let many: Vec<Post> = REACTIONS[1..MAX_REACTIONS]
        .iter()
        .enumerate()
        .map(|(i, e)| react("u1", &format!("k{i}"), 1, e, false))
        .collect();
    store.append(many).await.unwrap();
    let out = store
        .append(vec![react("u1", "over", 1, REACTIONS[MAX_REACTIONS], false), react("u3", "same", 1, "👍", false)])
        .await
        .unwrap();
    assert_eq!(out[0], Appended::Refused(Refusal::TooManyReactions));
    assert!(matches!(out[1], Appended::New(_)));
    let page = store.latest(&room("r"), 50).await.unwrap();
    assert_eq!(page.messages[0].reactions.len(), MAX_REACTIONS);
    assert_eq!(page.messages[0].reactions[0].by.len(), 3);
    // Deleting the original: its reactions go, and replies quote it as deleted.
    let head = page.messages.last().unwrap().seq;
    store.append(vec![delete("u1", "gone", 1)]).await.unwrap();
    let out = store.append(vec![react("u2", "late", 1, "👍", false), reply("u2", "late2", 1, "hm")]).await.unwrap();
    assert_eq!(out, [Appended::Refused(Refusal::Deleted), Appended::Refused(Refusal::Deleted)]);
    let page = store.latest(&room("r"), 50).await.unwrap();
    assert!(page.messages[0].reactions.is_empty() && page.messages[0].mentions.is_empty());
    assert_eq!(page.messages[2].quote, Some(Quote::of("U1", "", true)));
    // The page around a message: half its lines before it, and whether older ones exist.
    let around = store.around(&room("r"), 3, 2).await.unwrap();
    assert_eq!((seqs(&around.messages), around.has_older), (vec![2, 3], true));
    let around = store.around(&room("r"), 1, 50).await.unwrap();
    assert_eq!((around.messages.len() as Seq, around.has_older), (head + 1, false));
}

/// A message stored by the first version of the schema, in room "r" as number 1.
const OLD_MESSAGE: &str = "INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at) \
                           VALUES ('r', 1, 'old', 'u1', 'U1', 'text', 'from the first version', 5);";

/// What a database of the first version holds once brought up to date: its messages,
/// and everything newer working on them.
async fn brought_up_to_date(store: Arc<dyn Store>) {
    let page = store.latest(&room("r"), 50).await.unwrap();
    assert_eq!(page.messages.len(), 1);
    let old = &page.messages[0];
    assert_eq!((old.text.as_str(), old.edited, old.deleted), ("from the first version", false, false));
    assert!(old.reactions.is_empty() && old.mentions.is_empty() && old.quote.is_none());
    let out = store
        .append(vec![
            react("u2", "x", 1, "🎉", false),
            reply("u2", "y", 1, "still here"),
            edit("u1", "z", 1, "from the first version, edited"),
        ])
        .await
        .unwrap();
    assert!(out.iter().all(|a| matches!(a, Appended::New(_))), "{out:?}");
    let all = store.after(&room("r"), 0, 50).await.unwrap();
    assert_eq!(seqs(&all), [1, 2, 3, 4]);
    assert_eq!(chips(&all[0]), [("🎉".into(), vec!["u2".into()])]);
    assert_eq!(all[0].text, "from the first version, edited");
    assert_eq!(all[2].quote.as_ref().map(|q| q.text.as_str()), Some("from the first version, edited"), "as it is now");
    // Messages stored before there was a search index are found too.
    assert_eq!(found(&*store, "first version").await, [("r".into(), 1)]);
    assert_eq!(found(&*store, "still here").await, [("r".into(), 3)]);
    // Its author is someone an `@name` can name, by the name they wrote under.
    let named = store.people_named(vec!["u1".into()], 5).await.unwrap();
    assert_eq!(named, [User { id: UserId("u1".into()), name: "U1".into(), handle: None }]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_first_version_keeps_its_messages_when_brought_up_to_date() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("palaver.db")).unwrap();
        conn.execute_batch(include_str!("../../migrations/0001_messages.sql")).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(OLD_MESSAGE).unwrap();
    }
    brought_up_to_date(Arc::new(SqliteStore::open(dir.path()).unwrap())).await;

    let pg = postgres();
    pg.create_database("first").unwrap();
    let setup = format!(
        "{} CREATE TABLE palaver_schema (version INT NOT NULL); INSERT INTO palaver_schema VALUES (1); \
         INSERT INTO rooms (room, last_seq) VALUES ('r', 1); {OLD_MESSAGE}",
        include_str!("../../migrations/postgres/0001_messages.sql")
    );
    pg.sql("first", &setup).unwrap();
    brought_up_to_date(Arc::new(PostgresStore::open(&pg.url("first")).await.unwrap())).await;
}

/// What a message's author typed and then edited away.
const SECRET: &str = "hunter2xyzzy";

/// Message 1 edited to hold [`SECRET`] (naming u2), then again without it, with a reply
/// quoting it and a reaction between; message 6 the same, both edits in one batch.
async fn edit_a_secret_away(store: &dyn Store) {
    let named = User { id: UserId("u2".into()), name: "U2".into(), handle: None };
    store.append(vec![new("r", "u1", "a", "the plan"), reply("u2", "b", 1, "which plan?")]).await.unwrap();
    let secret = format!("the plan: @U2 {SECRET}");
    store.append(vec![edit("u1", "e1", 1, &secret).mentioning(vec![named.clone()])]).await.unwrap();
    store.append(vec![react("u2", "x", 1, "👍", false), edit("u1", "e2", 1, "the plan, later")]).await.unwrap();
    let out = store
        .append(vec![
            new("r", "u1", "c", "another"),
            edit("u1", "e3", 6, &format!("another {SECRET}")).mentioning(vec![named]),
            edit("u1", "e4", 6, "another one"),
        ])
        .await
        .unwrap();
    assert!(out.iter().all(|a| matches!(a, Appended::New(_))), "{out:?}");
}

async fn an_edit_is_served_with_its_messages_current_text_an_earlier_text_nowhere(open: Reopen) {
    use palaver_protocol::{MessageKind, Quote};
    let store = open().await;
    edit_a_secret_away(&*store).await;
    let r = room("r");
    let served = |what: &str, messages: &[ChatMessage]| {
        for m in messages {
            assert!(!m.text.contains(SECRET), "{what} serves the text edited away: {m:?}");
            let quoted = m.quote.as_ref().map_or("", |q| q.text.as_str());
            assert!(!quoted.contains(SECRET), "{what} quotes the text edited away: {m:?}");
            assert!(m.mentions.is_empty(), "{what} names whom the text edited away named: {m:?}");
        }
    };
    let all = store.after(&r, 0, 50).await.unwrap();
    assert_eq!(seqs(&all), (1..=8).collect::<Vec<_>>());
    served("a resume from the start", &all);
    served("a resume from before the edits", &store.after(&r, 2, 500).await.unwrap());
    served("the newest page", &store.latest(&r, 50).await.unwrap().messages);
    served("an older page", &store.before(&r, 8, 50).await.unwrap().messages);
    served("the page around an edit", &store.around(&r, 3, 50).await.unwrap().messages);
    // Every edit, replayed, carries its message's text as it is now; the reply quotes it.
    let edits: Vec<(Seq, &str)> =
        all.iter().filter(|m| m.kind == MessageKind::Edit).map(|m| (m.target.unwrap(), m.text.as_str())).collect();
    assert_eq!(edits, [(1, "the plan, later"), (1, "the plan, later"), (6, "another one"), (6, "another one")]);
    assert_eq!(all[1].quote, Some(Quote::of("U1", "the plan, later", false)));
    assert_eq!(found(&*store, SECRET).await, Vec::<(String, Seq)>::new());
    // Reopened (another node), the same.
    served("a resume, reopened", &open().await.after(&r, 0, 50).await.unwrap());
    // Once the message is deleted, its edits carry no text at all.
    store.append(vec![delete("u1", "d", 1)]).await.unwrap();
    let all = store.after(&r, 0, 50).await.unwrap();
    assert!(all.iter().filter(|m| m.target == Some(1) && m.kind == MessageKind::Edit).all(|m| m.text.is_empty()));
}

/// Rows of `messages` that are lines (not changes to other messages).
fn lines(messages: &[ChatMessage]) -> usize {
    messages.iter().filter(|m| !m.kind.is_change()).count()
}

/// Whether `messages` are numbered `from`, `from + 1`, ... without a hole.
fn unbroken(messages: &[ChatMessage]) -> bool {
    messages.windows(2).all(|w| w[1].seq == w[0].seq + 1)
}

/// `count` reactions to `target`, each by someone else.
fn reactions(tag: &str, count: usize, target: Seq) -> Vec<Post> {
    (0..count).map(|n| react(&format!("{tag}{n}"), &format!("{tag}{n}"), target, "👍", false)).collect()
}

async fn pages_count_the_lines_people_read_not_events(open: Reopen) {
    use palaver_protocol::HISTORY_PAGE;
    let store = open().await;
    let r = room("r");
    let texts = |from: usize, to: usize| -> Vec<Post> {
        (from..=to).map(|n| new("r", "u1", &format!("m{n}"), &format!("text {n}"))).collect()
    };
    // 50 messages, then 100 reactions: the first page still has all 50.
    store.append(texts(1, 50)).await.unwrap();
    store.append(reactions("a", 100, 50)).await.unwrap();
    let page = store.latest(&r, HISTORY_PAGE).await.unwrap();
    assert_eq!(lines(&page.messages), 50, "every message, not the reactions alone");
    assert_eq!((page.messages.len(), page.has_older), (150, false), "and the reactions after the oldest");
    // A rename notice, then messages each followed by reactions (rows 151 to 191).
    let Post { room: place, author, id, .. } = new("r", "u1", "n", "");
    store.append(vec![Post::renamed(place, author, id, "old name".into())]).await.unwrap();
    for n in 51..=60 {
        let mut batch = texts(n, n);
        batch.extend(reactions(&format!("b{n}-"), 3, 152 + 4 * (n as Seq - 51)));
        store.append(batch).await.unwrap();
    }
    let page = store.latest(&r, HISTORY_PAGE).await.unwrap();
    assert_eq!(lines(&page.messages), 50);
    assert!(unbroken(&page.messages) && page.has_older);
    assert_eq!((page.messages[0].seq, page.messages.last().unwrap().seq), (12, 191), "a rename is a line");
    let older = store.before(&r, 12, HISTORY_PAGE).await.unwrap();
    assert_eq!((seqs(&older.messages), older.has_older), ((1..=11).collect(), false));
    // Around a line or an event: half a page of lines before it, the rest after.
    let around = store.around(&r, 100, HISTORY_PAGE).await.unwrap();
    assert_eq!((around.messages[0].seq, around.messages.last().unwrap().seq), (26, 191));
    assert!(unbroken(&around.messages) && around.has_older);
    // After 30, the 100 reactions from 51 on are more than four rows a line: the page
    // stops in them (at 25 lines' worth of rows from 30), 46 lines in all.
    let around = store.around(&r, 30, HISTORY_PAGE).await.unwrap();
    assert_eq!(lines(&around.messages), 46);
    assert_eq!((around.messages[0].seq, around.messages.last().unwrap().seq), (5, 129));
    assert!(unbroken(&around.messages));
    // Near the start of the room, more after it.
    let around = store.around(&r, 3, HISTORY_PAGE).await.unwrap();
    assert_eq!((seqs(&around.messages), around.has_older), ((1..=50).collect(), false));
    // Reactions toggled on and on: a page reads at most four rows a line, the newest
    // first, and the pages before it still meet it and each other.
    store.append(reactions("c", 600, 188)).await.unwrap();
    let head = 791;
    let mut page = store.latest(&r, HISTORY_PAGE).await.unwrap();
    assert_eq!(page.messages.len(), HISTORY_PAGE * super::history::ROWS_PER_LINE);
    assert_eq!(page.messages.last().unwrap().seq, head);
    let mut seen = page.messages.clone();
    while page.has_older {
        page = store.before(&r, page.messages[0].seq, HISTORY_PAGE).await.unwrap();
        assert!(lines(&page.messages) <= HISTORY_PAGE);
        seen.splice(0..0, page.messages.iter().cloned());
    }
    assert_eq!(seqs(&seen), (1..=head).collect::<Vec<_>>(), "every row once, no hole");
    // A resume still gets every event after its place.
    assert_eq!(seqs(&store.after(&r, 150, 1000).await.unwrap()), (151..=head).collect::<Vec<_>>());
    // Numbers past any a store holds: the newest page, nothing after.
    let newest = store.latest(&r, HISTORY_PAGE).await.unwrap();
    assert_eq!(store.before(&r, Seq::MAX, HISTORY_PAGE).await.unwrap(), newest);
    assert_eq!(store.around(&r, Seq::MAX, HISTORY_PAGE).await.unwrap().messages.last().map(|m| m.seq), Some(head));
    assert_eq!(store.after(&r, Seq::MAX, HISTORY_PAGE).await.unwrap(), []);
}

/// Whether `needle` is anywhere in `haystack`.
fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The bytes of a SQLite store's file and its write-ahead log.
fn sqlite_bytes(dir: &std::path::Path) -> Vec<u8> {
    ["palaver.db", "palaver.db-wal"].iter().flat_map(|f| std::fs::read(dir.join(f)).unwrap_or_default()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_edited_away_is_kept_nowhere_in_either_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    edit_a_secret_away(&store).await;
    assert!(!contains(&sqlite_bytes(dir.path()), SECRET), "the database file and its log");

    let pg = postgres();
    pg.create_database("edited").unwrap();
    let store = PostgresStore::open(&pg.url("edited")).await.unwrap();
    edit_a_secret_away(&store).await;
    // No live row holds it, nor whom it named (what dead row versions hold until vacuum
    // is documented in SECURITY.md).
    let kept = format!("SELECT count(*) FROM messages WHERE text LIKE '%{SECRET}%' OR mentions IS NOT NULL");
    assert_eq!(pg.sql("edited", &kept).unwrap(), "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_of_the_version_before_keeps_no_text_edited_away() {
    // What the version before kept: the first edit's text beside the second's (written
    // last, once the tables are as they were: dropping a column rewrites the rows).
    let restore = format!(
        "DROP TABLE IF EXISTS push_subscriptions; DROP INDEX IF EXISTS messages_edits; DROP INDEX IF EXISTS people_by_name; \
         DROP TABLE IF EXISTS members; DROP TRIGGER IF EXISTS members_joined; DROP TRIGGER IF EXISTS members_left; \
         DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS access_tokens; DROP TABLE IF EXISTS invites; \
         DROP TABLE IF EXISTS passkeys; DROP TABLE IF EXISTS ceremonies; \
         DROP TABLE IF EXISTS room_rules; DROP TABLE IF EXISTS room_members; DROP TABLE IF EXISTS audit; \
         DROP TABLE IF EXISTS reports; ALTER TABLE messages DROP COLUMN removed; \
         DROP INDEX IF EXISTS messages_by_author; \
         DROP TABLE IF EXISTS accounts; DROP TABLE IF EXISTS link_previews; \
         DROP TRIGGER IF EXISTS messages_preview_follows_text; \
         ALTER TABLE messages DROP COLUMN preview; ALTER TABLE messages DROP COLUMN preview_hidden; \
         DROP TABLE IF EXISTS files; DROP TRIGGER IF EXISTS messages_files_follow_delete; \
         ALTER TABLE messages DROP COLUMN files; \
         UPDATE messages SET text = 'the plan: {SECRET}' WHERE room = 'r' AND seq = 3;"
    );
    let dir = tempfile::tempdir().unwrap();
    edit_a_secret_away(&SqliteStore::open(dir.path()).unwrap()).await;
    {
        let conn = rusqlite::Connection::open(dir.path().join("palaver.db")).unwrap();
        conn.execute_batch(&restore).unwrap();
        conn.pragma_update(None, "user_version", 8).unwrap();
    }
    assert!(contains(&sqlite_bytes(dir.path()), SECRET), "kept by the version before");
    let store = SqliteStore::open(dir.path()).unwrap();
    assert!(!contains(&sqlite_bytes(dir.path()), SECRET), "blanked on the way up, gone from the file and its log");
    let all = store.after(&room("r"), 0, 50).await.unwrap();
    assert!(all.iter().all(|m| !m.text.contains(SECRET)));

    let pg = postgres();
    pg.create_database("before").unwrap();
    edit_a_secret_away(&PostgresStore::open(&pg.url("before")).await.unwrap()).await;
    let restore =
        restore.replace("DROP TRIGGER IF EXISTS members_joined; DROP TRIGGER IF EXISTS members_left;", "").replace(
            "DROP TRIGGER IF EXISTS messages_preview_follows_text;",
            "DROP TRIGGER IF EXISTS messages_preview_follows_text ON messages; \
             DROP FUNCTION IF EXISTS palaver_preview_follows_text();",
        );
    let restore = restore.replace(
        "DROP TRIGGER IF EXISTS messages_files_follow_delete;",
        "DROP TRIGGER IF EXISTS messages_files_follow_delete ON messages; \
         DROP FUNCTION IF EXISTS palaver_files_follow_delete();",
    );
    let restore =
        format!("{restore} DROP TRIGGER IF EXISTS members_kept ON reads; DROP FUNCTION IF EXISTS palaver_members();");
    pg.sql("before", &format!("{restore} UPDATE palaver_schema SET version = 7;")).unwrap();
    let kept = format!("SELECT count(*) FROM messages WHERE text LIKE '%{SECRET}%'");
    assert_eq!(pg.sql("before", &kept).unwrap(), "1", "kept by the version before");
    let store = PostgresStore::open(&pg.url("before")).await.unwrap();
    assert_eq!(pg.sql("before", &kept).unwrap(), "0", "blanked on the way up");
    // And the function nodes call edits as this version does.
    store.append(vec![edit("u1", "e5", 1, &format!("once more {SECRET}")), edit("u1", "e6", 1, "done")]).await.unwrap();
    assert_eq!(pg.sql("before", &kept).unwrap(), "0");
}
