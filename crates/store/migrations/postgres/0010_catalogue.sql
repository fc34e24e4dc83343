-- The API catalogue as data (SPEC §4, DOS-2). Products used to be compiled into Onramp; they are now read from
-- the provider's catalogue file at start-up and stored here. The seven products Onramp knew are stored under the
-- slugs agreements already use, so every existing agreement keeps its products (and their names) whatever the
-- file says later. A product that leaves the file stays here, no longer offered for new agreements.
CREATE TABLE api_products (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- The ids of the onboarding flows that apply, as a JSON array of strings.
    flows       TEXT NOT NULL,
    open_access BOOLEAN NOT NULL,
    offered     BOOLEAN NOT NULL,
    -- The product's place in the catalogue file (offered products are listed in this order).
    position    BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

INSERT INTO api_products (slug, name, flows, open_access, offered, position, updated_at) VALUES
    ('pds-fhir', 'Personal Demographics Service FHIR API', '["standard-api"]', false, true, 0, 0),
    ('nhs-login', 'NHS login', '["identity-service"]', false, true, 1, 0),
    ('nhs-notify', 'NHS Notify', '["messaging-service"]', false, true, 2, 0),
    ('nhsmail-third-party', 'NHSmail secure email (third-party access)', '["secure-email"]', false, true, 3, 0),
    ('e-referral', 'e-Referral Service FHIR API', '["standard-api"]', false, true, 4, 0),
    ('gp-connect', 'GP Connect', '["standard-api"]', false, true, 5, 0),
    ('im1-pairing', 'IM1 Pairing Integration', '["standard-api"]', false, true, 6, 0);

-- Every version of every assurance flow ever loaded (DOS-1): its text, kept so an application started on a
-- version is always answered against that version, and so staff can see what changed between two.
CREATE TABLE flow_versions (
    flow_id   TEXT NOT NULL,
    version   BIGINT NOT NULL,
    -- SHA-256 of the file's text, in hex: a changed file under the same version number is refused.
    sha256    TEXT NOT NULL,
    file      TEXT NOT NULL,
    source    TEXT NOT NULL,
    loaded_at BIGINT NOT NULL,
    PRIMARY KEY (flow_id, version)
);
