//! The storage interface, one trait per area (as lldap splits its backend handler). [`Repository`] is all of
//! them plus the database itself; callers hold an `Arc<dyn Repository>` and bring the area traits into scope
//! with `use onramp_store::prelude::*;`. Methods marked `test-support` exist only for tests to inspect what
//! was written.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry};
use onramp_domain::application::{Application, ApplicationId};
use onramp_domain::audit::AuditRecord;
use onramp_domain::case::Case;
use onramp_domain::catalogue::Product;
use onramp_domain::team::Invitation;
use onramp_domain::{
    AgreementNumber, CaseNumber, EmailAddress, Membership, NewOrganisation, NewUser, OdsCode, Organisation,
    OrganisationId, Provider, User, UserId,
};
use uuid::Uuid;

use crate::types::{AgreementSource, FlowSource, FlowVersionClash, QueuedSection, StoredFlowVersion};
use crate::types::{ClaimedJob, FailedJob, LoginFailures, NewNotification, PendingJob, Publication, SignedIn};
use crate::{Backend, StoreError, UnitOfWork};

/// Everything Onramp keeps, behind one interface so services never know which database they run on.
#[async_trait]
pub trait Repository:
    Organisations
    + Users
    + Sessions
    + Agreements
    + Jobs
    + Cases
    + Invitations
    + Audit
    + Outbox
    + DemoClock
    + Catalogue
    + Applications
    + crate::EvidenceFiles
    + Send
    + Sync
    + std::fmt::Debug
{
    fn backend(&self) -> Backend;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// How many connections the pool holds open and how many of them are idle.
    fn pool_stats(&self) -> crate::types::PoolStats;

    /// Closes the pool: in-flight work finishes, new calls fail as `Unavailable`. Used at shutdown.
    async fn close(&self);

    /// Applies pending migrations; safe to run from several instances at once.
    async fn migrate(&self) -> Result<(), StoreError>;

    /// Opens a transaction on one organisation, locking it against concurrent decisions.
    async fn begin(&self, organisation: OrganisationId) -> Result<Box<dyn UnitOfWork>, StoreError>;
    /// Opens a transaction on the organisation with this ODS code, registering it in the same transaction
    /// when it is new; see `UnitOfWork::switch_to` for moving on to the next one.
    async fn begin_registering(
        &self,
        organisation: &onramp_domain::NewOrganisation,
        now: jiff::Timestamp,
    ) -> Result<Box<dyn UnitOfWork>, StoreError>;
    /// Opens a transaction on the provider's own records, holding the provider audit chain's lock.
    async fn begin_provider(&self) -> Result<Box<dyn crate::ProviderWork>, StoreError>;
}

/// The provider running Onramp and the organisations registered with it (ORG-1 … ORG-4).
#[async_trait]
pub trait Organisations: Send + Sync {
    async fn save_provider(&self, provider: &Provider) -> Result<(), StoreError>;
    async fn provider(&self) -> Result<Option<Provider>, StoreError>;

    /// Stores a new organisation; `Conflict` when its ODS code is already registered.
    async fn create_organisation(
        &self,
        organisation: &NewOrganisation,
        now: Timestamp,
    ) -> Result<Organisation, StoreError>;
    /// Stores a new organisation with `owner` as its first member (team role owner), in one transaction.
    async fn create_organisation_with_owner(
        &self,
        organisation: &NewOrganisation,
        owner: UserId,
        now: Timestamp,
    ) -> Result<Organisation, StoreError>;
    async fn update_organisation(
        &self,
        id: OrganisationId,
        organisation: &NewOrganisation,
    ) -> Result<Organisation, StoreError>;
    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError>;
    async fn organisation_by_ods_code(&self, ods_code: &OdsCode) -> Result<Option<Organisation>, StoreError>;
    /// All organisations by name.
    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError>;
}

/// Accounts and their memberships.
#[async_trait]
pub trait Users: Send + Sync {
    /// Stores a new user with their staff roles; `Conflict` when the e-mail address is taken.
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User, StoreError>;
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;
    /// Puts a user in an organisation (or takes them out with `None`); `NotFound` for an unknown user or
    /// organisation.
    async fn set_membership(&self, user: UserId, membership: Option<&Membership>) -> Result<(), StoreError>;
    /// The members of an organisation, by name.
    async fn members(&self, organisation: OrganisationId) -> Result<Vec<User>, StoreError>;
}

