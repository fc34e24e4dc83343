//! Accounts and sign-in through the real HTTP server (SEC-2, SEC-3): registration with its errors, sign-in,
//! sign-out, the lock-out after repeated failures, and CSRF refusals that change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, browser, csrf_token};
use onramp_domain::EmailAddress;

onramp_store::on_both_backends!(
    common::spawn_app;
    sec2_register_sign_in_and_sign_out,
    sec3_bad_registration_shows_the_error_summary_and_keeps_input,
    sec2_forms_without_a_csrf_token_or_from_another_site_change_nothing,
    sec2_repeated_failures_lock_the_account,
    sec2_a_forgotten_password_is_reset_by_an_emailed_link,
    signing_in_returns_to_the_page_that_asked_for_it,
);

async fn register(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let page = client.get(format!("{}/register", app.address)).send().await.unwrap().text().await.unwrap();
    let form = [
        ("csrf_token", csrf_token(&page)),
        ("email", email.to_owned()),
        ("full_name", "Olu Owner".to_owned()),
        ("password", password.to_owned()),
        ("confirm_password", password.to_owned()),
    ];
    client.post(format!("{}/register", app.address)).form(&form).send().await.unwrap()
}

async fn sign_in(app: &TestApp, client: &reqwest::Client, email: &str, password: &str) -> reqwest::Response {
    let page = client.get(format!("{}/sign-in", app.address)).send().await.unwrap().text().await.unwrap();
    let form = [("csrf_token", csrf_token(&page)), ("email", email.to_owned()), ("password", password.to_owned())];
    client.post(format!("{}/sign-in", app.address)).form(&form).send().await.unwrap()
}

