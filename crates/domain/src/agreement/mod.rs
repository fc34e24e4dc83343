//! The connection agreement (SPEC §4): its data, and the one state machine that decides every change to it.
//! Nothing else changes an agreement's state: services load an organisation's [`Chain`], ask
//! [`machine::decide`], and write the [`machine::Decision`] it returns.

pub mod actions;
pub mod machine;

use std::fmt;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::organisation::time_ordered_uuid;
use crate::{AgreementNumber, ApiProduct, CaseNumber, OrganisationId, OrganisationKind, UserId};

pub use actions::{Action, agreement_team_actor, allowed, legacy_uplift_permitted, permits, uplift_permitted};
pub use machine::{Command, Decision, Effect, LifecycleError, Rules, TermsText, decide};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgreementId(pub Uuid);

impl AgreementId {
    pub fn new_at(now: Timestamp) -> Self {
        Self(time_ordered_uuid(now))
    }
}

impl fmt::Display for AgreementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// CA-1 states. `Draft` carries a substate; the others are final except `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementState {
    Draft,
    Active,
    Expired,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Substate {
    /// The agreement team is preparing it; the connecting party has not been told.
    AwaitingReview,
    /// Issued: the connecting party may review it (and accept it, for `AcceptedViaPortal`).
    UnderReview,
}

/// How an agreement becomes Active. `SignedOnPaper` is Onramp's addition for imported version-5 agreements
/// (CA-12), which were signed before the portal existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureType {
    AcceptedViaPortal,
    AutoAccepted,
    SignedOnPaper,
}

/// Why an agreement exists; decides the wording of its notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// New or changed API products (CA-2).
    NewContract,
    /// The first digital contract for an organisation that held a paper version-5 agreement (CA-2, CA-12).
    LegacyUplift,
    /// A new terms version (CA-5).
    TermsChange,
    /// A paper agreement loaded by the legacy import (CA-12).
    PaperImport,
}

macro_rules! snake_case_names {
    ($ty:ty { $($variant:ident => $name:literal, $label:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order (for filters and pick lists).
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name),* }
            }
            pub fn label(self) -> &'static str {
                match self { $(Self::$variant => $label),* }
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $($name => Ok(Self::$variant),)* other => Err(format!("unknown {}: {other:?}", stringify!($ty))) }
            }
        }
    };
}

snake_case_names!(AgreementState {
    Draft => "draft", "Draft",
    Active => "active", "Active",
    Expired => "expired", "Expired",
    Cancelled => "cancelled", "Cancelled",
});
snake_case_names!(Substate { AwaitingReview => "awaiting_review", "Awaiting Review", UnderReview => "under_review", "Under Review" });
snake_case_names!(SignatureType {
    AcceptedViaPortal => "accepted_via_portal", "Accepted via Portal",
    AutoAccepted => "auto_accepted", "Auto Accepted",
    SignedOnPaper => "signed_on_paper", "Signed on Paper",
});
snake_case_names!(Origin {
    NewContract => "new_contract", "New contract",
    LegacyUplift => "legacy_uplift", "Version 6 uplift of a paper agreement",
    TermsChange => "terms_change", "Terms change",
    PaperImport => "paper_import", "Paper agreement (imported)",
});

/// The 30-day auto-accept timer of a terms-change draft (CA-6, CA-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ReviewTimer {
    Running {
        deadline: Timestamp,
    },
    /// Stopped while a query is answered; `remaining` continues on resume.
    Paused {
        since: Timestamp,
        remaining: SignedDuration,
    },
}

/// The name "accepted by" shows on an auto-accepted agreement (CA-7, PDF-1).
pub const AUTO_ACCEPTED_BY: &str = "System Administrator (Auto Accepted)";

/// One connection agreement. `version` increments on every write, so a service that loaded a stale copy
/// cannot overwrite a newer one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub number: AgreementNumber,
    pub organisation_id: OrganisationId,
    /// `<ODS code> - <account name>`.
    pub name: String,
    pub account: String,
    /// Company registration number, or the ODS code where it stands in its place (ORG-2).
    pub registration_number: String,
    pub api_products: Vec<ApiProduct>,
    pub terms_version: u32,
    pub signature_type: SignatureType,
    pub origin: Origin,
    pub state: AgreementState,
    pub substate: Option<Substate>,
    /// Day 1 of the review period.
    pub created_at: Timestamp,
    /// When acceptance stops being possible: created + 90 days for `AcceptedViaPortal`; the running 30-day
    /// deadline for `AutoAccepted` (none while paused).
    pub review_deadline: Option<Timestamp>,
    pub review_timer: Option<ReviewTimer>,
    pub accepted_on: Option<Date>,
    pub accepted_by: Option<String>,
    pub accepted_terms_sha256: Option<String>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    /// An agreed termination date not yet reached (CA-8).
    pub scheduled_end_date: Option<Date>,
    pub original_version: Option<AgreementNumber>,
    pub superseded: Option<AgreementNumber>,
    pub case_number: Option<CaseNumber>,
    /// Who was told when it was issued: onboarding contacts by name, mailboxes by address (PDF-1).
    pub contacts_notified: Vec<String>,
    /// Days-before values of reminders already sent for the current review period (CA-11).
    pub reminders_sent: Vec<u32>,
    /// Why it was cancelled or expired, in words for the agreement page.
    pub closing_reason: Option<String>,
    pub version: i64,
}

