//! Row shapes shared by both backends, and their conversion into domain types. A row that no longer parses
//! (someone edited the database by hand) becomes `StoreError::Corrupt` naming the entity, never a panic.

use jiff::Timestamp;
use onramp_domain::{
    CompanyNumber, EmailAddress, Membership, NewOrganisation, OdsCode, Organisation, OrganisationId, PersonName,
    StaffRole, User, UserId,
};
use uuid::Uuid;

use crate::StoreError;

/// Instants are stored as microseconds since the Unix epoch on both backends.
pub(crate) fn to_micros(instant: Timestamp) -> i64 {
    instant.as_microsecond()
}

pub(crate) fn from_micros(entity: &'static str, micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros).map_err(|e| corrupt(entity, e))
}

pub(crate) fn corrupt(entity: &'static str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { entity, reason: reason.to_string() }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct OrganisationRow {
    id: Uuid,
    name: String,
    ods_code: String,
    company_number: Option<String>,
    registered_address: String,
    kind: String,
    delivery_notice_mailbox: String,
    im1_supplier: bool,
    created_at: i64,
}

impl TryFrom<OrganisationRow> for Organisation {
    type Error = StoreError;

    fn try_from(row: OrganisationRow) -> Result<Self, Self::Error> {
        const ENTITY: &str = "organisation";
        Ok(Organisation {
            id: OrganisationId(row.id),
            details: NewOrganisation {
                name: row.name,
                ods_code: OdsCode::parse(&row.ods_code).map_err(|e| corrupt(ENTITY, e))?,
                company_number: row
                    .company_number
                    .as_deref()
                    .map(CompanyNumber::parse)
                    .transpose()
                    .map_err(|e| corrupt(ENTITY, e))?,
                registered_address: row.registered_address,
                kind: row.kind.parse().map_err(|e| corrupt(ENTITY, e))?,
                delivery_notice_mailbox: EmailAddress::parse(&row.delivery_notice_mailbox)
                    .map_err(|e| corrupt(ENTITY, e))?,
                im1_supplier: row.im1_supplier,
            },
            created_at: from_micros(ENTITY, row.created_at)?,
        })
    }
}

/// A user joined with their membership, if any. Staff roles come from a second query.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct UserRow {
    pub(crate) id: Uuid,
    email: String,
    full_name: String,
    password_hash: Option<String>,
    created_at: i64,
    organisation_id: Option<Uuid>,
    team_role: Option<String>,
    onboarding_contact: Option<bool>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StaffRoleRow {
    pub(crate) user_id: Uuid,
    role: String,
}

