//! DOS-5 and ORG-3 in the portal, on both databases. Milestones: a reviewer records the preparation and
//! demonstration calls and the agreed go-live on the application page; the supplier reads them with the nominal
//! go-live; a go-live on a bank holiday is refused beside its field and changes nothing; a weekend go-live is
//! saved with its warning; a supplier's POST is refused; each change has its audit entry and its message to the
//! organisation. Kinds: only the agreement team changes an organisation's kind, on the staff organisation page.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, get, organisation, post, product, sign_in};
use jiff::civil::date;
use onramp_domain::notification::{ApplicationEvent, Notification};
use onramp_domain::{Membership, OrganisationKind, StaffRole, TeamRole};

onramp_store::on_both_backends!(
    common::spawn_app;
    dos5_a_reviewer_sets_the_milestones_and_the_supplier_reads_them,
    org3_only_the_agreement_team_changes_an_organisations_kind,
);

/// The milestone messages in the outbox, oldest first.
async fn milestone_mails(app: &TestApp) -> Vec<(Vec<String>, ApplicationEvent)> {
    let mails = app.context.store.notifications().await.unwrap();
    mails
        .into_iter()
        .filter_map(|mail| match mail.notification {
            Notification::ApplicationUpdate { event: event @ ApplicationEvent::MilestonesChanged { .. }, .. } => {
                Some((mail.recipients, event))
            }
            _ => None,
        })
        .collect()
}

async fn audited(app: &TestApp, action: &str) -> usize {
    app.context.store.audit_records().await.unwrap().iter().filter(|r| r.action == action).count()
}

