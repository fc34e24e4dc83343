//! Team management in the service layer (SPEC §1, SEC-1, SEC-2, AUD-1, NOT-2): invitations by e-mail address
//! with their notification and audit entry written in the same transaction, membership by consent, verified
//! addresses, the owner and last-owner rules, and invitations that are replaced, cancelled, declined or expire.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{DAY, World};
use jiff::SignedDuration;
use onramp_domain::notification::Notification;
use onramp_domain::team::TeamRuleError;
use onramp_domain::{EmailAddress, TeamRole, User};
use onramp_service::accounts::{self, AccountError, Registered, Registration};
use onramp_service::lifecycle::LifecycleServiceError;
use onramp_service::organisations::OrganisationError;
use onramp_service::team::{self, Answer, InviteForm, TeamError};

onramp_store::on_both_backends!(
    World::new;
    team_sec1_an_invitation_waits_for_consent_and_answers_the_same_for_every_address,
    team_sec1_an_unverified_account_can_do_nothing_with_an_invited_address,
    team_inviting_again_replaces_and_cancelling_withdraws,
    team_the_owner_stays_and_viewers_manage_nothing,
    team_a_nomination_is_decided_under_the_lock_and_audited,
);

fn form(email: &str, role: &str) -> InviteForm {
    InviteForm { email: email.into(), role: role.into() }
}

async fn register(world: &World, email: &str, name: &str) -> Registered {
    let registration = Registration {
        email: email.into(),
        full_name: name.into(),
        password: "a long enough passphrase".into(),
        confirm_password: "a long enough passphrase".into(),
    };
    accounts::register(&world.context, &registration).await.unwrap()
}

/// Registers `email` and returns the new account (unverified).
async fn new_account(world: &World, email: &str, name: &str) -> User {
    match register(world, email, name).await {
        Registered::New(user) => user,
        Registered::AddressTaken => panic!("{email} has an account already"),
    }
}

/// The token of the newest address-verification link mailed to `email`.
async fn verification_token(world: &World, email: &str) -> String {
    let mails = world.notifications("address_verification").await;
    let mail = mails.iter().rev().find(|m| m.recipients == [email]).expect("a verification mail");
    match &mail.notification {
        Notification::AddressVerification { path, .. } => path.strip_prefix("/verify-address/").unwrap().to_owned(),
        other => panic!("{other:?}"),
    }
}

async fn verified_account(world: &World, email: &str, name: &str) -> User {
    let user = new_account(world, email, name).await;
    let token = verification_token(world, email).await;
    accounts::verify_address(&world.context, &token).await.unwrap();
    world.context.store.user(user.id).await.unwrap().unwrap()
}

fn field_error(error: TeamError, field: &str) -> String {
    match error {
        TeamError::Invalid(errors) => errors.for_field(field).map(|e| e.message.clone()).unwrap_or_default(),
        other => panic!("expected a field error, got {other:?}"),
    }
}

