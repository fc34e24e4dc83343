//! The outbox, the audit log and the job queue.

use onramp_domain::OrganisationId;
use onramp_domain::audit::AuditRecord;
use uuid::Uuid;

use super::{corrupt, from_micros};
use crate::StoreError;
use crate::types::{ClaimedJob, Delivery, FailedJob, OutboxEntry, PendingJob};

/// An outbox row; only tests read the outbox back so far.
#[cfg(feature = "test-support")]
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: Uuid,
    kind: String,
    agreement_id: Option<Uuid>,
    organisation_id: Uuid,
    recipients: String,
    payload: String,
    created_at: i64,
    sent_at: Option<i64>,
}

#[cfg(feature = "test-support")]
impl NotificationRow {
    pub(crate) fn into_notification(self) -> Result<crate::types::Notification, StoreError> {
        const ENTITY: &str = "notification";
        Ok(crate::types::Notification {
            id: self.id,
            notification: onramp_domain::notification::Notification::from_stored(&self.kind, &self.payload)
                .map_err(|e| corrupt(ENTITY, e))?,
            agreement_id: self.agreement_id.map(onramp_domain::agreement::AgreementId),
            organisation_id: OrganisationId(self.organisation_id),
            recipients: serde_json::from_str(&self.recipients).map_err(|e| corrupt(ENTITY, e))?,
            created_at: from_micros(ENTITY, self.created_at)?,
            sent_at: self.sent_at.map(|s| from_micros(ENTITY, s)).transpose()?,
        })
    }
}

/// An outbox row joined with its delivery job.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OutboxRow {
    id: Uuid,
    kind: String,
    recipients: String,
    payload: String,
    created_at: i64,
    sent_at: Option<i64>,
    message_id: Option<String>,
    attempts: Option<i64>,
    run_at: Option<i64>,
    locked_until: Option<i64>,
    last_error: Option<String>,
    failed_at: Option<i64>,
}

impl OutboxRow {
    pub(crate) fn into_entry(self) -> Result<OutboxEntry, StoreError> {
        const ENTITY: &str = "outbox row";
        let time = |micros: i64| from_micros(ENTITY, micros);
        let delivery = match (self.sent_at, self.failed_at, self.run_at) {
            (Some(at), _, _) => Delivery::Sent { at: time(at)?, message_id: self.message_id.unwrap_or_default() },
            (None, Some(at), _) => Delivery::Failed {
                attempts: self.attempts.unwrap_or(0),
                at: time(at)?,
                error: self.last_error.unwrap_or_default(),
            },
            (None, None, Some(run_at)) => Delivery::Queued {
                attempts: self.attempts.unwrap_or(0),
                next_try: time(self.locked_until.map_or(run_at, |locked| locked.max(run_at)))?,
                last_error: self.last_error,
            },
            (None, None, None) => Delivery::NotQueued,
        };
        Ok(OutboxEntry {
            id: self.id,
            notification: onramp_domain::notification::Notification::from_stored(&self.kind, &self.payload)
                .map_err(|e| e.to_string()),
            kind: self.kind,
            recipients: serde_json::from_str(&self.recipients).map_err(|e| corrupt(ENTITY, e))?,
            created_at: time(self.created_at)?,
            delivery,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    chain_id: Uuid,
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    before: Option<String>,
    after: Option<String>,
    prev_hash: String,
    hash: String,
}

impl TryFrom<AuditRow> for AuditRecord {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self, Self::Error> {
        Ok(AuditRecord {
            chain_id: row.chain_id,
            seq: row.seq,
            at: from_micros("audit entry", row.at)?,
            actor: row.actor,
            action: row.action,
            entity: row.entity,
            entity_id: row.entity_id,
            before: row.before,
            after: row.after,
            prev_hash: row.prev_hash,
            hash: row.hash,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClaimedJobRow {
    id: Uuid,
    kind: String,
    dedup_key: Option<String>,
    organisation_id: Option<Uuid>,
    payload: String,
    priority: i32,
    run_at: i64,
    attempts: i64,
}

impl TryFrom<ClaimedJobRow> for ClaimedJob {
    type Error = StoreError;

    fn try_from(row: ClaimedJobRow) -> Result<Self, Self::Error> {
        Ok(ClaimedJob {
            id: row.id,
            kind: row.kind,
            dedup_key: row.dedup_key,
            organisation_id: row.organisation_id.map(OrganisationId),
            payload: row.payload,
            priority: row.priority,
            run_at: from_micros("job", row.run_at)?,
            attempts: row.attempts,
        })
    }
}

/// A whole job row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    #[sqlx(flatten)]
    claimed: ClaimedJobRow,
    #[cfg_attr(not(feature = "test-support"), allow(dead_code, reason = "only tests read it back"))]
    locked_until: Option<i64>,
    last_error: Option<String>,
    failed_at: Option<i64>,
    #[cfg_attr(not(feature = "test-support"), allow(dead_code, reason = "only tests read it back"))]
    created_at: i64,
}

impl JobRow {
    pub(crate) fn into_failed(self) -> Result<FailedJob, StoreError> {
        let failed_at = self.failed_at.ok_or_else(|| corrupt("failed job", "no failed_at"))?;
        Ok(FailedJob {
            job: ClaimedJob::try_from(self.claimed)?,
            last_error: self.last_error,
            failed_at: from_micros("failed job", failed_at)?,
        })
    }

    #[cfg(feature = "test-support")]
    pub(crate) fn into_record(self) -> Result<crate::types::JobRecord, StoreError> {
        Ok(crate::types::JobRecord {
            job: ClaimedJob::try_from(self.claimed)?,
            locked_until: self.locked_until.map(|at| from_micros("job", at)).transpose()?,
            last_error: self.last_error,
            failed_at: self.failed_at.map(|at| from_micros("job", at)).transpose()?,
            created_at: from_micros("job", self.created_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct PendingJobRow {
    kind: String,
    dedup_key: String,
    payload: String,
    run_at: i64,
}

impl TryFrom<PendingJobRow> for PendingJob {
    type Error = StoreError;

    fn try_from(row: PendingJobRow) -> Result<Self, Self::Error> {
        Ok(PendingJob {
            kind: row.kind,
            dedup_key: row.dedup_key,
            payload: row.payload,
            run_at: from_micros("job", row.run_at)?,
        })
    }
}
