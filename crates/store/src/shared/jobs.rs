//! The durable job queue (`background_jobs`) as workers and operators use it. A worker claims due jobs by
//! leasing them (`locked_until`), so a crashed worker's claims come back once the lease runs out; how the
//! claim keeps two workers apart is the backend's (`CLAIM_JOBS`).

use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

use super::{CLAIM_JOBS, Store, begin_write};
use crate::rows::{ClaimedJobRow, JobRow, PendingJobRow, from_micros, to_micros};
use crate::types::{ClaimedJob, FailedJob, PendingJob};
use crate::{Jobs, StoreError};

/// The smallest string greater than every string that starts with `prefix`, if there is one.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut end: Vec<char> = prefix.chars().collect();
    while let Some(last) = end.pop() {
        let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
        if let Some(next) = next {
            end.push(next);
            return Some(end.into_iter().collect());
        }
    }
    None
}

#[async_trait]
impl Jobs for Store {
    async fn claim_due_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let rows: Vec<ClaimedJobRow> = sqlx::query_as(CLAIM_JOBS)
            .bind(to_micros(now))
            .bind(to_micros(lease_until))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut jobs = rows.into_iter().map(ClaimedJob::try_from).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| (std::cmp::Reverse(job.priority), job.run_at, job.id));
        Ok(jobs)
    }

    async fn release_job(&self, job: &ClaimedJob, retry_at: Timestamp, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE background_jobs SET locked_until = $2, last_error = $3 WHERE id = $1 AND run_at = $4")
            .bind(job.id)
            .bind(to_micros(retry_at))
            .bind(error)
            .bind(to_micros(job.run_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn fail_job(&self, job: &ClaimedJob, error: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE background_jobs SET failed_at = $2, last_error = $3, locked_until = NULL \
             WHERE id = $1 AND run_at = $4",
        )
        .bind(job.id)
        .bind(to_micros(at))
        .bind(error)
        .bind(to_micros(job.run_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn retry_failed_job(&self, id: Uuid, now: Timestamp) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE background_jobs SET failed_at = NULL, attempts = 0, run_at = $2, locked_until = NULL, \
             last_error = NULL WHERE id = $1 AND failed_at IS NOT NULL",
        )
        .bind(id)
        .bind(to_micros(now))
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound { entity: "failed job" }) }
    }

    async fn failed_jobs(&self) -> Result<Vec<FailedJob>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(concat!(
            "SELECT ",
            job_columns!(),
            " FROM background_jobs WHERE failed_at IS NOT NULL ORDER BY failed_at, id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(JobRow::into_failed).collect()
    }

    async fn jobs_with_key_prefix(&self, prefix: &str) -> Result<Vec<PendingJob>, StoreError> {
        // A range on the key rather than LIKE, so the unique index on dedup_key serves it (PostgreSQL keeps the
        // column in the "C" collation, SQLite compares bytes: both order the range as Rust does).
        let query = match prefix_end(prefix) {
            Some(end) => sqlx::query_as(concat!(
                "SELECT ",
                pending_job_columns!(),
                " FROM background_jobs WHERE dedup_key >= $1 AND dedup_key < $2 AND failed_at IS NULL \
                 ORDER BY run_at, dedup_key"
            ))
            .bind(prefix.to_owned())
            .bind(end),
            None => sqlx::query_as(concat!(
                "SELECT ",
                pending_job_columns!(),
                " FROM background_jobs WHERE dedup_key >= $1 AND failed_at IS NULL ORDER BY run_at, dedup_key"
            ))
            .bind(prefix.to_owned()),
        };
        let rows: Vec<PendingJobRow> = query.fetch_all(&self.pool).await?;
        rows.into_iter().map(PendingJob::try_from).collect()
    }

    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let (next,): (Option<i64>,) = sqlx::query_as(
            "SELECT MIN(CASE WHEN locked_until > run_at THEN locked_until ELSE run_at END) FROM background_jobs \
             WHERE failed_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        next.map(|micros| from_micros("job", micros)).transpose()
    }

    async fn pending_jobs(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM background_jobs WHERE failed_at IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(count)
    }

    async fn queue_stats(&self, now: Timestamp) -> Result<Vec<crate::types::QueueStats>, StoreError> {
        let rows: Vec<(String, i64, i64, i64, Option<i64>)> = sqlx::query_as(
            "SELECT kind, \
             SUM(CASE WHEN failed_at IS NULL THEN 1 ELSE 0 END), \
             SUM(CASE WHEN failed_at IS NULL AND run_at <= $1 THEN 1 ELSE 0 END), \
             SUM(CASE WHEN failed_at IS NOT NULL THEN 1 ELSE 0 END), \
             MIN(CASE WHEN failed_at IS NULL AND run_at <= $1 THEN run_at END) \
             FROM background_jobs GROUP BY kind ORDER BY kind",
        )
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(kind, waiting, due, failed, oldest)| {
                let oldest_due = oldest.map(|micros| from_micros("job", micros)).transpose()?;
                Ok(crate::types::QueueStats { kind, waiting, due, failed, oldest_due })
            })
            .collect()
    }

    #[cfg(feature = "test-support")]
    async fn all_jobs(&self) -> Result<Vec<crate::types::JobRecord>, StoreError> {
        let rows: Vec<JobRow> =
            sqlx::query_as(concat!("SELECT ", job_columns!(), " FROM background_jobs ORDER BY run_at, id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(JobRow::into_record).collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_prefix_range_ends_just_after_every_key_with_that_prefix() {
        assert_eq!(super::prefix_end("agreement_timer:1:").as_deref(), Some("agreement_timer:1;"));
        assert_eq!(super::prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(super::prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(super::prefix_end(""), None);
    }
}
