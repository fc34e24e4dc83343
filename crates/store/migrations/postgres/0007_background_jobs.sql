-- Durable work as data (as crates.io's background jobs): one generic queue instead of the agreement timers'
-- own table. `kind` names the handler, `payload` (JSON) is what it needs. A job with a `dedup_key` is unique
-- by it, so setting it again replaces the pending one. A worker claims due jobs by setting `locked_until` (a
-- lease) and deletes them when done; a failure is given back with back-off (`locked_until` = the retry time,
-- `last_error`), and a job that keeps failing is marked `failed_at` and never claimed again until retried.
-- The key is compared bytewise ("C"), as on SQLite, so a prefix becomes a range its unique index serves.
CREATE TABLE background_jobs (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL,
    dedup_key       TEXT COLLATE "C" UNIQUE,
    organisation_id UUID REFERENCES organisations (id),
    payload         TEXT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    run_at          BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    last_error      TEXT,
    failed_at       BIGINT,
    created_at      BIGINT NOT NULL
);

-- Claiming: the due jobs that have not failed, highest priority first, then the oldest.
CREATE INDEX background_jobs_due ON background_jobs (priority DESC, run_at) WHERE failed_at IS NULL;

-- Every agreement timer becomes an `agreement_timer` job. The payload is what serde_json writes for
-- `AgreementTimer { agreement_id, timer }`.
INSERT INTO background_jobs (id, kind, dedup_key, organisation_id, payload, priority, run_at, attempts,
                             locked_until, last_error, failed_at, created_at)
SELECT id, 'agreement_timer',
       'agreement_timer:' || agreement_id::text || ':' || kind || ':' || parameter::text,
       organisation_id,
       '{"agreement_id":"' || agreement_id::text || '","timer":{"timer":"' || kind || '"'
           || CASE WHEN kind = 'reminder' THEN ',"days_before":' || parameter::text ELSE '' END || '}}',
       0, run_at, attempts, locked_until, last_error, NULL,
       (EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT
FROM jobs;

DROP TABLE jobs;
