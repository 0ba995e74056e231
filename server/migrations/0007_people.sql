-- Everyone who has chosen a name, by their latest one: an `@name` in a message names
-- them wherever they are (in the room or not, connected or not).
CREATE TABLE people (
    user_id TEXT NOT NULL PRIMARY KEY,
    name    TEXT NOT NULL
) WITHOUT ROWID;

-- Those who wrote before it was kept, by the name they last wrote under (plain
-- clients' guests are not kept: each connection is a new one).
INSERT INTO people (user_id, name)
    SELECT author_id, author_name FROM messages
    WHERE author_id NOT LIKE 'guest-%'
    GROUP BY author_id HAVING sent_at = MAX(sent_at);
