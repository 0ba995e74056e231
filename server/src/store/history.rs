//! How both backends read a room's history: which rows a page holds (counted in the
//! lines people read, not in events), and how each stored row is served (an edit with
//! its message's current text, never an older one).
//!
//! The SQL here is written once for both backends (`$1` parameters; SQLite's are
//! renamed): the shared suite in `tests.rs` holds them to the same results.

/// The columns of a served row: a row's own columns, except that an edit carries the
/// text and mentions of its message as they are now (an edit's own are blanked once a
/// newer edit lands, and a deleted message's are empty); then the author's handle, if
/// they have an account ([`AUTHOR_HANDLE`]).
macro_rules! served {
    () => {
        concat!(
            "SELECT m.room, m.seq, m.client_id, m.author_id, m.author_name, m.kind, \
             COALESCE(t.text, m.text), m.sent_at, m.target, m.edited, m.deleted, \
             CASE WHEN t.seq IS NULL THEN m.mentions ELSE t.mentions END, ",
            served_tail!(),
            " FROM messages m LEFT JOIN messages t ON m.kind = 'edit' AND t.room = m.room AND t.seq = m.target "
        )
    };
}

/// The handle of a message's author (`m`), if they have an account: the last column
/// of every message read.
macro_rules! author_handle {
    () => {
        "(SELECT h.handle FROM accounts h WHERE h.user_id = m.author_id)"
    };
}

/// The columns every message read ends with: [`author_handle!`], whether an admin took
/// the message down (`removed`), its link's card (`preview`) and its files.
macro_rules! served_tail {
    () => {
        concat!(author_handle!(), ", m.removed, m.preview, m.files")
    };
}

/// [`served_tail!`], for queries built at run time (search).
pub const SERVED_TAIL: &str = served_tail!();

/// What a line of the room is (see [`NTH_LINE_BEFORE`]): any row but a change to
/// another message.
macro_rules! line_kinds {
    () => {
        "kind NOT IN ('edit', 'delete', 'remove', 'react', 'unreact')"
    };
}

/// The rows of room `$1` numbered `$2` to `$3`, served, in number order.
pub const ROWS_BETWEEN: &str = concat!(served!(), "WHERE m.room = $1 AND m.seq BETWEEN $2 AND $3 ORDER BY m.seq");

/// Up to `$3` rows of room `$1` numbered after `$2`, served, in number order: every one,
/// events included (a resume replays them all).
pub const ROWS_AFTER: &str = concat!(served!(), "WHERE m.room = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3");

/// Up to `$4` messages (text, as they are now) by person `$1`, by room and number, after
/// number `$3` of room `$2`: a page of their export.
pub const BY_AUTHOR: &str = concat!(
    served!(),
    "WHERE m.author_id = $1 AND m.kind = 'text' AND (m.room > $2 OR (m.room = $2 AND m.seq > $3)) \
     ORDER BY m.room, m.seq LIMIT $4"
);

/// Rows a page reads at most per line it is to show. A page is its lines and the events
/// between them (reactions, edits, deletes: there, so that its numbers have no hole);
/// a run of events longer than this (reactions toggled over and over) makes the page
/// shorter, never unbounded.
pub const ROWS_PER_LINE: usize = 4;

/// Rows a page looking for `lines` lines reads at most.
pub fn rows_for(lines: usize) -> i64 {
    i64::try_from(lines.saturating_mul(ROWS_PER_LINE)).unwrap_or(i64::MAX)
}

/// The `$3` rows of room `$1` before number `$2` (numbers have no gaps, so they are the
/// numbers down from the newest before `$2`): a range of the primary key, read newest
/// first and only as far as the query needs.
macro_rules! rows_before {
    () => {
        "FROM messages WHERE room = $1 AND seq < $2 \
         AND seq > (SELECT MAX(seq) FROM messages WHERE room = $1 AND seq < $2) - $3 "
    };
}

/// The line `$4` (from 0) of room `$1` before number `$2`, going back, among the `$3`
/// rows before it; none if there are fewer. A line is what the room shows as a line of
/// its own: a message (a deleted one too), a rename notice, a kind from a newer version
/// (read as text); not a change to another message.
pub const NTH_LINE_BEFORE: &str =
    concat!("SELECT seq ", rows_before!(), "AND ", line_kinds!(), " ORDER BY seq DESC LIMIT 1 OFFSET $4");

/// How many of the `$3` rows of room `$1` before number `$2` are lines, and the oldest
/// of those rows: read only when a page finds fewer lines than it wants there.
pub const ROWS_BEFORE: &str = concat!("SELECT COUNT(*) FILTER (WHERE ", line_kinds!(), "), MIN(seq) ", rows_before!());

/// The line `$4` (from 0) of room `$1` numbered from `$2` (included) to `$3` (not),
/// going forward; none if there are fewer.
pub const NTH_LINE_FROM: &str = concat!(
    "SELECT seq FROM messages WHERE room = $1 AND seq >= $2 AND seq < $3 AND ",
    line_kinds!(),
    " ORDER BY seq LIMIT 1 OFFSET $4"
);

/// The newest row of room `$1` numbered from `$2` (included) to `$3` (not).
pub const LAST_ROW_FROM: &str = "SELECT MAX(seq) FROM messages WHERE room = $1 AND seq >= $2 AND seq < $3";

/// A message number as the stores keep numbers (past their largest: the end).
pub fn stored(seq: palaver_protocol::Seq) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}
