//! The provider's API catalogue (SPEC §4, DOS-2): which products exist, what they are called, which onboarding
//! flows apply to each and whether it is open-access (no technical-conformance stage).
//!
//! The catalogue is a TOML file (`products.toml`, format in `docs/FLOWS.md`) checked as a whole when it is
//! loaded, like a flow file: every problem with its file, line, column and reason. Once loaded it is stored, and
//! products that left the file stay known as *no longer offered*, so agreements that cover them keep their name.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use crate::api_product::{ApiProduct, ApiProductError};
use crate::flow::FlowCatalogue;
use crate::flow::file::{FlowProblem, did_you_mean, line_and_column};

/// The catalogue shipped with Onramp, compiled in so the binary runs from any folder.
pub const SHIPPED: (&str, &str) = ("products.toml", include_str!("../../../products.toml"));

/// The longest product name.
pub const NAME_MAX: usize = 120;

/// One API product of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub slug: ApiProduct,
    pub name: String,
    /// The ids of the onboarding flows an application for this product follows, at least one.
    pub flows: Vec<String>,
    /// An open-access product skips the technical-conformance stage of its flows.
    pub open_access: bool,
    /// Whether new agreements may cover it: false once it has left the catalogue file.
    pub offered: bool,
}

/// The products, offered ones first in the file's order, then those no longer offered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductCatalogue {
    products: Vec<Product>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    products: Vec<RawProduct>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProduct {
    slug: Spanned<String>,
    name: Spanned<String>,
    flows: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    open_access: bool,
}

impl ProductCatalogue {
    /// The shipped catalogue, checked against `flows`.
    pub fn shipped(flows: &FlowCatalogue) -> Result<Self, Vec<FlowProblem>> {
        Self::load(SHIPPED.0, SHIPPED.1, flows)
    }

    /// Reads a catalogue file (`file` names it in problems); every flow it names must be in `flows`.
    pub fn load(file: &str, text: &str, flows: &FlowCatalogue) -> Result<Self, Vec<FlowProblem>> {
        let mut problems = Vec::new();
        let mut at = |offset: usize, reason: String| {
            let (line, column) = line_and_column(text, offset);
            problems.push(FlowProblem { file: file.to_owned(), line, column, reason });
        };
        let raw: RawCatalogue = match toml::from_str(text) {
            Ok(raw) => raw,
            Err(error) => {
                at(error.span().map_or(0, |span| span.start), error.message().trim().to_owned());
                return Err(problems);
            }
        };
        if raw.products.is_empty() {
            at(0, "the catalogue must list at least one product under [[products]]".to_owned());
        }
        let mut slugs = BTreeSet::new();
        let mut names = BTreeSet::new();
        let mut products = Vec::new();
        for product in &raw.products {
            let slug = match ApiProduct::parse(product.slug.get_ref()) {
                Ok(slug) if slug.slug() != product.slug.get_ref() => {
                    at(product.slug.span().start, format!("write the slug in lower case: {slug}"));
                    None
                }
                Ok(slug) if !slugs.insert(slug.clone()) => {
                    at(product.slug.span().start, format!("the product {slug} is listed twice"));
                    None
                }
                Ok(slug) => Some(slug),
                Err(error) => {
                    at(product.slug.span().start, error.to_string());
                    None
                }
            };
            let name = product.name.get_ref().trim();
            if name.is_empty() || name.chars().count() > NAME_MAX || name.contains(['\r', '\n']) {
                at(product.name.span().start, format!("the name must be one line of 1 to {NAME_MAX} characters"));
            } else if !names.insert(name.to_lowercase()) {
                at(product.name.span().start, format!("another product is called {name:?} already"));
            }
            if product.flows.get_ref().is_empty() {
                at(product.flows.span().start, "name at least one onboarding flow, such as [\"standard-api\"]".into());
            }
            let mut seen = BTreeSet::new();
            for flow in product.flows.get_ref() {
                let id = flow.get_ref();
                if flows.get(id).is_none() {
                    let suggestion = did_you_mean(id, flows.iter().map(|flow| flow.id.as_str()));
                    at(flow.span().start, format!("there is no flow {id}{suggestion}"));
                } else if !seen.insert(id) {
                    at(flow.span().start, format!("the flow {id} is listed twice"));
                }
            }
            if let Some(slug) = slug {
                products.push(Product {
                    slug,
                    name: name.to_owned(),
                    flows: product.flows.get_ref().iter().map(|flow| flow.get_ref().clone()).collect(),
                    open_access: product.open_access,
                    offered: true,
                });
            }
        }
        if problems.is_empty() { Ok(Self { products }) } else { Err(problems) }
    }

