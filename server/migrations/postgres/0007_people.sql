-- Everyone who has chosen a name, by their latest one: an `@name` in a message names
-- them wherever they are (in the room or not, connected or not).
CREATE TABLE people (
    user_id TEXT NOT NULL PRIMARY KEY,
    name    TEXT NOT NULL
);

-- Those who wrote before it was kept, by the name they last wrote under (plain
-- clients' guests are not kept: each connection is a new one).
INSERT INTO people (user_id, name)
    SELECT DISTINCT ON (author_id) author_id, author_name FROM messages
    WHERE author_id NOT LIKE 'guest-%'
    ORDER BY author_id, sent_at DESC, seq DESC;
