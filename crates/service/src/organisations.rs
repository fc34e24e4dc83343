//! Registering an organisation and nominating onboarding contacts (SPEC §1, ORG-1..ORG-4).

use onramp_domain::{FieldErrors, Membership, NewOrganisation, Organisation, OrganisationInput, TeamRole, User};
use onramp_store::StoreError;

use crate::AppContext;

#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("you already belong to an organisation")]
    AlreadyMember,
    #[error("you do not belong to an organisation")]
    NotMember,
    #[error("viewers cannot nominate onboarding contacts; ask an owner or admin of your organisation")]
    Viewer,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A connecting-party user registers their organisation and becomes its owner (ORG-4: all or nothing).
pub async fn register(
    context: &AppContext,
    user: &User,
    input: &OrganisationInput,
) -> Result<Organisation, OrganisationError> {
    if user.membership.is_some() {
        return Err(OrganisationError::AlreadyMember);
    }
    let details = NewOrganisation::parse(input).map_err(OrganisationError::Invalid)?;
    match context.store.create_organisation_with_owner(&details, user.id, context.clock.now()).await {
        Err(StoreError::Conflict { what: "ODS code" }) => {
            let mut errors = FieldErrors::new();
            errors.add(
                "ods_code",
                "an organisation with this ODS code is registered already: ask its owner to invite you",
            );
            Err(OrganisationError::Invalid(errors))
        }
        Err(StoreError::Conflict { .. }) => Err(OrganisationError::AlreadyMember),
        other => Ok(other?),
    }
}

/// The onboarding contact nomination form (SPEC §1): the user becomes an onboarding contact of their
/// organisation and may then accept agreements. Owners and admins may nominate themselves; viewers may not.
pub async fn nominate_onboarding_contact(context: &AppContext, user: &User) -> Result<Membership, OrganisationError> {
    let membership = user.membership.clone().ok_or(OrganisationError::NotMember)?;
    if membership.role == TeamRole::Viewer {
        return Err(OrganisationError::Viewer);
    }
    let nominated = Membership { onboarding_contact: true, ..membership };
    context.store.set_membership(user.id, Some(&nominated)).await?;
    Ok(nominated)
}
