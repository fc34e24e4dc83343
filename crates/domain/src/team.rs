//! A connecting party's team (SPEC §1): who may manage it, invitations by e-mail, role changes and removals.
//!
//! The rules, decided here without I/O and applied by `onramp_service::team`:
//!
//! - Team roles are `owner` (whoever registered the organisation), `admin` and `viewer`. Owners and admins
//!   manage the team; viewers see it and change nothing.
//! - An invitation names an e-mail address and a role, `admin` or `viewer`; nobody is invited as owner.
//!   - It never adds anyone by itself: it stays pending until the invitee, signed in with that address
//!     (verified), accepts or declines it, before it expires, [`INVITATION_LIFETIME`] (14 days) after it was
//!     sent, by the service's clock. Accepting needs an account in no organisation that is not staff.
//!   - Inviting answers the same whoever holds the address (SEC-1); only a member of this team is refused.
//!     Inviting the same address again replaces the pending invitation (new role, new 14 days).
//! - The role of an admin or viewer may be changed to `admin` or `viewer`, and they may be removed. An owner is
//!   never demoted or removed by someone else; an owner may step down or leave only while another owner
//!   remains, so nobody removes themselves as the last owner.
//! - Moving someone to `viewer` ends their onboarding-contact nomination: viewers may not accept agreements.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::organisation::time_ordered_uuid;
use crate::user::RoleError;
use crate::{EmailAddress, OrganisationId, TeamRole, User, UserId};

/// How long an invitation to an address without an account stays open.
pub const INVITATION_LIFETIME: SignedDuration = SignedDuration::from_hours(14 * 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InvitationId(pub Uuid);

impl InvitationId {
    pub fn new_at(now: Timestamp) -> Self {
        Self(time_ordered_uuid(now))
    }
}

impl fmt::Display for InvitationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where an invitation stands. Expiry is not a state: a pending invitation past `expires_at` is expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    /// The invited person accepted it and joined.
    Accepted,
    /// The invited person said no.
    Declined,
    /// An owner or admin withdrew it.
    Cancelled,
    /// The same address was invited again.
    Replaced,
}

impl InvitationState {
    pub const ALL: [Self; 5] = [Self::Pending, Self::Accepted, Self::Declined, Self::Cancelled, Self::Replaced];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Cancelled => "cancelled",
            Self::Replaced => "replaced",
        }
    }
}

impl std::str::FromStr for InvitationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown invitation state {s:?}"))
    }
}

/// An invitation to join an organisation's team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub organisation_id: OrganisationId,
    pub email: EmailAddress,
    pub role: TeamRole,
    pub invited_by: UserId,
    /// The inviter's name when the invitation was read, for lists.
    pub invited_by_name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub state: InvitationState,
}

impl Invitation {
    /// A pending invitation sent at `now`, open for [`INVITATION_LIFETIME`].
    pub fn new(
        organisation_id: OrganisationId,
        email: EmailAddress,
        role: TeamRole,
        invited_by: &User,
        now: Timestamp,
    ) -> Self {
        Self {
            id: InvitationId::new_at(now),
            organisation_id,
            email,
            role,
            invited_by: invited_by.id,
            invited_by_name: invited_by.full_name.to_string(),
            created_at: now,
            expires_at: now.saturating_add(INVITATION_LIFETIME).unwrap_or(now),
            state: InvitationState::Pending,
        }
    }

    /// Whether the invitation can still be used at `now`: pending and not yet expired.
    pub fn is_open(&self, now: Timestamp) -> bool {
        self.state == InvitationState::Pending && now < self.expires_at
    }
}

/// A team rule that refuses a change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamRuleError {
    #[error("only owners and admins can manage the team")]
    NotManager,
    #[error("the owner of the organisation cannot be removed or have their role changed")]
    OwnerIsFixed,
    #[error("you are the last owner of the organisation: you cannot step down or leave")]
    LastOwner,
}

