//! Applications as the pages read them (DOS-3).

use async_trait::async_trait;
use onramp_domain::OrganisationId;
use onramp_domain::application::{Application, ApplicationId, SectionKey};
use uuid::Uuid;

use super::Store;
use crate::rows::{corrupt, from_micros};
use crate::{Applications, QueuedSection, StoreError};

fn decode(data: &str) -> Result<Application, StoreError> {
    serde_json::from_str(data).map_err(|e| corrupt("application", e))
}

#[async_trait]
impl Applications for Store {
    async fn application(&self, id: ApplicationId) -> Result<Option<Application>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT data FROM applications WHERE id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        row.map(|(data,)| decode(&data)).transpose()
    }

    async fn applications_of(&self, organisation: OrganisationId) -> Result<Vec<Application>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT data FROM applications WHERE organisation_id = $1 ORDER BY started_at DESC, id")
                .bind(organisation.0)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|(data,)| decode(data)).collect()
    }

    async fn review_queue(&self) -> Result<Vec<QueuedSection>, StoreError> {
        let rows: Vec<(Uuid, Uuid, String, String, i64)> = sqlx::query_as(
            "SELECT a.id, a.organisation_id, a.product_name, s.section_key, s.changed_at \
             FROM application_sections s JOIN applications a ON a.id = s.application_id \
             WHERE s.state = 'submitted' AND a.state = 'open' ORDER BY s.changed_at, a.id, s.section_key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(application, organisation, product_name, section, changed_at)| {
                Ok(QueuedSection {
                    application: ApplicationId(application),
                    organisation_id: OrganisationId(organisation),
                    product_name,
                    section: SectionKey(section),
                    submitted_at: from_micros("application section", changed_at)?,
                })
            })
            .collect()
    }
}