/// SEC-1, membership by consent: an invitation adds nobody by itself; the invite form answers the same for an
/// unknown address, an account in no organisation, a member of another organisation and a staff address; the
/// invitee accepts or declines on their own page, and only an account that may join can accept.
async fn team_sec1_an_invitation_waits_for_consent_and_answers_the_same_for_every_address(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let owner = world.member(&acme, "Olu Owner", TeamRole::Owner, false).await;
    let nia = verified_account(&world, "nia@elsewhere.example", "Nia New").await;
    let other = world.organisation("Other Ltd", "OTH01").await;
    let taken = world.member(&other, "Tam Taken", TeamRole::Viewer, false).await;

    let addresses =
        ["unknown@nowhere.example", "NIA@elsewhere.example", taken.email.as_str(), world.staff.email.as_str()];
    for address in addresses {
        let invitation = team::invite(&world.context, &owner, &form(address, "admin")).await.unwrap();
        assert_eq!(invitation.organisation_id, acme.id, "the same answer for {address}");
        assert_eq!(invitation.expires_at, world.now() + DAY * 14);
    }
    let told = world.notifications("team_invitation").await;
    let mut recipients: Vec<&str> = told.iter().map(|m| m.recipients[0].as_str()).collect();
    recipients.sort_unstable();
    let mut expected =
        ["unknown@nowhere.example", "nia@elsewhere.example", taken.email.as_str(), "agreements@provider.example"];
    expected.sort_unstable();
    assert_eq!(recipients, expected, "every address is mailed alike");
    assert!(
        world.context.store.user(nia.id).await.unwrap().unwrap().membership.is_none(),
        "nobody joins by invitation"
    );
    assert!(world.notifications("team_member_added").await.is_empty());

    // Nia sees the invitation and accepts it: she joins with the role offered, audited on Acme's chain.
    let waiting = team::invitations_for(&world.context, &nia).await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!((waiting[0].organisation.as_str(), waiting[0].invitation.role), ("Acme Health", TeamRole::Admin));
    team::respond(&world.context, &nia, waiting[0].invitation.id, Answer::Accept).await.unwrap();
    let membership = world.context.store.user(nia.id).await.unwrap().unwrap().membership.unwrap();
    assert_eq!((membership.organisation_id, membership.role), (acme.id, TeamRole::Admin));
    let audit = world.context.store.audit_records().await.unwrap();
    let joined = audit.iter().find(|r| r.action == "team_join").unwrap();
    assert_eq!(joined.chain_id, acme.id.0);
    assert!(joined.actor.contains("Nia New"));
    let twice = team::respond(&world.context, &nia, waiting[0].invitation.id, Answer::Accept).await.unwrap_err();
    assert!(matches!(twice, TeamError::NotFound), "{twice:?}");

    // A member of another organisation must leave it first; declining is always possible.
    let for_taken = team::invitations_for(&world.context, &taken).await.unwrap();
    let refused = team::respond(&world.context, &taken, for_taken[0].invitation.id, Answer::Accept).await.unwrap_err();
    assert!(matches!(refused, TeamError::AlreadyMember), "{refused:?}");
    team::respond(&world.context, &taken, for_taken[0].invitation.id, Answer::Decline).await.unwrap();
    assert_eq!(
        world.context.store.user(taken.id).await.unwrap().unwrap().membership.unwrap().organisation_id,
        other.id
    );
    assert!(team::invitations_for(&world.context, &taken).await.unwrap().is_empty());
    // Staff join no organisation.
    let for_staff = team::invitations_for(&world.context, &world.staff).await.unwrap();
    let refused = team::respond(&world.context, &world.staff, for_staff[0].invitation.id, Answer::Accept).await;
    assert!(matches!(refused, Err(TeamError::StaffCannotJoin)), "{refused:?}");
    // Someone else's invitation does not exist for you.
    let for_unknown = world.context.store.pending_invitations(acme.id).await.unwrap();
    let unknown = for_unknown.iter().find(|i| i.email.as_str() == "unknown@nowhere.example").unwrap();
    let hidden = team::respond(&world.context, &nia, unknown.id, Answer::Decline).await.unwrap_err();
    assert!(matches!(hidden, TeamError::NotFound));

    // A member can leave (the account stays); the last owner cannot.
    let nia = world.context.store.user(nia.id).await.unwrap().unwrap();
    team::leave(&world.context, &nia).await.unwrap();
    assert!(world.context.store.user(nia.id).await.unwrap().unwrap().membership.is_none());
    let last = team::leave(&world.context, &owner).await.unwrap_err();
    assert!(matches!(last, TeamError::Rule(TeamRuleError::LastOwner)), "{last:?}");

    let again = team::invite(&world.context, &owner, &form(owner.email.as_str(), "viewer")).await.unwrap_err();
    assert!(field_error(again, "email").contains("already a member of your team"));
    let owner_role = team::invite(&world.context, &owner, &form("x@acme.example", "owner")).await.unwrap_err();
    assert!(field_error(owner_role, "role").contains("admin, viewer"));
    assert!(onramp_service::audit::verify_audit(&world.context).await.is_ok(), "the chain still verifies");
}

