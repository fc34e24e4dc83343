//! One transaction on one organisation's data, split by area like the repository: [`UnitOfWork`] is all of
//! the `*Work` traits plus the organisation it locked and the commit.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry};
use onramp_domain::application::{Application, ApplicationId};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::team::{Invitation, InvitationId, InvitationState};
use onramp_domain::{CaseNumber, EmailAddress, NewUser, Organisation, StaffRole, TeamRole, User, UserId};

use crate::StoreError;
use crate::types::{AuditEntry, ClaimedJob, LiveAgreements, NewJob, NewNotification, Sequence};

/// One transaction on one organisation's data. Opening it locks the organisation (PostgreSQL: its row
/// `FOR UPDATE`; SQLite: the single writer lock), so a decision is made on a chain nobody else is changing.
/// Nothing is written until [`UnitOfWork::commit`]; dropping it rolls everything back.
#[async_trait]
pub trait UnitOfWork:
    TeamWork + AgreementWork + CaseWork + ApplicationWork + JobWork + OutboxWork + AuditWork + Send
{
    fn organisation(&self) -> &Organisation;
    /// Moves the unit of work to the organisation with this ODS code (registering it when new), locked as
    /// `begin` locks: the same transaction then covers several organisations (a bulk load, all or nothing).
    async fn switch_to(
        &mut self,
        organisation: &onramp_domain::NewOrganisation,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Changes the kind of the locked organisation (ORG-3); [`UnitOfWork::organisation`] returns it changed.
    async fn set_organisation_kind(&mut self, kind: onramp_domain::OrganisationKind) -> Result<(), StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// Team management (SPEC §1); see `onramp_domain::team` for the rules the services apply.
#[async_trait]
pub trait TeamWork: Send {
    /// The organisation's members, by name (without their staff roles: members have none).
    async fn members(&mut self) -> Result<Vec<User>, StoreError>;
    /// Stores a new user (with their staff roles, if any); `Conflict` when the e-mail address is taken.
    async fn create_user(&mut self, user: &NewUser, now: Timestamp) -> Result<UserId, StoreError>;
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

/// The organisation's agreements, their numbers, accepted terms and timer ledger.
#[async_trait]
pub trait AgreementWork: Send {
    /// The organisation's Active and Draft agreements.
    async fn live_agreements(&mut self) -> Result<LiveAgreements, StoreError>;
    async fn next_number(&mut self, sequence: Sequence) -> Result<i64, StoreError>;
    /// Inserts (version 1) or updates the agreement; `StaleVersion` if the stored version is not
    /// `version - 1`.
    async fn save_agreement(&mut self, agreement: &Agreement) -> Result<(), StoreError>;
    async fn save_accepted_terms(
        &mut self,
        agreement: AgreementId,
        terms_version: u32,
        sha256: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    async fn append_ledger(&mut self, agreement: AgreementId, entry: &LedgerEntry) -> Result<(), StoreError>;
}

/// The organisation's applications (DOS-3), read and written under its lock.
#[async_trait]
pub trait ApplicationWork: Send {
    /// One of this organisation's applications.
    async fn application(&mut self, id: ApplicationId) -> Result<Option<Application>, StoreError>;
    /// Inserts or replaces the application, and its sections in the reviewers' queue.
    async fn save_application(&mut self, application: &Application, now: Timestamp) -> Result<(), StoreError>;
    /// Records an evidence file of one of this organisation's applications (see
    /// [`crate::EvidenceFiles::record_evidence`]), in this transaction with the answer that lists it.
    async fn record_evidence(&mut self, file: &crate::EvidenceFile) -> Result<(), StoreError>;
    /// Forgets one of this organisation's evidence files; `false` when it had none by that id.
    async fn remove_evidence(&mut self, id: uuid::Uuid) -> Result<bool, StoreError>;
    /// Records that this organisation's `agreement` was created from its `application` (DOS-6), resting on
    /// answers with this SHA-256. The agreement must be written first, in this unit of work.
    async fn record_agreement_source(
        &mut self,
        agreement: onramp_domain::agreement::AgreementId,
        application: ApplicationId,
        answers_sha256: &str,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

/// The organisation's cases.
#[async_trait]
pub trait CaseWork: Send {
    /// Opens case `number` (allocated from `Sequence::Case` in this unit of work) on the agreement; `Conflict`
    /// if the number is taken.
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
}

/// Durable jobs written in the transaction of the change that needs them.
#[async_trait]
pub trait JobWork: Send {
    /// Adds a job. When its dedup key names a job already there, that job is replaced instead: new payload
    /// and due time, no attempts, no lease, no error, not failed.
    async fn enqueue(&mut self, job: &NewJob, now: Timestamp) -> Result<(), StoreError>;
    /// Removes the jobs with these dedup keys, failed ones too.
    async fn cancel_jobs(&mut self, dedup_keys: &[String]) -> Result<(), StoreError>;
    /// Removes a claimed job, unless it was rescheduled meanwhile (its due time changed).
    async fn complete_job(&mut self, job: &ClaimedJob) -> Result<(), StoreError>;
}

/// The notification outbox (NOT-2).
#[async_trait]
pub trait OutboxWork: Send {
    /// Writes a notification, filed under this organisation and the agreement it is about.
    async fn enqueue_notification(&mut self, notification: &NewNotification, at: Timestamp) -> Result<(), StoreError>;
}

/// One transaction on the provider's own records: staff accounts and their roles, password resets and terms
/// publications, each written with its entry on the provider's audit chain (`audit::PROVIDER_CHAIN`, AUD-1).
/// Opening it takes the provider chain's lock (PostgreSQL: a transaction-scoped advisory lock, so several
/// instances queue; SQLite: the single writer lock), so two appends never race for the chain's next entry.
/// Nothing is written until [`ProviderWork::commit`]; dropping it rolls everything back.
#[async_trait]
pub trait ProviderWork: AuditWork + Send {
    /// Stores a new user with their staff roles; `Conflict` when the e-mail address is taken.
    async fn create_user(&mut self, user: &NewUser, now: Timestamp) -> Result<UserId, StoreError>;
    /// Replaces a user's staff roles; `NotFound` when there is no such user.
    async fn set_staff_roles(&mut self, user: UserId, roles: &[StaffRole]) -> Result<(), StoreError>;
    /// Uses a password reset: sets the new password hash, ends every session of that user and clears the
    /// sign-in failures. Returns the user and their full name (for the audit entry); `None` when the reset is
    /// unknown, used or expired.
    async fn finish_password_reset(
        &mut self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(UserId, String)>, StoreError>;
    /// Records that `version` is being published; false (and nothing changed) when it was recorded before.
    async fn record_publication(&mut self, version: u32, by: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Marks the publication of `version` finished; false when it was finished before.
    async fn finish_publication(&mut self, version: u32, at: Timestamp) -> Result<bool, StoreError>;
    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

/// The organisation's audit chain (AUD-1, AUD-2).
#[async_trait]
pub trait AuditWork: Send {
    /// Appends an entry to this unit of work's chain (the organisation's, or the provider's), after its last
    /// entry.
    async fn append_audit(&mut self, entry: &AuditEntry, at: Timestamp) -> Result<(), StoreError>;
}