    /// A catalogue of products read back from storage, in the order given.
    pub fn from_products(products: Vec<Product>) -> Self {
        Self { products }
    }

    /// Every product, offered or not.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The products new agreements may cover.
    pub fn offered(&self) -> impl Iterator<Item = &Product> {
        self.products.iter().filter(|product| product.offered)
    }

    pub fn get(&self, slug: &ApiProduct) -> Option<&Product> {
        self.products.iter().find(|product| &product.slug == slug)
    }

    /// The product's name, or its slug if the catalogue has never known it.
    pub fn name_of(&self, slug: &ApiProduct) -> String {
        self.get(slug).map_or_else(|| slug.to_string(), |product| product.name.clone())
    }

    /// The names of `products`, joined with commas, in catalogue order.
    pub fn names(&self, products: &[ApiProduct]) -> String {
        let mut ordered = products.to_vec();
        self.sort(&mut ordered);
        ordered.iter().map(|slug| self.name_of(slug)).collect::<Vec<_>>().join(", ")
    }

    /// Sorts products in catalogue order; products it does not know go last, by slug.
    pub fn sort(&self, products: &mut [ApiProduct]) {
        products.sort_by_cached_key(|slug| {
            (self.products.iter().position(|product| &product.slug == slug).unwrap_or(usize::MAX), slug.clone())
        });
    }

