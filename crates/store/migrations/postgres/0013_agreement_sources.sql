-- DOS-6, CA-2: the application a connection agreement was created from, and the SHA-256 of the approved
-- answers it rests on. Written in the same transaction as the agreement.
CREATE TABLE agreement_sources (
    agreement_id   UUID PRIMARY KEY REFERENCES agreements (id),
    application_id UUID NOT NULL REFERENCES applications (id),
    answers_sha256 TEXT NOT NULL,
    created_at     BIGINT NOT NULL
);
CREATE INDEX agreement_sources_by_application ON agreement_sources (application_id);

-- The staff overview lists open applications oldest first.
CREATE INDEX applications_by_state ON applications (state, started_at);
