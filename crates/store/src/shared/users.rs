//! Accounts and their memberships.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{EmailAddress, Membership, NewUser, OrganisationId, User, UserId};
use sqlx::Transaction;

use super::{Db, Store, begin_write};
use crate::rows::{StaffRoleRow, UserRow, to_micros};
use crate::{StoreError, Users};

impl Store {
    /// Completes user rows with their staff roles (one query per user: teams are small).
    async fn with_roles(&self, rows: Vec<UserRow>) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            let roles: Vec<StaffRoleRow> = sqlx::query_as("SELECT user_id, role FROM staff_roles WHERE user_id = $1")
                .bind(row.id)
                .fetch_all(&self.pool)
                .await?;
            users.push(row.into_user(&roles)?);
        }
        Ok(users)
    }
}

/// `NotFound` unless the row `sql` (`SELECT id FROM {table} WHERE id = $1`) looks for exists.
async fn require_exists(
    tx: &mut Transaction<'static, Db>,
    sql: &'static str,
    id: uuid::Uuid,
    entity: &'static str,
) -> Result<(), StoreError> {
    let found: Option<(uuid::Uuid,)> = sqlx::query_as(sql).bind(id).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound { entity })
}

/// Inserts a user and their staff roles in `tx`; `Conflict` when the e-mail address is taken.
pub(super) async fn insert_user(
    tx: &mut Transaction<'static, Db>,
    user: &NewUser,
    now: Timestamp,
) -> Result<UserId, StoreError> {
    let id = UserId::new_at(now);
    sqlx::query(
        "INSERT INTO users (id, email, full_name, password_hash, created_at, email_verified_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(user.email.as_str())
    .bind(user.full_name.as_str())
    .bind(user.password_hash.clone())
    .bind(to_micros(now))
    .bind(user.email_verified.then_some(to_micros(now)))
    .execute(&mut **tx)
    .await
    .map_err(StoreError::unique_as("email address"))?;
    for role in &user.staff_roles {
        sqlx::query("INSERT INTO staff_roles (user_id, role) VALUES ($1, $2)")
            .bind(id.0)
            .bind(role.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}

#[async_trait]
impl Users for Store {
    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let id = insert_user(&mut tx, user, now).await?;
        tx.commit().await?;
        self.user(id).await?.ok_or(StoreError::NotFound { entity: "user" })
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> =
            sqlx::query_as(concat!(user_select!(), " WHERE u.id = $1")).bind(id.0).fetch_optional(&self.pool).await?;
        Ok(self.with_roles(row.into_iter().collect()).await?.pop())
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(concat!(user_select!(), " WHERE u.email = $1"))
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(self.with_roles(row.into_iter().collect()).await?.pop())
    }

    async fn set_membership(&self, user: UserId, membership: Option<&Membership>) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        require_exists(&mut tx, "SELECT id FROM users WHERE id = $1", user.0, "user").await?;
        sqlx::query("DELETE FROM memberships WHERE user_id = $1").bind(user.0).execute(&mut *tx).await?;
        if let Some(membership) = membership {
            let organisation = membership.organisation_id.0;
            require_exists(&mut tx, "SELECT id FROM organisations WHERE id = $1", organisation, "organisation").await?;
            sqlx::query(concat!("INSERT INTO memberships (", membership_columns!(), ") VALUES ($1, $2, $3, $4)"))
                .bind(user.0)
                .bind(membership.organisation_id.0)
                .bind(membership.role.as_str())
                .bind(membership.onboarding_contact)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn members(&self, organisation: OrganisationId) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> =
            sqlx::query_as(concat!(user_select!(), " WHERE m.organisation_id = $1 ORDER BY u.full_name, u.email"))
                .bind(organisation.0)
                .fetch_all(&self.pool)
                .await?;
        self.with_roles(rows).await
    }
}