async fn dos5_a_reviewer_sets_the_milestones_and_the_supplier_reads_them(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let membership = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    let owner = account(&app, "olu@acme.example", "Olu Owner", vec![], Some(membership)).await;
    let other = organisation(&app, "OTH01").await;
    let membership = Membership { organisation_id: other.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "oscar@other.example", "Oscar Other", vec![], Some(membership)).await;
    account(&app, "rory@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer], None).await;
    let application = onramp_service::applications::start(&app.context, &owner, "Acme Records", &[product("pds-fhir")])
        .await
        .unwrap();
    let page_path = format!("/applications/{}", application.id.0);
    let form_path = format!("{page_path}/milestones");
    let supplier = sign_in(&app, "olu@acme.example").await;
    let outsider = sign_in(&app, "oscar@other.example").await;
    let reviewer = sign_in(&app, "rory@provider.example").await;

    let page = get(&app, &supplier, &page_path).await;
    assert!(page.contains(r#"<h2 id="milestones">Milestones</h2>"#), "{page}");
    assert_eq!(page.matches("Not set yet").count(), 6, "every milestone, unset: {page}");
    assert!(!page.contains(&format!(r#"action="{form_path}""#)), "the supplier has no form");
    let page = get(&app, &reviewer, &page_path).await;
    assert!(page.contains(&format!(r#"action="{form_path}""#)), "{page}");
    assert!(page.contains(r#"name="demonstration_call""#) && page.contains("For example 15/06/2026"), "{page}");

    // The reviewer records the calls and the go-live.
    let agreed = [("preparation_call", "01/12/2026"), ("demonstration_call", "10/12/2026"), ("go_live", "12/04/2027")];
    let saved = post(&app, &reviewer, &form_path, &page, &agreed).await;
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{page_path}?milestones=saved#milestones"));
    let confirmed = get(&app, &reviewer, &location).await;
    assert!(confirmed.contains("The milestones were saved."), "{confirmed}");
    assert!(confirmed.contains(r#"value="12/04/2027""#), "the form holds the stored dates: {confirmed}");
    assert!(!confirmed.contains("is a weekend"), "a working day is not warned");

    // The supplier reads the dates and the nominal go-live, four months after the demonstration call.
    let page = get(&app, &supplier, &page_path).await;
    for shown in ["1 December 2026", "10 December 2026", "10 April 2027", "12 April 2027", "Nominal: four months"] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert_eq!(page.matches("Not set yet").count(), 2, "the formal review is not under way yet: {page}");
    let stored = app.context.store.application(application.id).await.unwrap().unwrap().milestones;
    assert_eq!(
        (stored.preparation_call, stored.demonstration_call, stored.go_live),
        (Some(date(2026, 12, 1)), Some(date(2026, 12, 10)), Some(date(2027, 4, 12)))
    );
    assert_eq!(audited(&app, "application_milestones").await, 1);
    let mails = milestone_mails(&app).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, ["olu@acme.example"], "the organisation's owner is told");
    assert_eq!(
        mails[0].1,
        ApplicationEvent::MilestonesChanged {
            preparation_call: Some(date(2026, 12, 1)),
            demonstration_call: Some(date(2026, 12, 10)),
            go_live: Some(date(2027, 4, 12)),
        }
    );

    // A go-live on a bank holiday (28 December 2026, the substitute for Boxing Day) is refused beside its field.
    let page = get(&app, &reviewer, &page_path).await;
    let holiday = [("preparation_call", "01/12/2026"), ("demonstration_call", "10/12/2026"), ("go_live", "28/12/2026")];
    let refused = post(&app, &reviewer, &form_path, &page, &holiday).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains(r##"href="#go_live""##), "in the error summary: {refused}");
    assert!(
        refused.contains(
            r#"id="go_live-error"><span class="nhsuk-u-visually-hidden">Error:</span> 28 December 2026 is a bank holiday in England"#
        ),
        "beside the field: {refused}"
    );
    assert!(refused.contains(r#"value="28/12/2026""#), "what was typed is kept");
    // A date that does not exist is refused beside its own field.
    let mistyped = [("preparation_call", "31/02/2027"), ("demonstration_call", "10/12/2026"), ("go_live", "")];
    let refused = post(&app, &reviewer, &form_path, &page, &mistyped).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains(r#"id="preparation_call-error""#) && refused.contains("Enter a real date"), "{refused}");
    let unchanged = app.context.store.application(application.id).await.unwrap().unwrap().milestones;
    assert_eq!(unchanged, stored, "a refusal changes nothing");
    assert_eq!(audited(&app, "application_milestones").await, 1);
    assert_eq!(milestone_mails(&app).await.len(), 1);

    // A weekend go-live is saved, with the warning on the page for both sides.
    let weekend = [("preparation_call", "01/12/2026"), ("demonstration_call", "10/12/2026"), ("go_live", "09/01/2027")];
    let saved = post(&app, &reviewer, &form_path, &page, &weekend).await;
    assert_eq!(saved.status(), 303);
    let location = saved.headers()["location"].to_str().unwrap().to_owned();
    let confirmed = get(&app, &reviewer, &location).await;
    let warning = "Saturday 9 January 2027 is a weekend: the service desk is closed then";
    assert!(confirmed.contains("The milestones were saved.") && confirmed.contains(warning), "{confirmed}");
    assert!(get(&app, &supplier, &page_path).await.contains(warning));
    let stored = app.context.store.application(application.id).await.unwrap().unwrap().milestones;
    assert_eq!(stored.go_live, Some(date(2027, 1, 9)));

    // The supplier cannot set them (403), another organisation cannot see the application (404).
    let page = get(&app, &supplier, &page_path).await;
    let theirs = [("preparation_call", ""), ("demonstration_call", ""), ("go_live", "")];
    assert_eq!(post(&app, &supplier, &form_path, &page, &theirs).await.status(), 403);
    let page = get(&app, &outsider, "/applications").await;
    assert_eq!(post(&app, &outsider, &form_path, &page, &theirs).await.status(), 404);
    assert_eq!(app.context.store.application(application.id).await.unwrap().unwrap().milestones, stored);
    assert_eq!(audited(&app, "application_milestones").await, 2, "one entry per change saved");
    assert_eq!(milestone_mails(&app).await.len(), 2, "one message per change saved");

    let now = onramp_domain::Clock::now(app.clock.as_ref());
    onramp_service::jobs::run_due(&app.context, now).await.unwrap();
}

async fn org3_only_the_agreement_team_changes_an_organisations_kind(app: TestApp) {
    let spine = organisation(&app, "PI001").await;
    let membership = Membership { organisation_id: spine.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "pat@spine.example", "Pat Platform", vec![], Some(membership)).await;
    account(&app, "aisha@provider.example", "Aisha Agreements", vec![StaffRole::AgreementTeam], None).await;
    account(&app, "rory@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer], None).await;
    let supplier = sign_in(&app, "pat@spine.example").await;
    let team = sign_in(&app, "aisha@provider.example").await;
    let reviewer = sign_in(&app, "rory@provider.example").await;
    let page_path = format!("/staff/organisations/{}", spine.id.0);
    let form_path = format!("{page_path}/kind");
    let kind_of = || async {
        let stored = app.context.store.organisation(spine.id).await.unwrap().unwrap();
        stored.details.kind
    };

    let list = get(&app, &team, "/staff/organisations").await;
    assert!(list.contains(&format!(r#"href="{page_path}""#)) && list.contains("Commercial supplier"), "{list}");
    let page = get(&app, &team, &page_path).await;
    assert!(page.contains(&format!(r#"action="{form_path}""#)), "{page}");
    assert!(page.contains(r#"value="commercial" checked"#), "the current kind is chosen: {page}");

    // Nobody but the agreement team changes it: the supplier does not see the page at all.
    let own = get(&app, &supplier, "/organisation").await;
    let internal = [("kind", "provider_internal")];
    assert_eq!(post(&app, &supplier, &form_path, &own, &internal).await.status(), 404);
    let staff_page = get(&app, &reviewer, &page_path).await;
    assert!(staff_page.contains("Commercial supplier") && !staff_page.contains(&form_path), "read only");
    assert_eq!(post(&app, &reviewer, &form_path, &staff_page, &internal).await.status(), 403);
    assert_eq!(kind_of().await, OrganisationKind::Commercial);
    assert_eq!(audited(&app, "organisation_kind_change").await, 0);

    let unknown = post(&app, &team, &form_path, &page, &[("kind", "charity")]).await;
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains(r#"id="kind-error""#));
    let changed = post(&app, &team, &form_path, &page, &internal).await;
    assert_eq!(changed.status(), 303);
    let location = changed.headers()["location"].to_str().unwrap().to_owned();
    let page = get(&app, &team, &location).await;
    assert!(page.contains("The kind was changed to Part of the API provider."), "{page}");
    assert!(page.contains("It needs no connection agreement."), "{page}");
    assert_eq!(kind_of().await, OrganisationKind::ProviderInternal);
    assert_eq!(audited(&app, "organisation_kind_change").await, 1);

    // A kind that does not fit the organisation's fields is refused beside the field.
    let refused = post(&app, &team, &form_path, &page, &[("kind", "public_healthcare")]).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains(r##"href="#kind""##) && refused.contains("company registration number on record"));
    assert!(refused.contains(r#"value="public_healthcare" checked"#), "what was chosen is kept");
    assert_eq!(kind_of().await, OrganisationKind::ProviderInternal);
    assert_eq!(audited(&app, "organisation_kind_change").await, 1);
}
