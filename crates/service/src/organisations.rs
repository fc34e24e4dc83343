//! Registering an organisation and nominating onboarding contacts (SPEC §1, ORG-1..ORG-4).

use onramp_domain::{
    FieldErrors, KindChangeError, Membership, NewOrganisation, Organisation, OrganisationId, OrganisationInput,
    OrganisationKind, User,
};
use onramp_store::{AuditEntry, StoreError};
use serde_json::json;

use crate::AppContext;

#[derive(Debug, thiserror::Error)]
pub enum OrganisationError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("you already belong to an organisation")]
    AlreadyMember,
    #[error(transparent)]
    Unverified(#[from] onramp_domain::AddressNotVerified),
    #[error("you do not belong to an organisation")]
    NotMember,
    #[error("viewers cannot nominate onboarding contacts; ask an owner or admin of your organisation")]
    Viewer,
    /// ORG-3: the kind was not changed.
    #[error(transparent)]
    Kind(#[from] KindChangeError),
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
    user.require_verified()?;
    let details = NewOrganisation::parse(input).map_err(OrganisationError::Invalid)?;
    if !details.kind.may_be_chosen_by(user) {
        let mut errors = FieldErrors::new();
        errors.add(
            "kind",
            "only the provider's staff can register a part of the API provider; choose the kind that describes your \
             organisation",
        );
        return Err(OrganisationError::Invalid(errors));
    }
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
/// The member is read again under the organisation's lock (a role changed meanwhile counts), and the change
/// is audited in the same transaction; nominating someone who is a contact already changes nothing.
pub async fn nominate_onboarding_contact(context: &AppContext, user: &User) -> Result<Membership, OrganisationError> {
    let organisation = user.membership.as_ref().map(|m| m.organisation_id).ok_or(OrganisationError::NotMember)?;
    user.require_verified()?;
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let members = work.members().await?;
    let current = members
        .iter()
        .find(|m| m.id == user.id)
        .and_then(|m| m.membership.clone())
        .ok_or(OrganisationError::NotMember)?;
    if !onramp_domain::team::may_be_onboarding_contact(current.role) {
        return Err(OrganisationError::Viewer);
    }
    if current.onboarding_contact {
        return Ok(current);
    }
    let nominated = Membership { onboarding_contact: true, ..current.clone() };
    work.update_member(user.id, nominated.role, true).await?;
    let membership_json = |m: &Membership| {
        json!({ "user": user.id, "email": user.email, "role": m.role.as_str(), "onboarding_contact": m.onboarding_contact })
            .to_string()
    };
    let entry = AuditEntry {
        actor: user.actor(),
        action: "onboarding_contact_nominate".into(),
        entity: "membership".into(),
        entity_id: user.id.to_string(),
        before: Some(membership_json(&current)),
        after: Some(membership_json(&nominated)),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(nominated)
}

/// ORG-3: the provider's agreement team changes an organisation's kind, the only way an organisation becomes part
/// of the provider (and so needs no connection agreement) or stops being so. Decided under the organisation's
/// lock on what is stored then, and written with its audit entry in one transaction; the same kind again changes
/// nothing and logs nothing. Returns the organisation afterwards.
pub async fn set_kind(
    context: &AppContext,
    user: &User,
    organisation: OrganisationId,
    kind: OrganisationKind,
) -> Result<Organisation, OrganisationError> {
    let now = context.clock.now();
    let mut work = context.store.begin(organisation).await?;
    let before = work.organisation().clone();
    let changed = before.details.with_kind(kind, user)?;
    if changed == before.details {
        return Ok(before);
    }
    work.set_organisation_kind(kind).await?;
    let after = work.organisation().clone();
    let entry = AuditEntry {
        actor: user.actor(),
        action: "organisation_kind_change".into(),
        entity: "organisation".into(),
        entity_id: organisation.0.to_string(),
        before: Some(json!({ "kind": before.details.kind.as_str() }).to_string()),
        after: Some(json!({ "kind": after.details.kind.as_str() }).to_string()),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(after)
}
