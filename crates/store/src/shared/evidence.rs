//! Evidence files (DOS-1, DOS-3); see `crate::EvidenceFiles`.

use async_trait::async_trait;
use onramp_domain::application::{ApplicationId, SectionKey};
use onramp_domain::evidence::FileType;
use onramp_domain::{OrganisationId, UserId};
use uuid::Uuid;

use super::{Db, Store};
use crate::rows::{corrupt, from_micros, to_micros};
use crate::{EvidenceFile, EvidenceFiles, StoreError};

const ENTITY: &str = "evidence file";

/// `EvidenceRow`.
macro_rules! evidence_columns {
    () => {
        "id, application_id, organisation_id, section_key, question_id, file_name, file_type, size, sha256, \
         uploaded_by, uploaded_at"
    };
}

#[derive(sqlx::FromRow)]
struct EvidenceRow {
    id: Uuid,
    application_id: Uuid,
    organisation_id: Uuid,
    section_key: String,
    question_id: String,
    file_name: String,
    file_type: String,
    size: i64,
    sha256: String,
    uploaded_by: Uuid,
    uploaded_at: i64,
}

impl TryFrom<EvidenceRow> for EvidenceFile {
    type Error = StoreError;

    fn try_from(row: EvidenceRow) -> Result<Self, Self::Error> {
        Ok(EvidenceFile {
            id: row.id,
            application_id: ApplicationId(row.application_id),
            organisation_id: OrganisationId(row.organisation_id),
            section_key: SectionKey(row.section_key),
            question_id: row.question_id,
            file_name: row.file_name,
            file_type: FileType::parse(&row.file_type)
                .ok_or_else(|| corrupt(ENTITY, format!("unknown file type {:?}", row.file_type)))?,
            size: u64::try_from(row.size).map_err(|e| corrupt(ENTITY, e))?,
            sha256: row.sha256,
            uploaded_by: UserId(row.uploaded_by),
            uploaded_at: from_micros(ENTITY, row.uploaded_at)?,
        })
    }
}

#[async_trait]
impl EvidenceFiles for Store {
    async fn record_evidence(&self, file: &EvidenceFile) -> Result<(), StoreError> {
        insert_evidence(&self.pool, file).await
    }

    async fn evidence_of(&self, application: ApplicationId) -> Result<Vec<EvidenceFile>, StoreError> {
        let rows: Vec<EvidenceRow> = sqlx::query_as(concat!(
            "SELECT ",
            evidence_columns!(),
            " FROM evidence_files WHERE application_id = $1 ORDER BY section_key, question_id, uploaded_at, id"
        ))
        .bind(application.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(EvidenceFile::try_from).collect()
    }

    async fn evidence_file(&self, id: Uuid) -> Result<Option<EvidenceFile>, StoreError> {
        let row: Option<EvidenceRow> =
            sqlx::query_as(concat!("SELECT ", evidence_columns!(), " FROM evidence_files WHERE id = $1"))
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(EvidenceFile::try_from).transpose()
    }

    async fn remove_evidence(&self, id: Uuid) -> Result<bool, StoreError> {
        let removed = sqlx::query("DELETE FROM evidence_files WHERE id = $1").bind(id).execute(&self.pool).await?;
        Ok(removed.rows_affected() > 0)
    }
}

/// Inserts the record, only when the application is the organisation's, so a file never answers another's.
pub(super) async fn insert_evidence<'e>(
    executor: impl sqlx::Executor<'e, Database = Db>,
    file: &EvidenceFile,
) -> Result<(), StoreError> {
    let size = i64::try_from(file.size).map_err(|e| corrupt(ENTITY, e))?;
    let inserted = sqlx::query(concat!(
        "INSERT INTO evidence_files (",
        evidence_columns!(),
        ") SELECT $1, id, organisation_id, $4, $5, $6, $7, $8, $9, $10, $11 FROM applications \
         WHERE id = $2 AND organisation_id = $3"
    ))
    .bind(file.id)
    .bind(file.application_id.0)
    .bind(file.organisation_id.0)
    .bind(&file.section_key.0)
    .bind(&file.question_id)
    .bind(&file.file_name)
    .bind(file.file_type.as_str())
    .bind(size)
    .bind(&file.sha256)
    .bind(file.uploaded_by.0)
    .bind(to_micros(file.uploaded_at))
    .execute(executor)
    .await
    .map_err(|error| match &error {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => StoreError::NotFound { entity: "uploader" },
        _ => StoreError::unique_as("evidence file id")(error),
    })?;
    if inserted.rows_affected() == 0 {
        return Err(StoreError::NotFound { entity: "application" });
    }
    Ok(())
}
