//! Team management for a connecting party (SPEC §1, SEC-1): inviting people by e-mail address, changing
//! roles, removing members and cancelling invitations. The rules are in [`onramp_domain::team`].
//!
//! Every change runs in one unit of work on the organisation (which locks it, so two owners acting at once
//! queue), re-checks that the actor may still manage the team, and writes its audit entry on the organisation's
//! chain and, for an invitation, its notification to the outbox in the same transaction.

use jiff::Timestamp;
use onramp_domain::notification::Notification;
use onramp_domain::team::{
    Invitation, InvitationId, InvitationState, TeamRuleError, assignable_role, may_change_member,
};
use onramp_domain::{EmailAddress, FieldErrors, Membership, NewUser, TeamRole, User, UserId};
use onramp_store::{AuditEntry, NewNotification, StoreError, UnitOfWork};
use serde::Deserialize;
use serde_json::json;

use crate::AppContext;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// The invitation form has errors, by field (`email`, `role`).
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("you do not belong to an organisation")]
    NotMember,
    /// A team rule refuses the change (a viewer managing, the owner removed, the last owner leaving).
    #[error(transparent)]
    Rule(#[from] TeamRuleError),
    /// No such member or pending invitation in the actor's organisation (other organisations' are not
    /// revealed).
    #[error("no such member or pending invitation in your organisation")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The invitation form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    pub email: String,
    pub role: String,
}

/// What an invitation did.
#[derive(Debug, Clone)]
pub enum Invited {
    /// The address had an account in no organisation: it is a member now.
    Joined(EmailAddress),
    /// No account has the address: it joins when it registers, until the invitation expires.
    Pending(Invitation),
}

fn membership_json(user: &User, role: TeamRole, onboarding_contact: bool) -> String {
    json!({ "user": user.id, "email": user.email, "role": role.as_str(), "onboarding_contact": onboarding_contact })
        .to_string()
}

fn invitation_json(invitation: &Invitation) -> String {
    json!({
        "email": invitation.email,
        "role": invitation.role.as_str(),
        "invited_by": invitation.invited_by,
        "expires_at": invitation.expires_at,
        "state": invitation.state.as_str(),
    })
    .to_string()
}

/// The actor's membership, if they may manage a team at all (checked again under the lock).
fn manager_membership(actor: &User) -> Result<Membership, TeamError> {
    let membership = actor.membership.clone().ok_or(TeamError::NotMember)?;
    if !onramp_domain::team::may_manage(membership.role) {
        return Err(TeamRuleError::NotManager.into());
    }
    Ok(membership)
}

/// The team as it is inside the unit of work, after checking the actor still manages it.
async fn locked_team(work: &mut dyn UnitOfWork, actor: &User) -> Result<Vec<User>, TeamError> {
    let members = work.members().await?;
    let role = members.iter().find(|m| m.id == actor.id).and_then(|m| m.membership.as_ref()).map(|m| m.role);
    match role {
        Some(role) if onramp_domain::team::may_manage(role) => Ok(members),
        Some(_) => Err(TeamRuleError::NotManager.into()),
        None => Err(TeamError::NotMember),
    }
}

fn invalid(field: &'static str, message: &str) -> TeamError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    TeamError::Invalid(errors)
}

const ANOTHER_ORGANISATION: &str = "this email address already belongs to another organisation";

