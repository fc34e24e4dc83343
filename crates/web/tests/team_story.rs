//! Team management through the real HTTP server (SPEC §1, SEC-1, SEC-2, SEC-3): an owner invites an existing
//! account and a new address, and each joins only by accepting on their invitations page (a new account once
//! its address is verified); the owner changes a role, removes a member and cancels an invitation; a viewer
//! sees the team but no forms and is refused; bad input keeps what was typed; the form answers a member of
//! another organisation as any address; a post without the CSRF token changes nothing; an expired invitation
//! cannot be accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{PASSWORD, TestApp, account, browser, get, post, sign_in};
use jiff::SignedDuration;
use onramp_domain::{EmailAddress, Membership, TeamRole, User};

onramp_store::on_both_backends!(
    common::spawn_app;
    team_an_owner_invites_changes_roles_and_removes_members,
    team_a_new_address_joins_when_it_registers_verifies_and_accepts_unless_the_invitation_expired,
    team_viewers_see_no_forms_and_refused_or_malformed_posts_change_nothing,
);

fn now(app: &TestApp) -> jiff::Timestamp {
    onramp_domain::Clock::now(app.clock.as_ref())
}

/// An organisation registered by a new account, its owner.
async fn organisation_with_owner(app: &TestApp, ods: &str, owner_email: &str) -> (onramp_domain::Organisation, User) {
    let owner = account(app, owner_email, "Olu Owner", vec![], None).await;
    let details = common::organisation_details(ods);
    let organisation = app.context.store.create_organisation_with_owner(&details, owner.id, now(app)).await.unwrap();
    (organisation, app.context.store.user(owner.id).await.unwrap().unwrap())
}

async fn member(app: &TestApp, organisation: &onramp_domain::Organisation, email: &str, role: TeamRole) -> User {
    let membership = Membership { organisation_id: organisation.id, role, onboarding_contact: false };
    account(app, email, "Vic Member", vec![], Some(membership)).await
}

async fn register(app: &TestApp, email: &str, name: &str) -> reqwest::Response {
    let client = browser();
    let page = get(app, &client, "/register").await;
    let fields = [("email", email), ("full_name", name), ("password", PASSWORD), ("confirm_password", PASSWORD)];
    post(app, &client, "/register", &page, &fields).await
}

