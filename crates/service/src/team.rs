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
use onramp_domain::{EmailAddress, FieldErrors, Membership, TeamRole, User, UserId};
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
    #[error(transparent)]
    Unverified(#[from] onramp_domain::AddressNotVerified),
    #[error("you already belong to an organisation: leave it before you join another")]
    AlreadyMember,
    #[error("provider staff accounts join no organisation")]
    StaffCannotJoin,
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

/// Invites `form.email` to the actor's organisation with `form.role` (admin or viewer). An invitation never
/// adds anyone by itself: it waits, until it expires, for the invitee to sign in (or register and verify the
/// address) and accept or decline it ([`respond`]). The answer is the same whether the address has an account,
/// belongs to another organisation or to provider staff, so the form reveals none of that (SEC-1); only a
/// member of the inviter's own team, whom the inviter sees anyway, is refused. Inviting an address again
/// replaces its pending invitation. The invitee is told by a notification written in the same transaction, and
/// the organisation's audit chain records it.
pub async fn invite(context: &AppContext, actor: &User, form: &InviteForm) -> Result<Invitation, TeamError> {
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

    let now = context.clock.now();
    let mut work = context.store.begin(membership.organisation_id).await?;
    let team = locked_team(work.as_mut(), actor).await?;
    if team.iter().any(|member| member.email == email) {
        return Err(invalid("email", "this person is already a member of your team"));
    }
    let organisation = work.organisation().details.name.clone();
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
    work.commit().await?;
    Ok(invitation)
}

/// An open invitation as its invitee sees it on the invitations page.
#[derive(Debug, Clone)]
pub struct InvitationForYou {
    pub invitation: Invitation,
    pub organisation: String,
}

/// The open invitations for the signed-in user's address. Reading them needs a verified address: an
/// invitation names another organisation and its people (SEC-1).
pub async fn invitations_for(context: &AppContext, user: &User) -> Result<Vec<InvitationForYou>, TeamError> {
    user.require_verified()?;
    let mut found = Vec::new();
    for invitation in context.store.open_invitations_for(&user.email, context.clock.now()).await? {
        let organisation = context.store.organisation(invitation.organisation_id).await?;
        let organisation = organisation.map(|o| o.details.name).unwrap_or_default();
        found.push(InvitationForYou { invitation, organisation });
    }
    Ok(found)
}

/// The invitee's answer to an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
}

/// The invitee accepts or declines an open invitation to their address (membership by consent). Accepting
/// needs a verified address, no organisation already (leave it first) and an account that is not staff; the
/// invitation is read again under the organisation's lock, so one cancelled or replaced meanwhile is not
/// found. The membership, the closed invitation and the audit entry commit together.
pub async fn respond(context: &AppContext, user: &User, id: InvitationId, answer: Answer) -> Result<(), TeamError> {
    user.require_verified()?;
    let now = context.clock.now();
    let open = context.store.open_invitations_for(&user.email, now).await?;
    let invitation = open.into_iter().find(|i| i.id == id).ok_or(TeamError::NotFound)?;
    if answer == Answer::Accept {
        if user.is_staff() {
            return Err(TeamError::StaffCannotJoin);
        }
        if user.membership.is_some() {
            return Err(TeamError::AlreadyMember);
        }
    }
    let mut work = context.store.begin(invitation.organisation_id).await?;
    let current = work.invitation(id).await?.filter(|i| i.is_open(now) && i.email == user.email);
    let current = current.ok_or(TeamError::NotFound)?;
    let (state, action) = match answer {
        Answer::Accept => (InvitationState::Accepted, "team_join"),
        Answer::Decline => (InvitationState::Declined, "team_invitation_decline"),
    };
    if answer == Answer::Accept {
        match work.add_member(user.id, current.role).await {
            Err(StoreError::Conflict { .. }) => return Err(TeamError::AlreadyMember),
            other => other?,
        }
        // A confirmation for the new member's records, with the link to the organisation.
        let organisation = work.organisation().details.name.clone();
        let added = Notification::TeamMemberAdded {
            organisation,
            role: current.role,
            added_by: current.invited_by_name.clone(),
        };
        notify(work.as_mut(), added, &user.email, now).await?;
    }
    work.close_invitation(current.id, state, now).await?;
    let closed = Invitation { state, ..current.clone() };
    let entry = AuditEntry {
        actor: user.actor(),
        action: action.into(),
        entity: "invitation".into(),
        entity_id: current.id.to_string(),
        before: Some(invitation_json(&current)),
        after: Some(invitation_json(&closed)),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    tracing::info!(user = %user.id, invitation = %current.id, ?answer, "invitation answered");
    Ok(())
}

/// A member leaves their organisation of their own accord; the last owner cannot (hand over first). Their
/// account stays, in no organisation, so another organisation may invite them later.
pub async fn leave(context: &AppContext, user: &User) -> Result<(), TeamError> {
    let membership = user.membership.as_ref().ok_or(TeamError::NotMember)?;
    let mut work = context.store.begin(membership.organisation_id).await?;
    let team = work.members().await?;
    let (me, current) = member_of(&team, user.id)?;
    let owners = team.iter().filter(|m| m.membership.as_ref().is_some_and(|m| m.role == TeamRole::Owner)).count();
    may_change_member(user.id, me.id, current.role, owners)?;
    work.remove_member(me.id).await?;
    let entry = AuditEntry {
        actor: user.actor(),
        action: "team_leave".into(),
        entity: "membership".into(),
        entity_id: me.id.to_string(),
        before: Some(membership_json(me, current.role, current.onboarding_contact)),
        after: None,
    };
    work.append_audit(&entry, context.clock.now()).await?;
    work.commit().await?;
    Ok(())
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
