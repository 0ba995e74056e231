//! The SQLite store's schema: its migrations, run in order when the store opens.

use super::search::{index_again, index_stored};
use rusqlite::Connection;

/// Schema changes, applied in order; `PRAGMA user_version` records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/0001_messages.sql"),
    include_str!("../../../migrations/0002_edits.sql"),
    include_str!("../../../migrations/0003_replies_reactions.sql"),
    include_str!("../../../migrations/0004_search.sql"),
    include_str!("../../../migrations/0005_reads.sql"),
    include_str!("../../../migrations/0006_levels.sql"),
    include_str!("../../../migrations/0007_people.sql"),
    include_str!("../../../migrations/0008_search_by_message.sql"),
    include_str!("../../../migrations/0009_edits_served_as_they_are_now.sql"),
    include_str!("../../../migrations/0010_people_by_name.sql"),
    include_str!("../../../migrations/0011_members.sql"),
    include_str!("../../../migrations/0012_accounts.sql"),
    include_str!("../../../migrations/0013_passkeys.sql"),
    include_str!("../../../migrations/0014_rooms_and_moderation.sql"),
    include_str!("../../../migrations/0015_room_titles.sql"),
    include_str!("../../../migrations/0016_link_previews.sql"),
    include_str!("../../../migrations/0017_files.sql"),
    include_str!("../../../migrations/0018_push.sql"),
];
/// The migration that adds the search index. A database older than it has its messages
/// indexed in the last migration's transaction, by the index as it is now.
const SEARCH_MIGRATION: usize = 4;
/// The migration that makes the search index anew: the messages are indexed again in
/// its transaction.
const WORDS_MIGRATION: usize = 9;

pub(super) fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        if i + 1 == WORDS_MIGRATION {
            index_again(&tx)?;
        }
        if i + 1 == MIGRATIONS.len() && done < SEARCH_MIGRATION {
            index_stored(&tx)?;
        }
        tx.pragma_update(None, "user_version", i + 1)?;
        tx.commit()?;
    }
    if done < MIGRATIONS.len() {
        // What a migration blanked (the texts of superseded edits) may still be in the
        // write-ahead log's older pages: copy the new ones into the file, empty the log.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    Ok(())
}
