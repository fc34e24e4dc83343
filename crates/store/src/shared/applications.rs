//! Applications as the pages read them (DOS-3).

use async_trait::async_trait;
use onramp_domain::agreement::AgreementId;
use onramp_domain::application::{Application, ApplicationId, SectionKey};
use onramp_domain::{AgreementNumber, OrganisationId};
use uuid::Uuid;

use super::Store;
use crate::rows::{corrupt, from_micros};
use crate::{AgreementSource, Applications, QueuedSection, StoreError};

/// `SourceRow`s.
macro_rules! sources {
    () => {
        "SELECT s.agreement_id, g.number, s.application_id, s.answers_sha256, s.created_at \
         FROM agreement_sources s JOIN agreements g ON g.id = s.agreement_id"
    };
}

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

    async fn open_applications(&self) -> Result<Vec<Application>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT data FROM applications WHERE state = 'open' ORDER BY started_at, id")
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

    async fn agreement_source(&self, agreement: AgreementId) -> Result<Option<AgreementSource>, StoreError> {
        let row: Option<SourceRow> = sqlx::query_as(concat!(sources!(), " WHERE s.agreement_id = $1"))
            .bind(agreement.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(AgreementSource::try_from).transpose()
    }

    async fn agreements_from(&self, application: ApplicationId) -> Result<Vec<AgreementSource>, StoreError> {
        let rows: Vec<SourceRow> =
            sqlx::query_as(concat!(sources!(), " WHERE s.application_id = $1 ORDER BY s.created_at, g.number"))
                .bind(application.0)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(AgreementSource::try_from).collect()
    }
}

#[derive(sqlx::FromRow)]
struct SourceRow {
    agreement_id: Uuid,
    number: String,
    application_id: Uuid,
    answers_sha256: String,
    created_at: i64,
}

impl TryFrom<SourceRow> for AgreementSource {
    type Error = StoreError;

    fn try_from(row: SourceRow) -> Result<Self, Self::Error> {
        Ok(AgreementSource {
            agreement_id: AgreementId(row.agreement_id),
            agreement_number: AgreementNumber::parse(&row.number).map_err(|e| corrupt("agreement source", e))?,
            application_id: ApplicationId(row.application_id),
            answers_sha256: row.answers_sha256,
            created_at: from_micros("agreement source", row.created_at)?,
        })
    }
}
