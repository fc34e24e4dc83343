-- Connection agreements and everything that hangs off them (SPEC §4, §6, §7, §9).

-- Gapless sequences: the row is updated inside the transaction that uses the number, so a rolled-back
-- transaction gives its number back and concurrent writers queue on the row.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;
INSERT INTO counters (name, value) VALUES ('agreement', 0), ('case', 0);

-- `data` holds the whole agreement (JSON of onramp_domain::agreement::Agreement) and is the source of truth;
-- the other columns are projections of it for constraints, filters and sorting.
CREATE TABLE agreements (
    id              BLOB PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    organisation_id BLOB NOT NULL REFERENCES organisations (id),
    state           TEXT NOT NULL CHECK (state IN ('draft', 'active', 'expired', 'cancelled')),
    substate        TEXT CHECK (substate IN ('awaiting_review', 'under_review')),
    signature_type  TEXT NOT NULL,
    origin          TEXT NOT NULL,
    terms_version   INTEGER NOT NULL,
    api_products    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    review_deadline INTEGER,
    version         INTEGER NOT NULL,
    data            TEXT NOT NULL
) STRICT;

-- CA-10: at most one Active and at most one Draft agreement per organisation, enforced by the database too.
CREATE UNIQUE INDEX agreements_one_active ON agreements (organisation_id) WHERE state = 'active';
CREATE UNIQUE INDEX agreements_one_draft ON agreements (organisation_id) WHERE state = 'draft';
CREATE INDEX agreements_by_organisation ON agreements (organisation_id, created_at);

-- TC-3: the exact text a contact accepted, and its SHA-256.
CREATE TABLE accepted_terms (
    agreement_id  BLOB PRIMARY KEY REFERENCES agreements (id),
    terms_version INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    text          TEXT NOT NULL,
    accepted_at   INTEGER NOT NULL
) STRICT;

-- CA-6: every start, pause, resume, reset and firing of an agreement's timers.
CREATE TABLE timer_ledger (
    agreement_id BLOB NOT NULL REFERENCES agreements (id),
    seq          INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    event        TEXT NOT NULL,
    timer        TEXT NOT NULL,
    actor        TEXT NOT NULL,
    remaining_us INTEGER NOT NULL,
    deadline     INTEGER,
    PRIMARY KEY (agreement_id, seq)
) STRICT;

-- Durable timers. One row per (agreement, timer); a worker claims due rows by setting locked_until (a lease)
-- and deletes them when done, so a crashed worker's claims come back once the lease runs out.
CREATE TABLE jobs (
    id              BLOB PRIMARY KEY,
    agreement_id    BLOB NOT NULL REFERENCES agreements (id),
    organisation_id BLOB NOT NULL REFERENCES organisations (id),
    kind         TEXT NOT NULL,
    parameter    INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER,
    last_error   TEXT,
    UNIQUE (agreement_id, kind, parameter)
) STRICT;
CREATE INDEX jobs_due ON jobs (run_at);

-- A case is opened in the transaction that creates its agreement, before the agreement row is written
-- (the agreement carries the case number), hence no foreign key on agreement_id.
CREATE TABLE cases (
    id              BLOB PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    agreement_id    BLOB NOT NULL,
    organisation_id BLOB NOT NULL REFERENCES organisations (id),
    state           TEXT NOT NULL CHECK (state IN ('open', 'awaiting_info', 'resolved', 'closed')),
    subject         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX cases_by_organisation ON cases (organisation_id);

CREATE TABLE case_activity (
    case_id    BLOB NOT NULL REFERENCES cases (id),
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    author     TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'internal')),
    body       TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) STRICT;

CREATE TABLE case_watchers (
    case_id BLOB NOT NULL REFERENCES cases (id),
    email   TEXT NOT NULL,
    PRIMARY KEY (case_id, email)
) STRICT;

-- NOT-2: notifications written in the transaction of the change that causes them; a worker delivers them.
CREATE TABLE outbox (
    id              BLOB PRIMARY KEY,
    kind            TEXT NOT NULL,
    agreement_id    BLOB REFERENCES agreements (id),
    organisation_id BLOB NOT NULL,
    recipients      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox (next_attempt_at) WHERE sent_at IS NULL;

-- AUD-1, AUD-2: append-only, one hash chain per organisation (chain_id; the provider's own actions use the
-- nil UUID), so writers of different organisations never wait on one lock.
CREATE TABLE audit_log (
    chain_id  BLOB NOT NULL,
    seq       INTEGER NOT NULL,
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    before    TEXT,
    after     TEXT,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (chain_id, seq)
) STRICT;

-- CA-5: a publication of a terms version and how far its uplift has got.
CREATE TABLE terms_publications (
    version      INTEGER PRIMARY KEY,
    published_at INTEGER NOT NULL,
    published_by TEXT NOT NULL,
    finished_at  INTEGER
) STRICT;
