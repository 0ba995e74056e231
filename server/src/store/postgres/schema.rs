//! The PostgreSQL store's schema: its migrations, run in order by the first node to
//! start, under a lock the others wait on.

use super::search::index_stored;
use super::PostgresStore;

/// Schema changes, applied in order; the `palaver_schema` table records how many ran.
pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_messages.sql"),
    include_str!("../../../migrations/postgres/0002_edits.sql"),
    include_str!("../../../migrations/postgres/0003_replies_reactions.sql"),
    include_str!("../../../migrations/postgres/0004_search.sql"),
    include_str!("../../../migrations/postgres/0005_reads.sql"),
    include_str!("../../../migrations/postgres/0006_levels.sql"),
    include_str!("../../../migrations/postgres/0007_people.sql"),
    include_str!("../../../migrations/postgres/0008_edits_served_as_they_are_now.sql"),
    include_str!("../../../migrations/postgres/0009_people_by_name.sql"),
    include_str!("../../../migrations/postgres/0010_members.sql"),
    include_str!("../../../migrations/postgres/0011_accounts.sql"),
    include_str!("../../../migrations/postgres/0012_passkeys.sql"),
    include_str!("../../../migrations/postgres/0013_rooms_and_moderation.sql"),
    include_str!("../../../migrations/postgres/0014_room_titles.sql"),
    include_str!("../../../migrations/postgres/0015_link_previews.sql"),
    include_str!("../../../migrations/postgres/0016_files.sql"),
    include_str!("../../../migrations/postgres/0017_push.sql"),
];
/// The migration that adds the search index: the messages already stored are indexed
/// with it.
const SEARCH_MIGRATION: usize = 4;
/// Any number, the same on every node: the advisory lock that makes nodes starting at
/// once migrate one after the other.
const MIGRATION_LOCK: i64 = 0x0070_616c_6176_6572;

impl PostgresStore {
    pub(super) async fn migrate(&self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Held until the commit: a second node starting now waits, then finds it done.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS palaver_schema (version INT NOT NULL)").await?;
        let done: i32 =
            tx.query_opt("SELECT version FROM palaver_schema", &[]).await?.map_or(0, |row| row.get::<_, i32>(0));
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done as usize) {
            tx.batch_execute(sql).await?;
            if i + 1 == SEARCH_MIGRATION {
                index_stored(&tx).await?;
            }
            tx.execute("DELETE FROM palaver_schema", &[]).await?;
            tx.execute("INSERT INTO palaver_schema (version) VALUES ($1)", &[&(i as i32 + 1)]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
