//! Agreements, their timer ledger and cases.

use onramp_domain::OrganisationId;
use uuid::Uuid;

use super::{corrupt, from_micros};
use crate::StoreError;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AgreementRow {
    data: String,
}

impl AgreementRow {
    pub(crate) fn into_agreement(self) -> Result<onramp_domain::agreement::Agreement, StoreError> {
        serde_json::from_str(&self.data).map_err(|e| corrupt("agreement", e))
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct LedgerRow {
    at: i64,
    event: String,
    timer: String,
    actor: String,
    remaining_us: i64,
    deadline: Option<i64>,
}

impl LedgerRow {
    pub(crate) fn into_entry(self) -> Result<onramp_domain::agreement::LedgerEntry, StoreError> {
        use onramp_domain::agreement::{LedgerEntry, LedgerEvent};
        const ENTITY: &str = "timer ledger entry";
        let event = [
            LedgerEvent::Started,
            LedgerEvent::Paused,
            LedgerEvent::Resumed,
            LedgerEvent::Reset,
            LedgerEvent::Fired,
            LedgerEvent::Stopped,
        ]
        .into_iter()
        .find(|e| e.as_str() == self.event)
        .ok_or_else(|| corrupt(ENTITY, format!("unknown event {:?}", self.event)))?;
        Ok(LedgerEntry {
            event,
            timer: serde_json::from_str(&self.timer).map_err(|e| corrupt(ENTITY, e))?,
            at: from_micros(ENTITY, self.at)?,
            actor: serde_json::from_str(&self.actor).map_err(|e| corrupt(ENTITY, e))?,
            remaining: jiff::SignedDuration::from_micros(self.remaining_us),
            deadline: self.deadline.map(|d| from_micros(ENTITY, d)).transpose()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub(crate) id: Uuid,
    number: String,
    agreement_id: Uuid,
    organisation_id: Uuid,
    state: String,
    subject: String,
    created_at: i64,
    updated_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CaseActivityRow {
    seq: i64,
    at: i64,
    author: String,
    visibility: String,
    body: String,
}

impl CaseRow {
    pub(crate) fn into_case(
        self,
        activity: Vec<CaseActivityRow>,
        watchers: Vec<String>,
    ) -> Result<onramp_domain::case::Case, StoreError> {
        use onramp_domain::case::{Case, CaseActivity, Visibility};
        const ENTITY: &str = "case";
        let activity = activity
            .into_iter()
            .map(|row| {
                Ok(CaseActivity {
                    seq: row.seq,
                    at: from_micros(ENTITY, row.at)?,
                    author: row.author,
                    visibility: match row.visibility.as_str() {
                        "internal" => Visibility::Internal,
                        "public" => Visibility::Public,
                        other => return Err(corrupt(ENTITY, format!("unknown visibility {other:?}"))),
                    },
                    body: row.body,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Case {
            number: onramp_domain::CaseNumber::parse(&self.number).map_err(|e| corrupt(ENTITY, e))?,
            agreement_id: onramp_domain::agreement::AgreementId(self.agreement_id),
            organisation_id: OrganisationId(self.organisation_id),
            state: self.state.parse().map_err(|e: String| corrupt(ENTITY, e))?,
            subject: self.subject,
            created_at: from_micros(ENTITY, self.created_at)?,
            updated_at: from_micros(ENTITY, self.updated_at)?,
            activity,
            watchers,
        })
    }
}