async fn sec2_register_sign_in_and_sign_out(app: TestApp) {
    let client = browser();
    let registered = register(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    assert_eq!(registered.status(), 303);
    let user = app.context.store.user_by_email(&EmailAddress::parse("olu@acme.example").unwrap()).await.unwrap();
    assert!(user.unwrap().password_hash.unwrap().starts_with("$argon2id$"));

    let signed_in = sign_in(&app, &client, "OLU@acme.example", "a long enough passphrase").await;
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let home = client.get(&app.address).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Signed in as Olu Owner"), "{home}");
    let account = client.get(format!("{}/account", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("olu@acme.example (not confirmed yet)"), "{account}");
    assert!(account.contains("Send the link again"), "{account}");
    let invitations = client.get(format!("{}/invitations", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(invitations.contains("Confirm your email address before you can see invitations"), "{invitations}");

    // SEC-1: the link in the mail confirms the address, once.
    let mails = app.context.store.notifications().await.unwrap();
    let path = mails
        .iter()
        .find_map(|m| match &m.notification {
            onramp_domain::notification::Notification::AddressVerification { path, .. } => Some(path.clone()),
            _ => None,
        })
        .unwrap();
    let confirmed = client.get(format!("{}{path}", app.address)).send().await.unwrap();
    assert_eq!(confirmed.status(), 200);
    assert!(confirmed.text().await.unwrap().contains("Your email address is confirmed"));
    let again = client.get(format!("{}{path}", app.address)).send().await.unwrap();
    assert_eq!(again.status(), 404, "a link works once");
    let account = client.get(format!("{}/account", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("olu@acme.example (confirmed)"), "{account}");

    let form = [("csrf_token", csrf_token(&home))];
    let out = client.post(format!("{}/sign-out", app.address)).form(&form).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let home = client.get(&app.address).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains("Signed in as"), "the session is gone");
    let account = client.get(format!("{}/account", app.address)).send().await.unwrap();
    assert_eq!(
        (account.status().as_u16(), account.headers()["location"].to_str().unwrap()),
        (303, "/sign-in?next=%2Faccount")
    );
}

async fn sec3_bad_registration_shows_the_error_summary_and_keeps_input(app: TestApp) {
    let client = browser();
    let refused = register(&app, &client, "not-an-address", "short").await;
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("There is a problem"), "{page}");
    assert!(page.contains(r##"<a href="#email">"##) && page.contains(r##"<a href="#password">"##), "{page}");
    assert!(page.contains(r#"value="not-an-address""#), "what the user typed is kept");
    assert!(page.contains("<title>Error: Create an account"), "the title says there is an error");
    assert!(
        app.context
            .store
            .user_by_email(&EmailAddress::parse("not-an@address.example").unwrap())
            .await
            .unwrap()
            .is_none()
    );

    // SEC-2: a taken address answers exactly as a new one; the holder of the address is mailed instead.
    let first = register(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    let twice = register(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    assert_eq!((first.status(), twice.status()), (reqwest::StatusCode::SEE_OTHER, reqwest::StatusCode::SEE_OTHER));
    assert_eq!(first.headers()["location"], twice.headers()["location"]);
    let mails = app.context.store.notifications().await.unwrap();
    let mut kinds: Vec<String> = mails.iter().map(|m| m.notification.to_stored().unwrap().kind.to_string()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["account_exists", "address_verification"],
        "one link for the new account, a warning for the second"
    );
}

async fn sec2_forms_without_a_csrf_token_or_from_another_site_change_nothing(app: TestApp) {
    let client = browser();
    let page = client.get(format!("{}/register", app.address)).send().await.unwrap().text().await.unwrap();
    let good = csrf_token(&page);
    let form = |token: &str| {
        [
            ("csrf_token", token.to_owned()),
            ("email", "mallory@evil.example".to_owned()),
            ("full_name", "Mallory".to_owned()),
            ("password", "a long enough passphrase".to_owned()),
            ("confirm_password", "a long enough passphrase".to_owned()),
        ]
    };
    let missing = client.post(format!("{}/register", app.address)).form(&form("")).send().await.unwrap();
    assert_eq!(missing.status(), 403);
    let cross_site = client
        .post(format!("{}/register", app.address))
        .header("sec-fetch-site", "cross-site")
        .form(&form(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let foreign_origin = reqwest::Client::new()
        .post(format!("{}/register", app.address))
        .header("origin", "https://evil.example")
        .form(&form(&good))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_origin.status(), 403);
    let email = EmailAddress::parse("mallory@evil.example").unwrap();
    assert!(app.context.store.user_by_email(&email).await.unwrap().is_none(), "nothing was created");
}

async fn sec2_repeated_failures_lock_the_account(app: TestApp) {
    let client = browser();
    register(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    for _ in 0..4 {
        let wrong = sign_in(&app, &client, "olu@acme.example", "wrong password!!").await;
        assert_eq!(wrong.status(), 422);
        let page = wrong.text().await.unwrap();
        assert!(page.contains("There is a problem") && page.contains("email address or password is not right"));
        assert!(page.contains(r#"value="olu@acme.example""#), "the address typed is kept; the password never is");
        assert!(!page.contains("wrong password!!"));
    }
    let locked = sign_in(&app, &client, "olu@acme.example", "wrong password!!").await;
    assert!(locked.text().await.unwrap().contains("Too many failed sign-ins"));
    let still_locked = sign_in(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    assert_eq!(still_locked.status(), 422, "even the right password waits for the lock-out to end");
    app.clock.advance(jiff::SignedDuration::from_mins(16));
    let after = sign_in(&app, &client, "olu@acme.example", "a long enough passphrase").await;
    assert_eq!(after.status(), 303);
}

/// SEC-2: one address may only try so many sign-ins and registrations in a burst (here 3); the next gets a
/// page that says to wait, and reaches neither the password check nor the database.
#[tokio::test]
async fn sec2_sign_in_attempts_are_limited_per_address() {
    let database = onramp_store::testing::TestDatabase::sqlite().await;
    let app = common::spawn_configured_app(database, |config| {
        config.sign_in.attempts_per_address = 3;
        config.sign_in.refill_seconds = 3600;
    })
    .await;
    let client = browser();
    for attempt in 1..=3 {
        let response = sign_in(&app, &client, "nobody@acme.example", "a wrong passphrase").await;
        assert_eq!(response.status(), 422, "attempt {attempt} is checked");
    }
    let response = sign_in(&app, &client, "nobody@acme.example", "a wrong passphrase").await;
    assert_eq!(response.status(), 429);
    let page = response.text().await.unwrap();
    assert!(page.contains("too many sign-in attempts from your network"), "{page}");
    assert!(page.contains("then try again"));
    assert_eq!(register(&app, &client, "new@acme.example", "a long enough passphrase").await.status(), 429);
    let failures = app.context.store.login_failures("nobody@acme.example").await.unwrap();
    assert_eq!(failures.map(|f| f.count), Some(3), "the refused attempt was never counted");
    assert_eq!(client.get(format!("{}/sign-in", app.address)).send().await.unwrap().status(), 200, "pages still load");
}

fn reset_link(mail: &onramp_store::Notification) -> String {
    match &mail.notification {
        onramp_domain::notification::Notification::PasswordReset { path, .. } => path.clone(),
        other => panic!("not a password reset mail: {other:?}"),
    }
}

fn reset_mails(notifications: &[onramp_store::Notification]) -> Vec<&onramp_store::Notification> {
    notifications.iter().filter(|n| n.notification.kind() == "password_reset").collect()
}

async fn sec2_a_forgotten_password_is_reset_by_an_emailed_link(app: TestApp) {
    let client = browser();
    assert_eq!(register(&app, &client, "olu@acme.example", "the first long passphrase").await.status(), 303);
    let signed_in = browser();
    assert_eq!(sign_in(&app, &signed_in, "olu@acme.example", "the first long passphrase").await.status(), 303);
    assert!(
        client
            .get(format!("{}/sign-in", app.address))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("Forgotten your password?")
    );

    let ask = |email: &'static str| {
        let client = client.clone();
        let address = app.address.clone();
        async move {
            let page = client.get(format!("{address}/password-reset")).send().await.unwrap().text().await.unwrap();
            let form = [("csrf_token", csrf_token(&page)), ("email", email.to_owned())];
            client.post(format!("{address}/password-reset")).form(&form).send().await.unwrap()
        }
    };
    let response = ask("not an address").await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(page.contains("There is a problem") && page.contains(r#"value="not an address""#), "{page}");

    // An address with no account gets the same answer and no mail, so the form reveals nothing.
    let response = ask("nobody@acme.example").await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Check your email"));
    assert!(reset_mails(&app.context.store.notifications().await.unwrap()).is_empty());

    assert_eq!(ask("Olu@Acme.example").await.status(), 200);
    let notifications = app.context.store.notifications().await.unwrap();
    let mails = reset_mails(&notifications);
    assert_eq!(mails.len(), 1, "one mail in the outbox");
    assert_eq!(mails[0].recipients, vec!["olu@acme.example".to_owned()]);
    let link = reset_link(mails[0]);
    assert!(link.starts_with("/password-reset/"), "{link}");

    let page = client.get(format!("{}{link}", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Set a new password"), "{page}");
    let post = |fields: [(&'static str, String); 2]| {
        let client = client.clone();
        let url = format!("{}{link}", app.address);
        let token = csrf_token(&page);
        async move {
            let mut form = vec![("csrf_token", token)];
            form.extend(fields);
            client.post(url).form(&form).send().await.unwrap()
        }
    };
    let response = post([("password", "short".into()), ("confirm_password", "short".into())]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("There is a problem"));
    let response =
        post([("password", "a brand new passphrase".into()), ("confirm_password", "something else".into())]).await;
    assert_eq!(response.status(), 422);
    assert!(response.text().await.unwrap().contains("The passwords do not match"));

    let response =
        post([("password", "a brand new passphrase".into()), ("confirm_password", "a brand new passphrase".into())])
            .await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in?reset=1");
    let after = client.get(format!("{}/sign-in?reset=1", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(after.contains("Your password has been changed"));
    assert_eq!(
        signed_in.get(format!("{}/account", app.address)).send().await.unwrap().status(),
        303,
        "old sessions ended"
    );
    assert_eq!(sign_in(&app, &browser(), "olu@acme.example", "the first long passphrase").await.status(), 422);
    assert_eq!(sign_in(&app, &browser(), "olu@acme.example", "a brand new passphrase").await.status(), 303);

    let again =
        post([("password", "a third long passphrase".into()), ("confirm_password", "a third long passphrase".into())])
            .await;
    assert_eq!(again.status(), 404, "a link works once");
    assert!(again.text().await.unwrap().contains("This link no longer works"));

    // A link works for one hour.
    assert_eq!(ask("olu@acme.example").await.status(), 200);
    let notifications = app.context.store.notifications().await.unwrap();
    let newest = reset_mails(&notifications).into_iter().last().unwrap();
    let link = reset_link(newest);
    app.clock.advance(jiff::SignedDuration::from_mins(61));
    assert_eq!(client.get(format!("{}{link}", app.address)).send().await.unwrap().status(), 404);
}

async fn signing_in_returns_to_the_page_that_asked_for_it(app: TestApp) {
    let client = browser();
    assert_eq!(register(&app, &client, "olu@acme.example", "a long enough passphrase").await.status(), 303);
    let asked = client.get(format!("{}/agreements?all=1", app.address)).send().await.unwrap();
    assert_eq!(asked.status(), 303);
    let location = asked.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/sign-in?next=%2Fagreements%3Fall%3D1");
    let page = client.get(format!("{}{location}", app.address)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"name="next" value="/agreements?all=1""#), "{page}");
    let sign_in_with = |next: &'static str| {
        let client = browser();
        let address = app.address.clone();
        async move {
            let page = client.get(format!("{address}/sign-in")).send().await.unwrap().text().await.unwrap();
            let form = [
                ("csrf_token", csrf_token(&page)),
                ("email", "olu@acme.example".to_owned()),
                ("password", "a long enough passphrase".to_owned()),
                ("next", next.to_owned()),
            ];
            let response = client.post(format!("{address}/sign-in")).form(&form).send().await.unwrap();
            response.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(sign_in_with("/agreements?all=1").await, "/agreements?all=1");
    assert_eq!(sign_in_with("//evil.example/").await, "/", "never to another site");
    assert_eq!(sign_in_with("https://evil.example/").await, "/");
}
