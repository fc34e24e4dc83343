//! Cases (CASE-1, CASE-2): the conversation between a connecting party and the agreement team about one
//! agreement.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::agreement::AgreementId;
use crate::{CaseNumber, OrganisationId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Open,
    AwaitingInfo,
    Resolved,
    Closed,
}

impl CaseState {
    /// Every state, in the order a case usually moves through them.
    pub const ALL: [Self; 4] = [Self::Open, Self::AwaitingInfo, Self::Resolved, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::AwaitingInfo => "awaiting_info",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Open => "Open",
            Self::AwaitingInfo => "Awaiting Info",
            Self::Resolved => "Resolved",
            Self::Closed => "Closed",
        }
    }
}

impl std::str::FromStr for CaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown case state {s:?}"))
    }
}

/// Internal notes are for provider staff only; the connecting party never sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    Public,
    Internal,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseActivity {
    pub seq: i64,
    pub at: Timestamp,
    pub author: String,
    pub visibility: Visibility,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub number: CaseNumber,
    pub agreement_id: AgreementId,
    pub organisation_id: OrganisationId,
    pub state: CaseState,
    pub subject: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub activity: Vec<CaseActivity>,
    pub watchers: Vec<String>,
}
