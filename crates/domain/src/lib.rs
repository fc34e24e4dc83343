//! Onramp's domain rules, free of I/O.
//!
//! Every value that comes from outside (a form, a JSON body, a CSV row, a config file) is parsed into one of
//! these types at the edge, so the rest of the code never sees an unchecked ODS code or e-mail address.

pub mod agreement;
pub mod api_product;
pub mod application;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod catalogue;
pub mod clock;
pub mod evidence;
pub mod flow;
pub mod identifiers;
pub mod legacy;
pub mod notification;
pub mod organisation;
pub mod provider;
pub mod team;
pub mod terms;
pub mod user;
mod validation;

pub use api_product::ApiProduct;
pub use clock::Clock;
pub use identifiers::{AgreementNumber, CaseNumber, CompanyNumber, EmailAddress, OdsCode, ReferenceError};
pub use organisation::{
    KindChangeError, NewOrganisation, Organisation, OrganisationId, OrganisationInput, OrganisationKind,
    time_ordered_uuid,
};
pub use provider::Provider;
pub use user::{AddressNotVerified, Membership, NewUser, Password, PersonName, StaffRole, TeamRole, User, UserId};
pub use validation::{FieldError, FieldErrors};
