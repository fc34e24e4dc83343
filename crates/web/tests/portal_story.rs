//! The connecting party's journey through the portal, over real HTTP (WEB-1, CA-13, CA-14, CA-3, SEC-1):
//! register, create an organisation, be nominated onboarding contact, see *My Connection Agreements* with its
//! default filter and *Clear all*, accept an agreement, and see a paused terms change.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{PASSWORD, TestApp, browser, get, post, sign_in};
use onramp_domain::agreement::Actor;
use onramp_domain::{EmailAddress, NewUser, PersonName, StaffRole, User};
use onramp_service::lifecycle;

onramp_store::on_both_backends!(
    common::spawn_app;
    ca13_ca3_a_supplier_registers_accepts_and_sees_a_paused_terms_change,
);

async fn signed_in(app: &TestApp, email: &str, name: &str) -> reqwest::Client {
    let client = browser();
    let page = get(app, &client, "/register").await;
    let password = PASSWORD;
    let fields = [("email", email), ("full_name", name), ("password", password), ("confirm_password", password)];
    assert_eq!(post(app, &client, "/register", &page, &fields).await.status(), 303);
    let client = sign_in(app, email).await;
    // SEC-1: the address is confirmed by the mailed link before the account joins or accepts anything.
    let path = common::verification_path(app, email).await;
    assert!(get(app, &client, &path).await.contains("Your email address is confirmed"));
    client
}

async fn staff(app: &TestApp) -> User {
    let user = NewUser {
        email: EmailAddress::parse("agreements@provider.example").unwrap(),
        full_name: PersonName::parse("Aisha Agreements").unwrap(),
        password_hash: None,
        staff_roles: vec![StaffRole::AgreementTeam],
        email_verified: true,
    };
    app.context.store.create_user(&user, app.clock.now_for_test()).await.unwrap()
}

trait NowForTest {
    fn now_for_test(&self) -> jiff::Timestamp;
}

impl NowForTest for onramp_service::clock::ManualClock {
    fn now_for_test(&self) -> jiff::Timestamp {
        onramp_domain::Clock::now(self)
    }
}

