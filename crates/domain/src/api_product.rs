//! The API products a connection agreement can cover (SPEC §4 "API products applicable", TC-1 special terms).
//!
//! A product is known by its slug. Which slugs exist, what they are called and which onboarding flows they
//! follow is data, the provider's catalogue ([`crate::catalogue`]), so a provider adds a product without a
//! rebuild; this type only guarantees that a slug is well formed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The slug of one API product (`pds-fhir`): the stable identifier used in URLs, the catalogue file, terms files,
/// CSV files and the database. Lower-case ASCII letters, digits and single hyphens, starting with a letter,
/// at most [`ApiProduct::MAX_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ApiProduct(String);

/// Why a product or a list of products was refused; each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiProductError {
    #[error(
        "{given:?} is not a product slug: use lower-case letters, digits and single hyphens, starting with a letter \
         (at most {} characters), such as pds-fhir",
        ApiProduct::MAX_LEN
    )]
    Malformed { given: String },
    #[error("{given:?} is not an API product; use one of: {allowed}")]
    Unknown { given: String, allowed: String },
    #[error("list at least one API product, separated by ; or , (one of: {allowed})")]
    Empty { allowed: String },
    #[error("{0} is listed more than once")]
    Duplicate(String),
}

impl ApiProduct {
    pub const MAX_LEN: usize = 64;

    /// Reads a slug, trimmed and in any case (`GP-Connect` is `gp-connect`).
    pub fn parse(raw: &str) -> Result<Self, ApiProductError> {
        let slug = raw.trim().to_ascii_lowercase();
        let well_formed = slug.len() <= Self::MAX_LEN
            && slug.starts_with(|c: char| c.is_ascii_lowercase())
            && !slug.ends_with('-')
            && !slug.contains("--")
            && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if well_formed { Ok(Self(slug)) } else { Err(ApiProductError::Malformed { given: raw.trim().to_owned() }) }
    }

    pub fn slug(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ApiProduct {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// The slug; a page shows the catalogue's name instead ([`crate::catalogue::ProductCatalogue::name_of`]).
impl fmt::Display for ApiProduct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_slug_is_trimmed_and_lower_cased() {
        assert_eq!(ApiProduct::parse("  GP-Connect\t").map(|p| p.slug().to_owned()), Ok("gp-connect".to_owned()));
        assert_eq!(ApiProduct::parse("nhs111-online").map(|p| p.to_string()), Ok("nhs111-online".to_owned()));
    }

    #[test]
    fn a_malformed_slug_is_refused_with_the_rule() {
        for bad in ["", "-pds", "pds-", "pds--fhir", "1pds", "pds fhir", "pds_fhir", "pdś", &"a".repeat(65)] {
            let error = ApiProduct::parse(bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("is not a product slug: use lower-case letters"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn serde_uses_the_slug_and_checks_it() {
        let product = ApiProduct::parse("pds-fhir").unwrap();
        assert_eq!(serde_json::to_string(&product).unwrap(), "\"pds-fhir\"");
        assert_eq!(serde_json::from_str::<ApiProduct>("\"pds-fhir\"").unwrap(), product);
        assert!(serde_json::from_str::<ApiProduct>("\"nhs mail\"").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_what_it_accepts_round_trips(raw in "\\PC*") {
            if let Ok(product) = ApiProduct::parse(&raw) {
                prop_assert_eq!(ApiProduct::parse(product.slug()), Ok(product.clone()));
            }
        }
    }
}
