/// Why a storage call failed, in the terms the layers above act on: a missing row is a 404, a uniqueness
/// clash or a stale version a 409, an unreachable database a 503, anything else an internal error whose cause
/// is only logged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("{what} is already taken")]
    Conflict { what: &'static str },
    /// An optimistic-lock check failed: the row is no longer at the version the change was made on.
    #[error("that {entity} was changed by someone else meanwhile")]
    StaleVersion { entity: &'static str },
    #[error("the database cannot be reached")]
    Unavailable(#[source] sqlx::Error),
    #[error("a stored {entity} could not be read back: {reason}")]
    Corrupt { entity: &'static str, reason: String },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
                Self::Unavailable(error)
            }
            _ => Self::Database(error),
        }
    }
}

impl StoreError {
    /// Maps a unique-constraint violation to `Conflict { what }`; every other error converts as usual.
    pub(crate) fn unique_as(what: &'static str) -> impl Fn(sqlx::Error) -> Self {
        move |error| match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict { what },
            _ => Self::from(error),
        }
    }
}
