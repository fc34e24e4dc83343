//! One typed configuration, read from defaults, then `onramp.toml`, then `ONRAMP_` environment variables,
//! then command-line flags (later sources win). It is loaded once at start-up and passed in [`AppContext`];
//! nothing reads configuration from a global. A bad value stops start-up with one line naming the setting.
//!
//! [`AppContext`]: crate::AppContext

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use onramp_domain::agreement::Rules;
use onramp_domain::{EmailAddress, Provider};
use onramp_store::{ConnectOptions, DatabaseUrl, SqliteDurability};
use serde::{Deserialize, Serialize};

/// The prefix of every environment variable Onramp reads; nesting uses `__` (`ONRAMP_DATABASE__MAX_CONNECTIONS`).
pub const ENV_PREFIX: &str = "ONRAMP_";
/// The configuration file read from the working directory when `--config` is not given (optional).
pub const DEFAULT_FILE: &str = "onramp.toml";
/// Environment variables under the prefix that belong to the test suite, not to the server.
const RESERVED_ENV_KEYS: &[&str] = &["test_postgres_url", "test_axe_js"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// `sqlite:PATH` (embedded, the default) or `postgres://…`. Its password never appears in logs.
    pub database_url: DatabaseUrl,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub provider: ProviderSettings,
    pub agreements: AgreementSettings,
    pub sign_in: SignInSettings,
    /// Mark cookies `Secure` even without an `https://` public URL (served over TLS, directly or behind a TLS
    /// proxy). An `https://` public URL always makes them `Secure`: see [`Config::cookies_secure`].
    pub secure_cookies: bool,
    /// The portal's address as people reach it (`https://onramp.example.org`); every link in e-mail starts
    /// with it. Unset, it is `http://` and the `listen` address, which only suits a machine of one's own.
    pub public_url: Option<String>,
    pub mail: MailSettings,
    pub catalogue: CatalogueSettings,
    pub evidence: EvidenceSettings,
    pub metrics: MetricsSettings,
}

/// Who may read `/metrics` (OPS-2). Unset, nobody: the page answers 404, so an Onramp on the internet shows
/// nothing by default. With a token, a scraper sends `Authorization: Bearer <token>`.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// At least 16 characters; `ONRAMP_METRICS__TOKEN` keeps it out of the file.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsSettings").field("token", &self.token.as_ref().map(|_| "[redacted]")).finish()
    }
}

/// Where uploaded evidence files are kept (DOS-1, DOS-3), each under a random id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceSettings {
    /// Unset, an `evidence` folder beside the SQLite database file (or in the working directory on
    /// PostgreSQL). On several instances it must be one shared folder.
    pub folder: Option<PathBuf>,
}

/// Where the provider's API catalogue, assurance flows and terms versions are read from at start-up (SPEC §4,
/// DOS-1, TC-1). Each one unset uses what ships with Onramp (`products.toml`, `flows/`, `terms/`, compiled in),
/// so a provider adds a product, a flow or a terms version by editing files, without a rebuild.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueSettings {
    /// The product catalogue file.
    pub products: Option<PathBuf>,
    /// A folder of flow files (`*.toml`).
    pub flows: Option<PathBuf>,
    /// A folder of terms files (`v<N>.toml`).
    pub terms: Option<PathBuf>,
}

/// How e-mail leaves Onramp (NOT-1). With no `smtp` section every message is written as an `.eml` file in
/// `folder` instead, which the staff mail page lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    /// The sender's address; unset, the provider's service desk.
    pub from_address: Option<EmailAddress>,
    /// The sender's name; unset, "<provider> Connection Agreements".
    pub from_name: Option<String>,
    /// Where `.eml` files go without SMTP; unset, a `mail` folder beside the SQLite database file (or in
    /// the working directory on PostgreSQL).
    pub folder: Option<PathBuf>,
    pub smtp: Option<SmtpSettings>,
}

/// An SMTP relay (`[mail.smtp]`, or `ONRAMP_MAIL__SMTP__HOST` and friends).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    pub host: String,
    /// Unset: 587 for `starttls`, 465 for `tls`, 25 for `plain`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "SmtpSecurity::default_for_relays")]
    pub security: SmtpSecurity,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default = "default_smtp_timeout")]
    pub timeout_seconds: u64,
}

