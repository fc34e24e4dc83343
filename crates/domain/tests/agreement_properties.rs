//! Property-based state-machine test of the agreement lifecycle (CA-9, CA-10).
//!
//! Random sequences of commands and clock jumps are driven across several organisations through the pure
//! [`decide`], and every decision is applied to an in-memory world the way the service's `write` applies it:
//! agreements stored by id (replaced on change), cases opened with the number the command carried (allocated
//! up front, as agreement numbers are), timers kept per (agreement, timer kind) with `Schedule` overwriting and `CancelTimers` removing,
//! agreement numbers allocated in order. After a clock jump the due timers fire as the worker fires them:
//! claimed in a batch in order of their instant, each decided at the jump's target time, and removed afterwards
//! if it was not rescheduled meanwhile; a jump without the worker leaves them for later, as a lagging worker would.
//!
//! Checked after every step (the numbers appear in the code):
//! 1. at most one Active and one Draft agreement per organisation (CA-10);
//! 2. an Active agreement's content never changes while it stays Active (CA-10);
//! 3. each deadline acts exactly once: a deciding timer (review deadline, auto-accept, termination) acts at most
//!    once per agreement, timers pend only for live agreements, every live deadline has its timer, and once the
//!    worker has run no deadline that passed is left undone (CA-4, CA-7, CA-8, CA-10);
//! 4. the chain: `superseded` points to an earlier agreement of the same organisation, and `original_version` is
//!    the nearest Accepted via Portal ancestor for Auto Accepted agreements and none otherwise (CA-9);
//! 5. every change of an existing agreement is made from what is stored and increments its version by one;
//! 6. every action a page would offer (`allowed`) is exactly one the machine accepts, for every live agreement
//!    of every organisation and every kind of person (contact, other member, other organisation, agreement
//!    team, other staff), and cases are opened with the number allocated up front.
//!
//! 7. the timer ledger: no entry is dated after the time of the step that wrote it, each agreement's entries
//!    are in time order, and a timer that ran late dates its entries (and the dates it records) at its deadline
//!    or the start of the agreed end date, not at the time the worker ran (CA-4, CA-7, CA-8).
//!
//! Commands also have their postconditions checked (who may accept, acceptance before the deadline and its
//! ledger entry with the time left, pause and resume keep the London days and hours left, the overlap rules of
//! an uplift, a termination on today's date ends the agreement at once), and a refused command must change
//! nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a test: helpers fail loudly")]

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::machine::{NewAgreement, PaperAgreement};
use onramp_domain::agreement::{
    AUTO_ACCEPTED_BY, Action, Actor, Agreement, AgreementContent, AgreementId, AgreementState, Chain, Command, Contact,
    Decision, Effect, LedgerEntry, LedgerEvent, OrganisationSnapshot, Origin, ReviewTimer, Rules, SignatureType,
    Substate, TermsText, TimerKind, allowed, decide, paused_remaining,
};
use onramp_domain::calendar::{add_days, continue_remaining, date_of, start_of};
use onramp_domain::{
    AgreementNumber, ApiProduct, CaseNumber, EmailAddress, Membership, OrganisationId, OrganisationKind, PersonName,
    StaffRole, TeamRole, User, UserId,
};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;
use uuid::Uuid;

/// How many organisations each scenario runs with.
const ORGANISATIONS: usize = 3;
/// The kinds of timer that decide an agreement, each of which may act at most once per agreement.
const DECIDING_TIMERS: [TimerKind; 3] = [TimerKind::ReviewDeadline, TimerKind::AutoAccept, TimerKind::Termination];

// ---------------------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------------------

/// Which agreement a command is aimed at.
#[derive(Debug, Clone)]
enum Target {
    Draft,
    Active,
    /// Any agreement of any organisation ever stored, whatever its state (mostly refused).
    Any(Index),
}

/// Who ticks the box or raises the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    OnboardingContact,
    /// A member of the organisation who is not an onboarding contact.
    OtherMember,
    /// An onboarding contact of another organisation.
    OtherOrganisation,
}

#[derive(Debug, Clone)]
enum Step {
    Create {
        org: usize,
        products: Vec<ApiProduct>,
        legacy: bool,
    },
    Issue {
        org: usize,
        target: Target,
    },
    Accept {
        org: usize,
        target: Target,
        who: Who,
        /// The page showed older terms than the agreement has now (an uplift moved it meanwhile).
        stale: bool,
    },
    RaiseQuery {
        org: usize,
        target: Target,
        who: Who,
        blank: bool,
    },
    Pause {
        org: usize,
        target: Target,
    },
    Resume {
        org: usize,
        target: Target,
    },
    Reset {
        org: usize,
        target: Target,
    },
    /// Publishes terms `current + bump` (bump 0 republishes the current version) to the organisations in `orgs`
    /// (a bit mask), each in its own decision, as `publish_terms` does.
    Publish {
        bump: u32,
        orgs: u8,
    },
    Terminate {
        org: usize,
        days_ahead: i64,
    },
    /// The clock moves on; with `worker` the timers due by then fire, without it they wait for a later jump (a
    /// worker that lags, so commands can arrive after a deadline and before its timer).
    Jump {
        by: SignedDuration,
        worker: bool,
    },
}

#[derive(Debug, Clone)]
struct Paper {
    products: Vec<ApiProduct>,
    signed_days_ago: i64,
}

#[derive(Debug, Clone)]
struct Scenario {
    /// Minutes after the start instant at which the scenario begins (so dates fall at any time of day).
    start_offset_minutes: i64,
    /// Per organisation: the paper agreement imported before anything else, if any (CA-12).
    papers: Vec<Option<Paper>>,
    steps: Vec<Step>,
}

/// The shipped catalogue's products: the machine treats them as opaque slugs.
fn products_of_the_catalogue() -> Vec<ApiProduct> {
    ["pds-fhir", "nhs-login", "nhs-notify", "nhsmail-third-party", "e-referral", "gp-connect", "im1-pairing"]
        .into_iter()
        .filter_map(|slug| ApiProduct::parse(slug).ok())
        .collect()
}

/// API products for a new contract; now and then none, which is refused.
fn products() -> impl Strategy<Value = Vec<ApiProduct>> {
    prop_oneof![1 => Just(Vec::new()), 9 => proptest::sample::subsequence(products_of_the_catalogue(), 1..=3)]
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![8 => Just(Target::Draft), 1 => Just(Target::Active), 1 => any::<Index>().prop_map(Target::Any)]
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![6 => Just(Who::OnboardingContact), 1 => Just(Who::OtherMember), 1 => Just(Who::OtherOrganisation)]
}