/// SEC-1, SEC-2: Mallory registers with an address Acme invited. Until the address is verified by the mailed
/// link the account cannot see the invitation, join, register an organisation, be nominated or accept an
/// agreement; registering a taken address answers as for a new one and mails the holder instead.
async fn team_sec1_an_unverified_account_can_do_nothing_with_an_invited_address(world: World) {
    let (acme, contact, agreement) = world.issued_contract("Acme Health", "X26").await;
    let owner = world.member(&acme, "Oona Owner", TeamRole::Owner, false).await;
    let invitation = team::invite(&world.context, &owner, &form("nia@acme.example", "viewer")).await.unwrap();

    let mallory = new_account(&world, "Nia@Acme.example", "Mallory Impostor").await;
    assert!(!mallory.is_verified() && mallory.membership.is_none(), "registering joins nothing");
    let unverified = |error: &TeamError| matches!(error, TeamError::Unverified(_));
    assert!(unverified(&team::invitations_for(&world.context, &mallory).await.unwrap_err()));
    assert!(unverified(&team::respond(&world.context, &mallory, invitation.id, Answer::Accept).await.unwrap_err()));
    let input = onramp_domain::OrganisationInput {
        name: "Mallory Ltd".into(),
        ods_code: "MAL01".into(),
        company_number: "12345678".into(),
        registered_address: "1 Fake Street".into(),
        kind: "commercial".into(),
        delivery_notice_mailbox: "notices@mallory.example".into(),
        im1_supplier: false,
    };
    let refused = onramp_service::organisations::register(&world.context, &mallory, &input).await;
    assert!(matches!(refused, Err(OrganisationError::Unverified(_))), "{refused:?}");
    // Even put in Acme by hand, an unverified account can be neither nominated nor accept.
    let membership =
        onramp_domain::Membership { organisation_id: acme.id, role: TeamRole::Admin, onboarding_contact: true };
    world.context.store.set_membership(mallory.id, Some(&membership)).await.unwrap();
    let inside = world.context.store.user(mallory.id).await.unwrap().unwrap();
    let refused = onramp_service::organisations::nominate_onboarding_contact(&world.context, &inside).await;
    assert!(matches!(refused, Err(OrganisationError::Unverified(_))), "{refused:?}");
    let refused = world.accept(&inside, &agreement).await.unwrap_err();
    assert!(matches!(refused, LifecycleServiceError::Unverified(_)), "{refused:?}");
    assert!(world.agreement(&agreement).await.substate.is_some(), "still waiting for a real contact");
    world.context.store.set_membership(mallory.id, None).await.unwrap();

    // Registering again with the taken address answers the same and mails its holder; no new link is made.
    assert_eq!(register(&world, "nia@acme.example", "Someone Else").await, Registered::AddressTaken);
    let exists = world.notifications("account_exists").await;
    assert_eq!((exists.len(), exists[0].recipients.as_slice()), (1, ["nia@acme.example".to_owned()].as_slice()));
    assert_eq!(world.notifications("address_verification").await.len(), 1);

    // Links: a wrong token and an expired one do nothing; a new link replaces the old; it works once.
    let first = verification_token(&world, "nia@acme.example").await;
    assert!(matches!(accounts::verify_address(&world.context, "nope").await, Err(AccountError::LinkNotValid)));
    world.jump(DAY + SignedDuration::from_secs(1));
    assert!(matches!(accounts::verify_address(&world.context, &first).await, Err(AccountError::LinkNotValid)));
    accounts::resend_verification(&world.context, &mallory).await.unwrap();
    let second = verification_token(&world, "nia@acme.example").await;
    assert_ne!(first, second);
    assert_eq!(accounts::verify_address(&world.context, &second).await.unwrap(), mallory.id);
    assert!(matches!(accounts::verify_address(&world.context, &second).await, Err(AccountError::LinkNotValid)));

    // Verified, the holder of the mailbox sees the invitation and may accept it, until it expires.
    let holder = world.context.store.user(mallory.id).await.unwrap().unwrap();
    assert!(holder.is_verified());
    assert_eq!(team::invitations_for(&world.context, &holder).await.unwrap().len(), 1);
    team::respond(&world.context, &holder, invitation.id, Answer::Accept).await.unwrap();
    assert_eq!(
        world.context.store.user(holder.id).await.unwrap().unwrap().membership.unwrap().organisation_id,
        acme.id
    );
    let _ = contact;

    let late = team::invite(&world.context, &owner, &form("late@acme.example", "admin")).await.unwrap();
    let latecomer = verified_account(&world, "late@acme.example", "Lee Late").await;
    world.jump(DAY * 14);
    let expired = team::respond(&world.context, &latecomer, late.id, Answer::Accept).await.unwrap_err();
    assert!(matches!(expired, TeamError::NotFound), "an expired invitation cannot be accepted: {expired:?}");
}

async fn team_inviting_again_replaces_and_cancelling_withdraws(world: World) {
    let acme = world.organisation("Acme Health", "X26").await;
    let admin = world.member(&acme, "Ade Admin", TeamRole::Admin, false).await;
    team::invite(&world.context, &admin, &form("nia@acme.example", "viewer")).await.unwrap();
    world.jump(DAY * 10);
    let second = team::invite(&world.context, &admin, &form("nia@acme.example", "admin")).await.unwrap();
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
    let nia = verified_account(&world, "nia@acme.example", "Nia New").await;
    assert!(team::invitations_for(&world.context, &nia).await.unwrap().is_empty(), "a cancelled invitation is gone");
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
