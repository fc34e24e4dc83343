//! Evidence on applications (DOS-1, DOS-3): a supplier uploads a file to an `evidence` question, takes one
//! off, and the organisation and the provider's staff download them. Every upload, removal and download is in
//! the audit log.
//!
//! An upload is checked twice by the same rule, `onramp_domain::application::decide`: before the bytes are
//! read (may this user attach a file to this question now?), and again under the organisation's lock when the
//! kept file is attached, in one transaction with its record and audit entry. The organisation is not locked
//! while the bytes stream in. A file whose attachment fails is removed again, so nothing is left behind.

use onramp_domain::User;
use onramp_domain::application::{ApplicationCommand, ApplicationId, Plan, SectionKey};
use onramp_domain::flow::evaluate::Answer;
use onramp_domain::flow::file::{Flow, Limits};
use onramp_store::{AuditEntry, EvidenceFile};
use tokio::io::AsyncRead;
use uuid::Uuid;

use crate::AppContext;
use crate::applications::{self, ApplicationServiceError, FileChange};
use crate::evidence::{ChunkSource, UploadError, store_upload};

#[derive(Debug, thiserror::Error)]
pub enum EvidenceServiceError {
    #[error(transparent)]
    Application(#[from] ApplicationServiceError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("evidence file not found")]
    NotFound,
}

impl From<onramp_store::StoreError> for EvidenceServiceError {
    fn from(error: onramp_store::StoreError) -> Self {
        Self::Application(error.into())
    }
}

type Result<T, E = EvidenceServiceError> = std::result::Result<T, E>;

/// The limits of `question` in `section`, how many files it has and whose application it is, if `user` may
/// attach a file now.
async fn may_attach(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
    section: &SectionKey,
    question: &str,
) -> Result<(Limits, u32, onramp_domain::OrganisationId)> {
    let application = applications::application_for(context, user, id).await?;
    let organisation =
        context.store.organisation(application.organisation_id).await?.ok_or(ApplicationServiceError::NotFound)?;
    let flows = applications::pinned_flows(context, &application).await?;
    let pinned: Vec<&Flow> = flows.iter().collect();
    let facts = applications::facts(&organisation);
    // The same judge as the real attach, with a placeholder for the file that is not stored yet.
    let trial =
        ApplicationCommand::Attach { section: section.clone(), question: question.to_owned(), file: String::new() };
    onramp_domain::application::decide(&application, &pinned, &facts, user, trial, context.clock.now())
        .map_err(ApplicationServiceError::from)?;
    let plan = Plan::of(&application, &pinned, &facts).map_err(ApplicationServiceError::from)?;
    let limits = plan
        .get(section)
        .and_then(|planned| planned.section.questions.iter().find(|q| q.id == question))
        .map(|asked| asked.limits.clone())
        .ok_or(ApplicationServiceError::NotFound)?;
    let already = match application.sections.get(section).and_then(|record| record.answers.get(question)) {
        Some(Answer::Choices(files)) => u32::try_from(files.len()).unwrap_or(u32::MAX),
        _ => 0,
    };
    Ok((limits, already, application.organisation_id))
}

/// Takes in `source` as a file named `file_name` answering `question`, and attaches it. Refusals name the rule
/// (`UploadError::Refused`, or the application's own rules); nothing is stored then.
#[tracing::instrument(skip_all, fields(application = %id.0, section = %section, question))]
pub async fn upload<S: ChunkSource>(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
    section: &SectionKey,
    question: &str,
    file_name: &str,
    source: S,
) -> Result<EvidenceFile> {
    let (limits, already, organisation_id) = may_attach(context, user, id, section, question).await?;
    let stored = store_upload(context.files.as_ref(), &limits, already, file_name, source).await?;
    let record = EvidenceFile {
        id: stored.id,
        application_id: id,
        organisation_id,
        section_key: section.clone(),
        question_id: question.to_owned(),
        file_name: stored.file_name,
        file_type: stored.file_type,
        size: stored.size,
        sha256: stored.sha256,
        uploaded_by: user.id,
        uploaded_at: context.clock.now(),
    };
    let attach = ApplicationCommand::Attach {
        section: section.clone(),
        question: question.to_owned(),
        file: record.id.to_string(),
    };
    if let Err(error) = applications::act_with(context, user, id, attach, Some(FileChange::Recorded(&record))).await {
        if let Err(removing) = context.files.remove(record.id).await {
            tracing::error!(error = %removing, file = %record.id, "could not remove an upload that was not attached");
        }
        return Err(error.into());
    }
    tracing::info!(file = %record.id, size = record.size, file_type = record.file_type.as_str(), "evidence uploaded");
    Ok(record)
}

/// The files of an application `user` may see, by section, question and upload time.
pub async fn files_of(context: &AppContext, user: &User, id: ApplicationId) -> Result<Vec<EvidenceFile>> {
    let application = applications::application_for(context, user, id).await?;
    Ok(context.store.evidence_of(application.id).await?)
}

/// One of the application's files, if `user` may see the application.
async fn file_of(context: &AppContext, user: &User, id: ApplicationId, file: Uuid) -> Result<EvidenceFile> {
    let application = applications::application_for(context, user, id).await?;
    context
        .store
        .evidence_file(file)
        .await?
        .filter(|found| found.application_id == application.id)
        .ok_or(EvidenceServiceError::NotFound)
}

/// Takes `file` off its question (while the section can be changed) and deletes it.
#[tracing::instrument(skip_all, fields(application = %id.0, file = %file))]
pub async fn remove(context: &AppContext, user: &User, id: ApplicationId, file: Uuid) -> Result<()> {
    let record = file_of(context, user, id, file).await?;
    let detach = ApplicationCommand::Detach {
        section: record.section_key.clone(),
        question: record.question_id.clone(),
        file: record.id.to_string(),
    };
    applications::act_with(context, user, id, detach, Some(FileChange::Removed(&record))).await?;
    if let Err(error) = context.files.remove(record.id).await {
        // The record is gone, so nobody can reach the bytes; they are only wasted space.
        tracing::error!(%error, file = %record.id, "could not delete a removed evidence file");
    }
    Ok(())
}

/// Opens `file` for `user` (the organisation's members and staff) and writes the download to the audit log
/// before a byte is sent.
#[tracing::instrument(skip_all, fields(application = %id.0, file = %file))]
pub async fn download(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
    file: Uuid,
) -> Result<(EvidenceFile, Box<dyn AsyncRead + Send + Unpin>)> {
    let record = file_of(context, user, id, file).await?;
    let content =
        context.files.open(record.id).await.map_err(UploadError::Storage)?.ok_or(EvidenceServiceError::NotFound)?;
    let now = context.clock.now();
    let mut work = context.store.begin(record.organisation_id).await?;
    let entry = AuditEntry {
        actor: user.actor(),
        action: "evidence_download".into(),
        entity: "application".into(),
        entity_id: id.0.to_string(),
        before: None,
        after: Some(serde_json::json!({ "file": applications::file_facts(&record) }).to_string()),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok((record, content))
}