fn jump() -> impl Strategy<Value = SignedDuration> {
    prop_oneof![
        (0_i64..=180).prop_map(SignedDuration::from_mins),
        (1_i64..=48).prop_map(SignedDuration::from_hours),
        (1_i64..=100, 0_i64..1440)
            .prop_map(|(days, minutes)| SignedDuration::from_hours(24 * days) + SignedDuration::from_mins(minutes)),
    ]
}

/// An organisation; the first one gets most commands, so that one chain sees long runs of them (a pause and its
/// resume, an issue and its acceptance) while the others still interleave.
fn org() -> impl Strategy<Value = usize> + Clone {
    prop_oneof![4 => Just(0_usize), 2 => Just(1_usize), 1 => Just(2_usize)]
}

fn step() -> impl Strategy<Value = Step> {
    let org = org();
    prop_oneof![
        3 => (org.clone(), products(), proptest::bool::weighted(0.2))
            .prop_map(|(org, products, legacy)| Step::Create { org, products, legacy }),
        3 => (org.clone(), target()).prop_map(|(org, target)| Step::Issue { org, target }),
        4 => (org.clone(), target(), who(), proptest::bool::weighted(0.1))
            .prop_map(|(org, target, who, stale)| Step::Accept { org, target, who, stale }),
        2 => (org.clone(), target(), who(), proptest::bool::weighted(0.1))
            .prop_map(|(org, target, who, blank)| Step::RaiseQuery { org, target, who, blank }),
        2 => (org.clone(), target()).prop_map(|(org, target)| Step::Pause { org, target }),
        3 => (org.clone(), target()).prop_map(|(org, target)| Step::Resume { org, target }),
        1 => (org.clone(), target()).prop_map(|(org, target)| Step::Reset { org, target }),
        2 => (0_u32..=2, prop_oneof![Just(0b111_u8), 0_u8..8]).prop_map(|(bump, orgs)| Step::Publish { bump, orgs }),
        1 => (org, -2_i64..=35).prop_map(|(org, days_ahead)| Step::Terminate { org, days_ahead }),
        8 => (jump(), proptest::bool::weighted(0.7)).prop_map(|(by, worker)| Step::Jump { by, worker }),
    ]
}

fn paper() -> impl Strategy<Value = Option<Paper>> {
    proptest::option::weighted(
        0.6,
        (proptest::sample::subsequence(products_of_the_catalogue(), 1..=3), 0_i64..2000)
            .prop_map(|(products, signed_days_ago)| Paper { products, signed_days_ago }),
    )
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (0_i64..1440, proptest::collection::vec(paper(), ORGANISATIONS), proptest::collection::vec(step(), 1..=60))
        .prop_map(|(start_offset_minutes, papers, steps)| Scenario { start_offset_minutes, papers, steps })
}

// ---------------------------------------------------------------------------------------------------------
// The world: what the service's store holds, kept the way `lifecycle::write` and the timer worker keep it.
// ---------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
struct World {
    now: Timestamp,
    rules: Rules,
    organisations: Vec<OrganisationSnapshot>,
    agreements: BTreeMap<AgreementId, Agreement>,
    /// The jobs table: one pending timer per (agreement, kind).
    pending: BTreeMap<(AgreementId, TimerKind), Timestamp>,
    /// The next values of the agreement and case sequences.
    next_agreement: i64,
    next_case: i64,
    /// The newest published terms version; new contracts are written on it.
    terms_version: u32,
    // What the checks remember.
    /// How many times each timer acted (a TimerFired decision that was not a no-op).
    acted: BTreeMap<(AgreementId, TimerKind), u32>,
    /// The content of every Active agreement, as it was when it became Active.
    active_content: BTreeMap<AgreementId, AgreementContent>,
    /// Agreed end dates not yet acted on, per organisation (CA-8).
    terminations: BTreeMap<OrganisationId, Date>,
    /// The timer ledger, per agreement, in the order written.
    ledger: BTreeMap<AgreementId, Vec<LedgerEntry>>,
    /// What the scenario exercised, for the coverage test.
    seen: BTreeMap<String, u32>,
}

/// What a step did, for the checks that depend on it.
enum Outcome {
    Refused,
    Done,
}

fn start() -> Timestamp {
    // Late October: the first weeks cross the autumn clock change, 90-day periods cross the new year.
    "2026-10-10T09:00:00Z".parse().unwrap()
}

fn organisation_id(org: usize) -> OrganisationId {
    OrganisationId(Uuid::from_u128(0x0a00 + org as u128))
}

fn staff() -> Actor {
    Actor::User { id: UserId(Uuid::from_u128(0xbeef)), name: "Aisha Agreements".into() }
}

fn contact(org: usize, who: Who) -> Contact {
    match who {
        Who::OnboardingContact => Contact {
            user: UserId(Uuid::from_u128(0x1000 + org as u128)),
            name: format!("Contact {org}"),
            organisation: Some(organisation_id(org)),
            onboarding_contact: true,
        },
        Who::OtherMember => Contact {
            user: UserId(Uuid::from_u128(0x2000 + org as u128)),
            name: format!("Member {org}"),
            organisation: Some(organisation_id(org)),
            onboarding_contact: false,
        },
        Who::OtherOrganisation => {
            let other = (org + 1) % ORGANISATIONS;
            Contact {
                user: UserId(Uuid::from_u128(0x1000 + other as u128)),
                name: format!("Contact {other}"),
                organisation: Some(organisation_id(other)),
                onboarding_contact: true,
            }
        }
    }
}

/// What the service computes inside the unit of work: the agreement's terms version and its text's hash.
fn terms_text(agreement: &Agreement) -> TermsText {
    TermsText {
        version: agreement.terms_version,
        sha256: format!("sha-{}-{}", agreement.number, agreement.terms_version),
    }
}

/// The people check 6 asks `allowed` about, as the portal's users would be.
fn people(org: usize) -> Vec<User> {
    let created_at = start();
    let user = |n: u128, membership: Option<Membership>, staff_roles: Vec<StaffRole>| User {
        id: UserId(Uuid::from_u128(0x5000 + n)),
        email: EmailAddress::parse(&format!("person{n}@example.org")).unwrap(),
        full_name: PersonName::parse(&format!("Person {n}")).unwrap(),
        password_hash: None,
        staff_roles,
        membership,
        created_at,
        email_verified_at: None,
    };
    let member = |org: usize, role: TeamRole, onboarding_contact: bool| {
        Some(Membership { organisation_id: organisation_id(org), role, onboarding_contact })
    };
    vec![
        user(1, member(org, TeamRole::Owner, true), Vec::new()),
        user(2, member(org, TeamRole::Admin, false), Vec::new()),
        user(3, member(org, TeamRole::Viewer, false), Vec::new()),
        user(4, member((org + 1) % ORGANISATIONS, TeamRole::Owner, true), Vec::new()),
        user(5, None, vec![StaffRole::AgreementTeam]),
        user(6, None, vec![StaffRole::Reviewer, StaffRole::Admin]),
    ]
}

