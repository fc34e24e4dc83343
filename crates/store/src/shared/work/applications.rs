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
}
