//! Reading team invitations outside a unit of work.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::team::Invitation;
use onramp_domain::{EmailAddress, OrganisationId};

use super::Store;
use crate::rows::{InvitationRow, to_micros};
use crate::{Invitations, StoreError};

#[async_trait]
impl Invitations for Store {
    async fn pending_invitations(&self, organisation: OrganisationId) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            " WHERE i.organisation_id = $1 AND i.state = 'pending' ORDER BY i.created_at, i.id"
        ))
        .bind(organisation.0)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(InvitationRow::into_invitation).collect()
    }

    async fn open_invitations_for(&self, email: &EmailAddress, now: Timestamp) -> Result<Vec<Invitation>, StoreError> {
        let rows: Vec<InvitationRow> = sqlx::query_as(concat!(
            invitation_select!(),
            " WHERE i.email = $1 AND i.state = 'pending' AND i.expires_at > $2 \
             ORDER BY i.created_at DESC, i.id DESC"
        ))
        .bind(email.as_str())
        .bind(to_micros(now))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(InvitationRow::into_invitation).collect()
    }
}
