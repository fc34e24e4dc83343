//! The embedded backend: one SQLite file in WAL mode. There is one writer at a time: every write
//! transaction starts with `BEGIN IMMEDIATE`, so it takes the write lock up front (and waits up to
//! `busy_timeout` for it) instead of failing half-way when a reader tries to upgrade.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

use crate::{ConnectOptions, DatabaseUrl, SqliteDurability};

type Db = Sqlite;
type Store = SqliteStore;
const BACKEND: crate::Backend = crate::Backend::Sqlite;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

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

/// Loads and locks the organisation a unit of work is about. SQLite's `BEGIN IMMEDIATE` already holds the
/// database's one write lock, so a plain read suffices.
const LOCK_ORGANISATION: &str = "SELECT id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, im1_supplier, created_at FROM organisations WHERE id = $1";

/// Claims due jobs; runs under `BEGIN IMMEDIATE`, so two claims never overlap.
const CLAIM_JOBS: &str = "UPDATE jobs SET locked_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM jobs WHERE run_at <= $1 AND (locked_until IS NULL OR locked_until <= $1) ORDER BY run_at LIMIT $3) RETURNING id, agreement_id, organisation_id, kind, parameter, run_at, attempts";

include!("repository.rs");
