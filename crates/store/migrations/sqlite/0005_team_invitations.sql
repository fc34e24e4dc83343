-- Team invitations (SPEC §1): an owner or admin invites an e-mail address with a role. A pending invitation
-- lets the person join when they register with that address, until expires_at. Invitations are kept after they
-- are used, cancelled or replaced, for the record; the audit log has the who and when of each change.
CREATE TABLE invitations (
    id              BLOB PRIMARY KEY,
    organisation_id BLOB NOT NULL REFERENCES organisations (id),
    email           TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    invited_by      BLOB NOT NULL REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'cancelled', 'replaced')),
    closed_at       INTEGER
) STRICT;

-- One pending invitation per address and organisation: inviting again replaces it.
CREATE UNIQUE INDEX invitations_one_pending ON invitations (organisation_id, email) WHERE state = 'pending';
-- Registration looks up the pending invitations of its address.
CREATE INDEX invitations_pending_by_email ON invitations (email, created_at) WHERE state = 'pending';
