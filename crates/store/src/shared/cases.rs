//! Reading a case with its activity and watch list; cases are written inside a unit of work.

use async_trait::async_trait;
use onramp_domain::CaseNumber;
use onramp_domain::case::Case;

use super::Store;
use crate::rows::{CaseActivityRow, CaseRow};
use crate::{Cases, StoreError};

#[async_trait]
impl Cases for Store {
    async fn case(&self, number: CaseNumber) -> Result<Option<Case>, StoreError> {
        let row: Option<CaseRow> = sqlx::query_as(concat!("SELECT ", case_columns!(), " FROM cases WHERE number = $1"))
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
        let watchers: Vec<(String,)> =
            sqlx::query_as("SELECT email FROM case_watchers WHERE case_id = $1 ORDER BY email")
                .bind(row.id)
                .fetch_all(&self.pool)
                .await?;
        row.into_case(activity, watchers.into_iter().map(|(email,)| email).collect()).map(Some)
    }
}
