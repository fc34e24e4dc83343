//! The portal's hardening, on both databases: security headers on every response (SEC-2), the CSRF token of a
//! visitor who is not signed in thrown away at sign-in, `Secure` cookies whenever the public URL is https, and
//! form text that is not UTF-8 or holds control characters refused, naming the field, with nothing stored
//! (SEC-3); a company registration number of `!!` refused.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, browser, csrf_token, get, organisation, post, sign_in};
use onramp_domain::{Membership, TeamRole};
use reqwest::multipart::{Form, Part};

onramp_store::on_both_backends!(
    common::spawn_app;
    sec2_every_response_carries_the_security_headers,
    sec2_the_anonymous_csrf_token_stops_working_at_sign_in,
    sec2_cookies_are_secure_with_an_https_public_url,
    sec3_nul_invalid_utf8_and_line_breaks_in_a_form_are_refused_and_nothing_is_stored,
    sec3_multipart_text_is_checked_as_strictly,
    org1_a_company_number_of_punctuation_is_refused,
    sign_out_by_address_offers_the_button,
);

/// The same portal served with an `http://` public URL: cookies are not `Secure` there.
mod over_http {
    use super::*;

    pub async fn http_app(database: onramp_store::testing::TestDatabase) -> TestApp {
        common::spawn_configured_app(database, |config| config.public_url = Some("http://onramp.test".into())).await
    }

    onramp_store::on_both_backends!(http_app; sec2_cookies_are_not_secure_with_an_http_public_url);
}

/// A client without a cookie store, which sends exactly the cookies it is given.
fn bare_client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The `Set-Cookie` values of a response.
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

/// The value `name` is set to by a response, if it sets it.
fn cookie_value(response: &reqwest::Response, name: &str) -> Option<String> {
    set_cookies(response).iter().find_map(|cookie| {
        let (pair, _) = cookie.split_once(';').unwrap_or((cookie, ""));
        pair.strip_prefix(&format!("{name}=")).map(str::to_owned)
    })
}

fn assert_security_headers(response: &reqwest::Response, what: &str) {
    let headers = response.headers();
    let policy = headers["content-security-policy"].to_str().unwrap();
    for directive in
        ["default-src 'self'", "script-src 'none'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]
    {
        assert!(policy.contains(directive), "{what}: {directive} in {policy}");
    }
    assert_eq!(headers.get_all("content-security-policy").iter().count(), 1, "{what}: one policy");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["referrer-policy"], "same-origin", "{what}");
}

