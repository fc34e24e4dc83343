//! The unit of work's team management: members and invitations (SPEC §1).

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::team::{Invitation, InvitationId, InvitationState};
use onramp_domain::{EmailAddress, NewUser, TeamRole, User, UserId};

use super::users::insert_user;
use super::work::Work;
use crate::rows::{InvitationRow, UserRow, to_micros};
use crate::{StoreError, TeamWork};

#[async_trait]
impl TeamWork for Work {
    async fn members(&mut self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> =
            sqlx::query_as(concat!(user_select!(), " WHERE m.organisation_id = $1 ORDER BY u.full_name, u.email"))
                .bind(self.organisation_id())
                .fetch_all(&mut *self.tx)
                .await?;
        rows.into_iter().map(|row| row.into_user(&[])).collect()
    }

    async fn create_user(&mut self, user: &NewUser, now: Timestamp) -> Result<UserId, StoreError> {
        insert_user(&mut self.tx, user, now).await
    }

    async fn add_member(&mut self, user: UserId, role: TeamRole) -> Result<(), StoreError> {
        sqlx::query(concat!("INSERT INTO memberships (", membership_columns!(), ") VALUES ($1, $2, $3, $4)"))
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
        role: TeamRole,
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

    async fn invitation(&mut self, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        let row: Option<InvitationRow> =
            sqlx::query_as(concat!(invitation_select!(), " WHERE i.id = $1 AND i.organisation_id = $2"))
                .bind(id.0)
                .bind(self.organisation_id())
                .fetch_optional(&mut *self.tx)
                .await?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    async fn pending_invitation(&mut self, email: &EmailAddress) -> Result<Option<Invitation>, StoreError> {
        let row: Option<InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            " WHERE i.email = $1 AND i.organisation_id = $2 AND i.state = 'pending'"
        ))
        .bind(email.as_str())
        .bind(self.organisation_id())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(InvitationRow::into_invitation).transpose()
    }

    async fn save_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
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
        id: InvitationId,
        state: InvitationState,
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
