//! DOS-6, CA-2 in the portal, on both databases, with the demo's assured application (Beacon Care Planner):
//! the agreement team creates the connection agreement from the application page; the agreement page links
//! back with the SHA-256 of the approved answers; the supplier's application page names the agreement; a
//! reviewer, or the supplier, cannot create one, and a second cannot be created while the first is a draft.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, browser, csrf_token, get};
use onramp_service::demo::DEMO_PASSWORD;

onramp_store::on_both_backends!(
    common::spawn_demo_app;
    dos6_the_agreement_team_creates_the_agreement_from_an_assured_application,
);

async fn demo_sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let page = get(app, &client, "/sign-in").await;
    let form = [("csrf_token", csrf_token(&page)), ("email", email.into()), ("password", DEMO_PASSWORD.into())];
    let response = client.post(format!("{}/sign-in", app.address)).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303, "{email} signs in");
    client
}

async fn post_form(app: &TestApp, client: &reqwest::Client, path: &str, page: &str) -> reqwest::Response {
    let form = [("csrf_token", csrf_token(page))];
    client.post(format!("{}{path}", app.address)).form(&form).send().await.unwrap()
}

async fn dos6_the_agreement_team_creates_the_agreement_from_an_assured_application(app: TestApp) {
    onramp_service::demo::seed(&app.context).await.unwrap();
    let team = demo_sign_in(&app, "agreements@onramp.example").await;
    let reviewer = demo_sign_in(&app, "reviewer@onramp.example").await;
    let supplier = demo_sign_in(&app, "contact@beacon-care.example").await;

    let overview = get(&app, &team, "/applications").await;
    assert!(overview.contains("The agreement team creates the connection agreement"), "{overview}");
    let start = overview.find("Beacon Care Planner").unwrap();
    let href_start = overview[..start].rfind("href=\"").unwrap() + "href=\"".len();
    let application = overview[href_start..].split('"').next().unwrap().to_owned();
    let page = get(&app, &team, &application).await;
    assert!(page.contains("Create the connection agreement"), "{page}");
    let create = format!("{application}/agreement");
    let reviewers_page = get(&app, &reviewer, &application).await;
    assert!(!reviewers_page.contains("Create the connection agreement"), "only the agreement team sees it");
    assert_eq!(post_form(&app, &reviewer, &create, &reviewers_page).await.status(), 403);
    let suppliers_page = get(&app, &supplier, &application).await;
    assert_eq!(post_form(&app, &supplier, &create, &suppliers_page).await.status(), 403);

    let created = post_form(&app, &team, &create, &page).await;
    assert_eq!(created.status(), 303);
    let agreement = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(agreement.starts_with("/agreements/CNTR"), "{agreement}");
    let agreement_page = get(&app, &team, &agreement).await;
    assert!(agreement_page.contains(&format!(r#"href="{application}""#)), "{agreement_page}");
    assert!(agreement_page.contains("The application of Beacon Care Planner"), "{agreement_page}");
    assert!(agreement_page.contains("Personal Demographics Service FHIR API"), "{agreement_page}");
    let number = agreement.trim_start_matches("/agreements/");
    let source = app.context.store.agreement_source(
        app.context
            .store
            .agreement_by_number(onramp_domain::AgreementNumber::parse(number).unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    let source = source.await.unwrap().unwrap();
    assert!(agreement_page.contains(&source.answers_sha256), "the digest is shown");

    let suppliers_page = get(&app, &supplier, &application).await;
    assert!(suppliers_page.contains(&format!(r#"<a href="{agreement}">{number}</a>, created from this application"#)));
    let again = post_form(&app, &team, &create, &get(&app, &team, &application).await).await;
    assert_eq!(again.status(), 409, "one agreement while the first is a draft");
}
