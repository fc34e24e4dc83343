//! The agreement state machine. [`decide`] is a pure function: given an organisation's [`Chain`], a
//! [`Command`] and `now`, it returns the agreements as they should be afterwards and the effects to carry out
//! (timers, ledger entries, cases, notifications), or a named [`LifecycleError`]. The service writes all of
//! it in one transaction. The overlap rules of CA-10 are documented in `docs/LIFECYCLE.md`.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::{
    AUTO_ACCEPTED_BY, Actor, Agreement, AgreementId, AgreementState, Chain, Contact, LedgerEntry, LedgerEvent,
    NotificationKind, Origin, ReviewTimer, SignatureType, Substate, TimerKind,
};
use crate::calendar::{add_days, continue_remaining, date_of, long_date, long_time, start_of};
use crate::case::MAX_MESSAGE_CHARS;
use crate::{AgreementNumber, ApiProduct, CaseNumber};

/// Periods and reminders; configurable, with the spec's values as defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// CA-4: days a new contract may be accepted, counting the created day as day 1.
    pub acceptance_days: i64,
    /// CA-6, CA-7: days of review before a terms change is auto-accepted.
    pub auto_accept_days: i64,
    /// CA-11: reminders this many days before a review deadline.
    pub reminder_days: Vec<u32>,
}

impl Default for Rules {
    fn default() -> Self {
        Self { acceptance_days: 90, auto_accept_days: 30, reminder_days: vec![30, 14, 7, 1] }
    }
}

/// The data a new agreement needs that only the caller can supply (allocated ids and numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgreement {
    pub id: AgreementId,
    pub number: AgreementNumber,
    pub api_products: Vec<ApiProduct>,
    pub terms_version: u32,
}

/// The terms an acceptance is about: a version and the SHA-256 of the agreement's full text on it (TC-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsText {
    pub version: u32,
    pub sha256: String,
}

/// A paper agreement being imported (CA-12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperAgreement {
    pub new: NewAgreement,
    pub signed_on: Date,
    pub signed_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// CA-2: a new contract (or, with `LegacyUplift`, the first digital contract after a paper one).
    Create {
        new: NewAgreement,
        /// The number of the case opened with the contract, allocated up front like the agreement's.
        case: CaseNumber,
        origin: Origin,
        actor: Actor,
    },
    /// CA-2: Awaiting Review → Under Review; the contacts are told.
    Issue {
        agreement: AgreementId,
        recipients: Vec<String>,
        actor: Actor,
    },
    /// CA-3: an onboarding contact ticks "I have read and understood". `shown` is the terms the page showed
    /// them; `current` is what the agreement's terms are as the decision is made. They must be the same text.
    Accept {
        agreement: AgreementId,
        contact: Contact,
        shown: TermsText,
        current: TermsText,
    },
    /// CA-6: a contact asks about a terms change; opens (or adds to) the agreement's case. `case` is the
    /// number a new case gets; it is used only when the agreement has no case yet.
    RaiseQuery {
        agreement: AgreementId,
        contact: Contact,
        description: String,
        case: CaseNumber,
    },
    Pause {
        agreement: AgreementId,
        actor: Actor,
    },
    Resume {
        agreement: AgreementId,
        actor: Actor,
    },
    Reset {
        agreement: AgreementId,
        actor: Actor,
    },
    /// CA-5: this organisation's part of publishing a terms version.
    Uplift {
        new: NewAgreement,
        recipients: Vec<String>,
        actor: Actor,
    },
    /// CA-8: the organisation offboards every API product on `end_date`.
    Terminate {
        end_date: Date,
        actor: Actor,
    },
    /// A durable timer came due.
    TimerFired {
        agreement: AgreementId,
        timer: TimerKind,
    },
    /// CA-12: load a signed paper agreement as the organisation's Active one.
    ImportPaper {
        paper: PaperAgreement,
        actor: Actor,
    },
}

