//! The API products a connection agreement can cover (SPEC §4 "API products applicable", TC-1 special terms).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One API product of the provider's catalogue. The declaration order is the catalogue order: lists of
/// products are kept sorted in it (`Ord` follows it), and special terms appear in it in an agreement's text.
///
/// Serialised as its slug (`pds-fhir`), which is also what the terms files and CSV imports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ApiProduct {
    #[serde(rename = "pds-fhir")]
    PdsFhir,
    #[serde(rename = "nhs-login")]
    NhsLogin,
    #[serde(rename = "nhs-notify")]
    NhsNotify,
    #[serde(rename = "nhsmail-third-party")]
    NhsmailThirdParty,
    #[serde(rename = "e-referral")]
    EReferral,
    #[serde(rename = "gp-connect")]
    GpConnect,
    #[serde(rename = "im1-pairing")]
    Im1Pairing,
}

/// Why a product or a list of products was refused; each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiProductError {
    #[error("{given:?} is not an API product; use one of: {}", ApiProduct::allowed_slugs())]
    Unknown { given: String },
    #[error("list at least one API product, separated by ; or , (one of: {})", ApiProduct::allowed_slugs())]
    Empty,
    #[error("{0} is listed more than once")]
    Duplicate(ApiProduct),
}

impl ApiProduct {
    /// Every product, in catalogue order.
    pub const ALL: [Self; 7] = [
        Self::PdsFhir,
        Self::NhsLogin,
        Self::NhsNotify,
        Self::NhsmailThirdParty,
        Self::EReferral,
        Self::GpConnect,
        Self::Im1Pairing,
    ];

    /// The stable identifier used in URLs, terms files, CSV files and the database.
    pub fn slug(self) -> &'static str {
        match self {
            Self::PdsFhir => "pds-fhir",
            Self::NhsLogin => "nhs-login",
            Self::NhsNotify => "nhs-notify",
            Self::NhsmailThirdParty => "nhsmail-third-party",
            Self::EReferral => "e-referral",
            Self::GpConnect => "gp-connect",
            Self::Im1Pairing => "im1-pairing",
        }
    }

    /// The display name shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Self::PdsFhir => "Personal Demographics Service FHIR API",
            Self::NhsLogin => "NHS login",
            Self::NhsNotify => "NHS Notify",
            Self::NhsmailThirdParty => "NHSmail secure email (third-party access)",
            Self::EReferral => "e-Referral Service FHIR API",
            Self::GpConnect => "GP Connect",
            Self::Im1Pairing => "IM1 Pairing Integration",
        }
    }

    /// Parses a list of slugs separated by `;` or `,` (`pds-fhir; gp-connect`). Each slug is trimmed and read
    /// case-insensitively; empty items (a trailing separator) are ignored. The list must name at least one
    /// product and none twice. The result is in catalogue order, whatever the order of the input.
    pub fn parse_list(raw: &str) -> Result<Vec<Self>, ApiProductError> {
        let mut products = Vec::new();
        for item in raw.split([';', ',']).map(str::trim).filter(|item| !item.is_empty()) {
            let product: Self = item.parse()?;
            if products.contains(&product) {
                return Err(ApiProductError::Duplicate(product));
            }
            products.push(product);
        }
        if products.is_empty() {
            return Err(ApiProductError::Empty);
        }
        products.sort_unstable();
        Ok(products)
    }

    fn allowed_slugs() -> String {
        Self::ALL.map(Self::slug).join(", ")
    }
}

impl FromStr for ApiProduct {
    type Err = ApiProductError;

    /// Accepts a slug, trimmed and in any case (`GP-Connect` is `gp-connect`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let given = s.trim();
        Self::ALL
            .into_iter()
            .find(|product| product.slug().eq_ignore_ascii_case(given))
            .ok_or_else(|| ApiProductError::Unknown { given: given.to_owned() })
    }
}

