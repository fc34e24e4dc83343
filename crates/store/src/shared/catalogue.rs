//! The API catalogue and the stored versions of the assurance flows.

use async_trait::async_trait;
use jiff::Timestamp;
use onramp_domain::ApiProduct;
use onramp_domain::catalogue::Product;

use super::{Store, begin_write};
use crate::rows::{corrupt, from_micros, to_micros};
use crate::{Catalogue, FlowSource, FlowVersionClash, StoreError, StoredFlowVersion};

type ProductRow = (String, String, String, bool, bool);
type FlowVersionRow = (String, i64, String, String, String, i64);

fn product(row: ProductRow) -> Result<Product, StoreError> {
    let (slug, name, flows, open_access, offered) = row;
    Ok(Product {
        slug: ApiProduct::parse(&slug).map_err(|e| corrupt("api product", e))?,
        name,
        flows: serde_json::from_str(&flows).map_err(|e| corrupt("api product", e))?,
        open_access,
        offered,
    })
}

fn flow_version(row: FlowVersionRow) -> Result<StoredFlowVersion, StoreError> {
    let (flow_id, version, sha256, file, source, loaded_at) = row;
    Ok(StoredFlowVersion {
        flow_id,
        version: u32::try_from(version).map_err(|e| corrupt("flow version", e))?,
        sha256,
        file,
        source,
        loaded_at: from_micros("flow version", loaded_at)?,
    })
}

#[async_trait]
impl Catalogue for Store {
    async fn record_products(&self, products: &[Product], now: Timestamp) -> Result<Vec<Product>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        sqlx::query("UPDATE api_products SET offered = $1").bind(false).execute(&mut *tx).await?;
        for (position, product) in products.iter().enumerate() {
            let flows = serde_json::to_string(&product.flows).map_err(|e| corrupt("api product", e))?;
            sqlx::query(
                "INSERT INTO api_products (slug, name, flows, open_access, offered, position, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO UPDATE SET name = excluded.name, \
                 flows = excluded.flows, open_access = excluded.open_access, offered = excluded.offered, \
                 position = excluded.position, updated_at = excluded.updated_at",
            )
            .bind(product.slug.slug())
            .bind(&product.name)
            .bind(flows)
            .bind(product.open_access)
            .bind(true)
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .bind(to_micros(now))
            .execute(&mut *tx)
            .await?;
        }
        let rows: Vec<ProductRow> = sqlx::query_as(
            "SELECT slug, name, flows, open_access, offered FROM api_products \
             ORDER BY offered DESC, CASE WHEN offered THEN position ELSE 0 END, LOWER(name), slug",
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.into_iter().map(product).collect()
    }

    async fn record_flow_versions(
        &self,
        flows: &[FlowSource],
        now: Timestamp,
    ) -> Result<Vec<FlowVersionClash>, StoreError> {
        let mut tx = begin_write(&self.pool).await?;
        let mut clashes = Vec::new();
        for flow in flows {
            let stored: Option<(String, i64)> =
                sqlx::query_as("SELECT sha256, loaded_at FROM flow_versions WHERE flow_id = $1 AND version = $2")
                    .bind(&flow.flow_id)
                    .bind(i64::from(flow.version))
                    .fetch_optional(&mut *tx)
                    .await?;
            match stored {
                Some((sha256, _)) if sha256 == flow.sha256 => {}
                Some((_, loaded_at)) => clashes.push(FlowVersionClash {
                    flow_id: flow.flow_id.clone(),
                    version: flow.version,
                    file: flow.file.clone(),
                    stored_at: from_micros("flow version", loaded_at)?,
                }),
                None => {
                    sqlx::query(
                        "INSERT INTO flow_versions (flow_id, version, sha256, file, source, loaded_at) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(&flow.flow_id)
                    .bind(i64::from(flow.version))
                    .bind(&flow.sha256)
                    .bind(&flow.file)
                    .bind(&flow.source)
                    .bind(to_micros(now))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        if clashes.is_empty() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(clashes)
    }

    async fn flow_versions(&self, flow_id: &str) -> Result<Vec<StoredFlowVersion>, StoreError> {
        let rows: Vec<FlowVersionRow> = sqlx::query_as(
            "SELECT flow_id, version, sha256, file, source, loaded_at FROM flow_versions WHERE flow_id = $1 \
             ORDER BY version DESC",
        )
        .bind(flow_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(flow_version).collect()
    }

    async fn flow_version(&self, flow_id: &str, version: u32) -> Result<Option<StoredFlowVersion>, StoreError> {
        let row: Option<FlowVersionRow> = sqlx::query_as(
            "SELECT flow_id, version, sha256, file, source, loaded_at FROM flow_versions \
             WHERE flow_id = $1 AND version = $2",
        )
        .bind(flow_id)
        .bind(i64::from(version))
        .fetch_optional(&self.pool)
        .await?;
        row.map(flow_version).transpose()
    }
}