impl Agreement {
    pub fn is_pending(&self) -> bool {
        self.state == AgreementState::Draft
    }

    /// The fields that make up an agreement's content: what CA-10 says never changes once Active.
    pub fn content(&self) -> AgreementContent {
        AgreementContent {
            number: self.number,
            api_products: self.api_products.clone(),
            terms_version: self.terms_version,
            signature_type: self.signature_type,
            accepted_on: self.accepted_on,
            accepted_by: self.accepted_by.clone(),
            accepted_terms_sha256: self.accepted_terms_sha256.clone(),
            start_date: self.start_date,
            original_version: self.original_version,
            superseded: self.superseded,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementContent {
    pub number: AgreementNumber,
    pub api_products: Vec<ApiProduct>,
    pub terms_version: u32,
    pub signature_type: SignatureType,
    pub accepted_on: Option<Date>,
    pub accepted_by: Option<String>,
    pub accepted_terms_sha256: Option<String>,
    pub start_date: Option<Date>,
    pub original_version: Option<AgreementNumber>,
    pub superseded: Option<AgreementNumber>,
}

/// What the state machine needs of an organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationSnapshot {
    pub id: OrganisationId,
    pub name: String,
    pub ods_code: String,
    pub registration_number: String,
    pub kind: OrganisationKind,
}

/// An organisation's live agreements: at most one Active and one Draft (CA-10). Only these can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    pub organisation: OrganisationSnapshot,
    pub active: Option<Agreement>,
    pub draft: Option<Agreement>,
}

impl Chain {
    pub fn find(&self, id: AgreementId) -> Option<&Agreement> {
        self.active.iter().chain(self.draft.iter()).find(|a| a.id == id)
    }
}

/// Who did something: a person, a timer that fired, or the system (an uplift, an import).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    User { id: UserId, name: String },
    Timer { timer: TimerKind },
    System { process: String },
}

impl Actor {
    /// How the audit log names the actor: a person by name and id (names are not unique), anything else
    /// as it displays.
    pub fn audit_label(&self) -> String {
        match self {
            Self::User { id, name } => format!("{name} <{id}>"),
            other => other.to_string(),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { name, .. } => f.write_str(name),
            Self::Timer { timer } => write!(f, "timer: {}", timer.as_str()),
            Self::System { process } => write!(f, "system: {process}"),
        }
    }
}

/// The durable timers an agreement can have (CA-4, CA-7, CA-8, CA-11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum TimerKind {
    /// Created + 90 days: an unaccepted new contract is cancelled.
    ReviewDeadline,
    /// End of the 30-day review: a terms-change draft becomes Active.
    AutoAccept,
    /// The agreed end date: the Active agreement expires.
    Termination,
    /// A reminder this many days before the review deadline.
    Reminder { days_before: u32 },
}

impl TimerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReviewDeadline => "review_deadline",
            Self::AutoAccept => "auto_accept",
            Self::Termination => "termination",
            Self::Reminder { .. } => "reminder",
        }
    }

    /// The stored form: kind plus its parameter.
    pub fn encode(self) -> (String, i64) {
        match self {
            Self::Reminder { days_before } => (self.as_str().to_owned(), i64::from(days_before)),
            _ => (self.as_str().to_owned(), 0),
        }
    }

    pub fn decode(kind: &str, parameter: i64) -> Option<Self> {
        Some(match kind {
            "review_deadline" => Self::ReviewDeadline,
            "auto_accept" => Self::AutoAccept,
            "termination" => Self::Termination,
            "reminder" => Self::Reminder { days_before: u32::try_from(parameter).ok()? },
            _ => return None,
        })
    }
}

/// An event in an agreement's timer ledger (CA-6): every start, pause, resume, reset and firing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerEvent {
    Started,
    Paused,
    Resumed,
    Reset,
    Fired,
    Stopped,
}

impl LedgerEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
            Self::Reset => "reset",
            Self::Fired => "fired",
            Self::Stopped => "stopped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub event: LedgerEvent,
    pub timer: TimerKind,
    pub at: Timestamp,
    pub actor: Actor,
    /// Time left on the timer after this event: zero when it fired; what was left when it stopped (acceptance,
    /// replacement, termination), so the ledger shows how much of the period remained.
    pub remaining: SignedDuration,
    pub deadline: Option<Timestamp>,
}

