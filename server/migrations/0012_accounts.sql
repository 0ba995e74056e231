-- Accounts: a person (the same id their messages carry) with a handle that is theirs
-- alone. `handle_key` is the handle's confusable skeleton: two handles that look
-- alike have the same key, so only one of them can exist.
CREATE TABLE accounts (
    user_id      TEXT    NOT NULL PRIMARY KEY,
    handle       TEXT    NOT NULL UNIQUE,
    handle_key   TEXT    NOT NULL UNIQUE,
    display_name TEXT    NOT NULL,
    -- An argon2id hash in the PHC string format; none for an account without a password.
    password     TEXT,
    role         TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at   INTEGER NOT NULL,
    -- The invite link the account was made with, if any.
    invite       INTEGER
);
-- One owner at most: two first-run claims at once cannot both win.
CREATE UNIQUE INDEX accounts_one_owner ON accounts (role) WHERE role = 'owner';

-- A row per signed-in browser; the cookie holds a secret whose SHA-256 is kept here.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    address     TEXT    NOT NULL,
    user_agent  TEXT    NOT NULL
);
CREATE INDEX sessions_by_person ON sessions (user_id);

-- Personal access tokens, for programs: kept as their SHA-256 only.
CREATE TABLE access_tokens (
    id          INTEGER PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    user_id     TEXT    NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    label       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX access_tokens_by_person ON access_tokens (user_id);

-- Invite links: who made each, until when and how many more times it works.
CREATE TABLE invites (
    id          INTEGER PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE,
    created_by  TEXT    REFERENCES accounts (user_id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    uses_left   INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
);