fn default_smtp_timeout() -> u64 {
    15
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout_seconds", &self.timeout_seconds)
            .finish()
    }
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// No TLS: only for a relay on the same host.
    Plain,
    /// STARTTLS, required.
    Starttls,
    /// TLS from the first byte.
    Tls,
}

impl SmtpSecurity {
    fn default_for_relays() -> Self {
        Self::Starttls
    }
}

/// The lifecycle's periods (SPEC CA-4, CA-6, CA-11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSettings {
    /// Days a new contract may be accepted, counting the created day as day 1.
    pub acceptance_days: i64,
    /// Days of review before a terms change is auto-accepted.
    pub auto_accept_days: i64,
    /// Reminders this many days before a review deadline.
    pub reminder_days: Vec<u32>,
}

/// The per-address limit on sign-in and registration posts (SEC-2). Generous, because a whole NHS trust may
/// share one address; guessing one account's password is stopped by the per-account lock-out instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInSettings {
    /// Attempts one IP address may make in a burst.
    pub attempts_per_address: u32,
    /// Seconds for one more attempt to become available after the burst is spent.
    pub refill_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Pool size per instance.
    pub max_connections: u32,
    /// Seconds to wait for a database connection (at start-up and per request) before giving up.
    pub connect_timeout_seconds: u64,
    /// `full` (survives a power cut; the default) or `normal`.
    pub sqlite_durability: SqliteDurability,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `onramp=debug,sqlx=warn`; `RUST_LOG` overrides it.
    pub filter: String,
}

/// Who runs this Onramp: shown on pages and agreements, and the sender of its e-mail (NOT-1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    pub name: String,
    pub service_desk_email: EmailAddress,
    /// The mark at the left of the portal's header.
    #[serde(default)]
    pub logo: ProviderLogo,
}

/// The mark in the portal's header (WEB-1). Onramp serves any API provider, so the NHS logo is only the
/// default: `logo = "nhs"`, `logo = "name"` (the provider's name in text) or `logo = "path/to/logo.svg"` (an
/// SVG or PNG file of at most 512 KiB, read once at start-up and served at `/provider-logo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProviderLogo {
    #[default]
    Nhs,
    Name,
    Image(PathBuf),
}

impl TryFrom<String> for ProviderLogo {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "nhs" => Ok(Self::Nhs),
            "name" => Ok(Self::Name),
            path if ProviderLogo::content_type_of(std::path::Path::new(path)).is_some() => {
                Ok(Self::Image(PathBuf::from(path)))
            }
            other => {
                Err(format!("`{other}` is not a logo: give \"nhs\", \"name\" or the path of an .svg or .png file"))
            }
        }
    }
}

impl From<ProviderLogo> for String {
    fn from(logo: ProviderLogo) -> Self {
        match logo {
            ProviderLogo::Nhs => "nhs".into(),
            ProviderLogo::Name => "name".into(),
            ProviderLogo::Image(path) => path.display().to_string(),
        }
    }
}

impl ProviderLogo {
    /// The content type of a logo file, judged by its extension; `None` for any other kind of file.
    pub fn content_type_of(path: &std::path::Path) -> Option<&'static str> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "svg" => Some("image/svg+xml"),
            "png" => Some("image/png"),
            _ => None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: DatabaseUrl::parse("sqlite:./onramp.db").unwrap_or_else(|_| unreachable!()),
            database: DatabaseSettings {
                max_connections: 8,
                connect_timeout_seconds: 5,
                sqlite_durability: SqliteDurability::Full,
            },
            log: LogSettings { format: LogFormat::Human, filter: "info".into() },
            secure_cookies: false,
            public_url: None,
            mail: MailSettings { from_address: None, from_name: None, folder: None, smtp: None },
            catalogue: CatalogueSettings::default(),
            evidence: EvidenceSettings::default(),
            metrics: MetricsSettings::default(),
            sign_in: SignInSettings { attempts_per_address: 20, refill_seconds: 3 },
            agreements: AgreementSettings {
                acceptance_days: 90,
                auto_accept_days: 30,
                reminder_days: vec![30, 14, 7, 1],
            },
            provider: ProviderSettings {
                name: "NHS England".into(),
                service_desk_email: EmailAddress::parse("support.digitalservices@onramp.example")
                    .unwrap_or_else(|_| unreachable!()),
                logo: ProviderLogo::Nhs,
            },
        }
    }
}

