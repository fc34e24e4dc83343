//! SEC-1: every route, walked as a visitor who is not signed in, as a viewer of the organisation that owns the
//! agreement, and as a user of another organisation. Each answer is checked. A route registered without a
//! row here fails the first assertion.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, browser, csrf_token, product};
use onramp_domain::agreement::Origin;
use onramp_domain::{EmailAddress, Membership, NewUser, PersonName, StaffRole, TeamRole};
use onramp_service::lifecycle;

onramp_store::on_both_backends!(
    common::spawn_app;
    sec1_every_route_answers_each_kind_of_visitor_as_expected,
);

/// Expected status for: not signed in, viewer of the owning organisation, user of another organisation.
const EXPECTED: &[(&str, &str, [u16; 3])] = &[
    ("GET", "/", [200, 200, 200]),
    ("GET", "/sign-in", [200, 200, 200]),
    ("POST", "/sign-in", [422, 422, 422]),
    // A page with the sign-out button (or "you are not signed in"), never a 405.
    ("GET", "/sign-out", [200, 200, 200]),
    ("POST", "/sign-out", [303, 303, 303]),
    ("GET", "/register", [200, 200, 200]),
    ("POST", "/register", [422, 422, 422]),
    ("GET", "/account", [303, 200, 200]),
    // A verified account asking for a new verification link is sent back to its account page (nothing is sent).
    ("POST", "/account/verify-address", [303, 303, 303]),
    ("GET", "/verify-address/{token}", [404, 404, 404]),
    // The invitation is to an address neither visitor has: to them it does not exist.
    ("GET", "/invitations", [303, 200, 200]),
    ("POST", "/invitations/{invitation}/accept", [303, 404, 404]),
    ("POST", "/invitations/{invitation}/decline", [303, 404, 404]),
    ("GET", "/agreements", [303, 200, 200]),
    ("GET", "/agreements/{number}", [303, 200, 404]),
    ("POST", "/agreements/{number}/accept", [303, 422, 404]),
    ("POST", "/agreements/{number}/query", [303, 422, 404]),
    ("POST", "/agreements/{number}/staff/{action}", [303, 404, 404]),
    ("POST", "/agreements/{number}/terminate", [303, 404, 404]),
    ("GET", "/cases", [303, 200, 200]),
    ("GET", "/cases/{case}", [303, 200, 404]),
    ("POST", "/cases/{case}/comment", [303, 403, 404]),
    ("POST", "/cases/{case}/watch", [303, 403, 404]),
    ("POST", "/cases/{case}/state", [303, 403, 404]),
    ("GET", "/staff/agreements/new", [303, 404, 404]),
    ("POST", "/staff/agreements", [303, 404, 404]),
    ("GET", "/staff/terms", [303, 404, 404]),
    ("GET", "/staff/terms/{version}", [303, 404, 404]),
    ("POST", "/staff/terms/{version}/publish", [303, 404, 404]),
    ("GET", "/staff/demo-clock", [303, 404, 404]),
    ("POST", "/staff/demo-clock", [303, 404, 404]),
    // The mail log is for staff who run the service (NOT-2); the id is an outbox row's.
    ("GET", "/staff/mail", [303, 404, 404]),
    ("GET", "/staff/mail/{id}", [303, 404, 404]),
    ("GET", "/staff/mail/{id}/eml", [303, 404, 404]),
    ("POST", "/staff/mail/{id}/retry", [303, 404, 404]),
    ("GET", "/organisation", [303, 200, 200]),
    ("POST", "/organisation", [303, 409, 409]),
    ("GET", "/password-reset", [200, 200, 200]),
    ("POST", "/password-reset", [200, 200, 200]),
    ("GET", "/password-reset/{token}", [404, 404, 404]),
    ("POST", "/password-reset/{token}", [404, 404, 404]),
    ("POST", "/organisation/onboarding-contact", [303, 403, 303]),
    // Team management acts on the visitor's own organisation: the other organisation's owner manages their own
    // team (the walk's form has no role, hence 422) and cannot reach this one's members or invitations (404).
    ("POST", "/organisation/invitations", [303, 403, 422]),
    ("POST", "/organisation/invitations/{invitation}/cancel", [303, 403, 404]),
    ("POST", "/organisation/members/{member}/role", [303, 403, 404]),
    ("POST", "/organisation/members/{member}/remove", [303, 403, 404]),
    // Walked last but one: the viewer leaves; the other organisation's only owner may not.
    ("POST", "/organisation/leave", [303, 303, 409]),
    // The flow preview is public: anyone may read what will be asked before applying (DOS-1).
    ("GET", "/flows", [200, 200, 200]),
    ("GET", "/flows/{flow}", [200, 200, 200]),
    ("GET", "/applications", [303, 200, 200]),
    // The viewer may not start one; the other owner's empty form is refused for its missing product name.
    ("POST", "/applications", [303, 403, 422]),
    ("GET", "/applications/{application}", [303, 200, 404]),
    ("POST", "/applications/{application}/reject", [303, 403, 404]),
    ("POST", "/applications/{application}/agreement", [303, 403, 404]),
    // Evidence is the organisation's: its viewer may download it, nobody else.
    ("GET", "/applications/{application}/files/{file}", [303, 200, 404]),
    // DOS-5: reviewers set the milestones; the organisation's members read them.
    ("POST", "/applications/{application}/milestones", [303, 403, 404]),
    ("GET", "/applications/{application}/sections/{section}", [303, 200, 404]),
    ("POST", "/applications/{application}/sections/{section}", [303, 403, 404]),
    ("POST", "/applications/{application}/sections/{section}/review", [303, 403, 404]),
    ("GET", "/staff/reviews", [303, 404, 404]),
    ("GET", "/staff/flows", [303, 404, 404]),
    ("GET", "/staff/flows/{flow}", [303, 404, 404]),
    // ORG-3: the staff view of organisations, where the agreement team sets the kind; the organisation is the
    // viewer's own.
    ("GET", "/staff/organisations", [303, 404, 404]),
    ("GET", "/staff/organisations/{organisation}", [303, 404, 404]),
    ("POST", "/staff/organisations/{organisation}/kind", [303, 404, 404]),
    ("GET", "/healthz", [200, 200, 200]),
    ("GET", "/metrics", [404, 404, 404]),
    ("GET", "/readyz", [200, 200, 200]),
    ("GET", "/assets/{*file}", [200, 200, 200]),
    ("GET", "/provider-logo", [404, 404, 404]),
];

