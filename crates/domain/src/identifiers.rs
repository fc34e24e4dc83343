//! Identifiers that arrive as text: each parses once, at the edge, and names the rule it broke.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An Organisation Data Service code: 3 to 10 upper-case letters and digits (`X26`, `8JK45`).
/// Input is trimmed and upper-cased first, so `x26` is read as `X26`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OdsCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OdsCodeError {
    #[error("enter an ODS code")]
    Empty,
    #[error("an ODS code must be 3 to 10 characters long, for example X26 or 8JK45 (this one has {0})")]
    Length(usize),
    #[error("an ODS code may contain only letters A to Z and digits 0 to 9 (found {0:?})")]
    Character(char),
}

impl OdsCode {
    pub fn parse(raw: &str) -> Result<Self, OdsCodeError> {
        let value = raw.trim().to_ascii_uppercase();
        if value.is_empty() {
            return Err(OdsCodeError::Empty);
        }
        if let Some(bad) = value.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(OdsCodeError::Character(bad));
        }
        if !(3..=10).contains(&value.len()) {
            return Err(OdsCodeError::Length(value.len()));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Companies House registration number: 8 characters, either 8 digits or a 2-letter prefix from
/// [`CompanyNumber::PREFIXES`] followed by 6 digits. Spaces are removed and letters upper-cased first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CompanyNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompanyNumberError {
    #[error("enter a company registration number")]
    Empty,
    #[error(
        "a company registration number has only letters and digits, such as 01234567 or SC123456: remove the {0:?}"
    )]
    Character(char),
    #[error(
        "a company registration number must be 8 characters: 8 digits, or 2 letters such as SC, NI or OC then 6 digits (this one has {0})"
    )]
    Length(usize),
    #[error("a company registration number must be 8 digits, or 2 letters such as SC, NI or OC then 6 digits")]
    Shape,
    #[error("{0:?} is not a Companies House prefix (for example SC, NI, OC, SO or NC)")]
    UnknownPrefix(String),
}

impl CompanyNumber {
    /// Prefixes Companies House uses for bodies registered outside the plain England-and-Wales company register.
    pub const PREFIXES: &'static [&'static str] = &[
        "AC", "CE", "CS", "FC", "FE", "GE", "GN", "GS", "IC", "IP", "LP", "NA", "NC", "NF", "NI", "NL", "NO", "NP",
        "NR", "NV", "NZ", "OC", "R0", "RC", "RS", "SA", "SC", "SE", "SF", "SG", "SI", "SL", "SO", "SP", "SR", "SZ",
        "ZC",
    ];

    pub fn parse(raw: &str) -> Result<Self, CompanyNumberError> {
        let value: String = raw.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
        if value.is_empty() {
            return Err(CompanyNumberError::Empty);
        }
        if let Some(other) = value.chars().find(|c| !c.is_ascii_alphanumeric()) {
            return Err(CompanyNumberError::Character(other));
        }
        let length = value.len();
        if length != 8 {
            return Err(CompanyNumberError::Length(length));
        }
        if value.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self(value));
        }
        let (prefix, digits) = value.split_at(2);
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CompanyNumberError::Shape);
        }
        if !Self::PREFIXES.contains(&prefix) {
            return Err(CompanyNumberError::UnknownPrefix(prefix.to_owned()));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, personal or a group mailbox. The rule is deliberately the practical one (one `@`, a
/// local part, a domain with a dot, no spaces, at most 254 characters), not RFC 5322 in full. Stored
/// lower-cased, so sign-in and uniqueness do not depend on how someone typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailAddressError {
    #[error("enter an email address")]
    Empty,
    #[error("an email address must be 254 characters or fewer")]
    TooLong,
    #[error("an email address must not contain spaces")]
    Whitespace,
    #[error("an email address must contain exactly one @, like name@example.org")]
    At,
    #[error("an email address needs a name before the @, like name@example.org")]
    LocalPart,
    #[error("an email address needs a domain after the @ with a dot in it, like name@example.org")]
    Domain,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailAddressError> {
        let value = raw.trim().to_lowercase();
        if value.is_empty() {
            return Err(EmailAddressError::Empty);
        }
        if value.chars().count() > 254 {
            return Err(EmailAddressError::TooLong);
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailAddressError::Whitespace);
        }
        let mut parts = value.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(EmailAddressError::At);
        };
        if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') {
            return Err(EmailAddressError::LocalPart);
        }
        let labels_ok = domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(EmailAddressError::Domain);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which sequence a [`Reference`] belongs to; the prefix is its only difference.
