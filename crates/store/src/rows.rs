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
