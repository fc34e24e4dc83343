//! The named values the store takes and gives back, beside the domain types.

use jiff::Timestamp;
use onramp_domain::agreement::{Actor, Agreement, AgreementId};
use onramp_domain::{OrganisationId, User};
use uuid::Uuid;

/// A gapless sequence (CA numbers, case numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sequence {
    Agreement,
    Case,
}

impl Sequence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agreement => "agreement",
            Self::Case => "case",
        }
    }
}

/// The user a session belongs to and the session's CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user: User,
    pub csrf_token: String,
}

/// Failed sign-ins of one address since its last success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginFailures {
    pub count: i64,
    pub last_failure: Timestamp,
}

/// A terms version published in this Onramp (CA-5) and how far its uplift got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub version: u32,
    pub published_at: Timestamp,
    pub published_by: String,
    pub finished_at: Option<Timestamp>,
}

/// The exact terms a contact accepted (TC-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedTerms {
    pub terms_version: u32,
    pub sha256: String,
    pub text: String,
}

/// An organisation's Active and Draft agreements (CA-10: at most one of each).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LiveAgreements {
    pub active: Option<Agreement>,
    pub draft: Option<Agreement>,
}

/// A notification to deliver (NOT-2), with its recipients resolved when it was written. The agreement it is
/// filed under is the one the notification is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    pub notification: onramp_domain::notification::Notification,
    pub recipients: Vec<String>,
}

/// A row of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: Uuid,
    pub notification: onramp_domain::notification::Notification,
    pub agreement_id: Option<AgreementId>,
    pub organisation_id: OrganisationId,
    pub recipients: Vec<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// The job kind that delivers one outbox row (NOT-2). Every outbox row is written with one such job, whose
/// id is the row's id and whose payload is `{}`.
pub const DELIVERY_JOB_KIND: &str = "deliver_notification";

/// One outbox row as the mail dispatcher and the staff mail page see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub kind: String,
    /// The notification, or why the row does not decode (a kind from an older build, say).
    pub notification: Result<onramp_domain::notification::Notification, String>,
    pub recipients: Vec<String>,
    pub created_at: Timestamp,
    pub delivery: Delivery,
}

/// Where an outbox row's delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Sent {
        at: Timestamp,
        message_id: String,
    },
    /// Waiting for its first try or for a retry; `attempts` counts tries begun, so a try that ended without
    /// a result (a crashed worker) counts too.
    Queued {
        attempts: i64,
        next_try: Timestamp,
        last_error: Option<String>,
    },
    /// Gave up after its last retry, or could never work; an operator may retry it.
    Failed {
        attempts: i64,
        at: Timestamp,
        error: String,
    },
    /// Neither sent nor queued: its job was removed by hand.
    NotQueued,
}

/// An audit entry to append; the store assigns its place in the chain and its hashes. The actor is stored
/// as [`Actor::audit_label`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub actor: Actor,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Work to do later, durably: a row of `background_jobs`. `kind` says which handler runs it and `payload`
/// (JSON) what it needs. A job with a `dedup_key` replaces the pending job with that key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: &'static str,
    pub dedup_key: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub payload: String,
    /// Higher runs first among due jobs.
    pub priority: i32,
    pub run_at: Timestamp,
}

/// A due job a worker claimed: nobody else takes it until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: Uuid,
    pub kind: String,
    pub dedup_key: Option<String>,
    pub organisation_id: Option<OrganisationId>,
    pub payload: String,
    pub priority: i32,
    pub run_at: Timestamp,
    /// Tries so far, this one included.
    pub attempts: i64,
}

/// A job that failed for good: it is never claimed again unless retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedJob {
    pub job: ClaimedJob,
    pub last_error: Option<String>,
    pub failed_at: Timestamp,
}

/// How one kind of job stands in the queue (OPS-2 metrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub kind: String,
    /// Not yet run and not failed, due or not.
    pub waiting: i64,
    /// Of those, due now.
    pub due: i64,
    /// Failed for good.
    pub failed: i64,
    /// When the oldest due job became due.
    pub oldest_due: Option<Timestamp>,
}

/// How the database connection pool is used (OPS-2 metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub open: u32,
    pub idle: u32,
}

/// A job that has not run yet, as listed by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingJob {
    pub kind: String,
    pub dedup_key: String,
    pub payload: String,
    pub run_at: Timestamp,
}

/// A whole job row, as tests inspect it.
#[cfg(feature = "test-support")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub job: ClaimedJob,
    pub locked_until: Option<Timestamp>,
    pub last_error: Option<String>,
    pub failed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A flow file as it was loaded: the flow's id and version, and the exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowSource {
    pub flow_id: String,
    pub version: u32,
    /// SHA-256 of `source`, in lower-case hex.
    pub sha256: String,
    /// Where it was read from (`flows/standard-api.toml`).
    pub file: String,
    pub source: String,
}

/// A stored version of a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlowVersion {
    pub flow_id: String,
    pub version: u32,
    pub sha256: String,
    pub file: String,
    pub source: String,
    /// When this version was first loaded.
    pub loaded_at: Timestamp,
}

/// A loaded flow whose id and version were stored before with other text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowVersionClash {
    pub flow_id: String,
    pub version: u32,
    pub file: String,
    /// When the stored text of that version was loaded.
    pub stored_at: Timestamp,
}

/// The application a connection agreement was created from (DOS-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementSource {
    pub agreement_id: onramp_domain::agreement::AgreementId,
    pub agreement_number: onramp_domain::AgreementNumber,
    pub application_id: onramp_domain::application::ApplicationId,
    /// SHA-256 of the approved answers the agreement rests on.
    pub answers_sha256: String,
    pub created_at: Timestamp,
}

/// A section waiting for a reviewer (DOS-3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedSection {
    pub application: onramp_domain::application::ApplicationId,
    pub organisation_id: OrganisationId,
    pub product_name: String,
    pub section: onramp_domain::application::SectionKey,
    pub submitted_at: Timestamp,
}
