//! Agreements read outside a unit of work, terms publications and the timer ledger.

use async_trait::async_trait;
use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry};
use onramp_domain::{AgreementNumber, OrganisationId};

use super::Store;
use crate::rows::{AgreementRow, LedgerRow, corrupt, from_micros};
use crate::types::Publication;
use crate::{Agreements, StoreError};

#[async_trait]
impl Agreements for Store {
    async fn agreement(&self, id: AgreementId) -> Result<Option<Agreement>, StoreError> {
        let row: Option<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements WHERE id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        row.map(AgreementRow::into_agreement).transpose()
    }

    async fn agreement_by_number(&self, number: AgreementNumber) -> Result<Option<Agreement>, StoreError> {
        let row: Option<AgreementRow> = sqlx::query_as("SELECT data FROM agreements WHERE number = $1")
            .bind(number.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(AgreementRow::into_agreement).transpose()
    }

    async fn agreements_of(&self, organisation: OrganisationId) -> Result<Vec<Agreement>, StoreError> {
        let rows: Vec<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements WHERE organisation_id = $1 ORDER BY number DESC")
                .bind(organisation.0)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(AgreementRow::into_agreement).collect()
    }

    async fn all_agreements(&self) -> Result<Vec<Agreement>, StoreError> {
        let rows: Vec<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements ORDER BY number DESC").fetch_all(&self.pool).await?;
        rows.into_iter().map(AgreementRow::into_agreement).collect()
    }

    async fn uplift_candidates(
        &self,
        version: u32,
        after: Option<OrganisationId>,
        limit: i64,
    ) -> Result<Vec<OrganisationId>, StoreError> {
        let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT organisation_id FROM agreements WHERE state = 'active' AND terms_version < $1 \
             AND ($2 IS NULL OR organisation_id > $2) ORDER BY organisation_id LIMIT $3",
        )
        .bind(i64::from(version))
        .bind(after.map(|o| o.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| OrganisationId(id)).collect())
    }

    async fn publications(&self) -> Result<Vec<Publication>, StoreError> {
        const ENTITY: &str = "terms publication";
        let rows: Vec<(i64, i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT version, published_at, published_by, finished_at FROM terms_publications ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(version, at, by, finished)| {
                Ok(Publication {
                    version: u32::try_from(version).map_err(|e| corrupt(ENTITY, e))?,
                    published_at: from_micros(ENTITY, at)?,
                    published_by: by,
                    finished_at: finished.map(|f| from_micros(ENTITY, f)).transpose()?,
                })
            })
            .collect()
    }

    async fn ledger(&self, agreement: AgreementId) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows: Vec<LedgerRow> = sqlx::query_as(
            "SELECT at, event, timer, actor, remaining_us, deadline FROM timer_ledger WHERE agreement_id = $1 \
             ORDER BY seq",
        )
        .bind(agreement.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(LedgerRow::into_entry).collect()
    }

    #[cfg(feature = "test-support")]
    async fn accepted_terms(&self, agreement: AgreementId) -> Result<Option<crate::types::AcceptedTerms>, StoreError> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT terms_version, sha256, text FROM accepted_terms WHERE agreement_id = $1")
                .bind(agreement.0)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(version, sha256, text)| {
            let terms_version = u32::try_from(version).map_err(|e| corrupt("accepted terms", e))?;
            Ok(crate::types::AcceptedTerms { terms_version, sha256, text })
        })
        .transpose()
    }
}