impl Command {
    /// The audit log's name for the command.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Issue { .. } => "issue",
            Self::Accept { .. } => "accept",
            Self::RaiseQuery { .. } => "raise_query",
            Self::Pause { .. } => "pause",
            Self::Resume { .. } => "resume",
            Self::Reset { .. } => "reset",
            Self::Uplift { .. } => "uplift",
            Self::Terminate { .. } => "terminate",
            Self::TimerFired { timer, .. } => match timer {
                TimerKind::ReviewDeadline => "review_deadline_fired",
                TimerKind::AutoAccept => "auto_accept_fired",
                TimerKind::Termination => "termination_fired",
                TimerKind::Reminder { .. } => "reminder_fired",
            },
            Self::ImportPaper { .. } => "import_paper",
        }
    }

    pub fn actor(&self) -> Actor {
        match self {
            Self::Create { actor, .. }
            | Self::Issue { actor, .. }
            | Self::Pause { actor, .. }
            | Self::Resume { actor, .. }
            | Self::Reset { actor, .. }
            | Self::Uplift { actor, .. }
            | Self::Terminate { actor, .. }
            | Self::ImportPaper { actor, .. } => actor.clone(),
            Self::Accept { contact, .. } | Self::RaiseQuery { contact, .. } => {
                Actor::User { id: contact.user, name: contact.name.clone() }
            }
            Self::TimerFired { timer, .. } => Actor::Timer { timer: *timer },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("only an onboarding contact of the organisation may do this")]
    NotAnOnboardingContact,
    #[error("only provider staff in the agreement team may do this")]
    NotAgreementTeam,
    #[error("the terms of this agreement changed while you were reading; read them again")]
    TermsChanged,
    #[error("a termination on {} is already agreed", long_date(*end_date))]
    AlreadyTerminating { end_date: Date },
    #[error("the review period ended at {}; the agreement can no longer be accepted", long_time(*deadline))]
    DeadlinePassed { deadline: Timestamp },
    #[error("the agreement is not under review (it is {state})")]
    NotUnderReview { state: String },
    #[error("the agreement is not awaiting review (it is {state})")]
    NotAwaitingReview { state: String },
    #[error("this is only possible for a {expected} agreement")]
    WrongSignatureType { expected: &'static str },
    #[error("the auto-accept timer is not running")]
    TimerNotRunning,
    #[error("the auto-accept timer is not paused")]
    TimerNotPaused,
    #[error("the organisation has no Active agreement")]
    NoActiveAgreement,
    #[error("the organisation already has an agreement; paper agreements can only be imported for new ones")]
    AlreadyHasAgreement,
    #[error("the organisation is being offboarded on {}; no new agreement can take effect", long_date(*end_date))]
    TerminationScheduled { end_date: Date },
    /// CA-8: the agreed end date has come; the termination timer is about to close the organisation's agreements,
    /// so nothing may change them in between (as acceptance after a review deadline is refused, CA-4).
    #[error("the organisation's agreements ended on {}; they can no longer change", long_date(*end_date))]
    Offboarded { end_date: Date },
    #[error("the end date must be today or later")]
    EndDateInPast,
    #[error("the organisation already has terms version {current} or later")]
    AlreadyOnTerms { current: u32 },
    #[error("choose at least one API product the agreement covers")]
    NoApiProducts,
    #[error("{organisation} is part of the API provider and needs no connection agreement")]
    NeedsNoAgreement { organisation: String },
    #[error("the agreement is not this organisation's current or pending agreement")]
    UnknownAgreement,
    /// A page opened before the agreement closed still offers its forms; the answer says why it closed.
    #[error(
        "{number} is {state}{}, so it can no longer be accepted or queried; the agreement team can issue a new contract",
        .reason.as_deref().map(|r| format!(" ({})", r.trim_end_matches('.'))).unwrap_or_default()
    )]
    NoLongerOpen { number: crate::AgreementNumber, state: &'static str, reason: Option<String> },
    #[error("a version-6 uplift is only for organisations whose Active agreement was signed on paper")]
    NotAPaperAgreement,
    #[error("describe your query")]
    EmptyQuery,
    #[error("the query must be 10,000 characters or fewer")]
    QueryTooLong,
    #[error("the organisation's agreement is on paper; it moves to the digital terms with a new contract (CA-12)")]
    PaperAgreement,
}

impl LifecycleError {
    /// A stable name for the rule, for the JSON API and the logs; it never changes when the wording does.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAnOnboardingContact => "not_an_onboarding_contact",
            Self::NotAgreementTeam => "not_agreement_team",
            Self::TermsChanged => "terms_changed",
            Self::AlreadyTerminating { .. } => "already_terminating",
            Self::DeadlinePassed { .. } => "deadline_passed",
            Self::NotUnderReview { .. } => "not_under_review",
            Self::NotAwaitingReview { .. } => "not_awaiting_review",
            Self::WrongSignatureType { .. } => "wrong_signature_type",
            Self::TimerNotRunning => "timer_not_running",
            Self::TimerNotPaused => "timer_not_paused",
            Self::NoActiveAgreement => "no_active_agreement",
            Self::AlreadyHasAgreement => "already_has_agreement",
            Self::TerminationScheduled { .. } => "termination_scheduled",
            Self::Offboarded { .. } => "offboarded",
            Self::EndDateInPast => "end_date_in_past",
            Self::AlreadyOnTerms { .. } => "already_on_terms",
            Self::NoApiProducts => "no_api_products",
            Self::NeedsNoAgreement { .. } => "needs_no_agreement",
            Self::UnknownAgreement => "unknown_agreement",
            Self::NoLongerOpen { .. } => "no_longer_open",
            Self::NotAPaperAgreement => "not_a_paper_agreement",
            Self::EmptyQuery => "empty_query",
            Self::QueryTooLong => "query_too_long",
            Self::PaperAgreement => "paper_agreement",
        }
    }
}

/// What happens besides the agreements' new values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Schedule {
        agreement: AgreementId,
        timer: TimerKind,
        at: Timestamp,
    },
    /// Removes every pending timer of the agreement (it was decided, replaced or paused).
    CancelTimers {
        agreement: AgreementId,
        kinds: Vec<TimerKind>,
    },
    Ledger {
        agreement: AgreementId,
        entry: LedgerEntry,
    },
    /// Opens case `case` on the agreement; the agreement's change already records the number.
    OpenCase {
        case: CaseNumber,
        agreement: AgreementId,
        subject: String,
        description: String,
    },
    /// Adds a public comment to the agreement's case and reopens it.
    CommentOnCase {
        case: CaseNumber,
        body: String,
    },
    ResolveCase {
        case: CaseNumber,
    },
    CloseCase {
        case: CaseNumber,
    },
    Notify {
        agreement: AgreementId,
        kind: NotificationKind,
    },
}

