//! From assurance to agreement (DOS-6, CA-2, ORG-3): once every section of an application that applies is
//! approved (except the section that records the agreement's own number, which waits for it), the agreement
//! team creates the connection agreement from it. Its *API products applicable* are the application's, and it
//! records the SHA-256 of the approved answers it rests on, with the link to the application, in the same
//! transaction as the agreement. A provider-internal organisation is never asked for an agreement.

use std::collections::BTreeMap;

use onramp_domain::agreement::{Agreement, AgreementState, Origin};
use onramp_domain::application::{Application, ApplicationId, ApplicationState, Plan};
use onramp_domain::flow::file::Flow;
use onramp_domain::{AgreementNumber, Organisation, OrganisationKind, User};
use onramp_store::AuditEntry;

use crate::AppContext;
use crate::applications::{self, ApplicationServiceError};
use crate::lifecycle::{self, FromApplication, LifecycleServiceError};

#[derive(Debug, thiserror::Error)]
pub enum AgreementFromApplicationError {
    #[error(transparent)]
    Application(#[from] ApplicationServiceError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleServiceError),
    #[error("a provider-internal organisation needs no connection agreement")]
    ProviderInternal,
    #[error("the application was rejected")]
    Rejected,
    #[error("these sections must be approved first: {}", .0.join(", "))]
    NotReady(Vec<String>),
    #[error("{0} was already created from this application")]
    AlreadyCreated(AgreementNumber),
}

impl From<onramp_store::StoreError> for AgreementFromApplicationError {
    fn from(error: onramp_store::StoreError) -> Self {
        Self::Application(error.into())
    }
}

/// What the application page says about the agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgreementStanding {
    /// The organisation is part of the provider (ORG-3).
    NotNeeded,
    /// Created from this application, and still a draft or in force.
    Created(AgreementNumber),
    /// These sections wait for approval.
    Waiting(Vec<String>),
    /// The agreement team may create it now.
    Ready,
}

/// Where the application stands towards its agreement, with the approved answers' SHA-256 once ready.
pub async fn standing(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
) -> Result<(AgreementStanding, Option<String>), AgreementFromApplicationError> {
    let application = applications::application_for(context, user, id).await?;
    let organisation =
        context.store.organisation(application.organisation_id).await?.ok_or(ApplicationServiceError::NotFound)?;
    let flows = applications::pinned_flows(context, &application).await?;
    let pinned: Vec<&Flow> = flows.iter().collect();
    let plan =
        Plan::of(&application, &pinned, &applications::facts(&organisation)).map_err(ApplicationServiceError::from)?;
    standing_of(context, &application, &organisation, &plan).await
}

/// [`standing`] for an application a page has already loaded and laid out (`plan` is its plan).
pub async fn standing_of(
    context: &AppContext,
    application: &Application,
    organisation: &Organisation,
    plan: &Plan<'_>,
) -> Result<(AgreementStanding, Option<String>), AgreementFromApplicationError> {
    if organisation.details.kind == OrganisationKind::ProviderInternal {
        return Ok((AgreementStanding::NotNeeded, None));
    }
    for source in context.store.agreements_from(application.id).await? {
        let live = context
            .store
            .agreement(source.agreement_id)
            .await?
            .is_some_and(|agreement| matches!(agreement.state, AgreementState::Draft | AgreementState::Active));
        if live {
            return Ok((AgreementStanding::Created(source.agreement_number), None));
        }
    }
    if !plan.ready_for_agreement() {
        return Ok((AgreementStanding::Waiting(plan.waiting_before_agreement()), None));
    }
    let files = context.store.evidence_of(application.id).await?;
    let hashes: BTreeMap<String, String> = files.into_iter().map(|file| (file.id.to_string(), file.sha256)).collect();
    Ok((AgreementStanding::Ready, Some(plan.approved_answers_sha256(application, &hashes))))
}

/// DOS-6: the agreement team creates the connection agreement from a ready application.
#[tracing::instrument(skip_all, fields(application = %id.0))]
pub async fn create(
    context: &AppContext,
    staff: &User,
    id: ApplicationId,
) -> Result<Agreement, AgreementFromApplicationError> {
    let application = applications::application_for(context, staff, id).await?;
    if !staff.has_staff_role(onramp_domain::StaffRole::AgreementTeam) {
        return Err(LifecycleServiceError::Rule(onramp_domain::agreement::LifecycleError::NotAgreementTeam).into());
    }
    if let ApplicationState::Rejected { .. } = application.state {
        return Err(AgreementFromApplicationError::Rejected);
    }
    let answers_sha256 = match standing(context, staff, id).await? {
        (AgreementStanding::NotNeeded, _) => return Err(AgreementFromApplicationError::ProviderInternal),
        (AgreementStanding::Created(number), _) => return Err(AgreementFromApplicationError::AlreadyCreated(number)),
        (AgreementStanding::Waiting(sections), _) => return Err(AgreementFromApplicationError::NotReady(sections)),
        (AgreementStanding::Ready, digest) => digest.unwrap_or_default(),
    };
    let audit = AuditEntry {
        actor: staff.actor(),
        action: "agreement_from_application".into(),
        entity: "application".into(),
        entity_id: id.0.to_string(),
        before: None,
        after: Some(
            serde_json::json!({ "answers_sha256": &answers_sha256, "products": &application.products }).to_string(),
        ),
    };
    let source = FromApplication { application: id, answers_sha256, audit };
    let agreement = lifecycle::create_with(
        context,
        staff,
        application.organisation_id,
        application.products.clone(),
        Origin::NewContract,
        Some(source),
    )
    .await?;
    tracing::info!(agreement = %agreement.number, "agreement created from an application");
    Ok(agreement)
}
