//! The embedded backend: one SQLite file in WAL mode. There is one writer at a time: every write
//! transaction starts with `BEGIN IMMEDIATE`, so it takes the write lock up front (and waits up to
//! `busy_timeout` for it) instead of failing half-way when a reader tries to upgrade.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::{ConnectOptions, DatabaseUrl, SqliteDurability, StoreError};

// The implementation, one module per area, shared with `postgres.rs`: each uses `super::{Db, Store, …}`.
#[path = "shared/agreements.rs"]
mod agreements;
#[path = "shared/applications.rs"]
mod applications;
#[path = "shared/audit.rs"]
mod audit;
#[path = "shared/cases.rs"]
mod cases;
#[path = "shared/catalogue.rs"]
mod catalogue;
#[path = "shared/database.rs"]
mod database;
#[path = "shared/demo_clock.rs"]
mod demo_clock;
#[path = "shared/evidence.rs"]
mod evidence;
#[path = "shared/invitations.rs"]
mod invitations;
#[path = "shared/jobs.rs"]
mod jobs;
#[path = "shared/organisations.rs"]
mod organisations;
#[path = "shared/outbox.rs"]
mod outbox;
#[path = "shared/sessions.rs"]
mod sessions;
#[path = "shared/users.rs"]
mod users;
#[path = "shared/work/core.rs"]
mod work;
#[path = "shared/work/agreements.rs"]
mod work_agreements;
#[path = "shared/work/applications.rs"]
mod work_applications;
#[path = "shared/work/cases.rs"]
mod work_cases;
#[path = "shared/work/provider.rs"]
mod work_provider;
#[path = "shared/work/records.rs"]
mod work_records;
#[path = "shared/work/team.rs"]
mod work_team;

type Db = Sqlite;
type Store = SqliteStore;
const BACKEND: crate::Backend = crate::Backend::Sqlite;
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool<Sqlite>,
}

impl SqliteStore {
    pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, StoreError> {
        let synchronous = match options.sqlite_durability {
            SqliteDurability::Full => SqliteSynchronous::Full,
            SqliteDurability::Normal => SqliteSynchronous::Normal,
        };
        let connect_options = SqliteConnectOptions::from_str(url.expose())?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .busy_timeout(options.connect_timeout)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect_options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }
}

async fn begin_write(pool: &Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}

/// The provider chain's lock: `BEGIN IMMEDIATE` already holds the database's one write lock.
const LOCK_PROVIDER: &str = "SELECT 1";

/// Loads and locks the organisation a unit of work is about. SQLite's `BEGIN IMMEDIATE` already holds the
/// database's one write lock, so a plain read suffices.
const LOCK_ORGANISATION: &str = concat!("SELECT ", organisation_columns!(), " FROM organisations WHERE id = $1");

/// Claims due jobs; runs under `BEGIN IMMEDIATE`, so two claims never overlap.
const CLAIM_JOBS: &str = concat!(
    "UPDATE background_jobs SET locked_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM background_jobs \
     WHERE run_at <= $1 AND failed_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
     ORDER BY priority DESC, run_at LIMIT $3) RETURNING ",
    claimed_job_columns!()
);