async fn ca13_ca3_a_supplier_registers_accepts_and_sees_a_paused_terms_change(app: TestApp) {
    let supplier = signed_in(&app, "olu@acme.example", "Olu Owner").await;

    // ORG-4 in the portal: errors in place, what was typed kept, nothing saved.
    let page = get(&app, &supplier, "/organisation").await;
    assert!(page.contains("Register your organisation"));
    let bad = post(
        &app,
        &supplier,
        "/organisation",
        &page,
        &[("name", "Acme Health"), ("ods_code", "X"), ("kind", "commercial")],
    )
    .await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("There is a problem") && bad.contains(r##"href="#ods_code""##), "{bad}");
    assert!(bad.contains(r#"value="Acme Health""#));
    assert!(app.context.store.organisations().await.unwrap().is_empty());

    // ORG-3: only the provider's staff may say an organisation is part of the provider (it needs no agreement).
    assert!(!page.contains(r#"value="provider_internal""#), "a supplier is not offered the kind: {page}");
    let internal = [
        ("name", "Acme Health"),
        ("ods_code", "X26"),
        ("company_number", ""),
        ("registered_address", "1 High Street\nLeeds"),
        ("kind", "provider_internal"),
        ("delivery_notice_mailbox", "notices@acme.example"),
    ];
    let refused = post(&app, &supplier, "/organisation", &page, &internal).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("Only the provider&#39;s staff can register a part of the API provider"), "{refused}");
    assert!(app.context.store.organisations().await.unwrap().is_empty(), "nothing was registered");

    let good = [
        ("name", "Acme Health"),
        ("ods_code", "X26"),
        ("company_number", "01234567"),
        ("registered_address", "1 High Street\nLeeds"),
        ("kind", "commercial"),
        ("delivery_notice_mailbox", "notices@acme.example"),
    ];
    assert_eq!(post(&app, &supplier, "/organisation", &page, &good).await.status(), 303);
    let page = get(&app, &supplier, "/organisation").await;
    assert!(page.contains("Nominate me as onboarding contact"), "{page}");
    assert_eq!(post(&app, &supplier, "/organisation/onboarding-contact", &page, &[]).await.status(), 303);
    assert!(!get(&app, &supplier, "/organisation").await.contains("Nominate me"));

    // The agreement team issues one contract that runs out, then one to accept.
    let team = staff(&app).await;
    let organisation = app.context.store.organisations().await.unwrap().remove(0);
    let (lapsed, current) = common::lapsed_then_issued(&app, &team, organisation.id).await;
    let supplier = sign_in(&app, "olu@acme.example").await;

    // CA-13: the default list hides Cancelled; "Clear all" shows it.
    let list = get(&app, &supplier, "/agreements").await;
    assert!(list.contains(&current.number.to_string()) && !list.contains(&lapsed.number.to_string()), "{list}");
    assert!(list.contains("Clear all"));
    let everything = get(&app, &supplier, "/agreements?all=1").await;
    assert!(everything.contains(&lapsed.number.to_string()) && everything.contains("Cancelled"));

    // CA-14 and CA-3: the page says what happens next; accepting needs the tick.
    let path = format!("/agreements/{}", current.number);
    let page = get(&app, &supplier, &path).await;
    assert!(page.contains("What happens next") && page.contains("90 days left"), "{page}");
    assert!(page.contains("I have read and understood"));
    let untick = post(&app, &supplier, &format!("{path}/accept"), &page, &[]).await;
    assert_eq!(untick.status(), 422);
    assert!(untick.text().await.unwrap().contains("There is a problem"));
    // Only the value the checkbox sends is a tick: `no` (or anything else) is refused like no tick at all.
    let not_a_tick = post(&app, &supplier, &format!("{path}/accept"), &page, &[("read_and_understood", "no")]).await;
    assert_eq!(not_a_tick.status(), 422);
    assert!(not_a_tick.text().await.unwrap().contains("to accept the agreement"));
    assert!(page.contains(r#"name="terms_version" value="6""#), "the form carries the terms it shows");
    let accepted = post(&app, &supplier, &format!("{path}/accept"), &page, &[("read_and_understood", "yes")]).await;
    assert_eq!(accepted.status(), 303);
    let confirmed = accepted.headers()["location"].to_str().unwrap().to_owned();
    assert!(get(&app, &supplier, &confirmed).await.contains("You accepted the agreement."), "a confirmation");
    let page = get(&app, &supplier, &path).await;
    let today = onramp_domain::agreement::long_date(onramp_domain::calendar::date_of(app.clock.now_for_test()));
    assert!(page.contains("Active") && page.contains("Olu Owner") && page.contains(&today), "{page}");

    // SEC-1: someone from another organisation gets "not found".
    let outsider = signed_in(&app, "eve@other.example", "Eve Other").await;
    let response = outsider.get(format!("{}{path}", app.address)).send().await.unwrap();
    assert_eq!(response.status(), 404);

    // A terms change, paused by the agreement team: the supplier sees "Paused since".
    let actor = Actor::System { process: "test".into() };
    lifecycle::publish_terms(&app.context, 7, actor, 10, None).await.unwrap();
    let draft =
        app.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    lifecycle::pause(&app.context, &team, draft.id).await.unwrap();
    let page = get(&app, &supplier, &format!("/agreements/{}", draft.number)).await;
    assert!(page.contains("Paused since"), "{page}");
    assert!(page.contains("Raise a query"));

    // CA-6: a query needs words, and not too many; what was typed is kept; a good one opens or joins the case.
    let path = format!("/agreements/{}/query", draft.number);
    let empty = post(&app, &supplier, &path, &page, &[("description", "   ")]).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("Describe your query"));
    let essay = format!("Clause 4 {}", "x".repeat(10_000));
    let long = post(&app, &supplier, &path, &page, &[("description", &essay)]).await;
    assert_eq!(long.status(), 422);
    let refused = long.text().await.unwrap();
    assert!(refused.contains("There is a problem") && refused.contains("10,000 characters or fewer"));
    assert!(refused.contains(&essay), "what was typed is kept");
    let fine = post(&app, &supplier, &path, &page, &[("description", "Does clause 4 cover test environments?")]).await;
    assert_eq!(fine.status(), 303);
}
