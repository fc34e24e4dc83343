-- DOS-1, DOS-3: evidence files answering `evidence` questions. The file itself is kept by the file store under
-- `id` (never under its name); this row says what it answers and what it is. `file_name` is only shown back.
CREATE TABLE evidence_files (
    id              UUID PRIMARY KEY,
    application_id  UUID NOT NULL REFERENCES applications (id),
    organisation_id UUID NOT NULL REFERENCES organisations (id),
    section_key     TEXT NOT NULL,
    question_id     TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    file_type       TEXT NOT NULL,
    size            BIGINT NOT NULL CHECK (size > 0),
    sha256          TEXT NOT NULL,
    uploaded_by     UUID NOT NULL REFERENCES users (id),
    uploaded_at     BIGINT NOT NULL
);
CREATE INDEX evidence_files_by_question ON evidence_files (application_id, section_key, question_id);