impl Config {
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            max_connections: self.database.max_connections,
            connect_timeout: Duration::from_secs(self.database.connect_timeout_seconds),
            sqlite_durability: self.database.sqlite_durability,
        }
    }

    pub fn rules(&self) -> Rules {
        Rules {
            acceptance_days: self.agreements.acceptance_days,
            auto_accept_days: self.agreements.auto_accept_days,
            reminder_days: self.agreements.reminder_days.clone(),
        }
    }

    pub fn provider(&self) -> Provider {
        Provider { name: self.provider.name.clone(), service_desk_email: self.provider.service_desk_email.clone() }
    }

    /// The portal's public address without a trailing slash (see [`Config::public_url`]).
    pub fn portal_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether cookies are marked `Secure`: when `secure_cookies` is set, and always when the public URL is
    /// `https://`, since people then reach the portal over TLS and a cookie must never travel without it.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies || self.public_url.as_deref().is_some_and(|url| url.starts_with("https://"))
    }

    /// Where the folder transport writes `.eml` files.
    pub fn mail_folder(&self) -> PathBuf {
        self.mail.folder.clone().unwrap_or_else(|| self.beside_database("mail"))
    }

    /// Where evidence files are kept (see [`EvidenceSettings`]).
    pub fn evidence_folder(&self) -> PathBuf {
        self.evidence.folder.clone().unwrap_or_else(|| self.beside_database("evidence"))
    }

    /// A folder beside the SQLite database file, or in the working directory on PostgreSQL.
    fn beside_database(&self, name: &str) -> PathBuf {
        match self.database_url.sqlite_file() {
            Some(file) => file.parent().map_or_else(|| PathBuf::from(name), |dir| dir.join(name)),
            None => PathBuf::from(name),
        }
    }

    /// Rules serde cannot express.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting: &str, message: &str| Err(ConfigError(format!("setting `{setting}`: {message}")));
        if self.database.max_connections == 0 {
            return invalid("database.max_connections", "must be at least 1");
        }
        if !(1..=60).contains(&self.database.connect_timeout_seconds) {
            return invalid("database.connect_timeout_seconds", "must be between 1 and 60");
        }
        if !(1..=365).contains(&self.agreements.acceptance_days) {
            return invalid("agreements.acceptance_days", "must be between 1 and 365");
        }
        if !(1..=365).contains(&self.agreements.auto_accept_days) {
            return invalid("agreements.auto_accept_days", "must be between 1 and 365");
        }
        if self.agreements.reminder_days.iter().any(|d| *d == 0 || *d > 365) {
            return invalid("agreements.reminder_days", "each must be between 1 and 365");
        }
        if self.sign_in.attempts_per_address == 0 {
            return invalid("sign_in.attempts_per_address", "must be at least 1");
        }
        if !(1..=3600).contains(&self.sign_in.refill_seconds) {
            return invalid("sign_in.refill_seconds", "must be between 1 and 3600");
        }
        if self.provider.name.trim().is_empty() {
            return invalid("provider.name", "must not be empty");
        }
        if self
            .metrics
            .token
            .as_ref()
            .is_some_and(|token| token.chars().count() < 16 || token.contains(char::is_whitespace))
        {
            return invalid("metrics.token", "must be at least 16 characters with no spaces");
        }
        if let Some(url) = &self.public_url {
            check_public_url(url).or_else(|message| invalid("public_url", &message))?;
        }
        if self.mail.from_name.as_deref().is_some_and(|name| name.trim().is_empty() || name.contains(['\r', '\n'])) {
            return invalid("mail.from_name", "must be a name on one line");
        }
        if let Some(smtp) = &self.mail.smtp {
            if smtp.host.trim().is_empty() || smtp.host.contains(char::is_whitespace) {
                return invalid("mail.smtp.host", "must be a host name such as smtp.example.org");
            }
            if smtp.port == Some(0) {
                return invalid("mail.smtp.port", "must be between 1 and 65535");
            }
            if !(1..=300).contains(&smtp.timeout_seconds) {
                return invalid("mail.smtp.timeout_seconds", "must be between 1 and 300");
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                return invalid("mail.smtp.password", "give both username and password, or neither");
            }
        }
        Ok(())
    }
}

/// A public URL is `http://` or `https://`, a host, and at most a path: links are made by appending to it.
fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("{url:?} must start with https:// (or http://)"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("{url:?} names no host"));
    }
    if url.contains(|c: char| c.is_whitespace() || c == '?' || c == '#') {
        return Err(format!("{url:?} must have no spaces, query or fragment"));
    }
    Ok(())
}

