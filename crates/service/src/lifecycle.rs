//! The agreement services (SPEC §4, §6, §9). Every operation follows one shape: open a unit of work on the
//! organisation (which locks it), load its chain, ask the pure state machine, then write the decision, its
//! audit entries, timers, ledger, cases and notifications, and commit: all of it or none of it.

use jiff::Timestamp;
use jiff::civil::Date;
use onramp_domain::agreement::machine::{NewAgreement, PaperAgreement};
use onramp_domain::agreement::{
    Actor, Agreement, AgreementId, Chain, Command, Contact, Decision, Effect, LifecycleError, OrganisationSnapshot,
    Origin, decide,
};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::notification::{AgreementSummary, Notification};
use onramp_domain::terms::sha256_hex;
use onramp_domain::{AgreementNumber, ApiProduct, Organisation, OrganisationId, User};
use onramp_store::{AuditEntry, ClaimedJob, LiveAgreements, NewNotification, Sequence, StoreError, UnitOfWork};
use serde_json::json;

use crate::AppContext;
use crate::jobs::{self, AgreementTimer};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleServiceError {
    #[error(transparent)]
    Rule(#[from] LifecycleError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("terms version {0} is not published with this Onramp")]
    UnknownTerms(u32),
    #[error("terms version {version} is older than the current version {current}")]
    OlderThanCurrent { version: u32, current: u32 },
    #[error("only provider staff in the agreement team may do this")]
    NotAgreementTeam,
    #[error("the uplift was interrupted after {done} organisations")]
    Interrupted { done: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = LifecycleServiceError> = std::result::Result<T, E>;

/// The actor a signed-in user is, for the audit log and the ledger.
pub fn actor_of(user: &User) -> Actor {
    Actor::User { id: user.id, name: user.full_name.to_string() }
}

fn require_agreement_team(user: &User) -> Result<Actor> {
    if user.has_staff_role(onramp_domain::StaffRole::AgreementTeam) {
        Ok(actor_of(user))
    } else {
        Err(LifecycleServiceError::NotAgreementTeam)
    }
}

fn contact_of(user: &User) -> Contact {
    Contact {
        user: user.id,
        name: user.full_name.to_string(),
        organisation: user.membership.as_ref().map(|m| m.organisation_id),
        onboarding_contact: user.membership.as_ref().is_some_and(|m| m.onboarding_contact),
    }
}

fn snapshot(organisation: &Organisation) -> OrganisationSnapshot {
    OrganisationSnapshot {
        id: organisation.id,
        name: organisation.details.name.clone(),
        ods_code: organisation.details.ods_code.to_string(),
        registration_number: organisation.registration_number().to_owned(),
        kind: organisation.details.kind,
    }
}

async fn load_chain(work: &mut dyn UnitOfWork) -> Result<Chain> {
    let LiveAgreements { active, draft } = work.live_agreements().await?;
    Ok(Chain { organisation: snapshot(work.organisation()), active, draft })
}

/// Who is told about an agreement (NOT-1): the onboarding contacts' addresses and the delivery-notice
/// mailbox; and how they appear on the agreement (PDF-1): contacts by full name, mailboxes by address.
struct Recipients {
    addresses: Vec<String>,
    shown: Vec<String>,
}

async fn recipients(work: &mut dyn UnitOfWork) -> Result<Recipients> {
    let members = work.members().await?;
    let contacts: Vec<&User> =
        members.iter().filter(|u| u.membership.as_ref().is_some_and(|m| m.onboarding_contact)).collect();
    let mailbox = work.organisation().details.delivery_notice_mailbox.to_string();
    let mut addresses: Vec<String> = contacts.iter().map(|u| u.email.to_string()).collect();
    let mut shown: Vec<String> = contacts.iter().map(|u| u.full_name.to_string()).collect();
    if !addresses.contains(&mailbox) {
        addresses.push(mailbox.clone());
        shown.push(mailbox);
    }
    Ok(Recipients { addresses, shown })
}

async fn allocate(
    work: &mut dyn UnitOfWork,
    now: Timestamp,
    products: Vec<ApiProduct>,
    terms_version: u32,
) -> Result<NewAgreement> {
    let sequence = work.next_number(Sequence::Agreement).await?;
    let number = AgreementNumber::from_sequence(sequence)
        .map_err(|e| StoreError::Corrupt { entity: "agreement number", reason: e.to_string() })?;
    Ok(NewAgreement { id: AgreementId::new_at(now), number, api_products: products, terms_version })
}

/// What an accepted agreement's terms were, kept with the acceptance (TC-3).
struct AcceptedText {
    terms_version: u32,
    text: String,
    sha256: String,
}

/// Writes `decision` inside `work`. Cases are opened first so the agreements carry their numbers.
async fn write(
    work: &mut dyn UnitOfWork,
    command: &Command,
    mut decision: Decision,
    now: Timestamp,
    accepted: Option<AcceptedText>,
) -> Result<Vec<Agreement>> {
    let actor = command.actor();
    let action = command.action();
    let audit = |entity: &str, entity_id: String, before: Option<String>, after: Option<String>| AuditEntry {
        actor: actor.clone(),
        action: action.to_owned(),
        entity: entity.to_owned(),
        entity_id,
        before,
        after,
    };

    for effect in &decision.effects {
        if let Effect::OpenCase { agreement, subject, description } = effect {
            let case = work.open_case(*agreement, subject, now).await?;
            work.add_case_activity(case, &actor.to_string(), Visibility::Public, description, now).await?;
            work.append_audit(
                &audit("case", case.to_string(), None, Some(json!({"state": "open", "subject": subject}).to_string())),
                now,
            )
            .await?;
            for (_, after) in decision.changes.iter_mut().filter(|(_, a)| a.id == *agreement) {
                after.case_number = Some(case);
            }
            // A case opened on an agreement that is not otherwise changing (a query) still records it.
            if !decision.changes.iter().any(|(_, a)| a.id == *agreement) {
                let LiveAgreements { active, draft } = work.live_agreements().await?;
                if let Some(current) = active.into_iter().chain(draft).find(|a| a.id == *agreement) {
                    let mut after = current.clone();
                    after.case_number = Some(case);
                    after.version = current.version + 1;
                    decision.changes.push((Some(current), after));
                }
            }
        }
    }

    let mut saved = Vec::with_capacity(decision.changes.len());
    for (before, after) in &decision.changes {
        work.save_agreement(after).await?;
        let before_json = before.as_ref().map(serde_json::to_string).transpose().map_err(|e| corrupt(&e))?;
        let after_json = serde_json::to_string(after).map_err(|e| corrupt(&e))?;
        work.append_audit(&audit("agreement", after.number.to_string(), before_json, Some(after_json)), now).await?;
        saved.push(after.clone());
    }
    if let (Some(accepted), Some(active)) = (
        accepted,
        saved
            .iter()
            .find(|a| a.accepted_terms_sha256.is_some() && a.state == onramp_domain::agreement::AgreementState::Active),
    ) {
        work.save_accepted_terms(active.id, accepted.terms_version, &accepted.sha256, &accepted.text, now).await?;
    }

    let mut people: Option<Recipients> = None;
    for effect in decision.effects {
        match effect {
            Effect::Schedule { agreement, timer, at } => {
                let organisation = work.organisation().id;
                jobs::schedule_timer(work, organisation, agreement, timer, at, now).await?;
            }
            Effect::CancelTimers { agreement, kinds } => jobs::cancel_timers(work, agreement, &kinds).await?,
            Effect::Ledger { agreement, entry } => work.append_ledger(agreement, &entry).await?,
            Effect::OpenCase { .. } => {}
            Effect::CommentOnCase { case, body } => {
                work.add_case_activity(case, &actor.to_string(), Visibility::Public, &body, now).await?;
                work.set_case_state(case, CaseState::Open, now).await?;
                work.append_audit(
                    &audit("case", case.to_string(), None, Some(json!({"comment": body, "state": "open"}).to_string())),
                    now,
                )
                .await?;
            }
            Effect::ResolveCase { case } => set_case(work, case, CaseState::Resolved, now, &audit).await?,
            Effect::CloseCase { case } => set_case(work, case, CaseState::Closed, now, &audit).await?,
            Effect::Notify { agreement, kind } => {
                if people.is_none() {
                    people = Some(recipients(work).await?);
                }
                let addresses = people.as_ref().map(|p| p.addresses.clone()).unwrap_or_default();
                let subject =
                    saved.iter().find(|a| a.id == agreement).ok_or(LifecycleServiceError::NotFound("agreement"))?;
                let summary = AgreementSummary::of(subject, &work.organisation().details.name);
                let notification = NewNotification {
                    notification: Notification::about_agreement(kind, summary),
                    recipients: addresses,
                };
                work.enqueue_notification(&notification, now).await?;
            }
        }
    }
    Ok(saved)
}

async fn set_case(
    work: &mut dyn UnitOfWork,
    case: onramp_domain::CaseNumber,
    state: CaseState,
    now: Timestamp,
    audit: &impl Fn(&str, String, Option<String>, Option<String>) -> AuditEntry,
) -> Result<()> {
    work.set_case_state(case, state, now).await?;
    work.append_audit(&audit("case", case.to_string(), None, Some(json!({"state": state.as_str()}).to_string())), now)
        .await?;
    Ok(())
}

fn corrupt(error: &serde_json::Error) -> StoreError {
    StoreError::Corrupt { entity: "agreement", reason: error.to_string() }
}

/// Decides and writes one command in its own transaction.
async fn run(
    context: &AppContext,
    mut work: Box<dyn UnitOfWork>,
    chain: &Chain,
    command: Command,
    now: Timestamp,
    accepted: Option<AcceptedText>,
) -> Result<Vec<Agreement>> {
    let decision = decide(chain, command.clone(), now, &context.config.rules())?;
    let saved = write(work.as_mut(), &command, decision, now, accepted).await?;
    work.commit().await?;
    Ok(saved)
}

async fn organisation_of(context: &AppContext, agreement: AgreementId) -> Result<OrganisationId> {
    context
        .store
        .agreement(agreement)
        .await?
        .map(|a| a.organisation_id)
        .ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// The terms new contracts are written on: the newest version published in this Onramp, or, before any
/// publication, the first digital version shipped (6). Shipped versions newer than that wait for CA-5.
pub async fn current_terms_version(context: &AppContext) -> Result<u32> {
    let published = context.store.publications().await?.into_iter().map(|p| p.version).max();
    let first_digital =
        context.terms.versions().find(|t| t.medium == onramp_domain::terms::Medium::Digital).map(|t| t.version);
    published.or(first_digital).ok_or(LifecycleServiceError::UnknownTerms(0))
}

fn check_terms(context: &AppContext, version: u32) -> Result<()> {
    context.terms.get(version).map(|_| ()).ok_or(LifecycleServiceError::UnknownTerms(version))
}

/// CA-2: the agreement team creates a new contract for an organisation (substate Awaiting Review).
pub async fn create(
    context: &AppContext,
    staff: &User,
    organisation: OrganisationId,
    products: Vec<ApiProduct>,
    origin: Origin,
) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    let now = context.clock.now();
    let terms_version = current_terms_version(context).await?;
    check_terms(context, terms_version)?;
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let new = allocate(work.as_mut(), now, products, terms_version).await?;
    let id = new.id;
    let saved = run(context, work, &chain, Command::Create { new, origin, actor }, now, None).await?;
    saved.into_iter().find(|a| a.id == id).ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// Runs an agreement-level command for an existing agreement; returns the agreement afterwards.
async fn on_agreement(
    context: &AppContext,
    agreement: AgreementId,
    command: impl FnOnce(&Chain) -> Command,
    accepted: Option<AcceptedText>,
) -> Result<Agreement> {
    let organisation = organisation_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let command = command(&chain);
    run(context, work, &chain, command, now, accepted).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-2: issue a prepared agreement; the contacts are notified.
pub async fn issue(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    let organisation = organisation_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let people = recipients(work.as_mut()).await?;
    run(context, work, &chain, Command::Issue { agreement, recipients: people.shown, actor }, now, None).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-3: an onboarding contact accepts; the exact terms text and its SHA-256 are kept (TC-3).
pub async fn accept(context: &AppContext, contact: &User, agreement: AgreementId) -> Result<Agreement> {
    let current = context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))?;
    let terms =
        context.terms.get(current.terms_version).ok_or(LifecycleServiceError::UnknownTerms(current.terms_version))?;
    let text = terms.agreement_text(&current.api_products);
    let sha256 = sha256_hex(&text);
    let accepted = AcceptedText { terms_version: current.terms_version, text, sha256: sha256.clone() };
    let contact = contact_of(contact);
    on_agreement(context, agreement, |_| Command::Accept { agreement, contact, terms_sha256: sha256 }, Some(accepted))
        .await
}

/// CA-6: a contact raises a query about a terms change.
pub async fn raise_query(
    context: &AppContext,
    contact: &User,
    agreement: AgreementId,
    description: &str,
) -> Result<Agreement> {
    let contact = contact_of(contact);
    let description = description.to_owned();
    on_agreement(context, agreement, |_| Command::RaiseQuery { agreement, contact, description }, None).await
}

/// CA-6: pause the 30-day timer.
pub async fn pause(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    on_agreement(context, agreement, |_| Command::Pause { agreement, actor }, None).await
}

/// CA-6: resume the 30-day timer where it stopped.
pub async fn resume(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    on_agreement(context, agreement, |_| Command::Resume { agreement, actor }, None).await
}

/// CA-6: restart the 30-day timer from now.
pub async fn reset(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    on_agreement(context, agreement, |_| Command::Reset { agreement, actor }, None).await
}

/// CA-8: terminate an organisation's Active agreement on an agreed end date.
pub async fn terminate(
    context: &AppContext,
    staff: &User,
    organisation: OrganisationId,
    end_date: Date,
) -> Result<Agreement> {
    let actor = require_agreement_team(staff)?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let saved = run(context, work, &chain, Command::Terminate { end_date, actor }, now, None).await?;
    saved.into_iter().next().ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// What a due timer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fired {
    Changed,
    NothingToDo,
}

/// Fires one claimed timer: decides, writes and removes the job in one transaction, so it acts exactly once.
#[tracing::instrument(skip_all, fields(agreement = %timer.agreement_id, timer = timer.timer.as_str()))]
pub async fn fire(context: &AppContext, timer: &AgreementTimer, job: &ClaimedJob, now: Timestamp) -> Result<Fired> {
    let organisation = match job.organisation_id {
        Some(organisation) => organisation,
        None => organisation_of(context, timer.agreement_id).await?,
    };
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let command = Command::TimerFired { agreement: timer.agreement_id, timer: timer.timer };
    let decision = decide(&chain, command.clone(), now, &context.config.rules())?;
    let fired = if let Some(reason) = &decision.no_op {
        tracing::info!(reason = %reason, "timer did nothing: the agreement has moved on");
        Fired::NothingToDo
    } else {
        Fired::Changed
    };
    write(work.as_mut(), &command, decision, now, None).await?;
    work.complete_job(job).await?;
    work.commit().await?;
    Ok(fired)
}

/// CA-12: loads one paper version-5 agreement as the organisation's Active agreement.
pub async fn import_paper(
    context: &AppContext,
    organisation: OrganisationId,
    products: Vec<ApiProduct>,
    signed_on: Date,
    signed_by: String,
    process: &str,
) -> Result<Agreement> {
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let new = allocate(work.as_mut(), now, products, 5).await?;
    let paper = PaperAgreement { new, signed_on, signed_by };
    let actor = Actor::System { process: process.to_owned() };
    let saved = run(context, work, &chain, Command::ImportPaper { paper, actor }, now, None).await?;
    saved.into_iter().next().ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-5: the preview shown before publishing a terms version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpliftPreview {
    pub version: u32,
    pub organisations: Vec<(OrganisationId, String)>,
    /// The date the new agreements activate if nobody pauses them.
    pub activates_on: Date,
}

pub async fn uplift_preview(context: &AppContext, version: u32) -> Result<UpliftPreview> {
    check_terms(context, version)?;
    let now = context.clock.now();
    let mut organisations = Vec::new();
    let mut after = None;
    loop {
        let batch = context.store.organisations_to_uplift(version, after, 500).await?;
        let Some(last) = batch.last().copied() else { break };
        for id in batch {
            let leaving =
                context.store.agreements_of(id).await?.iter().any(|a| {
                    a.state == onramp_domain::agreement::AgreementState::Active && a.scheduled_end_date.is_some()
                });
            if leaving {
                continue;
            }
            if let Some(organisation) = context.store.organisation(id).await? {
                organisations.push((id, organisation.details.name));
            }
        }
        after = Some(last);
    }
    let activates_on = onramp_domain::calendar::date_of(onramp_domain::calendar::add_days(
        now,
        context.config.agreements.auto_accept_days,
    ));
    Ok(UpliftPreview { version, organisations, activates_on })
}

/// How an uplift run went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpliftReport {
    pub uplifted: usize,
    pub skipped: usize,
}

/// CA-5: publishes `version`: every organisation with an Active agreement on older terms gets its uplift,
/// each organisation in its own transaction, in batches. Running it again continues where it stopped: an
/// organisation already uplifted is not selected again. `interrupt_after` stops it deterministically with the
/// next organisation's transaction rolled back, as a crash would (for tests).
pub async fn publish_terms(
    context: &AppContext,
    version: u32,
    actor: Actor,
    batch_size: i64,
    interrupt_after: Option<usize>,
) -> Result<UpliftReport> {
    check_terms(context, version)?;
    let current = current_terms_version(context).await?;
    if version < current {
        return Err(LifecycleServiceError::OlderThanCurrent { version, current });
    }
    context.store.record_publication(version, &actor.to_string(), context.clock.now()).await?;
    let mut report = UpliftReport::default();
    let mut after = None;
    loop {
        let batch = context.store.organisations_to_uplift(version, after, batch_size).await?;
        let Some(last) = batch.last().copied() else { break };
        for organisation in batch {
            let now = context.clock.now();
            let mut work = context.store.begin(organisation).await?;
            let chain = load_chain(work.as_mut()).await?;
            let people = recipients(work.as_mut()).await?;
            let new = allocate(work.as_mut(), now, Vec::new(), version).await?;
            let command = Command::Uplift { new, recipients: people.shown, actor: actor.clone() };
            match decide(&chain, command.clone(), now, &context.config.rules()) {
                Ok(decision) => {
                    write(work.as_mut(), &command, decision, now, None).await?;
                    if interrupt_after == Some(report.uplifted) {
                        drop(work);
                        return Err(LifecycleServiceError::Interrupted { done: report.uplifted });
                    }
                    work.commit().await?;
                    report.uplifted += 1;
                }
                Err(error) => {
                    tracing::info!(%organisation, %error, "organisation skipped by the uplift");
                    report.skipped += 1;
                }
            }
        }
        after = Some(last);
    }
    context.store.finish_publication(version, context.clock.now()).await?;
    Ok(report)
}

/// CA-12: issue a version-6 contract to every organisation whose Active agreement is a paper one.
pub async fn issue_version_6_to_paper_agreements(context: &AppContext, staff: &User) -> Result<Vec<Agreement>> {
    require_agreement_team(staff)?;
    let mut issued = Vec::new();
    for agreement in context.store.all_agreements().await? {
        let is_paper = agreement.signature_type == onramp_domain::agreement::SignatureType::SignedOnPaper
            && agreement.state == onramp_domain::agreement::AgreementState::Active;
        if !is_paper {
            continue;
        }
        let created =
            create(context, staff, agreement.organisation_id, agreement.api_products.clone(), Origin::LegacyUplift)
                .await?;
        issued.push(issue(context, staff, created.id).await?);
    }
    Ok(issued)
}
