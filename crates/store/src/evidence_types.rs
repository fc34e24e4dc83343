//! Evidence files (DOS-1, DOS-3): the record of a file that answers an `evidence` question. The bytes live in
//! the service's file store under the record's `id`; the database says what the file answers and what it is.
//! Implemented in `src/shared/evidence.rs` for both backends.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::application::{ApplicationId, SectionKey};
use onramp_domain::evidence::FileType;
use onramp_domain::{OrganisationId, UserId};
use uuid::Uuid;

use crate::StoreError;

/// One stored evidence file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Also the file's id in the file store.
    pub id: Uuid,
    pub application_id: ApplicationId,
    /// The application's organisation (recording checks that it is).
    pub organisation_id: OrganisationId,
    pub section_key: SectionKey,
    pub question_id: String,
    /// The name it was uploaded with, checked by `onramp_domain::evidence::check_file_name`; only shown back.
    pub file_name: String,
    pub file_type: FileType,
    /// In bytes, at least 1.
    pub size: u64,
    /// Lower-case hexadecimal SHA-256 of the content.
    pub sha256: String,
    pub uploaded_by: UserId,
    pub uploaded_at: Timestamp,
}

/// The evidence files of applications.
#[async_trait]
pub trait EvidenceFiles: Send + Sync {
    /// Records a stored file. `NotFound` when the application is not the organisation's (or either, or the
    /// uploader, is unknown); `Conflict` when the id is taken.
    async fn record_evidence(&self, file: &EvidenceFile) -> Result<(), StoreError>;
    /// An application's files, by section, question, then upload time.
    async fn evidence_of(&self, application: ApplicationId) -> Result<Vec<EvidenceFile>, StoreError>;
    async fn evidence_file(&self, id: Uuid) -> Result<Option<EvidenceFile>, StoreError>;
    /// Forgets a file's record; `false` when there was none. Removing the bytes is the caller's.
    async fn remove_evidence(&self, id: Uuid) -> Result<bool, StoreError>;
}