/// Where configuration comes from besides the defaults and the environment.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// A file named with `--config`: it must exist. Without it, `onramp.toml` is read if present.
    pub file: Option<PathBuf>,
    /// `--listen`, kept as text so a bad value is reported like any other.
    pub listen: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
}

/// A configuration problem, as one line that names the setting, where its value came from, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error: {0}")]
pub struct ConfigError(String);

/// A value given on the command line; its own type so errors can say where the value came from.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct CommandLineFlag<'a>(&'a str);

impl Config {
    /// Loads the configuration from the defaults, the file, the process environment and the flags.
    pub fn load(sources: &Sources) -> Result<Self, ConfigError> {
        let file = match &sources.file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError(format!("the configuration file {} does not exist", path.display())));
            }
            Some(path) => path.clone(),
            None => PathBuf::from(DEFAULT_FILE),
        };
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if file.is_file() {
            figment = figment.merge(Toml::file_exact(&file));
        }
        figment = figment.merge(Env::prefixed(ENV_PREFIX).split("__").ignore(RESERVED_ENV_KEYS));
        if let Some(listen) = &sources.listen {
            figment = figment.merge(Serialized::default("listen", CommandLineFlag(listen)));
        }
        if let Some(url) = &sources.database_url {
            figment = figment.merge(Serialized::default("database_url", CommandLineFlag(url)));
        }
        let config: Config = figment.extract().map_err(|e| describe(&e, &file))?;
        config.check()?;
        Ok(config)
    }
}

fn describe(error: &figment::Error, file: &Path) -> ConfigError {
    let mut message = String::new();
    for (i, error) in error.clone().into_iter().enumerate() {
        if i > 0 {
            message.push_str("; ");
        }
        let mut path = error.path.clone();
        if let figment::error::Kind::UnknownField(field, _) = &error.kind
            && path.last() != Some(field)
        {
            path.push(field.clone());
        }
        let setting = path.join(".");
        let source = match &error.metadata {
            Some(metadata) if metadata.name.contains("TOML") => format!("in {}", file.display()),
            Some(metadata) if metadata.name.contains("environment") => {
                format!("from environment variable {ENV_PREFIX}{}", path.join("__").to_ascii_uppercase())
            }
            Some(metadata) if metadata.name.contains("CommandLineFlag") => {
                format!("from the command-line flag --{}", setting.replace('_', "-"))
            }
            _ => String::from("from the defaults"),
        };
        let _ = write!(message, "setting `{setting}` ({source}): {}", error.kind);
    }
    ConfigError(message.replace('\n', " "))
}

#[cfg(test)]
#[allow(clippy::result_large_err, reason = "figment's Jail closures return its large error type")]
mod tests {
    use super::*;
    use figment::Jail;

    /// Loads inside a `Jail`, which isolates the working directory and environment.
    fn load_in(_jail: &Jail, sources: &Sources) -> Result<Config, ConfigError> {
        Config::load(sources)
    }

    #[test]
    fn defaults_are_sqlite_on_localhost_8080() {
        Jail::expect_with(|jail| {
            let config = load_in(jail, &Sources::default()).map_err(|e| e.to_string())?;
            assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
            assert_eq!(config.database_url.expose(), "sqlite:./onramp.db");
            assert_eq!(config.database.sqlite_durability, SqliteDurability::Full);
            Ok(())
        });
    }

    #[test]
    fn cookies_are_secure_whenever_the_public_url_is_https() {
        let with = |public_url: Option<&str>, secure_cookies| Config {
            public_url: public_url.map(str::to_owned),
            secure_cookies,
            ..Config::default()
        };
        assert!(with(Some("https://onramp.example.org"), false).cookies_secure());
        assert!(!with(Some("http://127.0.0.1:8080"), false).cookies_secure());
        assert!(!with(None, false).cookies_secure());
        assert!(with(None, true).cookies_secure(), "TLS without a public URL: the setting says so");
        assert!(with(Some("http://onramp.internal"), true).cookies_secure());
    }

