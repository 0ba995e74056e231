-- Passkeys (WebAuthn credentials): each one's id as the browser names it (base64url),
-- whose it is, the name its person gave it, and the credential as webauthn-rs keeps it
-- (its public key and signature counter), as JSON.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    credential_id TEXT    NOT NULL UNIQUE,
    user_id       TEXT    NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    label         TEXT    NOT NULL,
    passkey       TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used     INTEGER
);
CREATE INDEX passkeys_by_person ON passkeys (user_id);

-- A passkey ceremony between its two requests (which may reach different nodes): the
-- server's state of it, by the hash of the id the browser holds, for a few minutes.
CREATE TABLE ceremonies (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT,
    state      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
