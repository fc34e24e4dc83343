//! Storage for the agreement lifecycle: the unit of work a service runs one decision in, and the rows the
//! job worker and the notifications worker read.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry, TimerKind};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::team::{Invitation, InvitationId, InvitationState};
use onramp_domain::{CaseNumber, EmailAddress, Organisation, OrganisationId, TeamRole, User, UserId};
use uuid::Uuid;

use crate::StoreError;

/// A gapless sequence (CA numbers, case numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    Agreement,
    Case,
}

impl Sequence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agreement => "agreement",
            Self::Case => "case",
        }
    }
}

/// A durable timer that has come due and was claimed by a worker until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: Uuid,
    pub agreement_id: AgreementId,
    pub organisation_id: OrganisationId,
    pub timer: TimerKind,
    pub run_at: Timestamp,
    pub attempts: i64,
}

/// A pending timer as listed for an agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTimer {
    pub timer: TimerKind,
    pub run_at: Timestamp,
}

/// A notification to deliver (NOT-2), with its recipients resolved when it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub kind: String,
    pub agreement_id: Option<AgreementId>,
    pub recipients: Vec<String>,
    /// JSON with everything the mail needs.
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub kind: String,
    pub agreement_id: Option<AgreementId>,
    pub organisation_id: OrganisationId,
    pub recipients: Vec<String>,
    pub payload: String,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// An audit entry to append; the store assigns its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One transaction on one organisation's data. Opening it locks the organisation (PostgreSQL: its row
/// `FOR UPDATE`; SQLite: the single writer lock), so a decision is made on a chain nobody else is changing.
/// Nothing is written until [`UnitOfWork::commit`]; dropping it rolls everything back.
#[async_trait]
pub trait UnitOfWork: Send {
    fn organisation(&self) -> &Organisation;
    async fn members(&mut self) -> Result<Vec<User>, StoreError>;
    /// The organisation's Active and Draft agreements.
    async fn live_agreements(&mut self) -> Result<(Option<Agreement>, Option<Agreement>), StoreError>;
    async fn next_number(&mut self, sequence: Sequence) -> Result<i64, StoreError>;
    /// Inserts (version 1) or updates the agreement; `Conflict` if the stored version is not `version - 1`.
    async fn save_agreement(&mut self, agreement: &Agreement) -> Result<(), StoreError>;
    async fn save_accepted_terms(
        &mut self,
        agreement: AgreementId,
        terms_version: u32,
        sha256: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Sets (or moves) the agreement's timer of this kind.
    async fn schedule(&mut self, agreement: AgreementId, timer: TimerKind, at: Timestamp) -> Result<(), StoreError>;
    async fn cancel_timers(&mut self, agreement: AgreementId, timers: &[TimerKind]) -> Result<(), StoreError>;
    /// Removes a claimed job, unless it was rescheduled meanwhile.
    async fn complete_job(&mut self, job: &Job) -> Result<(), StoreError>;
    async fn append_ledger(&mut self, agreement: AgreementId, entry: &LedgerEntry) -> Result<(), StoreError>;
    /// Opens case `number` (allocated from [`Sequence::Case`] in this unit of work) on the agreement.
    async fn open_case(
        &mut self,
        number: CaseNumber,
        agreement: AgreementId,
        subject: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn add_case_activity(
        &mut self,
        case: CaseNumber,
        author: &str,
        visibility: Visibility,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn set_case_state(&mut self, case: CaseNumber, state: CaseState, at: Timestamp) -> Result<(), StoreError>;
    /// Adds an address to the case's watch list (CASE-1); adding it twice changes nothing.
    async fn watch_case(&mut self, case: CaseNumber, email: &str) -> Result<(), StoreError>;
    async fn case_watchers(&mut self, case: CaseNumber) -> Result<Vec<String>, StoreError>;
    async fn enqueue_notification(&mut self, notification: &NewNotification, at: Timestamp) -> Result<(), StoreError>;
    async fn append_audit(&mut self, entry: &AuditEntry, at: Timestamp) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;

    // Team management (SPEC §1); see `onramp_domain::team` for the rules the services apply.

    /// Stores a new user (with their staff roles, if any); `Conflict` when the e-mail address is taken.
    async fn create_user(&mut self, user: &onramp_domain::NewUser, now: Timestamp) -> Result<UserId, StoreError>;
    /// Puts a user who belongs to no organisation into this one, not as onboarding contact; `Conflict` when
    /// they belong to an organisation already.
    async fn add_member(&mut self, user: UserId, role: TeamRole) -> Result<(), StoreError>;
    /// Sets a member's role and whether they are an onboarding contact; `NotFound` unless they are in this
    /// organisation.
    async fn update_member(&mut self, user: UserId, role: TeamRole, contact: bool) -> Result<(), StoreError>;
    /// Takes a member out of this organisation; `NotFound` unless they are in it.
    async fn remove_member(&mut self, user: UserId) -> Result<(), StoreError>;
    /// One of this organisation's invitations, in any state.
    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, StoreError>;
    /// This organisation's pending invitation for `email`, expired or not.
    async fn pending_invitation(&mut self, email: &EmailAddress) -> Result<Option<Invitation>, StoreError>;
    /// Stores a new pending invitation; `Conflict` when this organisation has a pending one for the address.
    async fn save_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError>;
    /// Moves a pending invitation of this organisation to `state`; false when it was not pending any more.
    async fn close_invitation(
        &mut self,
        id: InvitationId,
        state: InvitationState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
}
