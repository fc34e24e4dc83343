//! The notification outbox (NOT-2): rows written in the transaction of the change that causes them, each with
//! the job that delivers it (same id), and read back by the dispatcher and the staff mail page.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::time_ordered_uuid;
use sqlx::Transaction;

use super::begin_write;
use super::{Db, Store};
use crate::rows::{OutboxRow, corrupt, to_micros};
use crate::types::{ClaimedJob, DELIVERY_JOB_KIND, NewNotification, OutboxEntry};
use crate::{Outbox, StoreError};

/// Delivery jobs run before timers that are due at the same time: a timer's own mail should not wait.
const DELIVERY_PRIORITY: i32 = 1;

/// Writes `mail` to the outbox in `tx`, filed under `organisation` (a chain id) and the agreement it is about.
pub(super) async fn insert_notification(
    tx: &mut Transaction<'static, Db>,
    mail: &NewNotification,
    organisation: uuid::Uuid,
    at: Timestamp,
) -> Result<(), StoreError> {
    let stored = mail.notification.to_stored().map_err(|e| corrupt("notification", e))?;
    let id = time_ordered_uuid(at);
    sqlx::query(
        "INSERT INTO outbox (id, kind, agreement_id, organisation_id, recipients, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(stored.kind)
    .bind(mail.notification.agreement().map(|a| a.0))
    .bind(organisation)
    .bind(serde_json::to_string(&mail.recipients).map_err(|e| corrupt("notification", e))?)
    .bind(stored.payload)
    .bind(to_micros(at))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO background_jobs (id, kind, dedup_key, organisation_id, payload, priority, run_at, attempts, \
         created_at) VALUES ($1, $2, NULL, NULL, '{}', $3, $4, 0, $4)",
    )
    .bind(id)
    .bind(DELIVERY_JOB_KIND)
    .bind(DELIVERY_PRIORITY)
    .bind(to_micros(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Outbox rows with their delivery jobs; a query adds its own `WHERE` and order.
macro_rules! entry_select {
    ($rest:literal) => {
        concat!(
            "SELECT ",
            outbox_entry_columns!(),
            " FROM outbox o LEFT JOIN background_jobs j ON j.id = o.id AND j.kind = 'deliver_notification' ",
            $rest
        )
    };
}

#[async_trait]
impl Outbox for Store {
    async fn unsent_notifications(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetch_one(&self.pool).await?;
        Ok(count)
    }

    async fn outbox_entry(&self, id: uuid::Uuid) -> Result<Option<OutboxEntry>, StoreError> {
        let row: Option<OutboxRow> =
            sqlx::query_as(entry_select!("WHERE o.id = $1")).bind(id).fetch_optional(&self.pool).await?;
        row.map(OutboxRow::into_entry).transpose()
    }

    async fn outbox_page(&self, before: Option<uuid::Uuid>, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<OutboxRow> = match before {
            Some(before) => {
                sqlx::query_as(entry_select!("WHERE o.id < $1 ORDER BY o.id DESC LIMIT $2"))
                    .bind(before)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(entry_select!("ORDER BY o.id DESC LIMIT $1")).bind(limit).fetch_all(&self.pool).await?
            }
        };
        rows.into_iter().map(OutboxRow::into_entry).collect()
    }

    async fn mark_notification_sent(
        &self,
        job: &ClaimedJob,
        message_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE outbox SET sent_at = $2, message_id = $3 WHERE id = $1 AND sent_at IS NULL")
            .bind(job.id)
            .bind(to_micros(at))
            .bind(message_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM background_jobs WHERE id = $1").bind(job.id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    #[cfg(feature = "test-support")]
    async fn notifications(&self) -> Result<Vec<crate::types::Notification>, StoreError> {
        let rows: Vec<crate::rows::NotificationRow> =
            sqlx::query_as(concat!("SELECT ", notification_columns!(), " FROM outbox ORDER BY created_at, id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(crate::rows::NotificationRow::into_notification).collect()
    }
}
