-- SEC-1: an account's e-mail address is verified by a single-use, expiring link before the account can join an
-- organisation, be nominated onboarding contact, accept an agreement, raise a query or see an invitation.
-- Accounts made before verification existed were trusted as they were: they count as verified from creation.
ALTER TABLE users ADD COLUMN email_verified_at INTEGER;
UPDATE users SET email_verified_at = created_at;

-- The link holds a random token; only its SHA-256 is stored. Asking again replaces an unused link.
CREATE TABLE address_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX address_verifications_by_user ON address_verifications (user_id);

-- Membership by consent: an invitation waits for the invitee, who accepts or declines it. SQLite cannot change a
-- CHECK constraint, so the table is rebuilt with 'declined' allowed.
CREATE TABLE invitations_new (
    id              BLOB PRIMARY KEY,
    organisation_id BLOB NOT NULL REFERENCES organisations (id),
    email           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    invited_by      BLOB NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'declined', 'cancelled', 'replaced')),
    closed_at       INTEGER
) STRICT;
INSERT INTO invitations_new SELECT id, organisation_id, email, role, invited_by, created_at, expires_at, state, closed_at
    FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
CREATE UNIQUE INDEX invitations_one_pending ON invitations (organisation_id, email) WHERE state = 'pending';
CREATE INDEX invitations_pending_by_email ON invitations (email, created_at) WHERE state = 'pending';