/// The outcome of a command: agreements to write (with what they were before, for the audit log) and
/// effects. An empty decision means "nothing to do" and carries the reason for the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    pub changes: Vec<(Option<Agreement>, Agreement)>,
    pub effects: Vec<Effect>,
    pub no_op: Option<String>,
}

impl Decision {
    fn nothing(reason: impl Into<String>) -> Self {
        Self { no_op: Some(reason.into()), ..Self::default() }
    }

    fn change(&mut self, before: Option<&Agreement>, mut after: Agreement) {
        after.version = before.map_or(1, |b| b.version + 1);
        self.changes.push((before.cloned(), after));
    }

    fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    pub fn is_no_op(&self) -> bool {
        self.changes.is_empty() && self.effects.is_empty()
    }
}

/// Decides `command` against `chain` at `now`.
pub fn decide(chain: &Chain, command: Command, now: Timestamp, rules: &Rules) -> Result<Decision, LifecycleError> {
    let actor = command.actor();
    match command {
        Command::Create { new, case, origin, .. } => create(chain, new, case, origin, now, rules, &actor),
        Command::Issue { agreement, recipients, .. } => issue(chain, agreement, recipients, now),
        Command::Accept { agreement, contact, shown, current } => {
            accept(chain, agreement, &contact, &shown, current, now, rules, &actor)
        }
        Command::RaiseQuery { agreement, contact, description, case } => {
            raise_query(chain, agreement, &contact, &description, case, now)
        }
        Command::Pause { agreement, .. } => pause(chain, agreement, now, rules, &actor),
        Command::Resume { agreement, .. } => resume(chain, agreement, now, rules, &actor),
        Command::Reset { agreement, .. } => reset(chain, agreement, now, rules, &actor),
        Command::Uplift { new, recipients, .. } => uplift(chain, new, recipients, now, rules, &actor),
        Command::Terminate { end_date, .. } => terminate(chain, end_date, now, rules, &actor),
        Command::TimerFired { agreement, timer } => timer_fired(chain, agreement, timer, now, rules, &actor),
        Command::ImportPaper { paper, .. } => import_paper(chain, paper, now),
    }
}

fn state_name(agreement: &Agreement) -> String {
    match agreement.substate {
        Some(substate) => format!("{} / {}", agreement.state.label(), substate.label()),
        None => agreement.state.label().to_owned(),
    }
}

fn require_draft(chain: &Chain, id: AgreementId) -> Result<&Agreement, LifecycleError> {
    match chain.draft.as_ref().filter(|d| d.id == id) {
        Some(draft) => Ok(draft),
        None => match chain.active.as_ref().filter(|a| a.id == id) {
            Some(active) => Err(LifecycleError::NotUnderReview { state: state_name(active) }),
            None => Err(LifecycleError::UnknownAgreement),
        },
    }
}

fn require_under_review(chain: &Chain, id: AgreementId) -> Result<&Agreement, LifecycleError> {
    let draft = require_draft(chain, id)?;
    if draft.substate != Some(Substate::UnderReview) {
        return Err(LifecycleError::NotUnderReview { state: state_name(draft) });
    }
    Ok(draft)
}

fn require_auto_accepted(draft: &Agreement) -> Result<(), LifecycleError> {
    if draft.signature_type != SignatureType::AutoAccepted {
        return Err(LifecycleError::WrongSignatureType { expected: SignatureType::AutoAccepted.label() });
    }
    Ok(())
}

fn require_contact(chain: &Chain, contact: &Contact) -> Result<(), LifecycleError> {
    if contact.organisation != Some(chain.organisation.id) || !contact.onboarding_contact {
        return Err(LifecycleError::NotAnOnboardingContact);
    }
    Ok(())
}

/// CA-2: an agreement covers at least one API product. Forms check it with this function before they have
/// everything else a command needs, so the rule is written once.
pub fn require_api_products(products: &[ApiProduct]) -> Result<(), LifecycleError> {
    if products.is_empty() { Err(LifecycleError::NoApiProducts) } else { Ok(()) }
}

fn reject_scheduled_termination(chain: &Chain) -> Result<(), LifecycleError> {
    match chain.active.as_ref().and_then(|a| a.scheduled_end_date) {
        Some(end_date) => Err(LifecycleError::TerminationScheduled { end_date }),
        None => Ok(()),
    }
}

/// CA-8: once the agreed end date has come the organisation's agreements are over, even before the termination
/// timer has run; a draft can no longer be issued, paused, resumed, reset or queried.
fn reject_after_end_date(chain: &Chain, now: Timestamp) -> Result<(), LifecycleError> {
    match chain.active.as_ref().and_then(|a| a.scheduled_end_date) {
        Some(end_date) if date_of(now) >= end_date => Err(LifecycleError::Offboarded { end_date }),
        _ => Ok(()),
    }
}

/// The time a draft's review timer had left at `at`, and its deadline: what a `stopped` entry records.
fn time_left(draft: &Agreement, at: Timestamp) -> (SignedDuration, Option<Timestamp>) {
    match (draft.review_timer, draft.review_deadline) {
        (Some(ReviewTimer::Paused { remaining, .. }), _) => (remaining, None),
        (Some(ReviewTimer::Running { deadline }), _) | (None, Some(deadline)) => {
            (deadline.duration_since(at).max(SignedDuration::ZERO), Some(deadline))
        }
        (None, None) => (SignedDuration::ZERO, None),
    }
}

