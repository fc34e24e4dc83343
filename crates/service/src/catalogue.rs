//! What the provider offers and asks, loaded at start-up (SPEC §4, DOS-1, TC-1): the API catalogue, the assurance
//! flows and the terms versions, from the files `[catalogue]` names or the shipped ones. Everything is checked
//! before anything is stored; then the products and every flow version are recorded in the database, and the
//! catalogue Onramp runs with is what the database returns, so products that left the file keep their names.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use onramp_domain::catalogue::ProductCatalogue;
use onramp_domain::flow::FlowCatalogue;
use onramp_domain::flow::file::FlowProblem;
use onramp_domain::terms::{TermsCatalogue, TermsVersion, sha256_hex};
use onramp_store::{FlowSource, Repository};

use crate::ContextError;
use crate::config::CatalogueSettings;

/// The checked content, before it is recorded.
#[derive(Debug)]
pub struct Content {
    pub products: ProductCatalogue,
    pub flows: FlowCatalogue,
    pub terms: TermsCatalogue,
}

/// Reads and checks the configured (or shipped) products, flows and terms. A problem stops here with the file.
pub fn read(settings: &CatalogueSettings) -> Result<Content, ContextError> {
    let flows = match &settings.flows {
        None => FlowCatalogue::shipped(),
        Some(folder) => {
            let files = read_folder("catalogue.flows", folder)?;
            FlowCatalogue::load(files.iter().map(|(name, text)| (name.as_str(), text.as_str())))
        }
    }
    .map_err(ContextError::Flows)?;
    if flows.iter().next().is_none() {
        return Err(ContextError::Setting {
            setting: "catalogue.flows",
            problem: "the folder holds no flow files (*.toml)".into(),
        });
    }
    let products = match &settings.products {
        None => ProductCatalogue::shipped(&flows),
        Some(file) => {
            let text = read_file("catalogue.products", file)?;
            ProductCatalogue::load(&file.display().to_string(), &text, &flows)
        }
    }
    .map_err(ContextError::Products)?;
    let terms = match &settings.terms {
        None => TermsCatalogue::shipped()?,
        Some(folder) => {
            let versions = read_folder("catalogue.terms", folder)?
                .iter()
                .map(|(name, text)| TermsVersion::parse(name, text))
                .collect::<Result<Vec<_>, _>>()?;
            if versions.is_empty() {
                return Err(ContextError::Setting {
                    setting: "catalogue.terms",
                    problem: "the folder holds no terms files (v<N>.toml)".into(),
                });
            }
            TermsCatalogue::from_versions(versions)?
        }
    };
    Ok(Content { products, flows, terms })
}

/// Records the products and flow versions, and gives back the catalogue as stored (with the products no longer
/// offered). Terms that name a product the store has never known are refused here.
pub async fn record(
    content: &Content,
    store: &dyn Repository,
    now: Timestamp,
) -> Result<ProductCatalogue, ContextError> {
    let sources: Vec<FlowSource> = content
        .flows
        .with_files()
        .map(|(flow, file)| FlowSource {
            flow_id: flow.id.clone(),
            version: flow.version,
            sha256: sha256_hex(&file.text),
            file: file.file.clone(),
            source: file.text.clone(),
        })
        .collect();
    let clashes = store.record_flow_versions(&sources, now).await?;
    if let Some(clash) = clashes.first() {
        return Err(ContextError::FlowVersionChanged {
            file: clash.file.clone(),
            flow: clash.flow_id.clone(),
            version: clash.version,
            next: clash.version + 1,
        });
    }
    let offered: Vec<_> = content.products.offered().cloned().collect();
    let products = ProductCatalogue::from_products(store.record_products(&offered, now).await?);
    content.terms.check_products(&products)?;
    Ok(products)
}

fn read_file(setting: &'static str, path: &Path) -> Result<String, ContextError> {
    std::fs::read_to_string(path)
        .map_err(|error| ContextError::Setting { setting, problem: format!("cannot read {}: {error}", path.display()) })
}

/// The `*.toml` files of a folder, in name order, as (path, text).
fn read_folder(setting: &'static str, folder: &Path) -> Result<Vec<(String, String)>, ContextError> {
    let entries = std::fs::read_dir(folder).map_err(|error| ContextError::Setting {
        setting,
        problem: format!("cannot read the folder {}: {error}", folder.display()),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files.iter().map(|path| Ok((path.display().to_string(), read_file(setting, path)?))).collect()
}

/// One line for a list of problems: the first, and how many more (`onramp flow check` lists them all).
pub(crate) fn first_problem(problems: &[FlowProblem]) -> String {
    match problems {
        [] => "no problem was reported".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more; `onramp flow check` lists them all)", rest.len()),
    }
}
