-- DOS-3: applications. The application (its pinned flows, sections, answers and review) is stored as JSON in
-- `data`, the source of truth, with projected columns for lists and an optimistic `version`.
CREATE TABLE applications (
    id              UUID PRIMARY KEY,
    organisation_id UUID NOT NULL REFERENCES organisations (id),
    product_name    TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('open', 'rejected')),
    started_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL,
    data            TEXT NOT NULL
);
CREATE INDEX applications_by_organisation ON applications (organisation_id, started_at);

-- One row per section an application has touched, projected from `data`, so the reviewers' queue (submitted
-- sections across organisations, oldest first) is one indexed query.
CREATE TABLE application_sections (
    application_id UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    section_key    TEXT NOT NULL,
    state          TEXT NOT NULL,
    changed_at     BIGINT NOT NULL,
    PRIMARY KEY (application_id, section_key)
);
CREATE INDEX application_sections_by_state ON application_sections (state, changed_at);
