-- NOT-2: delivering the outbox is a job of the generic queue. Each outbox row gets one `deliver_notification`
-- job with the row's own id, written in the same transaction, so the queue's leases, back-off and failures
-- serve mail as they serve timers, and the staff mail page joins the two by id. The outbox keeps what was
-- sent: `sent_at` and the Message-ID it went out with; attempts and errors live on the job.
ALTER TABLE outbox ADD COLUMN message_id TEXT;
DROP INDEX outbox_pending;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN last_error;

-- Rows written before delivery existed are sent now (or fail, visibly, if their kind no longer decodes).
INSERT INTO background_jobs (id, kind, dedup_key, organisation_id, payload, priority, run_at, attempts, created_at)
SELECT id, 'deliver_notification', NULL, NULL, '{}', 1, created_at, 0, created_at FROM outbox WHERE sent_at IS NULL;