/// Invites `form.email` to the actor's organisation with `form.role` (admin or viewer). An account in no
/// organisation joins at once; an account in another organisation is refused; with no account a pending
/// invitation is stored (replacing an earlier pending one for the address). Either way the person is told by
/// a notification written in the same transaction, and the organisation's audit chain records it.
pub async fn invite(context: &AppContext, actor: &User, form: &InviteForm) -> Result<Invited, TeamError> {
    let membership = manager_membership(actor)?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(&form.email));
    let role = if form.role.trim().is_empty() {
        errors.add("role", "choose a role: admin or viewer");
        None
    } else {
        errors.check("role", assignable_role(&form.role))
    };
    let (Some(email), Some(role)) = (email, role) else {
        return Err(TeamError::Invalid(errors));
    };
    let existing = context.store.user_by_email(&email).await?;
    if let Some(user) = &existing {
        if user.is_staff() {
            return Err(invalid(
                "email",
                "this email address belongs to the provider's staff, who join no organisation",
            ));
        }
        match &user.membership {
            Some(m) if m.organisation_id == membership.organisation_id => {
                return Err(invalid("email", "this person is already a member of your team"));
            }
            Some(_) => return Err(invalid("email", ANOTHER_ORGANISATION)),
            None => {}
        }
    }

    let now = context.clock.now();
    let mut work = context.store.begin(membership.organisation_id).await?;
    locked_team(work.as_mut(), actor).await?;
    let organisation = work.organisation().details.name.clone();
    let outcome = match existing {
        Some(user) => {
            match work.add_member(user.id, role).await {
                Err(StoreError::Conflict { .. }) => return Err(invalid("email", ANOTHER_ORGANISATION)),
                other => other?,
            }
            // An invitation sent before the account existed has now done its job.
            if let Some(pending) = work.pending_invitation(&email).await? {
                work.close_invitation(pending.id, InvitationState::Accepted, now).await?;
            }
            let entry = AuditEntry {
                actor: actor.actor(),
                action: "team_invite".into(),
                entity: "membership".into(),
                entity_id: user.id.to_string(),
                before: None,
                after: Some(membership_json(&user, role, false)),
            };
            work.append_audit(&entry, now).await?;
            let added = Notification::TeamMemberAdded { organisation, role, added_by: actor.full_name.to_string() };
            notify(work.as_mut(), added, &email, now).await?;
            Invited::Joined(email)
        }
        None => {
            let replaced = work.pending_invitation(&email).await?;
            if let Some(old) = &replaced {
                work.close_invitation(old.id, InvitationState::Replaced, now).await?;
            }
            let invitation = Invitation::new(membership.organisation_id, email.clone(), role, actor, now);
            work.save_invitation(&invitation).await?;
            let entry = AuditEntry {
                actor: actor.actor(),
                action: "team_invite".into(),
                entity: "invitation".into(),
                entity_id: invitation.id.to_string(),
                before: replaced.as_ref().map(invitation_json),
                after: Some(invitation_json(&invitation)),
            };
            work.append_audit(&entry, now).await?;
            let invited = Notification::TeamInvitation {
                organisation,
                role,
                invited_by: actor.full_name.to_string(),
                register_with: email.clone(),
                expires_at: invitation.expires_at,
            };
            notify(work.as_mut(), invited, &email, now).await?;
            Invited::Pending(invitation)
        }
    };
    work.commit().await?;
    Ok(outcome)
}

async fn notify(
    work: &mut dyn UnitOfWork,
    notification: Notification,
    to: &EmailAddress,
    now: Timestamp,
) -> Result<(), StoreError> {
    work.enqueue_notification(&NewNotification { notification, recipients: vec![to.to_string()] }, now).await
}

/// Gives a member of the actor's team the role `role` (admin or viewer). Moving someone to viewer ends their
/// onboarding-contact nomination. The owner is never changed by someone else, and the last owner cannot
/// step down. Setting the role a member already has changes nothing.
pub async fn change_role(context: &AppContext, actor: &User, member: UserId, role: &str) -> Result<(), TeamError> {
    let membership = manager_membership(actor)?;
    let mut work = context.store.begin(membership.organisation_id).await?;
    let team = locked_team(work.as_mut(), actor).await?;
    let (target, current) = member_of(&team, member)?;
    let role = assignable_role(role).map_err(|e| invalid("role", &e.to_string()))?;
    let owners = team.iter().filter(|m| m.membership.as_ref().is_some_and(|m| m.role == TeamRole::Owner)).count();
    may_change_member(actor.id, target.id, current.role, owners)?;
    let onboarding_contact = current.onboarding_contact && onramp_domain::team::may_be_onboarding_contact(role);
    if role == current.role && onboarding_contact == current.onboarding_contact {
        return Ok(());
    }
    work.update_member(target.id, role, onboarding_contact).await?;
    let entry = AuditEntry {
        actor: actor.actor(),
        action: "team_role_change".into(),
        entity: "membership".into(),
        entity_id: target.id.to_string(),
        before: Some(membership_json(target, current.role, current.onboarding_contact)),
        after: Some(membership_json(target, role, onboarding_contact)),
    };
    work.append_audit(&entry, context.clock.now()).await?;
    work.commit().await?;
    Ok(())
}

