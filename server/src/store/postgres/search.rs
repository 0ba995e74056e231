//! The PostgreSQL store's search index: a row of each text message's words
//! (`search_docs`, a `tsvector` under a GIN index), kept in the commit that changes it.

use super::reading::{row_to_message_at, COLUMNS};
use super::{query, PostgresStore};
use crate::store::history::SERVED_TAIL;
use crate::store::{Found, Post, StoreError};
use crate::words::Query;
use palaver_protocol::{MessageKind, Quote};

/// Indexes messages (rooms, numbers and their words, space-separated), in the order
/// given: the order of the search results.
const INSERT_DOCS: &str = "INSERT INTO search_docs (room, seq, words) \
     SELECT r, s, array_to_tsvector(string_to_array(w, ' ')) \
     FROM unnest($1::text[], $2::bigint[], $3::text[]) WITH ORDINALITY AS t (r, s, w, n) ORDER BY n";

/// Keeps the search index up to date with what a batch stored, in its transaction: new
/// text messages in, edited ones under their new words, deleted ones out.
pub(super) async fn index(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: &[Post],
    numbered: &[(Option<i64>, String, Option<Quote>)],
) -> Result<(), tokio_postgres::Error> {
    let (mut rooms, mut seqs, mut words) = (Vec::new(), Vec::new(), Vec::new());
    for (post, (seq, state, _)) in batch.iter().zip(numbered) {
        let (Some(seq), "new") = (*seq, state.as_str()) else { continue };
        let words_of = |text: &str| crate::words::tokens(text).join(" ");
        match (post.kind, post.target) {
            (MessageKind::Text, _) => {
                rooms.push(post.room.as_str());
                seqs.push(seq);
                words.push(words_of(&post.text));
            }
            (MessageKind::Edit, Some(target)) => {
                let sql = "UPDATE search_docs SET words = array_to_tsvector(string_to_array($3, ' ')) \
                           WHERE room = $1 AND seq = $2";
                let stmt = tx.prepare_cached(sql).await?;
                tx.execute(&stmt, &[&post.room.as_str(), &(target as i64), &words_of(&post.text)]).await?;
            }
            (MessageKind::Delete, Some(target)) => {
                let stmt = tx.prepare_cached("DELETE FROM search_docs WHERE room = $1 AND seq = $2").await?;
                tx.execute(&stmt, &[&post.room.as_str(), &(target as i64)]).await?;
            }
            _ => {}
        }
    }
    if !rooms.is_empty() {
        let stmt = tx.prepare_cached(INSERT_DOCS).await?;
        tx.execute(&stmt, &[&rooms, &seqs, &words]).await?;
    }
    Ok(())
}

/// A query in PostgreSQL's `tsquery` syntax: every word quoted (so nothing typed is an
/// operator), all required, the prefixes with `:*`.
fn ts_query(query: &Query) -> String {
    let quoted = |w: &str| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"));
    let words = query.words.iter().map(|w| quoted(w));
    let prefixes = query.prefixes.iter().map(|p| format!("{}:*", quoted(p)));
    words.chain(prefixes).collect::<Vec<_>>().join(" & ")
}

/// Indexes every text message stored before there was a search index.
pub(super) async fn index_stored(tx: &tokio_postgres::Transaction<'_>) -> Result<(), tokio_postgres::Error> {
    let rows = tx
        .query(
            "SELECT room, seq, text FROM messages WHERE kind = 'text' AND NOT deleted ORDER BY sent_at, room, seq",
            &[],
        )
        .await?;
    for chunk in rows.chunks(1_000) {
        let rooms: Vec<&str> = chunk.iter().map(|r| r.get(0)).collect();
        let seqs: Vec<i64> = chunk.iter().map(|r| r.get(1)).collect();
        let words: Vec<String> = chunk.iter().map(|r| crate::words::tokens(r.get(2)).join(" ")).collect();
        tx.execute(INSERT_DOCS, &[&rooms, &seqs, &words]).await?;
    }
    Ok(())
}

/// Up to `limit` messages found by `words`, newest first (see
/// [`crate::store::Store::search`]).
pub(super) async fn search(
    store: &PostgresStore,
    words: &Query,
    reader: &str,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<Found>, StoreError> {
    let client = store.client().await?;
    let columns =
        COLUMNS.split(", ").map(|c| format!("m.{c}")).chain([SERVED_TAIL.to_owned()]).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT d.id, {columns} FROM search_docs d JOIN messages m ON m.room = d.room AND m.seq = d.seq \
         WHERE d.words @@ $1::text::tsquery AND d.id < $2 AND {} ORDER BY d.id DESC LIMIT $3",
        readable!("m.room", "$4")
    );
    let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
    let rows = query(&client, &sql, &[&ts_query(words), &before, &(limit as i64), &reader]).await?;
    rows.iter().map(|r| Ok(Found { position: r.get::<_, i64>(0) as u64, message: row_to_message_at(r, 1)? })).collect()
}