/// The ledger entry of a review timer stopped at `at` (acceptance, replacement, termination), with the time it
/// had left.
fn stopped(draft: &Agreement, at: Timestamp, actor: &Actor) -> LedgerEntry {
    let (remaining, deadline) = time_left(draft, at);
    LedgerEntry { event: LedgerEvent::Stopped, timer: timer_of(draft), at, actor: actor.clone(), remaining, deadline }
}

fn ledger(decision: &mut Decision, agreement: AgreementId, entry: LedgerEntry) {
    decision.effect(Effect::Ledger { agreement, entry });
}

fn entry(
    event: LedgerEvent,
    timer: TimerKind,
    now: Timestamp,
    actor: &Actor,
    deadline: Option<Timestamp>,
) -> LedgerEntry {
    let remaining = deadline.map_or(SignedDuration::ZERO, |d| d.duration_since(now).max(SignedDuration::ZERO));
    LedgerEntry { event, timer, at: now, actor: actor.clone(), remaining, deadline }
}

/// Schedules the deadline timer and the reminders still ahead of `now`.
fn schedule_review(
    decision: &mut Decision,
    agreement: AgreementId,
    timer: TimerKind,
    deadline: Timestamp,
    now: Timestamp,
    rules: &Rules,
    sent: &[u32],
) {
    decision.effect(Effect::Schedule { agreement, timer, at: deadline });
    for &days_before in &rules.reminder_days {
        let at = add_days(deadline, -i64::from(days_before));
        if at > now && !sent.contains(&days_before) {
            decision.effect(Effect::Schedule { agreement, timer: TimerKind::Reminder { days_before }, at });
        }
    }
}

fn reminder_kinds(rules: &Rules) -> Vec<TimerKind> {
    rules.reminder_days.iter().map(|&days_before| TimerKind::Reminder { days_before }).collect()
}

/// The auto-accept timer and its reminders: what pausing, resuming or resetting replaces.
fn auto_accept_timers(rules: &Rules) -> Vec<TimerKind> {
    let mut kinds = vec![TimerKind::AutoAccept];
    kinds.extend(reminder_kinds(rules));
    kinds
}

fn all_timers(rules: &Rules) -> Vec<TimerKind> {
    let mut kinds = vec![TimerKind::ReviewDeadline, TimerKind::AutoAccept, TimerKind::Termination];
    kinds.extend(reminder_kinds(rules));
    kinds
}

/// Cancels a pending draft that is being replaced or whose organisation is leaving, as of `at` (for a
/// termination, the instant the end date began, however late the timer ran).
fn cancel_draft(
    decision: &mut Decision,
    draft: &Agreement,
    reason: String,
    at: Timestamp,
    actor: &Actor,
    rules: &Rules,
) {
    let mut after = draft.clone();
    after.state = AgreementState::Cancelled;
    after.substate = None;
    after.review_timer = None;
    after.closing_reason = Some(reason);
    decision.change(Some(draft), after);
    decision.effect(Effect::CancelTimers { agreement: draft.id, kinds: all_timers(rules) });
    ledger(decision, draft.id, stopped(draft, at, actor));
    if let Some(case) = draft.case_number {
        decision.effect(Effect::CloseCase { case });
    }
    // A draft the connecting party never saw (Awaiting Review) is cancelled without telling them.
    if draft.substate == Some(Substate::UnderReview) {
        decision.effect(Effect::Notify { agreement: draft.id, kind: NotificationKind::Cancelled });
    }
}

fn timer_of(agreement: &Agreement) -> TimerKind {
    match agreement.signature_type {
        SignatureType::AutoAccepted => TimerKind::AutoAccept,
        _ => TimerKind::ReviewDeadline,
    }
}

fn new_agreement(
    chain: &Chain,
    new: NewAgreement,
    signature_type: SignatureType,
    origin: Origin,
    now: Timestamp,
) -> Agreement {
    let organisation = &chain.organisation;
    Agreement {
        id: new.id,
        number: new.number,
        organisation_id: organisation.id,
        name: format!("{} - {}", organisation.ods_code, organisation.name),
        account: organisation.name.clone(),
        registration_number: organisation.registration_number.clone(),
        api_products: new.api_products,
        terms_version: new.terms_version,
        signature_type,
        origin,
        state: AgreementState::Draft,
        substate: Some(Substate::AwaitingReview),
        created_at: now,
        review_deadline: None,
        review_timer: None,
        accepted_on: None,
        accepted_by: None,
        accepted_terms_sha256: None,
        start_date: None,
        end_date: None,
        scheduled_end_date: None,
        original_version: None,
        superseded: chain.active.as_ref().map(|a| a.number),
        case_number: None,
        contacts_notified: Vec::new(),
        reminders_sent: Vec::new(),
        closing_reason: None,
        version: 0,
    }
}

