//! The agreement team's pages over real HTTP, on both databases: the filtered list (CA-13), creating, issuing
//! and terminating a contract (CA-2, CA-8), publishing terms after a preview and a confirmation (CA-5), the
//! demo clock, and cases with internal notes and a watch list (CASE-1). Every form's bad input is shown in the
//! error summary with what was typed kept, and changes nothing (SEC-3).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, get, organisation, post, product, sign_in, without_classes};
use jiff::SignedDuration;
use onramp_domain::agreement::{Agreement, AgreementState, Origin, SignatureType, Substate};
use onramp_domain::{ApiProduct, Membership, Organisation, StaffRole, TeamRole, User};
use onramp_service::lifecycle;
use onramp_store::testing::TestDatabase;

onramp_store::on_both_backends!(
    common::spawn_app;
    ca13_staff_filter_the_list_by_every_criterion,
    ca2_ca8_staff_create_issue_and_terminate_a_contract,
    ca5_terms_are_published_only_after_a_preview_and_a_confirmation,
    case1_replies_internal_notes_and_the_watch_list,
    case1_only_the_agreement_team_answers_and_a_closed_case_takes_no_more_messages,
);

const STAFF: &str = "agreements@provider.example";

async fn agreement_team(app: &TestApp) -> (User, reqwest::Client) {
    let staff = account(app, STAFF, "Aisha Agreements", vec![StaffRole::AgreementTeam], None).await;
    (staff, sign_in(app, STAFF).await)
}

async fn contact_of(app: &TestApp, organisation: &Organisation, email: &str, role: TeamRole) -> User {
    let membership =
        Membership { organisation_id: organisation.id, role, onboarding_contact: role != TeamRole::Viewer };
    account(app, email, "Olu Owner", vec![], Some(membership)).await
}

async fn issued(app: &TestApp, staff: &User, organisation: &Organisation, product: ApiProduct) -> Agreement {
    let draft =
        lifecycle::create(&app.context, staff, organisation.id, vec![product], Origin::NewContract).await.unwrap();
    lifecycle::issue(&app.context, staff, draft.id).await.unwrap()
}

fn assert_error_summary(page: &str, message: &str) {
    assert!(page.contains("There is a problem"), "the error summary is shown: {page}");
    assert!(page.contains(message), "the summary says {message:?}: {page}");
}

