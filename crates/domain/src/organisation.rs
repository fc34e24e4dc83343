//! The organisation model (SPEC ORG-1..ORG-4).

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validation::single_line;
use crate::{CompanyNumber, EmailAddress, FieldErrors, OdsCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrganisationId(pub Uuid);

impl OrganisationId {
    /// A fresh, time-ordered id (UUID v7), so ids sort roughly by creation.
    pub fn new_at(now: Timestamp) -> Self {
        Self(time_ordered_uuid(now))
    }
}

impl fmt::Display for OrganisationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A UUID v7 stamped with the caller's `now`, so ids follow the injected clock rather than the system one.
pub fn time_ordered_uuid(now: Timestamp) -> Uuid {
    let seconds = u64::try_from(now.as_second()).unwrap_or(0);
    let nanos = u32::try_from(now.subsec_nanosecond()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, nanos))
}

/// What kind of body an organisation is; it decides which registration number stands for it (ORG-2) and
/// whether it needs a connection agreement at all (ORG-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Commercial,
    PublicHealthcare,
    NonUk,
    ProviderInternal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("choose the kind of organisation")]
pub struct OrganisationKindError;

impl OrganisationKind {
    pub const ALL: [Self; 4] = [Self::Commercial, Self::PublicHealthcare, Self::NonUk, Self::ProviderInternal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Commercial => "commercial",
            Self::PublicHealthcare => "public_healthcare",
            Self::NonUk => "non_uk",
            Self::ProviderInternal => "provider_internal",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Commercial => "Commercial supplier",
            Self::PublicHealthcare => "Public healthcare body",
            Self::NonUk => "Organisation outside the UK",
            Self::ProviderInternal => "Part of the API provider",
        }
    }

    /// The kind in a sentence: "a public healthcare body", "an organisation outside the UK".
    pub fn with_article(self) -> &'static str {
        match self {
            Self::Commercial => "a commercial supplier",
            Self::PublicHealthcare => "a public healthcare body",
            Self::NonUk => "an organisation outside the UK",
            Self::ProviderInternal => "part of the API provider",
        }
    }

    /// ORG-2: public healthcare bodies and non-UK organisations have no Companies House number; their ODS
    /// code stands in its place.
    pub fn ods_code_stands_for_company_number(self) -> bool {
        matches!(self, Self::PublicHealthcare | Self::NonUk)
    }

    /// ORG-3: the provider's own organisations connect without a connection agreement.
    pub fn needs_connection_agreement(self) -> bool {
        self != Self::ProviderInternal
    }

    /// Whether `user` may give an organisation this kind. Only the provider's staff may say an organisation is
    /// part of the provider: that kind never needs a connection agreement (ORG-3), so a supplier choosing it
    /// would skip the legal stage of onboarding.
    pub fn may_be_chosen_by(self, user: &crate::User) -> bool {
        self != Self::ProviderInternal || user.is_staff()
    }

    /// The kinds `user` may choose, in order.
    pub fn choosable_by(user: &crate::User) -> Vec<Self> {
        Self::ALL.into_iter().filter(|kind| kind.may_be_chosen_by(user)).collect()
    }
}

impl FromStr for OrganisationKind {
    type Err = OrganisationKindError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == s.trim()).ok_or(OrganisationKindError)
    }
}

impl fmt::Display for OrganisationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation as typed into a form or a JSON body: every field still raw text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct OrganisationInput {
    pub name: String,
    pub ods_code: String,
    pub company_number: String,
    pub registered_address: String,
    pub kind: String,
    pub delivery_notice_mailbox: String,
    pub im1_supplier: bool,
}

/// An organisation whose every field has been checked (ORG-1, ORG-2); only this can be stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrganisation {
    pub name: String,
    pub ods_code: OdsCode,
    pub company_number: Option<CompanyNumber>,
    pub registered_address: String,
    pub kind: OrganisationKind,
    pub delivery_notice_mailbox: EmailAddress,
    pub im1_supplier: bool,
}

impl NewOrganisation {
    pub const NAME_MAX: usize = 200;
    pub const ADDRESS_MAX: usize = 500;

    /// ORG-4: checks every field and reports all that are wrong, each with its field name and rule.
    pub fn parse(input: &OrganisationInput) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors.check("name", single_line(&input.name, "organisation name", Self::NAME_MAX));
        let ods_code = errors.check("ods_code", OdsCode::parse(&input.ods_code));
        let kind = errors.check("kind", input.kind.parse::<OrganisationKind>());
        let registered_address = errors.check("registered_address", parse_address(&input.registered_address));
        let delivery_notice_mailbox =
            errors.check("delivery_notice_mailbox", EmailAddress::parse(&input.delivery_notice_mailbox));
        let company_number = match kind {
            Some(kind) => errors.check("company_number", company_number_for(kind, &input.company_number)),
            None => None,
        };
        match (name, ods_code, kind, registered_address, delivery_notice_mailbox, company_number) {
            (Some(name), Some(ods_code), Some(kind), Some(registered_address), Some(mailbox), Some(company_number))
                if errors.is_empty() =>
            {
                Ok(Self {
                    name,
                    ods_code,
                    company_number,
                    registered_address,
                    kind,
                    delivery_notice_mailbox: mailbox,
                    im1_supplier: input.im1_supplier,
                })
            }
            _ => Err(errors),
        }
    }
}

