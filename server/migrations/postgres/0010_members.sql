-- How many people have each room on their list (a read position there), kept by the
-- trigger below in the transaction that writes or forgets a position, so that the
-- room directory reads one row per room rather than counting.
CREATE TABLE members (
    room  TEXT   PRIMARY KEY,
    count BIGINT NOT NULL
);

INSERT INTO members (room, count) SELECT room, count(*) FROM reads GROUP BY room;

CREATE FUNCTION palaver_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO members (room, count) VALUES (NEW.room, 1)
            ON CONFLICT (room) DO UPDATE SET count = members.count + 1;
    ELSE
        UPDATE members SET count = count - 1 WHERE room = OLD.room;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_kept AFTER INSERT OR DELETE ON reads
    FOR EACH ROW EXECUTE FUNCTION palaver_members();
