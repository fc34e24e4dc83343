//! Onramp's storage: one [`Repository`] interface, split by area into traits (`Organisations`, `Users`,
//! `Jobs`, …), implemented for SQLite (embedded, the default) and PostgreSQL (several instances behind a load
//! balancer). The implementation lives in `src/shared/`, one module per area, and is compiled once per backend
//! (`sqlite.rs` and `postgres.rs` declare those modules with `#[path]`), so the two share their SQL text and row
//! mapping and differ only where the databases do: connection set-up, how a write transaction begins and
//! locks, and migrations.

#[macro_use]
mod columns;
mod error;
mod evidence_types;
#[allow(clippy::duplicate_mod, reason = "src/shared/ is compiled once per backend on purpose")]
mod postgres;
mod rows;
#[allow(clippy::duplicate_mod, reason = "src/shared/ is compiled once per backend on purpose")]
mod sqlite;
mod traits;
mod types;
mod unit_of_work;
mod url;

#[cfg(feature = "test-support")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

pub use error::StoreError;
pub use evidence_types::{EvidenceFile, EvidenceFiles};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use traits::{
    Agreements, Applications, Audit, Cases, Catalogue, DemoClock, Invitations, Jobs, Organisations, Outbox, Repository,
    Sessions, Users,
};
#[cfg(feature = "test-support")]
pub use types::JobRecord;
pub use types::{
    AcceptedTerms, AgreementSource, AuditEntry, ClaimedJob, DELIVERY_JOB_KIND, Delivery, FailedJob, FlowSource,
    FlowVersionClash, LiveAgreements, LoginFailures, NewJob, NewNotification, Notification, OutboxEntry, PendingJob,
    PoolStats, Publication, QueueStats, QueuedSection, Sequence, SignedIn, StoredFlowVersion,
};
pub use unit_of_work::{
    AgreementWork, ApplicationWork, AuditWork, CaseWork, JobWork, OutboxWork, ProviderWork, TeamWork, UnitOfWork,
};
pub use url::{Backend, DatabaseUrl, DatabaseUrlError};

/// `use onramp_store::prelude::*;` brings every area trait into scope, so their methods can be called on an
/// `Arc<dyn Repository>` or a `Box<dyn UnitOfWork>`. They are imported anonymously: a caller's own names
/// (`onramp_service::clock::DemoClock`, say) never clash with them.
pub mod prelude {
    pub use crate::evidence_types::EvidenceFiles as _;
    pub use crate::traits::{
        Agreements as _, Applications as _, Audit as _, Cases as _, Catalogue as _, DemoClock as _, Invitations as _,
        Jobs as _, Organisations as _, Outbox as _, Repository as _, Sessions as _, Users as _,
    };
    pub use crate::unit_of_work::{
        AgreementWork as _, ApplicationWork as _, AuditWork as _, CaseWork as _, JobWork as _, OutboxWork as _,
        ProviderWork as _, TeamWork as _, UnitOfWork as _,
    };
}

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

/// Opens the database `url` names, checks it answers, and returns it behind the [`Repository`] interface.
/// Migrations are not run here: callers decide (`serve` and `migrate` do).
pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Arc<dyn Repository>, StoreError> {
    Ok(match url.backend() {
        Backend::Sqlite => Arc::new(SqliteStore::connect(url, options).await?),
        Backend::Postgres => Arc::new(PostgresStore::connect(url, options).await?),
    })
}
