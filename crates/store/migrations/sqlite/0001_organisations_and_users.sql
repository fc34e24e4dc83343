-- Instants are INTEGER microseconds since the Unix epoch (UTC) on both backends; see docs/ARCHITECTURE.md.

CREATE TABLE provider (
    id                 INTEGER PRIMARY KEY CHECK (id = 1),
    name               TEXT NOT NULL,
    service_desk_email TEXT NOT NULL
) STRICT;

CREATE TABLE organisations (
    id                      BLOB PRIMARY KEY,
    name                    TEXT NOT NULL,
    ods_code                TEXT NOT NULL UNIQUE,
    company_number          TEXT,
    registered_address      TEXT NOT NULL,
    kind                    TEXT NOT NULL
        CHECK (kind IN ('commercial', 'public_healthcare', 'non_uk', 'provider_internal')),
    delivery_notice_mailbox TEXT NOT NULL,
    im1_supplier            INTEGER NOT NULL CHECK (im1_supplier IN (0, 1)),
    created_at              INTEGER NOT NULL
) STRICT;

CREATE INDEX organisations_by_name ON organisations (name);

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    full_name     TEXT NOT NULL,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE staff_roles (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role    TEXT NOT NULL
        CHECK (role IN ('author', 'reviewer', 'agreement_team', 'live_service', 'admin')),
    PRIMARY KEY (user_id, role)
) STRICT;

-- A connecting party user belongs to one organisation (SPEC §1), hence user_id is the key.
CREATE TABLE memberships (
    user_id            BLOB PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    organisation_id    BLOB NOT NULL REFERENCES organisations (id),
    role               TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    onboarding_contact INTEGER NOT NULL CHECK (onboarding_contact IN (0, 1))
) STRICT;

CREATE INDEX memberships_by_organisation ON memberships (organisation_id);