fn create(
    chain: &Chain,
    new: NewAgreement,
    case: CaseNumber,
    origin: Origin,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    if !chain.organisation.kind.needs_connection_agreement() {
        return Err(LifecycleError::NeedsNoAgreement { organisation: chain.organisation.name.clone() });
    }
    require_api_products(&new.api_products)?;
    reject_scheduled_termination(chain)?;
    if origin == Origin::LegacyUplift
        && chain.active.as_ref().map(|a| a.signature_type) != Some(SignatureType::SignedOnPaper)
    {
        return Err(LifecycleError::NotAPaperAgreement);
    }
    let origin = if origin == Origin::LegacyUplift { Origin::LegacyUplift } else { Origin::NewContract };
    let mut decision = Decision::default();
    let mut agreement = new_agreement(chain, new, SignatureType::AcceptedViaPortal, origin, now);
    if let Some(draft) = &chain.draft {
        // CA-10 overlap rule: a new contract replaces whatever draft was pending, and is written on the
        // newest terms either of them carried.
        agreement.terms_version = agreement.terms_version.max(draft.terms_version);
        cancel_draft(&mut decision, draft, format!("Replaced by {}", agreement.number), now, actor, rules);
    }
    let deadline = add_days(now, rules.acceptance_days);
    agreement.review_deadline = Some(deadline);
    agreement.case_number = Some(case);
    let id = agreement.id;
    let subject = format!("Connection agreement {} for {}", agreement.number, agreement.name);
    decision.change(None, agreement);
    schedule_review(&mut decision, id, TimerKind::ReviewDeadline, deadline, now, rules, &[]);
    ledger(&mut decision, id, entry(LedgerEvent::Started, TimerKind::ReviewDeadline, now, actor, Some(deadline)));
    decision.effect(Effect::OpenCase {
        case,
        agreement: id,
        subject,
        description: "Opened with the new contract for questions between the connecting party and the agreement team."
            .into(),
    });
    Ok(decision)
}

fn issue(chain: &Chain, id: AgreementId, recipients: Vec<String>, now: Timestamp) -> Result<Decision, LifecycleError> {
    let draft = require_draft(chain, id)?;
    if draft.substate != Some(Substate::AwaitingReview) {
        return Err(LifecycleError::NotAwaitingReview { state: state_name(draft) });
    }
    if let Some(deadline) = draft.review_deadline.filter(|d| now >= *d) {
        return Err(LifecycleError::DeadlinePassed { deadline });
    }
    reject_after_end_date(chain, now)?;
    let mut after = draft.clone();
    after.substate = Some(Substate::UnderReview);
    after.contacts_notified = recipients;
    let mut decision = Decision::default();
    decision.change(Some(draft), after);
    decision.effect(Effect::Notify { agreement: id, kind: NotificationKind::Issued { origin: draft.origin } });
    Ok(decision)
}

/// Who accepted, and the hash of the text they accepted (none for an auto-acceptance).
struct Acceptance {
    by: String,
    terms_sha256: Option<String>,
}

/// Makes `draft` Active on the London date of `now` and expires the organisation's previous Active agreement
/// (CA-3, CA-7). The caller writes the ledger entry (`stopped` with the time left, or `fired`).
fn activate(
    decision: &mut Decision,
    chain: &Chain,
    draft: &Agreement,
    acceptance: Acceptance,
    now: Timestamp,
    rules: &Rules,
) {
    let today = date_of(now);
    if let Some(previous) = &chain.active {
        let mut expired = previous.clone();
        expired.state = AgreementState::Expired;
        expired.end_date = Some(today);
        expired.closing_reason = Some(format!("Superseded by {}", draft.number));
        decision.change(Some(previous), expired);
        decision.effect(Effect::CancelTimers { agreement: previous.id, kinds: all_timers(rules) });
    }
    let mut after = draft.clone();
    after.state = AgreementState::Active;
    after.substate = None;
    after.accepted_by = Some(acceptance.by);
    after.accepted_on = Some(today);
    after.start_date = Some(today);
    after.accepted_terms_sha256 = acceptance.terms_sha256;
    after.review_timer = None;
    decision.change(Some(draft), after);
    decision.effect(Effect::CancelTimers { agreement: draft.id, kinds: all_timers(rules) });
    decision.effect(Effect::Notify { agreement: draft.id, kind: NotificationKind::Activated });
}

#[allow(clippy::too_many_arguments, reason = "one command's fields plus the decision's context")]
fn accept(
    chain: &Chain,
    id: AgreementId,
    contact: &Contact,
    shown: &TermsText,
    current: TermsText,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let draft = require_under_review(chain, id)?;
    if draft.signature_type != SignatureType::AcceptedViaPortal {
        return Err(LifecycleError::WrongSignatureType { expected: SignatureType::AcceptedViaPortal.label() });
    }
    require_contact(chain, contact)?;
    if let Some(deadline) = draft.review_deadline.filter(|d| now >= *d) {
        return Err(LifecycleError::DeadlinePassed { deadline });
    }
    reject_scheduled_termination(chain)?;
    // TC-3: the contact accepts the text the page showed them, and only while it is still this agreement's.
    if *shown != current || current.version != draft.terms_version {
        return Err(LifecycleError::TermsChanged);
    }
    let mut decision = Decision::default();
    let acceptance = Acceptance { by: contact.name.clone(), terms_sha256: Some(current.sha256) };
    // The ledger keeps the time that was left when the contact accepted.
    ledger(&mut decision, id, stopped(draft, now, actor));
    activate(&mut decision, chain, draft, acceptance, now, rules);
    if let Some(case) = draft.case_number {
        decision.effect(Effect::ResolveCase { case });
    }
    Ok(decision)
}