/// Why the state machine asks for a notification (NOT-1); `notification::Notification` is the message sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationKind {
    Issued { origin: Origin },
    Reminder { days_before: u32, deadline: Timestamp },
    Cancelled,
    Activated,
    TerminationScheduled { end_date: Date },
    Terminated,
    QueryRaised,
}

/// Someone on the connecting party's side, as the machine needs them for acceptance and queries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub user: UserId,
    pub name: String,
    pub organisation: Option<OrganisationId>,
    pub onboarding_contact: bool,
}

/// The portal's one date format and one time format (London time), kept here too for the callers that name
/// them from the agreement module.
pub use crate::calendar::{long_date, long_time};

impl Agreement {
    /// The next instant a timer will act on this agreement, if one is running: the review deadline of a
    /// draft (auto-accept or cancellation) or the start of an agreed end date. A paused timer has none.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        match self.state {
            AgreementState::Draft if self.substate == Some(Substate::UnderReview) => match self.review_timer {
                Some(ReviewTimer::Paused { .. }) => None,
                Some(ReviewTimer::Running { deadline }) => Some(deadline),
                None => self.review_deadline,
            },
            AgreementState::Active => self.scheduled_end_date.map(crate::calendar::start_of),
            _ => None,
        }
    }

    /// Whole days (rounded up) until [`Self::next_deadline`]: the "days left" of the staff list (CA-13).
    pub fn days_left(&self, now: Timestamp) -> Option<i64> {
        self.next_deadline().map(|deadline| whole_days_until(now, deadline))
    }

    /// CA-14: what happens next to this agreement and when, in a sentence for its page.
    pub fn what_happens_next(&self, now: Timestamp) -> String {
        let days_left = |deadline: Timestamp| {
            let days = whole_days_until(now, deadline);
            if days == 1 { "1 day left".to_owned() } else { format!("{days} days left") }
        };
        let on = |instant: Timestamp| long_date(crate::calendar::date_of(instant));
        match (self.state, self.substate, self.signature_type, self.review_timer) {
            (AgreementState::Draft, Some(Substate::AwaitingReview), _, _) => {
                "The agreement team is preparing this agreement. Its contacts will be told when it is issued.".into()
            }
            (AgreementState::Draft, _, SignatureType::AutoAccepted, Some(ReviewTimer::Paused { since, remaining })) => {
                format!(
                    "Paused since {} by the agreement team: it will not auto-accept while paused. When they resume it, {} of review remain before it auto-accepts.",
                    long_time(since),
                    paused_remaining(since, remaining)
                )
            }
            (AgreementState::Draft, _, SignatureType::AutoAccepted, Some(ReviewTimer::Running { deadline })) => {
                format!(
                    "Auto-accepts on {}, {}. Raise a query before then if you have questions.",
                    on(deadline),
                    days_left(deadline)
                )
            }
            (AgreementState::Draft, _, _, _) => match self.review_deadline {
                Some(deadline) if deadline > now => format!(
                    "An onboarding contact must accept it by {}, {}. If it is not accepted by then it will be cancelled.",
                    on(deadline),
                    days_left(deadline)
                ),
                _ => "The review period has ended; it will be cancelled.".into(),
            },
            (AgreementState::Active, ..) => match self.scheduled_end_date {
                Some(end) => format!("Active. It ends on {} (termination agreed).", long_date(end)),
                None => {
                    "Active. Nothing is due: a new agreement will be issued if the terms or your API products change."
                        .into()
                }
            },
            (AgreementState::Expired, ..) => format!(
                "Expired{}.{}",
                self.end_date.map(|d| format!(" on {}", long_date(d))).unwrap_or_default(),
                self.closing_reason.as_ref().map(|r| format!(" {r}.")).unwrap_or_default()
            ),
            (AgreementState::Cancelled, ..) => {
                format!("Cancelled.{}", self.closing_reason.as_ref().map(|r| format!(" {r}.")).unwrap_or_default())
            }
        }
    }
}

/// London days from `now` to `deadline`, a part-day counting as a whole one; never negative (the rule of
/// docs/LIFECYCLE.md §3, "Remaining time").
fn whole_days_until(now: Timestamp, deadline: Timestamp) -> i64 {
    crate::calendar::whole_days_until(now, deadline)
}

/// The time a paused timer keeps, in words, counted as the ledger counts it: "29 days 23 hours".
pub fn paused_remaining(since: Timestamp, remaining: SignedDuration) -> String {
    let end = since.saturating_add(remaining).unwrap_or(since);
    crate::calendar::remaining_text(since, end)
}

/// A ledger entry's remaining time in words: London days and hours from the entry to the deadline it had
/// (its `at` plus its `remaining`), the same count as [`paused_remaining`] and the page's "days left".
pub fn ledger_remaining(entry: &LedgerEntry) -> String {
    paused_remaining(entry.at, entry.remaining)
}
