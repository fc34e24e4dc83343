//! The test app shared by the HTTP stories: the real router on port 0 against a fresh database.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use onramp_service::clock::ManualClock;
use onramp_service::{AppContext, Config};
use onramp_store::testing::TestDatabase;

pub struct TestApp {
    pub address: String,
    pub context: AppContext,
    pub clock: Arc<ManualClock>,
    pub database: TestDatabase,
    /// Set by a story that means to leave work in the job queue (see `Drop`).
    unsettled_jobs_expected: AtomicBool,
}

impl TestApp {
    /// This story leaves due, failed or erroring jobs behind on purpose: skip the check when it ends.
    pub fn expect_unsettled_jobs(&self) {
        self.unsettled_jobs_expected.store(true, Ordering::Relaxed);
    }
}

/// When a story ends, the job queue must be settled: nothing failed, nothing due left unrun, no error left
/// behind (as crates.io's `TestApp` checks on drop), by the app's own clock.
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || self.unsettled_jobs_expected.load(Ordering::Relaxed) {
            return;
        }
        let now = onramp_domain::Clock::now(self.context.clock.as_ref());
        let unsettled = onramp_store::testing::unsettled_jobs_blocking(self.database.url(), now);
        assert!(unsettled.is_empty(), "the story left the job queue unsettled:\n{}", unsettled.join("\n"));
    }
}

pub async fn spawn_app(database: TestDatabase) -> TestApp {
    spawn_configured_app(database, |_| {}).await
}

/// The app with some settings changed from the defaults.
pub async fn spawn_configured_app(database: TestDatabase, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = test_config(&database);
    configure(&mut config);
    let clock = Arc::new(ManualClock::new("2026-11-21T09:30:00Z".parse().unwrap()));
    let context = AppContext::new(config, database.store(), clock.clone()).await.unwrap();
    serve(database, context, clock).await
}

/// The app as `serve --demo` runs it: demo time that agreement-team staff may move forward. `clock` is then
/// only the time the fixtures stamp on what they create.
pub async fn spawn_demo_app(database: TestDatabase) -> TestApp {
    let config = test_config(&database);
    let demo_clock = Arc::new(onramp_service::clock::DemoClock::new());
    let context = AppContext::in_demo_mode(config, database.store(), demo_clock).await.unwrap();
    let clock = Arc::new(ManualClock::new(onramp_domain::Clock::now(context.clock.as_ref())));
    serve(database, context, clock).await
}

async fn serve(database: TestDatabase, context: AppContext, clock: Arc<ManualClock>) -> TestApp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(onramp_web::serve(listener, context.clone(), std::future::pending()));
    TestApp { address, context, clock, database, unsettled_jobs_expected: AtomicBool::new(false) }
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

/// The password of every account the stories make.
pub const PASSWORD: &str = "a long enough passphrase";

/// The page at `path`. Every page a story reads is checked for the one time format: instants are shown in
/// London time with GMT or BST, never in UTC.
pub async fn get(app: &TestApp, client: &reqwest::Client, path: &str) -> String {
    let page = client.get(format!("{}{path}", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(!page.contains(" UTC"), "{path} shows a time in UTC rather than London time:\n{page}");
    page
}

/// `page` without its `class` attributes, so a story can assert on structure and words (`<dt>Created</dt>`)
/// rather than on the design system's class names.
pub fn without_classes(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    let mut rest = page;
    while let Some(start) = rest.find(" class=\"") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 8..];
        rest = after.find('"').map_or("", |end| &after[end + 1..]);
    }
    out.push_str(rest);
    out
}

