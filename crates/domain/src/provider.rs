//! The API provider that runs this Onramp (one per deployment).

use serde::{Deserialize, Serialize};

use crate::EmailAddress;

/// The provider's identity as it appears on agreements and e-mails: its name and the service desk address
/// that notifications come from (NOT-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub name: String,
    pub service_desk_email: EmailAddress,
}
