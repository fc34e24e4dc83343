//! The unit of work's agreements: the live chain, numbers, saving with the version check, accepted terms
//! and the timer ledger.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::agreement::{Agreement, AgreementId, AgreementState, LedgerEntry};

use super::work::Work;
use crate::rows::{AgreementRow, corrupt, to_micros};
use crate::types::{LiveAgreements, Sequence};
use crate::{AgreementWork, StoreError};

const INSERT_AGREEMENT: &str =
    concat!("INSERT INTO agreements (", agreement_columns!(), ") VALUES (", agreement_values!(), ")");

/// The optimistic lock: the stored row must be the version before this one.
const UPDATE_AGREEMENT: &str = concat!(
    "UPDATE agreements SET (",
    agreement_columns!(),
    ") = (",
    agreement_values!(),
    ") WHERE id = $1 AND version = $12 - 1"
);

#[async_trait]
impl AgreementWork for Work {
    async fn live_agreements(&mut self) -> Result<LiveAgreements, StoreError> {
        let rows: Vec<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements WHERE organisation_id = $1 AND state IN ('active', 'draft')")
                .bind(self.organisation_id())
                .fetch_all(&mut *self.tx)
                .await?;
        let mut live = LiveAgreements::default();
        for row in rows {
            let agreement = row.into_agreement()?;
            match agreement.state {
                AgreementState::Active => live.active = Some(agreement),
                _ => live.draft = Some(agreement),
            }
        }
        Ok(live)
    }

    async fn next_number(&mut self, sequence: Sequence) -> Result<i64, StoreError> {
        let (value,): (i64,) = sqlx::query_as("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind(sequence.as_str())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(value)
    }

    async fn save_agreement(&mut self, agreement: &Agreement) -> Result<(), StoreError> {
        let data = serde_json::to_string(agreement).map_err(|e| corrupt("agreement", e))?;
        let products: Vec<&str> = agreement.api_products.iter().map(|p| p.slug()).collect();
        let sql = if agreement.version <= 1 { INSERT_AGREEMENT } else { UPDATE_AGREEMENT };
        let result = sqlx::query(sql)
            .bind(agreement.id.0)
            .bind(agreement.number.to_string())
            .bind(agreement.organisation_id.0)
            .bind(agreement.state.as_str())
            .bind(agreement.substate.map(|s| s.as_str()))
            .bind(agreement.signature_type.as_str())
            .bind(agreement.origin.as_str())
            .bind(i64::from(agreement.terms_version))
            .bind(products.join(";"))
            .bind(to_micros(agreement.created_at))
            .bind(agreement.review_deadline.map(to_micros))
            .bind(agreement.version)
            .bind(data)
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::unique_as("live agreement of this organisation"))?;
        if result.rows_affected() != 1 {
            return Err(StoreError::StaleVersion { entity: "agreement" });
        }
        Ok(())
    }

    async fn save_accepted_terms(
        &mut self,
        agreement: AgreementId,
        terms_version: u32,
        sha256: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accepted_terms (agreement_id, terms_version, sha256, text, accepted_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(agreement.0)
        .bind(i64::from(terms_version))
        .bind(sha256)
        .bind(text)
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_ledger(&mut self, agreement: AgreementId, entry: &LedgerEntry) -> Result<(), StoreError> {
        let seq = self.next_seq("SELECT MAX(seq) FROM timer_ledger WHERE agreement_id = $1", agreement.0).await?;
        sqlx::query(
            "INSERT INTO timer_ledger (agreement_id, seq, at, event, timer, actor, remaining_us, deadline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(agreement.0)
        .bind(seq)
        .bind(to_micros(entry.at))
        .bind(entry.event.as_str())
        .bind(serde_json::to_string(&entry.timer).map_err(|e| corrupt("ledger entry", e))?)
        .bind(serde_json::to_string(&entry.actor).map_err(|e| corrupt("ledger entry", e))?)
        .bind(i64::try_from(entry.remaining.as_micros()).unwrap_or(i64::MAX))
        .bind(entry.deadline.map(to_micros))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}
