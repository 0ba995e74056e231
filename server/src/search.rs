//! Search as the socket and the search page ask for it: a page of the messages found
//! for a query as typed, its matches marked. The words themselves are `words.rs`'s;
//! finding the messages that have them is the store's.

use crate::store::{unavailable, Store};
use crate::words::{marks, query};
use palaver_protocol::{FrameError, SearchHit, UserId, SEARCH_PAGE};

/// A page of the messages found for a query as typed, newest first, their matches
/// marked; and where the next page starts, if there is more. The socket and the search
/// page both come here, so both have the same limits (see [`query`]).
pub async fn find(
    store: &dyn Store,
    text: &str,
    reader: Option<&UserId>,
    before: Option<u64>,
) -> Result<(Vec<SearchHit>, Option<u64>), FrameError> {
    let query = query(text)?;
    let reader = reader.map_or("", UserId::as_str);
    let mut found = store.search(&query, reader, before, SEARCH_PAGE + 1).await.map_err(unavailable)?;
    let next = (found.len() > SEARCH_PAGE).then(|| found[SEARCH_PAGE - 1].position);
    found.truncate(SEARCH_PAGE);
    let hits =
        found.into_iter().map(|f| SearchHit { marks: marks(&f.message.text, &query), message: f.message }).collect();
    Ok((hits, next))
}