/// The hidden fields of the form on `page` that posts to `path`, as a browser would send them; just the CSRF
/// token when the page has no such form.
pub fn hidden_fields(page: &str, path: &str) -> Vec<(String, String)> {
    let Some(start) = page.find(&format!(r#"action="{path}""#)) else {
        return vec![("csrf_token".to_owned(), csrf_token(page))];
    };
    let form = &page[start..page[start..].find("</form>").map_or(page.len(), |end| start + end)];
    let attribute = |input: &str, name: &str| {
        let marker = format!(r#"{name}=""#);
        input.find(&marker).map(|i| input[i + marker.len()..].split('"').next().unwrap_or_default().to_owned())
    };
    form.split("<input")
        .skip(1)
        .filter(|input| input.contains(r#"type="hidden""#))
        .filter_map(|input| Some((attribute(input, "name")?, attribute(input, "value").unwrap_or_default())))
        .collect()
}

/// Posts a form the way the page `page` would: with its CSRF token and the form's other hidden fields.
pub async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    page: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let hidden = hidden_fields(page, path);
    let mut form: Vec<(&str, &str)> = hidden.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect();
    form.extend_from_slice(fields);
    client.post(format!("{}{path}", app.address)).form(&form).send().await.unwrap()
}

/// A fresh browser session for an existing account with [`PASSWORD`].
pub async fn sign_in(app: &TestApp, email: &str) -> reqwest::Client {
    let client = browser();
    let page = get(app, &client, "/sign-in").await;
    let response = post(app, &client, "/sign-in", &page, &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), 303, "{email} signs in");
    client
}

/// An account with [`PASSWORD`]: staff when `staff_roles` is not empty, else a member of `membership`'s
/// organisation.
pub async fn account(
    app: &TestApp,
    email: &str,
    name: &str,
    staff_roles: Vec<onramp_domain::StaffRole>,
    membership: Option<onramp_domain::Membership>,
) -> onramp_domain::User {
    let hash = onramp_service::password::hash(onramp_domain::Password::parse(PASSWORD).unwrap()).await.unwrap();
    let user = onramp_domain::NewUser {
        email: onramp_domain::EmailAddress::parse(email).unwrap(),
        full_name: onramp_domain::PersonName::parse(name).unwrap(),
        password_hash: Some(hash),
        staff_roles,
        email_verified: true,
    };
    let now = onramp_domain::Clock::now(app.clock.as_ref());
    let user = app.context.store.create_user(&user, now).await.unwrap();
    if let Some(membership) = membership {
        app.context.store.set_membership(user.id, Some(&membership)).await.unwrap();
    }
    app.context.store.user(user.id).await.unwrap().unwrap()
}

/// A commercial organisation with ODS code `ods`.
pub async fn organisation(app: &TestApp, ods: &str) -> onramp_domain::Organisation {
    let now = onramp_domain::Clock::now(app.clock.as_ref());
    app.context.store.create_organisation(&organisation_details(ods), now).await.unwrap()
}

/// The details of a commercial organisation with ODS code `ods`, named after it.
pub fn organisation_details(ods: &str) -> onramp_domain::NewOrganisation {
    onramp_domain::NewOrganisation::parse(&onramp_domain::OrganisationInput {
        name: format!("Organisation {ods}"),
        ods_code: ods.into(),
        company_number: "01234567".into(),
        registered_address: "1 High Street".into(),
        kind: "commercial".into(),
        delivery_notice_mailbox: format!("notices@{}.example", ods.to_lowercase()),
        im1_supplier: false,
    })
    .unwrap()
}

/// Set-up shared by the connecting-party stories: the agreement team issues a contract that runs out (the
/// clock jumps 91 days and the timers fire, so it is Cancelled), then a second one, Under Review. Returns both.
pub async fn lapsed_then_issued(
    app: &TestApp,
    team: &onramp_domain::User,
    organisation: onramp_domain::OrganisationId,
) -> (onramp_domain::agreement::Agreement, onramp_domain::agreement::Agreement) {
    use onramp_domain::agreement::Origin;
    use onramp_service::lifecycle;
    let products = || vec![product("pds-fhir")];
    let lapsed = lifecycle::create(&app.context, team, organisation, products(), Origin::NewContract).await.unwrap();
    lifecycle::issue(&app.context, team, lapsed.id).await.unwrap();
    app.clock.advance(jiff::SignedDuration::from_hours(24 * 91));
    let now = onramp_domain::Clock::now(app.clock.as_ref());
    onramp_service::jobs::run_due(&app.context, now).await.unwrap();
    let current = lifecycle::create(&app.context, team, organisation, products(), Origin::NewContract).await.unwrap();
    let current = lifecycle::issue(&app.context, team, current.id).await.unwrap();
    (lapsed, current)
}

/// The defaults, on `database`, with mail written to the database's own folder and links to a fixed portal.
pub fn test_config(database: &TestDatabase) -> Config {
    let mut config = Config { database_url: database.url().clone(), ..Config::default() };
    config.mail.folder = Some(database.files_dir().join("mail"));
    config.evidence.folder = Some(database.files_dir().join("evidence"));
    config.public_url = Some("https://onramp.test".into());
    config
}

/// The path of the newest address-verification link mailed to `email` (SEC-1), as the mail carries it.
pub async fn verification_path(app: &TestApp, email: &str) -> String {
    let mails = app.context.store.notifications().await.unwrap();
    mails
        .iter()
        .rev()
        .filter(|m| m.recipients == [email])
        .find_map(|m| match &m.notification {
            onramp_domain::notification::Notification::AddressVerification { path, .. } => Some(path.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no verification mail to {email}"))
}

/// A product of the shipped catalogue, by slug.
pub fn product(slug: &str) -> onramp_domain::ApiProduct {
    onramp_domain::ApiProduct::parse(slug).unwrap()
}
