//! The HTTP story, zero2prod style: the real router on port 0 against a fresh database, on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

#[macro_use]
mod common;

use common::TestApp;
use onramp_service::demo;

on_both_backends!(probes_story, pages_story, demo_data_story);

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
    assert!(page.contains("0 organisations are registered"), "{page}");
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
    assert!(page.contains(&format!("{} organisations are registered", organisations.len())), "{page}");

    let owner = onramp_domain::EmailAddress::parse("owner@acme-health.example").unwrap();
    let owner = app.context.store.user_by_email(&owner).await.unwrap().unwrap();
    assert!(owner.membership.is_some_and(|m| m.onboarding_contact));
    let hash = owner.password_hash.unwrap();
    assert!(onramp_service::password::verify(demo::DEMO_PASSWORD.into(), hash).await.unwrap());
}
