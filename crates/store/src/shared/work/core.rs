//! The unit of work: one write transaction on one organisation, locked when it was opened (see
//! `Repository::begin`). Its areas are implemented beside this file.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{CaseNumber, NewOrganisation, Organisation, OrganisationKind};
use sqlx::Transaction;

use super::Db;
use super::organisations::lock_or_register;
use crate::{StoreError, UnitOfWork};

/// A transaction on one organisation (see [`UnitOfWork`]).
pub(super) struct Work {
    pub(super) tx: Transaction<'static, Db>,
    pub(super) organisation: Organisation,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work").field("organisation", &self.organisation.id).finish_non_exhaustive()
    }
}

impl Work {
    pub(super) fn organisation_id(&self) -> uuid::Uuid {
        self.organisation.id.0
    }

    /// The id of one of this organisation's cases; `NotFound` for anyone else's.
    pub(super) async fn case_id(&mut self, case: CaseNumber) -> Result<uuid::Uuid, StoreError> {
        let row: Option<(uuid::Uuid,)> =
            sqlx::query_as("SELECT id FROM cases WHERE number = $1 AND organisation_id = $2")
                .bind(case.to_string())
                .bind(self.organisation_id())
                .fetch_optional(&mut *self.tx)
                .await?;
        row.map(|(id,)| id).ok_or(StoreError::NotFound { entity: "case" })
    }

    /// One more than the highest `seq` that `sql` (`SELECT MAX(seq) … WHERE … = $1`) finds.
    pub(super) async fn next_seq(&mut self, sql: &'static str, key: uuid::Uuid) -> Result<i64, StoreError> {
        let (max,): (Option<i64>,) = sqlx::query_as(sql).bind(key).fetch_one(&mut *self.tx).await?;
        Ok(max.unwrap_or(0) + 1)
    }
}

#[async_trait]
impl UnitOfWork for Work {
    fn organisation(&self) -> &Organisation {
        &self.organisation
    }

    async fn switch_to(&mut self, organisation: &NewOrganisation, now: Timestamp) -> Result<(), StoreError> {
        self.organisation = lock_or_register(&mut self.tx, organisation, now).await?;
        Ok(())
    }

    async fn set_organisation_kind(&mut self, kind: OrganisationKind) -> Result<(), StoreError> {
        let result = sqlx::query("UPDATE organisations SET kind = $2 WHERE id = $1")
            .bind(self.organisation_id())
            .bind(kind.as_str())
            .execute(&mut *self.tx)
            .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::NotFound { entity: "organisation" });
        }
        self.organisation.details.kind = kind;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
