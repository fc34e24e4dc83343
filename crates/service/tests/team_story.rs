//! Team management in the service layer (SPEC §1, SEC-1, AUD-1, NOT-2): invitations by e-mail address with
//! their notification and audit entry written in the same transaction, the owner and last-owner rules, and
//! invitations that are replaced, cancelled or expire.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{DAY, World};
use onramp_domain::team::TeamRuleError;
use onramp_domain::{EmailAddress, TeamRole, User};
use onramp_service::accounts::{self, Registration};
use onramp_service::team::{self, InviteForm, Invited, TeamError};

onramp_store::on_both_backends!(
    World::new;
    team_an_invitation_joins_an_unaffiliated_account_at_once_with_audit_and_notification,
    team_a_pending_invitation_joins_at_registration_unless_it_expired,
    team_inviting_again_replaces_and_cancelling_withdraws,
    team_the_owner_stays_and_viewers_manage_nothing,
    team_a_nomination_is_decided_under_the_lock_and_audited,
);

fn form(email: &str, role: &str) -> InviteForm {
    InviteForm { email: email.into(), role: role.into() }
}

async fn register(world: &World, email: &str) -> User {
    let registration = Registration {
        email: email.into(),
        full_name: "Nia New".into(),
        password: "a long enough passphrase".into(),
        confirm_password: "a long enough passphrase".into(),
    };
    accounts::register(&world.context, &registration).await.unwrap()
}