/// A page, a page not found, a redirect, the stylesheet, a refused form and a wrong method all carry the
/// headers; the pages link only their own stylesheet and hold no inline style or script the policy would block.
async fn sec2_every_response_carries_the_security_headers(app: TestApp) {
    let client = bare_client();
    let url = |path: &str| format!("{}{path}", app.address);
    let home = client.get(url("/")).send().await.unwrap();
    assert_eq!(home.status(), 200);
    assert_security_headers(&home, "the home page");
    let page = home.text().await.unwrap();
    assert!(page.contains(r#"<link rel="stylesheet" href="/assets/onramp.css">"#), "{page}");
    for blocked in ["<script", "style=", "<style"] {
        assert!(!page.contains(blocked), "{blocked} would be blocked by the policy: {page}");
    }

    let missing = client.get(url("/no/such/page")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_security_headers(&missing, "a page not found");

    let redirect = client.get(url("/account")).send().await.unwrap();
    assert_eq!(redirect.status(), 303);
    assert_security_headers(&redirect, "a redirect to sign in");

    let css = client.get(url("/assets/onramp.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert_security_headers(&css, "the stylesheet");
    assert!(!css.text().await.unwrap().contains("url("), "the stylesheet loads nothing from elsewhere");

    let refused = client.post(url("/sign-out")).form(&[("csrf_token", "forged")]).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    assert_security_headers(&refused, "a refused form");

    let wrong_method = client.request(reqwest::Method::OPTIONS, url("/sign-in")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_security_headers(&wrong_method, "a wrong method");

    let probe = client.get(url("/healthz")).send().await.unwrap();
    assert_security_headers(&probe, "the liveness probe");

    // The staff mail page keeps a policy of its own: the letter's HTML part is styled inline.
    let visitor = browser();
    let page = get(&app, &visitor, "/register").await;
    let registration = [
        ("email", "nina@new.example"),
        ("full_name", "Nina New"),
        ("password", common::PASSWORD),
        ("confirm_password", common::PASSWORD),
    ];
    assert_eq!(post(&app, &visitor, "/register", &page, &registration).await.status(), 303);
    account(&app, "ada@provider.example", "Ada Admin", vec![onramp_domain::StaffRole::Admin], None).await;
    let admin = sign_in(&app, "ada@provider.example").await;
    let mail = app.context.store.outbox_page(None, 1).await.unwrap()[0].id;
    let message = admin.get(url(&format!("/staff/mail/{mail}"))).send().await.unwrap();
    assert_eq!(message.status(), 200);
    let policies: Vec<_> = message.headers().get_all("content-security-policy").iter().collect();
    assert_eq!(policies.len(), 1, "{policies:?}");
    let policy = policies[0].to_str().unwrap();
    assert!(policy.contains("style-src 'self' 'unsafe-inline'") && policy.contains("script-src 'none'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(message.headers()["x-frame-options"], "DENY");
}

/// The token a visitor's forms carry before signing in is deleted by the sign-in response and refused once
/// signed in, even when sent back with its cookie (a token planted before sign-in is worth nothing after).
async fn sec2_the_anonymous_csrf_token_stops_working_at_sign_in(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let client = browser();
    let url = |path: &str| format!("{}{path}", app.address);

    let form = client.get(url("/sign-in")).send().await.unwrap();
    let anonymous = cookie_value(&form, "onramp_csrf").expect("a visitor not signed in is given a CSRF cookie");
    assert_eq!(csrf_token(&form.text().await.unwrap()), anonymous);

    let fields = [("csrf_token", anonymous.as_str()), ("email", "olu@acme.example"), ("password", common::PASSWORD)];
    let signed_in = client.post(url("/sign-in")).form(&fields).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let session = cookie_value(&signed_in, "onramp_session").unwrap();
    let deleted = set_cookies(&signed_in).into_iter().find(|c| c.starts_with("onramp_csrf=")).unwrap_or_default();
    assert!(deleted.starts_with("onramp_csrf=;") && deleted.contains("Max-Age=0"), "deleted at sign-in: {deleted}");

    let account_page = get(&app, &client, "/account").await;
    let session_token = csrf_token(&account_page);
    assert_ne!(session_token, anonymous, "the session has a token of its own");

    // The old token, from the browser and from anyone who kept the old cookie as well, is refused.
    let refused = client.post(url("/sign-out")).form(&[("csrf_token", anonymous.as_str())]).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let planted = bare_client()
        .post(url("/sign-out"))
        .header("cookie", format!("onramp_session={session}; onramp_csrf={anonymous}"))
        .form(&[("csrf_token", anonymous.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(planted.status(), 403);
    assert_eq!(client.get(url("/account")).send().await.unwrap().status(), 200, "still signed in");

    // Signing out with the session's token works; the next visit is given a new anonymous token.
    let out = client.post(url("/sign-out")).form(&[("csrf_token", session_token.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let again = client.get(url("/sign-in")).send().await.unwrap();
    let fresh = cookie_value(&again, "onramp_csrf").expect("a new anonymous token after sign-out");
    assert_ne!(fresh, anonymous);
}

/// The stories' portal has the public URL `https://onramp.test`: every cookie is `Secure`.
async fn sec2_cookies_are_secure_with_an_https_public_url(app: TestApp) {
    assert!(app.context.config.public_url.as_deref().is_some_and(|url| url.starts_with("https://")));
    assert!(!app.context.config.secure_cookies, "the public URL alone decides");
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let client = bare_client();
    let form = client.get(format!("{}/sign-in", app.address)).send().await.unwrap();
    let anonymous = set_cookies(&form);
    assert!(anonymous.len() == 1 && anonymous[0].ends_with("; Secure"), "{anonymous:?}");
    let token = cookie_value(&form, "onramp_csrf").unwrap();
    let signed_in = client
        .post(format!("{}/sign-in", app.address))
        .header("cookie", format!("onramp_csrf={token}"))
        .form(&[("csrf_token", token.as_str()), ("email", "olu@acme.example"), ("password", common::PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookies = set_cookies(&signed_in);
    assert_eq!(cookies.len(), 2, "the session, and the anonymous token deleted: {cookies:?}");
    for cookie in cookies {
        assert!(cookie.contains("; HttpOnly") && cookie.ends_with("; Secure"), "{cookie}");
    }
}

async fn sec2_cookies_are_not_secure_with_an_http_public_url(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let form = bare_client().get(format!("{}/sign-in", app.address)).send().await.unwrap();
    let cookies = set_cookies(&form);
    assert!(cookies.len() == 1 && !cookies[0].contains("Secure"), "{cookies:?}");
    let client = browser();
    let page = get(&app, &client, "/sign-in").await;
    let signed_in =
        post(&app, &client, "/sign-in", &page, &[("email", "olu@acme.example"), ("password", common::PASSWORD)]).await;
    assert_eq!(signed_in.status(), 303);
    let cookies = set_cookies(&signed_in);
    assert!(!cookies.is_empty() && cookies.iter().all(|c| !c.contains("Secure")), "{cookies:?}");
}

/// Everything a refused form could have stored.
async fn stored(app: &TestApp) -> String {
    let store = &app.context.store;
    format!(
        "{:?}\n{}\n{}",
        store.organisations().await.unwrap(),
        store.audit_records().await.unwrap().len(),
        store.notifications().await.unwrap().len()
    )
}

/// Posts `body` as a urlencoded form, byte for byte.
async fn post_raw(app: &TestApp, client: &reqwest::Client, path: &str, body: Vec<u8>) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn sec3_nul_invalid_utf8_and_line_breaks_in_a_form_are_refused_and_nothing_is_stored(app: TestApp) {
    account(&app, "nina@new.example", "Nina New", vec![], None).await;
    let client = sign_in(&app, "nina@new.example").await;
    let page = get(&app, &client, "/organisation").await;
    assert!(page.contains(r#"action="/organisation""#), "the registration form: {page}");
    let token = csrf_token(&page);
    let before = stored(&app).await;
    let form = |name: &str, address: &str| {
        vec![
            ("csrf_token", token.clone()),
            ("name", name.to_owned()),
            ("ods_code", "NEW01".to_owned()),
            ("company_number", "01234567".to_owned()),
            ("registered_address", address.to_owned()),
            ("kind", "commercial".to_owned()),
            ("delivery_notice_mailbox", "notices@new.example".to_owned()),
        ]
    };
    let refusals = [
        ("a NUL byte", form("New\0Health", "1 High Street"), "NUL byte (U+0000)"),
        ("a NUL byte in a multi-line field", form("New Health", "1 High Street\0"), "“registered_address”"),
        ("a line break in a one-line field", form("New\nHealth", "1 High Street"), "line break"),
    ];
    for (what, fields, says) in refusals {
        let refused = client.post(format!("{}/organisation", app.address)).form(&fields).send().await.unwrap();
        assert_eq!(refused.status(), 422, "{what}");
        let text = refused.text().await.unwrap();
        assert!(text.contains(says) && text.contains("Nothing was saved"), "{what}: {text}");
        assert!(!text.contains('\0'), "{what}: no NUL is written into the page");
    }
    let invalid = [
        ("percent-encoded", b"name=New%FFHealth".to_vec()),
        ("raw", [&b"name=New"[..], &[0xff, 0xfe], b"Health"].concat()),
        ("an overlong NUL", b"name=New%C0%80Health".to_vec()),
    ];
    for (what, field) in invalid {
        let body = [format!("csrf_token={token}&").as_bytes(), &field, b"&ods_code=NEW01&kind=commercial"].concat();
        let refused = post_raw(&app, &client, "/organisation", body).await;
        assert_eq!(refused.status(), 422, "invalid UTF-8, {what}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("The field “name” is not valid UTF-8 text"), "{what}: {text}");
    }
    // A query string is read as strictly.
    let query = client.get(format!("{}/sign-in?next=%2F%00", app.address)).send().await.unwrap();
    assert_eq!(query.status(), 422);
    assert_eq!(stored(&app).await, before, "nothing refused was stored");

    // Line breaks and tabs belong in the address box; the same form without the bad bytes is taken.
    let taken = client
        .post(format!("{}/organisation", app.address))
        .form(&form("New Health", "1 High Street\r\n\tLeeds"))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 303, "{}", taken.text().await.unwrap());
    let organisations = app.context.store.organisations().await.unwrap();
    assert_eq!(organisations.len(), 1);
    assert_eq!(organisations[0].details.name, "New Health");
}

/// The section form of an application is multipart when it has evidence questions: its text fields are read
/// as bytes and checked the same way before anything is saved.
async fn sec3_multipart_text_is_checked_as_strictly(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let supplier = sign_in(&app, "olu@acme.example").await;
    let page = get(&app, &supplier, "/applications").await;
    let started =
        post(&app, &supplier, "/applications", &page, &[("product_name", "Acme Notify"), ("product", "nhs-notify")])
            .await;
    let application = started.headers()["location"].to_str().unwrap().to_owned();
    let id = onramp_domain::application::ApplicationId(
        uuid::Uuid::parse_str(application.rsplit('/').next().unwrap()).unwrap(),
    );
    let section = format!("{application}/sections/messaging-service.security_controls");
    let form = get(&app, &supplier, &section).await;
    assert!(form.contains(r#"enctype="multipart/form-data""#) && form.contains(r#"name="q-end_user_toolkit""#));
    let before = format!("{:?}", app.context.store.application(id).await.unwrap());

    let answers: [(&str, Vec<u8>, &str); 2] = [
        ("a NUL byte", b"We check\0 every toolkit".to_vec(), "NUL byte (U+0000)"),
        ("invalid UTF-8", b"We check \xff every toolkit".to_vec(), "is not valid UTF-8 text"),
    ];
    for (what, answer, says) in answers {
        let multipart = Form::new()
            .text("csrf_token", csrf_token(&form))
            .part("q-end_user_toolkit", Part::bytes(answer))
            .text("intent", "save");
        let refused = supplier.post(format!("{}{section}", app.address)).multipart(multipart).send().await.unwrap();
        assert_eq!(refused.status(), 422, "{what}");
        let text = refused.text().await.unwrap();
        assert!(text.contains("“q-end_user_toolkit”") && text.contains(says), "{what}: {text}");
    }
    assert_eq!(format!("{:?}", app.context.store.application(id).await.unwrap()), before, "nothing saved");

    let multipart = Form::new()
        .text("csrf_token", csrf_token(&form))
        .text("q-end_user_toolkit", "We check every toolkit.\r\nEvery year.")
        .text("intent", "save");
    let saved = supplier.post(format!("{}{section}", app.address)).multipart(multipart).send().await.unwrap();
    assert_eq!(saved.status(), 303, "a clean answer with a line break is saved");
    assert_ne!(format!("{:?}", app.context.store.application(id).await.unwrap()), before);
}

/// ORG-1: `!!` is not a company registration number; the form says why, beside the field, and stores nothing.
async fn org1_a_company_number_of_punctuation_is_refused(app: TestApp) {
    account(&app, "nina@new.example", "Nina New", vec![], None).await;
    let client = sign_in(&app, "nina@new.example").await;
    let page = get(&app, &client, "/organisation").await;
    let before = stored(&app).await;
    for number in ["!!", "!!123456", "0123-4567"] {
        let refused = post(
            &app,
            &client,
            "/organisation",
            &page,
            &[
                ("name", "New Health"),
                ("ods_code", "NEW01"),
                ("company_number", number),
                ("registered_address", "1 High Street"),
                ("kind", "commercial"),
                ("delivery_notice_mailbox", "notices@new.example"),
            ],
        )
        .await;
        assert_eq!(refused.status(), 422, "{number}");
        let text = refused.text().await.unwrap();
        assert!(text.contains(r##"href="#company_number""##), "{number}: linked from the summary: {text}");
        assert!(text.contains("only letters and digits"), "{number}: {text}");
    }
    assert_eq!(stored(&app).await, before);
}

/// `GET /sign-out` (a typed address, an old bookmark) is a page with the sign-out button, or says there is
/// nobody to sign out.
async fn sign_out_by_address_offers_the_button(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let owner = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(owner)).await;
    let anonymous = browser();
    let page = anonymous.get(format!("{}/sign-out", app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("You are not signed in") && page.contains(r#"href="/sign-in""#), "{page}");

    let client = sign_in(&app, "olu@acme.example").await;
    let page = client.get(format!("{}/sign-out", app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("<h1>Sign out</h1>") && page.contains("Olu Owner"), "{page}");
    let out = post(&app, &client, "/sign-out", &page, &[]).await;
    assert_eq!(out.status(), 303);
    assert_eq!(client.get(format!("{}/account", app.address)).send().await.unwrap().status(), 303, "signed out");
}
