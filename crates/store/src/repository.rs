// The one implementation of `Repository`, compiled once per backend: `sqlite.rs` and `postgres.rs` each
// `include!` this file after defining `Db` (the sqlx database), `Store` (their store type, with a `pool`),
// `BACKEND`, `MIGRATOR` and `begin_write` (how that backend opens a write transaction). Both databases
// accept `$1` placeholders, so the SQL text is shared too.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{
    EmailAddress, Membership, NewOrganisation, NewUser, OdsCode, Organisation, OrganisationId, Provider, User,
    UserId,
};
use sqlx::Transaction;

use crate::rows::{OrganisationRow, StaffRoleRow, UserRow, corrupt, to_micros};
use crate::{Backend, Repository, StoreError};

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

/// `NotFound` unless the row `SELECT id FROM {table} WHERE id = $1` finds exists.
async fn require_exists(
    tx: &mut Transaction<'static, Db>,
    sql: &'static str,
    id: uuid::Uuid,
    entity: &'static str,
) -> Result<(), StoreError> {
    let found: Option<(uuid::Uuid,)> = sqlx::query_as(sql).bind(id).fetch_optional(&mut **tx).await?;
    found.map(|_| ()).ok_or(StoreError::NotFound { entity })
}

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

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn save_provider(&self, provider: &Provider) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO provider (id, name, service_desk_email) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, service_desk_email = excluded.service_desk_email",
        )
        .bind(&provider.name)
        .bind(provider.service_desk_email.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn provider(&self) -> Result<Option<Provider>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT name, service_desk_email FROM provider WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(name, email)| {
            let service_desk_email = EmailAddress::parse(&email).map_err(|e| corrupt("provider", e))?;
            Ok(Provider { name, service_desk_email })
        })
        .transpose()
    }

    async fn create_organisation(
        &self,
        organisation: &NewOrganisation,
        now: Timestamp,
    ) -> Result<Organisation, StoreError> {
        let id = OrganisationId::new_at(now);
        let row: OrganisationRow = sqlx::query_as(
            "INSERT INTO organisations (id, name, ods_code, company_number, registered_address, kind, \
             delivery_notice_mailbox, im1_supplier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, \
             im1_supplier, created_at",
        )
        .bind(id.0)
        .bind(&organisation.name)
        .bind(organisation.ods_code.as_str())
        .bind(organisation.company_number.as_ref().map(|n| n.as_str().to_owned()))
        .bind(&organisation.registered_address)
        .bind(organisation.kind.as_str())
        .bind(organisation.delivery_notice_mailbox.as_str())
        .bind(organisation.im1_supplier)
        .bind(to_micros(now))
        .fetch_one(&self.pool)
        .await
        .map_err(StoreError::unique_as("ODS code"))?;
        row.try_into()
    }

    async fn update_organisation(
        &self,
        id: OrganisationId,
        organisation: &NewOrganisation,
    ) -> Result<Organisation, StoreError> {
        let row: Option<OrganisationRow> = sqlx::query_as(
            "UPDATE organisations SET name = $2, ods_code = $3, company_number = $4, registered_address = $5, \
             kind = $6, delivery_notice_mailbox = $7, im1_supplier = $8 WHERE id = $1 \
             RETURNING id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, \
             im1_supplier, created_at",
        )
        .bind(id.0)
        .bind(&organisation.name)
        .bind(organisation.ods_code.as_str())
        .bind(organisation.company_number.as_ref().map(|n| n.as_str().to_owned()))
        .bind(&organisation.registered_address)
        .bind(organisation.kind.as_str())
        .bind(organisation.delivery_notice_mailbox.as_str())
        .bind(organisation.im1_supplier)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::unique_as("ODS code"))?;
        row.ok_or(StoreError::NotFound { entity: "organisation" })?.try_into()
    }

    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        let row: Option<OrganisationRow> = sqlx::query_as(
            "SELECT id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, \
             im1_supplier, created_at FROM organisations WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(Organisation::try_from).transpose()
    }

    async fn organisation_by_ods_code(&self, ods_code: &OdsCode) -> Result<Option<Organisation>, StoreError> {
        let row: Option<OrganisationRow> = sqlx::query_as(
            "SELECT id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, \
             im1_supplier, created_at FROM organisations WHERE ods_code = $1",
        )
        .bind(ods_code.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(Organisation::try_from).transpose()
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows: Vec<OrganisationRow> = sqlx::query_as(
            "SELECT id, name, ods_code, company_number, registered_address, kind, delivery_notice_mailbox, \
             im1_supplier, created_at FROM organisations ORDER BY name, ods_code",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(Organisation::try_from).collect()
    }

    async fn create_user(&self, user: &NewUser, now: Timestamp) -> Result<User, StoreError> {
        let id = UserId::new_at(now);
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO users (id, email, full_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(user.email.as_str())
        .bind(user.full_name.as_str())
        .bind(user.password_hash.clone())
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as("email address"))?;
        for role in &user.staff_roles {
            sqlx::query("INSERT INTO staff_roles (user_id, role) VALUES ($1, $2)")
                .bind(id.0)
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.user(id).await?.ok_or(StoreError::NotFound { entity: "user" })
    }

    async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.full_name, u.password_hash, u.created_at, m.organisation_id, \
             m.role AS team_role, m.onboarding_contact FROM users u LEFT JOIN memberships m ON m.user_id = u.id \
             WHERE u.id = $1",
        )
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(self.with_roles(row.into_iter().collect()).await?.pop())
    }

    async fn user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.full_name, u.password_hash, u.created_at, m.organisation_id, \
             m.role AS team_role, m.onboarding_contact FROM users u LEFT JOIN memberships m ON m.user_id = u.id \
             WHERE u.email = $1",
        )
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
            require_exists(&mut tx, "SELECT id FROM organisations WHERE id = $1", organisation, "organisation")
                .await?;
            sqlx::query(
                "INSERT INTO memberships (user_id, organisation_id, role, onboarding_contact) VALUES ($1, $2, $3, $4)",
            )
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
            sqlx::query_as(
            "SELECT u.id, u.email, u.full_name, u.password_hash, u.created_at, m.organisation_id, \
             m.role AS team_role, m.onboarding_contact FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE m.organisation_id = $1 ORDER BY u.full_name, u.email",
        )
                .bind(organisation.0)
                .fetch_all(&self.pool)
                .await?;
        self.with_roles(rows).await
    }
}