/// Signing in (SEC-2): sessions, failed sign-ins and password resets.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Stores a session by the SHA-256 of its cookie token.
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The signed-in user and the session's CSRF token, if the session exists and has not expired at `now`.
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<SignedIn>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Counts a failed sign-in for `email` and returns the failures since the last success.
    async fn record_login_failure(&self, email: &str, now: Timestamp) -> Result<LoginFailures, StoreError>;
    /// Failed sign-ins since the last success, if any.
    async fn login_failures(&self, email: &str) -> Result<Option<LoginFailures>, StoreError>;
    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError>;

    /// Stores a password reset (only the token's SHA-256) for `user`, replacing any unused one, and writes
    /// the e-mail with the link to the outbox in the same transaction. Mail for someone in no organisation is
    /// filed under the provider (`audit::PROVIDER_CHAIN`).
    async fn start_password_reset(
        &self,
        user: &User,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Whether `token_hash` names a reset that can still be used at `now`.
    async fn password_reset_open(&self, token_hash: &str, now: Timestamp) -> Result<bool, StoreError>;
    // Using a reset is `ProviderWork::finish_password_reset`: it is audited on the provider's chain.

    /// Self-registration (SEC-1): stores the new, unverified account with its address-verification link
    /// (only the token's SHA-256) and writes the mail with the link, all in one transaction. `Conflict` when
    /// the address is taken.
    async fn register_unverified(
        &self,
        user: &NewUser,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<User, StoreError>;
    /// A new address-verification link for `user`, replacing any unused one, with its mail, in one transaction.
    async fn start_address_verification(
        &self,
        user: &User,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    /// Uses a verification link: the account's address counts as verified from `now` (kept if it was
    /// already) and every link of that account stops working. `None` when the link is unknown, used or
    /// expired.
    async fn finish_address_verification(&self, token_hash: &str, now: Timestamp)
    -> Result<Option<UserId>, StoreError>;
    /// Writes a mail to the holder of an account outside any change of an organisation (e.g. "someone tried to
    /// register with your address"), filed under their organisation or the provider.
    async fn notify_account_holder(
        &self,
        user: &User,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError>;
}

/// Agreements as read outside a unit of work, terms publications and the timer ledger.
#[async_trait]
pub trait Agreements: Send + Sync {
    async fn agreement(&self, id: AgreementId) -> Result<Option<Agreement>, StoreError>;
    async fn agreement_by_number(&self, number: AgreementNumber) -> Result<Option<Agreement>, StoreError>;
    /// Every agreement of an organisation, newest first.
    async fn agreements_of(&self, organisation: OrganisationId) -> Result<Vec<Agreement>, StoreError>;
    /// Every agreement, newest first (staff lists filter and page these in the web layer for now).
    async fn all_agreements(&self) -> Result<Vec<Agreement>, StoreError>;
    /// Up to `limit` organisations, in id order after `after`, whose Active agreement is on terms older than
    /// `version`: the only ones an uplift to `version` can concern. Which of them it does concern is the state
    /// machine's to say (`agreement::uplift_permitted`), never this query's.
    async fn uplift_candidates(
        &self,
        version: u32,
        after: Option<OrganisationId>,
        limit: i64,
    ) -> Result<Vec<OrganisationId>, StoreError>;
    /// Terms versions published in this Onramp (CA-5), oldest first.
    async fn publications(&self) -> Result<Vec<Publication>, StoreError>;
    // Recording a publication is `ProviderWork::record_publication`: it is audited on the provider's chain.
    async fn ledger(&self, agreement: AgreementId) -> Result<Vec<LedgerEntry>, StoreError>;
    #[cfg(feature = "test-support")]
    async fn accepted_terms(&self, agreement: AgreementId) -> Result<Option<crate::types::AcceptedTerms>, StoreError>;
}

/// The durable job queue (`background_jobs`) as workers and operators use it; jobs are enqueued, cancelled
/// and completed inside a unit of work ([`crate::JobWork`]).
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Claims up to `limit` jobs due at `now` that no live worker holds and that have not failed, highest
    /// priority first, then oldest `run_at`; each is leased until `lease_until` and its attempts counted.
    async fn claim_due_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>, StoreError>;
    /// Gives a job that failed this time back, to be claimed again from `retry_at`.
    async fn release_job(&self, job: &ClaimedJob, retry_at: Timestamp, error: &str) -> Result<(), StoreError>;
    /// Marks a job as failed for good at `at`: it is kept, with its error, but never claimed again.
    async fn fail_job(&self, job: &ClaimedJob, error: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Puts a failed job back in the queue, due at `now` with no attempts; `NotFound` unless it had failed.
    async fn retry_failed_job(&self, id: Uuid, now: Timestamp) -> Result<(), StoreError>;
    /// The jobs that failed for good, oldest failure first.
    async fn failed_jobs(&self) -> Result<Vec<FailedJob>, StoreError>;
    /// The jobs not yet run whose dedup key starts with `prefix`, by due time then key.
    async fn jobs_with_key_prefix(&self, prefix: &str) -> Result<Vec<PendingJob>, StoreError>;
    /// When the next job that has not failed may be claimed, if any.
    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError>;
    /// How many jobs are waiting, due or not; failed ones are not counted.
    async fn pending_jobs(&self) -> Result<i64, StoreError>;
    /// The queue by kind at `now`: waiting, due, failed and the oldest due time (one grouped query).
    async fn queue_stats(&self, now: Timestamp) -> Result<Vec<crate::types::QueueStats>, StoreError>;
    /// Every job row, failed ones included, by due time.
    #[cfg(feature = "test-support")]
    async fn all_jobs(&self) -> Result<Vec<crate::types::JobRecord>, StoreError>;
}

/// Case conversations (CASE-1, CASE-2); they are written inside a unit of work ([`crate::CaseWork`]).
#[async_trait]
pub trait Cases: Send + Sync {
    async fn case(&self, number: CaseNumber) -> Result<Option<Case>, StoreError>;
}

/// Team invitations (SPEC §1) read outside a unit of work.
#[async_trait]
pub trait Invitations: Send + Sync {
    /// The organisation's pending team invitations, expired ones included, oldest first.
    async fn pending_invitations(&self, organisation: OrganisationId) -> Result<Vec<Invitation>, StoreError>;
    /// The pending invitations for `email`, in any organisation, still open at `now`, newest first.
    async fn open_invitations_for(&self, email: &EmailAddress, now: Timestamp) -> Result<Vec<Invitation>, StoreError>;
}

/// The audit log (AUD-1, AUD-2), appended to inside a unit of work ([`crate::AuditWork`]).
#[async_trait]
pub trait Audit: Send + Sync {
    /// Every entry, by chain then sequence (what `verify-audit` checks).
    async fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The notification outbox (NOT-2), written inside a unit of work ([`crate::OutboxWork`]) together with its
/// delivery job ([`crate::types::DELIVERY_JOB_KIND`]); read here by the dispatcher and the staff mail page.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// How many messages are written but not yet sent.
    async fn unsent_notifications(&self) -> Result<i64, StoreError>;
    async fn outbox_entry(&self, id: Uuid) -> Result<Option<crate::types::OutboxEntry>, StoreError>;
    /// Newest first: up to `limit` rows older than `before` (a keyset page; `None` starts at the newest).
    async fn outbox_page(&self, before: Option<Uuid>, limit: i64)
    -> Result<Vec<crate::types::OutboxEntry>, StoreError>;
    /// Records that the row of the claimed delivery `job` went out as `message_id`, and finishes the job, in
    /// one transaction. A job whose claim was lost (another worker re-claimed it) changes nothing.
    async fn mark_notification_sent(
        &self,
        job: &crate::types::ClaimedJob,
        message_id: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Every outbox row, oldest first.
    #[cfg(feature = "test-support")]
    async fn notifications(&self) -> Result<Vec<crate::types::Notification>, StoreError>;
}

/// How far `serve --demo` time runs ahead of real time.
#[async_trait]
pub trait DemoClock: Send + Sync {
    /// How far demo time is ahead of real time.
    async fn demo_offset(&self) -> Result<SignedDuration, StoreError>;
    /// Moves demo time forward by `by` and returns the new offset.
    async fn advance_demo_clock(&self, by: SignedDuration) -> Result<SignedDuration, StoreError>;
}

/// What the provider offers and asks (SPEC §4, DOS-1): the API products of its catalogue and every version of
/// its assurance flows, stored when they are loaded so what was once known stays known.
#[async_trait]
pub trait Catalogue: Send + Sync {
    /// Stores the catalogue file's products, in its order, as offered; every stored product the file no longer
    /// lists stays, no longer offered. Returns every stored product: offered ones in the file's order, then the
    /// others by name. One transaction.
    async fn record_products(&self, products: &[Product], now: Timestamp) -> Result<Vec<Product>, StoreError>;

    /// Records the loaded flows. A flow whose id and version are stored with other text is a clash: then
    /// nothing is recorded and the clashes are returned (a changed flow must be given a new version).
    async fn record_flow_versions(
        &self,
        flows: &[FlowSource],
        now: Timestamp,
    ) -> Result<Vec<FlowVersionClash>, StoreError>;

    /// Every stored version of a flow, newest first.
    async fn flow_versions(&self, flow_id: &str) -> Result<Vec<StoredFlowVersion>, StoreError>;

    async fn flow_version(&self, flow_id: &str, version: u32) -> Result<Option<StoredFlowVersion>, StoreError>;
}

/// Applications (DOS-3) as the pages read them; changes go through [`crate::ApplicationWork`].
#[async_trait]
pub trait Applications: Send + Sync {
    async fn application(&self, id: ApplicationId) -> Result<Option<Application>, StoreError>;
    /// The organisation's applications, newest first.
    async fn applications_of(&self, organisation: OrganisationId) -> Result<Vec<Application>, StoreError>;
    /// Every open application across organisations, oldest first (the staff overview).
    async fn open_applications(&self) -> Result<Vec<Application>, StoreError>;
    /// The reviewers' queue: every submitted section of an open application, across organisations, oldest first.
    async fn review_queue(&self) -> Result<Vec<QueuedSection>, StoreError>;
    /// The application an agreement was created from, if it was (DOS-6).
    async fn agreement_source(&self, agreement: AgreementId) -> Result<Option<AgreementSource>, StoreError>;
    /// The agreements created from an application, oldest first.
    async fn agreements_from(&self, application: ApplicationId) -> Result<Vec<AgreementSource>, StoreError>;
}