fn raise_query(
    chain: &Chain,
    id: AgreementId,
    contact: &Contact,
    description: &str,
    new_case: CaseNumber,
    now: Timestamp,
) -> Result<Decision, LifecycleError> {
    let draft = require_under_review(chain, id)?;
    require_auto_accepted(draft)?;
    require_contact(chain, contact)?;
    reject_after_end_date(chain, now)?;
    let description = description.trim();
    if description.is_empty() {
        return Err(LifecycleError::EmptyQuery);
    }
    if description.chars().count() > MAX_MESSAGE_CHARS {
        return Err(LifecycleError::QueryTooLong);
    }
    let mut decision = Decision::default();
    match draft.case_number {
        Some(case) => decision.effect(Effect::CommentOnCase { case, body: description.to_owned() }),
        None => {
            let mut after = draft.clone();
            after.case_number = Some(new_case);
            decision.change(Some(draft), after);
            decision.effect(Effect::OpenCase {
                case: new_case,
                agreement: id,
                subject: format!("Query about terms change {}", draft.number),
                description: description.to_owned(),
            });
        }
    }
    decision.effect(Effect::Notify { agreement: id, kind: NotificationKind::QueryRaised });
    Ok(decision)
}

fn pause(
    chain: &Chain,
    id: AgreementId,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let draft = require_under_review(chain, id)?;
    require_auto_accepted(draft)?;
    let Some(ReviewTimer::Running { deadline }) = draft.review_timer else {
        return Err(LifecycleError::TimerNotRunning);
    };
    if now >= deadline {
        return Err(LifecycleError::DeadlinePassed { deadline });
    }
    reject_after_end_date(chain, now)?;
    let remaining = deadline.duration_since(now);
    let mut after = draft.clone();
    after.review_timer = Some(ReviewTimer::Paused { since: now, remaining });
    after.review_deadline = None;
    let mut decision = Decision::default();
    decision.change(Some(draft), after);
    decision.effect(Effect::CancelTimers { agreement: id, kinds: auto_accept_timers(rules) });
    ledger(
        &mut decision,
        id,
        LedgerEntry {
            event: LedgerEvent::Paused,
            timer: TimerKind::AutoAccept,
            at: now,
            actor: actor.clone(),
            remaining,
            deadline: None,
        },
    );
    Ok(decision)
}

