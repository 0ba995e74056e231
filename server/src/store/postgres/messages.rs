//! The PostgreSQL store's writer: each batch in one call of `palaver_append` (numbers
//! taken under the rooms' row locks) and one commit, tried again on a conflict with
//! another node's.

use super::search::index;
use super::PostgresStore;
use crate::store::files::files_to_db;
use crate::store::{mentions_to_db, Appended, Post, Refusal, StoreError};
use palaver_protocol::{ChatMessage, Quote, Seq, MAX_REACTIONS};
use tokio_postgres::error::SqlState;

/// Times a batch is tried again when the database undoes it for a conflict with another
/// node's (a deadlock or serialization failure), before its posts get an error.
const CONFLICT_RETRIES: usize = 3;

impl PostgresStore {
    async fn append_once(&self, batch: &[Post]) -> Result<Vec<(Option<i64>, String, Option<Quote>)>, Attempt> {
        let mut client = self.appends.get().await.map_err(|e| Attempt::Failed(StoreError::backend(e)))?;
        let tx = client.transaction().await?;
        let stmt = tx
            .prepare_cached(
                "SELECT out_seq, out_state, out_quote_author, out_quote_text, out_quote_deleted \
                 FROM palaver_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await?;
        let rooms: Vec<&str> = batch.iter().map(|p| p.room.as_str()).collect();
        let ids: Vec<&str> = batch.iter().map(|p| p.id.as_str()).collect();
        let authors: Vec<&str> = batch.iter().map(|p| p.author.id.as_str()).collect();
        let names: Vec<&str> = batch.iter().map(|p| p.author.name.as_str()).collect();
        let kinds: Vec<&str> = batch.iter().map(Post::stored_kind).collect();
        let texts: Vec<&str> = batch.iter().map(|p| p.text.as_str()).collect();
        let sent: Vec<i64> = batch.iter().map(|p| p.sent_at).collect();
        let targets: Vec<Option<i64>> = batch.iter().map(|p| p.target.map(|t| t as i64)).collect();
        let mentions: Vec<Option<String>> = batch.iter().map(|p| mentions_to_db(&p.mentions)).collect();
        let max = MAX_REACTIONS as i32;
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 10] =
            [&rooms, &ids, &authors, &names, &kinds, &texts, &sent, &targets, &mentions, &max];
        let rows = tx.query(&stmt, &params).await?;
        let numbered: Vec<(Option<i64>, String, Option<Quote>)> = rows
            .iter()
            .map(|r| {
                let quote = r
                    .get::<_, Option<String>>(2)
                    .map(|author| Quote::of(&author, &r.get::<_, Option<String>>(3).unwrap_or_default(), r.get(4)));
                (r.get::<_, Option<i64>>(0), r.get::<_, String>(1), quote)
            })
            .collect();
        index(&tx, batch, &numbered).await?;
        for (post, (seq, state, _)) in batch.iter().zip(&numbered) {
            if let (Some(files), Some(seq), "new") = (files_to_db(&post.files), seq, state.as_str()) {
                let sql = "UPDATE messages SET files = $3 WHERE room = $1 AND seq = $2";
                tx.execute(sql, &[&post.room.as_str(), seq, &files]).await?;
            }
        }
        tx.commit().await?;
        Ok(numbered)
    }
}

/// How one try at storing a batch failed.
enum Attempt {
    /// Undone by the database for a conflict with another node's transaction (a
    /// deadlock or serialization failure): worth trying again.
    Conflict(tokio_postgres::Error),
    Failed(StoreError),
}

impl From<tokio_postgres::Error> for Attempt {
    fn from(e: tokio_postgres::Error) -> Attempt {
        let conflict = e
            .code()
            .is_some_and(|c| *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE);
        if conflict {
            Attempt::Conflict(e)
        } else {
            Attempt::Failed(StoreError::backend(e))
        }
    }
}

/// Stores a batch (see [`crate::store::Store::append`]).
pub(super) async fn append(store: &PostgresStore, batch: Vec<Post>) -> Result<Vec<Appended>, StoreError> {
    let mut tries = 0;
    let numbered = loop {
        match store.append_once(&batch).await {
            Ok(numbered) => break numbered,
            Err(Attempt::Conflict(e)) if tries < CONFLICT_RETRIES => {
                tries += 1;
                tracing::debug!("batch undone for a conflict with another node; trying again: {e}");
            }
            Err(Attempt::Conflict(e)) => return Err(StoreError::backend(e)),
            Err(Attempt::Failed(e)) => return Err(e),
        }
    };
    if numbered.len() != batch.len() {
        return Err(StoreError::backend(format!("{} results for {} posts", numbered.len(), batch.len())));
    }
    batch
        .into_iter()
        .zip(numbered)
        .map(|(m, (seq, state, quote))| match (state.as_str(), seq) {
            ("new", Some(seq)) => Ok(Appended::New(ChatMessage { quote, ..m.numbered(seq as Seq) })),
            ("dup", Some(seq)) => Ok(Appended::Duplicate(seq as Seq)),
            (other, _) => match other.strip_prefix("refused:").and_then(Refusal::parse) {
                Some(refusal) => Ok(Appended::Refused(refusal)),
                None => Err(StoreError::backend(format!("the database answered {other:?} for a post"))),
            },
        })
        .collect()
}
