//! The API catalogue as data (SPEC §4, DOS-2, issue 11): a provider adds a product by editing the catalogue
//! file and writes its special terms in a terms file; after a restart, without a rebuild, the product is in the
//! staff contract form, the list's filters and the text a connecting party accepts. A product taken out of the
//! file is no longer offered, and the agreements that cover it still open, under its name. On both databases.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{
    account, get, organisation, organisation_details, post, product, sign_in, spawn_configured_app, test_config,
};
use onramp_domain::agreement::Origin;
use onramp_domain::{Membership, StaffRole, TeamRole};
use onramp_service::clock::ManualClock;
use onramp_service::{AppContext, lifecycle};
use onramp_store::testing::TestDatabase;

onramp_store::on_both_backends!(
    fresh;
    a_product_added_to_the_catalogue_file_is_offered_without_a_rebuild,
    dos1_staff_see_the_catalogue_every_flow_version_and_what_changed,
);

async fn fresh(database: TestDatabase) -> TestDatabase {
    database
}

const STAFF: &str = "agreements@provider.example";
const SHIPPED_TERMS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../terms");
const SHIPPED_PRODUCTS: &str = include_str!("../../../products.toml");

/// The shipped catalogue without GP Connect and with a new product, and the shipped terms with special terms for
/// it in versions 6 (in force until 7 is published) and 7.
fn provider_files(folder: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let gp_connect = "[[products]]\nslug = \"gp-connect\"\nname = \"GP Connect\"\nflows = [\"standard-api\"]\n\n";
    assert!(SHIPPED_PRODUCTS.contains(gp_connect));
    let products = SHIPPED_PRODUCTS.replace(gp_connect, "")
        + "\n[[products]]\nslug = \"ods-fhir\"\nname = \"Organisation Data Service FHIR API\"\n\
           flows = [\"standard-api\"]\nopen_access = true\n";
    std::fs::create_dir_all(folder).unwrap();
    let products_file = folder.join("products.toml");
    std::fs::write(&products_file, products).unwrap();

    let terms = folder.join("terms");
    std::fs::create_dir_all(&terms).unwrap();
    for version in ["v5.toml", "v6.toml", "v7.toml"] {
        let mut text = std::fs::read_to_string(Path::new(SHIPPED_TERMS).join(version)).unwrap();
        if version != "v5.toml" {
            let special = "[[special]]\nproduct = \"ods-fhir\"\nheading = \"Special Terms: Organisation Data \
                           Service FHIR API\"\n\n[[special.clauses]]\nnumber = \"ODS.1\"\nheading = \"Open data\"\n\
                           text = \"Organisation data may be republished with attribution.\"\n\n[appendix_1a]";
            text = text.replacen("[appendix_1a]", special, 1);
        }
        std::fs::write(terms.join(version), text).unwrap();
    }
    (products_file, terms)
}