/// The command a person really sends for `action`, with real values where `allowed` uses stand-ins.
fn real_command(world: &World, org: usize, agreement: &Agreement, action: Action, user: &User) -> Option<Command> {
    let id = agreement.id;
    let actor = user.actor();
    let contact = user.contact();
    let staff_ok = user.has_staff_role(StaffRole::AgreementTeam);
    let command = match action {
        Action::Accept => {
            let text = terms_text(agreement);
            Command::Accept { agreement: id, contact, shown: text.clone(), current: text }
        }
        Action::RaiseQuery => Command::RaiseQuery {
            agreement: id,
            contact,
            description: "Which clauses changed?".into(),
            case: world.next_case_number(),
        },
        _ if !staff_ok => return None,
        Action::Issue => Command::Issue { agreement: id, recipients: recipients(org), actor },
        Action::Pause => Command::Pause { agreement: id, actor },
        Action::Resume => Command::Resume { agreement: id, actor },
        Action::Reset => Command::Reset { agreement: id, actor },
        Action::Terminate => {
            let chain = world.chain(org).ok()?;
            if chain.active.as_ref().is_none_or(|a| a.id != id) {
                return None;
            }
            Command::Terminate { end_date: date_of(world.now), actor }
        }
    };
    Some(command)
}

fn recipients(org: usize) -> Vec<String> {
    vec![format!("Contact {org}"), format!("notices@org{org}.example")]
}

impl World {
    fn new(start: Timestamp) -> Self {
        let kinds = [OrganisationKind::Commercial, OrganisationKind::PublicHealthcare, OrganisationKind::NonUk];
        let organisations = (0..ORGANISATIONS)
            .map(|org| OrganisationSnapshot {
                id: organisation_id(org),
                name: format!("Organisation {org}"),
                ods_code: format!("X{org:02}"),
                registration_number: format!("0123456{org}"),
                kind: kinds[org % kinds.len()],
            })
            .collect();
        Self {
            now: start,
            rules: Rules::default(),
            organisations,
            agreements: BTreeMap::new(),
            pending: BTreeMap::new(),
            next_agreement: 1,
            next_case: 1,
            terms_version: 6,
            acted: BTreeMap::new(),
            active_content: BTreeMap::new(),
            terminations: BTreeMap::new(),
            ledger: BTreeMap::new(),
            seen: BTreeMap::new(),
        }
    }

    fn next_case_number(&self) -> CaseNumber {
        CaseNumber::from_sequence(self.next_case).unwrap()
    }

    fn saw(&mut self, what: String) {
        *self.seen.entry(what).or_default() += 1;
    }

    fn org_index(&self, id: OrganisationId) -> Result<usize, String> {
        self.organisations.iter().position(|o| o.id == id).ok_or_else(|| format!("unknown organisation {id}"))
    }

    /// What `live_agreements` loads: the organisation's Active and Draft agreements. More than one of either
    /// breaks CA-10.
    fn chain(&self, org: usize) -> Result<Chain, String> {
        let organisation = self.organisations[org].clone();
        let mut active: Option<Agreement> = None;
        let mut draft: Option<Agreement> = None;
        for agreement in self.agreements.values().filter(|a| a.organisation_id == organisation.id) {
            let slot = match agreement.state {
                AgreementState::Active => &mut active,
                AgreementState::Draft => &mut draft,
                AgreementState::Expired | AgreementState::Cancelled => continue,
            };
            if let Some(other) = slot.replace(agreement.clone()) {
                return Err(format!(
                    "CA-10: {} has two {} agreements: {} and {}",
                    organisation.name,
                    agreement.state.label(),
                    other.number,
                    agreement.number
                ));
            }
        }
        Ok(Chain { organisation, active, draft })
    }

    /// What the service allocates before deciding; the sequence only moves if the decision is written.
    fn allocate(&self, products: Vec<ApiProduct>, terms_version: u32) -> NewAgreement {
        NewAgreement {
            id: AgreementId(Uuid::from_u128(u128::try_from(self.next_agreement).unwrap())),
            number: AgreementNumber::from_sequence(self.next_agreement).unwrap(),
            api_products: products,
            terms_version,
        }
    }

    fn target(&self, org: usize, target: &Target) -> Result<Option<AgreementId>, String> {
        let chain = self.chain(org)?;
        Ok(match target {
            Target::Draft => chain.draft.map(|a| a.id),
            Target::Active => chain.active.map(|a| a.id),
            Target::Any(index) => {
                if self.agreements.is_empty() {
                    None
                } else {
                    self.agreements.keys().nth(index.index(self.agreements.len())).copied()
                }
            }
        })
    }

    /// Decides `command` for organisation `org` and writes the decision; a refusal must leave the world as it was.
    fn execute(&mut self, org: usize, command: Command, allocates: bool) -> Result<Outcome, String> {
        let chain = self.chain(org)?;
        let before = self.clone();
        let action = command.action();
        match decide(&chain, command, self.now, &self.rules) {
            Err(error) => {
                if *self != before {
                    return Err(format!("the world changed although {action} was refused: {error}"));
                }
                self.saw(format!("{action} refused"));
                self.saw(format!(
                    "{action} refused: {}",
                    format!("{error:?}").split([' ', '{']).next().unwrap_or_default()
                ));
                Ok(Outcome::Refused)
            }
            Ok(decision) => {
                if allocates {
                    self.next_agreement += 1;
                }
                let replaced = chain.draft.as_ref().is_some_and(|d| decision.changes.iter().any(|(_, a)| a.id == d.id));
                self.saw(format!("{action} done"));
                if replaced {
                    self.saw(format!("{action} changed a pending draft"));
                }
                self.write(org, action, &decision)?;
                Ok(Outcome::Done)
            }
        }
    }

