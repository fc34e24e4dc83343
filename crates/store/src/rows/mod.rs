//! Row shapes shared by both backends, and their conversion into domain types. A row that no longer parses
//! (someone edited the database by hand) becomes `StoreError::Corrupt` naming the entity, never a panic. Each
//! row's column list is in `columns.rs`.

mod accounts;
mod agreements;
mod records;

use jiff::Timestamp;

use crate::StoreError;

pub(crate) use accounts::{InvitationRow, OrganisationRow, StaffRoleRow, UserRow};
pub(crate) use agreements::{AgreementRow, CaseActivityRow, CaseRow, LedgerRow};
#[cfg(feature = "test-support")]
pub(crate) use records::NotificationRow;
pub(crate) use records::{AuditRow, ClaimedJobRow, JobRow, OutboxRow, PendingJobRow};

/// Instants are stored as microseconds since the Unix epoch on both backends.
pub(crate) fn to_micros(instant: Timestamp) -> i64 {
    instant.as_microsecond()
}

pub(crate) fn from_micros(entity: &'static str, micros: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(micros).map_err(|e| corrupt(entity, e))
}

pub(crate) fn corrupt(entity: &'static str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { entity, reason: reason.to_string() }
}