impl fmt::Display for ApiProduct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slugs_and_names_follow_the_catalogue() {
        let slugs = ApiProduct::ALL.map(ApiProduct::slug);
        assert_eq!(
            slugs,
            ["pds-fhir", "nhs-login", "nhs-notify", "nhsmail-third-party", "e-referral", "gp-connect", "im1-pairing"]
        );
        assert_eq!(ApiProduct::NhsmailThirdParty.to_string(), "NHSmail secure email (third-party access)");
        assert_eq!(ApiProduct::PdsFhir.name(), "Personal Demographics Service FHIR API");
        let mut sorted = ApiProduct::ALL;
        sorted.sort();
        assert_eq!(sorted, ApiProduct::ALL, "Ord is the catalogue order");
    }

    #[test]
    fn every_slug_parses_back_trimmed_and_in_any_case() {
        for product in ApiProduct::ALL {
            assert_eq!(product.slug().parse::<ApiProduct>(), Ok(product));
            assert_eq!(format!("  {}\t", product.slug().to_uppercase()).parse::<ApiProduct>(), Ok(product));
        }
    }

    #[test]
    fn an_unknown_slug_is_refused_with_the_allowed_ones() {
        let error = "pds".parse::<ApiProduct>().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("\"pds\" is not an API product"), "{error}");
        assert!(
            error.contains("pds-fhir, nhs-login, nhs-notify, nhsmail-third-party, e-referral, gp-connect, im1-pairing")
        );
    }

    #[test]
    fn serde_uses_the_slug() {
        for product in ApiProduct::ALL {
            assert_eq!(serde_json::to_string(&product).unwrap(), format!("\"{}\"", product.slug()));
            assert_eq!(serde_json::from_str::<ApiProduct>(&format!("\"{}\"", product.slug())).unwrap(), product);
        }
        assert!(serde_json::from_str::<ApiProduct>("\"nhs-mail\"").is_err());
    }

    #[test]
    fn a_list_is_split_on_semicolons_or_commas_and_sorted_in_catalogue_order() {
        assert_eq!(
            ApiProduct::parse_list(" im1-pairing; PDS-FHIR ,gp-connect;"),
            Ok(vec![ApiProduct::PdsFhir, ApiProduct::GpConnect, ApiProduct::Im1Pairing])
        );
        assert_eq!(ApiProduct::parse_list("nhs-notify"), Ok(vec![ApiProduct::NhsNotify]));
    }

    #[test]
    fn a_list_must_be_non_empty_without_duplicates_or_unknown_slugs() {
        assert_eq!(ApiProduct::parse_list(""), Err(ApiProductError::Empty));
        assert_eq!(ApiProduct::parse_list(" ; , "), Err(ApiProductError::Empty));
        assert_eq!(
            ApiProduct::parse_list("gp-connect;pds-fhir;GP-CONNECT"),
            Err(ApiProductError::Duplicate(ApiProduct::GpConnect))
        );
        assert_eq!(ApiProduct::parse_list("gp-connect;spine"), Err(ApiProductError::Unknown { given: "spine".into() }));
        assert_eq!(
            ApiProductError::Duplicate(ApiProduct::GpConnect).to_string(),
            "GP Connect is listed more than once"
        );
    }

    proptest! {
        #[test]
        fn any_subset_round_trips_through_parse_list(mask in 1u8..128, reverse: bool, comma: bool) {
            let mut chosen: Vec<ApiProduct> =
                ApiProduct::ALL.into_iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, p)| p).collect();
            let mut written = chosen.clone();
            if reverse {
                written.reverse();
            }
            let separator = if comma { ", " } else { ";" };
            let raw = written.iter().map(|p| p.slug()).collect::<Vec<_>>().join(separator);
            chosen.sort();
            prop_assert_eq!(ApiProduct::parse_list(&raw), Ok(chosen));
        }

        #[test]
        fn parse_list_never_panics(raw in "\\PC*") {
            let _ = ApiProduct::parse_list(&raw);
        }
    }
}