impl UserRow {
    pub(crate) fn into_user(self, roles: &[StaffRoleRow]) -> Result<User, StoreError> {
        const ENTITY: &str = "user";
        let membership = match (self.organisation_id, self.team_role) {
            (Some(organisation_id), Some(role)) => Some(Membership {
                organisation_id: OrganisationId(organisation_id),
                role: role.parse().map_err(|e| corrupt(ENTITY, e))?,
                onboarding_contact: self.onboarding_contact.unwrap_or(false),
            }),
            _ => None,
        };
        let mut staff_roles = roles
            .iter()
            .filter(|row| row.user_id == self.id)
            .map(|row| row.role.parse::<StaffRole>().map_err(|e| corrupt(ENTITY, e)))
            .collect::<Result<Vec<_>, _>>()?;
        staff_roles.sort();
        Ok(User {
            id: UserId(self.id),
            email: EmailAddress::parse(&self.email).map_err(|e| corrupt(ENTITY, e))?,
            full_name: PersonName::parse(&self.full_name).map_err(|e| corrupt(ENTITY, e))?,
            password_hash: self.password_hash,
            staff_roles,
            membership,
            created_at: from_micros(ENTITY, self.created_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgreementRow {
    data: String,
}

impl AgreementRow {
    pub(crate) fn into_agreement(self) -> Result<onramp_domain::agreement::Agreement, StoreError> {
        serde_json::from_str(&self.data).map_err(|e| corrupt("agreement", e))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LedgerRow {
    at: i64,
    event: String,
    timer: String,
    actor: String,
    remaining_us: i64,
    deadline: Option<i64>,
}

impl LedgerRow {
    pub(crate) fn into_entry(self) -> Result<onramp_domain::agreement::LedgerEntry, StoreError> {
        use onramp_domain::agreement::{LedgerEntry, LedgerEvent};
        const ENTITY: &str = "timer ledger entry";
        let event = [
            LedgerEvent::Started,
            LedgerEvent::Paused,
            LedgerEvent::Resumed,
            LedgerEvent::Reset,
            LedgerEvent::Fired,
            LedgerEvent::Stopped,
        ]
        .into_iter()
        .find(|e| e.as_str() == self.event)
        .ok_or_else(|| corrupt(ENTITY, format!("unknown event {:?}", self.event)))?;
        Ok(LedgerEntry {
            event,
            timer: serde_json::from_str(&self.timer).map_err(|e| corrupt(ENTITY, e))?,
            at: from_micros(ENTITY, self.at)?,
            actor: serde_json::from_str(&self.actor).map_err(|e| corrupt(ENTITY, e))?,
            remaining: jiff::SignedDuration::from_micros(self.remaining_us),
            deadline: self.deadline.map(|d| from_micros(ENTITY, d)).transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    id: Uuid,
    agreement_id: Uuid,
    organisation_id: Uuid,
    kind: String,
    parameter: i64,
    run_at: i64,
    attempts: i64,
}

impl JobRow {
    pub(crate) fn into_job(self) -> Result<crate::Job, StoreError> {
        use onramp_domain::agreement::{AgreementId, TimerKind};
        Ok(crate::Job {
            id: self.id,
            agreement_id: AgreementId(self.agreement_id),
            organisation_id: OrganisationId(self.organisation_id),
            timer: TimerKind::decode(&self.kind, self.parameter)
                .ok_or_else(|| corrupt("job", format!("unknown timer {:?}", self.kind)))?,
            run_at: from_micros("job", self.run_at)?,
            attempts: self.attempts,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub(crate) id: Uuid,
    number: String,
    agreement_id: Uuid,
    organisation_id: Uuid,
    state: String,
    subject: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaseActivityRow {
    seq: i64,
    at: i64,
    author: String,
    visibility: String,
    body: String,
}

impl CaseRow {
    pub(crate) fn into_case(
        self,
        activity: Vec<CaseActivityRow>,
        watchers: Vec<String>,
    ) -> Result<onramp_domain::case::Case, StoreError> {
        use onramp_domain::case::{Case, CaseActivity, Visibility};
        const ENTITY: &str = "case";
        let activity = activity
            .into_iter()
            .map(|row| {
                Ok(CaseActivity {
                    seq: row.seq,
                    at: from_micros(ENTITY, row.at)?,
                    author: row.author,
                    visibility: match row.visibility.as_str() {
                        "internal" => Visibility::Internal,
                        "public" => Visibility::Public,
                        other => return Err(corrupt(ENTITY, format!("unknown visibility {other:?}"))),
                    },
                    body: row.body,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Case {
            number: onramp_domain::CaseNumber::parse(&self.number).map_err(|e| corrupt(ENTITY, e))?,
            agreement_id: onramp_domain::agreement::AgreementId(self.agreement_id),
            organisation_id: OrganisationId(self.organisation_id),
            state: self.state.parse().map_err(|e: String| corrupt(ENTITY, e))?,
            subject: self.subject,
            created_at: from_micros(ENTITY, self.created_at)?,
            updated_at: from_micros(ENTITY, self.updated_at)?,
            activity,
            watchers,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct NotificationRow {
    id: Uuid,
    kind: String,
    agreement_id: Option<Uuid>,
    organisation_id: Uuid,
    recipients: String,
    payload: String,
    created_at: i64,
    sent_at: Option<i64>,
}

impl NotificationRow {
    pub(crate) fn into_notification(self) -> Result<crate::Notification, StoreError> {
        const ENTITY: &str = "notification";
        Ok(crate::Notification {
            id: self.id,
            kind: self.kind,
            agreement_id: self.agreement_id.map(onramp_domain::agreement::AgreementId),
            organisation_id: OrganisationId(self.organisation_id),
            recipients: serde_json::from_str(&self.recipients).map_err(|e| corrupt(ENTITY, e))?,
            payload: self.payload,
            created_at: from_micros(ENTITY, self.created_at)?,
            sent_at: self.sent_at.map(|s| from_micros(ENTITY, s)).transpose()?,
        })
    }
}

/// A team invitation joined with its inviter's name.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct InvitationRow {
    id: Uuid,
    organisation_id: Uuid,
    email: String,
    role: String,
    invited_by: Uuid,
    invited_by_name: String,
    created_at: i64,
    expires_at: i64,
    state: String,
}

impl InvitationRow {
    pub(crate) fn into_invitation(self) -> Result<onramp_domain::team::Invitation, StoreError> {
        use onramp_domain::team::{Invitation, InvitationId};
        const ENTITY: &str = "invitation";
        Ok(Invitation {
            id: InvitationId(self.id),
            organisation_id: OrganisationId(self.organisation_id),
            email: EmailAddress::parse(&self.email).map_err(|e| corrupt(ENTITY, e))?,
            role: self.role.parse().map_err(|e| corrupt(ENTITY, e))?,
            invited_by: UserId(self.invited_by),
            invited_by_name: self.invited_by_name,
            created_at: from_micros(ENTITY, self.created_at)?,
            expires_at: from_micros(ENTITY, self.expires_at)?,
            state: self.state.parse().map_err(|e: String| corrupt(ENTITY, e))?,
        })
    }
}
