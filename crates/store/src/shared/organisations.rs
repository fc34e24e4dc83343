//! The provider and the organisations registered with it.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::{EmailAddress, NewOrganisation, OdsCode, Organisation, OrganisationId, Provider, UserId};
use sqlx::Transaction;

use super::{Db, LOCK_ORGANISATION, Store, begin_write};
use crate::rows::{OrganisationRow, corrupt, to_micros};
use crate::{Organisations, StoreError};

type Arguments = <Db as sqlx::Database>::Arguments;

/// Binds an organisation's details, in `organisation_detail_columns!` order, to the next placeholders.
fn bind_details<'q, O>(
    query: sqlx::query::QueryAs<'q, Db, O, Arguments>,
    organisation: &'q NewOrganisation,
) -> sqlx::query::QueryAs<'q, Db, O, Arguments> {
    query
        .bind(&organisation.name)
        .bind(organisation.ods_code.as_str())
        .bind(organisation.company_number.as_ref().map(|n| n.as_str().to_owned()))
        .bind(&organisation.registered_address)
        .bind(organisation.kind.as_str())
        .bind(organisation.delivery_notice_mailbox.as_str())
        .bind(organisation.im1_supplier)
}

/// Inserts a new organisation in `tx`; `Conflict` when its ODS code is taken.
async fn insert_organisation(
    tx: &mut Transaction<'static, Db>,
    organisation: &NewOrganisation,
    now: Timestamp,
) -> Result<OrganisationId, StoreError> {
    let id = OrganisationId::new_at(now);
    let query = sqlx::query_as::<_, (uuid::Uuid,)>(concat!(
        "INSERT INTO organisations (",
        organisation_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id"
    ));
    bind_details(query.bind(id.0), organisation)
        .bind(to_micros(now))
        .fetch_one(&mut **tx)
        .await
        .map_err(StoreError::unique_as("ODS code"))?;
    Ok(id)
}

/// Locks the organisation with `organisation`'s ODS code in `tx`, registering it first (in the same
/// transaction) when there is none: how a bulk load such as the legacy import moves from one organisation to
/// the next inside one transaction.
pub(super) async fn lock_or_register(
    tx: &mut Transaction<'static, Db>,
    organisation: &NewOrganisation,
    now: Timestamp,
) -> Result<Organisation, StoreError> {
    let existing: Option<(uuid::Uuid,)> = sqlx::query_as("SELECT id FROM organisations WHERE ods_code = $1")
        .bind(organisation.ods_code.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    let id = match existing {
        Some((id,)) => OrganisationId(id),
        None => insert_organisation(tx, organisation, now).await?,
    };
    let row: Option<OrganisationRow> = sqlx::query_as(LOCK_ORGANISATION).bind(id.0).fetch_optional(&mut **tx).await?;
    row.ok_or(StoreError::NotFound { entity: "organisation" })?.try_into()
}

#[async_trait]
impl Organisations for Store {
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
        sqlx::query(concat!("INSERT INTO memberships (", membership_columns!(), ") VALUES ($1, $2, 'owner', $3)"))
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
        let query = sqlx::query_as::<_, OrganisationRow>(concat!(
            "UPDATE organisations SET (",
            organisation_detail_columns!(),
            ") = ($2, $3, $4, $5, $6, $7, $8) WHERE id = $1 RETURNING ",
            organisation_columns!()
        ));
        let row = bind_details(query.bind(id.0), organisation)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::unique_as("ODS code"))?;
        row.ok_or(StoreError::NotFound { entity: "organisation" })?.try_into()
    }

    async fn organisation(&self, id: OrganisationId) -> Result<Option<Organisation>, StoreError> {
        let row: Option<OrganisationRow> =
            sqlx::query_as(concat!("SELECT ", organisation_columns!(), " FROM organisations WHERE id = $1"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await?;
        row.map(Organisation::try_from).transpose()
    }

    async fn organisation_by_ods_code(&self, ods_code: &OdsCode) -> Result<Option<Organisation>, StoreError> {
        let row: Option<OrganisationRow> =
            sqlx::query_as(concat!("SELECT ", organisation_columns!(), " FROM organisations WHERE ods_code = $1"))
                .bind(ods_code.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(Organisation::try_from).transpose()
    }

    async fn organisations(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows: Vec<OrganisationRow> =
            sqlx::query_as(concat!("SELECT ", organisation_columns!(), " FROM organisations ORDER BY name, ods_code"))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Organisation::try_from).collect()
    }
}