fn field_error(error: TeamError, field: &str) -> String {
    match error {
        TeamError::Invalid(errors) => errors.for_field(field).map(|e| e.message.clone()).unwrap_or_default(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

async fn team_an_invitation_joins_an_unaffiliated_account_at_once_with_audit_and_notification(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let owner = world.member(&acme, "Olu Owner", TeamRole::Owner, false).await;
    let nia = register(&world, "nia@elsewhere.example").await;
    assert!(nia.membership.is_none());

    let invited = team::invite(&world.context, &owner, &form("NIA@elsewhere.example", "admin")).await.unwrap();
    assert!(matches!(invited, Invited::Joined(ref email) if email.as_str() == "nia@elsewhere.example"));
    let nia = world.context.store.user(nia.id).await.unwrap().unwrap();
    let membership = nia.membership.unwrap();
    assert_eq!((membership.organisation_id, membership.role), (acme.id, TeamRole::Admin));

    let told = world.notifications("team_member_added").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipients, ["nia@elsewhere.example"]);
    assert_eq!(told[0].organisation_id, acme.id);
    assert!(
        matches!(
            &told[0].notification,
            onramp_domain::notification::Notification::TeamMemberAdded { organisation, .. } if organisation == "Acme Health"
        ),
        "{:?}",
        told[0].notification
    );
    let audit = world.context.store.audit_records().await.unwrap();
    let entry = audit.iter().find(|r| r.action == "team_invite").unwrap();
    assert_eq!((entry.chain_id, entry.entity.as_str()), (acme.id.0, "membership"));
    assert!(entry.actor.contains("Olu Owner"));
    assert!(onramp_service::audit::verify_audit(&world.context).await.is_ok(), "the chain still verifies");

    // Someone in another organisation is refused, and nothing is written.
    let other = world.organisation("Other Ltd", "OTH01").await;
    let taken = world.member(&other, "Tam Taken", TeamRole::Viewer, false).await;
    let refused = team::invite(&world.context, &owner, &form(taken.email.as_str(), "viewer")).await.unwrap_err();
    assert!(field_error(refused, "email").contains("already belongs to another organisation"));
    let taken = world.context.store.user(taken.id).await.unwrap().unwrap();
    assert_eq!(taken.membership.unwrap().organisation_id, other.id);
    assert_eq!(world.context.store.notifications().await.unwrap().len(), 1);

    let again = team::invite(&world.context, &owner, &form("nia@elsewhere.example", "viewer")).await.unwrap_err();
    assert!(field_error(again, "email").contains("already a member of your team"));
    let staff = team::invite(&world.context, &owner, &form(world.staff.email.as_str(), "viewer")).await.unwrap_err();
    assert!(field_error(staff, "email").contains("provider's staff"));
    let owner_role = team::invite(&world.context, &owner, &form("x@acme.example", "owner")).await.unwrap_err();
    assert!(field_error(owner_role, "role").contains("admin, viewer"));
}

async fn team_a_pending_invitation_joins_at_registration_unless_it_expired(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let owner = world.member(&acme, "Olu Owner", TeamRole::Owner, false).await;

    let Invited::Pending(invitation) =
        team::invite(&world.context, &owner, &form("nia@acme.example", "viewer")).await.unwrap()
    else {
        panic!("no account has this address yet");
    };
    assert_eq!(invitation.expires_at, world.now() + DAY * 14);
    let told = world.notifications("team_invitation").await;
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipients, ["nia@acme.example"]);
    let pending = world.context.store.pending_invitations(acme.id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!((pending[0].role, pending[0].invited_by_name.as_str()), (TeamRole::Viewer, "Olu Owner"));

    world.jump(DAY * 13);
    let nia = register(&world, "Nia@Acme.example").await;
    let membership = nia.membership.unwrap();
    assert_eq!((membership.organisation_id, membership.role), (acme.id, TeamRole::Viewer));
    assert!(world.context.store.pending_invitations(acme.id).await.unwrap().is_empty(), "the invitation is used");
    let audit = world.context.store.audit_records().await.unwrap();
    assert!(audit.iter().any(|r| r.action == "team_join" && r.chain_id == acme.id.0 && r.actor.contains("Nia New")));

    // Fourteen days on, an invitation no longer joins anyone; it stays listed (as expired) until cancelled.
    team::invite(&world.context, &owner, &form("late@acme.example", "admin")).await.unwrap();
    world.jump(DAY * 14);
    let late = register(&world, "late@acme.example").await;
    assert!(late.membership.is_none(), "an expired invitation does not join");
    let still = world.context.store.pending_invitations(acme.id).await.unwrap();
    assert_eq!(still.len(), 1);
    assert!(!still[0].is_open(world.now()));
}

async fn team_inviting_again_replaces_and_cancelling_withdraws(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let admin = world.member(&acme, "Ade Admin", TeamRole::Admin, false).await;
    team::invite(&world.context, &admin, &form("nia@acme.example", "viewer")).await.unwrap();
    world.jump(DAY * 10);
    let Invited::Pending(second) =
        team::invite(&world.context, &admin, &form("nia@acme.example", "admin")).await.unwrap()
    else {
        panic!("still no account");
    };
    let pending = world.context.store.pending_invitations(acme.id).await.unwrap();
    assert_eq!(pending.len(), 1, "one pending invitation per address");
    assert_eq!((pending[0].id, pending[0].role), (second.id, TeamRole::Admin));
    assert_eq!(pending[0].expires_at, world.now() + DAY * 14, "a fresh fourteen days");

    // Another organisation cannot cancel it, and does not learn it exists.
    let other = world.organisation("Other Ltd", "OTH01").await;
    let outsider = world.member(&other, "Oz Outsider", TeamRole::Owner, false).await;
    let hidden = team::cancel_invitation(&world.context, &outsider, second.id).await.unwrap_err();
    assert!(matches!(hidden, TeamError::NotFound), "{hidden:?}");

    team::cancel_invitation(&world.context, &admin, second.id).await.unwrap();
    assert!(world.context.store.pending_invitations(acme.id).await.unwrap().is_empty());
    let twice = team::cancel_invitation(&world.context, &admin, second.id).await.unwrap_err();
    assert!(matches!(twice, TeamError::NotFound));
    let nia = register(&world, "nia@acme.example").await;
    assert!(nia.membership.is_none(), "a cancelled invitation joins nobody");
    let actions: Vec<String> =
        world.context.store.audit_records().await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["team_invite", "team_invite", "team_invitation_cancel"]);
}

async fn team_the_owner_stays_and_viewers_manage_nothing(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let owner = world.member(&acme, "Olu Owner", TeamRole::Owner, false).await;
    let admin = world.member(&acme, "Ade Admin", TeamRole::Admin, true).await;
    let viewer = world.member(&acme, "Vic Viewer", TeamRole::Viewer, false).await;

    let refused = team::invite(&world.context, &viewer, &form("x@acme.example", "viewer")).await.unwrap_err();
    assert!(matches!(refused, TeamError::Rule(TeamRuleError::NotManager)), "{refused:?}");
    let refused = team::remove_member(&world.context, &viewer, admin.id).await.unwrap_err();
    assert!(matches!(refused, TeamError::Rule(TeamRuleError::NotManager)));

    let demoting_owner = team::change_role(&world.context, &admin, owner.id, "viewer").await.unwrap_err();
    assert!(matches!(demoting_owner, TeamError::Rule(TeamRuleError::OwnerIsFixed)), "{demoting_owner:?}");
    let removing_owner = team::remove_member(&world.context, &admin, owner.id).await.unwrap_err();
    assert!(matches!(removing_owner, TeamError::Rule(TeamRuleError::OwnerIsFixed)));
    let leaving = team::remove_member(&world.context, &owner, owner.id).await.unwrap_err();
    assert!(matches!(leaving, TeamError::Rule(TeamRuleError::LastOwner)), "{leaving:?}");
    let stepping_down = team::change_role(&world.context, &owner, owner.id, "admin").await.unwrap_err();
    assert!(matches!(stepping_down, TeamError::Rule(TeamRuleError::LastOwner)));

    // An onboarding contact moved to viewer is no longer one: viewers may not accept agreements.
    team::change_role(&world.context, &owner, admin.id, "viewer").await.unwrap();
    let demoted = world.context.store.user(admin.id).await.unwrap().unwrap().membership.unwrap();
    assert_eq!((demoted.role, demoted.onboarding_contact), (TeamRole::Viewer, false));
    // `admin` still says Admin in memory (a session read before the change): the role under the lock counts.
    let refused = team::change_role(&world.context, &admin, viewer.id, "admin").await.unwrap_err();
    assert!(matches!(refused, TeamError::Rule(TeamRuleError::NotManager)), "{refused:?}");

    team::remove_member(&world.context, &owner, viewer.id).await.unwrap();
    assert!(world.context.store.user(viewer.id).await.unwrap().unwrap().membership.is_none());
    let gone = team::remove_member(&world.context, &owner, viewer.id).await.unwrap_err();
    assert!(matches!(gone, TeamError::NotFound));
    let members: Vec<EmailAddress> =
        world.context.store.members(acme.id).await.unwrap().into_iter().map(|u| u.email).collect();
    assert_eq!(members.len(), 2);
    let actions: Vec<String> =
        world.context.store.audit_records().await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(actions, ["team_role_change", "team_remove"], "refusals write nothing");
}

/// SPEC §1, AUD-1: nominating oneself onboarding contact reads the member again under the organisation's lock
/// (a viewer whose stale copy says admin is refused), is audited, and nominating twice writes nothing more.
async fn team_a_nomination_is_decided_under_the_lock_and_audited(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let admin = world.member(&acme, "Ada Admin", TeamRole::Admin, false).await;
    let stale_copy = admin.clone();
    let demoted =
        onramp_domain::Membership { organisation_id: acme.id, role: TeamRole::Viewer, onboarding_contact: false };
    world.context.store.set_membership(admin.id, Some(&demoted)).await.unwrap();
    let refused = onramp_service::organisations::nominate_onboarding_contact(&world.context, &stale_copy).await;
    assert!(matches!(refused, Err(onramp_service::organisations::OrganisationError::Viewer)), "{refused:?}");

    let owner = world.member(&acme, "Olu Owner", TeamRole::Owner, false).await;
    let audited = || async {
        world
            .context
            .store
            .audit_records()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "onboarding_contact_nominate")
            .count()
    };
    let nominated = onramp_service::organisations::nominate_onboarding_contact(&world.context, &owner).await.unwrap();
    assert!(nominated.onboarding_contact);
    assert_eq!(audited().await, 1);
    onramp_service::organisations::nominate_onboarding_contact(&world.context, &owner).await.unwrap();
    assert_eq!(audited().await, 1, "a second nomination changes nothing");
    let stored = world.context.store.user(owner.id).await.unwrap().unwrap();
    assert!(stored.membership.is_some_and(|m| m.onboarding_contact));
}
