//! Onramp's storage: one [`Repository`] interface, implemented for SQLite (embedded, the default) and
//! PostgreSQL (several instances behind a load balancer). Both implementations share their SQL text and
//! row mapping (`repository.rs`) and differ only where the databases do: connection set-up, how a write
//! transaction begins, and migrations.

mod error;
pub mod lifecycle;
mod postgres;
mod rows;
mod sqlite;
mod url;

#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry};
use onramp_domain::audit::AuditRecord;
use onramp_domain::case::Case;
use onramp_domain::{
    AgreementNumber, CaseNumber, EmailAddress, Membership, NewOrganisation, NewUser, OdsCode, Organisation,
    OrganisationId, Provider, User, UserId,
};

pub use error::StoreError;
pub use lifecycle::{AuditEntry, Job, NewNotification, Notification, ScheduledTimer, Sequence, UnitOfWork};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use url::{Backend, DatabaseUrl, DatabaseUrlError};

/// How durable an SQLite commit is. `Full` (the default) survives a power cut: an acceptance a user has
/// seen confirmed is on disk. `Normal` is faster and may lose the last commits on power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SqliteDurability {
    Full,
    Normal,
}

/// Connection settings that apply to either backend.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Pool size: PostgreSQL connections per instance, or SQLite connections (readers; writes serialise).
    pub max_connections: u32,
    /// How long start-up and each request wait for a connection before giving up.
    pub connect_timeout: Duration,
    pub sqlite_durability: SqliteDurability,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self { max_connections: 8, connect_timeout: Duration::from_secs(5), sqlite_durability: SqliteDurability::Full }
    }
}

/// Everything Onramp keeps, behind one interface so services never know which database they run on.
#[async_trait]
pub trait Repository: Send + Sync + std::fmt::Debug {
    fn backend(&self) -> Backend;

    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes the pool: in-flight work finishes, new calls fail as `Unavailable`. Used at shutdown.
    async fn close(&self);

    /// Applies pending migrations; safe to run from several instances at once.
    async fn migrate(&self) -> Result<(), StoreError>;

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

    /// Stores a new user with their staff roles; `Conflict` when the e-mail address is taken.
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User, StoreError>;
    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError>;
    /// Puts a user in an organisation (or takes them out with `None`); `NotFound` for an unknown user or
    /// organisation.
    async fn set_membership(&self, user: UserId, membership: Option<&Membership>) -> Result<(), StoreError>;
    /// The members of an organisation, by name.
    async fn members(&self, organisation: OrganisationId) -> Result<Vec<User>, StoreError>;

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
    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, String)>, StoreError>;
    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// Counts a failed sign-in for `email` and returns how many there have been since the last success.
    async fn record_login_failure(&self, email: &str, now: Timestamp) -> Result<(i64, Timestamp), StoreError>;
    /// Failed sign-ins since the last success, and when the last one was.
    async fn login_failures(&self, email: &str) -> Result<Option<(i64, Timestamp)>, StoreError>;
    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError>;

    /// Opens a transaction on one organisation, locking it against concurrent decisions.
    async fn begin(&self, organisation: OrganisationId) -> Result<Box<dyn UnitOfWork>, StoreError>;
    async fn agreement(&self, id: AgreementId) -> Result<Option<Agreement>, StoreError>;
    async fn agreement_by_number(&self, number: AgreementNumber) -> Result<Option<Agreement>, StoreError>;
    /// Every agreement of an organisation, newest first.
    async fn agreements_of(&self, organisation: OrganisationId) -> Result<Vec<Agreement>, StoreError>;
    /// Every agreement, newest first (staff lists filter and page these in the web layer for now).
    async fn all_agreements(&self) -> Result<Vec<Agreement>, StoreError>;
    /// Up to `limit` organisations, in id order after `after`, whose Active agreement is on terms older than
    /// `version` and which have no draft on `version` or later: what an uplift still has to do. Paper agreements
    /// are left out: they move to digital terms with a new contract (CA-12).
    async fn organisations_to_uplift(
        &self,
        version: u32,
        after: Option<OrganisationId>,
        limit: i64,
    ) -> Result<Vec<OrganisationId>, StoreError>;
    /// Terms versions published in this Onramp (CA-5), oldest first: version, when, and when its uplift finished.
    async fn publications(&self) -> Result<Vec<(u32, Timestamp, Option<Timestamp>)>, StoreError>;
    /// Records that `version` is being published; a second call for the same version changes nothing.
    async fn record_publication(&self, version: u32, by: &str, at: Timestamp) -> Result<(), StoreError>;
    async fn finish_publication(&self, version: u32, at: Timestamp) -> Result<(), StoreError>;
    async fn ledger(&self, agreement: AgreementId) -> Result<Vec<LedgerEntry>, StoreError>;
    async fn timers(&self, agreement: AgreementId) -> Result<Vec<ScheduledTimer>, StoreError>;
    async fn accepted_terms(&self, agreement: AgreementId) -> Result<Option<(String, String)>, StoreError>;
    async fn case(&self, number: CaseNumber) -> Result<Option<Case>, StoreError>;
    async fn notifications(&self) -> Result<Vec<Notification>, StoreError>;
    async fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError>;

    /// Claims up to `limit` timers due at `now` that no live worker holds, leasing them until `lease_until`.
    async fn claim_due_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: i64) -> Result<Vec<Job>, StoreError>;
    /// Gives a failed job back to be retried at `retry_at`.
    async fn release_job(&self, job: &Job, retry_at: Timestamp, error: &str) -> Result<(), StoreError>;
    /// How many timers are pending, due or not.
    async fn pending_jobs(&self) -> Result<i64, StoreError>;
    /// How far demo time is ahead of real time.
    async fn demo_offset(&self) -> Result<jiff::SignedDuration, StoreError>;
    /// Moves demo time forward by `by` and returns the new offset.
    async fn advance_demo_clock(&self, by: jiff::SignedDuration) -> Result<jiff::SignedDuration, StoreError>;
    /// When the next timer is due, if any.
    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError>;

    /// The organisation's pending team invitations, expired ones included, oldest first (SPEC §1).
    async fn pending_invitations(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<onramp_domain::team::Invitation>, StoreError>;
    /// The most recent pending invitation for `email`, in any organisation, that is still open at `now`.
    async fn open_invitation_for(
        &self,
        email: &EmailAddress,
        now: Timestamp,
    ) -> Result<Option<onramp_domain::team::Invitation>, StoreError>;

    /// SEC-2: stores a password reset (only the token's SHA-256) for `user`, replacing any unused one, and
    /// writes the e-mail with the link to the outbox in the same transaction. Mail for someone in no
    /// organisation is filed under the provider (`audit::PROVIDER_CHAIN`).
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
    /// Uses a reset: sets the new password hash, ends every session of that user and clears the sign-in
    /// failures, all in one transaction. `None` when the reset is unknown, used or expired.
    async fn finish_password_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError>;
}

/// Opens the database `url` names, checks it answers, and returns it behind the [`Repository`] interface.
/// Migrations are not run here: callers decide (`serve` and `migrate` do).
pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Arc<dyn Repository>, StoreError> {
    Ok(match url.backend() {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url, options).await?),
    })
}
