//! The SQLite store's own checks (the suite both backends share is `store/tests.rs`).

use super::messages::WIPE_EDITS;
use super::reading::sqlite_params;
use super::schema::MIGRATIONS;
use super::*;
use crate::store::tests::new;

fn seqs(messages: &[ChatMessage]) -> Vec<Seq> {
    messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn numbering_stays_gapless_across_batches_resends_and_a_failed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.append(vec![new("r", "u", "m1", "one"), new("r", "u", "m2", "two")]).await.unwrap();
    let out = store.append(vec![new("r", "u", "m2", "resend"), new("r", "u", "m3", "three")]).await.unwrap();
    assert!(matches!(out[..], [Appended::Duplicate(2), Appended::New(ref m)] if m.seq == 3));
    // A batch the database refuses as a whole leaves no number taken.
    store.writer.lock().unwrap().conn.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.text = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END").unwrap();
    assert!(store.append(vec![new("r", "u", "m4", "four"), new("r", "u", "m5", "boom")]).await.is_err());
    store.writer.lock().unwrap().conn.execute_batch("DROP TRIGGER refuse").unwrap();
    let out = store.append(vec![new("r", "u", "m4", "four")]).await.unwrap();
    assert!(matches!(&out[0], Appended::New(m) if m.seq == 4), "{out:?}");
    let page = store.latest(&RoomId::parse("r").unwrap(), 50).await.unwrap();
    assert_eq!(seqs(&page.messages), [1, 2, 3, 4]);
}

#[test]
fn every_commit_is_synced_to_disk_through_the_write_ahead_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let writer = store.writer.lock().unwrap();
    let synchronous: i64 = writer.conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(synchronous, 2, "synchronous=FULL: an acknowledged message survives power loss");
    let journal: String = writer.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(journal, "wal");
}

#[tokio::test]
async fn a_search_index_numbered_by_search_docs_is_kept_and_follows_edits_deletes_and_new_messages() {
    use crate::store::tests::{delete, edit, found};
    let dir = tempfile::tempdir().unwrap();
    {
        // A database of the version before: its search index numbers messages by
        // rows of `search_docs`.
        let conn = Connection::open(dir.path().join("palaver.db")).unwrap();
        for sql in &MIGRATIONS[..7] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 7).unwrap();
        conn.execute_batch(
            "INSERT INTO messages (room, seq, client_id, author_id, author_name, kind, text, sent_at) VALUES \
             ('r', 1, 'c1', 'u', 'U', 'text', 'kept words', 1), ('s', 1, 'c2', 'u', 'U', 'text', 'more words', 2), \
             ('r', 2, 'c3', 'u', 'U', 'text', 'last words', 3); \
             INSERT INTO search_docs (id, room, seq) VALUES (1, 'r', 1), (2, 's', 1), (3, 'r', 2); \
             INSERT INTO search_index (rowid, words) VALUES (1, 'kept words'), (2, 'more words'), (3, 'last words');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let pair = |room: &str, seq: Seq| (room.to_string(), seq);
    assert_eq!(found(&store, "words").await, [pair("r", 2), pair("s", 1), pair("r", 1)], "newest first");
    store.append(vec![new("s", "u", "c4", "new words")]).await.unwrap();
    store.append(vec![edit("u", "e", 1, "changed"), delete("u", "d", 2)]).await.unwrap();
    assert_eq!(found(&store, "words").await, [pair("s", 2), pair("s", 1)]);
    assert_eq!(found(&store, "changed").await, [pair("r", 1)]);
    assert_eq!(found(&store, "kept").await, []);
    // Reopened, the next message is numbered after the newest.
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    store.append(vec![new("r", "u", "c5", "newest words")]).await.unwrap();
    assert_eq!(found(&store, "words").await, [pair("r", 5), pair("s", 2), pair("s", 1)]);
    let writer = store.writer.lock().unwrap();
    let tables: i64 = writer
        .conn
        .query_row("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'search_docs'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0);
}

#[test]
fn a_search_finds_its_messages_through_the_index_of_search_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let writer = store.writer.lock().unwrap();
    let plan: Vec<String> = writer
        .conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT m.text FROM search_index s JOIN messages m ON m.doc = s.rowid \
             WHERE search_index MATCH 'x' AND s.rowid < 10 ORDER BY s.rowid DESC LIMIT 20",
        )
        .unwrap()
        .query_map([], |r| r.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(plan.iter().any(|step| step.contains("INDEX messages_doc")), "{plan:?}");
}

/// The writer has a connection of its own: with every reader taken (by page loads
/// that have not finished), posts still commit at once while reads wait their turn.
#[tokio::test]
async fn posts_commit_at_once_while_every_reader_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let _permits = store.reading.clone().acquire_many_owned(READERS as u32).await.unwrap();
    let _readers: Vec<_> = store.readers.iter().map(|r| r.lock().unwrap()).collect();
    let room = RoomId::parse("r").unwrap();
    let wait = std::time::Duration::from_secs(1);
    let stored = tokio::time::timeout(wait, store.append(vec![new("r", "u", "m1", "one")])).await;
    assert!(matches!(&stored.expect("committed at once").unwrap()[..], [Appended::New(m)] if m.seq == 1));
    let read = tokio::time::timeout(std::time::Duration::from_millis(100), store.latest(&room, 50)).await;
    assert!(read.is_err(), "reads wait for a reader");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("palaver.db"), vec![0x5a; 8192]).unwrap();
    let err = SqliteStore::open(dir.path()).err().expect("refused");
    assert!(err.to_string().contains("palaver.db"), "{err}");
}

#[test]
fn pages_and_edits_read_only_the_rows_they_need() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let writer = store.writer.lock().unwrap();
    let plan = |sql: &str| -> Vec<String> {
        let mut stmt = writer.conn.prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite_params(sql))).unwrap();
        let (mut rows, mut steps) = (stmt.raw_query(), Vec::new());
        while let Some(row) = rows.next().unwrap() {
            steps.push(row.get(3).unwrap());
        }
        steps
    };
    let reads = [
        history::NTH_LINE_BEFORE,
        history::ROWS_BEFORE,
        history::NTH_LINE_FROM,
        history::LAST_ROW_FROM,
        history::ROWS_BETWEEN,
        history::ROWS_AFTER,
    ];
    for sql in reads {
        let plan = plan(sql);
        // A range of the primary key, in its order: never the whole room, never sorted.
        assert!(plan.iter().any(|step| step.contains("PRIMARY KEY (room=? AND seq")), "{sql}: {plan:?}");
        assert!(!plan.iter().any(|step| step.contains("SCAN") || step.contains("TEMP B-TREE")), "{sql}: {plan:?}");
    }
    let plan = plan(WIPE_EDITS);
    assert!(plan.iter().any(|step| step.contains("INDEX messages_edits (room=? AND target=?)")), "{plan:?}");
}
