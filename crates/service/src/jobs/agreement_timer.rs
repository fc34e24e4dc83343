//! The `agreement_timer` job: one of an agreement's durable timers (CA-4, CA-7, CA-8, CA-11). An agreement
//! has at most one pending timer of each kind: its dedup key is `agreement_timer:<agreement>:<kind>:<parameter>`,
//! so setting a timer again moves it. When it comes due, `lifecycle::fire` decides what it does.

use jiff::Timestamp;
use onramp_domain::OrganisationId;
use onramp_domain::agreement::{AgreementId, TimerKind};
use onramp_store::{StoreError, UnitOfWork};
use serde::{Deserialize, Serialize};

use super::BackgroundJob;
use crate::AppContext;

/// The payload: which agreement, which timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementTimer {
    pub agreement_id: AgreementId,
    pub timer: TimerKind,
}

impl BackgroundJob for AgreementTimer {
    const KIND: &'static str = "agreement_timer";

    fn dedup_key(&self) -> Option<String> {
        let (kind, parameter) = self.timer.encode();
        Some(format!("{}{kind}:{parameter}", key_prefix(self.agreement_id)))
    }
}

/// The start of every dedup key of `agreement`'s timers.
fn key_prefix(agreement: AgreementId) -> String {
    format!("{}:{}:", AgreementTimer::KIND, agreement.0.hyphenated())
}

/// A pending timer as listed for an agreement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledTimer {
    pub timer: TimerKind,
    pub run_at: Timestamp,
}

/// Sets (or moves) `agreement`'s timer of this kind to fire at `at`, inside `work`.
pub async fn schedule_timer(
    work: &mut dyn UnitOfWork,
    organisation: OrganisationId,
    agreement: AgreementId,
    timer: TimerKind,
    at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    let job = AgreementTimer { agreement_id: agreement, timer }.to_job(Some(organisation), at)?;
    work.enqueue(&job, now).await
}

/// Removes `agreement`'s timers of these kinds, inside `work`.
pub async fn cancel_timers(
    work: &mut dyn UnitOfWork,
    agreement: AgreementId,
    timers: &[TimerKind],
) -> Result<(), StoreError> {
    let keys: Vec<String> =
        timers.iter().filter_map(|&timer| AgreementTimer { agreement_id: agreement, timer }.dedup_key()).collect();
    work.cancel_jobs(&keys).await
}

/// `agreement`'s pending timers, soonest first.
pub async fn timers_of(context: &AppContext, agreement: AgreementId) -> Result<Vec<ScheduledTimer>, StoreError> {
    let jobs = context.store.jobs_with_key_prefix(&key_prefix(agreement)).await?;
    let mut timers = jobs
        .into_iter()
        .map(|job| {
            let payload: AgreementTimer = serde_json::from_str(&job.payload)
                .map_err(|e| StoreError::Corrupt { entity: "agreement timer", reason: e.to_string() })?;
            Ok(ScheduledTimer { timer: payload.timer, run_at: job.run_at })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    timers.sort_by_key(|t| (t.run_at, t.timer));
    Ok(timers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 0007 writes the payloads and keys of the timers it moves exactly so.
    #[test]
    fn the_payload_and_key_are_what_the_migration_writes() {
        let agreement = AgreementId("0190a000-0000-7000-8000-0000000000aa".parse().unwrap());
        let reminder = AgreementTimer { agreement_id: agreement, timer: TimerKind::Reminder { days_before: 7 } };
        assert_eq!(
            serde_json::to_string(&reminder).unwrap(),
            r#"{"agreement_id":"0190a000-0000-7000-8000-0000000000aa","timer":{"timer":"reminder","days_before":7}}"#
        );
        assert_eq!(
            reminder.dedup_key().as_deref(),
            Some("agreement_timer:0190a000-0000-7000-8000-0000000000aa:reminder:7")
        );
        let auto = AgreementTimer { agreement_id: agreement, timer: TimerKind::AutoAccept };
        assert_eq!(
            serde_json::to_string(&auto).unwrap(),
            r#"{"agreement_id":"0190a000-0000-7000-8000-0000000000aa","timer":{"timer":"auto_accept"}}"#
        );
        assert_eq!(
            auto.dedup_key().as_deref(),
            Some("agreement_timer:0190a000-0000-7000-8000-0000000000aa:auto_accept:0")
        );
    }
}