pub trait ReferenceKind: Copy + Eq + Ord + std::hash::Hash + fmt::Debug {
    const PREFIX: &'static str;
}

/// Marker for connection agreement numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgreementSequence;
impl ReferenceKind for AgreementSequence {
    const PREFIX: &'static str = "CNTR";
}

/// Marker for case numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseSequence;
impl ReferenceKind for CaseSequence {
    const PREFIX: &'static str = "CS";
}

/// A sequence-allocated reference: a fixed prefix and 7 digits, such as `CNTR0000042` or `CS0000042`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference<K: ReferenceKind> {
    sequence: u32,
    kind: PhantomData<K>,
}

/// A connection agreement's number: `CNTR` and 7 digits, allocated in order without gaps.
pub type AgreementNumber = Reference<AgreementSequence>;
/// A case's number: `CS` and 7 digits, allocated in order without gaps.
pub type CaseNumber = Reference<CaseSequence>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("a reference must be {prefix} followed by 7 digits, for example {prefix}0000042")]
    Shape { prefix: &'static str },
    #[error("{prefix}0000000 is not a valid reference: numbering starts at 1")]
    Zero { prefix: &'static str },
    #[error("the {prefix} sequence is exhausted: numbers stop at 9999999")]
    Exhausted { prefix: &'static str },
}

impl<K: ReferenceKind> Reference<K> {
    pub const PREFIX: &'static str = K::PREFIX;
    const LAST: u32 = 9_999_999;

    /// The reference for the `sequence`-th allocation (1-based).
    pub fn from_sequence(sequence: i64) -> Result<Self, ReferenceError> {
        let prefix = K::PREFIX;
        if sequence <= 0 {
            return Err(ReferenceError::Zero { prefix });
        }
        match u32::try_from(sequence) {
            Ok(sequence) if sequence <= Self::LAST => Ok(Self { sequence, kind: PhantomData }),
            _ => Err(ReferenceError::Exhausted { prefix }),
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ReferenceError> {
        let prefix = K::PREFIX;
        let value = raw.trim();
        let digits = value
            .get(..prefix.len())
            .filter(|head| head.eq_ignore_ascii_case(prefix))
            .and_then(|_| value.get(prefix.len()..))
            .filter(|digits| digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(ReferenceError::Shape { prefix })?;
        let sequence: u32 = digits.parse().map_err(|_| ReferenceError::Shape { prefix })?;
        if sequence == 0 {
            return Err(ReferenceError::Zero { prefix });
        }
        Ok(Self { sequence, kind: PhantomData })
    }

    pub fn sequence(self) -> i64 {
        i64::from(self.sequence)
    }
}

impl<K: ReferenceKind> fmt::Display for Reference<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:07}", K::PREFIX, self.sequence)
    }
}

impl<K: ReferenceKind> FromStr for Reference<K> {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl<K: ReferenceKind> TryFrom<String> for Reference<K> {
    type Error = ReferenceError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl<K: ReferenceKind> From<Reference<K>> for String {
    fn from(value: Reference<K>) -> Self {
        value.to_string()
    }
}

macro_rules! text_newtype_conversions {
    ($name:ident, $error:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = $error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

text_newtype_conversions!(OdsCode, OdsCodeError);
text_newtype_conversions!(CompanyNumber, CompanyNumberError);
text_newtype_conversions!(EmailAddress, EmailAddressError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ods_codes_from_the_spec_parse() {
        assert_eq!(OdsCode::parse("X26").map(|c| c.to_string()), Ok("X26".into()));
        assert_eq!(OdsCode::parse(" 8jk45 ").map(|c| c.to_string()), Ok("8JK45".into()));
        assert_eq!(OdsCode::parse("X2"), Err(OdsCodeError::Length(2)));
        assert_eq!(OdsCode::parse("X-26"), Err(OdsCodeError::Character('-')));
        assert_eq!(OdsCode::parse("  "), Err(OdsCodeError::Empty));
    }

    #[test]
    fn company_numbers_accept_digits_and_known_prefixes_only() {
        assert!(CompanyNumber::parse("01234567").is_ok());
        assert_eq!(CompanyNumber::parse("sc 123456").map(|c| c.to_string()), Ok("SC123456".into()));
        assert_eq!(CompanyNumber::parse("XX123456"), Err(CompanyNumberError::UnknownPrefix("XX".into())));
        assert_eq!(CompanyNumber::parse("1234567"), Err(CompanyNumberError::Length(7)));
        assert_eq!(CompanyNumber::parse("SC12345A"), Err(CompanyNumberError::Shape));
    }

    #[test]
    fn company_numbers_are_letters_and_digits_only() {
        assert_eq!(CompanyNumber::parse("!!"), Err(CompanyNumberError::Character('!')));
        assert_eq!(CompanyNumber::parse("!!123456"), Err(CompanyNumberError::Character('!')));
        assert_eq!(CompanyNumber::parse("0123-4567"), Err(CompanyNumberError::Character('-')));
        // A letter of more than one byte is refused as a character, never split in the middle.
        assert_eq!(CompanyNumber::parse("€1234567"), Err(CompanyNumberError::Character('€')));
        assert_eq!(CompanyNumber::parse("É1234567"), Err(CompanyNumberError::Character('É')));
        let message = CompanyNumberError::Character('!').to_string();
        assert!(message.contains("only letters and digits") && message.contains("'!'"), "{message}");
    }

    #[test]
    fn email_addresses_are_lower_cased_and_need_a_dotted_domain() {
        assert_eq!(
            EmailAddress::parse(" Legal.Team@Example.ORG ").map(|e| e.to_string()),
            Ok("legal.team@example.org".into())
        );
        assert_eq!(EmailAddress::parse("a@b"), Err(EmailAddressError::Domain));
        assert_eq!(EmailAddress::parse("a@@b.com"), Err(EmailAddressError::At));
        assert_eq!(EmailAddress::parse("@b.com"), Err(EmailAddressError::LocalPart));
        assert_eq!(EmailAddress::parse("a b@c.com"), Err(EmailAddressError::Whitespace));
    }

    #[test]
    fn references_format_with_seven_digits() {
        assert_eq!(AgreementNumber::from_sequence(42).map(|n| n.to_string()), Ok("CNTR0000042".into()));
        assert_eq!(CaseNumber::from_sequence(1).map(|n| n.to_string()), Ok("CS0000001".into()));
        assert_eq!(AgreementNumber::from_sequence(0), Err(ReferenceError::Zero { prefix: "CNTR" }));
        assert_eq!(AgreementNumber::from_sequence(10_000_000), Err(ReferenceError::Exhausted { prefix: "CNTR" }));
        assert_eq!(AgreementNumber::parse("CS0000042"), Err(ReferenceError::Shape { prefix: "CNTR" }));
        assert_eq!(CaseNumber::parse("CNTR0000042"), Err(ReferenceError::Shape { prefix: "CS" }));
    }

    proptest! {
        #[test]
        fn ods_code_round_trips(code in "[A-Z0-9]{3,10}") {
            let parsed = OdsCode::parse(&code).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.as_str(), code.as_str());
            prop_assert_eq!(OdsCode::parse(&parsed.to_string()), Ok(parsed));
        }

        #[test]
        fn ods_code_rejects_wrong_lengths(code in "[A-Z0-9]{0,2}|[A-Z0-9]{11,20}") {
            prop_assert!(OdsCode::parse(&code).is_err());
        }

        #[test]
        fn ods_code_rejects_any_other_character(
            head in "[A-Z0-9]{1,4}", bad in "[^A-Za-z0-9\\s]", tail in "[A-Z0-9]{1,4}"
        ) {
            let candidate = format!("{head}{bad}{tail}");
            prop_assert!(OdsCode::parse(&candidate).is_err());
        }

        #[test]
        fn company_number_round_trips(digits in "[0-9]{8}", prefix in proptest::sample::select(CompanyNumber::PREFIXES), six in "[0-9]{6}") {
            for raw in [digits, format!("{prefix}{six}")] {
                let parsed = CompanyNumber::parse(&raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(parsed.as_str(), raw.as_str());
                prop_assert_eq!(CompanyNumber::parse(parsed.as_str()), Ok(parsed.clone()));
            }
        }

        #[test]
        fn company_number_rejects_near_misses(digits in "[0-9]{1,7}|[0-9]{9,12}", six in "[0-9]{6}", prefix in "[A-Z]{2}") {
            prop_assert!(CompanyNumber::parse(&digits).is_err());
            let with_prefix = format!("{prefix}{six}");
            prop_assert_eq!(CompanyNumber::parse(&with_prefix).is_ok(), CompanyNumber::PREFIXES.contains(&prefix.as_str()));
            let candidate = format!("{prefix}{six}0");
            prop_assert!(CompanyNumber::parse(&candidate).is_err());
        }

        #[test]
        fn email_round_trips(local in "[a-z0-9][a-z0-9._+-]{0,20}[a-z0-9]", domain in "[a-z0-9]{1,10}(\\.[a-z]{2,6}){1,2}") {
            let raw = format!("{local}@{domain}");
            let parsed = EmailAddress::parse(&raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed.as_str(), raw.as_str());
            prop_assert_eq!(EmailAddress::parse(&raw.to_uppercase()), Ok(parsed));
        }

        #[test]
        fn email_rejects_near_misses(local in "[a-z0-9]{1,10}", domain in "[a-z0-9]{1,10}") {
            let candidate = format!("{local}@{domain}");
            prop_assert!(EmailAddress::parse(&candidate).is_err(), "no dot in domain");
            let candidate = format!("{local}{domain}.org");
            prop_assert!(EmailAddress::parse(&candidate).is_err(), "no @");
            let candidate = format!("{local}@@{domain}.org");
            prop_assert!(EmailAddress::parse(&candidate).is_err(), "two @");
            let candidate = format!("{local} x@{domain}.org");
            prop_assert!(EmailAddress::parse(&candidate).is_err(), "space");
        }

        #[test]
        fn agreement_number_round_trips(sequence in 1_i64..=9_999_999) {
            let number = AgreementNumber::from_sequence(sequence).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(number.to_string().len(), 11);
            prop_assert_eq!(AgreementNumber::parse(&number.to_string()), Ok(number));
            prop_assert_eq!(number.sequence(), sequence);
        }

        #[test]
        fn agreement_number_rejects_near_misses(digits in "[0-9]{1,6}|[0-9]{8,9}", seven in "[0-9]{7}") {
            let candidate = format!("CNTR{digits}");
            prop_assert!(AgreementNumber::parse(&candidate).is_err());
            let candidate = format!("CNT{seven}");
            prop_assert!(AgreementNumber::parse(&candidate).is_err());
            let candidate = format!("CS{seven}");
            prop_assert!(AgreementNumber::parse(&candidate).is_err());
        }

        #[test]
        fn case_number_round_trips(sequence in 1_i64..=9_999_999) {
            let number = CaseNumber::from_sequence(sequence).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(CaseNumber::parse(&number.to_string()), Ok(number));
        }

        #[test]
        fn case_number_rejects_near_misses(digits in "[0-9]{1,6}|[0-9]{8,9}", seven in "[0-9]{7}") {
            let candidate = format!("CS{digits}");
            prop_assert!(CaseNumber::parse(&candidate).is_err());
            let candidate = format!("C{seven}");
            prop_assert!(CaseNumber::parse(&candidate).is_err());
            let candidate = format!("CS{seven}x");
            prop_assert!(CaseNumber::parse(&candidate).is_err());
        }
    }
}