async fn member(app: &TestApp, email: &str, ods: &str, role: TeamRole) -> reqwest::Client {
    let ods_code = onramp_domain::OdsCode::parse(ods).unwrap();
    let organisation = match app.context.store.organisation_by_ods_code(&ods_code).await.unwrap() {
        Some(existing) => existing,
        None => common::organisation(app, ods).await,
    };
    let membership = Membership { organisation_id: organisation.id, role, onboarding_contact: false };
    common::account(app, email, "Test Person", vec![], Some(membership)).await;
    common::sign_in(app, email).await
}

async fn sec1_every_route_answers_each_kind_of_visitor_as_expected(app: TestApp) {
    let mut routes = onramp_web::route_table();
    routes.sort_unstable();
    let mut rows: Vec<(&str, &str)> = EXPECTED.iter().map(|(method, path, _)| (*method, *path)).collect();
    rows.sort_unstable();
    assert_eq!(routes, rows, "every route needs a row in EXPECTED, and every row a route");

    let staff = app
        .context
        .store
        .create_user(
            &NewUser {
                email: EmailAddress::parse("agreements@provider.example").unwrap(),
                full_name: PersonName::parse("Aisha Agreements").unwrap(),
                password_hash: None,
                staff_roles: vec![StaffRole::AgreementTeam],
                email_verified: true,
            },
            onramp_domain::Clock::now(app.clock.as_ref()),
        )
        .await
        .unwrap();
    let visitors = [
        browser(),
        member(&app, "viewer@owner.example", "OWN01", TeamRole::Viewer).await,
        member(&app, "owner@other.example", "OTH01", TeamRole::Owner).await,
    ];
    let owner = app
        .context
        .store
        .organisation_by_ods_code(&onramp_domain::OdsCode::parse("OWN01").unwrap())
        .await
        .unwrap()
        .unwrap();
    let agreement = lifecycle::create(&app.context, &staff, owner.id, vec![product("pds-fhir")], Origin::NewContract)
        .await
        .unwrap();
    let agreement = lifecycle::issue(&app.context, &staff, agreement.id).await.unwrap();
    let case = agreement.case_number.expect("issuing opens a case");
    // A member (the viewer) and a pending invitation of the owning organisation, for the team routes.
    let viewer = app.context.store.user_by_email(&EmailAddress::parse("viewer@owner.example").unwrap()).await.unwrap();
    let viewer = viewer.unwrap().id;
    let membership = Membership { organisation_id: owner.id, role: TeamRole::Admin, onboarding_contact: false };
    let team_admin = common::account(&app, "admin@owner.example", "Ade Admin", vec![], Some(membership)).await;
    let invite = onramp_service::team::InviteForm { email: "new@owner.example".into(), role: "viewer".into() };
    let invitation = onramp_service::team::invite(&app.context, &team_admin, &invite).await.unwrap().id;

    let mail_id = app.context.store.outbox_page(None, 1).await.unwrap()[0].id;
    let application =
        onramp_service::applications::start(&app.context, &team_admin, "Owner Records", &[product("pds-fhir")])
            .await
            .unwrap()
            .id;
    let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
    let file = onramp_service::application_files::upload(
        &app.context,
        &team_admin,
        application,
        &onramp_domain::application::SectionKey("standard-api/conformance".into()),
        "test_report",
        "report.pdf",
        onramp_service::evidence::ReadChunks(&pdf[..]),
    )
    .await
    .unwrap()
    .id;

    // Leaving changes who the viewer is, and sign-out ends the sessions, so they are walked last.
    let last = ["/organisation/leave", "/sign-out"];
    let walk = EXPECTED
        .iter()
        .filter(|(_, path, _)| !last.contains(path))
        .chain(last.iter().flat_map(|last| EXPECTED.iter().filter(move |(_, path, _)| path == last)));
    for (method, path, expected) in walk {
        let url = format!(
            "{}{}",
            app.address,
            path.replace("{number}", &agreement.number.to_string())
                .replace("{case}", &case.to_string())
                .replace("{action}", "pause")
                .replace("{version}", "7")
                .replace("{member}", &viewer.to_string())
                .replace("{invitation}", &invitation.to_string())
                .replace("{token}", &"0".repeat(64))
                .replace("{id}", &mail_id.to_string())
                .replace("{flow}", "standard-api")
                .replace("{application}", &application.0.to_string())
                .replace("{section}", "eligibility")
                .replace("{*file}", "onramp.css")
                .replace("{file}", &file.to_string())
                .replace("{organisation}", &owner.id.0.to_string())
        );
        for (visitor, client) in visitors.iter().enumerate() {
            let response = if *method == "GET" {
                client.get(&url).send().await.unwrap()
            } else {
                let page = client.get(format!("{}/sign-in", app.address)).send().await.unwrap().text().await.unwrap();
                let form = [
                    ("csrf_token", csrf_token(&page)),
                    ("read_and_understood", "yes".into()),
                    ("description", "A question".into()),
                    ("body", "A comment".into()),
                    ("email", "watcher@owner.example".into()),
                ];
                client.post(&url).form(&form).send().await.unwrap()
            };
            let who = ["not signed in", "viewer", "other organisation"][visitor];
            assert_eq!(response.status().as_u16(), expected[visitor], "{method} {path} as {who}");
            let redirects_elsewhere =
                ["/sign-out", "/organisation/onboarding-contact", "/organisation/leave", "/account/verify-address"];
            if expected[visitor] == 303 && !redirects_elsewhere.contains(path) {
                let location = response.headers()["location"].to_str().unwrap();
                assert!(location.starts_with("/sign-in"), "{method} {path} as {who} goes to sign-in, not {location}");
            }
        }
    }
}
