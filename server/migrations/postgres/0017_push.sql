-- Web Push: each browser a person subscribed, by its push service's address (unique:
-- a browser subscribing again under someone else is theirs now), with its keys, and
-- the session it was subscribed in (none for a guest): a session that ends (signed
-- out, ended from elsewhere, expired) takes its browser's subscription with it.
CREATE TABLE push_subscriptions (
    endpoint   TEXT   NOT NULL PRIMARY KEY,
    person     TEXT   NOT NULL,
    p256dh     TEXT   NOT NULL,
    auth       TEXT   NOT NULL,
    session    BIGINT REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX push_subscriptions_by_person ON push_subscriptions (person, created_at);
