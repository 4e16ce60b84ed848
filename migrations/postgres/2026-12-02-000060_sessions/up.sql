-- Sign-in with the organisation's identity provider (OpenID Connect). Both tables are read
-- and written by every instance, so that a sign-in begun on one instance may end on another
-- and a session works through any of them.

-- A sign-in begun (GET /auth/login) and not yet ended by the provider's answer: what the
-- callback needs to finish it. Kept by a hash of its `state`, taken once.
CREATE TABLE sign_ins (
    state_hash TEXT PRIMARY KEY,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A signed-in person's session. Only a hash of the session id is stored: whoever reads the
-- table cannot use a session. `id_token` is kept for the provider's sign-out (its hint).
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    person TEXT NOT NULL,
    role TEXT NOT NULL,
    region TEXT,
    id_token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

CREATE INDEX sessions_by_expiry ON sessions (expires_at);
