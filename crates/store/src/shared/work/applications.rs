//! The unit of work's applications (DOS-3).

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::application::{Application, ApplicationId, ApplicationState, SectionState};

use super::work::Work;
use crate::rows::{corrupt, to_micros};
use crate::{ApplicationWork, StoreError};

#[async_trait]
impl ApplicationWork for Work {
    async fn application(&mut self, id: ApplicationId) -> Result<Option<Application>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT data FROM applications WHERE id = $1 AND organisation_id = $2")
                .bind(id.0)
                .bind(self.organisation_id())
                .fetch_optional(&mut *self.tx)
                .await?;
        row.map(|(data,)| serde_json::from_str(&data).map_err(|e| corrupt("application", e))).transpose()
    }

    async fn save_application(&mut self, application: &Application, now: Timestamp) -> Result<(), StoreError> {
        if application.organisation_id.0 != self.organisation_id() {
            return Err(StoreError::NotFound { entity: "application of this organisation" });
        }
        let data = serde_json::to_string(application).map_err(|e| corrupt("application", e))?;
        let state = match application.state {
            ApplicationState::Open => "open",
            ApplicationState::Rejected { .. } => "rejected",
        };
        sqlx::query(
            "INSERT INTO applications (id, organisation_id, product_name, state, started_at, updated_at, version, data) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (id) DO UPDATE SET product_name = excluded.product_name, \
             state = excluded.state, updated_at = excluded.updated_at, version = applications.version + 1, \
             data = excluded.data",
        )
        .bind(application.id.0)
        .bind(application.organisation_id.0)
        .bind(&application.product_name)
        .bind(state)
        .bind(to_micros(application.started_at))
        .bind(to_micros(now))
        .bind(data)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("DELETE FROM application_sections WHERE application_id = $1")
            .bind(application.id.0)
            .execute(&mut *self.tx)
            .await?;
        for (key, record) in &application.sections {
            if record.state == SectionState::NotStarted {
                continue;
            }
            sqlx::query(
                "INSERT INTO application_sections (application_id, section_key, state, changed_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(application.id.0)
            .bind(&key.0)
            .bind(record.state.as_str())
            .bind(to_micros(record.changed_at.unwrap_or(now)))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn record_evidence(&mut self, file: &crate::EvidenceFile) -> Result<(), StoreError> {
        if file.organisation_id.0 != self.organisation_id() {
            return Err(StoreError::NotFound { entity: "application of this organisation" });
        }
        super::evidence::insert_evidence(&mut *self.tx, file).await
    }

    async fn remove_evidence(&mut self, id: uuid::Uuid) -> Result<bool, StoreError> {
        let removed = sqlx::query("DELETE FROM evidence_files WHERE id = $1 AND organisation_id = $2")
            .bind(id)
            .bind(self.organisation_id())
            .execute(&mut *self.tx)
            .await?;
        Ok(removed.rows_affected() > 0)
    }

    async fn record_agreement_source(
        &mut self,
        agreement: onramp_domain::agreement::AgreementId,
        application: ApplicationId,
        answers_sha256: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        // Only when both are this organisation's.
        let inserted = sqlx::query(
            "INSERT INTO agreement_sources (agreement_id, application_id, answers_sha256, created_at) \
             SELECT g.id, a.id, $3, $4 FROM agreements g JOIN applications a ON a.organisation_id = g.organisation_id \
             WHERE g.id = $1 AND a.id = $2 AND g.organisation_id = $5",
        )
        .bind(agreement.0)
        .bind(application.0)
        .bind(answers_sha256)
        .bind(to_micros(now))
        .bind(self.organisation_id())
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::unique_as("agreement source"))?;
        if inserted.rows_affected() == 0 {
            return Err(StoreError::NotFound { entity: "agreement or application of this organisation" });
        }
        Ok(())
    }
}