/// Takes a member out of the actor's team. Their account stays, in no organisation, so another organisation
/// may invite them later. The owner is never removed by someone else, and the last owner cannot leave.
pub async fn remove_member(context: &AppContext, actor: &User, member: UserId) -> Result<(), TeamError> {
    let membership = manager_membership(actor)?;
    let mut work = context.store.begin(membership.organisation_id).await?;
    let team = locked_team(work.as_mut(), actor).await?;
    let (target, current) = member_of(&team, member)?;
    let owners = team.iter().filter(|m| m.membership.as_ref().is_some_and(|m| m.role == TeamRole::Owner)).count();
    may_change_member(actor.id, target.id, current.role, owners)?;
    work.remove_member(target.id).await?;
    let entry = AuditEntry {
        actor: actor.actor(),
        action: "team_remove".into(),
        entity: "membership".into(),
        entity_id: target.id.to_string(),
        before: Some(membership_json(target, current.role, current.onboarding_contact)),
        after: None,
    };
    work.append_audit(&entry, context.clock.now()).await?;
    work.commit().await?;
    Ok(())
}

fn member_of(team: &[User], member: UserId) -> Result<(&User, &Membership), TeamError> {
    team.iter()
        .find(|m| m.id == member)
        .and_then(|m| m.membership.as_ref().map(|membership| (m, membership)))
        .ok_or(TeamError::NotFound)
}

/// Withdraws a pending invitation of the actor's organisation (expired or not).
pub async fn cancel_invitation(context: &AppContext, actor: &User, id: InvitationId) -> Result<(), TeamError> {
    let membership = manager_membership(actor)?;
    let now = context.clock.now();
    let mut work = context.store.begin(membership.organisation_id).await?;
    locked_team(work.as_mut(), actor).await?;
    let invitation = work.invitation(id).await?.filter(|i| i.state == InvitationState::Pending);
    let Some(invitation) = invitation else {
        return Err(TeamError::NotFound);
    };
    work.close_invitation(invitation.id, InvitationState::Cancelled, now).await?;
    let cancelled = Invitation { state: InvitationState::Cancelled, ..invitation.clone() };
    let entry = AuditEntry {
        actor: actor.actor(),
        action: "team_invitation_cancel".into(),
        entity: "invitation".into(),
        entity_id: invitation.id.to_string(),
        before: Some(invitation_json(&invitation)),
        after: Some(invitation_json(&cancelled)),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(())
}

/// Creates the account of someone who registers with an address that has an open invitation, and makes
/// them a member with the invited role, in one transaction: either both happen or neither. Returns `None`
/// when the invitation is no longer open by the time the organisation is locked (cancelled, replaced or
/// expired meanwhile); the caller then creates the account without a team.
pub async fn register_invited(
    context: &AppContext,
    user: &NewUser,
    invitation: &Invitation,
    now: Timestamp,
) -> Result<Option<User>, StoreError> {
    let mut work = context.store.begin(invitation.organisation_id).await?;
    let current = work.invitation(invitation.id).await?;
    if !current.as_ref().is_some_and(|i| i.is_open(now)) {
        return Ok(None);
    }
    let id = work.create_user(user, now).await?;
    work.add_member(id, invitation.role).await?;
    work.close_invitation(invitation.id, InvitationState::Accepted, now).await?;
    let entry = AuditEntry {
        actor: onramp_domain::agreement::Actor::User { id, name: user.full_name.to_string() },
        action: "team_join".into(),
        entity: "membership".into(),
        entity_id: id.to_string(),
        before: None,
        after: Some(
            json!({
                "user": id, "email": user.email, "role": invitation.role.as_str(), "onboarding_contact": false,
                "invitation": invitation.id,
            })
            .to_string(),
        ),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    context.store.user(id).await?.ok_or(StoreError::NotFound { entity: "user" }).map(Some)
}