/// ORG-1/ORG-2: a commercial supplier must give its Companies House number; public healthcare and non-UK
/// bodies must not (their ODS code stands in its place); the provider's own organisations may.
fn company_number_for(kind: OrganisationKind, raw: &str) -> Result<Option<CompanyNumber>, String> {
    let given = !raw.trim().is_empty();
    match kind {
        OrganisationKind::Commercial => CompanyNumber::parse(raw).map(Some).map_err(|e| e.to_string()),
        kind if kind.ods_code_stands_for_company_number() && given => Err(format!(
            "leave the company registration number empty for {}: its ODS code stands in its place",
            kind.with_article()
        )),
        _ if given => CompanyNumber::parse(raw).map(Some).map_err(|e| e.to_string()),
        _ => Ok(None),
    }
}

fn parse_address(raw: &str) -> Result<String, String> {
    let lines: Vec<&str> = raw.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    let address = lines.join("\n");
    if address.is_empty() {
        return Err("enter the registered address".into());
    }
    if address.chars().count() > NewOrganisation::ADDRESS_MAX {
        return Err(format!("the registered address must be {} characters or fewer", NewOrganisation::ADDRESS_MAX));
    }
    if address.chars().any(|c| c.is_control() && c != '\n') {
        return Err("the registered address must not contain control characters".into());
    }
    Ok(address)
}

/// A stored organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisation {
    pub id: OrganisationId,
    #[serde(flatten)]
    pub details: NewOrganisation,
    pub created_at: Timestamp,
}

impl Organisation {
    /// ORG-2: the number that identifies the organisation on an agreement: its company number, or its ODS
    /// code where that stands in the company number's place.
    pub fn registration_number(&self) -> &str {
        match &self.details.company_number {
            Some(number) if !self.details.kind.ods_code_stands_for_company_number() => number.as_str(),
            _ => self.details.ods_code.as_str(),
        }
    }
}

/// Why an organisation's kind was not changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindChangeError {
    #[error("only the provider's agreement team can change the kind of an organisation")]
    NotAgreementTeam,
    #[error("a commercial supplier needs its Companies House number, and this organisation has none on record")]
    CompanyNumberMissing,
    #[error(
        "this organisation has a company registration number on record, but for the kind \"{0}\" its ODS code \
         stands in the number's place"
    )]
    CompanyNumberOnRecord(String),
}

impl KindChangeError {
    /// A stable code for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAgreementTeam => "not_agreement_team",
            Self::CompanyNumberMissing => "company_number_missing",
            Self::CompanyNumberOnRecord(_) => "company_number_on_record",
        }
    }
}

