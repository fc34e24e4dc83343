//! What the unit of work records beside its change: durable jobs, outbox rows and audit entries.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::audit::{AuditRecord, GENESIS, entry_hash};
use onramp_domain::time_ordered_uuid;
use sqlx::Transaction;

use super::Db;
use super::outbox::insert_notification;
use super::work::Work;
use crate::rows::to_micros;
use crate::types::{AuditEntry, ClaimedJob, NewJob, NewNotification};
use crate::{AuditWork, JobWork, OutboxWork, StoreError};

#[async_trait]
impl JobWork for Work {
    async fn enqueue(&mut self, job: &NewJob, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO background_jobs (id, kind, dedup_key, organisation_id, payload, priority, run_at, \
             attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8) \
             ON CONFLICT (dedup_key) DO UPDATE SET kind = excluded.kind, organisation_id = excluded.organisation_id, \
             payload = excluded.payload, priority = excluded.priority, run_at = excluded.run_at, attempts = 0, \
             locked_until = NULL, last_error = NULL, failed_at = NULL",
        )
        .bind(time_ordered_uuid(now))
        .bind(job.kind)
        .bind(job.dedup_key.as_deref())
        .bind(job.organisation_id.map(|o| o.0))
        .bind(&job.payload)
        .bind(job.priority)
        .bind(to_micros(job.run_at))
        .bind(to_micros(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn cancel_jobs(&mut self, dedup_keys: &[String]) -> Result<(), StoreError> {
        for key in dedup_keys {
            sqlx::query("DELETE FROM background_jobs WHERE dedup_key = $1").bind(key).execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn complete_job(&mut self, job: &ClaimedJob) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM background_jobs WHERE id = $1 AND run_at = $2")
            .bind(job.id)
            .bind(to_micros(job.run_at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl OutboxWork for Work {
    async fn enqueue_notification(&mut self, notification: &NewNotification, at: Timestamp) -> Result<(), StoreError> {
        let organisation = self.organisation_id();
        insert_notification(&mut self.tx, notification, organisation, at).await
    }
}

#[async_trait]
impl AuditWork for Work {
    async fn append_audit(&mut self, entry: &AuditEntry, at: Timestamp) -> Result<(), StoreError> {
        let chain_id = self.organisation_id();
        append_to_chain(&mut self.tx, chain_id, entry, at).await
    }
}

/// Appends `entry` after the last entry of `chain_id`. The caller holds the chain's lock (the organisation's
/// row, or the provider chain's lock), so nobody else is appending to it.
pub(super) async fn append_to_chain(
    tx: &mut Transaction<'static, Db>,
    chain_id: uuid::Uuid,
    entry: &AuditEntry,
    at: Timestamp,
) -> Result<(), StoreError> {
    let last: Option<(i64, String)> =
        sqlx::query_as("SELECT seq, hash FROM audit_log WHERE chain_id = $1 ORDER BY seq DESC LIMIT 1")
            .bind(chain_id)
            .fetch_optional(&mut **tx)
            .await?;
    let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |(seq, hash)| (seq + 1, hash));
    let mut record = AuditRecord {
        chain_id,
        seq,
        at,
        actor: entry.actor.audit_label(),
        action: entry.action.clone(),
        entity: entry.entity.clone(),
        entity_id: entry.entity_id.clone(),
        before: entry.before.clone(),
        after: entry.after.clone(),
        prev_hash,
        hash: String::new(),
    };
    record.hash = entry_hash(&record);
    sqlx::query(concat!(
        "INSERT INTO audit_log (",
        audit_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(record.chain_id)
    .bind(record.seq)
    .bind(to_micros(record.at))
    .bind(&record.actor)
    .bind(&record.action)
    .bind(&record.entity)
    .bind(&record.entity_id)
    .bind(&record.before)
    .bind(&record.after)
    .bind(&record.prev_hash)
    .bind(&record.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
