-- How many people have each room on their list (a read position there), kept by the
-- triggers below in the transaction that writes or forgets a position, so that the
-- room directory reads one row per room rather than counting.
CREATE TABLE members (
    room  TEXT    PRIMARY KEY,
    count INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO members (room, count) SELECT room, count(*) FROM reads GROUP BY room;

CREATE TRIGGER members_joined AFTER INSERT ON reads BEGIN
    INSERT INTO members (room, count) VALUES (NEW.room, 1)
        ON CONFLICT (room) DO UPDATE SET count = count + 1;
END;

CREATE TRIGGER members_left AFTER DELETE ON reads BEGIN
    UPDATE members SET count = count - 1 WHERE room = OLD.room;
END;
