//! The durable timer worker (jobs as data, as crates.io does it). Timers live in the `jobs` table; a worker
//! claims due ones under a lease, fires each in the transaction that removes it, and gives failures back with
//! back-off. Several instances may run it at once on PostgreSQL.

use jiff::{SignedDuration, Timestamp};

use crate::AppContext;
use crate::lifecycle::{Fired, fire};

/// How long a claim is held before another worker may take the job (a crashed worker's claims return).
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);
const BATCH: i64 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunReport {
    pub changed: usize,
    pub nothing_to_do: usize,
    pub failed: usize,
}

/// Retry delay after `attempts` failures: 30 s, 1 min, 2 min … capped at one hour.
pub fn backoff(attempts: i64) -> SignedDuration {
    let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    SignedDuration::from_secs(30 * 2_i64.pow(exponent)).min(SignedDuration::from_hours(1))
}

/// Fires every timer due at `now`, batch by batch, until none is left that this worker can claim.
#[tracing::instrument(skip(context))]
pub async fn run_due(context: &AppContext, now: Timestamp) -> Result<RunReport, onramp_store::StoreError> {
    let mut report = RunReport::default();
    loop {
        let lease_until = now.saturating_add(LEASE).unwrap_or(now);
        let jobs = context.store.claim_due_jobs(now, lease_until, BATCH).await?;
        if jobs.is_empty() {
            return Ok(report);
        }
        for job in jobs {
            match fire(context, &job, now).await {
                Ok(Fired::Changed) => report.changed += 1,
                Ok(Fired::NothingToDo) => report.nothing_to_do += 1,
                Err(error) => {
                    report.failed += 1;
                    let retry_at = now.saturating_add(backoff(job.attempts)).unwrap_or(now);
                    tracing::warn!(%error, job = %job.id, attempts = job.attempts, %retry_at, "timer failed; will retry");
                    context.store.release_job(&job, retry_at, &error.to_string()).await?;
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
