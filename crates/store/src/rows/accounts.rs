//! Organisations, users and invitations.

use onramp_domain::{
    CompanyNumber, EmailAddress, Membership, NewOrganisation, OdsCode, Organisation, OrganisationId, PersonName,
    StaffRole, User, UserId,
};
use uuid::Uuid;

use super::{corrupt, from_micros};
use crate::StoreError;

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
    email_verified_at: Option<i64>,
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
            email_verified_at: self.email_verified_at.map(|at| from_micros(ENTITY, at)).transpose()?,
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
