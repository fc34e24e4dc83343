//! Applications (DOS-3, DOS-4): a supplier starts one for its product and the API products it wants, answers
//! it section by section, and the provider's reviewers assure it. The rules are
//! `onramp_domain::application::decide`; this module loads what they need (the pinned flow versions, the
//! organisation, the agreement an approval names), and writes the result, its audit entry and the message to
//! the other side in one transaction on the organisation.

use std::collections::BTreeSet;

use onramp_domain::application::{
    Application, ApplicationCommand, ApplicationError, ApplicationId, ApplicationState, PinnedFlow, Plan,
    ReferencedAgreement, SectionKey,
};
use onramp_domain::flow::evaluate::OrganisationFacts;
use onramp_domain::flow::file::{self, Flow};
use onramp_domain::notification::{ApplicationEvent, Notification};
use onramp_domain::{AgreementNumber, ApiProduct, Organisation, TeamRole, User, time_ordered_uuid};
use onramp_store::{AuditEntry, EvidenceFile, NewNotification, StoreError, UnitOfWork};

use crate::AppContext;

/// The longest name of the supplier's product.
pub const PRODUCT_NAME_MAX: usize = 120;

#[derive(Debug, thiserror::Error)]
pub enum ApplicationServiceError {
    #[error(transparent)]
    Rule(#[from] ApplicationError),
    #[error("application not found")]
    NotFound,
    #[error(transparent)]
    Unverified(#[from] onramp_domain::AddressNotVerified),
    #[error("register your organisation before applying")]
    NoOrganisation,
    #[error("viewers can read applications but not start one; ask an owner or admin")]
    Viewer,
    #[error("name the product that will use the APIs, in at most {PRODUCT_NAME_MAX} characters on one line")]
    ProductName,
    #[error("choose at least one API product")]
    NoProducts,
    #[error("{0} is not offered in the API catalogue")]
    NotOffered(String),
    #[error("flow {flow} version {version} is not stored; it cannot be read back")]
    FlowUnavailable { flow: String, version: u32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = ApplicationServiceError> = std::result::Result<T, E>;

/// The fields of the organisation that flow conditions read (`org.kind`, `org.im1_supplier`).
pub fn facts(organisation: &Organisation) -> OrganisationFacts {
    OrganisationFacts {
        kind: organisation.details.kind.as_str().to_owned(),
        im1_supplier: organisation.details.im1_supplier,
    }
}

/// DOS-3: an owner or admin of a (verified) organisation starts an application for `products`, pinned to the
/// current version of every flow they follow. A flow is open-access for the application when every chosen
/// product that follows it is.
pub async fn start(
    context: &AppContext,
    user: &User,
    product_name: &str,
    products: &[ApiProduct],
) -> Result<Application> {
    user.require_verified()?;
    let membership = user.membership.as_ref().ok_or(ApplicationServiceError::NoOrganisation)?;
    if membership.role == TeamRole::Viewer {
        return Err(ApplicationServiceError::Viewer);
    }
    let product_name = product_name.trim();
    if product_name.is_empty() || product_name.chars().count() > PRODUCT_NAME_MAX || product_name.contains('\n') {
        return Err(ApplicationServiceError::ProductName);
    }
    let mut chosen = Vec::new();
    for slug in products {
        let product = context.products.get(slug).filter(|product| product.offered);
        let product = product.ok_or_else(|| ApplicationServiceError::NotOffered(context.products.name_of(slug)))?;
        if !chosen.iter().any(|p: &&onramp_domain::catalogue::Product| p.slug == product.slug) {
            chosen.push(product);
        }
    }
    if chosen.is_empty() {
        return Err(ApplicationServiceError::NoProducts);
    }
    let mut slugs: Vec<ApiProduct> = chosen.iter().map(|p| p.slug.clone()).collect();
    context.products.sort(&mut slugs);
    let mut flows: Vec<PinnedFlow> = Vec::new();
    for slug in &slugs {
        let Some(product) = context.products.get(slug) else { continue };
        for id in &product.flows {
            if flows.iter().any(|f| &f.id == id) {
                continue;
            }
            let flow = context.flows.get(id).ok_or(ApplicationError::FlowMissing(id.clone()))?;
            let open_access = chosen.iter().filter(|p| p.flows.contains(id)).all(|p| p.open_access);
            flows.push(PinnedFlow { id: id.clone(), version: flow.version, open_access });
        }
    }
    let now = context.clock.now();
    let application = Application {
        id: ApplicationId(time_ordered_uuid(now)),
        organisation_id: membership.organisation_id,
        product_name: product_name.to_owned(),
        products: slugs,
        flows,
        state: ApplicationState::Open,
        sections: Default::default(),
        started_at: now,
        milestones: Default::default(),
    };
    let mut work = context.store.begin(membership.organisation_id).await?;
    work.save_application(&application, now).await?;
    let entry = AuditEntry {
        actor: user.actor(),
        action: "application_start".into(),
        entity: "application".into(),
        entity_id: application.id.0.to_string(),
        before: None,
        after: Some(serde_json::json!({ "product_name": product_name, "products": &application.products }).to_string()),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(application)
}

/// The application, if `user` may see it: staff see every one, a member only their organisation's.
pub async fn application_for(context: &AppContext, user: &User, id: ApplicationId) -> Result<Application> {
    let application = context.store.application(id).await?.ok_or(ApplicationServiceError::NotFound)?;
    let own = user.membership.as_ref().is_some_and(|m| m.organisation_id == application.organisation_id);
    if own || user.is_staff() { Ok(application) } else { Err(ApplicationServiceError::NotFound) }
}

/// The flows `application` is pinned to, at their pinned versions: the loaded flow when its version is the one
/// in use, else the stored text of that version, read back.
pub async fn pinned_flows(context: &AppContext, application: &Application) -> Result<Vec<Flow>> {
    let mut flows = Vec::new();
    for pinned in &application.flows {
        match context.flows.get(&pinned.id).filter(|flow| flow.version == pinned.version) {
            Some(flow) => flows.push(flow.clone()),
            None => {
                let unavailable =
                    || ApplicationServiceError::FlowUnavailable { flow: pinned.id.clone(), version: pinned.version };
                let stored = context.store.flow_version(&pinned.id, pinned.version).await?.ok_or_else(unavailable)?;
                flows.push(file::load(&stored.file, &stored.source).map_err(|_| unavailable())?);
            }
        }
    }
    Ok(flows)
}

/// Decides `command` by `user` under the organisation's lock, and writes the application, its audit entry and
/// the notification of the other side together.
pub async fn act(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
    command: ApplicationCommand,
) -> Result<Application> {
    act_with(context, user, id, command, None).await
}

/// An evidence file recorded or forgotten in the same transaction as the answer that lists it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FileChange<'a> {
    Recorded(&'a EvidenceFile),
    Removed(&'a EvidenceFile),
}

/// [`act`], with the evidence record that goes with an attach or a detach.
pub(crate) async fn act_with(
    context: &AppContext,
    user: &User,
    id: ApplicationId,
    mut command: ApplicationCommand,
    file: Option<FileChange<'_>>,
) -> Result<Application> {
    let seen = application_for(context, user, id).await?;
    // DOS-4: what the approval's agreement number names, looked up before the decision.
    if let ApplicationCommand::Approve { reference: Some(reference), agreement, .. } = &mut command
        && let Ok(number) = AgreementNumber::parse(reference.trim())
    {
        *agreement = Some(match context.store.agreement_by_number(number).await? {
            None => ReferencedAgreement::Unknown,
            Some(found) if found.organisation_id != seen.organisation_id => ReferencedAgreement::OtherOrganisation,
            Some(found)
                if found.state == onramp_domain::agreement::AgreementState::Active && found.start_date.is_some() =>
            {
                ReferencedAgreement::ActiveAndStarted
            }
            Some(found) => ReferencedAgreement::NotActive { state: found.state.label().to_owned() },
        });
    }
    let now = context.clock.now();
    let mut work = context.store.begin(seen.organisation_id).await?;
    let application = work.application(id).await?.ok_or(ApplicationServiceError::NotFound)?;
    let organisation = work.organisation().clone();
    let flows = pinned_flows(context, &application).await?;
    let pinned: Vec<&Flow> = flows.iter().collect();
    let facts = facts(&organisation);
    let action = command.action();
    let event = event_of(&command);
    let section = section_of(&command);
    let after = onramp_domain::application::decide(&application, &pinned, &facts, user, command, now)?;
    work.save_application(&after, now).await?;
    let mut recorded = serde_json::json!({
        "section": section.as_ref().map(|key| key.0.clone()),
        "state": section.as_ref().and_then(|key| after.sections.get(key)).map(|s| s.state.as_str()),
    });
    match file {
        Some(FileChange::Recorded(evidence)) => {
            work.record_evidence(evidence).await?;
            recorded["file"] = file_facts(evidence);
        }
        Some(FileChange::Removed(evidence)) => {
            work.remove_evidence(evidence.id).await?;
            recorded["file"] = file_facts(evidence);
        }
        None => {}
    }
    if after.milestones != application.milestones {
        // DOS-5: the dates before and after, so the log shows what was agreed when.
        recorded["milestones"] = serde_json::json!({ "before": &application.milestones, "after": &after.milestones });
    }
    let entry = AuditEntry {
        actor: user.actor(),
        action: action.into(),
        entity: "application".into(),
        entity_id: id.0.to_string(),
        before: section.as_ref().and_then(|key| application.sections.get(key)).map(|s| s.state.as_str().to_owned()),
        after: Some(recorded.to_string()),
    };
    work.append_audit(&entry, now).await?;
    if let Some(event) = event {
        let plan = Plan::of(&after, &pinned, &facts)?;
        let title = section
            .as_ref()
            .and_then(|key| plan.get(key))
            .map_or_else(|| "the application".to_owned(), |s| s.section.title.clone());
        notify(context, work.as_mut(), &after, &organisation, title, event, now).await?;
    }
    work.commit().await?;
    Ok(after)
}

/// What the audit log keeps of an evidence file.
pub(crate) fn file_facts(file: &EvidenceFile) -> serde_json::Value {
    serde_json::json!({
        "id": file.id.to_string(),
        "question": &file.question_id,
        "name": &file.file_name,
        "type": file.file_type.as_str(),
        "size": file.size,
        "sha256": &file.sha256,
    })
}

fn section_of(command: &ApplicationCommand) -> Option<SectionKey> {
    match command {
        ApplicationCommand::Save { section, .. }
        | ApplicationCommand::Submit { section }
        | ApplicationCommand::Approve { section, .. }
        | ApplicationCommand::RequestChanges { section, .. }
        | ApplicationCommand::Attach { section, .. }
        | ApplicationCommand::Detach { section, .. } => Some(section.clone()),
        ApplicationCommand::Reject { .. } | ApplicationCommand::SetMilestones { .. } => None,
    }
}

/// The message a command sends, if any: saving and attaching files tell nobody.
fn event_of(command: &ApplicationCommand) -> Option<ApplicationEvent> {
    match command {
        ApplicationCommand::Save { .. } | ApplicationCommand::Attach { .. } | ApplicationCommand::Detach { .. } => None,
        ApplicationCommand::Submit { .. } => Some(ApplicationEvent::Submitted),
        ApplicationCommand::Approve { .. } => Some(ApplicationEvent::Approved),
        ApplicationCommand::RequestChanges { comments, .. } => Some(ApplicationEvent::ChangesRequested {
            comments: comments.iter().filter(|(_, text)| !text.trim().is_empty()).count(),
        }),
        ApplicationCommand::Reject { reason } => Some(ApplicationEvent::Rejected { reason: reason.trim().to_owned() }),
        // DOS-5: the dates agreed on the calls go to the organisation, so both sides hold the same ones.
        &ApplicationCommand::SetMilestones { preparation_call, demonstration_call, go_live } => {
            Some(ApplicationEvent::MilestonesChanged { preparation_call, demonstration_call, go_live })
        }
    }
}

/// A submission goes to the provider's service desk mailbox, which the reviewers watch; a review goes to the
/// organisation's owners, admins and onboarding contacts.
async fn notify(
    context: &AppContext,
    work: &mut dyn UnitOfWork,
    application: &Application,
    organisation: &Organisation,
    section: String,
    event: ApplicationEvent,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let recipients: Vec<String> = if event == ApplicationEvent::Submitted {
        vec![context.config.provider.service_desk_email.to_string()]
    } else {
        let members = work.members().await?;
        let addresses: BTreeSet<String> = members
            .iter()
            .filter(|member| {
                member.membership.as_ref().is_some_and(|m| m.role != TeamRole::Viewer || m.onboarding_contact)
            })
            .map(|member| member.email.to_string())
            .collect();
        addresses.into_iter().collect()
    };
    if recipients.is_empty() {
        return Ok(());
    }
    let notification = Notification::ApplicationUpdate {
        application: application.id,
        product_name: application.product_name.clone(),
        organisation: organisation.details.name.clone(),
        section,
        event,
    };
    work.enqueue_notification(&NewNotification { notification, recipients }, now).await
}
