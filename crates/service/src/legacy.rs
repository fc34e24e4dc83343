//! CA-12: importing paper version-5 agreements from CSV (format: docs/LEGACY_IMPORT.md).

use onramp_domain::ApiProduct;
use onramp_domain::agreement::AgreementState;
use onramp_domain::legacy::{PaperProducts, RowError, parse_legacy_csv};

/// The terms version paper agreements were signed on.
const PAPER_VERSION: u32 = 5;

use crate::AppContext;
use crate::lifecycle::{self, LifecycleServiceError};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Every bad row, with its line number; nothing was imported.
    #[error("{} problem(s) in the file; nothing was imported:\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] onramp_store::StoreError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleServiceError),
}

/// Imports every row or none, and returns how many rows were imported: the whole file is parsed and checked
/// against the database first (an organisation that already has an agreement is a row error), then written
/// in one transaction.
pub async fn import_legacy_agreements(context: &AppContext, csv: &str) -> Result<usize, ImportError> {
    let now = context.clock.now();
    let today = onramp_domain::calendar::date_of(now);
    // A paper agreement can list only what version 5 covered: the products it had special terms for.
    let version_5_covers: Vec<ApiProduct> = context
        .terms
        .get(PAPER_VERSION)
        .map(|v5| v5.special.iter().map(|special| special.product.clone()).collect())
        .unwrap_or_default();
    let products = PaperProducts { catalogue: &context.products, version_5_covers: &version_5_covers };
    let rows = parse_legacy_csv(csv, today, products).map_err(ImportError::Rows)?;
    let mut problems = Vec::new();
    for row in &rows {
        if let Some(existing) = context.store.organisation_by_ods_code(&row.organisation.ods_code).await?
            && context
                .store
                .agreements_of(existing.id)
                .await?
                .iter()
                .any(|a| a.is_pending() || a.state == AgreementState::Active)
        {
            problems.push(RowError {
                line: row.line,
                field: "ods_code".into(),
                message: format!("{} already has a connection agreement in Onramp", row.organisation.ods_code),
            });
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Rows(problems));
    }
    // One transaction for the whole file: a failure on any row (the database going away half-way included)
    // leaves nothing imported.
    let imported = rows.len();
    let mut rows = rows.into_iter();
    let Some(first) = rows.next() else { return Ok(0) };
    let mut work = context.store.begin_registering(&first.organisation, now).await?;
    let mut row = first;
    loop {
        lifecycle::import_paper_into(
            context,
            work.as_mut(),
            row.api_products,
            row.signed_on,
            row.signed_by,
            "legacy import",
        )
        .await?;
        let Some(next) = rows.next() else { break };
        work.switch_to(&next.organisation, now).await?;
        row = next;
    }
    work.commit().await?;
    Ok(imported)
}
