//! The test app shared by the HTTP stories: the real router on port 0 against a fresh database.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::sync::Arc;

use onramp_service::clock::ManualClock;
use onramp_service::{AppContext, Config};
use onramp_store::testing::TestDatabase;

pub struct TestApp {
    pub address: String,
    pub context: AppContext,
    pub clock: Arc<ManualClock>,
    pub database: TestDatabase,
}

pub async fn spawn_app(database: TestDatabase) -> TestApp {
    let config = Config { database_url: database.url().clone(), ..Config::default() };
    let clock = Arc::new(ManualClock::new("2026-11-21T09:30:00Z".parse().unwrap()));
    let context = AppContext::new(config, database.store(), clock.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(onramp_web::serve(listener, context.clone(), std::future::pending()));
    TestApp { address, context, clock, database }
}

#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $story() {
                super::$story(super::common::spawn_app(onramp_store::testing::TestDatabase::sqlite().await).await).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $story() {
                let Some(database) = onramp_store::testing::TestDatabase::postgres(stringify!($story)).await else {
                    return;
                };
                super::$story(super::common::spawn_app(database).await).await
            })*
        }
    };
}

/// A browser-like client: keeps cookies, sends `Sec-Fetch-Site: same-origin` like a browser on our own forms.
pub fn browser() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("sec-fetch-site", reqwest::header::HeaderValue::from_static("same-origin"));
    reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The CSRF token in a page's first form.
pub fn csrf_token(page: &str) -> String {
    let marker = r#"name="csrf_token" value=""#;
    let start = page.find(marker).map(|i| i + marker.len()).expect("the page has a form with a CSRF token");
    page[start..].split('"').next().unwrap_or_default().to_owned()
}
