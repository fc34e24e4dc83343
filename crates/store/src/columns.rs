//! Column lists written once and spliced into the SQL with `concat!`, so every query stays a `&'static str`
//! and a row type (`rows`) and its queries cannot drift apart. Each list matches the `FromRow` struct that
//! reads it.

/// An organisation's details, in the order `UPDATE … SET (…) = ($2 … $8)` binds them.
macro_rules! organisation_detail_columns {
    () => {
        "name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, im1_supplier"
    };
}

/// `OrganisationRow`.
macro_rules! organisation_columns {
    () => {
        concat!("id, ", organisation_detail_columns!(), ", created_at")
    };
}

/// A membership row, in the order every insert binds it.
macro_rules! membership_columns {
    () => {
        "user_id, organisation_id, role, onboarding_contact"
    };
}

/// `UserRow`: a user with their membership, if any (`WHERE` on `u.` or `m.` follows).
macro_rules! user_select {
    () => {
        "SELECT u.id, u.email, u.full_name, u.password_hash, u.created_at, u.email_verified_at, m.organisation_id, \
         m.role AS team_role, m.onboarding_contact FROM users u LEFT JOIN memberships m ON m.user_id = u.id"
    };
}

/// `InvitationRow`: an invitation with its inviter's name (`WHERE` on `i.` follows).
macro_rules! invitation_select {
    () => {
        "SELECT i.id, i.organisation_id, i.email, i.role, i.invited_by, u.full_name AS invited_by_name, \
         i.created_at, i.expires_at, i.state FROM invitations i JOIN users u ON u.id = i.invited_by"
    };
}

/// `AgreementRow` is only `data`; these are every column `save_agreement` writes, in bind order ($1 … $13).
macro_rules! agreement_columns {
    () => {
        "id, number, organisation_id, state, substate, signature_type, origin, terms_version, api_products, \
         created_at, review_deadline, version, data"
    };
}

macro_rules! agreement_values {
    () => {
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13"
    };
}

/// `CaseRow`, also the insert's column order.
macro_rules! case_columns {
    () => {
        "id, number, agreement_id, organisation_id, state, subject, created_at, updated_at"
    };
}

/// `NotificationRow`.
#[cfg(feature = "test-support")]
macro_rules! notification_columns {
    () => {
        "id, kind, agreement_id, organisation_id, recipients, payload, created_at, sent_at"
    };
}

/// `OutboxRow`: an outbox row and its delivery job, if it still has one (`o` and `j`).
macro_rules! outbox_entry_columns {
    () => {
        "o.id, o.kind, o.recipients, o.payload, o.created_at, o.sent_at, o.message_id, j.attempts, j.run_at, \
         j.locked_until, j.last_error, j.failed_at"
    };
}

/// `AuditRow`, also the insert's column order.
macro_rules! audit_columns {
    () => {
        "chain_id, seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash"
    };
}

/// `ClaimedJobRow`: what a worker needs to run a job.
macro_rules! claimed_job_columns {
    () => {
        "id, kind, dedup_key, organisation_id, payload, priority, run_at, attempts"
    };
}

/// `PendingJobRow`.
macro_rules! pending_job_columns {
    () => {
        "kind, dedup_key, payload, run_at"
    };
}

/// `JobRow`: the whole row, for failed jobs and inspection.
macro_rules! job_columns {
    () => {
        concat!(claimed_job_columns!(), ", locked_until, last_error, failed_at, created_at")
    };
}
