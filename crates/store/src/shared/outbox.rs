//! The notification outbox (NOT-2): rows written in the transaction of the change that causes them.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::time_ordered_uuid;
use sqlx::Transaction;

use super::{Db, Store};
use crate::rows::{corrupt, to_micros};
use crate::types::NewNotification;
use crate::{Outbox, StoreError};

/// Writes `mail` to the outbox in `tx`, filed under `organisation` (a chain id) and the agreement it is about.
pub(super) async fn insert_notification(
    tx: &mut Transaction<'static, Db>,
    mail: &NewNotification,
    organisation: uuid::Uuid,
    at: Timestamp,
) -> Result<(), StoreError> {
    let stored = mail.notification.to_stored().map_err(|e| corrupt("notification", e))?;
    sqlx::query(
        "INSERT INTO outbox (id, kind, agreement_id, organisation_id, recipients, payload, created_at, \
         next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(time_ordered_uuid(at))
    .bind(stored.kind)
    .bind(mail.notification.agreement().map(|a| a.0))
    .bind(organisation)
    .bind(serde_json::to_string(&mail.recipients).map_err(|e| corrupt("notification", e))?)
    .bind(stored.payload)
    .bind(to_micros(at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl Outbox for Store {
    #[cfg(feature = "test-support")]
    async fn notifications(&self) -> Result<Vec<crate::types::Notification>, StoreError> {
        let rows: Vec<crate::rows::NotificationRow> =
            sqlx::query_as(concat!("SELECT ", notification_columns!(), " FROM outbox ORDER BY created_at, id"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(crate::rows::NotificationRow::into_notification).collect()
    }
}
