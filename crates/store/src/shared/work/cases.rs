//! The unit of work's cases (CASE-1, CASE-2).

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::CaseNumber;
use onramp_domain::agreement::AgreementId;
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::time_ordered_uuid;

use super::work::Work;
use crate::rows::to_micros;
use crate::{CaseWork, StoreError};

#[async_trait]
impl CaseWork for Work {
    async fn open_case(
        &mut self,
        number: CaseNumber,
        agreement: AgreementId,
        subject: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(concat!("INSERT INTO cases (", case_columns!(), ") VALUES ($1, $2, $3, $4, 'open', $5, $6, $6)"))
            .bind(time_ordered_uuid(at))
            .bind(number.to_string())
            .bind(agreement.0)
            .bind(self.organisation_id())
            .bind(subject)
            .bind(to_micros(at))
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::unique_as("case number"))?;
        Ok(())
    }

    async fn add_case_activity(
        &mut self,
        case: CaseNumber,
        author: &str,
        visibility: Visibility,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        let seq = self.next_seq("SELECT MAX(seq) FROM case_activity WHERE case_id = $1", case_id).await?;
        sqlx::query(
            "INSERT INTO case_activity (case_id, seq, at, author, visibility, body) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(seq)
        .bind(to_micros(at))
        .bind(author)
        .bind(visibility.as_str())
        .bind(body)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE cases SET updated_at = $2 WHERE id = $1")
            .bind(case_id)
            .bind(to_micros(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_case_state(&mut self, case: CaseNumber, state: CaseState, at: Timestamp) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        sqlx::query("UPDATE cases SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(case_id)
            .bind(state.as_str())
            .bind(to_micros(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn watch_case(&mut self, case: CaseNumber, email: &str) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        sqlx::query("INSERT INTO case_watchers (case_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(case_id)
            .bind(email)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn case_watchers(&mut self, case: CaseNumber) -> Result<Vec<String>, StoreError> {
        let case_id = self.case_id(case).await?;
        let rows: Vec<(String,)> = sqlx::query_as("SELECT email FROM case_watchers WHERE case_id = $1 ORDER BY email")
            .bind(case_id)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(|(email,)| email).collect())
    }
}
