//! Notifications (NOT-1, NOT-2): every message Onramp sends, as one typed enum. The outbox stores a
//! notification as its kind (the serde tag) and a JSON payload (the variant's fields); [`Notification::to_stored`]
//! and [`Notification::from_stored`] are the only way between the two, so each kind is spelled once.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::agreement::{Agreement, AgreementId, AgreementState, NotificationKind, Origin, SignatureType};
use crate::application::ApplicationId;
use crate::case::CaseState;
use crate::{AgreementNumber, CaseNumber, EmailAddress, TeamRole};

/// What a message about an agreement needs to say which agreement it is and link to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementSummary {
    pub id: AgreementId,
    pub number: AgreementNumber,
    pub name: String,
    pub organisation: String,
    pub state: AgreementState,
    pub terms_version: u32,
    pub review_deadline: Option<Timestamp>,
    pub case: Option<CaseNumber>,
    /// The review deadline accepts the agreement (a terms change) rather than cancelling it.
    #[serde(default)]
    pub auto_accepts: bool,
}

impl AgreementSummary {
    pub fn of(agreement: &Agreement, organisation: &str) -> Self {
        Self {
            id: agreement.id,
            number: agreement.number,
            name: agreement.name.clone(),
            organisation: organisation.to_owned(),
            state: agreement.state,
            terms_version: agreement.terms_version,
            review_deadline: agreement.review_deadline,
            case: agreement.case_number,
            auto_accepts: agreement.signature_type == SignatureType::AutoAccepted,
        }
    }
}

/// One message to send. The variant is the reason; its fields are everything the mail needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Notification {
    /// An agreement was issued to its contacts (new contract, version-6 uplift or terms change).
    Issued {
        agreement: AgreementSummary,
        origin: Origin,
    },
    /// A deadline is this many days away (CA-11).
    Reminder {
        agreement: AgreementSummary,
        days_before: u32,
        deadline: Timestamp,
    },
    Cancelled {
        agreement: AgreementSummary,
    },
    Activated {
        agreement: AgreementSummary,
    },
    TerminationScheduled {
        agreement: AgreementSummary,
        end_date: Date,
    },
    Terminated {
        agreement: AgreementSummary,
    },
    QueryRaised {
        agreement: AgreementSummary,
    },
    /// A public comment on a case (CASE-1); internal notes are never sent to the connecting party.
    CaseActivity {
        agreement: AgreementId,
        case: CaseNumber,
        author: String,
        body: String,
    },
    CaseState {
        agreement: AgreementId,
        case: CaseNumber,
        author: String,
        state: CaseState,
    },
    /// An invitation to join an organisation's team (SPEC §1).
    TeamInvitation {
        organisation: String,
        role: TeamRole,
        invited_by: String,
        register_with: EmailAddress,
        expires_at: Timestamp,
    },
    TeamMemberAdded {
        organisation: String,
        role: TeamRole,
        added_by: String,
    },
    /// SEC-2: the link that sets a new password; `path` is relative to the portal's address.
    PasswordReset {
        full_name: String,
        path: String,
        expires_at: Timestamp,
    },
    /// SEC-1: the single-use link that confirms a new account's address; `path` is relative to the portal.
    AddressVerification {
        full_name: String,
        path: String,
        expires_at: Timestamp,
    },
    /// SEC-2: someone registered with an address that has an account already. The page answered as for a new
    /// account (no oracle); the owner of the address is told instead, with the ways back in.
    AccountExists {
        full_name: String,
    },
    /// DOS-3: a section of an application moved on; the other side is told (a submission tells the provider,
    /// a review tells the organisation).
    ApplicationUpdate {
        application: ApplicationId,
        product_name: String,
        organisation: String,
        section: String,
        event: ApplicationEvent,
    },
}

/// What happened to an application, for [`Notification::ApplicationUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ApplicationEvent {
    Submitted,
    ChangesRequested {
        comments: usize,
    },
    Approved,
    Rejected {
        reason: String,
    },
    /// DOS-5: a reviewer set the calls and the go-live agreed with the supplier; what they are now.
    MilestonesChanged {
        preparation_call: Option<jiff::civil::Date>,
        demonstration_call: Option<jiff::civil::Date>,
        go_live: Option<jiff::civil::Date>,
    },
}

/// A notification as the outbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNotification {
    pub kind: String,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a stored notification could not be read: {0}")]
pub struct NotificationFormatError(String);

impl Notification {
    /// The message the state machine's `Effect::Notify` asks for, about `agreement`.
    pub fn about_agreement(kind: NotificationKind, agreement: AgreementSummary) -> Self {
        match kind {
            NotificationKind::Issued { origin } => Self::Issued { agreement, origin },
            NotificationKind::Reminder { days_before, deadline } => Self::Reminder { agreement, days_before, deadline },
            NotificationKind::Cancelled => Self::Cancelled { agreement },
            NotificationKind::Activated => Self::Activated { agreement },
            NotificationKind::TerminationScheduled { end_date } => Self::TerminationScheduled { agreement, end_date },
            NotificationKind::Terminated => Self::Terminated { agreement },
            NotificationKind::QueryRaised => Self::QueryRaised { agreement },
        }
    }

