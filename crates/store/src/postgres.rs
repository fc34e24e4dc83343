//! The scale-out backend: PostgreSQL, shared by several Onramp instances behind a load balancer.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Pool, Postgres};

use crate::{ConnectOptions, DatabaseUrl, StoreError};

// The implementation, one module per area, shared with `sqlite.rs`: each uses `super::{Db, Store, …}`.
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

type Db = Postgres;
type Store = PostgresStore;
const BACKEND: crate::Backend = crate::Backend::Postgres;
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect_options = PgConnectOptions::from_str(url.expose())?.application_name("onramp");
        // One direct attempt first: a pool only reports "timed out", while this names the cause
        // (connection refused, unknown host, authentication failed).
        let probe = tokio::time::timeout(options.connect_timeout, PgConnection::connect_with(&connect_options)).await;
        match probe {
            Ok(Ok(connection)) => connection.close().await?,
            Ok(Err(error)) => return Err(StoreError::Unavailable(error)),
            Err(_) => return Err(StoreError::Unavailable(sqlx::Error::PoolTimedOut)),
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect_options)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &Pool<Postgres> {
        &self.pool
    }
}

async fn begin_write(pool: &Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
    pool.begin().await
}

/// The provider chain's lock, held to the end of the transaction, so appends to the provider's audit chain from
/// several instances queue here (the key is arbitrary, Onramp's own).
const LOCK_PROVIDER: &str = "SELECT pg_advisory_xact_lock(7366172651001)";

/// Loads and locks the organisation a unit of work is about: decisions on one organisation queue here,
/// decisions on different organisations run side by side.
const LOCK_ORGANISATION: &str =
    concat!("SELECT ", organisation_columns!(), " FROM organisations WHERE id = $1 FOR UPDATE");

/// Claims due jobs; `SKIP LOCKED` lets several workers claim side by side without taking the same job.
const CLAIM_JOBS: &str = concat!(
    "UPDATE background_jobs SET locked_until = $2, attempts = attempts + 1 WHERE id IN (SELECT id FROM background_jobs \
     WHERE run_at <= $1 AND failed_at IS NULL AND (locked_until IS NULL OR locked_until <= $1) \
     ORDER BY priority DESC, run_at LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING ",
    claimed_job_columns!()
);
