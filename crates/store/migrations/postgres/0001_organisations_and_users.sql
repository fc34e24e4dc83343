-- Instants are BIGINT microseconds since the Unix epoch (UTC) on both backends; see docs/ARCHITECTURE.md.

CREATE TABLE provider (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    name               TEXT NOT NULL,
    service_desk_email TEXT NOT NULL
);

CREATE TABLE organisations (
    id                      UUID PRIMARY KEY,
    name                    TEXT NOT NULL,
    ods_code                TEXT NOT NULL UNIQUE,
    company_number          TEXT,
    registered_address      TEXT NOT NULL,
    kind                    TEXT NOT NULL
        CHECK (kind IN ('commercial', 'public_healthcare', 'non_uk', 'provider_internal')),
    delivery_notice_mailbox TEXT NOT NULL,
    im1_supplier            BOOLEAN NOT NULL,
    created_at              BIGINT NOT NULL
);

CREATE INDEX organisations_by_name ON organisations (name);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE staff_roles (
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL
        CHECK (role IN ('author', 'reviewer', 'agreement_team', 'live_service', 'admin')),
    PRIMARY KEY (user_id, role)
);

-- A connecting party user belongs to one organisation (SPEC §1), hence user_id is the key.
CREATE TABLE memberships (
    user_id            UUID PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    organisation_id    UUID NOT NULL REFERENCES organisations (id),
    role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    onboarding_contact BOOLEAN NOT NULL
);

CREATE INDEX memberships_by_organisation ON memberships (organisation_id);
