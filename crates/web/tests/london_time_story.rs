//! Every instant a page shows is in London time with GMT or BST, and every date in one format ("20 May 2027"):
//! the agreement list and page (created, review deadline, end date, timer ledger), a case and the staff mail log,
//! with instants in winter and in summer. A termination on today's date shows the agreement Expired at once.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, get, organisation, post, product, sign_in, without_classes};
use onramp_domain::agreement::{AgreementState, Origin};
use onramp_domain::{Membership, StaffRole, TeamRole};
use onramp_service::lifecycle;

onramp_store::on_both_backends!(
    common::spawn_app;
    times_are_shown_in_london_time_in_winter_and_summer_and_a_termination_today_shows_at_once,
);

const STAFF: &str = "agreements@provider.example";

async fn times_are_shown_in_london_time_in_winter_and_summer_and_a_termination_today_shows_at_once(app: TestApp) {
    // Winter: the app's clock starts at 09:30 UTC on 21 November 2026, which is 09:30 GMT.
    let staff = account(&app, STAFF, "Aisha Agreements", vec![StaffRole::AgreementTeam], None).await;
    let acme = organisation(&app, "ACM01").await;
    let membership = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    let contact = account(&app, "olu@acme.example", "Olu Owner", vec![], Some(membership)).await;
    let winter =
        lifecycle::create(&app.context, &staff, acme.id, vec![product("pds-fhir")], Origin::NewContract).await.unwrap();
    let winter = lifecycle::issue(&app.context, &staff, winter.id).await.unwrap();
    let client = sign_in(&app, STAFF).await;
    let page = without_classes(&get(&app, &client, &format!("/agreements/{}", winter.number)).await);
    assert!(page.contains("<dt>Created</dt><dd>21 November 2026 09:30 GMT</dd>"), "{page}");
    assert!(page.contains("<dt>Review Deadline</dt><dd>19 February 2027 09:30 GMT</dd>"), "SPEC §4: {page}");
    assert!(page.contains(concat!(
        r#"<td data-label="When">21 November 2026 09:30 GMT</td><td data-label="Timer">90-day acceptance period</td>"#,
        r#"<td data-label="Event">started</td>"#
    )));
    assert!(page.contains(r#"<td data-label="Time remaining">90 days 0 hours</td>"#), "{page}");
    let case = without_classes(&get(&app, &client, &format!("/cases/{}", winter.case_number.unwrap())).await);
    assert!(case.contains("21 November 2026 09:30 GMT"), "{case}");
    let mail = without_classes(&get(&app, &client, "/staff/mail").await);
    assert!(mail.contains("21 November 2026 09:30 GMT"), "the mail log: {mail}");
    lifecycle::accept(&app.context, &contact, winter.id, lifecycle::terms_shown(&app.context, &winter).unwrap())
        .await
        .unwrap();

    // Summer: 12:00 UTC on 10 June 2027 is 13:00 BST.
    app.clock.set("2027-06-10T12:00:00Z".parse().unwrap());
    let beacon = organisation(&app, "BEA01").await;
    let summer = lifecycle::create(&app.context, &staff, beacon.id, vec![product("pds-fhir")], Origin::NewContract)
        .await
        .unwrap();
    let client = sign_in(&app, STAFF).await; // the winter session has long expired
    let page = without_classes(&get(&app, &client, &format!("/agreements/{}", summer.number)).await);
    assert!(page.contains("<dt>Created</dt><dd>10 June 2027 13:00 BST</dd>"), "{page}");
    assert!(page.contains("<dt>Review Deadline</dt><dd>8 September 2027 13:00 BST</dd>"), "{page}");
    let list = without_classes(&get(&app, &client, "/agreements?all=1").await);
    assert!(
        list.contains(r#"<td data-label="Created">10 June 2027 13:00 BST</td>"#)
            && list.contains(r#"<td data-label="Created">21 November 2026 09:30 GMT</td>"#)
    );

    // CA-8: a termination on today's date ends the agreement before the page is shown again.
    let location = format!("/agreements/{}", winter.number);
    let page = without_classes(&get(&app, &client, &location).await);
    let response = post(&app, &client, &format!("{location}/terminate"), &page, &[("end_date", "2027-06-10")]).await;
    assert_eq!(response.status(), 303);
    let page = without_classes(&get(&app, &client, &location).await);
    assert!(page.contains("Expired on 10 June 2027."), "the new state at once: {page}");
    assert!(!page.contains("It ends on"), "{page}");
    assert!(page.contains("<dt>End Date</dt><dd>10 June 2027</dd>"), "one date format: {page}");
    assert!(!page.contains("2027-06-10</dd>"), "no ISO date: {page}");
    assert!(
        page.contains(concat!(
            r#"<td data-label="When">10 June 2027 13:00 BST</td><td data-label="Timer">Termination</td>"#,
            r#"<td data-label="Event">fired</td>"#
        )),
        "{page}"
    );
    let ended = app.context.store.agreement(winter.id).await.unwrap().unwrap();
    assert_eq!(ended.state, AgreementState::Expired);

    let now = onramp_domain::Clock::now(app.context.clock.as_ref());
    onramp_service::jobs::run_due(&app.context, now).await.unwrap();
}