    /// The agreement the message is about, if any.
    pub fn agreement(&self) -> Option<AgreementId> {
        match self {
            Self::Issued { agreement, .. }
            | Self::Reminder { agreement, .. }
            | Self::Cancelled { agreement }
            | Self::Activated { agreement }
            | Self::TerminationScheduled { agreement, .. }
            | Self::Terminated { agreement }
            | Self::QueryRaised { agreement } => Some(agreement.id),
            Self::CaseActivity { agreement, .. } | Self::CaseState { agreement, .. } => Some(*agreement),
            Self::TeamInvitation { .. }
            | Self::TeamMemberAdded { .. }
            | Self::PasswordReset { .. }
            | Self::AddressVerification { .. }
            | Self::AccountExists { .. }
            | Self::ApplicationUpdate { .. } => None,
        }
    }

    /// Splits the notification into the outbox's kind and JSON payload.
    pub fn to_stored(&self) -> Result<StoredNotification, NotificationFormatError> {
        let value = serde_json::to_value(self).map_err(|e| NotificationFormatError(e.to_string()))?;
        let serde_json::Value::Object(mut fields) = value else {
            return Err(NotificationFormatError("not an object".into()));
        };
        let kind = match fields.remove("kind") {
            Some(serde_json::Value::String(kind)) => kind,
            _ => return Err(NotificationFormatError("no kind".into())),
        };
        let payload = fields.remove("payload").unwrap_or(serde_json::Value::Null).to_string();
        Ok(StoredNotification { kind, payload })
    }

    /// Reads back what [`Self::to_stored`] wrote.
    pub fn from_stored(kind: &str, payload: &str) -> Result<Self, NotificationFormatError> {
        let payload: serde_json::Value =
            serde_json::from_str(payload).map_err(|e| NotificationFormatError(e.to_string()))?;
        serde_json::from_value(serde_json::json!({ "kind": kind, "payload": payload }))
            .map_err(|e| NotificationFormatError(format!("{kind}: {e}")))
    }

    /// The stored kind, as [`Self::to_stored`] writes it.
    pub fn kind(&self) -> String {
        self.to_stored().map(|stored| stored.kind).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> AgreementSummary {
        AgreementSummary {
            id: AgreementId(uuid::Uuid::nil()),
            number: AgreementNumber::from_sequence(7).unwrap(),
            name: "X26 - Acme".into(),
            organisation: "Acme".into(),
            state: AgreementState::Draft,
            terms_version: 6,
            review_deadline: None,
            case: None,
            auto_accepts: false,
        }
    }

    #[test]
    fn every_kind_round_trips_through_the_stored_form() {
        let at: Timestamp = "2027-01-01T00:00:00Z".parse().unwrap();
        let all = [
            Notification::Issued { agreement: summary(), origin: Origin::TermsChange },
            Notification::Reminder { agreement: summary(), days_before: 7, deadline: at },
            Notification::Cancelled { agreement: summary() },
            Notification::Activated { agreement: summary() },
            Notification::TerminationScheduled { agreement: summary(), end_date: jiff::civil::date(2027, 3, 1) },
            Notification::Terminated { agreement: summary() },
            Notification::QueryRaised { agreement: summary() },
            Notification::CaseActivity {
                agreement: AgreementId(uuid::Uuid::nil()),
                case: CaseNumber::from_sequence(1).unwrap(),
                author: "A".into(),
                body: "b".into(),
            },
            Notification::CaseState {
                agreement: AgreementId(uuid::Uuid::nil()),
                case: CaseNumber::from_sequence(1).unwrap(),
                author: "A".into(),
                state: CaseState::Resolved,
            },
            Notification::TeamInvitation {
                organisation: "Acme".into(),
                role: TeamRole::Viewer,
                invited_by: "Owen".into(),
                register_with: EmailAddress::parse("v@acme.example").unwrap(),
                expires_at: at,
            },
            Notification::TeamMemberAdded {
                organisation: "Acme".into(),
                role: TeamRole::Admin,
                added_by: "Owen".into(),
            },
            Notification::PasswordReset { full_name: "Pat".into(), path: "/password-reset/x".into(), expires_at: at },
            Notification::AddressVerification { full_name: "Pat".into(), path: "/verify/x".into(), expires_at: at },
            Notification::AccountExists { full_name: "Pat".into() },
        ];
        let mut kinds = Vec::new();
        for notification in all {
            let stored = notification.to_stored().unwrap();
            assert_eq!(Notification::from_stored(&stored.kind, &stored.payload).unwrap(), notification);
            kinds.push(stored.kind);
        }
        assert_eq!(
            kinds,
            [
                "issued",
                "reminder",
                "cancelled",
                "activated",
                "termination_scheduled",
                "terminated",
                "query_raised",
                "case_activity",
                "case_state",
                "team_invitation",
                "team_member_added",
                "password_reset",
                "address_verification",
                "account_exists"
            ]
        );
    }

    #[test]
    fn a_stored_row_of_an_unknown_kind_is_an_error_not_a_panic() {
        assert!(Notification::from_stored("carrier_pigeon", "{}").is_err());
        assert!(Notification::from_stored("issued", "not json").is_err());
    }
}
