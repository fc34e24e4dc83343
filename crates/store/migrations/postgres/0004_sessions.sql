-- Signed-in sessions (SEC-2). The cookie holds a random token; only its SHA-256 is stored, so a copy of the
-- database cannot be used to sign in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins per account, kept in the database so every instance sees them (the per-IP limit is in memory).
CREATE TABLE login_failures (
    email        TEXT PRIMARY KEY,
    failures     BIGINT NOT NULL,
    last_failure BIGINT NOT NULL
);