async fn a_product_added_to_the_catalogue_file_is_offered_without_a_rebuild(database: TestDatabase) {
    // Yesterday, with the shipped catalogue: an Active GP Connect agreement.
    let now = "2026-12-01T09:30:00Z".parse().unwrap();
    let clock = Arc::new(ManualClock::new(now));
    let before = AppContext::new(test_config(&database), database.store(), clock.clone()).await.unwrap();
    let beacon = before.store.create_organisation(&organisation_details("B3C01"), now).await.unwrap();
    let earlier = before
        .store
        .create_user(
            &onramp_domain::NewUser {
                email: onramp_domain::EmailAddress::parse("ed@provider.example").unwrap(),
                full_name: onramp_domain::PersonName::parse("Ed Earlier").unwrap(),
                password_hash: None,
                staff_roles: vec![StaffRole::AgreementTeam],
                email_verified: true,
            },
            now,
        )
        .await
        .unwrap();
    let old = lifecycle::create(&before, &earlier, beacon.id, vec![product("gp-connect")], Origin::NewContract)
        .await
        .unwrap();

    // Today the provider's files say otherwise, and Onramp restarts.
    let (products_file, terms_folder) = provider_files(&database.files_dir());
    let app = spawn_configured_app(database, |config| {
        config.catalogue.products = Some(products_file);
        config.catalogue.terms = Some(terms_folder);
    })
    .await;
    let staff = account(&app, STAFF, "Aisha Agreements", vec![StaffRole::AgreementTeam], None).await;
    let client = sign_in(&app, STAFF).await;

    let form = get(&app, &client, "/staff/agreements/new").await;
    assert!(form.contains(r#"value="ods-fhir""#) && form.contains("Organisation Data Service FHIR API"), "{form}");
    assert!(!form.contains(r#"value="gp-connect""#), "a product out of the file is not offered: {form}");
    let acme = organisation(&app, "ACM01").await;
    let chosen = acme.id.0.to_string();
    let fields = [("organisation", chosen.as_str()), ("product", "gp-connect")];
    let refused = post(&app, &client, "/staff/agreements", &form, &fields).await;
    assert_eq!(refused.status(), 422, "nor accepted from a hand-made form");
    let response =
        post(&app, &client, "/staff/agreements", &form, &[("organisation", &chosen), ("product", "ods-fhir")]).await;
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let page = get(&app, &client, &location).await;
    assert!(page.contains("Organisation Data Service FHIR API"), "{page}");

    let list = get(&app, &client, "/agreements?product=ods-fhir").await;
    assert!(
        list.contains(r#"<option value="ods-fhir" selected>Organisation Data Service FHIR API</option>"#),
        "{list}"
    );
    assert!(list.contains("GP Connect (no longer offered)"), "the filter still finds old agreements: {list}");
    assert!(list.contains("ACM01 - Organisation ACM01") && !list.contains("B3C01 - Organisation B3C01"), "{list}");
    let old_list = get(&app, &client, "/agreements?product=gp-connect").await;
    assert!(
        old_list.contains("B3C01 - Organisation B3C01") && !old_list.contains("ACM01 - Organisation ACM01"),
        "{old_list}"
    );

    // The agreement on the old slug still opens, under the product's name.
    let old_page = get(&app, &client, &format!("/agreements/{}", old.number)).await;
    assert!(old_page.contains(r#"<dd class="nhsuk-summary-list__value">GP Connect</dd>"#), "{old_page}");

    // The special terms of the new product are in what the connecting party accepts.
    let contact = account(
        &app,
        "olu@acme.example",
        "Olu Owner",
        vec![],
        Some(Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true }),
    )
    .await;
    let draft = app.context.store.agreements_of(acme.id).await.unwrap().remove(0);
    let issued = lifecycle::issue(&app.context, &staff, draft.id).await.unwrap();
    let shown = lifecycle::terms_shown(&app.context, &issued).unwrap();
    lifecycle::accept(&app.context, &contact, issued.id, shown).await.unwrap();
    let accepted = app.context.store.accepted_terms(issued.id).await.unwrap().unwrap();
    assert!(
        accepted.text.contains("\nSpecial Terms: Organisation Data Service FHIR API\n\nODS.1 Open data\n"),
        "{}",
        accepted.text
    );
    assert!(!accepted.text.contains("Special Terms: GP Connect"));
}

async fn dos1_staff_see_the_catalogue_every_flow_version_and_what_changed(database: TestDatabase) {
    let app = common::spawn_app(database).await;
    account(&app, STAFF, "Aisha Agreements", vec![StaffRole::LiveService], None).await;
    let client = sign_in(&app, STAFF).await;

    let page = get(&app, &client, "/staff/flows").await;
    assert!(page.contains("<code>nhsmail-third-party</code>"), "{page}");
    assert!(
        page.contains(r#"<a href="/staff/flows/secure-email">Secure email access for third-party organisations</a>"#)
    );

    // A later version of the secure-email flow was loaded elsewhere, with its first question reworded.
    let shipped = include_str!("../../../flows/secure-email.toml");
    let later = shipped.replacen("version = 1", "version = 2", 1);
    let flow = onramp_domain::flow::file::load("flows/secure-email.toml", &later).unwrap();
    let question = &flow.stages[0].sections[0].questions[0];
    let reworded = later.replacen(&format!("label = \"{}\"", question.label), "label = \"Why do you need access?\"", 1);
    assert_ne!(reworded, later);
    let source = onramp_store::FlowSource {
        flow_id: "secure-email".into(),
        version: 2,
        sha256: onramp_domain::terms::sha256_hex(&reworded),
        file: "flows/secure-email.toml".into(),
        source: reworded,
    };
    let at = onramp_domain::Clock::now(app.clock.as_ref());
    assert!(app.context.store.record_flow_versions(&[source], at).await.unwrap().is_empty());

    let page = get(&app, &client, "/staff/flows/secure-email").await;
    assert!(page.contains(r#"1 <strong class="nhsuk-tag nhsuk-tag--green">In use</strong>"#), "{page}");
    assert!(page.contains("What changed from version 1 to version 2"), "the two newest by default: {page}");
    let key = format!("q.{}.{}", flow.stages[0].sections[0].id, question.id);
    assert!(page.contains(&format!("<code>{key}</code>")), "{page}");
    assert!(page.contains(&format!("{} → Why do you need access? (changed: label)", question.label)), "{page}");
    let same = get(&app, &client, "/staff/flows/secure-email?from=2&to=2").await;
    assert!(same.contains("No question was added, removed or changed."), "{same}");
    for missing in ["/staff/flows/secure-email?from=1&to=9", "/staff/flows/no-such-flow"] {
        let response = client.get(format!("{}{missing}", app.address)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{missing}");
    }
}
