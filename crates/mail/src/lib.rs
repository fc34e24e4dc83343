//! Onramp's e-mail (NOT-1, NOT-2). [`letter::compose`] puts a notification into words; [`render`] turns the
//! words into a text part and an HTML part from one pair of templates; [`build`] makes the MIME message with
//! the stable Message-ID the dispatcher gives it; a [`Transport`] delivers it over SMTP (lettre, rustls) or
//! writes it as an `.eml` file in a folder. Nothing here touches the database: the service decides what to
//! send and records what was sent.

pub mod letter;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use askama::Template;
use jiff::Timestamp;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use letter::{Extras, Letter, Letterhead, compose};

/// Why a message was not delivered. [`MailError::is_permanent`] says whether trying again can help.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the address {address:?} cannot be used: {reason}")]
    Address { address: String, reason: String },
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the message could not be rendered: {0}")]
    Render(#[from] askama::Error),
    /// A 5xx answer: the server will never take this message as it is.
    #[error("the mail server refused the message: {0}")]
    Rejected(String),
    /// Connection refused, timed out, a 4xx answer: worth another try later.
    #[error("the mail server could not take the message now: {0}")]
    Unavailable(String),
    #[error("the mail folder {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("the SMTP settings cannot be used: {0}")]
    Settings(String),
}

impl MailError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Address { .. } | Self::Build(_) | Self::Render(_) | Self::Rejected(_) | Self::Settings(_))
    }
}

/// A message in words and in its two parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Template)]
#[template(path = "letter.txt")]
struct TextPart<'a> {
    letter: &'a Letter,
}

#[derive(Template)]
#[template(path = "letter.html")]
struct HtmlPart<'a> {
    letter: &'a Letter,
    provider: &'a str,
}

/// The text and HTML parts of `letter`.
pub fn render(letter: &Letter, head: &Letterhead) -> Result<Rendered, MailError> {
    let text = TextPart { letter }.render()?;
    let html = HtmlPart { letter, provider: &head.provider }.render()?;
    Ok(Rendered { subject: letter.subject.clone(), text, html })
}

/// Who the messages come from, e.g. "NHS England Connection Agreements <support@…>".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    pub name: String,
    pub address: String,
}

fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox, MailError> {
    let email = address.parse().map_err(|e: lettre::address::AddressError| MailError::Address {
        address: address.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Mailbox::new(name.map(str::to_owned), email))
}

/// The Message-ID of an outbox row: the same on every attempt, so a duplicate after a crash can be recognised.
pub fn message_id(outbox_id: &str, portal: &str) -> String {
    let host = portal.split("://").nth(1).unwrap_or(portal).split(['/', ':']).next().unwrap_or("onramp");
    let host = if host.is_empty() { "onramp" } else { host };
    format!("<{outbox_id}@{host}>")
}

/// The MIME message: `rendered` from `sender` to every address of `to`, dated `date`.
pub fn build(
    rendered: &Rendered,
    sender: &Sender,
    to: &[String],
    message_id: &str,
    date: Timestamp,
) -> Result<Message, MailError> {
    if to.is_empty() {
        return Err(MailError::Build("it has no recipients".into()));
    }
    let mut builder = Message::builder()
        .from(mailbox(Some(&sender.name), &sender.address)?)
        .message_id(Some(message_id.to_owned()))
        .date(SystemTime::from(date))
        .subject(rendered.subject.clone());
    for address in to {
        builder = builder.to(mailbox(None, address)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))
        .map_err(|e| MailError::Build(e.to_string()))
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// No TLS: only for a relay on the same host or a test server.
    Plain,
    /// Plain connection upgraded with STARTTLS, required (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// What [`Transport::smtp`] needs.
#[derive(Clone)]
pub struct SmtpOptions {
    pub host: String,
    pub port: Option<u16>,
    pub security: Security,
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.credentials.as_ref().map(|(user, _)| user))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp {
        relay: AsyncSmtpTransport<Tokio1Executor>,
        describe: String,
    },
    /// Each message as `<name>.eml` in the folder (the default with no SMTP server configured).
    Folder(PathBuf),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Transport {
    /// An SMTP relay. It connects on the first send, not here.
    pub fn smtp(options: &SmtpOptions) -> Result<Self, MailError> {
        let settings = |e: lettre::transport::smtp::Error| MailError::Settings(e.to_string());
        let mut builder = match options.security {
            Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&options.host),
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&options.host).map_err(settings)?
            }
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&options.host).map_err(settings)?,
        };
        if let Some(port) = options.port {
            builder = builder.port(port);
        }
        if let Some((user, password)) = &options.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let relay = builder.timeout(Some(options.timeout)).build();
        let port = options.port.map(|p| format!(":{p}")).unwrap_or_default();
        Ok(Self::Smtp { relay, describe: format!("SMTP {}{port} ({:?})", options.host, options.security) })
    }

    pub fn folder(path: impl Into<PathBuf>) -> Self {
        Self::Folder(path.into())
    }

    /// The folder messages are written to, for a transport that writes files.
    pub fn folder_path(&self) -> Option<&Path> {
        match self {
            Self::Folder(path) => Some(path),
            Self::Smtp { .. } => None,
        }
    }

    /// In words, for logs and the staff mail page.
    pub fn describe(&self) -> String {
        match self {
            Self::Smtp { describe, .. } => describe.clone(),
            Self::Folder(path) => format!(".eml files in {}", path.display()),
        }
    }

    /// Delivers `message`; a folder transport names the file `<name>.eml`, so sending the same name again
    /// replaces the file instead of adding a copy.
    pub async fn send(&self, message: &Message, name: &str) -> Result<(), MailError> {
        match self {
            Self::Smtp { relay, .. } => relay.send(message.clone()).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    MailError::Rejected(e.to_string())
                } else {
                    MailError::Unavailable(e.to_string())
                }
            }),
            Self::Folder(folder) => write_eml(folder, name, &message.formatted()).await,
        }
    }
}

