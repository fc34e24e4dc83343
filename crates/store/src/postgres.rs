//! The scale-out backend: PostgreSQL, shared by several Onramp instances behind a load balancer.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Pool, Postgres};

use crate::{ConnectOptions, DatabaseUrl};

type Db = Postgres;
type Store = PostgresStore;
const BACKEND: crate::Backend = crate::Backend::Postgres;
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: Pool<Postgres>,
}

impl PostgresStore {
    pub async fn connect(url: &DatabaseUrl, options: &ConnectOptions) -> Result<Self, StoreError> {
        let connect_options = PgConnectOptions::from_str(url.expose())?.application_name("onramp");
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

include!("repository.rs");
