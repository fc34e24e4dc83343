//! The demo clock's offset, kept in the database so every instance follows it.

use async_trait::async_trait;
use jiff::SignedDuration;

use super::Store;
use crate::{DemoClock, StoreError};

#[async_trait]
impl DemoClock for Store {
    async fn demo_offset(&self) -> Result<SignedDuration, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT offset_us FROM demo_clock WHERE id = 1").fetch_optional(&self.pool).await?;
        Ok(SignedDuration::from_micros(row.map_or(0, |(offset,)| offset)))
    }

    async fn advance_demo_clock(&self, by: SignedDuration) -> Result<SignedDuration, StoreError> {
        let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX).max(0);
        let (offset,): (i64,) = sqlx::query_as(
            "INSERT INTO demo_clock (id, offset_us) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET offset_us = demo_clock.offset_us + excluded.offset_us RETURNING offset_us",
        )
        .bind(by)
        .fetch_one(&self.pool)
        .await?;
        Ok(SignedDuration::from_micros(offset))
    }
}