/// The path of the `.eml` file a folder transport writes for `name`.
pub fn eml_path(folder: &Path, name: &str) -> PathBuf {
    folder.join(format!("{name}.eml"))
}

async fn write_eml(folder: &Path, name: &str, bytes: &[u8]) -> Result<(), MailError> {
    let failed = |e: std::io::Error| MailError::Folder { path: folder.to_owned(), reason: e.to_string() };
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(MailError::Build(format!("{name:?} is not a file name")));
    }
    tokio::fs::create_dir_all(folder).await.map_err(failed)?;
    // Written aside and renamed, so a reader never sees half a message.
    let partial = folder.join(format!(".{name}.eml.partial"));
    tokio::fs::write(&partial, bytes).await.map_err(failed)?;
    tokio::fs::rename(&partial, eml_path(folder, name)).await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_is_stable_and_names_the_portal_host() {
        assert_eq!(message_id("abc", "https://onramp.example.org:8443/x"), "<abc@onramp.example.org>");
        assert_eq!(message_id("abc", "http://127.0.0.1:8080"), "<abc@127.0.0.1>");
    }

    #[tokio::test]
    async fn a_folder_transport_writes_one_file_per_name() {
        let dir = std::env::temp_dir().join(format!("onramp-mail-test-{}", std::process::id()));
        let transport = Transport::folder(&dir);
        let rendered = Rendered { subject: "Hi".into(), text: "Hello".into(), html: "<p>Hello</p>".into() };
        let sender = Sender { name: "Onramp".into(), address: "desk@onramp.example".into() };
        let to = ["pat@acme.example".to_owned()];
        let at: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let message = build(&rendered, &sender, &to, "<m1@onramp.example>", at).unwrap();
        transport.send(&message, "m1").await.unwrap();
        transport.send(&message, "m1").await.unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(files, [std::ffi::OsString::from("m1.eml")]);
        let eml = std::fs::read_to_string(eml_path(&dir, "m1")).unwrap();
        assert!(eml.contains("Message-ID: <m1@onramp.example>"), "{eml}");
        assert!(eml.contains("To: pat@acme.example"), "{eml}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_address_is_a_permanent_error() {
        let rendered = Rendered { subject: "Hi".into(), text: "x".into(), html: "x".into() };
        let sender = Sender { name: "Onramp".into(), address: "desk@onramp.example".into() };
        let at: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let error = build(&rendered, &sender, &["not an address".into()], "<m@x>", at).unwrap_err();
        assert!(error.is_permanent(), "{error}");
        assert!(build(&rendered, &sender, &[], "<m@x>", at).unwrap_err().is_permanent());
    }
}