async fn ca13_staff_filter_the_list_by_every_criterion(app: TestApp) {
    let (staff, _) = agreement_team(&app).await;
    let (alpha, beta, gamma) =
        (organisation(&app, "ALP01").await, organisation(&app, "BET01").await, organisation(&app, "GAM01").await);
    let a = issued(&app, &staff, &alpha, product("pds-fhir")).await;
    app.clock.advance(SignedDuration::from_hours(24 * 60));
    // The jump puts the agreements 30 days apart in the list; it also makes the first one's 30-day reminder due.
    // No worker runs here: the story is about filtering the list, so that reminder is left waiting on purpose.
    app.expect_unsettled_jobs();
    let b = issued(&app, &staff, &beta, product("nhs-login")).await;
    let c = lifecycle::create(&app.context, &staff, gamma.id, vec![product("gp-connect")], Origin::NewContract)
        .await
        .unwrap();
    let (a, b, c) = (a.number.to_string(), b.number.to_string(), c.number.to_string());
    let client = sign_in(&app, STAFF).await; // sessions last 12 hours; the clock moved 60 days
    let shows = |page: &str, expected: &[&str]| {
        for number in [&a, &b, &c] {
            assert_eq!(page.contains(number.as_str()), expected.contains(&number.as_str()), "{number} in {page}");
        }
    };

    let page = get(&app, &client, "/agreements").await;
    assert!(page.contains("Connection Agreements") && page.contains("Days left"), "{page}");
    shows(&page, &[&a, &b]);
    shows(&get(&app, &client, "/agreements?days_left=30").await, &[&a]);
    shows(&get(&app, &client, "/agreements?product=nhs-login").await, &[&b]);
    shows(&get(&app, &client, "/agreements?state=draft&substate=awaiting_review").await, &[&c]);
    shows(&get(&app, &client, "/agreements?signature=accepted_via_portal").await, &[&a, &b, &c]);
    shows(&get(&app, &client, "/agreements?signature=auto_accepted").await, &[]);
    shows(&get(&app, &client, &format!("/agreements?organisation={}", gamma.id.0)).await, &[&c]);
    shows(&get(&app, &client, "/agreements?state=cancelled").await, &[]);

    let sorted = get(&app, &client, "/agreements?sort=days_left").await;
    assert!(sorted.find(&a).unwrap() < sorted.find(&b).unwrap(), "fewest days left first");
    let carried = get(&app, &client, "/agreements?product=pds-fhir&days_left=45").await;
    assert!(
        carried.contains("sort=days_left&amp;days_left=45&amp;product=pds-fhir")
            || carried.contains("product=pds-fhir")
    );

    let response =
        client.get(format!("{}/agreements?days_left=soon&product=teleporter", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_error_summary(&page, "Days left must be a whole number from 0 to 366");
    assert_error_summary(&page, "Choose an API product from the list");
    assert!(page.contains(r#"value="soon""#), "what was typed is kept");

    // A connecting party's list has no staff filters and ignores them.
    let contact = contact_of(&app, &beta, "olu@beta.example", TeamRole::Owner).await;
    let party = sign_in(&app, contact.email.as_str()).await;
    let own = get(&app, &party, "/agreements?product=pds-fhir").await;
    assert!(own.contains("My Connection Agreements") && !own.contains("Apply filters"));
    shows(&own, &[&b]);
}

async fn ca2_ca8_staff_create_issue_and_terminate_a_contract(app: TestApp) {
    let (_, client) = agreement_team(&app).await;
    let acme = organisation(&app, "ACM01").await;
    let contact = contact_of(&app, &acme, "olu@acme.example", TeamRole::Owner).await;

    let form = get(&app, &client, "/staff/agreements/new").await;
    assert!(form.contains("Organisation ACM01 (ACM01)"));
    let response = post(&app, &client, "/staff/agreements", &form, &[]).await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_error_summary(&page, "Choose the organisation the agreement is for");
    assert_error_summary(&page, "Choose at least one API product the agreement covers");
    let chosen = acme.id.0.to_string();
    let fields = [("organisation", chosen.as_str()), ("product", "teleporter")];
    let page = post(&app, &client, "/staff/agreements", &form, &fields).await.text().await.unwrap();
    assert_error_summary(&page, "Choose API products from the list");
    assert!(page.contains(&format!(r#"value="{chosen}" selected"#)), "the organisation chosen stays chosen");
    assert!(app.context.store.agreements_of(acme.id).await.unwrap().is_empty(), "nothing was created");

    let fields = [("organisation", chosen.as_str()), ("product", "pds-fhir"), ("product", "nhs-login")];
    let response = post(&app, &client, "/staff/agreements", &form, &fields).await;
    assert_eq!(response.status(), 303);
    let created = response.headers()["location"].to_str().unwrap().to_owned();
    let (location, done) = created.split_once('?').unwrap();
    assert_eq!(done, "done=created");
    let location = location.to_owned();
    let page = get(&app, &client, &created).await;
    assert!(
        page.contains("Awaiting Review") && page.contains("Personal Demographics Service FHIR API, NHS login"),
        "{page}"
    );
    assert!(page.contains("The contract is created as Draft / Awaiting Review."), "a confirmation: {page}");
    assert!(!get(&app, &client, &location).await.contains("The contract is created"), "said once, after the action");
    let response = post(&app, &client, &format!("{location}/staff/issue"), &page, &[]).await;
    assert_eq!(response.status(), 303);
    let issued = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(get(&app, &client, &issued).await.contains("The agreement is issued."), "a confirmation");
    let agreement = app.context.store.agreements_of(acme.id).await.unwrap().remove(0);
    assert_eq!(agreement.substate, Some(Substate::UnderReview));
    lifecycle::accept(&app.context, &contact, agreement.id, lifecycle::terms_shown(&app.context, &agreement).unwrap())
        .await
        .unwrap();

    let page = get(&app, &client, &location).await;
    assert!(page.contains("Terminate the agreement"));
    let response = post(&app, &client, &format!("{location}/terminate"), &page, &[("end_date", "31/03/2027")]).await;
    assert_eq!(response.status(), 422);
    let refused = response.text().await.unwrap();
    assert_error_summary(&refused, "Enter the end date as year-month-day");
    assert!(refused.contains(r#"value="31/03/2027""#));
    let response = post(&app, &client, &format!("{location}/terminate"), &page, &[("end_date", "2020-01-01")]).await;
    assert_eq!(response.status(), 422, "an end date in the past is refused by the rules");
    assert!(app.context.store.agreement(agreement.id).await.unwrap().unwrap().scheduled_end_date.is_none());

    let response = post(&app, &client, &format!("{location}/terminate"), &page, &[("end_date", "2027-03-31")]).await;
    assert_eq!(response.status(), 303);
    let page = get(&app, &client, &location).await;
    assert!(page.contains("It ends on 31 March 2027"), "{page}");
    assert!(!page.contains("Terminate the agreement"), "a scheduled termination is not offered again");

    // CA-2: a new contract cancels the pending draft, so the form says so and asks first.
    let beacon = organisation(&app, "BEA01").await;
    let chosen = beacon.id.0.to_string();
    let fields = [("organisation", chosen.as_str()), ("product", "pds-fhir")];
    let first = post(&app, &client, "/staff/agreements", &form, &fields).await;
    assert_eq!(first.status(), 303, "no pending draft: nothing to confirm");
    let draft = app.context.store.agreements_of(beacon.id).await.unwrap();
    let draft = draft.iter().find(|a| a.state == onramp_domain::agreement::AgreementState::Draft).unwrap().clone();
    let refused = post(&app, &client, "/staff/agreements", &form, &fields).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert_error_summary(&refused, &format!("Tick to confirm that {} is cancelled", draft.number));
    assert!(refused.contains(&format!("{} is still a draft", draft.number)), "{refused}");
    assert_eq!(app.context.store.agreement(draft.id).await.unwrap().unwrap().state, draft.state, "nothing changed");
    let confirmed = [("organisation", chosen.as_str()), ("product", "pds-fhir"), ("replace_draft", "yes")];
    assert_eq!(post(&app, &client, "/staff/agreements", &form, &confirmed).await.status(), 303);
    let replaced = app.context.store.agreement(draft.id).await.unwrap().unwrap();
    assert_eq!(replaced.state, onramp_domain::agreement::AgreementState::Cancelled, "the draft was replaced");
}

async fn ca5_terms_are_published_only_after_a_preview_and_a_confirmation(app: TestApp) {
    let (staff, client) = agreement_team(&app).await;
    let acme = organisation(&app, "ACM01").await;
    let contact = contact_of(&app, &acme, "olu@acme.example", TeamRole::Owner).await;
    let agreement = issued(&app, &staff, &acme, product("pds-fhir")).await;
    lifecycle::accept(&app.context, &contact, agreement.id, lifecycle::terms_shown(&app.context, &agreement).unwrap())
        .await
        .unwrap();

    let terms = get(&app, &client, "/staff/terms").await;
    assert!(terms.contains("Version 6 is in force") && terms.contains("Preview publishing version 7"), "{terms}");
    let preview = get(&app, &client, "/staff/terms/7").await;
    assert!(preview.contains("1 organisation will be issued a new agreement"), "{preview}");
    assert!(preview.contains("Organisation ACM01"));

    let response = post(&app, &client, "/staff/terms/7/publish", &preview, &[]).await;
    assert_eq!(response.status(), 422);
    assert_error_summary(&response.text().await.unwrap(), "Tick the box to confirm");
    assert_eq!(app.context.store.agreements_of(acme.id).await.unwrap().len(), 1, "nothing was published");
    assert!(app.context.store.publications().await.unwrap().is_empty());

    let response = post(&app, &client, "/staff/terms/7/publish", &preview, &[("confirm", "yes")]).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let confirmed = without_classes(&get(&app, &client, &location).await);
    assert!(confirmed.contains("Version 7 is published and in force. 1 organisation was issued"), "{confirmed}");
    assert!(
        confirmed.contains(r#"<td data-label="Status">Superseded</td>"#),
        "version 6 is superseded, not in force: {confirmed}"
    );
    let agreements = app.context.store.agreements_of(acme.id).await.unwrap();
    let draft = agreements.iter().find(|a| a.state == AgreementState::Draft).expect("the uplift draft");
    assert_eq!((draft.terms_version, draft.signature_type), (7, SignatureType::AutoAccepted));
    let after = get(&app, &client, "/staff/terms/7").await;
    assert!(after.contains("Version 7 is the version in force"), "{after}");
    assert!(get(&app, &client, "/staff/terms").await.contains("Version 7 is in force"));
    assert_eq!(client.get(format!("{}/staff/terms/99", app.address)).send().await.unwrap().status(), 404);
}

async fn case1_replies_internal_notes_and_the_watch_list(app: TestApp) {
    let (staff, client) = agreement_team(&app).await;
    let acme = organisation(&app, "ACM01").await;
    let contact = contact_of(&app, &acme, "olu@acme.example", TeamRole::Owner).await;
    let agreement = issued(&app, &staff, &acme, product("pds-fhir")).await;
    let case = agreement.case_number.unwrap().to_string();
    let party = sign_in(&app, contact.email.as_str()).await;

    let list = get(&app, &party, "/cases").await;
    assert!(list.contains(&case) && list.contains(&agreement.number.to_string()));
    let page = get(&app, &client, &format!("/cases/{case}")).await;
    let fields = [("body", "Checked their DSPT; fine."), ("internal", "yes")];
    assert_eq!(post(&app, &client, &format!("/cases/{case}/comment"), &page, &fields).await.status(), 303);
    let page = get(&app, &party, &format!("/cases/{case}")).await;
    assert!(!page.contains("Checked their DSPT"), "internal notes are never shown to the connecting party");
    assert!(!page.contains("Internal note"), "nor offered to them");

    let response = post(&app, &party, &format!("/cases/{case}/comment"), &page, &[("body", "   ")]).await;
    assert_eq!(response.status(), 422);
    assert_error_summary(&response.text().await.unwrap(), "Write a message");
    let fields = [("body", "When does it start?")];
    assert_eq!(post(&app, &party, &format!("/cases/{case}/comment"), &page, &fields).await.status(), 303);

    let before = app.context.store.case(agreement.case_number.unwrap()).await.unwrap().unwrap();
    let response = post(&app, &party, &format!("/cases/{case}/watch"), &page, &[("email", "not an address")]).await;
    assert_eq!(response.status(), 422);
    let refused = response.text().await.unwrap();
    assert!(refused.contains("There is a problem") && refused.contains(r#"value="not an address""#), "{refused}");
    let after = app.context.store.case(agreement.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!(before.watchers, after.watchers, "nothing changed");
    let fields = [("email", "service-desk@acme.example")];
    assert_eq!(post(&app, &party, &format!("/cases/{case}/watch"), &page, &fields).await.status(), 303);
    let page = get(&app, &client, &format!("/cases/{case}")).await;
    assert!(page.contains("Watch list: service-desk@acme.example") && page.contains("When does it start?"));
    assert!(page.contains("Checked their DSPT"), "staff see internal notes");

    // Staff move the case; the connecting party is told; a reply from them reopens a case awaiting info.
    let page = get(&app, &client, &format!("/cases/{case}")).await;
    let response = post(&app, &client, &format!("/cases/{case}/state"), &page, &[("state", "shelved")]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("Choose a state from the list"));
    let fields = [("state", "awaiting_info")];
    assert_eq!(post(&app, &client, &format!("/cases/{case}/state"), &page, &fields).await.status(), 303);
    let page = get(&app, &party, &format!("/cases/{case}")).await;
    assert!(page.contains("Awaiting Info") && !page.contains("Move the case to"), "no state form for the party");
    let told = app.context.store.notifications().await.unwrap();
    let told = told.iter().find(|n| n.notification.kind() == "case_state").expect("the state change is notified");
    assert!(told.recipients.contains(&"olu@acme.example".to_owned()), "{:?}", told.recipients);
    let refused = post(&app, &party, &format!("/cases/{case}/state"), &page, &[("state", "closed")]).await;
    assert_eq!(refused.status(), 403);
    let fields = [("body", "Here is the information.")];
    assert_eq!(post(&app, &party, &format!("/cases/{case}/comment"), &page, &fields).await.status(), 303);
    let reopened = app.context.store.case(agreement.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!(reopened.state, onramp_domain::case::CaseState::Open);

    // A viewer reads the case but gets no forms.
    let viewer = contact_of(&app, &acme, "viewer@acme.example", TeamRole::Viewer).await;
    let page = get(&app, &sign_in(&app, viewer.email.as_str()).await, &format!("/cases/{case}")).await;
    assert!(page.contains("When does it start?") && !page.contains(r#"action="/cases/"#));
}

/// CASE-1 (SPEC §1): other provider staff read cases but answering them is the agreement team's; a closed case
/// says so on its page and takes no more messages from anyone until the team reopens it.
async fn case1_only_the_agreement_team_answers_and_a_closed_case_takes_no_more_messages(app: TestApp) {
    let (staff, team) = agreement_team(&app).await;
    let acme = organisation(&app, "ACM01").await;
    let contact = contact_of(&app, &acme, "olu@acme.example", TeamRole::Owner).await;
    let agreement = issued(&app, &staff, &acme, product("pds-fhir")).await;
    let number = agreement.case_number.unwrap();
    let path = format!("/cases/{number}");
    let activity = |case: onramp_domain::case::Case| case.activity.len();
    let before = activity(app.context.store.case(number).await.unwrap().unwrap());

    for (email, role) in [
        ("rita@provider.example", StaffRole::Reviewer),
        ("lee@provider.example", StaffRole::LiveService),
        ("ada@provider.example", StaffRole::Admin),
    ] {
        account(&app, email, "Other Staff", vec![role], None).await;
        let other = sign_in(&app, email).await;
        let page = get(&app, &other, &path).await;
        assert!(page.contains("Opened with the new contract"), "{role:?} reads the case");
        assert!(!page.contains(r#"action="/cases/"#), "{role:?} is offered no form");
        assert!(
            page.contains("Only the agreement team writes in cases; other provider staff can read them."),
            "{role:?} is told why: {page}"
        );
        let reply = post(&app, &other, &format!("{path}/comment"), &page, &[("body", "Looks fine to me.")]).await;
        assert_eq!(reply.status(), 403, "{role:?} may not answer");
        let state = post(&app, &other, &format!("{path}/state"), &page, &[("state", "closed")]).await;
        assert_eq!(state.status(), 403, "{role:?} may not move it");
    }
    assert_eq!(activity(app.context.store.case(number).await.unwrap().unwrap()), before, "nothing was written");

    let page = get(&app, &team, &path).await;
    assert_eq!(post(&app, &team, &format!("{path}/state"), &page, &[("state", "closed")]).await.status(), 303);
    let party = sign_in(&app, contact.email.as_str()).await;
    let page = get(&app, &party, &path).await;
    assert!(page.contains("This case is closed: to ask something else, raise a new query"), "{page}");
    assert!(!page.contains(r#"action="/cases/{number}/comment""#), "no reply form on a closed case");
    let late = post(&app, &party, &format!("{path}/comment"), &page, &[("body", "One more thing.")]).await;
    assert_ne!(late.status(), 303, "a reply on a closed case is refused");
    let team_page = get(&app, &team, &path).await;
    assert!(team_page.contains("Move the case to") && !team_page.contains(r#"name="body""#), "the team may reopen");
    let closed = app.context.store.case(number).await.unwrap().unwrap();
    assert_eq!(closed.state, onramp_domain::case::CaseState::Closed, "the case stays closed");
    assert!(closed.activity.iter().all(|a| !a.body.contains("One more thing")), "and the reply was not kept");
}

async fn demo_clock_moves_time_and_fires_what_falls_due(app: TestApp) {
    let (staff, client) = agreement_team(&app).await;
    let acme = organisation(&app, "ACM01").await;
    let agreement = issued(&app, &staff, &acme, product("pds-fhir")).await;

    let page = get(&app, &client, "/staff/demo-clock").await;
    assert!(page.contains("0 days 0 hours ahead of real time"), "{page}");
    let response = post(&app, &client, "/staff/demo-clock", &page, &[("days", "ninety"), ("hours", "")]).await;
    assert_eq!(response.status(), 422);
    let refused = response.text().await.unwrap();
    assert_error_summary(&refused, "Enter the days as a whole number");
    assert!(refused.contains(r#"value="ninety""#));
    let response = post(&app, &client, "/staff/demo-clock", &page, &[("days", "999999"), ("hours", "")]).await;
    assert_eq!(response.status(), 422);
    assert_error_summary(&response.text().await.unwrap(), "Move demo time forward by 1 hour to 400 days");
    let response = post(&app, &client, "/staff/demo-clock", &page, &[("days", "0"), ("hours", "0")]).await;
    assert_eq!(response.status(), 422, "moving by nothing is refused");
    assert_eq!(app.context.store.demo_offset().await.unwrap(), SignedDuration::ZERO);

    let response = post(&app, &client, "/staff/demo-clock", &page, &[("days", "91"), ("hours", "")]).await;
    assert_eq!(response.status(), 200);
    let report = response.text().await.unwrap();
    assert!(
        report.contains("Demo time moved forward by 91 days. 1 agreement changed state when timers fired;"),
        "{report}"
    );
    let after = client.get(format!("{}/staff/demo-clock", app.address)).send().await.unwrap();
    assert_eq!(after.status(), 200, "sessions age in real time: the jump signs nobody out");
    let cancelled = app.context.store.agreement(agreement.id).await.unwrap().unwrap();
    assert_eq!(cancelled.state, AgreementState::Cancelled, "the 90-day review window passed in demo time");
}

#[tokio::test]
async fn sqlite_demo_clock_moves_time_and_fires_what_falls_due() {
    demo_clock_moves_time_and_fires_what_falls_due(common::spawn_demo_app(TestDatabase::sqlite().await).await).await;
}

#[tokio::test]
async fn postgres_demo_clock_moves_time_and_fires_what_falls_due() {
    let Some(database) = TestDatabase::postgres("demo_clock_moves_time").await else { return };
    demo_clock_moves_time_and_fires_what_falls_due(common::spawn_demo_app(database).await).await;
}

#[tokio::test]
async fn the_demo_clock_does_not_exist_outside_demo_mode() {
    let app = common::spawn_app(TestDatabase::sqlite().await).await;
    let (_, client) = agreement_team(&app).await;
    assert_eq!(client.get(format!("{}/staff/demo-clock", app.address)).send().await.unwrap().status(), 404);
    assert!(!get(&app, &client, "/agreements").await.contains("Demo clock"));
}