impl NewOrganisation {
    /// ORG-3: the details with the kind changed to `kind` by `user`. Only the provider's agreement team (who
    /// decide who needs a connection agreement) may change a kind, so only they can make an organisation part of
    /// the provider, or take it out. The other fields stay as they are, so the new kind must fit them (ORG-2): a
    /// commercial supplier has a company number on record, a public healthcare or non-UK body has none.
    pub fn with_kind(&self, kind: OrganisationKind, user: &crate::User) -> Result<Self, KindChangeError> {
        if !user.has_staff_role(crate::StaffRole::AgreementTeam) {
            return Err(KindChangeError::NotAgreementTeam);
        }
        match (kind, &self.company_number) {
            (OrganisationKind::Commercial, None) => return Err(KindChangeError::CompanyNumberMissing),
            (kind, Some(_)) if kind.ods_code_stands_for_company_number() => {
                return Err(KindChangeError::CompanyNumberOnRecord(kind.label().to_owned()));
            }
            _ => {}
        }
        Ok(Self { kind, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commercial() -> OrganisationInput {
        OrganisationInput {
            name: "Acme Health Software Ltd".into(),
            ods_code: "8jk45".into(),
            company_number: "01234567".into(),
            registered_address: "1 High Street\n\nLeeds\nLS1 1AA".into(),
            kind: "commercial".into(),
            delivery_notice_mailbox: "Notices@Acme.example".into(),
            im1_supplier: true,
        }
    }

    #[test]
    fn org1_a_complete_commercial_organisation_parses() {
        let parsed = NewOrganisation::parse(&commercial()).map_err(|e| e.to_string());
        let org = parsed.as_ref().map(|o| (o.ods_code.as_str(), o.registered_address.as_str()));
        assert_eq!(org, Ok(("8JK45", "1 High Street\nLeeds\nLS1 1AA")));
    }

    #[test]
    fn org4_every_bad_field_is_named_with_its_rule() {
        let input = OrganisationInput {
            name: " ".into(),
            ods_code: "X".into(),
            company_number: "123".into(),
            registered_address: String::new(),
            kind: "commercial".into(),
            delivery_notice_mailbox: "not-an-address".into(),
            im1_supplier: false,
        };
        let errors = NewOrganisation::parse(&input).err().unwrap_or_default();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["name", "ods_code", "registered_address", "delivery_notice_mailbox", "company_number"]);
        assert!(errors.for_field("ods_code").is_some_and(|e| e.message.contains("3 to 10")));
    }

    #[test]
    fn org4_an_unknown_kind_is_refused() {
        let input = OrganisationInput { kind: "charity".into(), ..commercial() };
        let errors = NewOrganisation::parse(&input).err().unwrap_or_default();
        let refused = errors.for_field("kind").unwrap();
        assert_eq!(refused.sentence(), "Choose the kind of organisation", "the form names kinds by their labels");
    }

    #[test]
    fn org2_the_company_number_rule_names_the_kind_with_its_article() {
        let input = OrganisationInput { kind: "non_uk".into(), ..commercial() };
        let errors = NewOrganisation::parse(&input).err().unwrap_or_default();
        let refused = errors.for_field("company_number").unwrap();
        assert!(refused.message.contains("for an organisation outside the UK:"), "{refused}");
    }

    #[test]
    fn org2_public_healthcare_uses_its_ods_code_and_refuses_a_company_number() {
        let input = OrganisationInput { kind: "public_healthcare".into(), ..commercial() };
        let errors = NewOrganisation::parse(&input).err().unwrap_or_default();
        assert!(errors.for_field("company_number").is_some_and(|e| e.message.contains("ODS code")));

        let input = OrganisationInput { kind: "non_uk".into(), company_number: String::new(), ..commercial() };
        let details = NewOrganisation::parse(&input).map_err(|e| e.to_string());
        let org = details.map(|details| Organisation {
            id: OrganisationId(Uuid::nil()),
            details,
            created_at: Timestamp::UNIX_EPOCH,
        });
        assert_eq!(org.as_ref().map(Organisation::registration_number), Ok("8JK45"));
    }

    #[test]
    fn org3_only_provider_internal_organisations_skip_the_agreement() {
        let needing: Vec<_> =
            OrganisationKind::ALL.into_iter().filter(|kind| kind.needs_connection_agreement()).collect();
        assert_eq!(
            needing,
            [OrganisationKind::Commercial, OrganisationKind::PublicHealthcare, OrganisationKind::NonUk]
        );
    }

    fn person(roles: Vec<crate::StaffRole>) -> crate::User {
        crate::User {
            id: crate::UserId(Uuid::nil()),
            email: EmailAddress::parse("someone@provider.example").unwrap_or_else(|_| unreachable!()),
            full_name: crate::PersonName::parse("Some One").unwrap_or_else(|_| unreachable!()),
            password_hash: None,
            staff_roles: roles,
            membership: None,
            created_at: Timestamp::UNIX_EPOCH,
            email_verified_at: Some(Timestamp::UNIX_EPOCH),
        }
    }

    #[test]
    fn org3_only_the_agreement_team_changes_a_kind_and_the_new_kind_must_fit_the_company_number() {
        let team = person(vec![crate::StaffRole::AgreementTeam]);
        let Ok(acme) = NewOrganisation::parse(&commercial()) else { panic!("commercial parses") };
        for someone in [person(vec![]), person(vec![crate::StaffRole::Reviewer, crate::StaffRole::Admin])] {
            assert_eq!(
                acme.with_kind(OrganisationKind::ProviderInternal, &someone),
                Err(KindChangeError::NotAgreementTeam)
            );
        }
        let internal = acme.with_kind(OrganisationKind::ProviderInternal, &team);
        assert_eq!(internal.as_ref().map(|o| o.kind), Ok(OrganisationKind::ProviderInternal));
        assert_eq!(internal.as_ref().map(|o| o.company_number.clone()), Ok(acme.company_number.clone()), "kept");
        assert_eq!(
            acme.with_kind(OrganisationKind::NonUk, &team).map_err(|e| e.to_string()),
            Err("this organisation has a company registration number on record, but for the kind \"Organisation \
                 outside the UK\" its ODS code stands in the number's place"
                .into())
        );
        let trust = NewOrganisation { kind: OrganisationKind::PublicHealthcare, company_number: None, ..acme };
        assert_eq!(trust.with_kind(OrganisationKind::Commercial, &team), Err(KindChangeError::CompanyNumberMissing));
        assert_eq!(
            trust.with_kind(OrganisationKind::ProviderInternal, &team).map(|o| o.kind),
            Ok(OrganisationKind::ProviderInternal)
        );
    }
}