async fn membership_of(app: &TestApp, email: &str) -> Option<Membership> {
    app.context.store.user_by_email(&EmailAddress::parse(email).unwrap()).await.unwrap().unwrap().membership
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

async fn team_an_owner_invites_changes_roles_and_removes_members(app: TestApp) {
    let (organisation, _) = organisation_with_owner(&app, "X26", "olu@acme.example").await;
    let nia = account(&app, "nia@elsewhere.example", "Nia Newcomer", vec![], None).await;
    let owner = sign_in(&app, "olu@acme.example").await;

    // An account in no organisation is invited; it joins when it accepts, and is told.
    let page = get(&app, &owner, "/organisation").await;
    assert!(page.contains("Invite someone to the team") && page.contains(r#"<label class="nhsuk-label" for="email">"#));
    let joined = post(
        &app,
        &owner,
        "/organisation/invitations",
        &page,
        &[("email", "Nia@Elsewhere.example"), ("role", "admin")],
    )
    .await;
    assert_eq!((joined.status().as_u16(), location(&joined)), (303, "/organisation?team=invited"));
    assert!(membership_of(&app, "nia@elsewhere.example").await.is_none(), "nobody joins by invitation alone");
    let nia_browser = sign_in(&app, "nia@elsewhere.example").await;
    let waiting = get(&app, &nia_browser, "/invitations").await;
    assert!(waiting.contains("Organisation X26") && waiting.contains("Olu Owner"), "{waiting}");
    let invitation = app.context.store.pending_invitations(organisation.id).await.unwrap().remove(0);
    let accepted = post(&app, &nia_browser, &format!("/invitations/{}/accept", invitation.id), &waiting, &[]).await;
    assert_eq!((accepted.status().as_u16(), location(&accepted)), (303, "/organisation"));
    let membership = membership_of(&app, "nia@elsewhere.example").await.unwrap();
    assert_eq!((membership.organisation_id, membership.role), (organisation.id, TeamRole::Admin));
    let outbox = app.context.store.notifications().await.unwrap();
    let mut told: Vec<(String, &[String])> =
        outbox.iter().map(|m| (m.notification.kind(), m.recipients.as_slice())).collect();
    told.sort_unstable();
    let nia_address = ["nia@elsewhere.example".to_owned()];
    assert_eq!(
        told,
        [("team_invitation".to_owned(), &nia_address[..]), ("team_member_added".to_owned(), &nia_address[..])]
    );
    assert!(get(&app, &nia_browser, "/organisation").await.contains("Organisation X26"));
    let page = get(&app, &owner, "/organisation").await;
    assert!(page.contains("Nia Newcomer") && page.contains("nia@elsewhere.example"), "{page}");

    // The owner's own row has no controls: the owner is never demoted or removed.
    assert!(!page.contains("Leave the team"), "the last owner cannot leave");

    // Changing a role: Nia becomes a viewer, and then sees the team but no forms.
    let page = get(&app, &owner, "/organisation").await;
    let path = format!("/organisation/members/{}/role", nia.id);
    let changed = post(&app, &owner, &path, &page, &[("role", "viewer")]).await;
    assert_eq!((changed.status().as_u16(), location(&changed)), (303, "/organisation?team=role"));
    assert_eq!(membership_of(&app, "nia@elsewhere.example").await.unwrap().role, TeamRole::Viewer);
    let as_viewer = get(&app, &nia_browser, "/organisation").await;
    assert!(as_viewer.contains("Olu Owner") && as_viewer.contains("Pending invitations"), "{as_viewer}");
    let team_forms = ["action=\"/organisation/members", "action=\"/organisation/invitations"];
    assert!(!team_forms.iter().any(|form| as_viewer.contains(form)), "no team forms for viewers");
    assert!(as_viewer.contains("action=\"/organisation/leave\""), "but a viewer may leave");
    let bad_role = post(&app, &owner, &path, &page, &[("role", "owner")]).await;
    assert_eq!(bad_role.status(), 400, "nobody is made owner");

    // Removing a member: their account stays, in no organisation.
    let removed = post(&app, &owner, &format!("/organisation/members/{}/remove", nia.id), &page, &[]).await;
    assert_eq!((removed.status().as_u16(), location(&removed)), (303, "/organisation?team=removed"));
    assert!(membership_of(&app, "nia@elsewhere.example").await.is_none());
    assert!(!get(&app, &owner, "/organisation").await.contains("nia@elsewhere.example"));
    let audit: Vec<String> = app.context.store.audit_records().await.unwrap().into_iter().map(|r| r.action).collect();
    assert_eq!(audit, ["team_invite", "team_join", "team_role_change", "team_remove"]);

    // An admin may manage the team but not remove or demote the owner.
    let admin = member(&app, &organisation, "ade@acme.example", TeamRole::Admin).await;
    let admin_browser = sign_in(&app, "ade@acme.example").await;
    let page = get(&app, &admin_browser, "/organisation").await;
    assert!(page.contains("Leave the team"), "an admin may leave");
    let owner_id =
        app.context.store.user_by_email(&EmailAddress::parse("olu@acme.example").unwrap()).await.unwrap().unwrap().id;
    let refused = post(&app, &admin_browser, &format!("/organisation/members/{owner_id}/remove"), &page, &[]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("owner of the organisation cannot be removed"));
    let owner_page = get(&app, &owner, "/organisation").await;
    let refused = post(&app, &owner, &format!("/organisation/members/{owner_id}/remove"), &owner_page, &[]).await;
    assert_eq!(refused.status(), 409, "the last owner cannot remove themselves");
    assert_eq!(membership_of(&app, "olu@acme.example").await.unwrap().role, TeamRole::Owner);
    let left = post(&app, &admin_browser, &format!("/organisation/members/{}/remove", admin.id), &page, &[]).await;
    assert_eq!((left.status().as_u16(), location(&left)), (303, "/"));

    // Any member may leave of their own accord (a viewer too); the last owner may not.
    let viewer = member(&app, &organisation, "vic@acme.example", TeamRole::Viewer).await;
    let viewer_browser = sign_in(&app, "vic@acme.example").await;
    let page = get(&app, &viewer_browser, "/organisation").await;
    let left = post(&app, &viewer_browser, "/organisation/leave", &page, &[]).await;
    assert_eq!((left.status().as_u16(), location(&left)), (303, "/invitations?left=1"));
    assert!(app.context.store.user(viewer.id).await.unwrap().unwrap().membership.is_none());
    let refused = post(&app, &owner, "/organisation/leave", &owner_page, &[]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("last owner"));
}

/// Registers `email` through the form, signs in, and opens the mailed verification link (SEC-1).
async fn register_and_verify(app: &TestApp, email: &str, name: &str) -> reqwest::Client {
    assert_eq!(register(app, email, name).await.status(), 303);
    let client = sign_in(app, email).await;
    let path = common::verification_path(app, email).await;
    assert!(get(app, &client, &path).await.contains("Your email address is confirmed"));
    client
}

async fn team_a_new_address_joins_when_it_registers_verifies_and_accepts_unless_the_invitation_expired(app: TestApp) {
    let (organisation, _) = organisation_with_owner(&app, "X26", "olu@acme.example").await;
    let owner = sign_in(&app, "olu@acme.example").await;
    let page = get(&app, &owner, "/organisation").await;
    let invited =
        post(&app, &owner, "/organisation/invitations", &page, &[("email", "new@acme.example"), ("role", "viewer")])
            .await;
    assert_eq!((invited.status().as_u16(), location(&invited)), (303, "/organisation?team=invited"));
    let page = get(&app, &owner, "/organisation?team=invited").await;
    assert!(page.contains("Invitation sent"), "{page}");
    assert!(page.contains("new@acme.example") && page.contains("Cancel invitation"), "{page}");
    assert!(page.contains("5 December 2026"), "expires 14 days after 21 November: {page}");
    let outbox = app.context.store.notifications().await.unwrap();
    assert_eq!(
        (outbox[0].notification.kind().as_str(), outbox[0].recipients[0].as_str()),
        ("team_invitation", "new@acme.example")
    );

    // Registering with the address joins nothing; unverified, the invitation is not even shown.
    assert_eq!(register(&app, "new@acme.example", "Nat New").await.status(), 303);
    assert!(membership_of(&app, "new@acme.example").await.is_none());
    let nat = sign_in(&app, "new@acme.example").await;
    let waiting = get(&app, &nat, "/invitations").await;
    assert!(waiting.contains("Confirm your email address") && !waiting.contains("Organisation X26"), "{waiting}");
    let invitation = app.context.store.pending_invitations(organisation.id).await.unwrap().remove(0);
    let refused = post(&app, &nat, &format!("/invitations/{}/accept", invitation.id), &waiting, &[]).await;
    assert_eq!(refused.status(), 403, "an unverified account cannot accept");
    // The mailed link verifies the address; then the invitation shows and is accepted.
    let path = common::verification_path(&app, "new@acme.example").await;
    assert!(get(&app, &nat, &path).await.contains("Your email address is confirmed"));
    let waiting = get(&app, &nat, "/invitations").await;
    assert!(waiting.contains("Organisation X26"), "{waiting}");
    post(&app, &nat, &format!("/invitations/{}/accept", invitation.id), &waiting, &[]).await;
    let membership = membership_of(&app, "new@acme.example").await.unwrap();
    assert_eq!((membership.organisation_id, membership.role), (organisation.id, TeamRole::Viewer));
    let page = get(&app, &owner, "/organisation").await;
    assert!(page.contains("Nat New") && page.contains("No invitations are waiting"), "{page}");

    // A cancelled invitation joins nobody.
    post(&app, &owner, "/organisation/invitations", &page, &[("email", "gone@acme.example"), ("role", "admin")]).await;
    let invitation = app.context.store.pending_invitations(organisation.id).await.unwrap().remove(0);
    let page = get(&app, &owner, "/organisation").await;
    let cancelled =
        post(&app, &owner, &format!("/organisation/invitations/{}/cancel", invitation.id), &page, &[]).await;
    assert_eq!((cancelled.status().as_u16(), location(&cancelled)), (303, "/organisation?team=cancelled"));
    assert!(app.context.store.pending_invitations(organisation.id).await.unwrap().is_empty());
    let gus = register_and_verify(&app, "gone@acme.example", "Gus Gone").await;
    assert!(get(&app, &gus, "/invitations").await.contains("No invitations are waiting for you"));

    // An invitation 14 days old has expired: it is no longer offered, and cannot be accepted.
    post(&app, &owner, "/organisation/invitations", &page, &[("email", "late@acme.example"), ("role", "admin")]).await;
    let late = app.context.store.pending_invitations(organisation.id).await.unwrap().remove(0);
    register_and_verify(&app, "late@acme.example", "Lee Late").await;
    app.clock.advance(SignedDuration::from_hours(14 * 24));
    let lee = sign_in(&app, "late@acme.example").await;
    let waiting = get(&app, &lee, "/invitations").await;
    assert!(waiting.contains("No invitations are waiting for you"), "{waiting}");
    let expired = post(&app, &lee, &format!("/invitations/{}/accept", late.id), &waiting, &[]).await;
    assert_eq!(expired.status(), 404);
    assert!(membership_of(&app, "late@acme.example").await.is_none(), "an expired invitation does not join");
    let owner = sign_in(&app, "olu@acme.example").await;
    let page = get(&app, &owner, "/organisation").await;
    assert!(
        page.contains("late@acme.example") && page.contains("Expired"),
        "listed as expired until cancelled: {page}"
    );
}

async fn team_viewers_see_no_forms_and_refused_or_malformed_posts_change_nothing(app: TestApp) {
    let (organisation, _) = organisation_with_owner(&app, "X26", "olu@acme.example").await;
    let viewer = member(&app, &organisation, "vic@acme.example", TeamRole::Viewer).await;
    let viewer_browser = sign_in(&app, "vic@acme.example").await;
    let page = get(&app, &viewer_browser, "/organisation").await;
    assert!(page.contains("Olu Owner") && page.contains("vic@acme.example"), "a viewer sees the team: {page}");
    assert!(!page.contains("Send invitation") && !page.contains("Change role") && !page.contains("Nominate me"));

    // A viewer's posts are refused and change nothing.
    let fields = [("email", "friend@acme.example"), ("role", "admin")];
    let refused = post(&app, &viewer_browser, "/organisation/invitations", &page, &fields).await;
    assert_eq!(refused.status(), 403);
    let path = format!("/organisation/members/{}/role", viewer.id);
    assert_eq!(post(&app, &viewer_browser, &path, &page, &[("role", "admin")]).await.status(), 403);
    assert!(app.context.store.pending_invitations(organisation.id).await.unwrap().is_empty());
    assert!(app.context.store.notifications().await.unwrap().is_empty());
    assert_eq!(membership_of(&app, "vic@acme.example").await.unwrap().role, TeamRole::Viewer);

    // Bad input: the error summary links to the field, what was typed stays, nothing is stored.
    let owner = sign_in(&app, "olu@acme.example").await;
    let page = get(&app, &owner, "/organisation").await;
    let bad =
        post(&app, &owner, "/organisation/invitations", &page, &[("email", "not-an-address"), ("role", "admin")]).await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("There is a problem") && bad.contains(r##"<a href="#email">"##), "{bad}");
    assert!(bad.contains(r#"value="not-an-address""#), "what was typed is kept: {bad}");
    assert!(bad.contains(r#"id="role-admin" name="role" value="admin" checked"#), "the chosen role is kept: {bad}");
    assert!(bad.contains("<title>Error: "), "the title says there is an error");
    let taken =
        post(&app, &owner, "/organisation/invitations", &page, &[("email", "vic@acme.example"), ("role", "admin")])
            .await;
    assert_eq!(taken.status(), 422);
    assert!(taken.text().await.unwrap().contains("already a member of your team"));
    // No CSRF token: refused before anything runs.
    let no_token = owner
        .post(format!("{}/organisation/invitations", app.address))
        .form(&[("email", "friend@acme.example"), ("role", "admin")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    let path = format!("/organisation/members/{}/remove", viewer.id);
    let no_token = owner.post(format!("{}{path}", app.address)).form(&[("csrf_token", "")]).send().await.unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(app.context.store.pending_invitations(organisation.id).await.unwrap().is_empty());
    assert!(app.context.store.notifications().await.unwrap().is_empty());
    assert!(membership_of(&app, "vic@acme.example").await.is_some(), "the viewer was not removed");
    assert!(app.context.store.audit_records().await.unwrap().is_empty(), "nothing was recorded either");

    // SEC-1: a member of another organisation is invited like any address: the form reveals nothing.
    let (_, other_owner) = organisation_with_owner(&app, "OTH01", "oz@other.example").await;
    let other = post(
        &app,
        &owner,
        "/organisation/invitations",
        &page,
        &[("email", other_owner.email.as_str()), ("role", "viewer")],
    )
    .await;
    let unknown = post(
        &app,
        &owner,
        "/organisation/invitations",
        &page,
        &[("email", "nobody@nowhere.example"), ("role", "viewer")],
    )
    .await;
    assert_eq!((other.status().as_u16(), location(&other)), (unknown.status().as_u16(), location(&unknown)));
    assert_eq!(location(&other), "/organisation?team=invited");
    assert!(membership_of(&app, "oz@other.example").await.is_some_and(|m| m.role == TeamRole::Owner));
}