    #[test]
    fn file_then_environment_then_flags_win() {
        Jail::expect_with(|jail| {
            jail.create_file("onramp.toml", "listen = \"0.0.0.0:9000\"\n[database]\nmax_connections = 3\n")?;
            jail.set_env("ONRAMP_DATABASE__MAX_CONNECTIONS", "4");
            jail.set_env("ONRAMP_TEST_POSTGRES_URL", "postgres://ignored");
            let config = load_in(jail, &Sources::default()).map_err(|e| e.to_string())?;
            assert_eq!((config.listen.port(), config.database.max_connections), (9000, 4));
            let flags = Sources { listen: Some("127.0.0.1:7000".into()), ..Sources::default() };
            assert_eq!(load_in(jail, &flags).map_err(|e| e.to_string())?.listen.port(), 7000);
            Ok(())
        });
    }

    #[test]
    fn a_malformed_listen_address_names_the_variable() {
        Jail::expect_with(|jail| {
            jail.set_env("ONRAMP_LISTEN", "localhost:eighty");
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("setting `listen` (from environment variable ONRAMP_LISTEN)"), "{error}");
            assert!(!error.contains('\n'));
            Ok(())
        });
    }

    #[test]
    fn an_unknown_scheme_names_the_setting_and_the_fix() {
        Jail::expect_with(|jail| {
            let flags = Sources { database_url: Some("mysql://db/onramp".into()), ..Sources::default() };
            let error = load_in(jail, &flags).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("setting `database_url` (from the command-line flag --database-url)"), "{error}");
            assert!(error.contains("\"mysql\"") && error.contains("sqlite:"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn an_unknown_key_in_the_file_is_refused() {
        Jail::expect_with(|jail| {
            jail.create_file("onramp.toml", "[database]\nmax_conections = 3\n")?;
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("setting `database.max_conections` (in onramp.toml)"), "{error}");
            assert!(error.contains("max_connections"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn a_missing_explicit_file_and_out_of_range_values_are_refused() {
        Jail::expect_with(|jail| {
            let missing = Sources { file: Some("nowhere.toml".into()), ..Sources::default() };
            let error = load_in(jail, &missing).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("nowhere.toml does not exist"), "{error}");
            jail.set_env("ONRAMP_DATABASE__MAX_CONNECTIONS", "0");
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("`database.max_connections`: must be at least 1"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn smtp_comes_from_the_environment_and_its_password_stays_hidden() {
        Jail::expect_with(|jail| {
            jail.set_env("ONRAMP_MAIL__SMTP__HOST", "smtp.example.org");
            jail.set_env("ONRAMP_MAIL__SMTP__USERNAME", "onramp");
            jail.set_env("ONRAMP_MAIL__SMTP__PASSWORD", "hunter2");
            jail.set_env("ONRAMP_PUBLIC_URL", "https://onramp.example.org/");
            let config = load_in(jail, &Sources::default()).map_err(|e| e.to_string())?;
            let smtp = config.mail.smtp.clone().ok_or("no smtp")?;
            assert_eq!(
                (smtp.host.as_str(), smtp.security, smtp.timeout_seconds),
                ("smtp.example.org", SmtpSecurity::Starttls, 15)
            );
            assert_eq!(config.portal_url(), "https://onramp.example.org");
            assert!(!format!("{config:?}").contains("hunter2"));
            Ok(())
        });
    }

    #[test]
    fn bad_mail_settings_name_the_setting() {
        Jail::expect_with(|jail| {
            jail.set_env("ONRAMP_PUBLIC_URL", "onramp.example.org");
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("`public_url`") && error.contains("https://"), "{error}");
            jail.set_env("ONRAMP_PUBLIC_URL", "https://onramp.example.org");
            jail.create_file("onramp.toml", "[mail.smtp]\nhost = \"smtp.example.org\"\nsecurity = \"ssl\"\n")?;
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("mail.smtp.security"), "{error}");
            jail.create_file("onramp.toml", "[mail.smtp]\nhost = \"smtp.example.org\"\nusername = \"x\"\n")?;
            let error = load_in(jail, &Sources::default()).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("`mail.smtp.password`"), "{error}");
            Ok(())
        });
    }

    #[test]
    fn the_mail_folder_sits_beside_the_database_file() {
        let config = Config {
            database_url: DatabaseUrl::parse("sqlite:/var/lib/onramp/onramp.db").unwrap(),
            ..Config::default()
        };
        assert_eq!(config.mail_folder(), PathBuf::from("/var/lib/onramp/mail"));
        assert_eq!(Config::default().mail_folder(), PathBuf::from("./mail"));
    }

    #[test]
    fn debug_output_hides_the_database_password() {
        let config = Config {
            database_url: DatabaseUrl::parse("postgres://app:hunter2@db/onramp").unwrap(),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
