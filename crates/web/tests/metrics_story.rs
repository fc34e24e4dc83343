//! OPS-2: `/metrics` over real HTTP on both databases. It shows nothing unless a token is configured, refuses a
//! scraper without it, and otherwise gives every family an operator watches, in a form a Prometheus text
//! parser reads.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, organisation, product};
use onramp_domain::agreement::Origin;
use onramp_domain::{Clock, StaffRole};
use onramp_service::{accounts, lifecycle};
use onramp_store::testing::TestDatabase;

const TOKEN: &str = "scrape-me-0123456789";

async fn app_with_token(database: TestDatabase) -> TestApp {
    common::spawn_configured_app(database, |config| config.metrics.token = Some(TOKEN.into())).await
}

onramp_store::on_both_backends!(app_with_token; ops2_metrics_show_every_family_to_a_scraper_with_the_token);
mod without_token {
    use super::*;

    onramp_store::on_both_backends!(common::spawn_app; ops2_without_a_token_metrics_are_not_there);
}

async fn ops2_without_a_token_metrics_are_not_there(app: TestApp) {
    let response = reqwest::get(format!("{}/metrics", app.address)).await.unwrap();
    assert_eq!(response.status(), 404);
}

async fn ops2_metrics_show_every_family_to_a_scraper_with_the_token(app: TestApp) {
    let client = reqwest::Client::new();
    let metrics = format!("{}/metrics", app.address);
    let refused = client.get(&metrics).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let wrong = client.get(&metrics).bearer_auth("scrape-me-0123456780").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    // Some traffic, a queue with agreement timers and mail, and a failed sign-in.
    for path in ["/", "/sign-in", "/agreements/CNTR0000001", "/no-such-page"] {
        client.get(format!("{}{path}", app.address)).send().await.unwrap();
    }
    let staff = account(&app, "agreements@provider.example", "Aisha", vec![StaffRole::AgreementTeam], None).await;
    let acme = organisation(&app, "ACM01").await;
    let draft =
        lifecycle::create(&app.context, &staff, acme.id, vec![product("pds-fhir")], Origin::NewContract).await.unwrap();
    lifecycle::issue(&app.context, &staff, draft.id).await.unwrap();
    assert!(accounts::sign_in(&app.context, "agreements@provider.example", "not the password").await.is_err());
    app.expect_unsettled_jobs();

    let response = client.get(&metrics).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let body = response.text().await.unwrap();
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|line| Ok(line.to_owned()))).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .unwrap_or_else(|| {
                panic!(
                    "no sample {name} {label:?} in\n{:?}",
                    scrape.samples.iter().map(|s| (&s.metric, &s.labels)).collect::<Vec<_>>()
                )
            });
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name} is {other:?}"),
        }
    };
    assert_eq!(value("onramp_http_requests_total", Some(("route", "/agreements/:number"))), 1.0);
    assert_eq!(value("onramp_http_requests_total", Some(("route", "unmatched"))), 1.0, "no path as a label");
    assert!(scrape.samples.iter().any(|s| s.metric == "onramp_http_request_duration_seconds"
        && s.labels.get("route") == Some("/")
        && matches!(s.value, prometheus_parse::Value::Histogram(_))));
    assert!(value("onramp_jobs_waiting", Some(("kind", "agreement_timer"))) >= 1.0, "the new contract's timers");
    assert!(value("onramp_jobs_due", Some(("kind", "deliver_notification"))) >= 1.0, "the issued mail");
    assert!(value("onramp_job_oldest_due_age_seconds", Some(("kind", "deliver_notification"))) >= 0.0);
    value("onramp_jobs_failed", Some(("kind", "agreement_timer")));
    assert!(value("onramp_outbox_unsent", None) >= 1.0);
    assert_eq!(value("onramp_outbox_failed_deliveries", None), 0.0);
    assert_eq!(value("onramp_timers_fired_total", None), 0.0);
    assert_eq!(value("onramp_sign_in_failures_total", None), 1.0);
    assert_eq!(value("onramp_sign_in_lockouts_total", None), 0.0);
    assert!(value("onramp_db_pool_connections", Some(("state", "idle"))) >= 0.0);
    value("onramp_db_pool_connections", Some(("state", "in_use")));

    // The worker's run is counted.
    onramp_service::jobs::run_due(&app.context, app.clock.now()).await.unwrap();
    let again = client.get(&metrics).bearer_auth(TOKEN).send().await.unwrap().text().await.unwrap();
    assert!(again.contains("onramp_mail_sent_total 1"), "{again}");
}
