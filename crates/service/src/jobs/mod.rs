//! The durable job worker (jobs as data, as crates.io's background jobs do it). Work to do later is a row
//! of the store's generic queue: a kind, a JSON payload, a priority, a due time and, for work that replaces
//! itself, a dedup key. A worker claims due jobs under a lease, runs each by its kind (the handler finishes
//! the job in the transaction of its change, so it acts exactly once), and gives failures back with back-off;
//! a job that keeps failing, or that no handler understands, fails for good and waits for an operator.
//! Several instances may run the worker at once on PostgreSQL.
//!
//! The kinds: [`AgreementTimer`] (the lifecycle's timers) and `deliver_notification` (one outbox row's mail,
//! [`crate::mail`]).

mod agreement_timer;

use jiff::{SignedDuration, Timestamp};
use onramp_store::{ClaimedJob, NewJob, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::AppContext;
use crate::lifecycle::Fired;

pub use agreement_timer::{AgreementTimer, ScheduledTimer, cancel_timers, schedule_timer, timers_of};

/// How long a claim is held before another worker may take the job (a crashed worker's claims return).
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);
/// Tries before a job fails for good.
pub const MAX_ATTEMPTS: i64 = 10;
const BATCH: i64 = 100;

/// A kind of durable job: its payload type, stored as JSON under [`Self::KIND`].
pub trait BackgroundJob: Serialize + DeserializeOwned {
    /// The `kind` column; never rename one that may be in a queue.
    const KIND: &'static str;
    /// Higher runs first among due jobs.
    const PRIORITY: i32 = 0;

    /// A job with a key replaces the pending job with the same key.
    fn dedup_key(&self) -> Option<String> {
        None
    }

    /// This job as a row to enqueue, due at `run_at`.
    fn to_job(
        &self,
        organisation: Option<onramp_domain::OrganisationId>,
        run_at: Timestamp,
    ) -> Result<NewJob, StoreError> {
        let payload = serde_json::to_string(self)
            .map_err(|e| StoreError::Corrupt { entity: "job payload", reason: e.to_string() })?;
        Ok(NewJob {
            kind: Self::KIND,
            dedup_key: self.dedup_key(),
            organisation_id: organisation,
            payload,
            priority: Self::PRIORITY,
            run_at,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunReport {
    /// Timers that changed an agreement.
    pub changed: usize,
    /// Messages delivered (`deliver_notification` jobs), counted apart so `changed` still counts agreements.
    pub mail_sent: usize,
    pub nothing_to_do: usize,
    /// Failed this time; they come back after [`backoff`].
    pub failed: usize,
    /// Failed for good: too many attempts, an unknown kind or a payload that does not decode.
    pub failed_permanently: usize,
}

/// Retry delay after `attempts` failures: 30 s, 1 min, 2 min … capped at one hour.
pub fn backoff(attempts: i64) -> SignedDuration {
    let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    SignedDuration::from_secs(30 * 2_i64.pow(exponent)).min(SignedDuration::from_hours(1))
}

/// Why one job did not run.
enum JobFailure {
    /// Worth another try later.
    Transient(String),
    /// Never going to work: fail it now.
    Permanent(String),
}

/// Runs one claimed job by its kind.
async fn dispatch(context: &AppContext, job: &ClaimedJob, now: Timestamp) -> Result<Fired, JobFailure> {
    match job.kind.as_str() {
        AgreementTimer::KIND => {
            let timer: AgreementTimer = serde_json::from_str(&job.payload)
                .map_err(|e| JobFailure::Permanent(format!("the payload does not decode: {e}")))?;
            crate::lifecycle::fire(context, &timer, job, now).await.map_err(|e| JobFailure::Transient(e.to_string()))
        }
        onramp_store::DELIVERY_JOB_KIND => crate::mail::deliver(context, job, now).await.map_err(|e| {
            if e.is_permanent() { JobFailure::Permanent(e.to_string()) } else { JobFailure::Transient(e.to_string()) }
        }),
        other => Err(JobFailure::Permanent(format!("no handler for jobs of kind {other:?}"))),
    }
}

/// Runs every job due at `now`, batch by batch, until none is left that this worker can claim.
#[tracing::instrument(skip(context))]
pub async fn run_due(context: &AppContext, now: Timestamp) -> Result<RunReport, StoreError> {
    let mut report = RunReport::default();
    loop {
        let lease_until = now.saturating_add(LEASE).unwrap_or(now);
        let jobs = context.store.claim_due_jobs(now, lease_until, BATCH).await?;
        if jobs.is_empty() {
            context.metrics.record_run(&report);
            return Ok(report);
        }
        for job in jobs {
            match dispatch(context, &job, now).await {
                Ok(Fired::Changed) if job.kind == onramp_store::DELIVERY_JOB_KIND => report.mail_sent += 1,
                Ok(Fired::Changed) => report.changed += 1,
                Ok(Fired::NothingToDo) => report.nothing_to_do += 1,
                Err(JobFailure::Transient(error)) if job.attempts < MAX_ATTEMPTS => {
                    report.failed += 1;
                    let retry_at = now.saturating_add(backoff(job.attempts)).unwrap_or(now);
                    tracing::warn!(%error, job = %job.id, kind = job.kind, attempts = job.attempts, %retry_at, "job failed; will retry");
                    context.store.release_job(&job, retry_at, &error).await?;
                }
                Err(JobFailure::Transient(error) | JobFailure::Permanent(error)) => {
                    report.failed_permanently += 1;
                    tracing::error!(%error, job = %job.id, kind = job.kind, attempts = job.attempts, "job failed for good");
                    context.store.fail_job(&job, &error, now).await?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_from_thirty_seconds_to_an_hour() {
        let delays: Vec<i64> = [1, 2, 3, 4, 8, 50].into_iter().map(|a| backoff(a).as_secs()).collect();
        assert_eq!(delays, [30, 60, 120, 240, 3600, 3600]);
    }
}
