//! Onramp's storage: one [`Repository`] interface, implemented for SQLite (embedded, the default) and
//! PostgreSQL (several instances behind a load balancer). Both implementations share their SQL text and
//! row mapping (`repository.rs`) and differ only where the databases do: connection set-up, how a write
//! transaction begins, and migrations.

mod error;
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
use onramp_domain::{
    EmailAddress, Membership, NewOrganisation, NewUser, OdsCode, Organisation, OrganisationId, Provider, User, UserId,
};

pub use error::StoreError;
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
}

/// Opens the database `url` names, checks it answers, and returns it behind the [`Repository`] interface.
/// Migrations are not run here: callers decide (`serve` and `migrate` do).
pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Arc<dyn Repository>, StoreError> {
    Ok(match url.backend() {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url, options).await?),
    })
}