    /// Applies a decision as `lifecycle::write` does, checking each change against what is stored.
    fn write(&mut self, org: usize, action: &str, decision: &Decision) -> Result<(), String> {
        let organisation_id = self.organisations[org].id;
        if decision.no_op.is_some() && !decision.is_no_op() {
            return Err(format!("a no-op decision ({:?}) carries changes or effects", decision.no_op));
        }
        // Check 6: a case is opened with the next number of the sequence, and the decision records it on its
        // agreement itself (the service only writes what it is given).
        for effect in &decision.effects {
            if let Effect::OpenCase { case, agreement, .. } = effect {
                if case.sequence() != self.next_case {
                    return Err(format!("{action} opened case {case}, not the next number {}", self.next_case));
                }
                self.next_case += 1;
                if !decision.changes.iter().any(|(_, a)| a.id == *agreement && a.case_number == Some(*case)) {
                    return Err(format!("{action} opened case {case} but no change records it on its agreement"));
                }
            }
        }

        for (before, after) in &decision.changes {
            if after.organisation_id != organisation_id {
                return Err(format!("{} of another organisation changed by {}", after.number, action));
            }
            match before {
                Some(before) => {
                    let stored = self.agreements.get(&before.id);
                    if stored != Some(before) {
                        return Err(format!(
                            "{}: the decision's `before` of {} is not what is stored (stale or changed twice)",
                            action, before.number
                        ));
                    }
                    if after.id != before.id || after.number != before.number {
                        return Err(format!("{}: a change swapped agreement {}", action, before.number));
                    }
                    // Check 5: a change of an existing agreement increments its version by exactly one.
                    if after.version != before.version + 1 {
                        return Err(format!(
                            "{}: {} went from version {} to {}",
                            action, before.number, before.version, after.version
                        ));
                    }
                    let allowed = matches!(
                        (before.state, after.state),
                        (
                            AgreementState::Draft,
                            AgreementState::Draft | AgreementState::Active | AgreementState::Cancelled
                        ) | (AgreementState::Active, AgreementState::Active | AgreementState::Expired)
                    );
                    if !allowed {
                        return Err(format!(
                            "CA-1: {} moved from {} to {}",
                            before.number,
                            before.state.label(),
                            after.state.label()
                        ));
                    }
                    // Check 2, within one decision.
                    if before.state == AgreementState::Active
                        && after.state == AgreementState::Active
                        && before.content() != after.content()
                    {
                        return Err(format!(
                            "CA-10: Active {} content changed by {}: {:?} -> {:?}",
                            before.number,
                            action,
                            before.content(),
                            after.content()
                        ));
                    }
                }
                None => {
                    if self.agreements.contains_key(&after.id) {
                        return Err(format!("{}: a new agreement reuses the id of {}", action, after.number));
                    }
                    if after.version != 1 {
                        return Err(format!("new agreement {} has version {}", after.number, after.version));
                    }
                    let fresh = match after.state {
                        AgreementState::Draft => after.signature_type != SignatureType::SignedOnPaper,
                        AgreementState::Active => after.signature_type == SignatureType::SignedOnPaper,
                        _ => false,
                    };
                    if !fresh {
                        return Err(format!(
                            "new agreement {} starts {} ({:?})",
                            after.number,
                            after.state.label(),
                            after.signature_type
                        ));
                    }
                }
            }
            self.agreements.insert(after.id, after.clone());
        }

        for effect in &decision.effects {
            match effect {
                Effect::Schedule { agreement, timer, at } => {
                    if !self.agreements.contains_key(agreement) {
                        return Err(format!("a timer was scheduled for unknown agreement {agreement}"));
                    }
                    self.pending.insert((*agreement, *timer), *at);
                }
                Effect::CancelTimers { agreement, kinds } => {
                    for kind in kinds {
                        self.pending.remove(&(*agreement, *kind));
                    }
                }
                Effect::CommentOnCase { case, .. } | Effect::ResolveCase { case } | Effect::CloseCase { case } => {
                    if case.sequence() >= self.next_case {
                        return Err(format!("{} refers to case {case}, which was never opened", action));
                    }
                }
                Effect::Ledger { agreement, entry } => {
                    // Check 7: never dated in the future, and in time order per agreement.
                    if entry.at > self.now {
                        return Err(format!("{action} wrote a ledger entry at {} after now {}", entry.at, self.now));
                    }
                    let entries = self.ledger.entry(*agreement).or_default();
                    if let Some(last) = entries.last()
                        && last.at > entry.at
                    {
                        return Err(format!(
                            "{action} wrote a {} ledger entry at {} before the previous {} at {}",
                            entry.event.as_str(),
                            entry.at,
                            last.event.as_str(),
                            last.at
                        ));
                    }
                    entries.push(entry.clone());
                }
                Effect::OpenCase { .. } | Effect::Notify { .. } => {}
            }
        }
        Ok(())
    }

    /// The last ledger entry of `agreement`, if any.
    fn last_entry(&self, agreement: AgreementId) -> Option<&LedgerEntry> {
        self.ledger.get(&agreement).and_then(|entries| entries.last())
    }

    fn import_paper(&mut self, org: usize, paper: &Paper) -> Result<(), String> {
        let signed_on = date_of(self.now).checked_sub(jiff::Span::new().days(paper.signed_days_ago)).unwrap();
        let paper = PaperAgreement {
            new: self.allocate(paper.products.clone(), 5),
            signed_on,
            signed_by: format!("Signatory {org}"),
        };
        let command = Command::ImportPaper { paper, actor: Actor::System { process: "legacy import".into() } };
        match self.execute(org, command, true)? {
            Outcome::Done => Ok(()),
            Outcome::Refused => Err("importing the first paper agreement was refused".into()),
        }
    }

    fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Create { org, products, legacy } => {
                let new = self.allocate(products.clone(), self.terms_version);
                let origin = if *legacy { Origin::LegacyUplift } else { Origin::NewContract };
                let case = self.next_case_number();
                self.execute(*org, Command::Create { new, case, origin, actor: staff() }, true)?;
            }
            Step::Issue { org, target } => {
                if let Some(agreement) = self.target(*org, target)? {
                    let command = Command::Issue { agreement, recipients: recipients(*org), actor: staff() };
                    self.execute(*org, command, false)?;
                }
            }
            Step::Accept { org, target, who, stale } => {
                if let Some(agreement) = self.target(*org, target)? {
                    let deadline = self.agreements[&agreement].review_deadline;
                    let previous = self.chain(*org)?.active;
                    let contact = contact(*org, *who);
                    let name = contact.name.clone();
                    let current = terms_text(&self.agreements[&agreement]);
                    let shown = if *stale {
                        TermsText { version: current.version.saturating_sub(1), sha256: "an older text".into() }
                    } else {
                        current.clone()
                    };
                    let command = Command::Accept { agreement, contact, shown, current: current.clone() };
                    if let Outcome::Done = self.execute(*org, command, false)? {
                        let accepted = &self.agreements[&agreement];
                        let today = date_of(self.now);
                        if *who != Who::OnboardingContact {
                            return Err(format!("CA-3: {who:?} accepted {}", accepted.number));
                        }
                        // TC-3: what was accepted is the text the page showed, and it is what is recorded.
                        if *stale || accepted.accepted_terms_sha256.as_deref() != Some(current.sha256.as_str()) {
                            return Err(format!(
                                "TC-3: {} accepted with terms {:?} shown {:?} (stale: {stale})",
                                accepted.number, accepted.accepted_terms_sha256, current.sha256
                            ));
                        }
                        // CA-4: acceptance after the deadline is refused even if the timer has not run yet.
                        if deadline.is_none_or(|d| self.now >= d) {
                            return Err(format!(
                                "CA-4: {} accepted at {} after deadline {deadline:?}",
                                accepted.number, self.now
                            ));
                        }
                        // CA-3: accepted by the contact, accepted on = start date = today; the previous one expires.
                        let recorded = (accepted.state, accepted.accepted_by.as_deref(), accepted.accepted_on);
                        if recorded != (AgreementState::Active, Some(name.as_str()), Some(today))
                            || accepted.start_date != Some(today)
                        {
                            return Err(format!("CA-3: accepted {} records {recorded:?}", accepted.number));
                        }
                        // The ledger keeps the time that was left, not "stopped, 0 days 0 hours".
                        let left = deadline.map(|d| d.duration_since(self.now));
                        let logged = self.last_entry(agreement).map(|e| (e.event, e.at, Some(e.remaining), e.deadline));
                        if logged != Some((LedgerEvent::Stopped, self.now, left, deadline)) {
                            return Err(format!(
                                "CA-3: accepting {} logged {logged:?}, not stopped with {left:?} left",
                                accepted.number
                            ));
                        }
                        if let Some(previous) = previous.map(|p| &self.agreements[&p.id])
                            && (previous.state, previous.end_date) != (AgreementState::Expired, Some(today))
                        {
                            return Err(format!(
                                "CA-3: the previous Active {} is {} ending {:?}",
                                previous.number,
                                previous.state.label(),
                                previous.end_date
                            ));
                        }
                    }
                }
            }
            Step::RaiseQuery { org, target, who, blank } => {
                if let Some(agreement) = self.target(*org, target)? {
                    let description = if *blank { "   ".to_owned() } else { "What changed in clause 4?".to_owned() };
                    let case = self.next_case_number();
                    let command = Command::RaiseQuery { agreement, contact: contact(*org, *who), description, case };
                    if let Outcome::Done = self.execute(*org, command, false)? {
                        if *who != Who::OnboardingContact || *blank {
                            return Err(format!("CA-6: a query by {who:?} (blank: {blank}) was accepted"));
                        }
                        if self.agreements[&agreement].case_number.is_none() {
                            return Err(format!(
                                "CA-6: a query on {} left it without a case",
                                self.agreements[&agreement].number
                            ));
                        }
                    }
                }
            }
            Step::Pause { org, target } | Step::Resume { org, target } | Step::Reset { org, target } => {
                if let Some(agreement) = self.target(*org, target)? {
                    self.review_timer_command(*org, agreement, step)?;
                }
            }
            Step::Publish { bump, orgs } => {
                let version = self.terms_version + bump;
                self.terms_version = version;
                for org in (0..ORGANISATIONS).filter(|org| orgs & (1 << org) != 0) {
                    let new = self.allocate(Vec::new(), version);
                    let command = Command::Uplift { new, recipients: recipients(org), actor: staff() };
                    let pending = self.chain(org)?.draft;
                    if let Outcome::Done = self.execute(org, command, true)? {
                        self.check_uplift(org, version, pending)?;
                    }
                }
            }
            Step::Terminate { org, days_ahead } => {
                let end_date = date_of(add_days(self.now, *days_ahead));
                let before = self.chain(*org)?;
                if let Outcome::Done = self.execute(*org, Command::Terminate { end_date, actor: staff() }, false)? {
                    let active = before.active.as_ref().map(|a| a.id).ok_or("CA-8: terminated without an Active")?;
                    if end_date == date_of(self.now) {
                        // An end date of today ends the agreement in the same decision, logged now.
                        self.saw("terminate ended it at once".into());
                        let after = &self.agreements[&active];
                        let chain = self.chain(*org)?;
                        let logged = self.last_entry(active).map(|e| (e.event, e.timer, e.at));
                        if (after.state, after.end_date) != (AgreementState::Expired, Some(end_date))
                            || chain.active.is_some()
                            || chain.draft.is_some()
                            || logged != Some((LedgerEvent::Fired, TimerKind::Termination, self.now))
                        {
                            return Err(format!(
                                "CA-8: terminating {} today left it {} ending {:?}, logged {logged:?}",
                                after.number,
                                after.state.label(),
                                after.end_date
                            ));
                        }
                    } else {
                        let logged = self.last_entry(active).map(|e| (e.event, e.timer, e.deadline));
                        if logged != Some((LedgerEvent::Started, TimerKind::Termination, Some(start_of(end_date)))) {
                            return Err(format!("CA-8: scheduling a termination logged {logged:?}"));
                        }
                        self.terminations.insert(self.organisations[*org].id, end_date);
                    }
                }
            }
            Step::Jump { by, worker } => {
                self.now = self.now.checked_add(*by).unwrap();
                if *worker {
                    self.run_due()?;
                    self.check_deadlines_acted()?;
                }
            }
        }
        Ok(())
    }

    /// Pause, resume or reset the 30-day timer, and check that the time left is kept exactly (CA-6, CA-7:
    /// "at the end of the 30 days, pauses excluded").
    fn review_timer_command(&mut self, org: usize, agreement: AgreementId, step: &Step) -> Result<(), String> {
        let before = self.agreements[&agreement].review_timer;
        let command = match step {
            Step::Pause { .. } => Command::Pause { agreement, actor: staff() },
            Step::Resume { .. } => Command::Resume { agreement, actor: staff() },
            _ => Command::Reset { agreement, actor: staff() },
        };
        if let Outcome::Refused = self.execute(org, command, false)? {
            return Ok(());
        }
        let now = self.now;
        let after = &self.agreements[&agreement];
        let expected = match (step, before) {
            (Step::Pause { .. }, Some(ReviewTimer::Running { deadline })) => {
                ReviewTimer::Paused { since: now, remaining: deadline.duration_since(now) }
            }
            (Step::Resume { .. }, Some(ReviewTimer::Paused { since, remaining })) => {
                // The London days and hours left at the pause are left again at the resume.
                let deadline = continue_remaining(since, remaining, now);
                let (at_pause, at_resume) =
                    (paused_remaining(since, remaining), paused_remaining(now, deadline.duration_since(now)));
                if at_pause != at_resume {
                    return Err(format!("CA-6: paused with {at_pause} left, resumed with {at_resume}"));
                }
                ReviewTimer::Running { deadline }
            }
            (Step::Reset { .. }, Some(_)) => {
                ReviewTimer::Running { deadline: add_days(now, self.rules.auto_accept_days) }
            }
            _ => return Err(format!("CA-6: {step:?} was accepted on a timer that was {before:?}")),
        };
        if after.review_timer != Some(expected) {
            return Err(format!("CA-6: {step:?} turned {before:?} into {:?}, not {expected:?}", after.review_timer));
        }
        Ok(())
    }

    /// CA-5 and the overlap rules of docs/LIFECYCLE.md §5: after an uplift the organisation's one draft is on the
    /// new terms; an auto-accepted one has a fresh 30 days (still paused if it was), a new contract keeps its deadline.
    fn check_uplift(&self, org: usize, version: u32, pending: Option<Agreement>) -> Result<(), String> {
        let Some(draft) = self.chain(org)?.draft else {
            return Err("CA-5: an uplift left no draft".into());
        };
        if draft.terms_version != version || pending.as_ref().is_some_and(|p| p.id != draft.id) {
            return Err(format!(
                "CA-10: the uplift to {version} left draft {} on {}",
                draft.number, draft.terms_version
            ));
        }
        let fresh = add_days(self.now, self.rules.auto_accept_days);
        let kept = match (draft.signature_type, draft.review_timer) {
            (SignatureType::AutoAccepted, Some(ReviewTimer::Running { deadline })) => {
                deadline == fresh && pending.is_none_or(|p| !matches!(p.review_timer, Some(ReviewTimer::Paused { .. })))
            }
            (SignatureType::AutoAccepted, Some(ReviewTimer::Paused { remaining, .. })) => {
                remaining == fresh.duration_since(self.now)
                    && pending.is_some_and(|p| matches!(p.review_timer, Some(ReviewTimer::Paused { .. })))
            }
            (SignatureType::AcceptedViaPortal, _) => {
                pending.is_some_and(|p| p.review_deadline == draft.review_deadline)
            }
            _ => false,
        };
        if !kept {
            return Err(format!(
                "CA-10: after the uplift to {version} draft {} ({:?}) has timer {:?}",
                draft.number, draft.signature_type, draft.review_timer
            ));
        }
        Ok(())
    }

    /// The worker: claims every timer due at `now` in order of its instant, fires each at `now` (even one that an
    /// earlier firing of the batch cancelled: it was claimed already), removes it unless it was rescheduled, and
    /// claims again until nothing is due.
    fn run_due(&mut self) -> Result<(), String> {
        for _ in 0..100 {
            let mut due: Vec<((AgreementId, TimerKind), Timestamp)> =
                self.pending.iter().filter(|(_, at)| **at <= self.now).map(|(k, at)| (*k, *at)).collect();
            if due.is_empty() {
                return Ok(());
            }
            due.sort_by_key(|(key, at)| (*at, *key));
            for ((agreement, timer), at) in due {
                let Some(stored) = self.agreements.get(&agreement) else {
                    return Err(format!("a {} timer is pending for unknown agreement {agreement}", timer.as_str()));
                };
                let org = self.org_index(stored.organisation_id)?;
                let number = stored.number;
                let scheduled_end = stored.scheduled_end_date;
                let review_deadline = match stored.review_timer {
                    Some(onramp_domain::agreement::ReviewTimer::Running { deadline }) => Some(deadline),
                    _ => None,
                };
                let acceptance_deadline = stored.review_deadline;
                let chain = self.chain(org)?;
                let previous_active = chain.active.as_ref().map(|a| a.id).filter(|id| *id != agreement);
                let pending_draft = chain.draft.as_ref().map(|d| d.id).filter(|id| *id != agreement);
                let command = Command::TimerFired { agreement, timer };
                let decision = decide(&chain, command.clone(), self.now, &self.rules)
                    .map_err(|e| format!("the {} timer of {number} was refused: {e}", timer.as_str()))?;
                let acted = decision.no_op.is_none() && !decision.changes.is_empty();
                let termination_of = self.organisations[org].id;
                self.write(org, command.action(), &decision)?;
                if self.pending.get(&(agreement, timer)) == Some(&at) {
                    self.pending.remove(&(agreement, timer));
                }
                self.saw(format!("{} {}", command.action(), if acted { "acted" } else { "did nothing" }));
                if acted {
                    let count = self.acted.entry((agreement, timer)).or_default();
                    *count += 1;
                    // Check 3: each deciding timer acts at most once per agreement.
                    if DECIDING_TIMERS.contains(&timer) && *count > 1 {
                        return Err(format!("CA-10: the {} timer of {number} acted {count} times", timer.as_str()));
                    }
                    let ended =
                        Ended { previous_active, pending_draft, scheduled_end, review_deadline, acceptance_deadline };
                    self.check_timer_acted(org, agreement, timer, ended)?;
                    if timer == TimerKind::Termination {
                        self.terminations.remove(&termination_of);
                    }
                }
            }
        }
        Err("timers kept coming due at the same instant".into())
    }

    /// What a deciding timer that acted must have done (CA-4, CA-7, CA-8). A timer's dates are those of the
    /// period that ended, however late the worker ran.
    fn check_timer_acted(&self, org: usize, id: AgreementId, timer: TimerKind, ended: Ended) -> Result<(), String> {
        let Ended { previous_active, pending_draft, scheduled_end, review_deadline, acceptance_deadline } = ended;
        let today = date_of(review_deadline.unwrap_or(self.now));
        let after = &self.agreements[&id];
        let chain = self.chain(org)?;
        let logged = |agreement: AgreementId| self.last_entry(agreement).map(|e| (e.event, e.timer, e.at));
        match timer {
            TimerKind::ReviewDeadline => {
                // CA-4: cancelled, and logged at the deadline however late the worker ran.
                let expected = acceptance_deadline.map(|d| (LedgerEvent::Fired, TimerKind::ReviewDeadline, d));
                if after.state != AgreementState::Cancelled || logged(id) != expected {
                    return Err(format!(
                        "CA-4: the review deadline {acceptance_deadline:?} of {} left it {}, logged {:?}",
                        after.number,
                        after.state.label(),
                        logged(id)
                    ));
                }
                Ok(())
            }
            TimerKind::AutoAccept => {
                if logged(id) != review_deadline.map(|d| (LedgerEvent::Fired, TimerKind::AutoAccept, d)) {
                    return Err(format!(
                        "CA-7: auto-accepting {} at {review_deadline:?} logged {:?}",
                        after.number,
                        logged(id)
                    ));
                }
                let recorded = (after.state, after.accepted_by.as_deref(), after.accepted_on, after.start_date);
                if recorded != (AgreementState::Active, Some(AUTO_ACCEPTED_BY), Some(today), Some(today)) {
                    return Err(format!("CA-7: auto-accepted {} records {recorded:?}", after.number));
                }
                match previous_active.map(|p| &self.agreements[&p]) {
                    Some(previous) if (previous.state, previous.end_date) != (AgreementState::Expired, Some(today)) => {
                        Err(format!(
                            "CA-7: superseded {} is {} ending {:?}",
                            previous.number,
                            previous.state.label(),
                            previous.end_date
                        ))
                    }
                    _ => Ok(()),
                }
            }
            // CA-8: the Active agreement expires with the agreed end date and the pending draft is cancelled, both
            // logged when the end date began, however late the worker ran.
            TimerKind::Termination
                if scheduled_end.is_none_or(|end| {
                    logged(id) != Some((LedgerEvent::Fired, TimerKind::Termination, start_of(end)))
                        || pending_draft.is_some_and(|draft| {
                            logged(draft).map(|(event, _, at)| (event, at))
                                != Some((LedgerEvent::Stopped, start_of(end)))
                        })
                }) =>
            {
                Err(format!(
                    "CA-8: the termination of {} on {scheduled_end:?} logged {:?}, its draft {:?}",
                    after.number,
                    logged(id),
                    pending_draft.map(logged)
                ))
            }
            TimerKind::Termination
                if (after.state, after.end_date) != (AgreementState::Expired, scheduled_end)
                    || chain.active.is_some()
                    || chain.draft.is_some() =>
            {
                Err(format!(
                    "CA-8: after the termination of {} ({} ending {:?}, agreed {scheduled_end:?}) the org still has {:?} / {:?}",
                    after.number,
                    after.state.label(),
                    after.end_date,
                    chain.active.map(|a| a.number.to_string()),
                    chain.draft.map(|a| a.number.to_string())
                ))
            }
            _ => Ok(()),
        }
    }

    /// Whether the organisation's Active agreement has an agreed end date (CA-8).
    fn offboarding(&self, organisation: OrganisationId) -> bool {
        self.agreements.values().any(|a| {
            a.organisation_id == organisation && a.state == AgreementState::Active && a.scheduled_end_date.is_some()
        })
    }

    /// Check 3 (and CA-4, CA-7, CA-8), after the timers due at `now` have fired: every deadline that passed acted.
    fn check_deadlines_acted(&self) -> Result<(), String> {
        let today = date_of(self.now);
        for a in self.agreements.values() {
            match (a.state, a.signature_type) {
                (AgreementState::Draft, SignatureType::AcceptedViaPortal)
                    if a.review_deadline.is_some_and(|d| d <= self.now) =>
                {
                    return Err(format!(
                        "CA-4: {} is still Draft after its deadline {:?}",
                        a.number, a.review_deadline
                    ));
                }
                (AgreementState::Draft, SignatureType::AutoAccepted) => {
                    // CA-10 overlap rule (docs/LIFECYCLE.md §5): while the organisation is being offboarded the
                    // draft does not activate; the termination cancels it on the end date.
                    if let Some(ReviewTimer::Running { deadline }) = a.review_timer
                        && deadline <= self.now
                        && a.substate == Some(Substate::UnderReview)
                        && !self.offboarding(a.organisation_id)
                    {
                        return Err(format!("CA-7: {} is still Draft after its auto-accept at {deadline}", a.number));
                    }
                }
                (AgreementState::Active, _) => {
                    if let Some(end_date) = a.scheduled_end_date.filter(|d| *d <= today) {
                        return Err(format!("CA-8: {} is still Active after its end date {end_date}", a.number));
                    }
                }
                _ => {}
            }
        }
        // CA-8: an agreed end date is never lost, not even when another agreement activates before it (which
        // would carry the organisation past its end date with no termination pending).
        for (organisation, end_date) in &self.terminations {
            if *end_date <= today {
                let org = self.org_index(*organisation)?;
                let active = self.chain(org)?.active.map(|a| format!("{} ({:?})", a.number, a.signature_type));
                return Err(format!(
                    "CA-8: the termination of {} on {end_date} never acted (today {today}); Active now: {active:?}",
                    self.organisations[org].name
                ));
            }
        }
        Ok(())
    }

    /// The invariants that hold after every step.
    fn check(&mut self) -> Result<(), String> {
        // Check 1: at most one Active and one Draft per organisation (`chain` refuses more).
        for org in 0..ORGANISATIONS {
            self.chain(org)?;
        }

        // Check 2: an Active agreement's content never changes while it stays Active.
        for a in self.agreements.values() {
            if a.state == AgreementState::Active {
                let content = a.content();
                match self.active_content.get(&a.id) {
                    Some(remembered) if *remembered != content => {
                        return Err(format!(
                            "CA-10: Active {} content changed: {remembered:?} -> {content:?}",
                            a.number
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.active_content.insert(a.id, content);
                    }
                }
            }
        }
        let agreements = &self.agreements;
        self.active_content.retain(|id, _| agreements.get(id).is_some_and(|a| a.state == AgreementState::Active));

        // Check 3: timers only pend for live agreements, and every live deadline has its timer.
        for ((id, timer), at) in &self.pending {
            let Some(a) = self.agreements.get(id) else {
                return Err(format!("a {} timer is pending for unknown agreement {id}", timer.as_str()));
            };
            match a.state {
                AgreementState::Draft => {}
                AgreementState::Active if *timer == TimerKind::Termination => {}
                _ => {
                    return Err(format!(
                        "CA-10: a {} timer (at {at}) is pending for {} {}",
                        timer.as_str(),
                        a.state.label(),
                        a.number
                    ));
                }
            }
        }
        for a in self.agreements.values() {
            let pending = |timer: TimerKind| self.pending.get(&(a.id, timer)).copied();
            match (a.state, a.signature_type) {
                (AgreementState::Draft, SignatureType::AcceptedViaPortal)
                    if a.review_deadline.is_none() || pending(TimerKind::ReviewDeadline) != a.review_deadline =>
                {
                    return Err(format!(
                        "CA-4: Draft {} has deadline {:?} but its timer is at {:?}",
                        a.number,
                        a.review_deadline,
                        pending(TimerKind::ReviewDeadline)
                    ));
                }
                (AgreementState::Draft, SignatureType::AutoAccepted) => match a.review_timer {
                    Some(ReviewTimer::Running { deadline }) => {
                        // The auto-accept timer that came due while the organisation was being offboarded did
                        // nothing and is gone; the draft waits for the termination to cancel it.
                        let waits_for_termination = deadline <= self.now && self.offboarding(a.organisation_id);
                        let timer_ok = pending(TimerKind::AutoAccept) == Some(deadline)
                            || (waits_for_termination && pending(TimerKind::AutoAccept).is_none());
                        if a.review_deadline != Some(deadline) || !timer_ok {
                            return Err(format!(
                                "CA-7: Draft {} runs to {deadline}, review deadline {:?}, timer at {:?}",
                                a.number,
                                a.review_deadline,
                                pending(TimerKind::AutoAccept)
                            ));
                        }
                    }
                    Some(ReviewTimer::Paused { .. }) => {
                        if a.review_deadline.is_some() || pending(TimerKind::AutoAccept).is_some() {
                            return Err(format!(
                                "CA-6: paused {} has review deadline {:?} and timer {:?}",
                                a.number,
                                a.review_deadline,
                                pending(TimerKind::AutoAccept)
                            ));
                        }
                    }
                    None => return Err(format!("CA-7: Draft {} is auto-accepted but has no review timer", a.number)),
                },
                (AgreementState::Active, _)
                    if a.scheduled_end_date.is_some() && pending(TimerKind::Termination).is_none() =>
                {
                    return Err(format!("CA-8: {} ends on {:?} but has no timer", a.number, a.scheduled_end_date));
                }
                _ => {}
            }
        }

        // Check 6: what a page offers is exactly what the machine accepts.
        for org in 0..ORGANISATIONS {
            let chain = self.chain(org)?;
            for agreement in chain.active.iter().chain(chain.draft.iter()) {
                for user in people(org) {
                    let offered = allowed(&chain, agreement.id, &user, self.now, &self.rules);
                    for action in Action::ALL {
                        let accepted = real_command(self, org, agreement, action, &user)
                            .is_some_and(|command| decide(&chain, command, self.now, &self.rules).is_ok());
                        if offered.contains(&action) != accepted {
                            return Err(format!(
                                "allowed() {} {action:?} on {} ({}) for {} but decide {} it",
                                if offered.contains(&action) { "offers" } else { "hides" },
                                agreement.number,
                                agreement.state.label(),
                                user.full_name,
                                if accepted { "accepts" } else { "refuses" },
                            ));
                        }
                        if offered.contains(&action) {
                            self.saw(format!("allowed offered {action:?}"));
                        }
                    }
                }
            }
        }

        // Check 4: chain links (CA-9).
        let by_number: BTreeMap<AgreementNumber, &Agreement> =
            self.agreements.values().map(|a| (a.number, a)).collect();
        for a in self.agreements.values() {
            if let Some(superseded) = a.superseded {
                let Some(previous) = by_number.get(&superseded) else {
                    return Err(format!("CA-9: {} supersedes {superseded}, which does not exist", a.number));
                };
                if previous.organisation_id != a.organisation_id || previous.number >= a.number {
                    return Err(format!("CA-9: {} supersedes {superseded} of another org or a later one", a.number));
                }
            }
            match a.signature_type {
                SignatureType::AcceptedViaPortal | SignatureType::SignedOnPaper => {
                    if a.original_version.is_some() {
                        return Err(format!(
                            "CA-9: {:?} {} has original version {:?}",
                            a.signature_type,
                            a.number,
                            a.original_version.map(|n| n.to_string())
                        ));
                    }
                }
                SignatureType::AutoAccepted => {
                    let mut expected = None;
                    let mut link = a.superseded;
                    while let Some(number) = link {
                        let previous = by_number[&number];
                        if previous.signature_type == SignatureType::AcceptedViaPortal {
                            expected = Some(number);
                            break;
                        }
                        link = previous.superseded;
                    }
                    if a.original_version != expected {
                        return Err(format!(
                            "CA-9: auto-accepted {} has original version {:?}, the chain says {:?}",
                            a.number,
                            a.original_version.map(|n| n.to_string()),
                            expected.map(|n| n.to_string())
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Runs a scenario, checking the invariants after every step.
fn run(scenario: &Scenario) -> Result<World, String> {
    let start = start().checked_add(SignedDuration::from_mins(scenario.start_offset_minutes)).unwrap();
    let mut world = World::new(start);
    for (org, paper) in scenario.papers.iter().enumerate() {
        if let Some(paper) = paper {
            world.import_paper(org, paper)?;
        }
    }
    world.check()?;
    for (index, step) in scenario.steps.iter().enumerate() {
        let result = world.step(step).and_then(|()| world.check());
        result.map_err(|error| format!("after step {index} ({step:?}), now {}: {error}", world.now))?;
    }
    Ok(world)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// CA-9, CA-10 and the timer rules hold for any sequence of commands and clock jumps.
    #[test]
    fn agreement_invariants_hold_for_any_sequence(scenario in scenario()) {
        run(&scenario).map_err(TestCaseError::fail)?;
    }
}

/// The generator is worth something only if it reaches the interesting transitions: this runs a fixed sample
/// of scenarios and requires each of them to happen at least once.
#[test]
fn the_scenarios_reach_every_transition() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = scenario();
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    // One written-out scenario for a transition the random sample reaches too rarely: an auto-accept that comes
    // due while its organisation is being offboarded does nothing (CA-10).
    let offboarding = Scenario {
        start_offset_minutes: 0,
        papers: vec![None; ORGANISATIONS],
        steps: vec![
            Step::Create { org: 0, products: products_of_the_catalogue()[..1].to_vec(), legacy: false },
            Step::Issue { org: 0, target: Target::Draft },
            Step::Accept { org: 0, target: Target::Draft, who: Who::OnboardingContact, stale: false },
            Step::Publish { bump: 1, orgs: 0b001 },
            Step::Terminate { org: 0, days_ahead: 35 },
            Step::Jump { by: SignedDuration::from_hours(24 * 31), worker: true },
        ],
    };
    let sampled = (0..256).map(|_| strategy.new_tree(&mut runner).unwrap().current());
    for scenario in sampled.chain([offboarding]) {
        let world = run(&scenario).unwrap();
        for (what, count) in world.seen {
            *seen.entry(what).or_default() += count;
        }
    }
    let required = [
        "create done",
        "create changed a pending draft",
        "issue done",
        "accept done",
        "accept refused: DeadlinePassed",
        "accept refused: NotAnOnboardingContact",
        "accept refused: TermsChanged",
        "allowed offered Accept",
        "allowed offered RaiseQuery",
        "allowed offered Issue",
        "allowed offered Pause",
        "allowed offered Resume",
        "allowed offered Reset",
        "allowed offered Terminate",
        "raise_query done",
        "pause done",
        "resume done",
        "reset done",
        "uplift done",
        "uplift changed a pending draft",
        "terminate done",
        "terminate ended it at once",
        "review_deadline_fired acted",
        "auto_accept_fired acted",
        "auto_accept_fired did nothing",
        "termination_fired acted",
        "reminder_fired acted",
        "reminder_fired did nothing",
    ];
    let missing: Vec<&str> = required.into_iter().filter(|what| !seen.contains_key(*what)).collect();
    assert!(missing.is_empty(), "never exercised: {missing:?}; what happened: {seen:#?}");
}

/// What a timer's agreement looked like just before the timer fired.
#[derive(Debug, Clone, Copy)]
struct Ended {
    previous_active: Option<AgreementId>,
    /// The organisation's draft, if the timer is another agreement's (a termination cancels it).
    pending_draft: Option<AgreementId>,
    scheduled_end: Option<Date>,
    /// The running review timer's deadline: an auto-acceptance takes its date from it (CA-7).
    review_deadline: Option<jiff::Timestamp>,
    /// The stored review deadline: a new contract's cancellation is logged at it (CA-4).
    acceptance_deadline: Option<jiff::Timestamp>,
}
