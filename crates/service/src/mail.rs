//! Delivering the outbox (NOT-1, NOT-2). Every outbox row comes with a `deliver_notification` job of the same
//! id ([`onramp_store::DELIVERY_JOB_KIND`]); the job worker claims it under a lease, and [`deliver`] renders
//! the row, sends it and marks it sent. Sending is outside the database, so delivery is *at least once*:
//! a worker that dies after the server took the message and before the row was marked leaves the job to be
//! claimed again when its lease runs out, and the message goes again with the same Message-ID
//! ([`onramp_mail::message_id`]), which receiving systems use to drop the copy (the folder transport
//! rewrites the same file). Failures retry with the queue's back-off; after the last retry, or at once when
//! retrying cannot help (a 5xx answer, an address that does not parse, a row that does not decode), the job
//! fails and shows on the staff mail page, from where [`retry`] queues it again.

use jiff::Timestamp;
use onramp_domain::agreement::Origin;
use onramp_domain::notification::Notification;
use onramp_domain::{StaffRole, User};
use onramp_mail::{Extras, Letterhead, MailError, Rendered, Security, Sender, SmtpOptions, Transport};
use onramp_store::{ClaimedJob, OutboxEntry, StoreError};
use uuid::Uuid;

use crate::AppContext;
use crate::config::{Config, SmtpSecurity};
use crate::lifecycle::Fired;

/// How Onramp sends mail: built once from the configuration at start-up.
#[derive(Debug, Clone)]
pub struct Mailer {
    pub transport: Transport,
    pub sender: Sender,
    pub letterhead: Letterhead,
}

impl Mailer {
    pub fn from_config(config: &Config) -> Result<Self, MailError> {
        let transport = match &config.mail.smtp {
            Some(smtp) => Transport::smtp(&SmtpOptions {
                host: smtp.host.clone(),
                port: smtp.port,
                security: match smtp.security {
                    SmtpSecurity::Plain => Security::Plain,
                    SmtpSecurity::Starttls => Security::StartTls,
                    SmtpSecurity::Tls => Security::Tls,
                },
                credentials: smtp.username.clone().zip(smtp.password.clone()),
                timeout: std::time::Duration::from_secs(smtp.timeout_seconds),
            })?,
            None => Transport::folder(config.mail_folder()),
        };
        let provider = config.provider.name.clone();
        let sender = Sender {
            name: config.mail.from_name.clone().unwrap_or_else(|| format!("{provider} Connection Agreements")),
            address: config.mail.from_address.as_ref().unwrap_or(&config.provider.service_desk_email).to_string(),
        };
        let letterhead = Letterhead {
            portal: config.portal_url(),
            provider,
            service_desk: config.provider.service_desk_email.to_string(),
        };
        Ok(Self { transport, sender, letterhead })
    }
}

/// Why one delivery did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the outbox row {0} does not exist")]
    NoSuchRow(Uuid),
    #[error("the outbox row does not decode: {0}")]
    Undecodable(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeliveryError {
    /// Trying again cannot help.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::NoSuchRow(_) | Self::Undecodable(_) => true,
            Self::Mail(error) => error.is_permanent(),
            Self::Store(_) => false,
        }
    }
}

/// The words of `notification` as this Onramp sends them.
pub fn render(context: &AppContext, notification: &Notification) -> Result<Rendered, MailError> {
    let summary_of_changes = match notification {
        Notification::Issued { agreement, origin: Origin::TermsChange } => {
            context.terms.get(agreement.terms_version).map(|t| t.summary_of_changes.as_slice()).unwrap_or_default()
        }
        _ => &[],
    };
    let head = &context.mailer.letterhead;
    let letter = onramp_mail::compose(notification, head, Extras { summary_of_changes });
    onramp_mail::render(&letter, head)
}

/// The Message-ID the outbox row `id` goes out with, on every attempt.
pub fn message_id(context: &AppContext, id: Uuid) -> String {
    onramp_mail::message_id(&id.to_string(), &context.mailer.letterhead.portal)
}

/// What [`send`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The transport took the message with this Message-ID; the row is not marked yet.
    Now { message_id: String },
    /// The row was marked sent before (an earlier attempt finished): nothing went out.
    Already,
}

/// Sends the outbox row of the claimed delivery `job`, without marking it: the first half of [`deliver`].
#[tracing::instrument(skip(context, job), fields(outbox = %job.id, attempt = job.attempts))]
pub async fn send(context: &AppContext, job: &ClaimedJob, now: Timestamp) -> Result<Sent, DeliveryError> {
    let entry: OutboxEntry = context.store.outbox_entry(job.id).await?.ok_or(DeliveryError::NoSuchRow(job.id))?;
    if matches!(entry.delivery, onramp_store::Delivery::Sent { .. }) {
        return Ok(Sent::Already);
    }
    if job.attempts > 1 {
        tracing::warn!(
            "an earlier attempt did not finish; if it reached the server, this is a copy with the same Message-ID"
        );
    }
    let notification = entry.notification.map_err(DeliveryError::Undecodable)?;
    let rendered = render(context, &notification)?;
    let message_id = message_id(context, entry.id);
    let mailer = &context.mailer;
    let message = onramp_mail::build(&rendered, &mailer.sender, &entry.recipients, &message_id, now)?;
    mailer.transport.send(&message, &entry.id.to_string()).await?;
    tracing::info!(kind = entry.kind, recipients = entry.recipients.len(), %message_id, "mail sent");
    Ok(Sent::Now { message_id })
}

/// Sends the row of the claimed delivery `job` and marks it sent, finishing the job.
pub async fn deliver(context: &AppContext, job: &ClaimedJob, now: Timestamp) -> Result<Fired, DeliveryError> {
    match send(context, job, now).await? {
        Sent::Now { message_id } => {
            context.store.mark_notification_sent(job, &message_id, now).await?;
            Ok(Fired::Changed)
        }
        Sent::Already => {
            context.store.mark_notification_sent(job, "", now).await?;
            Ok(Fired::NothingToDo)
        }
    }
}

/// Who may see the mail log: provider staff who run the service (admins and the agreement team); in demo mode
/// anyone, so a newcomer sees the mail the demo produced.
pub fn may_read_mail_log(context: &AppContext, user: Option<&User>) -> bool {
    context.demo_clock.is_some()
        || user.is_some_and(|u| u.has_staff_role(StaffRole::Admin) || u.has_staff_role(StaffRole::AgreementTeam))
}

/// Whether the mail page may show the body of `notification`: a password-reset or address-verification
/// link lets whoever holds it act as the recipient, so outside demo mode staff see that it was sent, not the
/// link.
pub fn may_show_body(context: &AppContext, notification: &Notification) -> bool {
    context.demo_clock.is_some()
        || !matches!(notification, Notification::PasswordReset { .. } | Notification::AddressVerification { .. })
}

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("only provider staff who run the service may retry mail")]
    NotAllowed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues a failed delivery again, from its first attempt.
pub async fn retry(context: &AppContext, user: Option<&User>, id: Uuid) -> Result<(), RetryError> {
    if !may_read_mail_log(context, user) {
        return Err(RetryError::NotAllowed);
    }
    context.store.retry_failed_job(id, context.clock.now()).await?;
    tracing::info!(outbox = %id, by = ?user.map(|u| u.id), "failed mail queued again");
    Ok(())
}
