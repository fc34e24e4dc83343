//! Start-up with the provider's own files (SPEC §4, DOS-1, TC-1): the `[catalogue]` settings name a product
//! file and folders of flows and terms; a broken file stops start-up with one line naming it, and changes
//! nothing; a changed flow must be given a new version, and the old version stays stored. On both databases.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::test_config;
use onramp_service::clock::ManualClock;
use onramp_service::{AppContext, Config, ContextError};
use onramp_store::testing::TestDatabase;

onramp_store::on_both_backends!(
    fresh;
    dos1_a_flow_folder_is_loaded_and_each_version_is_kept,
    a_broken_file_stops_start_up_with_one_line_naming_it,
);

async fn fresh(database: TestDatabase) -> TestDatabase {
    database
}

const FLOWS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows");

async fn start(database: &TestDatabase, config: Config) -> Result<AppContext, ContextError> {
    let clock = Arc::new(ManualClock::new("2026-12-03T09:00:00Z".parse().unwrap()));
    AppContext::new(config, database.store(), clock).await
}

/// A copy of the shipped flows in a folder of the test's own.
fn flow_folder(database: &TestDatabase) -> PathBuf {
    let folder = database.files_dir().join("flows");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(FLOWS).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
    }
    folder
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} has {from:?}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).unwrap();
}

fn message(result: Result<AppContext, ContextError>) -> String {
    match result {
        Ok(_) => panic!("start-up should have failed"),
        Err(error) => error.to_string(),
    }
}

async fn dos1_a_flow_folder_is_loaded_and_each_version_is_kept(database: TestDatabase) {
    let folder = flow_folder(&database);
    let mut config = test_config(&database);
    config.catalogue.flows = Some(folder.clone());
    let context = start(&database, config.clone()).await.unwrap();
    assert_eq!(context.flows.get("secure-email").map(|flow| flow.version), Some(1));
    let stored = context.store.flow_versions("secure-email").await.unwrap();
    assert_eq!(stored.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
    assert!(stored[0].file.ends_with("flows/secure-email.toml"));

    // An edit under the same version number is refused, naming the file and what to do.
    let file = folder.join("secure-email.toml");
    edit(&file, "name = \"Secure email access", "name = \"Secure e-mail access");
    let refused = message(start(&database, config.clone()).await);
    assert!(refused.ends_with(
        "secure-email.toml: flow secure-email changed since version 1 was stored; give the changed flow `version = 2` \
         (applications started on version 1 keep it)"
    ), "{refused}");
    assert_eq!(context.store.flow_versions("secure-email").await.unwrap().len(), 1, "nothing was recorded");

    // With a new version it loads, and version 1 is still there, word for word.
    edit(&file, "version = 1", "version = 2");
    let context = start(&database, config).await.unwrap();
    assert_eq!(
        context.flows.get("secure-email").map(|flow| flow.name.as_str()),
        Some("Secure e-mail access for third-party organisations")
    );
    let stored = context.store.flow_versions("secure-email").await.unwrap();
    assert_eq!(stored.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert!(stored[1].source.contains("name = \"Secure email access"));
    assert!(stored[0].source.contains("name = \"Secure e-mail access"));
}

async fn a_broken_file_stops_start_up_with_one_line_naming_it(database: TestDatabase) {
    let folder = flow_folder(&database);
    let products = database.files_dir().join("products.toml");
    std::fs::write(&products, include_str!("../../../products.toml")).unwrap();
    let mut config = test_config(&database);
    config.catalogue.flows = Some(folder.clone());
    config.catalogue.products = Some(products.clone());

    edit(&products, "flows = [\"secure-email\"]", "flows = [\"secure-emial\"]");
    let refused = message(start(&database, config.clone()).await);
    assert!(refused.starts_with("loading the product catalogue: "), "{refused}");
    assert!(
        refused.ends_with("products.toml:27:10: there is no flow secure-emial; did you mean secure-email?"),
        "{refused}"
    );
    assert_eq!(refused.lines().count(), 1);
    edit(&products, "secure-emial", "secure-email");

    edit(&folder.join("standard-api.toml"), "max_chars = 2000", "max_chars = 0");
    let refused = message(start(&database, config.clone()).await);
    assert!(refused.starts_with("loading the assurance flows: "), "{refused}");
    assert!(refused.contains("standard-api.toml:") && refused.ends_with("max_chars must be at least 1"), "{refused}");
    assert!(database.store().flow_versions("standard-api").await.unwrap().is_empty(), "nothing was recorded");
    edit(&folder.join("standard-api.toml"), "max_chars = 0", "max_chars = 2000");

    let terms = database.files_dir().join("terms");
    std::fs::create_dir_all(&terms).unwrap();
    std::fs::write(terms.join("v9.toml"), "version = 9\n").unwrap();
    config.catalogue.terms = Some(terms.clone());
    let refused = message(start(&database, config.clone()).await);
    assert!(refused.starts_with("loading the terms versions: ") && refused.contains("v9.toml"), "{refused}");

    let empty = database.files_dir().join("nothing");
    std::fs::create_dir_all(&empty).unwrap();
    config.catalogue.terms = Some(empty);
    let refused = message(start(&database, config.clone()).await);
    assert_eq!(refused, "setting `catalogue.terms`: the folder holds no terms files (v<N>.toml)");
    config.catalogue.terms = Some(database.files_dir().join("missing"));
    let refused = message(start(&database, config.clone()).await);
    assert!(refused.starts_with("setting `catalogue.terms`: cannot read the folder "), "{refused}");

    // Terms with special terms for a product no catalogue ever had.
    config.catalogue.terms = Some(terms.clone());
    let v6 = include_str!("../../../terms/v6.toml").replace("product = \"gp-connect\"", "product = \"gp-konnect\"");
    std::fs::remove_file(terms.join("v9.toml")).unwrap();
    std::fs::write(terms.join("v6.toml"), v6).unwrap();
    let refused = message(start(&database, config.clone()).await);
    assert_eq!(
        refused,
        "loading the terms versions: terms version 6: it has special terms for gp-konnect, which is not a product of \
         the catalogue"
    );

    config.catalogue.terms = None;
    assert!(start(&database, config).await.is_ok(), "with every file mended Onramp starts");
}
