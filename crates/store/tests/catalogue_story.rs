//! The catalogue story (SPEC §4, DOS-1): products and flow versions are stored as they are loaded, on both
//! backends, and what was once known stays known.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use jiff::{SignedDuration, Timestamp};
use onramp_domain::ApiProduct;
use onramp_domain::catalogue::Product;
use onramp_store::FlowSource;
use onramp_store::testing::TestDatabase;

onramp_store::on_both_backends!(
    database;
    the_migration_keeps_the_seven_products_agreements_already_use,
    a_product_that_leaves_the_file_stays_no_longer_offered,
    a_changed_flow_needs_a_new_version_and_old_versions_stay,
);

async fn database(database: TestDatabase) -> TestDatabase {
    database
}

fn now() -> Timestamp {
    "2026-12-03T09:30:00Z".parse().unwrap()
}

fn product(slug: &str, name: &str, flows: &[&str]) -> Product {
    Product {
        slug: ApiProduct::parse(slug).unwrap(),
        name: name.into(),
        flows: flows.iter().map(|flow| (*flow).to_owned()).collect(),
        open_access: false,
        offered: true,
    }
}

fn flow(id: &str, version: u32, source: &str) -> FlowSource {
    FlowSource {
        flow_id: id.into(),
        version,
        sha256: onramp_domain::terms::sha256_hex(source),
        file: format!("flows/{id}.toml"),
        source: source.into(),
    }
}

async fn the_migration_keeps_the_seven_products_agreements_already_use(database: TestDatabase) {
    let stored = database.store().record_products(&[], now()).await.unwrap();
    let slugs: Vec<&str> = stored.iter().map(|product| product.slug.slug()).collect();
    assert_eq!(slugs.len(), 7);
    for slug in
        ["pds-fhir", "nhs-login", "nhs-notify", "nhsmail-third-party", "e-referral", "gp-connect", "im1-pairing"]
    {
        assert!(slugs.contains(&slug), "{slug} is kept");
    }
    assert!(stored.iter().all(|product| !product.offered), "an empty file offers nothing");
    let login = stored.iter().find(|product| product.slug.slug() == "nhs-login").unwrap();
    assert_eq!((login.name.as_str(), login.flows.as_slice()), ("NHS login", &["identity-service".to_owned()][..]));
}

async fn a_product_that_leaves_the_file_stays_no_longer_offered(database: TestDatabase) {
    let store = database.store();
    let mut file = vec![
        product("ods-fhir", "Organisation Data Service FHIR API", &["standard-api"]),
        product("gp-connect", "GP Connect (Access Record)", &["standard-api"]),
    ];
    file[0].open_access = true;
    let stored = store.record_products(&file, now()).await.unwrap();
    assert_eq!(stored[0], file[0], "offered ones first, in the file's order");
    assert_eq!(stored[1], file[1], "a renamed product takes its new name");
    assert!(stored[2..].iter().all(|product| !product.offered));
    assert_eq!(stored[2].slug.slug(), "e-referral", "then the others by name");

    let again = store.record_products(&file[1..], now()).await.unwrap();
    let ods = again.iter().find(|product| product.slug.slug() == "ods-fhir").unwrap();
    assert!(!ods.offered && ods.open_access && ods.name == "Organisation Data Service FHIR API");
    assert_eq!(again.len(), 8);
}

async fn a_changed_flow_needs_a_new_version_and_old_versions_stay(database: TestDatabase) {
    let store = database.store();
    let first = [flow("standard-api", 1, "id = 1"), flow("secure-email", 1, "id = 2")];
    assert!(store.record_flow_versions(&first, now()).await.unwrap().is_empty());
    let later = now() + SignedDuration::from_hours(2);
    assert!(store.record_flow_versions(&first, later).await.unwrap().is_empty(), "loading the same text is a no-op");

    let edited = [flow("standard-api", 2, "id = 1 # edited"), flow("secure-email", 1, "id = 2 # edited")];
    let clashes = store.record_flow_versions(&edited, later).await.unwrap();
    assert_eq!(clashes.len(), 1);
    assert_eq!((clashes[0].flow_id.as_str(), clashes[0].version, clashes[0].stored_at), ("secure-email", 1, now()));
    assert!(store.flow_version("standard-api", 2).await.unwrap().is_none(), "a clash records nothing");

    assert!(store.record_flow_versions(&edited[..1], later).await.unwrap().is_empty());
    let versions = store.flow_versions("standard-api").await.unwrap();
    let summary: Vec<(u32, &str, Timestamp)> =
        versions.iter().map(|v| (v.version, v.source.as_str(), v.loaded_at)).collect();
    assert_eq!(summary, [(2, "id = 1 # edited", later), (1, "id = 1", now())], "newest first; the old one stays");
    assert_eq!(store.flow_version("secure-email", 1).await.unwrap().map(|v| v.source), Some("id = 2".into()));
}
