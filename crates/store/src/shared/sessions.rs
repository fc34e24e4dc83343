//! Signing in: sessions, failed sign-ins and password resets (SEC-2).

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{NewUser, User, UserId};

use super::outbox::insert_notification;
use super::users::insert_user;
use super::{Store, begin_write};
use crate::rows::{from_micros, to_micros};
use crate::types::{LoginFailures, NewNotification, SignedIn};
use crate::{Sessions, StoreError, Users};

fn failures_of(count: i64, last: i64) -> Result<LoginFailures, StoreError> {
    Ok(LoginFailures { count, last_failure: from_micros("login failure", last)? })
}

#[async_trait]
impl Sessions for Store {
    async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf_token: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.0)
        .bind(csrf_token)
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<SignedIn>, StoreError> {
        let row: Option<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT user_id, csrf_token FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(to_micros(now))
                .fetch_optional(&self.pool)
                .await?;
        let Some((user_id, csrf_token)) = row else { return Ok(None) };
        Ok(self.user(UserId(user_id)).await?.map(|user| SignedIn { user, csrf_token }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn record_login_failure(&self, email: &str, now: Timestamp) -> Result<LoginFailures, StoreError> {
        let (count, last): (i64, i64) = sqlx::query_as(
            "INSERT INTO login_failures (email, failures, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (email) DO UPDATE SET failures = login_failures.failures + 1, \
             last_failure = excluded.last_failure RETURNING failures, last_failure",
        )
        .bind(email)
        .bind(to_micros(now))
        .fetch_one(&self.pool)
        .await?;
        failures_of(count, last)
    }

    async fn login_failures(&self, email: &str) -> Result<Option<LoginFailures>, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure FROM login_failures WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(count, last)| failures_of(count, last)).transpose()
    }

    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(&self.pool).await?;
        Ok(())
    }

    async fn start_password_reset(
        &self,
        user: &User,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM password_resets WHERE user_id = $1").bind(user.id.0).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(user.id.0)
        .bind(to_micros(now))
        .bind(to_micros(expires_at))
        .execute(&mut *tx)
        .await?;
        insert_notification(&mut tx, mail, filed_under(user), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn password_reset_open(&self, token_hash: &str, now: Timestamp) -> Result<bool, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT expires_at FROM password_resets WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(to_micros(now))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    async fn register_unverified(
        &self,
        user: &NewUser,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let id = insert_user(&mut tx, user, now).await?;
        insert_verification(&mut tx, id, token_hash, expires_at, now).await?;
        insert_notification(&mut tx, mail, onramp_domain::audit::PROVIDER_CHAIN, now).await?;
        tx.commit().await?;
        self.user(id).await?.ok_or(StoreError::NotFound { entity: "user" })
    }

    async fn start_address_verification(
        &self,
        user: &User,
        token_hash: &str,
        expires_at: Timestamp,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("DELETE FROM address_verifications WHERE user_id = $1").bind(user.id.0).execute(&mut *tx).await?;
        insert_verification(&mut tx, user.id, token_hash, expires_at, now).await?;
        insert_notification(&mut tx, mail, filed_under(user), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_address_verification(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let row: Option<(uuid::Uuid,)> = sqlx::query_as(
            "DELETE FROM address_verifications WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user,)) = row else { return Ok(None) };
        sqlx::query("UPDATE users SET email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $1")
            .bind(user)
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM address_verifications WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(UserId(user)))
    }

    async fn notify_account_holder(
        &self,
        user: &User,
        mail: &NewNotification,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        insert_notification(&mut tx, mail, filed_under(user), now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Mail for someone in no organisation is filed under the provider (`audit::PROVIDER_CHAIN`).
fn filed_under(user: &User) -> uuid::Uuid {
    user.membership.as_ref().map_or(onramp_domain::audit::PROVIDER_CHAIN, |m| m.organisation_id.0)
}

async fn insert_verification(
    tx: &mut sqlx::Transaction<'static, super::Db>,
    user: UserId,
    token_hash: &str,
    expires_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO address_verifications (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(token_hash)
    .bind(user.0)
    .bind(to_micros(now))
    .bind(to_micros(expires_at))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
