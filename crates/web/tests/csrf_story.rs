//! SEC-2: every form of the portal (every POST route in the route table, so a new form is covered the day
//! it is added) is refused with 403 when it comes without the CSRF token, from a foreign Origin, or as a
//! cross-site fetch, and nothing changes: not the agreements, the audit log, the outbox, the organisations, the
//! sessions or demo time. Each form is posted with fields that would otherwise succeed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::sync::Arc;

use common::{TestApp, account, csrf_token, organisation, product};
use onramp_domain::agreement::Origin;
use onramp_domain::{Membership, StaffRole, TeamRole};
use onramp_service::lifecycle;
use reqwest::cookie::Jar;

onramp_store::on_both_backends!(
    common::spawn_app;
    sec2_every_form_refuses_a_missing_token_a_foreign_origin_and_a_cross_site_post,
);

/// Everything a refused form could have changed, compared before and after.
async fn fingerprint(app: &TestApp) -> String {
    let store = &app.context.store;
    format!(
        "{:?}\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}",
        store.all_agreements().await.unwrap(),
        store.audit_records().await.unwrap().len(),
        store.notifications().await.unwrap().len(),
        store.organisations().await.unwrap(),
        store.publications().await.unwrap(),
        store.demo_offset().await.unwrap(),
        store.user_by_email(&onramp_domain::EmailAddress::parse("olu@acme.example").unwrap()).await.unwrap(),
    )
}

/// Two clients over one cookie jar: one that says nothing about where it comes from (as a non-browser
/// client), one that says "same-origin" as a browser does on our own pages.
fn clients() -> (reqwest::Client, reqwest::Client) {
    let jar = Arc::new(Jar::default());
    let plain = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
    let browser = reqwest::Client::builder()
        .cookie_provider(jar)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (plain, browser)
}

async fn signed_in(app: &TestApp, email: &str) -> (reqwest::Client, reqwest::Client, String) {
    let (plain, browser) = clients();
    let page = plain.get(format!("{}/sign-in", app.address)).send().await.unwrap().text().await.unwrap();
    let form = [("csrf_token", csrf_token(&page)), ("email", email.into()), ("password", common::PASSWORD.into())];
    let response = plain.post(format!("{}/sign-in", app.address)).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 303, "{email} signs in");
    let page = plain.get(format!("{}/account", app.address)).send().await.unwrap().text().await.unwrap();
    (plain, browser, csrf_token(&page))
}

async fn sec2_every_form_refuses_a_missing_token_a_foreign_origin_and_a_cross_site_post(app: TestApp) {
    let staff =
        account(&app, "agreements@provider.example", "Aisha Agreements", vec![StaffRole::AgreementTeam], None).await;
    let acme = organisation(&app, "ACM01").await;
    let membership = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(membership)).await;
    let draft =
        lifecycle::create(&app.context, &staff, acme.id, vec![product("pds-fhir")], Origin::NewContract).await.unwrap();
    let agreement = lifecycle::issue(&app.context, &staff, draft.id).await.unwrap();
    let case = agreement.case_number.unwrap().to_string();
    let organisation_id = acme.id.0.to_string();
    let fields: Vec<(&str, &str)> = vec![
        ("read_and_understood", "yes"),
        ("description", "A question about clause 4"),
        ("body", "A reply"),
        ("email", "someone@acme.example"),
        ("end_date", "2027-03-31"),
        ("organisation", &organisation_id),
        ("product", "nhs-login"),
        ("confirm", "yes"),
        ("days", "91"),
        ("role", "viewer"),
        ("name", "Another Organisation"),
        ("ods_code", "ANO01"),
        ("registered_address", "2 High Street"),
        ("kind", "non_uk"),
        ("delivery_notice_mailbox", "notices@another.example"),
        ("full_name", "Someone New"),
        ("password", "another long passphrase"),
        ("confirm_password", "another long passphrase"),
    ];

    let before = fingerprint(&app).await;
    let posts: Vec<&str> =
        onramp_web::route_table().into_iter().filter(|(method, _)| *method == "POST").map(|(_, path)| path).collect();
    assert!(posts.len() >= 10, "the portal's forms are all in the route table: {posts:?}");
    for email in ["agreements@provider.example", "olu@acme.example"] {
        let (plain, browser, token) = signed_in(&app, email).await;
        for path in &posts {
            let url = format!(
                "{}{}",
                app.address,
                path.replace("{number}", &agreement.number.to_string())
                    .replace("{case}", &case)
                    .replace("{action}", "pause")
                    .replace("{version}", "7")
            );
            let url = if url.contains('{') { url.replace(['{', '}'], "") } else { url };
            let mut with_token = fields.clone();
            with_token.push(("csrf_token", &token));

            let missing = browser.post(&url).form(&fields).send().await.unwrap();
            assert_eq!(missing.status(), 403, "POST {path} as {email} without a CSRF token");
            let foreign =
                plain.post(&url).header("origin", "https://evil.example").form(&with_token).send().await.unwrap();
            assert_eq!(foreign.status(), 403, "POST {path} as {email} from a foreign Origin");
            let cross_site =
                plain.post(&url).header("sec-fetch-site", "cross-site").form(&with_token).send().await.unwrap();
            assert_eq!(cross_site.status(), 403, "POST {path} as {email} as a cross-site fetch");
            let page = cross_site.text().await.unwrap();
            assert!(page.contains("This request was refused"), "the refusal says what happened: {page}");
        }
        let account = browser.get(format!("{}/account", app.address)).send().await.unwrap();
        assert_eq!(account.status(), 200, "a refused sign-out did not end {email}'s session");
    }
    assert_eq!(fingerprint(&app).await, before, "no refused form changed anything");
}
