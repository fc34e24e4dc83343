//! Reading the audit log; entries are appended inside a unit of work.

use async_trait::async_trait;
use onramp_domain::audit::AuditRecord;

use super::Store;
use crate::rows::AuditRow;
use crate::{Audit, StoreError};

#[async_trait]
impl Audit for Store {
    async fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<AuditRow> =
            sqlx::query_as(concat!("SELECT ", audit_columns!(), " FROM audit_log ORDER BY chain_id, seq"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(AuditRecord::try_from).collect()
    }
}