    /// Parses a list of slugs separated by `;` or `,` (`pds-fhir; gp-connect`), each trimmed and read in any
    /// case, empty items ignored. Each must be one of `allowed`; the list must name at least one and none twice.
    /// The result is in catalogue order, whatever the order of the input.
    pub fn parse_list(&self, raw: &str, allowed: &[ApiProduct]) -> Result<Vec<ApiProduct>, ApiProductError> {
        let listed = || allowed.iter().map(ApiProduct::slug).collect::<Vec<_>>().join(", ");
        let mut products = Vec::new();
        for item in raw.split([';', ',']).map(str::trim).filter(|item| !item.is_empty()) {
            let product = ApiProduct::parse(item)
                .ok()
                .filter(|product| allowed.contains(product))
                .ok_or_else(|| ApiProductError::Unknown { given: item.to_owned(), allowed: listed() })?;
            if products.contains(&product) {
                return Err(ApiProductError::Duplicate(self.name_of(&product)));
            }
            products.push(product);
        }
        if products.is_empty() {
            return Err(ApiProductError::Empty { allowed: listed() });
        }
        self.sort(&mut products);
        Ok(products)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flows() -> FlowCatalogue {
        FlowCatalogue::shipped().unwrap_or_else(|problems| panic!("{problems:#?}"))
    }

    fn slug(raw: &str) -> ApiProduct {
        ApiProduct::parse(raw).unwrap()
    }

    fn problems(text: &str) -> Vec<String> {
        match ProductCatalogue::load("products.toml", text, &flows()) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn the_shipped_catalogue_loads_in_file_order_with_its_flows() {
        let catalogue = ProductCatalogue::shipped(&flows()).unwrap_or_else(|problems| panic!("{problems:#?}"));
        let slugs: Vec<&str> = catalogue.offered().map(|product| product.slug.slug()).collect();
        assert_eq!(
            slugs,
            ["pds-fhir", "nhs-login", "nhs-notify", "nhsmail-third-party", "e-referral", "gp-connect", "im1-pairing"]
        );
        let login = catalogue.get(&slug("nhs-login")).unwrap();
        assert_eq!((login.name.as_str(), login.flows.as_slice()), ("NHS login", &["identity-service".to_owned()][..]));
        assert_eq!(catalogue.name_of(&slug("retired-api")), "retired-api", "an unknown slug shows as itself");
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let text = r#"
[[products]]
slug = "pds-fhir"
name = "PDS"
flows = ["standard-apl"]

[[products]]
slug = "pds-fhir"
name = "pds"
flows = []

[[products]]
slug = "Bad Slug"
name = ""
flows = ["standard-api", "standard-api"]
"#;
        assert_eq!(
            problems(text),
            [
                "products.toml:5:10: there is no flow standard-apl; did you mean standard-api?",
                "products.toml:8:8: the product pds-fhir is listed twice",
                "products.toml:9:8: another product is called \"pds\" already",
                "products.toml:10:9: name at least one onboarding flow, such as [\"standard-api\"]",
                "products.toml:13:8: \"Bad Slug\" is not a product slug: use lower-case letters, digits and single \
                 hyphens, starting with a letter (at most 64 characters), such as pds-fhir",
                "products.toml:14:8: the name must be one line of 1 to 120 characters",
                "products.toml:15:26: the flow standard-api is listed twice",
            ]
        );
    }

    #[test]
    fn syntax_unknown_keys_and_an_empty_catalogue_are_problems() {
        assert_eq!(problems("products = [")[0].split(':').take(3).collect::<Vec<_>>(), ["products.toml", "1", "13"]);
        let unknown = problems("[[products]]\nslug = \"x\"\nname = \"X\"\nflows = [\"standard-api\"]\nopen = true\n");
        assert!(unknown[0].starts_with("products.toml:5:1: unknown field `open`"), "{unknown:?}");
        assert_eq!(
            problems("products = []"),
            ["products.toml:1:1: the catalogue must list at least one product under [[products]]"]
        );
        assert_eq!(
            problems("[[products]]\nslug = \"PDS-fhir\"\nname = \"P\"\nflows = [\"standard-api\"]\n"),
            ["products.toml:2:8: write the slug in lower case: pds-fhir"]
        );
    }

    #[test]
    fn a_list_is_split_checked_against_the_allowed_products_and_sorted_in_catalogue_order() {
        let catalogue = ProductCatalogue::shipped(&flows()).unwrap();
        let all: Vec<ApiProduct> = catalogue.offered().map(|product| product.slug.clone()).collect();
        assert_eq!(
            catalogue.parse_list(" im1-pairing; PDS-FHIR ,gp-connect;", &all),
            Ok(vec![slug("pds-fhir"), slug("gp-connect"), slug("im1-pairing")])
        );
        assert!(matches!(catalogue.parse_list(" ; , ", &all), Err(ApiProductError::Empty { .. })));
        assert_eq!(
            catalogue.parse_list("gp-connect;pds-fhir;GP-CONNECT", &all),
            Err(ApiProductError::Duplicate("GP Connect".into()))
        );
        let error = catalogue.parse_list("gp-connect;nhs-login", &[slug("gp-connect")]).unwrap_err();
        assert_eq!(error.to_string(), "\"nhs-login\" is not an API product; use one of: gp-connect");
        assert_eq!(
            catalogue.names(&[slug("gp-connect"), slug("old-api"), slug("pds-fhir")]),
            "Personal Demographics Service FHIR API, GP Connect, old-api"
        );
    }

    proptest! {
        #[test]
        fn the_loader_never_panics(text in "\\PC*") {
            let _ = ProductCatalogue::load("products.toml", &text, &flows());
        }
    }
}
