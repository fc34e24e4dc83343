//! The provider's unit of work (see [`ProviderWork`]): staff accounts, password resets and terms publications,
//! each written with its entry on the provider's audit chain.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::audit::PROVIDER_CHAIN;
use onramp_domain::{NewUser, StaffRole, UserId};
use sqlx::Transaction;

use super::users::insert_user;
use super::work_records::append_to_chain;
use super::{Db, LOCK_PROVIDER, begin_write};
use crate::rows::to_micros;
use crate::types::AuditEntry;
use crate::{AuditWork, ProviderWork, StoreError};

/// A transaction holding the provider chain's lock.
pub(super) struct ProviderTx {
    tx: Transaction<'static, Db>,
}

impl std::fmt::Debug for ProviderTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderTx").finish_non_exhaustive()
    }
}

impl ProviderTx {
    pub(super) async fn begin(pool: &sqlx::Pool<Db>) -> Result<Self, StoreError> {
        let mut tx = begin_write(pool).await?;
        sqlx::query(LOCK_PROVIDER).execute(&mut *tx).await?;
        Ok(Self { tx })
    }
}

#[async_trait]
impl AuditWork for ProviderTx {
    async fn append_audit(&mut self, entry: &AuditEntry, at: Timestamp) -> Result<(), StoreError> {
        append_to_chain(&mut self.tx, PROVIDER_CHAIN, entry, at).await
    }
}

#[async_trait]
impl ProviderWork for ProviderTx {
    async fn create_user(&mut self, user: &NewUser, now: Timestamp) -> Result<UserId, StoreError> {
        insert_user(&mut self.tx, user, now).await
    }

    async fn set_staff_roles(&mut self, user: UserId, roles: &[StaffRole]) -> Result<(), StoreError> {
        let found: Option<(uuid::Uuid,)> =
            sqlx::query_as("SELECT id FROM users WHERE id = $1").bind(user.0).fetch_optional(&mut *self.tx).await?;
        if found.is_none() {
            return Err(StoreError::NotFound { entity: "user" });
        }
        sqlx::query("DELETE FROM staff_roles WHERE user_id = $1").bind(user.0).execute(&mut *self.tx).await?;
        for role in roles {
            sqlx::query("INSERT INTO staff_roles (user_id, role) VALUES ($1, $2)")
                .bind(user.0)
                .bind(role.as_str())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn finish_password_reset(
        &mut self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(UserId, String)>, StoreError> {
        let row: Option<(uuid::Uuid,)> =
            sqlx::query_as("DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id")
                .bind(token_hash)
                .bind(to_micros(now))
                .fetch_optional(&mut *self.tx)
                .await?;
        let Some((user,)) = row else { return Ok(None) };
        let (email, full_name): (String, String) = sqlx::query_as("SELECT email, full_name FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user)
            .bind(password_hash)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user).execute(&mut *self.tx).await?;
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(&email).execute(&mut *self.tx).await?;
        Ok(Some((UserId(user), full_name)))
    }

    async fn record_publication(&mut self, version: u32, by: &str, at: Timestamp) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "INSERT INTO terms_publications (version, published_at, published_by) VALUES ($1, $2, $3) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(i64::from(version))
        .bind(to_micros(at))
        .bind(by)
        .execute(&mut *self.tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn finish_publication(&mut self, version: u32, at: Timestamp) -> Result<bool, StoreError> {
        let result =
            sqlx::query("UPDATE terms_publications SET finished_at = $2 WHERE version = $1 AND finished_at IS NULL")
                .bind(i64::from(version))
                .bind(to_micros(at))
                .execute(&mut *self.tx)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
