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

use onramp_domain::agreement::{Agreement, AgreementId, LedgerEntry, TimerKind};
use onramp_domain::audit::{AuditRecord, GENESIS, entry_hash};
use onramp_domain::case::{Case, CaseState, Visibility};
use onramp_domain::{AgreementNumber, CaseNumber};

use crate::lifecycle::{AuditEntry, Job, NewNotification, Notification, ScheduledTimer, Sequence, UnitOfWork};
use crate::rows::{
    AgreementRow, CaseActivityRow, CaseRow, JobRow, LedgerRow, NotificationRow, OrganisationRow, StaffRoleRow,
    UserRow, corrupt, from_micros, to_micros,
};
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

/// Inserts a new organisation in `tx`; `Conflict` when its ODS code is taken.
async fn insert_organisation(
    tx: &mut Transaction<'static, Db>,
    organisation: &NewOrganisation,
    now: Timestamp,
) -> Result<OrganisationId, StoreError> {
    let id = OrganisationId::new_at(now);
    sqlx::query(
        "INSERT INTO organisations (id, name, ods_code, company_number, registered_address, kind, \
         delivery_notice_mailbox, im1_supplier, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
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
    .execute(&mut **tx)
    .await
    .map_err(StoreError::unique_as("ODS code"))?;
    Ok(id)
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
        let mut tx = begin_write(&self.pool).await?;
        let id = insert_organisation(&mut tx, organisation, now).await?;
        tx.commit().await?;
        self.organisation(id).await?.ok_or(StoreError::NotFound { entity: "organisation" })
    }

    async fn create_organisation_with_owner(
        &self,
        organisation: &NewOrganisation,
        owner: UserId,
        now: Timestamp,
    ) -> Result<Organisation, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let id = insert_organisation(&mut tx, organisation, now).await?;
        sqlx::query(
            "INSERT INTO memberships (user_id, organisation_id, role, onboarding_contact) VALUES ($1, $2, 'owner', $3)",
        )
        .bind(owner.0)
        .bind(id.0)
        .bind(false)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as("membership (you already belong to an organisation)"))?;
        tx.commit().await?;
        self.organisation(id).await?.ok_or(StoreError::NotFound { entity: "organisation" })
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

    async fn session(&self, token_hash: &str, now: Timestamp) -> Result<Option<(User, String)>, StoreError> {
        let row: Option<(uuid::Uuid, String)> =
            sqlx::query_as("SELECT user_id, csrf_token FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash)
                .bind(to_micros(now))
                .fetch_optional(&self.pool)
                .await?;
        let Some((user_id, csrf)) = row else { return Ok(None) };
        Ok(self.user(UserId(user_id)).await?.map(|user| (user, csrf)))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    async fn record_login_failure(&self, email: &str, now: Timestamp) -> Result<(i64, Timestamp), StoreError> {
        let (failures, last): (i64, i64) = sqlx::query_as(
            "INSERT INTO login_failures (email, failures, last_failure) VALUES ($1, 1, $2) \
             ON CONFLICT (email) DO UPDATE SET failures = login_failures.failures + 1, last_failure = excluded.last_failure \
             RETURNING failures, last_failure",
        )
        .bind(email)
        .bind(to_micros(now))
        .fetch_one(&self.pool)
        .await?;
        Ok((failures, from_micros("login failure", last)?))
    }

    async fn login_failures(&self, email: &str) -> Result<Option<(i64, Timestamp)>, StoreError> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT failures, last_failure FROM login_failures WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(failures, last)| Ok((failures, from_micros("login failure", last)?))).transpose()
    }

    async fn clear_login_failures(&self, email: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(email).execute(&self.pool).await?;
        Ok(())
    }

    async fn begin(&self, organisation: OrganisationId) -> Result<Box<dyn UnitOfWork>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let row: Option<OrganisationRow> = sqlx::query_as(LOCK_ORGANISATION).bind(organisation.0).fetch_optional(&mut *tx).await?;
        let organisation = row.ok_or(StoreError::NotFound { entity: "organisation" })?.try_into()?;
        Ok(Box::new(Work { tx, organisation }))
    }

    async fn agreement(&self, id: AgreementId) -> Result<Option<Agreement>, StoreError> {
        let row: Option<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements WHERE id = $1").bind(id.0).fetch_optional(&self.pool).await?;
        row.map(AgreementRow::into_agreement).transpose()
    }

    async fn agreement_by_number(&self, number: AgreementNumber) -> Result<Option<Agreement>, StoreError> {
        let row: Option<AgreementRow> = sqlx::query_as("SELECT data FROM agreements WHERE number = $1")
            .bind(number.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(AgreementRow::into_agreement).transpose()
    }

    async fn agreements_of(&self, organisation: OrganisationId) -> Result<Vec<Agreement>, StoreError> {
        let rows: Vec<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements WHERE organisation_id = $1 ORDER BY number DESC")
                .bind(organisation.0)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(AgreementRow::into_agreement).collect()
    }

    async fn all_agreements(&self) -> Result<Vec<Agreement>, StoreError> {
        let rows: Vec<AgreementRow> =
            sqlx::query_as("SELECT data FROM agreements ORDER BY number DESC").fetch_all(&self.pool).await?;
        rows.into_iter().map(AgreementRow::into_agreement).collect()
    }

    async fn organisations_to_uplift(
        &self,
        version: u32,
        after: Option<OrganisationId>,
        limit: i64,
    ) -> Result<Vec<OrganisationId>, StoreError> {
        let rows: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT a.organisation_id FROM agreements a WHERE a.state = 'active' AND a.terms_version < $1 \
             AND a.signature_type <> 'signed_on_paper' \
             AND ($2 IS NULL OR a.organisation_id > $2) \
             AND NOT EXISTS (SELECT 1 FROM agreements d WHERE d.organisation_id = a.organisation_id \
                             AND d.state = 'draft' AND d.terms_version >= $1) \
             ORDER BY a.organisation_id LIMIT $3",
        )
        .bind(i64::from(version))
        .bind(after.map(|o| o.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(id,)| OrganisationId(id)).collect())
    }

    async fn publications(&self) -> Result<Vec<(u32, Timestamp, Option<Timestamp>)>, StoreError> {
        let rows: Vec<(i64, i64, Option<i64>)> =
            sqlx::query_as("SELECT version, published_at, finished_at FROM terms_publications ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(version, at, finished)| {
                Ok((
                    u32::try_from(version).map_err(|e| corrupt("terms publication", e))?,
                    from_micros("terms publication", at)?,
                    finished.map(|f| from_micros("terms publication", f)).transpose()?,
                ))
            })
            .collect()
    }

    async fn record_publication(&self, version: u32, by: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO terms_publications (version, published_at, published_by) VALUES ($1, $2, $3) \
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(i64::from(version))
        .bind(to_micros(at))
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn finish_publication(&self, version: u32, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE terms_publications SET finished_at = $2 WHERE version = $1 AND finished_at IS NULL")
            .bind(i64::from(version))
            .bind(to_micros(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn ledger(&self, agreement: AgreementId) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows: Vec<LedgerRow> = sqlx::query_as(
            "SELECT at, event, timer, actor, remaining_us, deadline FROM timer_ledger WHERE agreement_id = $1 ORDER BY seq",
        )
        .bind(agreement.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(LedgerRow::into_entry).collect()
    }

    async fn timers(&self, agreement: AgreementId) -> Result<Vec<ScheduledTimer>, StoreError> {
        let rows: Vec<JobRow> = sqlx::query_as(
            "SELECT id, agreement_id, organisation_id, kind, parameter, run_at, attempts FROM jobs \
             WHERE agreement_id = $1 ORDER BY run_at, kind, parameter",
        )
        .bind(agreement.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| row.into_job().map(|job| ScheduledTimer { timer: job.timer, run_at: job.run_at }))
            .collect()
    }

    async fn accepted_terms(&self, agreement: AgreementId) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT sha256, text FROM accepted_terms WHERE agreement_id = $1")
            .bind(agreement.0)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn case(&self, number: CaseNumber) -> Result<Option<Case>, StoreError> {
        let row: Option<CaseRow> = sqlx::query_as(
            "SELECT id, number, agreement_id, organisation_id, state, subject, created_at, updated_at \
             FROM cases WHERE number = $1",
        )
        .bind(number.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let activity: Vec<CaseActivityRow> = sqlx::query_as(
            "SELECT seq, at, author, visibility, body FROM case_activity WHERE case_id = $1 ORDER BY seq",
        )
        .bind(row.id)
        .fetch_all(&self.pool)
        .await?;
        let watchers: Vec<(String,)> = sqlx::query_as("SELECT email FROM case_watchers WHERE case_id = $1 ORDER BY email")
            .bind(row.id)
            .fetch_all(&self.pool)
            .await?;
        row.into_case(activity, watchers.into_iter().map(|(email,)| email).collect()).map(Some)
    }

    async fn notifications(&self) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<NotificationRow> = sqlx::query_as(
            "SELECT id, kind, agreement_id, organisation_id, recipients, payload, created_at, sent_at FROM outbox \
             ORDER BY created_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(NotificationRow::into_notification).collect()
    }

    async fn audit_records(&self) -> Result<Vec<AuditRecord>, StoreError> {
        let rows: Vec<(uuid::Uuid, i64, i64, String, String, String, String, Option<String>, Option<String>, String, String)> =
            sqlx::query_as(
                "SELECT chain_id, seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash \
                 FROM audit_log ORDER BY chain_id, seq",
            )
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(|(chain_id, seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash)| {
                Ok(AuditRecord {
                    chain_id,
                    seq,
                    at: from_micros("audit entry", at)?,
                    actor,
                    action,
                    entity,
                    entity_id,
                    before,
                    after,
                    prev_hash,
                    hash,
                })
            })
            .collect()
    }

    async fn claim_due_jobs(&self, now: Timestamp, lease_until: Timestamp, limit: i64) -> Result<Vec<Job>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let rows: Vec<JobRow> = sqlx::query_as(CLAIM_JOBS)
            .bind(to_micros(now))
            .bind(to_micros(lease_until))
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut jobs = rows.into_iter().map(JobRow::into_job).collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|job| (job.run_at, job.id));
        Ok(jobs)
    }

    async fn release_job(&self, job: &Job, retry_at: Timestamp, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET locked_until = $2, last_error = $3 WHERE id = $1 AND run_at = $4")
            .bind(job.id)
            .bind(to_micros(retry_at))
            .bind(error)
            .bind(to_micros(job.run_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn pending_jobs(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs").fetch_one(&self.pool).await?;
        Ok(count)
    }

    async fn demo_offset(&self) -> Result<jiff::SignedDuration, StoreError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT offset_us FROM demo_clock WHERE id = 1").fetch_optional(&self.pool).await?;
        Ok(jiff::SignedDuration::from_micros(row.map_or(0, |(offset,)| offset)))
    }

    async fn advance_demo_clock(&self, by: jiff::SignedDuration) -> Result<jiff::SignedDuration, StoreError> {
        let by = i64::try_from(by.as_micros()).unwrap_or(i64::MAX).max(0);
        let (offset,): (i64,) = sqlx::query_as(
            "INSERT INTO demo_clock (id, offset_us) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET offset_us = demo_clock.offset_us + excluded.offset_us RETURNING offset_us",
        )
        .bind(by)
        .fetch_one(&self.pool)
        .await?;
        Ok(jiff::SignedDuration::from_micros(offset))
    }

    async fn next_job_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let (next,): (Option<i64>,) = sqlx::query_as("SELECT MIN(run_at) FROM jobs").fetch_one(&self.pool).await?;
        next.map(|micros| from_micros("job", micros)).transpose()
    }

    async fn pending_invitations(
        &self,
        organisation: OrganisationId,
    ) -> Result<Vec<onramp_domain::team::Invitation>, StoreError> {
        let rows: Vec<crate::rows::InvitationRow> = sqlx::query_as(
            "SELECT i.id, i.organisation_id, i.email, i.role, i.invited_by, u.full_name AS invited_by_name, \
             i.created_at, i.expires_at, i.state FROM invitations i JOIN users u ON u.id = i.invited_by \
             WHERE i.organisation_id = $1 AND i.state = 'pending' ORDER BY i.created_at, i.id",
        )
        .bind(organisation.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(crate::rows::InvitationRow::into_invitation).collect()
    }

    async fn open_invitation_for(
        &self,
        email: &EmailAddress,
        now: Timestamp,
    ) -> Result<Option<onramp_domain::team::Invitation>, StoreError> {
        let row: Option<crate::rows::InvitationRow> = sqlx::query_as(
            "SELECT i.id, i.organisation_id, i.email, i.role, i.invited_by, u.full_name AS invited_by_name, \
             i.created_at, i.expires_at, i.state FROM invitations i JOIN users u ON u.id = i.invited_by \
             WHERE i.email = $1 AND i.state = 'pending' AND i.expires_at > $2 \
             ORDER BY i.created_at DESC, i.id DESC LIMIT 1",
        )
        .bind(email.as_str())
        .bind(to_micros(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(crate::rows::InvitationRow::into_invitation).transpose()
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
        sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user.id.0)
            .bind(to_micros(now))
            .bind(to_micros(expires_at))
            .execute(&mut *tx)
            .await?;
        let filed_under = user.membership.as_ref().map_or(onramp_domain::audit::PROVIDER_CHAIN, |m| m.organisation_id.0);
        sqlx::query(
            "INSERT INTO outbox (id, kind, agreement_id, organisation_id, recipients, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $6)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&mail.kind)
        .bind(filed_under)
        .bind(serde_json::to_string(&mail.recipients).map_err(|e| corrupt("notification", e))?)
        .bind(&mail.payload)
        .bind(to_micros(now))
        .execute(&mut *tx)
        .await?;
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

    async fn finish_password_reset(
        &self,
        token_hash: &str,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let row: Option<(uuid::Uuid,)> = sqlx::query_as(
            "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(to_micros(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((user,)) = row else { return Ok(None) };
        let (email,): (String,) =
            sqlx::query_as("SELECT email FROM users WHERE id = $1").bind(user).fetch_one(&mut *tx).await?;
        sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user)
            .bind(password_hash)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM login_failures WHERE email = $1").bind(&email).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(UserId(user)))
    }
}

/// A transaction on one organisation (see `UnitOfWork`).
struct Work {
    tx: Transaction<'static, Db>,
    organisation: Organisation,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work").field("organisation", &self.organisation.id).finish_non_exhaustive()
    }

}

impl Work {
    fn organisation_id(&self) -> uuid::Uuid {
        self.organisation.id.0
    }

    async fn case_id(&mut self, case: CaseNumber) -> Result<uuid::Uuid, StoreError> {
        let row: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM cases WHERE number = $1 AND organisation_id = $2")
            .bind(case.to_string())
            .bind(self.organisation_id())
            .fetch_optional(&mut *self.tx)
            .await?;
        row.map(|(id,)| id).ok_or(StoreError::NotFound { entity: "case" })
    }

    async fn next_seq(&mut self, sql: &'static str, key: uuid::Uuid) -> Result<i64, StoreError> {
        let (max,): (Option<i64>,) = sqlx::query_as(sql).bind(key).fetch_one(&mut *self.tx).await?;
        Ok(max.unwrap_or(0) + 1)
    }
}

#[async_trait]
impl UnitOfWork for Work {
    fn organisation(&self) -> &Organisation {
        &self.organisation
    }

    async fn members(&mut self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> = sqlx::query_as(
            "SELECT u.id, u.email, u.full_name, u.password_hash, u.created_at, m.organisation_id, \
             m.role AS team_role, m.onboarding_contact FROM users u JOIN memberships m ON m.user_id = u.id \
             WHERE m.organisation_id = $1 ORDER BY u.full_name, u.email",
        )
        .bind(self.organisation_id())
        .fetch_all(&mut *self.tx)
        .await?;
        rows.into_iter().map(|row| row.into_user(&[])).collect()
    }

    async fn live_agreements(&mut self) -> Result<(Option<Agreement>, Option<Agreement>), StoreError> {
        let rows: Vec<AgreementRow> = sqlx::query_as(
            "SELECT data FROM agreements WHERE organisation_id = $1 AND state IN ('active', 'draft')",
        )
        .bind(self.organisation_id())
        .fetch_all(&mut *self.tx)
        .await?;
        let mut active = None;
        let mut draft = None;
        for row in rows {
            let agreement = row.into_agreement()?;
            match agreement.state {
                onramp_domain::agreement::AgreementState::Active => active = Some(agreement),
                _ => draft = Some(agreement),
            }
        }
        Ok((active, draft))
    }

    async fn next_number(&mut self, sequence: Sequence) -> Result<i64, StoreError> {
        let (value,): (i64,) = sqlx::query_as("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
            .bind(sequence.as_str())
            .fetch_one(&mut *self.tx)
            .await?;
        Ok(value)
    }

    async fn save_agreement(&mut self, agreement: &Agreement) -> Result<(), StoreError> {
        let data = serde_json::to_string(agreement).map_err(|e| corrupt("agreement", e))?;
        let products: Vec<&str> = agreement.api_products.iter().map(|p| p.slug()).collect();
        let query = if agreement.version <= 1 {
            sqlx::query(
                "INSERT INTO agreements (id, number, organisation_id, state, substate, signature_type, origin, \
                 terms_version, api_products, created_at, review_deadline, version, data) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
        } else {
            sqlx::query(
                "UPDATE agreements SET number = $2, organisation_id = $3, state = $4, substate = $5, \
                 signature_type = $6, origin = $7, terms_version = $8, api_products = $9, created_at = $10, \
                 review_deadline = $11, version = $12, data = $13 WHERE id = $1 AND version = $12 - 1",
            )
        };
        let result = query
            .bind(agreement.id.0)
            .bind(agreement.number.to_string())
            .bind(agreement.organisation_id.0)
            .bind(agreement.state.as_str())
            .bind(agreement.substate.map(|s| s.as_str()))
            .bind(agreement.signature_type.as_str())
            .bind(agreement.origin.as_str())
            .bind(i64::from(agreement.terms_version))
            .bind(products.join(";"))
            .bind(to_micros(agreement.created_at))
            .bind(agreement.review_deadline.map(to_micros))
            .bind(agreement.version)
            .bind(data)
            .execute(&mut *self.tx)
            .await
            .map_err(StoreError::unique_as("live agreement of this organisation"))?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Conflict { what: "agreement version (it changed meanwhile)" });
        }
        Ok(())
    }

    async fn save_accepted_terms(
        &mut self,
        agreement: AgreementId,
        terms_version: u32,
        sha256: &str,
        text: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO accepted_terms (agreement_id, terms_version, sha256, text, accepted_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(agreement.0)
        .bind(i64::from(terms_version))
        .bind(sha256)
        .bind(text)
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn schedule(&mut self, agreement: AgreementId, timer: TimerKind, at: Timestamp) -> Result<(), StoreError> {
        let (kind, parameter) = timer.encode();
        sqlx::query(
            "INSERT INTO jobs (id, agreement_id, organisation_id, kind, parameter, run_at, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (agreement_id, kind, parameter) DO UPDATE SET run_at = excluded.run_at, attempts = 0, \
             locked_until = NULL, last_error = NULL",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(agreement.0)
        .bind(self.organisation_id())
        .bind(kind)
        .bind(parameter)
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn cancel_timers(&mut self, agreement: AgreementId, timers: &[TimerKind]) -> Result<(), StoreError> {
        for timer in timers {
            let (kind, parameter) = timer.encode();
            sqlx::query("DELETE FROM jobs WHERE agreement_id = $1 AND kind = $2 AND parameter = $3")
                .bind(agreement.0)
                .bind(kind)
                .bind(parameter)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn complete_job(&mut self, job: &Job) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM jobs WHERE id = $1 AND run_at = $2")
            .bind(job.id)
            .bind(to_micros(job.run_at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn append_ledger(&mut self, agreement: AgreementId, entry: &LedgerEntry) -> Result<(), StoreError> {
        let seq = self.next_seq("SELECT MAX(seq) FROM timer_ledger WHERE agreement_id = $1", agreement.0).await?;
        sqlx::query(
            "INSERT INTO timer_ledger (agreement_id, seq, at, event, timer, actor, remaining_us, deadline) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(agreement.0)
        .bind(seq)
        .bind(to_micros(entry.at))
        .bind(entry.event.as_str())
        .bind(serde_json::to_string(&entry.timer).map_err(|e| corrupt("ledger entry", e))?)
        .bind(serde_json::to_string(&entry.actor).map_err(|e| corrupt("ledger entry", e))?)
        .bind(i64::try_from(entry.remaining.as_micros()).unwrap_or(i64::MAX))
        .bind(entry.deadline.map(to_micros))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn open_case(&mut self, number: CaseNumber, agreement: AgreementId, subject: &str, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cases (id, number, agreement_id, organisation_id, state, subject, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $6)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(number.to_string())
        .bind(agreement.0)
        .bind(self.organisation_id())
        .bind(subject)
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::unique_as("case number"))?;
        Ok(())
    }

    async fn add_case_activity(
        &mut self,
        case: CaseNumber,
        author: &str,
        visibility: Visibility,
        body: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        let seq = self.next_seq("SELECT MAX(seq) FROM case_activity WHERE case_id = $1", case_id).await?;
        sqlx::query(
            "INSERT INTO case_activity (case_id, seq, at, author, visibility, body) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(case_id)
        .bind(seq)
        .bind(to_micros(at))
        .bind(author)
        .bind(visibility.as_str())
        .bind(body)
        .execute(&mut *self.tx)
        .await?;
        sqlx::query("UPDATE cases SET updated_at = $2 WHERE id = $1")
            .bind(case_id)
            .bind(to_micros(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn set_case_state(&mut self, case: CaseNumber, state: CaseState, at: Timestamp) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        sqlx::query("UPDATE cases SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(case_id)
            .bind(state.as_str())
            .bind(to_micros(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn watch_case(&mut self, case: CaseNumber, email: &str) -> Result<(), StoreError> {
        let case_id = self.case_id(case).await?;
        sqlx::query("INSERT INTO case_watchers (case_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(case_id)
            .bind(email)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn case_watchers(&mut self, case: CaseNumber) -> Result<Vec<String>, StoreError> {
        let case_id = self.case_id(case).await?;
        let rows: Vec<(String,)> = sqlx::query_as("SELECT email FROM case_watchers WHERE case_id = $1 ORDER BY email")
            .bind(case_id)
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows.into_iter().map(|(email,)| email).collect())
    }

    async fn enqueue_notification(&mut self, notification: &NewNotification, at: Timestamp) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO outbox (id, kind, agreement_id, organisation_id, recipients, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(&notification.kind)
        .bind(notification.agreement_id.map(|a| a.0))
        .bind(self.organisation_id())
        .bind(serde_json::to_string(&notification.recipients).map_err(|e| corrupt("notification", e))?)
        .bind(&notification.payload)
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_audit(&mut self, entry: &AuditEntry, at: Timestamp) -> Result<(), StoreError> {
        let chain_id = self.organisation_id();
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_log WHERE chain_id = $1 ORDER BY seq DESC LIMIT 1")
                .bind(chain_id)
                .fetch_optional(&mut *self.tx)
                .await?;
        let (seq, prev_hash) = last.map_or((1, GENESIS.to_owned()), |(seq, hash)| (seq + 1, hash));
        let mut record = AuditRecord {
            chain_id,
            seq,
            at,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            entity: entry.entity.clone(),
            entity_id: entry.entity_id.clone(),
            before: entry.before.clone(),
            after: entry.after.clone(),
            prev_hash,
            hash: String::new(),
        };
        record.hash = entry_hash(&record);
        sqlx::query(
            "INSERT INTO audit_log (chain_id, seq, at, actor, action, entity, entity_id, before, after, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(record.chain_id)
        .bind(record.seq)
        .bind(to_micros(record.at))
        .bind(&record.actor)
        .bind(&record.action)
        .bind(&record.entity)
        .bind(&record.entity_id)
        .bind(&record.before)
        .bind(&record.after)
        .bind(&record.prev_hash)
        .bind(&record.hash)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }

    async fn create_user(&mut self, user: &NewUser, now: Timestamp) -> Result<UserId, StoreError> {
        let id = UserId::new_at(now);
        sqlx::query(
            "INSERT INTO users (id, email, full_name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(user.email.as_str())
        .bind(user.full_name.as_str())
        .bind(user.password_hash.clone())
        .bind(to_micros(now))
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::unique_as("email address"))?;
        for role in &user.staff_roles {
            sqlx::query("INSERT INTO staff_roles (user_id, role) VALUES ($1, $2)")
                .bind(id.0)
                .bind(role.as_str())
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(id)
    }

    async fn add_member(&mut self, user: UserId, role: onramp_domain::TeamRole) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO memberships (user_id, organisation_id, role, onboarding_contact) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.0)
        .bind(self.organisation_id())
        .bind(role.as_str())
        .bind(false)
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::unique_as("membership (they belong to an organisation already)"))?;
        Ok(())
    }

    async fn update_member(
        &mut self,
        user: UserId,
        role: onramp_domain::TeamRole,
        onboarding_contact: bool,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE memberships SET role = $3, onboarding_contact = $4 WHERE user_id = $1 AND organisation_id = $2",
        )
        .bind(user.0)
        .bind(self.organisation_id())
        .bind(role.as_str())
        .bind(onboarding_contact)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound { entity: "member" }) }
    }

    async fn remove_member(&mut self, user: UserId) -> Result<(), StoreError> {
        let result = sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND organisation_id = $2")
            .bind(user.0)
            .bind(self.organisation_id())
            .execute(&mut *self.tx)
            .await?;
        if result.rows_affected() == 1 { Ok(()) } else { Err(StoreError::NotFound { entity: "member" }) }
    }

    async fn invitation(
        &mut self,
        id: onramp_domain::team::InvitationId,
    ) -> Result<Option<onramp_domain::team::Invitation>, StoreError> {
        let row: Option<crate::rows::InvitationRow> = sqlx::query_as(
            "SELECT i.id, i.organisation_id, i.email, i.role, i.invited_by, u.full_name AS invited_by_name, \
             i.created_at, i.expires_at, i.state FROM invitations i JOIN users u ON u.id = i.invited_by \
             WHERE i.id = $1 AND i.organisation_id = $2",
        )
        .bind(id.0)
        .bind(self.organisation_id())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(crate::rows::InvitationRow::into_invitation).transpose()
    }

    async fn pending_invitation(
        &mut self,
        email: &EmailAddress,
    ) -> Result<Option<onramp_domain::team::Invitation>, StoreError> {
        let row: Option<crate::rows::InvitationRow> = sqlx::query_as(
            "SELECT i.id, i.organisation_id, i.email, i.role, i.invited_by, u.full_name AS invited_by_name, \
             i.created_at, i.expires_at, i.state FROM invitations i JOIN users u ON u.id = i.invited_by \
             WHERE i.email = $1 AND i.organisation_id = $2 AND i.state = 'pending'",
        )
        .bind(email.as_str())
        .bind(self.organisation_id())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(crate::rows::InvitationRow::into_invitation).transpose()
    }

    async fn save_invitation(&mut self, invitation: &onramp_domain::team::Invitation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (id, organisation_id, email, role, invited_by, created_at, expires_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(invitation.id.0)
        .bind(self.organisation_id())
        .bind(invitation.email.as_str())
        .bind(invitation.role.as_str())
        .bind(invitation.invited_by.0)
        .bind(to_micros(invitation.created_at))
        .bind(to_micros(invitation.expires_at))
        .bind(invitation.state.as_str())
        .execute(&mut *self.tx)
        .await
        .map_err(StoreError::unique_as("pending invitation for this email address"))?;
        Ok(())
    }

    async fn close_invitation(
        &mut self,
        id: onramp_domain::team::InvitationId,
        state: onramp_domain::team::InvitationState,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE invitations SET state = $3, closed_at = $4 \
             WHERE id = $1 AND organisation_id = $2 AND state = 'pending'",
        )
        .bind(id.0)
        .bind(self.organisation_id())
        .bind(state.as_str())
        .bind(to_micros(at))
        .execute(&mut *self.tx)
        .await?;
        Ok(result.rows_affected() == 1)
    }
}