impl TeamRuleError {
    /// A stable name for the rule, for the JSON API and the logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotManager => "not_manager",
            Self::OwnerIsFixed => "owner_is_fixed",
            Self::LastOwner => "last_owner",
        }
    }
}

/// A role an invitation or a role change may give: `admin` or `viewer`.
pub fn assignable_role(raw: &str) -> Result<TeamRole, RoleError> {
    match raw.trim().parse::<TeamRole>() {
        Ok(TeamRole::Owner) | Err(_) => Err(RoleError { given: raw.trim().to_owned(), allowed: "admin, viewer" }),
        Ok(role) => Ok(role),
    }
}

/// Whether a member with `role` may be nominated onboarding contact (and so accept agreements): viewers read
/// only.
pub fn may_be_onboarding_contact(role: TeamRole) -> bool {
    role != TeamRole::Viewer
}

/// Whether someone with `role` may invite, change roles, remove members and cancel invitations.
pub fn may_manage(role: TeamRole) -> bool {
    matches!(role, TeamRole::Owner | TeamRole::Admin)
}

/// Whether the manager `actor` may change the role of, or remove, `target` (a member of the same team);
/// `owners` is how many owners the team has.
pub fn may_change_member(
    actor: UserId,
    target: UserId,
    target_role: TeamRole,
    owners: usize,
) -> Result<(), TeamRuleError> {
    if target_role != TeamRole::Owner {
        return Ok(());
    }
    if actor != target {
        return Err(TeamRuleError::OwnerIsFixed);
    }
    if owners <= 1 {
        return Err(TeamRuleError::LastOwner);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admin_and_viewer_can_be_given() {
        assert_eq!(assignable_role("admin"), Ok(TeamRole::Admin));
        assert_eq!(assignable_role(" viewer "), Ok(TeamRole::Viewer));
        for refused in ["owner", "boss", ""] {
            let error = assignable_role(refused).map_err(|e| e.to_string()).unwrap_err();
            assert!(error.contains("admin, viewer"), "{error}");
        }
    }

    #[test]
    fn owners_are_fixed_and_the_last_owner_stays() {
        let (me, other) = (UserId(Uuid::from_u128(1)), UserId(Uuid::from_u128(2)));
        assert_eq!(may_change_member(me, other, TeamRole::Admin, 1), Ok(()));
        assert_eq!(may_change_member(me, me, TeamRole::Viewer, 0), Ok(()), "an admin or viewer may leave");
        assert_eq!(may_change_member(me, other, TeamRole::Owner, 2), Err(TeamRuleError::OwnerIsFixed));
        assert_eq!(may_change_member(me, me, TeamRole::Owner, 1), Err(TeamRuleError::LastOwner));
        assert_eq!(may_change_member(me, me, TeamRole::Owner, 2), Ok(()), "one of two owners may step down");
        assert!(may_manage(TeamRole::Owner) && may_manage(TeamRole::Admin) && !may_manage(TeamRole::Viewer));
    }

    #[test]
    fn an_invitation_is_open_for_fourteen_days() {
        let sent: Timestamp = "2026-11-21T09:30:00Z".parse().unwrap();
        let inviter = User {
            id: UserId(Uuid::from_u128(1)),
            email: EmailAddress::parse("olu@acme.example").unwrap(),
            full_name: crate::PersonName::parse("Olu Owner").unwrap(),
            password_hash: None,
            staff_roles: vec![],
            membership: None,
            created_at: sent,
            email_verified_at: None,
        };
        let email = EmailAddress::parse("new@acme.example").unwrap();
        let invitation = Invitation::new(OrganisationId(Uuid::nil()), email, TeamRole::Viewer, &inviter, sent);
        assert!(invitation.is_open(sent + SignedDuration::from_hours(14 * 24 - 1)));
        assert!(!invitation.is_open(sent + SignedDuration::from_hours(14 * 24)));
        let cancelled = Invitation { state: InvitationState::Cancelled, ..invitation };
        assert!(!cancelled.is_open(sent));
    }
}
