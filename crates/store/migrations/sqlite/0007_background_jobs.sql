-- Durable work as data (as crates.io's background jobs): one generic queue instead of the agreement timers'
-- own table. `kind` names the handler, `payload` (JSON) is what it needs. A job with a `dedup_key` is unique
-- by it, so setting it again replaces the pending one. A worker claims due jobs by setting `locked_until` (a
-- lease) and deletes them when done; a failure is given back with back-off (`locked_until` = the retry time,
-- `last_error`), and a job that keeps failing is marked `failed_at` and never claimed again until retried.
CREATE TABLE background_jobs (
    id              BLOB PRIMARY KEY,
    kind            TEXT NOT NULL,
    dedup_key       TEXT UNIQUE,
    organisation_id BLOB REFERENCES organisations (id),
    payload         TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    run_at          INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    last_error      TEXT,
    failed_at       INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;

-- Claiming: the due jobs that have not failed, highest priority first, then the oldest.
CREATE INDEX background_jobs_due ON background_jobs (priority DESC, run_at) WHERE failed_at IS NULL;

-- Every agreement timer becomes an `agreement_timer` job. UUIDs are 16-byte blobs here: the key and payload
-- spell them hyphenated in lower case, as the service writes them. The payload is what serde_json writes
-- for `AgreementTimer { agreement_id, timer }`.
INSERT INTO background_jobs (id, kind, dedup_key, organisation_id, payload, priority, run_at, attempts,
                             locked_until, last_error, failed_at, created_at)
SELECT id, 'agreement_timer',
       'agreement_timer:' || agreement_uuid || ':' || kind || ':' || parameter,
       organisation_id,
       '{"agreement_id":"' || agreement_uuid || '","timer":{"timer":"' || kind || '"'
           || CASE WHEN kind = 'reminder' THEN ',"days_before":' || parameter ELSE '' END || '}}',
       0, run_at, attempts, locked_until, last_error, NULL,
       CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
FROM (
    SELECT jobs.*,
           substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-'
               || substr(h, 21, 12) AS agreement_uuid
    FROM (SELECT *, lower(hex(agreement_id)) AS h FROM jobs) AS jobs
);

DROP TABLE jobs;
