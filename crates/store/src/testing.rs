//! Fresh databases for tests, on either backend. SQLite tests get a new file in the temp directory;
//! PostgreSQL tests get a new database on the server named by `ONRAMP_TEST_POSTGRES_URL`, dropped when the
//! [`TestDatabase`] is. When that variable is not set, PostgreSQL tests report that they were skipped; when
//! it is set and the server cannot be reached, they fail.

#![allow(clippy::expect_used, reason = "test set-up fails loudly by design")]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::{Backend, ConnectOptions, DatabaseUrl, Repository, connect};

pub const POSTGRES_URL_VARIABLE: &str = "ONRAMP_TEST_POSTGRES_URL";

/// A migrated, empty database that removes itself when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    store: Arc<dyn Repository>,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    SqliteFile(PathBuf),
    PostgresDatabase { server_url: String, name: String },
}

impl TestDatabase {
    /// A fresh database on `backend`, or `None` (after saying so on the terminal) for PostgreSQL when
    /// `ONRAMP_TEST_POSTGRES_URL` is not set.
    pub async fn new(backend: Backend, test_name: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite().await),
            Backend::Postgres => Self::postgres(test_name).await,
        }
    }

    pub async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("onramp-test-{}.db", uuid::Uuid::now_v7().simple()));
        let url = DatabaseUrl::parse(&format!("sqlite:{}", path.display())).expect("temp path makes a valid URL");
        Self::open(url, Cleanup::SqliteFile(path)).await
    }

    pub async fn postgres(test_name: &str) -> Option<Self> {
        let Ok(server_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            // Written past the test harness's output capture on purpose, so a skip is visible.
            let _ =
                writeln!(std::io::stderr(), "SKIPPED {test_name} on PostgreSQL: set {POSTGRES_URL_VARIABLE} to run it");
            return None;
        };
        let name = format!("onramp_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE} is set but PostgreSQL cannot be reached: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = DatabaseUrl::parse(&with_database(&server_url, &name)).expect("test database URL");
        Some(Self::open(url, Cleanup::PostgresDatabase { server_url, name }).await)
    }

    async fn open(url: DatabaseUrl, cleanup: Cleanup) -> Self {
        let store = connect(&url, &ConnectOptions::default()).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        Self { url, store, cleanup }
    }

    pub fn store(&self) -> Arc<dyn Repository> {
        Arc::clone(&self.store)
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Runs raw SQL behind the repository's back, as an operator with a database shell could: for tests of
    /// what happens when stored data was tampered with.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, sqlx::Error> {
        execute_raw(&self.url, sql).await
    }
}

/// Runs raw SQL against the database at `url` (see [`TestDatabase::execute_raw`]).
pub async fn execute_raw(url: &DatabaseUrl, sql: &str) -> Result<u64, sqlx::Error> {
    let statement = sqlx::AssertSqlSafe(sql.to_owned());
    let result = match url.backend() {
        Backend::Sqlite => {
            let mut connection = sqlx::SqliteConnection::connect(url.expose()).await?;
            sqlx::query(statement).execute(&mut connection).await?.rows_affected()
        }
        Backend::Postgres => {
            let mut connection = PgConnection::connect(url.expose()).await?;
            sqlx::query(statement).execute(&mut connection).await?.rows_affected()
        }
    };
    Ok(result)
}

/// `server_url` with its database name replaced by `database`.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = server_url.split_once('?').map_or((server_url, None), |(b, q)| (b, Some(q)));
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split_once('/').map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{database}?{query}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Cleanup::PostgresDatabase { server_url, name } => {
                let (server_url, name) = (server_url.clone(), name.clone());
                // Drop runs inside the test's runtime, which cannot be blocked on; use a runtime of our own.
                let dropped = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let mut admin = PgConnection::connect(&server_url).await.ok()?;
                        sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                            .execute(&mut admin)
                            .await
                            .ok()
                    })
                });
                let _ = dropped.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_replaced_and_options_kept() {
        assert_eq!(
            super::with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            super::with_database("postgres://h:1/test?sslmode=disable", "x"),
            "postgres://h:1/x?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
