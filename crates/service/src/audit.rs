//! AUD-2: verifying the audit chains.

use onramp_domain::audit::{ChainBreak, verify};

use crate::AppContext;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error(transparent)]
    Store(#[from] onramp_store::StoreError),
}

/// Checks every chain; returns how many entries were verified or names the first bad entry.
pub async fn verify_audit(context: &AppContext) -> Result<usize, VerifyError> {
    let records = context.store.audit_records().await?;
    Ok(verify(&records)?)
}