/// Restarts the auto-accept timer with `deadline` (resume or reset).
fn restart(
    draft: &Agreement,
    deadline: Timestamp,
    event: LedgerEvent,
    clear_reminders: bool,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Decision {
    let mut after = draft.clone();
    after.review_timer = Some(ReviewTimer::Running { deadline });
    after.review_deadline = Some(deadline);
    if clear_reminders {
        after.reminders_sent.clear();
    }
    let sent = after.reminders_sent.clone();
    let mut decision = Decision::default();
    decision.change(Some(draft), after);
    decision.effect(Effect::CancelTimers { agreement: draft.id, kinds: auto_accept_timers(rules) });
    schedule_review(&mut decision, draft.id, TimerKind::AutoAccept, deadline, now, rules, &sent);
    ledger(&mut decision, draft.id, entry(event, TimerKind::AutoAccept, now, actor, Some(deadline)));
    decision
}

fn resume(
    chain: &Chain,
    id: AgreementId,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let draft = require_under_review(chain, id)?;
    require_auto_accepted(draft)?;
    let Some(ReviewTimer::Paused { since, remaining }) = draft.review_timer else {
        return Err(LifecycleError::TimerNotPaused);
    };
    reject_after_end_date(chain, now)?;
    // The London days and hours left at the pause continue from now (docs/LIFECYCLE.md §3).
    let deadline = continue_remaining(since, remaining, now);
    Ok(restart(draft, deadline, LedgerEvent::Resumed, false, now, rules, actor))
}

fn reset(
    chain: &Chain,
    id: AgreementId,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let draft = require_under_review(chain, id)?;
    require_auto_accepted(draft)?;
    if draft.review_timer.is_none() {
        return Err(LifecycleError::TimerNotRunning);
    }
    reject_after_end_date(chain, now)?;
    Ok(restart(draft, add_days(now, rules.auto_accept_days), LedgerEvent::Reset, true, now, rules, actor))
}

fn uplift(
    chain: &Chain,
    new: NewAgreement,
    recipients: Vec<String>,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let Some(active) = &chain.active else {
        return Err(LifecycleError::NoActiveAgreement);
    };
    if active.signature_type == SignatureType::SignedOnPaper {
        // CA-2, CA-12: a paper organisation's first digital agreement is a new contract it accepts in the
        // portal, never an auto-accepted terms change.
        return Err(LifecycleError::PaperAgreement);
    }
    let newest_pending = chain.draft.as_ref().map_or(0, |d| d.terms_version);
    let current = active.terms_version.max(newest_pending);
    if current >= new.terms_version {
        return Err(LifecycleError::AlreadyOnTerms { current });
    }
    reject_scheduled_termination(chain)?;
    let mut decision = Decision::default();
    if let Some(draft) = &chain.draft {
        // CA-10 overlap rule: a pending draft moves to the new terms instead of a second draft being created.
        // A terms-change draft starts a fresh 30-day review on the new text; a new contract keeps its 90 days.
        let mut rebased = draft.clone();
        rebased.terms_version = new.terms_version;
        if draft.signature_type == SignatureType::AutoAccepted {
            let deadline = add_days(now, rules.auto_accept_days);
            rebased.reminders_sent.clear();
            match draft.review_timer {
                Some(ReviewTimer::Paused { .. }) => {
                    rebased.review_timer =
                        Some(ReviewTimer::Paused { since: now, remaining: deadline.duration_since(now) });
                    ledger(
                        &mut decision,
                        draft.id,
                        LedgerEntry {
                            event: LedgerEvent::Reset,
                            timer: TimerKind::AutoAccept,
                            at: now,
                            actor: actor.clone(),
                            remaining: deadline.duration_since(now),
                            deadline: None,
                        },
                    );
                }
                _ => {
                    rebased.review_timer = Some(ReviewTimer::Running { deadline });
                    rebased.review_deadline = Some(deadline);
                    decision.effect(Effect::CancelTimers { agreement: draft.id, kinds: auto_accept_timers(rules) });
                    schedule_review(&mut decision, draft.id, TimerKind::AutoAccept, deadline, now, rules, &[]);
                    ledger(
                        &mut decision,
                        draft.id,
                        entry(LedgerEvent::Reset, TimerKind::AutoAccept, now, actor, Some(deadline)),
                    );
                }
            }
        }
        if draft.substate == Some(Substate::UnderReview) {
            rebased.contacts_notified = recipients;
            decision.effect(Effect::Notify {
                agreement: draft.id,
                kind: NotificationKind::Issued { origin: Origin::TermsChange },
            });
        }
        decision.change(Some(draft), rebased);
        return Ok(decision);
    }
    let mut agreement = new_agreement(chain, new, SignatureType::AutoAccepted, Origin::TermsChange, now);
    agreement.api_products = active.api_products.clone();
    agreement.substate = Some(Substate::UnderReview);
    agreement.original_version = match active.signature_type {
        SignatureType::AcceptedViaPortal => Some(active.number),
        _ => active.original_version,
    };
    let deadline = add_days(now, rules.auto_accept_days);
    agreement.review_timer = Some(ReviewTimer::Running { deadline });
    agreement.review_deadline = Some(deadline);
    agreement.contacts_notified = recipients;
    let id = agreement.id;
    decision.change(None, agreement);
    schedule_review(&mut decision, id, TimerKind::AutoAccept, deadline, now, rules, &[]);
    ledger(&mut decision, id, entry(LedgerEvent::Started, TimerKind::AutoAccept, now, actor, Some(deadline)));
    decision.effect(Effect::Notify { agreement: id, kind: NotificationKind::Issued { origin: Origin::TermsChange } });
    Ok(decision)
}

fn terminate(
    chain: &Chain,
    end_date: Date,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let Some(active) = &chain.active else {
        return Err(LifecycleError::NoActiveAgreement);
    };
    // The agreed end date is agreed once; it is not moved from the portal.
    if let Some(end_date) = active.scheduled_end_date {
        return Err(LifecycleError::AlreadyTerminating { end_date });
    }
    if end_date < date_of(now) {
        return Err(LifecycleError::EndDateInPast);
    }
    let mut decision = Decision::default();
    if end_date == date_of(now) {
        // An end date of today has begun already: the agreement ends now, in this decision, so every page shows
        // it Expired at once rather than after the worker's next round.
        expire(&mut decision, chain, active, end_date, now, actor, rules);
        return Ok(decision);
    }
    let mut after = active.clone();
    after.scheduled_end_date = Some(end_date);
    decision.change(Some(active), after);
    let at = start_of(end_date);
    decision.effect(Effect::CancelTimers { agreement: active.id, kinds: vec![TimerKind::Termination] });
    decision.effect(Effect::Schedule { agreement: active.id, timer: TimerKind::Termination, at });
    ledger(&mut decision, active.id, entry(LedgerEvent::Started, TimerKind::Termination, now, actor, Some(at)));
    decision.effect(Effect::Notify { agreement: active.id, kind: NotificationKind::TerminationScheduled { end_date } });
    Ok(decision)
}

/// CA-8: the Active agreement expires with the agreed end date as of `at` (the start of the end date when its
/// timer fires, however late; the moment of the decision when the end date is today), and the pending draft is
/// cancelled as of the same instant.
fn expire(
    decision: &mut Decision,
    chain: &Chain,
    active: &Agreement,
    end_date: Date,
    at: Timestamp,
    actor: &Actor,
    rules: &Rules,
) {
    let mut after = active.clone();
    after.state = AgreementState::Expired;
    after.end_date = Some(end_date);
    after.scheduled_end_date = None;
    after.closing_reason = Some("Terminated: every API product offboarded".into());
    decision.change(Some(active), after);
    decision.effect(Effect::CancelTimers { agreement: active.id, kinds: all_timers(rules) });
    ledger(decision, active.id, entry(LedgerEvent::Fired, TimerKind::Termination, at, actor, None));
    if let Some(draft) = &chain.draft {
        cancel_draft(decision, draft, format!("Cancelled by the termination of {}", active.number), at, actor, rules);
    }
    decision.effect(Effect::Notify { agreement: active.id, kind: NotificationKind::Terminated });
}

fn timer_fired(
    chain: &Chain,
    id: AgreementId,
    timer: TimerKind,
    now: Timestamp,
    rules: &Rules,
    actor: &Actor,
) -> Result<Decision, LifecycleError> {
    let Some(agreement) = chain.find(id) else {
        return Ok(Decision::nothing(format!("{} fired but the agreement has moved on", timer.as_str())));
    };
    let moved_on = |why: &str| Ok(Decision::nothing(format!("{} fired but {why}", timer.as_str())));
    match timer {
        TimerKind::ReviewDeadline => {
            let Some(deadline) = agreement.review_deadline.filter(|d| now >= *d) else {
                return moved_on("the agreement is not an overdue new contract");
            };
            if !agreement.is_pending() || agreement.signature_type != SignatureType::AcceptedViaPortal {
                return moved_on("the agreement is not an overdue new contract");
            }
            let mut decision = Decision::default();
            let mut after = agreement.clone();
            after.state = AgreementState::Cancelled;
            after.substate = None;
            // A draft never issued was never put to anyone to accept: it lapsed unissued.
            after.closing_reason = Some(if agreement.substate == Some(Substate::UnderReview) {
                "Not accepted within the review period".into()
            } else {
                "Never issued: the agreement team did not issue it within the review period".into()
            });
            decision.change(Some(agreement), after);
            decision.effect(Effect::CancelTimers { agreement: id, kinds: all_timers(rules) });
            // The period ended at the deadline, whenever the worker got to it.
            ledger(&mut decision, id, entry(LedgerEvent::Fired, timer, deadline, actor, None));
            if let Some(case) = agreement.case_number {
                decision.effect(Effect::CloseCase { case });
            }
            if agreement.substate == Some(Substate::UnderReview) {
                decision.effect(Effect::Notify { agreement: id, kind: NotificationKind::Cancelled });
            }
            Ok(decision)
        }
        TimerKind::AutoAccept => {
            let Some(ReviewTimer::Running { deadline }) = agreement
                .review_timer
                .filter(|timer| matches!(timer, ReviewTimer::Running { deadline } if now >= *deadline))
            else {
                return moved_on("the agreement is not a running, overdue terms change");
            };
            if !agreement.is_pending() || agreement.substate != Some(Substate::UnderReview) {
                return moved_on("the agreement is not a running, overdue terms change");
            }
            if chain.active.as_ref().is_some_and(|a| a.scheduled_end_date.is_some()) {
                // CA-10: an organisation being offboarded takes no new agreement; the draft is cancelled on
                // the end date with the rest.
                return moved_on("the organisation is being offboarded");
            }
            let mut decision = Decision::default();
            // CA-7: the agreement is accepted when the period ends, not when a late worker runs: Accepted On,
            // Start Date and the predecessor's End Date are the deadline's London date.
            ledger(&mut decision, id, entry(LedgerEvent::Fired, timer, deadline, actor, None));
            let acceptance = Acceptance { by: AUTO_ACCEPTED_BY.into(), terms_sha256: None };
            activate(&mut decision, chain, agreement, acceptance, deadline, rules);
            Ok(decision)
        }
        TimerKind::Termination => {
            let Some(end_date) = agreement.scheduled_end_date.filter(|d| date_of(now) >= *d) else {
                return moved_on("no termination is due");
            };
            if agreement.state != AgreementState::Active {
                return moved_on("the agreement is no longer Active");
            }
            // CA-8: it ended when the end date began, whenever the worker got to it.
            let mut decision = Decision::default();
            expire(&mut decision, chain, agreement, end_date, start_of(end_date), actor, rules);
            Ok(decision)
        }
        TimerKind::Reminder { days_before } => {
            let Some(deadline) = agreement.review_deadline else {
                return moved_on("the review timer is not running");
            };
            if agreement.substate != Some(Substate::UnderReview) || now >= deadline {
                return moved_on("the agreement is not under review");
            }
            if agreement.reminders_sent.contains(&days_before) {
                return moved_on("this reminder was sent already");
            }
            let mut after = agreement.clone();
            after.reminders_sent.push(days_before);
            let mut decision = Decision::default();
            decision.change(Some(agreement), after);
            decision
                .effect(Effect::Notify { agreement: id, kind: NotificationKind::Reminder { days_before, deadline } });
            Ok(decision)
        }
    }
}

fn import_paper(chain: &Chain, paper: PaperAgreement, now: Timestamp) -> Result<Decision, LifecycleError> {
    if chain.active.is_some() || chain.draft.is_some() {
        return Err(LifecycleError::AlreadyHasAgreement);
    }
    require_api_products(&paper.new.api_products)?;
    let mut agreement = new_agreement(chain, paper.new, SignatureType::SignedOnPaper, Origin::PaperImport, now);
    agreement.state = AgreementState::Active;
    agreement.substate = None;
    agreement.accepted_on = Some(paper.signed_on);
    agreement.accepted_by = Some(paper.signed_by);
    agreement.start_date = Some(paper.signed_on);
    let mut decision = Decision::default();
    decision.change(None, agreement);
    Ok(decision)
}
