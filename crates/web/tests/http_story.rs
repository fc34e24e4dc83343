//! The HTTP story, zero2prod style: the real router on port 0 against a fresh database, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::TestApp;
use onramp_service::demo;

onramp_store::on_both_backends!(
    common::spawn_app;
    probes_story,
    pages_story,
    demo_data_story,
    a_failure_shows_a_reference_that_is_in_the_log,
    every_error_page_quotes_the_request_id_the_response_carries,
    dos1_anyone_can_read_the_flows_before_applying,
);

/// DOS-1, DOS-2: the read-only preview lists the shipped flows and shows each one's stages, guidance and
/// conditions in words; an unknown flow is not found.
async fn dos1_anyone_can_read_the_flows_before_applying(app: TestApp) {
    let client = common::browser();
    let list = common::get(&app, &client, "/flows").await;
    assert!(list.contains(r#"<a href="/flows/standard-api">Standard API onboarding</a>"#), "{list}");
    for id in ["identity-service", "messaging-service", "secure-email"] {
        assert!(list.contains(&format!(r#"<a href="/flows/{id}">"#)), "{id} is listed: {list}");
        assert_eq!(client.get(format!("{}/flows/{id}", app.address)).send().await.unwrap().status(), 200);
    }
    let flow = common::get(&app, &client, "/flows/standard-api").await;
    for text in [
        "Stage 1: Setup and eligibility",
        "Stage 4: Legal agreement",
        "Only when outside the provider",
        "Open-access APIs skip this stage.",
        "Text, up to 2000 characters. Required.",
        "We approve this section by recording its connection agreement number: CNTR followed by 7 digits.",
        "Asked only when “Where will people use it?” includes any of web, mobile app",
    ] {
        assert!(flow.contains(text), "{text} is missing: {flow}");
    }
    let missing = client.get(format!("{}/flows/no-such-flow", app.address)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

async fn probes_story(app: TestApp) {
    let health = reqwest::get(format!("{}/healthz", app.address)).await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap()), (200, "ok".to_owned()));

    let ready = reqwest::get(format!("{}/readyz", app.address)).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["database"], app.context.store.backend().as_str());

    // Without its database the service is alive but not ready.
    app.context.store.close().await;
    let ready = reqwest::get(format!("{}/readyz", app.address)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let health = reqwest::get(format!("{}/healthz", app.address)).await.unwrap();
    assert_eq!(health.status(), 200);
    let home = reqwest::get(&app.address).await.unwrap();
    assert_eq!(home.status(), 503);
    let page = home.text().await.unwrap();
    assert!(page.contains("Sorry, the service is unavailable"), "{page}");
}

async fn pages_story(app: TestApp) {
    let home = reqwest::get(&app.address).await.unwrap();
    assert_eq!(home.status(), 200);
    let page = home.text().await.unwrap();
    assert!(page.contains("<h1>Connect to NHS England services</h1>"), "{page}");
    assert!(!page.contains("organisations are registered"), "the public page does not count them: {page}");
    assert!(!page.contains("/healthz") && !page.contains("/readyz"), "nor link the probes: {page}");
    assert!(page.contains(r##"href="#main-content">Skip to main content"##));

    let missing = reqwest::get(format!("{}/no/such/page", app.address)).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert!(missing.text().await.unwrap().contains("Page not found"));

    let css = reqwest::get(format!("{}/assets/onramp.css", app.address)).await.unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

/// `serve --demo` may run many times against one database: the second seeding adds nothing.
async fn demo_data_story(app: TestApp) {
    let first = demo::seed(&app.context).await.unwrap();
    let organisations = app.context.store.organisations().await.unwrap();
    let second = demo::seed(&app.context).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(app.context.store.organisations().await.unwrap(), organisations);

    let agreements = app.context.store.all_agreements().await.unwrap();
    let states: std::collections::HashSet<_> = agreements.iter().map(|a| (a.state, a.substate)).collect();
    use onramp_domain::agreement::{AgreementState as S, Substate};
    for state in [
        (S::Active, None),
        (S::Expired, None),
        (S::Cancelled, None),
        (S::Draft, Some(Substate::UnderReview)),
        (S::Draft, Some(Substate::AwaitingReview)),
    ] {
        assert!(states.contains(&state), "the demo has an agreement in state {state:?}");
    }
    assert_eq!(agreements.len(), 7, "seeding twice adds no agreement");
    let kinds: std::collections::HashSet<_> = organisations.iter().map(|o| o.details.kind).collect();
    assert_eq!(kinds.len(), 4, "every kind of organisation is in the demo");
    let page = reqwest::get(&app.address).await.unwrap().text().await.unwrap();
    assert!(!page.contains("organisations are registered"), "{page}");

    let owner = onramp_domain::EmailAddress::parse("owner@acme-health.example").unwrap();
    let owner = app.context.store.user_by_email(&owner).await.unwrap().unwrap();
    assert!(owner.membership.is_some_and(|m| m.onboarding_contact));
    let hash = owner.password_hash.unwrap();
    assert!(onramp_service::password::verify(demo::DEMO_PASSWORD.into(), hash).await.unwrap());

    // Every sign-in the banner prints works, and each person reaches their agreements list.
    for sign_in in &first {
        let client = common::browser();
        let page = client.get(format!("{}/sign-in", app.address)).send().await.unwrap().text().await.unwrap();
        let form = [
            ("csrf_token", common::csrf_token(&page)),
            ("email", sign_in.email.clone()),
            ("password", demo::DEMO_PASSWORD.to_owned()),
        ];
        let response = client.post(format!("{}/sign-in", app.address)).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 303, "{} signs in", sign_in.email);
        let list = client.get(format!("{}/agreements", app.address)).send().await.unwrap();
        assert_eq!(list.status(), 200, "{} sees the agreements list", sign_in.email);
        assert!(list.text().await.unwrap().contains("Connection Agreements"));
    }
}

/// Log lines written while a test runs, for checking what reached the log.
#[derive(Clone, Default)]
struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An internal failure (here: the table of the provider's name, which the home page reads, gone from under the
/// running app) gives the friendly 500 page with a reference; the same reference is in the log with the cause;
/// the page shows no cause and no stack trace.
async fn a_failure_shows_a_reference_that_is_in_the_log(app: TestApp) {
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    // The test runtime runs the server on this thread, so a thread-local subscriber sees its events.
    let _guard = tracing::subscriber::set_default(subscriber);
    app.database.execute_raw("ALTER TABLE provider RENAME TO provider_gone").await.unwrap();

    let response = reqwest::get(&app.address).await.unwrap();
    assert_eq!(response.status(), 500);
    let request_id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
    let page = response.text().await.unwrap();
    assert!(page.contains("Sorry, there is a problem with the service"), "{page}");
    let reference = page
        .split("class=\"reference\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the page shows a reference")
        .trim()
        .to_owned();
    assert_eq!(reference.len(), 32, "a UUID in simple form: {reference}");
    assert_eq!(request_id, reference, "the reference is the request id the response carries");
    assert!(!page.contains("provider") && !page.to_lowercase().contains("sql"), "no cause on the page: {page}");
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let line = logged.lines().find(|line| line.contains(&reference)).expect("the reference is in the log");
    assert!(line.contains("provider"), "the log line has the cause: {line}");
    assert!(line.contains("request_id=") && line.contains("path=/"), "the request's span is on the line: {line}");
}

/// OPS-2: every response carries its request id (`x-request-id`), and an error page quotes it, so a report of
/// a 404 or a refusal can be found in the log; an id given by a load balancer is kept.
async fn every_error_page_quotes_the_request_id_the_response_carries(app: TestApp) {
    let client = reqwest::Client::new();
    let missing = client.get(format!("{}/no-such-page", app.address)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let id = missing.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{id}");
    let page = missing.text().await.unwrap();
    assert!(page.contains(&format!(r#"quote the reference <strong class="reference">{id}</strong>"#)), "{page}");

    let home = client.get(&app.address).send().await.unwrap();
    let other = home.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(other, id, "each request has its own id");
    assert!(!home.text().await.unwrap().contains("class=\"reference\""), "a page that worked quotes nothing");

    let relayed =
        client.get(format!("{}/no-such-page", app.address)).header("x-request-id", "lb-4711").send().await.unwrap();
    assert_eq!(relayed.headers()["x-request-id"], "lb-4711");
    assert!(relayed.text().await.unwrap().contains(r#"<strong class="reference">lb-4711</strong>"#));
}
