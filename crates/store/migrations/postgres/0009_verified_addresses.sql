-- SEC-1: an account's e-mail address is verified by a single-use, expiring link before the account can join an
-- organisation, be nominated onboarding contact, accept an agreement, raise a query or see an invitation.
-- Accounts made before verification existed were trusted as they were: they count as verified from creation.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
UPDATE users SET email_verified_at = created_at;

-- The link holds a random token; only its SHA-256 is stored. Asking again replaces an unused link.
CREATE TABLE address_verifications (
    token_hash TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX address_verifications_by_user ON address_verifications (user_id);

-- Membership by consent: an invitation waits for the invitee, who accepts or declines it.
ALTER TABLE invitations DROP CONSTRAINT invitations_state_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_state_check
    CHECK (state IN ('pending', 'accepted', 'declined', 'cancelled', 'replaced'));
