//! The database itself: which backend, readiness, shutdown, migrations, and opening a unit of work.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{NewOrganisation, OrganisationId};

use super::organisations::lock_or_register;
use super::work::Work;
use super::{BACKEND, LOCK_ORGANISATION, MIGRATOR, Store, begin_write};
use crate::rows::OrganisationRow;
use crate::{Backend, Repository, StoreError, UnitOfWork};

#[async_trait]
impl Repository for Store {
    fn backend(&self) -> Backend {
        BACKEND
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    fn pool_stats(&self) -> crate::types::PoolStats {
        crate::types::PoolStats {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
        }
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self, organisation: OrganisationId) -> Result<Box<dyn UnitOfWork>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let row: Option<OrganisationRow> =
            sqlx::query_as(LOCK_ORGANISATION).bind(organisation.0).fetch_optional(&mut *tx).await?;
        let organisation = row.ok_or(StoreError::NotFound { entity: "organisation" })?.try_into()?;
        Ok(Box::new(Work { tx, organisation }))
    }

    async fn begin_registering(
        &self,
        organisation: &NewOrganisation,
        now: Timestamp,
    ) -> Result<Box<dyn UnitOfWork>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let organisation = lock_or_register(&mut tx, organisation, now).await?;
        Ok(Box::new(Work { tx, organisation }))
    }

    async fn begin_provider(&self) -> Result<Box<dyn crate::ProviderWork>, StoreError> {
        Ok(Box::new(super::work_provider::ProviderTx::begin(&self.pool).await?))
    }
}
