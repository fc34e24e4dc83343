use std::fmt;

/// Which database engine a [`DatabaseUrl`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A database URL whose scheme is known to be `sqlite:` or `postgres:`/`postgresql:`. Anything else is
/// refused rather than read as a file name. Debug and Display hide any password.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatabaseUrl {
    raw: String,
    backend: Backend,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("is empty; use sqlite:PATH (for example sqlite:./onramp.db) or postgres://USER@HOST:PORT/DATABASE")]
    Empty,
    #[error(
        "has the unsupported scheme {0:?}; use sqlite:PATH (for example sqlite:./onramp.db) or postgres://USER@HOST:PORT/DATABASE"
    )]
    UnknownScheme(String),
    #[error("names no file; use sqlite:PATH, for example sqlite:./onramp.db")]
    NoSqlitePath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let Some((scheme, rest)) = raw.split_once(':') else {
            return Err(DatabaseUrlError::UnknownScheme(String::new()));
        };
        let backend = match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Backend::Sqlite,
            "postgres" | "postgresql" => Backend::Postgres,
            other => return Err(DatabaseUrlError::UnknownScheme(other.to_owned())),
        };
        if backend == Backend::Sqlite && rest.trim_start_matches('/').is_empty() {
            return Err(DatabaseUrlError::NoSqlitePath);
        }
        Ok(Self { raw: raw.to_owned(), backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database file of an embedded database, if it is one (`sqlite:PATH`, `sqlite://PATH`, with any
    /// `?options` removed); `None` for PostgreSQL and for `:memory:`.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        if self.backend != Backend::Sqlite {
            return None;
        }
        let rest = self.raw.split_once(':').map_or("", |(_, rest)| rest);
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let path = rest.split('?').next().unwrap_or("");
        (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
    }

    /// The URL with its password; only for handing to the driver.
    pub fn expose(&self) -> &str {
        &self.raw
    }

    /// The URL with any password replaced by `***`, for logs and error messages.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.raw.split_once("://") else {
            return self.raw.clone();
        };
        let (authority, tail) = rest.split_once('/').map_or((rest, ""), |(a, t)| (a, t));
        let authority = match authority.rsplit_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _password)) => format!("{user}:***@{host}"),
                None => format!("{credentials}@{host}"),
            },
            None => authority.to_owned(),
        };
        let tail = tail.split_once('?').map_or(tail.to_owned(), |(path, _)| format!("{path}?…"));
        if rest.contains('/') { format!("{scheme}://{authority}/{tail}") } else { format!("{scheme}://{authority}") }
    }
}

impl TryFrom<String> for DatabaseUrl {
    type Error = DatabaseUrlError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DatabaseUrl> for String {
    fn from(value: DatabaseUrl) -> Self {
        value.raw
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_file_is_the_path_without_options() {
        let file = |raw: &str| DatabaseUrl::parse(raw).unwrap().sqlite_file();
        assert_eq!(file("sqlite:./onramp.db"), Some("./onramp.db".into()));
        assert_eq!(file("sqlite:///var/lib/onramp.db?mode=rwc"), Some("/var/lib/onramp.db".into()));
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("postgres://db/onramp"), None);
    }

    #[test]
    fn only_sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(DatabaseUrl::parse("sqlite:./onramp.db").map(|u| u.backend()), Ok(Backend::Sqlite));
        assert_eq!(DatabaseUrl::parse("postgresql://h/db").map(|u| u.backend()), Ok(Backend::Postgres));
        assert_eq!(DatabaseUrl::parse("mysql://h/db"), Err(DatabaseUrlError::UnknownScheme("mysql".into())));
        assert_eq!(DatabaseUrl::parse("./onramp.db"), Err(DatabaseUrlError::UnknownScheme(String::new())));
        assert_eq!(DatabaseUrl::parse("sqlite:"), Err(DatabaseUrlError::NoSqlitePath));
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/onramp?sslmode=require").unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/onramp?…");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.expose(), "postgres://app:s3cret@db:5432/onramp?sslmode=require");
    }
}
