-- Password resets by e-mailed link (SEC-2). The link holds a random token; only its SHA-256 is stored. A reset
-- can be used once, before it expires; asking again replaces an unused one.
CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX password_resets_by_user ON password_resets (user_id);
