//! The agreement services (SPEC §4, §6, §9). Every operation follows one shape: open a unit of work on the
//! organisation (which locks it), load its chain, ask the pure state machine, then write the decision, its
//! audit entries, timers, ledger, cases and notifications, and commit: all of it or none of it.

use jiff::Timestamp;
use jiff::civil::Date;
use onramp_domain::agreement::machine::{NewAgreement, PaperAgreement};
use onramp_domain::agreement::{
    Action, Actor, Agreement, AgreementId, AgreementState, Chain, Command, Decision, Effect, LifecycleError,
    OrganisationSnapshot, Origin, TermsText, agreement_team_actor, allowed, decide, legacy_uplift_permitted,
    uplift_permitted,
};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::notification::{AgreementSummary, Notification};
use onramp_domain::terms::sha256_hex;
use onramp_domain::{AgreementNumber, ApiProduct, CaseNumber, Organisation, OrganisationId, User};
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
    #[error(transparent)]
    Unverified(#[from] onramp_domain::AddressNotVerified),
    #[error("terms version {0} is not published with this Onramp")]
    UnknownTerms(u32),
    #[error("terms version {version} is older than the current version {current}")]
    OlderThanCurrent { version: u32, current: u32 },
    #[error("{0} is not offered in the API catalogue; choose one of the offered products")]
    NotOffered(String),
    #[error("the uplift was interrupted after {done} organisations")]
    Interrupted { done: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = LifecycleServiceError> = std::result::Result<T, E>;

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

/// An organisation's chain as it is now, read without locking: for pages and previews, which ask the state
/// machine what it would accept. Anything that changes the chain decides again inside a unit of work.
async fn read_chain(context: &AppContext, organisation: OrganisationId) -> Result<Chain> {
    let organisation =
        context.store.organisation(organisation).await?.ok_or(LifecycleServiceError::NotFound("organisation"))?;
    let mut chain = Chain { organisation: snapshot(&organisation), active: None, draft: None };
    for agreement in context.store.agreements_of(organisation.id).await? {
        match agreement.state {
            AgreementState::Active => chain.active = Some(agreement),
            AgreementState::Draft => chain.draft = Some(agreement),
            AgreementState::Expired | AgreementState::Cancelled => {}
        }
    }
    Ok(chain)
}

/// The actions `user` may take on `agreement` now: what every button and action list shows (the state
/// machine's dry run, never a rule of the page's own).
pub async fn allowed_actions(context: &AppContext, user: &User, agreement: &Agreement) -> Result<Vec<Action>> {
    let chain = read_chain(context, agreement.organisation_id).await?;
    Ok(allowed(&chain, agreement.id, user, context.clock.now(), &context.config.rules()))
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

async fn allocate_case(work: &mut dyn UnitOfWork) -> Result<CaseNumber> {
    let sequence = work.next_number(Sequence::Case).await?;
    CaseNumber::from_sequence(sequence)
        .map_err(|e| StoreError::Corrupt { entity: "case number", reason: e.to_string() }.into())
}

/// What an accepted agreement's terms were, kept with the acceptance (TC-3).
struct AcceptedText {
    terms_version: u32,
    text: String,
    sha256: String,
}

/// The full text of `agreement` on its terms version (standard terms and its API products' special terms),
/// with its SHA-256.
fn agreement_text(context: &AppContext, agreement: &Agreement) -> Result<AcceptedText> {
    let version = agreement.terms_version;
    let terms = context.terms.get(version).ok_or(LifecycleServiceError::UnknownTerms(version))?;
    let text = terms.agreement_text(&agreement.api_products);
    Ok(AcceptedText { terms_version: version, sha256: sha256_hex(&text), text })
}

/// The terms an agreement page shows, as its accept form sends them back (TC-3).
pub fn terms_shown(context: &AppContext, agreement: &Agreement) -> Result<TermsText> {
    let text = agreement_text(context, agreement)?;
    Ok(TermsText { version: text.terms_version, sha256: text.sha256 })
}

/// Writes `decision` inside `work`. Cases are opened first so the agreements carry their numbers.
async fn write(
    work: &mut dyn UnitOfWork,
    command: &Command,
    decision: Decision,
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

    // Cases first: the agreements that record them refer to them.
    for effect in &decision.effects {
        if let Effect::OpenCase { case, agreement, subject, description } = effect {
            work.open_case(*case, *agreement, subject, now).await?;
            work.add_case_activity(*case, &actor.to_string(), Visibility::Public, description, now).await?;
            work.append_audit(
                &audit("case", case.to_string(), None, Some(json!({"state": "open", "subject": subject}).to_string())),
                now,
            )
            .await?;
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
                // The agreement as the decision left it; a decision may notify about one it did not change (a
                // second query only comments on the existing case), which is then as the transaction reads it.
                let unchanged = match saved.iter().any(|a| a.id == agreement) {
                    true => None,
                    false => load_chain(work).await?.find(agreement).cloned(),
                };
                let subject = saved
                    .iter()
                    .find(|a| a.id == agreement)
                    .or(unchanged.as_ref())
                    .ok_or(LifecycleServiceError::NotFound("agreement"))?;
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

/// The application a new agreement is created from (DOS-6), recorded with it in one transaction.
#[derive(Debug, Clone)]
pub(crate) struct FromApplication {
    pub application: onramp_domain::application::ApplicationId,
    pub answers_sha256: String,
    /// The audit entry of the link, written with it.
    pub audit: AuditEntry,
}

async fn organisation_of(context: &AppContext, agreement: AgreementId) -> Result<OrganisationId> {
    context
        .store
        .agreement(agreement)
        .await?
        .map(|a| a.organisation_id)
        .ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// The organisation of an agreement a contact accepts or queries. A closed agreement (Cancelled or Expired)
/// is refused in words: the page that offered the form was opened before it closed.
async fn open_agreement_of(context: &AppContext, agreement: AgreementId) -> Result<OrganisationId> {
    let found = context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))?;
    if matches!(found.state, AgreementState::Cancelled | AgreementState::Expired) {
        return Err(LifecycleError::NoLongerOpen {
            number: found.number,
            state: found.state.label(),
            reason: found.closing_reason,
        }
        .into());
    }
    Ok(found.organisation_id)
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
    create_with(context, staff, organisation, products, origin, None).await
}

/// [`create`], recording the application it comes from when there is one.
pub(crate) async fn create_with(
    context: &AppContext,
    staff: &User,
    organisation: OrganisationId,
    products: Vec<ApiProduct>,
    origin: Origin,
    source: Option<FromApplication>,
) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
    let now = context.clock.now();
    let terms_version = current_terms_version(context).await?;
    check_terms(context, terms_version)?;
    // A renewal on new terms keeps the products the agreement had, even one the catalogue no longer offers.
    if origin == Origin::NewContract
        && let Some(product) = products.iter().find(|p| !context.products.get(p).is_some_and(|p| p.offered))
    {
        return Err(LifecycleServiceError::NotOffered(context.products.name_of(product)));
    }
    let mut products = products;
    context.products.sort(&mut products);
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let new = allocate(work.as_mut(), now, products, terms_version).await?;
    let case = allocate_case(work.as_mut()).await?;
    let id = new.id;
    let command = Command::Create { new, case, origin, actor };
    let decision = decide(&chain, command.clone(), now, &context.config.rules())?;
    let saved = write(work.as_mut(), &command, decision, now, None).await?;
    if let Some(source) = source {
        work.record_agreement_source(id, source.application, &source.answers_sha256, now).await?;
        work.append_audit(&source.audit, now).await?;
    }
    work.commit().await?;
    saved.into_iter().find(|a| a.id == id).ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// Runs an agreement-level command for an existing agreement; returns the agreement afterwards.
async fn on_agreement(context: &AppContext, agreement: AgreementId, command: Command) -> Result<Agreement> {
    let organisation = organisation_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    run(context, work, &chain, command, now, None).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-2: issue a prepared agreement; the contacts are notified.
pub async fn issue(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
    let organisation = organisation_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let people = recipients(work.as_mut()).await?;
    run(context, work, &chain, Command::Issue { agreement, recipients: people.shown, actor }, now, None).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-3: an onboarding contact accepts the terms the page showed them (`shown`). The agreement's text and its
/// SHA-256 are worked out inside the unit of work, from the agreement as it is then, and kept with the
/// acceptance (TC-3); if an uplift moved the draft to other terms meanwhile, the machine refuses
/// (`TermsChanged`) and nothing is written.
pub async fn accept(context: &AppContext, user: &User, agreement: AgreementId, shown: TermsText) -> Result<Agreement> {
    user.require_verified()?;
    let organisation = open_agreement_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    let accepted = chain.find(agreement).map(|current| agreement_text(context, current)).transpose()?;
    let current = accepted.as_ref().map_or(TermsText { version: 0, sha256: String::new() }, |text| TermsText {
        version: text.terms_version,
        sha256: text.sha256.clone(),
    });
    let command = Command::Accept { agreement, contact: user.contact(), shown, current };
    run(context, work, &chain, command, now, accepted).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-6: a contact raises a query about a terms change.
pub async fn raise_query(
    context: &AppContext,
    contact: &User,
    agreement: AgreementId,
    description: &str,
) -> Result<Agreement> {
    contact.require_verified()?;
    let organisation = open_agreement_of(context, agreement).await?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let chain = load_chain(work.as_mut()).await?;
    // A first query opens the agreement's case; its number is allocated here, in the same transaction.
    let case = match chain.find(agreement).and_then(|a| a.case_number) {
        Some(case) => case,
        None => allocate_case(work.as_mut()).await?,
    };
    let command =
        Command::RaiseQuery { agreement, contact: contact.contact(), description: description.to_owned(), case };
    run(context, work, &chain, command, now, None).await?;
    context.store.agreement(agreement).await?.ok_or(LifecycleServiceError::NotFound("agreement"))
}

/// CA-6: pause the 30-day timer.
pub async fn pause(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
    on_agreement(context, agreement, Command::Pause { agreement, actor }).await
}

/// CA-6: resume the 30-day timer where it stopped.
pub async fn resume(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
    on_agreement(context, agreement, Command::Resume { agreement, actor }).await
}

/// CA-6: restart the 30-day timer from now.
pub async fn reset(context: &AppContext, staff: &User, agreement: AgreementId) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
    on_agreement(context, agreement, Command::Reset { agreement, actor }).await
}

/// CA-8: terminate an organisation's Active agreement on an agreed end date.
pub async fn terminate(
    context: &AppContext,
    staff: &User,
    organisation: OrganisationId,
    end_date: Date,
) -> Result<Agreement> {
    let actor = agreement_team_actor(staff)?;
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
    let mut work = context.store.begin(organisation).await?;
    let agreement = import_paper_into(context, work.as_mut(), products, signed_on, signed_by, process).await?;
    work.commit().await?;
    Ok(agreement)
}

/// CA-12: decides and writes one paper agreement for the unit of work's organisation, without committing, so
/// a bulk import can put every organisation in one transaction.
pub async fn import_paper_into(
    context: &AppContext,
    work: &mut dyn UnitOfWork,
    products: Vec<ApiProduct>,
    signed_on: Date,
    signed_by: String,
    process: &str,
) -> Result<Agreement> {
    let now = context.clock.now();
    let chain = load_chain(work).await?;
    let new = allocate(work, now, products, 5).await?;
    let paper = PaperAgreement { new, signed_on, signed_by };
    let command = Command::ImportPaper { paper, actor: Actor::System { process: process.to_owned() } };
    let decision = decide(&chain, command.clone(), now, &context.config.rules())?;
    let saved = write(work, &command, decision, now, None).await?;
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
    let rules = context.config.rules();
    let mut organisations = Vec::new();
    let mut after = None;
    loop {
        let batch = context.store.uplift_candidates(version, after, 500).await?;
        let Some(last) = batch.last().copied() else { break };
        for id in batch {
            let chain = read_chain(context, id).await?;
            if uplift_permitted(&chain, version, now, &rules).is_ok() {
                organisations.push((id, chain.organisation.name));
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
/// organisation already uplifted is skipped by the state machine's dry run without being locked.
/// `interrupt_after` stops it deterministically with the next organisation's transaction rolled back, as a
/// crash would (for tests).
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
    // The publication and its entry on the provider's chain commit together; a resumed run records nothing new.
    let started = context.clock.now();
    let mut provider = context.store.begin_provider().await?;
    if provider.record_publication(version, &actor.to_string(), started).await? {
        let entry = AuditEntry {
            actor: actor.clone(),
            action: "terms_publish".into(),
            entity: "terms_version".into(),
            entity_id: version.to_string(),
            before: Some(json!({ "version_in_force": current }).to_string()),
            after: Some(json!({ "version_in_force": version }).to_string()),
        };
        provider.append_audit(&entry, started).await?;
    }
    provider.commit().await?;
    let rules = context.config.rules();
    let mut report = UpliftReport::default();
    let mut after = None;
    loop {
        let batch = context.store.uplift_candidates(version, after, batch_size).await?;
        let Some(last) = batch.last().copied() else { break };
        for organisation in batch {
            let now = context.clock.now();
            // Ask first without the lock: an organisation that is done or not eligible is not locked at all.
            if let Err(error) = uplift_permitted(&read_chain(context, organisation).await?, version, now, &rules) {
                tracing::debug!(%organisation, %error, "organisation skipped by the uplift");
                report.skipped += 1;
                continue;
            }
            let mut work = context.store.begin(organisation).await?;
            let chain = load_chain(work.as_mut()).await?;
            let people = recipients(work.as_mut()).await?;
            let new = allocate(work.as_mut(), now, Vec::new(), version).await?;
            let command = Command::Uplift { new, recipients: people.shown, actor: actor.clone() };
            match decide(&chain, command.clone(), now, &rules) {
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
    let finished = context.clock.now();
    let mut provider = context.store.begin_provider().await?;
    if provider.finish_publication(version, finished).await? {
        // The counts are this run's: a run that resumed after a crash counts only what it did itself.
        let entry = AuditEntry {
            actor,
            action: "terms_publish_finish".into(),
            entity: "terms_version".into(),
            entity_id: version.to_string(),
            before: None,
            after: Some(json!({ "uplifted": report.uplifted, "skipped": report.skipped }).to_string()),
        };
        provider.append_audit(&entry, finished).await?;
    }
    provider.commit().await?;
    Ok(report)
}

/// CA-12: issue a version-6 contract to every organisation whose Active agreement is a paper one (the state
/// machine says which: `legacy_uplift_permitted`).
pub async fn issue_version_6_to_paper_agreements(context: &AppContext, staff: &User) -> Result<Vec<Agreement>> {
    agreement_team_actor(staff)?;
    let terms_version = current_terms_version(context).await?;
    let rules = context.config.rules();
    let mut issued = Vec::new();
    for agreement in context.store.all_agreements().await? {
        if agreement.state != AgreementState::Active {
            continue;
        }
        let chain = read_chain(context, agreement.organisation_id).await?;
        if legacy_uplift_permitted(&chain, terms_version, context.clock.now(), &rules).is_err() {
            continue;
        }
        let created =
            create(context, staff, agreement.organisation_id, agreement.api_products.clone(), Origin::LegacyUplift)
                .await?;
        issued.push(issue(context, staff, created.id).await?);
    }
    Ok(issued)
}
