//! Fresh databases for tests, on either backend. SQLite tests get a new file in the temp directory;
//! PostgreSQL tests get a new database on the server named by `ONRAMP_TEST_POSTGRES_URL`, dropped when the
//! [`TestDatabase`] is. When that variable is not set, PostgreSQL tests report that they were skipped; when
//! it is set and the server cannot be reached, they fail. [`on_both_backends!`] declares a story's test on
//! each backend; [`unsettled_jobs`] is the job-queue check the test harnesses run when a story ends.

#![allow(clippy::expect_used, reason = "test set-up fails loudly by design")]

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use sqlx::Connection;
use sqlx::postgres::PgConnection;

use jiff::Timestamp;

use crate::{Backend, ConnectOptions, DatabaseUrl, Repository, connect};

pub use crate::on_both_backends;

pub const POSTGRES_URL_VARIABLE: &str = "ONRAMP_TEST_POSTGRES_URL";

/// A migrated, empty database that removes itself when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    url: DatabaseUrl,
    store: Arc<dyn Repository>,
    cleanup: Cleanup,
    files: PathBuf,
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
        Self::sqlite_at(None).await
    }

    /// A fresh SQLite database migrated up to `version` only (all migrations for `None`), for tests of a
    /// migration: write rows the old way, then [`Repository::migrate`] the rest.
    pub async fn sqlite_at(version: Option<i64>) -> Self {
        let path = std::env::temp_dir().join(format!("onramp-test-{}.db", uuid::Uuid::new_v4().simple()));
        let url = DatabaseUrl::parse(&format!("sqlite:{}", path.display())).expect("temp path makes a valid URL");
        Self::open(url, Cleanup::SqliteFile(path), version).await
    }

    pub async fn postgres(test_name: &str) -> Option<Self> {
        Self::postgres_at(test_name, None).await
    }

    /// Like [`Self::sqlite_at`], on PostgreSQL.
    pub async fn postgres_at(test_name: &str, version: Option<i64>) -> Option<Self> {
        let Ok(server_url) = std::env::var(POSTGRES_URL_VARIABLE) else {
            // Written past the test harness's output capture on purpose, so a skip is visible.
            let _ =
                writeln!(std::io::stderr(), "SKIPPED {test_name} on PostgreSQL: set {POSTGRES_URL_VARIABLE} to run it");
            return None;
        };
        let name = format!("onramp_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_URL_VARIABLE} is set but PostgreSQL cannot be reached: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create a test database");
        let _ = admin.close().await;
        let url = DatabaseUrl::parse(&with_database(&server_url, &name)).expect("test database URL");
        Some(Self::open(url, Cleanup::PostgresDatabase { server_url, name }, version).await)
    }

    async fn open(url: DatabaseUrl, cleanup: Cleanup, version: Option<i64>) -> Self {
        let options = ConnectOptions::default();
        let store = connect(&url, &options).await.expect("connect to the test database");
        match version {
            None => store.migrate().await.expect("migrate the test database"),
            Some(version) => {
                let migrated = match url.backend() {
                    Backend::Sqlite => {
                        let direct = crate::SqliteStore::connect(&url, &options).await.expect("connect");
                        crate::sqlite::MIGRATOR.run_to(version, direct.pool()).await
                    }
                    Backend::Postgres => {
                        let direct = crate::PostgresStore::connect(&url, &options).await.expect("connect");
                        crate::postgres::MIGRATOR.run_to(version, direct.pool()).await
                    }
                };
                migrated.expect("migrate the test database part of the way");
            }
        }
        let files = std::env::temp_dir().join(format!("onramp-test-files-{}", uuid::Uuid::new_v4().simple()));
        Self { url, store, cleanup, files }
    }

    /// A folder of this database's own for files beside it (the mail folder, say); removed with it.
    pub fn files_dir(&self) -> PathBuf {
        self.files.clone()
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

/// What a story left in the job queue that it should not have: every job that failed for good, is due at
/// `now` but was not run, or still carries an error from a failed attempt. Test harnesses check it when a
/// story ends (crates.io's `TestApp` does the same on drop), so work that silently failed or was forgotten
/// fails the story.
pub async fn unsettled_jobs(store: &dyn Repository, now: Timestamp) -> Vec<String> {
    let jobs = match store.all_jobs().await {
        Ok(jobs) => jobs,
        Err(error) => return vec![format!("the job queue could not be read: {error}")],
    };
    jobs.into_iter()
        .filter_map(|record| {
            let job = &record.job;
            let name = format!("{} job {}", job.kind, job.dedup_key.as_deref().unwrap_or(&job.payload));
            let error = record.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            if let Some(failed_at) = record.failed_at {
                Some(format!("{name} failed for good at {failed_at} after {} attempts{error}", job.attempts))
            } else if job.kind == crate::DELIVERY_JOB_KIND && job.attempts == 0 && record.last_error.is_none() {
                // Mail not sent yet is a state a story may end in; mail that failed is not.
                None
            } else if job.run_at <= now {
                Some(format!("{name} was due at {} and is still waiting at {now}{error}", job.run_at))
            } else if record.last_error.is_some() {
                Some(format!("{name} failed an attempt{error}"))
            } else {
                None
            }
        })
        .collect()
}

/// [`unsettled_jobs`] for a `Drop` impl: it cannot await inside the test's runtime, so this connects to `url`
/// afresh from a thread with its own runtime (as [`TestDatabase`]'s drop does).
pub fn unsettled_jobs_blocking(url: &DatabaseUrl, now: Timestamp) -> Vec<String> {
    let url = url.clone();
    let checked = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a test runtime");
        runtime.block_on(async {
            let store = connect(&url, &ConnectOptions::default()).await.expect("connect to the test database");
            let unsettled = unsettled_jobs(store.as_ref(), now).await;
            store.close().await;
            unsettled
        })
    });
    checked.join().unwrap_or_else(|_| vec!["the job queue check panicked".to_owned()])
}

/// Declares each story as one `#[tokio::test]` per backend, named after it, in modules `sqlite` and
/// `postgres`: `on_both_backends!(World::new; story_a, story_b);` runs `story_a(World::new(database).await)`.
/// The fixture is an `async fn(TestDatabase) -> T`, named as the calling file names it. The PostgreSQL tests
/// return early, having said so, when `ONRAMP_TEST_POSTGRES_URL` is not set.
#[macro_export]
macro_rules! on_both_backends {
    ($fixture:path; $($story:ident),* $(,)?) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $story() {
                    super::$story($fixture($crate::testing::TestDatabase::sqlite().await).await).await
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $story() {
                    let Some(database) = $crate::testing::TestDatabase::postgres(stringify!($story)).await else {
                        return;
                    };
                    super::$story($fixture(database).await).await
                }
            )*
        }
    };
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
        let _ = std::fs::remove_dir_all(&self.files);
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
