//! Terms and conditions versions (SPEC TC-1, TC-2, TC-3).
//!
//! A version is read from a TOML file in `terms/` (format: `terms/README.md`), checked against the rules of that
//! format, and can then produce the exact text a connecting party accepts for a set of API products
//! ([`TermsVersion::agreement_text`]), its SHA-256 ([`sha256_hex`]), and a clause-by-clause difference from another
//! version ([`diff`]). The versions shipped with Onramp are embedded in the binary ([`TermsCatalogue::shipped`]).

use std::collections::{BTreeMap, HashSet};

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ApiProduct;
use crate::catalogue::ProductCatalogue;

/// How a version was accepted: version 5 was signed on paper; from version 6 agreements are accepted in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Paper,
    Digital,
}

/// One published version of the terms (TC-1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TermsVersion {
    pub version: u32,
    pub title: String,
    pub published_on: Date,
    pub medium: Medium,
    /// One sentence per change against the previous version.
    pub summary_of_changes: Vec<String>,
    /// The standard terms, numbered "1", "2", … in order.
    pub standard: Vec<Clause>,
    /// Special terms for API products, at most one block per product.
    pub special: Vec<SpecialTerms>,
    /// Appendix 1A, the End User Organisation Acceptable Use Policy.
    pub appendix_1a: Appendix,
}

/// One numbered clause. `text` is plain text whose paragraphs are separated by a blank line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub number: String,
    pub heading: String,
    pub text: String,
}

/// The special terms for one API product: an appendix whose heading names the product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecialTerms {
    pub product: ApiProduct,
    pub heading: String,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Appendix {
    pub heading: String,
    pub clauses: Vec<Clause>,
}

/// Why a terms file (or a hand-built version) was refused. Every message names the file; where the position is
/// known it names the line too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// The file is not valid TOML, or does not have the shape described in `terms/README.md`.
    #[error("{file}{}: {reason}", at_line(*.line))]
    Format { file: String, line: Option<usize>, reason: String },
    /// The file has the right shape but breaks one of the rules of the format.
    #[error("{file}{}: {}{rule}", at_line(*.line), .clause.as_ref().map(|n| format!("clause {n}: ")).unwrap_or_default())]
    Rule { file: String, line: Option<usize>, clause: Option<String>, rule: String },
    /// Two files claim the same version number.
    #[error("terms version {version} is given more than once")]
    DuplicateVersion { version: u32 },
}

fn at_line(line: Option<usize>) -> String {
    line.map(|line| format!(", line {line}")).unwrap_or_default()
}

impl TermsError {
    /// The file (or label) the error is about, if it is about one file.
    pub fn file(&self) -> Option<&str> {
        match self {
            Self::Format { file, .. } | Self::Rule { file, .. } => Some(file),
            Self::DuplicateVersion { .. } => None,
        }
    }

    /// The 1-based line of the file the error points at, where known.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Format { line, .. } | Self::Rule { line, .. } => *line,
            Self::DuplicateVersion { .. } => None,
        }
    }
}

impl TermsVersion {
    /// Reads one terms file. `file_name` is used in error messages and, when it has the form `vN.toml`
    /// (optionally after a directory), must agree with the `version` inside.
    ///
    /// Clause texts are normalised as they are read: line endings become `\n`, trailing spaces of each line and
    /// blank lines at the start and end are removed, and numbers and headings are trimmed.
    pub fn parse(file_name: &str, text: &str) -> Result<Self, TermsError> {
        let mut version: Self = toml::from_str(text).map_err(|error| TermsError::Format {
            file: file_name.to_owned(),
            line: error.span().map(|span| line_at(text, span.start)),
            reason: error.message().trim().to_owned(),
        })?;
        version.normalise();
        let checked = version.check().and_then(|()| version.check_file_name(file_name));
        match checked {
            Ok(()) => Ok(version),
            Err(violation) => Err(TermsError::Rule {
                file: file_name.to_owned(),
                line: line_of(text, violation.at),
                clause: violation.clause,
                rule: violation.rule,
            }),
        }
    }

    /// The special terms for `product` in this version, if it has any.
    pub fn special_terms(&self, product: &ApiProduct) -> Option<&SpecialTerms> {
        self.special.iter().find(|special| &special.product == product)
    }

    /// The canonical plain text that a connecting party accepts for an agreement on this version covering
    /// `products` (TC-3): a title line with the version and publication date, the standard terms, one appendix of
    /// special terms per product (in the order of this version's file, whatever the order or repetition of
    /// `products`), then
    /// Appendix 1A. A product for which this version has no special terms adds nothing: it is covered by the
    /// standard terms alone (the agreement record, not this text, lists the products).
    ///
    /// The text is deterministic: lines end in `\n`, no line has trailing whitespace, and it ends with one `\n`.
    /// Store it and its [`sha256_hex`] with an acceptance.
    pub fn agreement_text(&self, products: &[ApiProduct]) -> String {
        let mut out = String::new();
        push_line(
            &mut out,
            &format!("{}, version {}, published on {}", self.title.trim(), self.version, self.published_on),
        );
        push_part(&mut out, "Standard terms", &self.standard);
        for special in self.special.iter().filter(|special| products.contains(&special.product)) {
            push_part(&mut out, &special.heading, &special.clauses);
        }
        push_part(&mut out, &self.appendix_1a.heading, &self.appendix_1a.clauses);
        let mut text = normalise_text(&out);
        text.push('\n');
        text
    }

    fn normalise(&mut self) {
        self.title = self.title.trim().to_owned();
        for change in &mut self.summary_of_changes {
            *change = change.trim().to_owned();
        }
        let clauses = self
            .standard
            .iter_mut()
            .chain(self.special.iter_mut().flat_map(|special| special.clauses.iter_mut()))
            .chain(self.appendix_1a.clauses.iter_mut());
        for clause in clauses {
            clause.number = clause.number.trim().to_owned();
            clause.heading = clause.heading.trim().to_owned();
            clause.text = normalise_text(&clause.text);
        }
        for special in &mut self.special {
            special.heading = special.heading.trim().to_owned();
        }
        self.appendix_1a.heading = self.appendix_1a.heading.trim().to_owned();
    }

    /// The rules of `terms/README.md` that serde cannot express.
    fn check(&self) -> Result<(), Violation> {
        if self.version < 1 {
            return Err(Violation::at(Locus::Version, "the version number must be 1 or more"));
        }
        if self.title.trim().is_empty() {
            return Err(Violation::at(Locus::Title, "the title must not be empty"));
        }
        if self.standard.is_empty() {
            return Err(Violation::at(Locus::Nowhere, "the standard terms must have at least one clause"));
        }
        for (index, clause) in self.standard.iter().enumerate() {
            let expected = (index + 1).to_string();
            if clause.number != expected {
                return Err(Violation::clause(
                    Locus::Standard(index),
                    &clause.number,
                    format!(
                        "the standard terms must be numbered 1, 2, 3 ... in order: expected clause {expected} here"
                    ),
                ));
            }
            check_clause(clause, Locus::Standard(index))?;
        }
        let mut products = Vec::new();
        for (index, special) in self.special.iter().enumerate() {
            let product = &special.product;
            if products.contains(&product) {
                return Err(Violation::at(
                    Locus::Special(index),
                    format!("the special terms for {product} appear more than once"),
                ));
            }
            products.push(product);
            if special.heading.is_empty() {
                return Err(Violation::at(
                    Locus::Special(index),
                    format!("the special terms for {product} must have a heading"),
                ));
            }
            if special.clauses.is_empty() {
                return Err(Violation::at(
                    Locus::Special(index),
                    format!("the special terms for {} must have at least one clause", product.slug()),
                ));
            }
            for (clause_index, clause) in special.clauses.iter().enumerate() {
                check_clause(clause, Locus::SpecialClause(index, clause_index))?;
            }
        }
        if self.appendix_1a.heading.is_empty() {
            return Err(Violation::at(Locus::Appendix, "Appendix 1A must have a heading"));
        }
        if self.appendix_1a.clauses.is_empty() {
            return Err(Violation::at(Locus::Appendix, "Appendix 1A must have at least one clause"));
        }
        for (index, clause) in self.appendix_1a.clauses.iter().enumerate() {
            check_clause(clause, Locus::AppendixClause(index))?;
        }
        let mut seen = HashSet::new();
        for (locus, clause) in self.clauses_with_locus() {
            if !seen.insert(clause.number.as_str()) {
                return Err(Violation::clause(locus, &clause.number, "clause numbers must be unique within a version"));
            }
        }
        Ok(())
    }

    fn check_file_name(&self, file_name: &str) -> Result<(), Violation> {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let named =
            base.strip_prefix('v').and_then(|rest| rest.strip_suffix(".toml")).and_then(|n| n.parse::<u32>().ok());
        match named {
            Some(named) if named != self.version => Err(Violation::at(
                Locus::Version,
                format!("the file is named for version {named} but holds version {}", self.version),
            )),
            _ => Ok(()),
        }
    }

    fn clauses_with_locus(&self) -> impl Iterator<Item = (Locus, &Clause)> {
        let standard = self.standard.iter().enumerate().map(|(i, clause)| (Locus::Standard(i), clause));
        let special = self.special.iter().enumerate().flat_map(|(i, special)| {
            special.clauses.iter().enumerate().map(move |(j, clause)| (Locus::SpecialClause(i, j), clause))
        });
        let appendix =
            self.appendix_1a.clauses.iter().enumerate().map(|(i, clause)| (Locus::AppendixClause(i), clause));
        standard.chain(special).chain(appendix)
    }
}

fn check_clause(clause: &Clause, locus: Locus) -> Result<(), Violation> {
    if clause.number.is_empty() {
        return Err(Violation::at(locus, "every clause must have a number"));
    }
    if clause.heading.is_empty() {
        return Err(Violation::clause(locus, &clause.number, "every clause must have a heading"));
    }
    if clause.text.is_empty() {
        return Err(Violation::clause(locus, &clause.number, "every clause must have a text"));
    }
    Ok(())
}

/// A broken rule, with where in the file it was found so the line can be looked up.
struct Violation {
    at: Locus,
    clause: Option<String>,
    rule: String,
}

impl Violation {
    fn at(at: Locus, rule: impl Into<String>) -> Self {
        Self { at, clause: None, rule: rule.into() }
    }

    fn clause(at: Locus, number: &str, rule: impl Into<String>) -> Self {
        Self { at, clause: Some(number.to_owned()), rule: rule.into() }
    }
}

#[derive(Debug, Clone, Copy)]
enum Locus {
    Nowhere,
    Version,
    Title,
    Standard(usize),
    Special(usize),
    SpecialClause(usize, usize),
    Appendix,
    AppendixClause(usize),
}

/// The positions of the values that rule errors point at; read again only when a rule is broken.
#[derive(Deserialize)]
struct SpanIndex {
    version: toml::Spanned<u32>,
    title: toml::Spanned<String>,
    standard: Vec<ClauseSpan>,
    special: Vec<SpecialSpan>,
    appendix_1a: AppendixSpan,
}

#[derive(Deserialize)]
struct ClauseSpan {
    number: toml::Spanned<String>,
}

#[derive(Deserialize)]
struct SpecialSpan {
    product: toml::Spanned<String>,
    clauses: Vec<ClauseSpan>,
}

#[derive(Deserialize)]
struct AppendixSpan {
    heading: toml::Spanned<String>,
    clauses: Vec<ClauseSpan>,
}

fn line_of(text: &str, locus: Locus) -> Option<usize> {
    let index: SpanIndex = toml::from_str(text).ok()?;
    let span = match locus {
        Locus::Nowhere => return None,
        Locus::Version => index.version.span(),
        Locus::Title => index.title.span(),
        Locus::Standard(i) => index.standard.get(i)?.number.span(),
        Locus::Special(i) => index.special.get(i)?.product.span(),
        Locus::SpecialClause(i, j) => index.special.get(i)?.clauses.get(j)?.number.span(),
        Locus::Appendix => index.appendix_1a.heading.span(),
        Locus::AppendixClause(i) => index.appendix_1a.clauses.get(i)?.number.span(),
    };
    Some(line_at(text, span.start))
}

/// The 1-based line holding byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Line endings to `\n`, trailing whitespace of each line removed, blank lines at both ends removed.
fn normalise_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    lines.join("\n").trim_matches('\n').to_owned()
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push('\n');
}

fn push_part(out: &mut String, heading: &str, clauses: &[Clause]) {
    push_line(out, "");
    push_line(out, heading.trim());
    for clause in clauses {
        push_line(out, "");
        push_line(out, &clause_title(clause));
        push_line(out, "");
        push_line(out, &normalise_text(&clause.text));
    }
}

/// "1. Definitions" for the numbered standard terms; "PDS.1 Access modes" where the number already has a dot.
fn clause_title(clause: &Clause) -> String {
    let number = clause.number.trim();
    let heading = clause.heading.trim();
    if number.contains('.') { format!("{number} {heading}") } else { format!("{number}. {heading}") }
}

/// The lower-case hexadecimal SHA-256 of the UTF-8 bytes of `text` (TC-3).
pub fn sha256_hex(text: &str) -> String {
    lower_hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hexadecimal of `bytes`.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The versions Onramp knows, by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsCatalogue {
    versions: BTreeMap<u32, TermsVersion>,
}

/// The terms files shipped with Onramp, embedded at build time: (file name, contents).
const SHIPPED: [(&str, &str); 3] = [
    ("terms/v5.toml", include_str!("../../../terms/v5.toml")),
    ("terms/v6.toml", include_str!("../../../terms/v6.toml")),
    ("terms/v7.toml", include_str!("../../../terms/v7.toml")),
];

impl TermsCatalogue {
    /// The versions shipped in `terms/` (5, 6 and 7).
    pub fn shipped() -> Result<Self, TermsError> {
        let versions =
            SHIPPED.iter().map(|(file, text)| TermsVersion::parse(file, text)).collect::<Result<Vec<_>, _>>()?;
        Self::from_versions(versions)
    }

    /// A catalogue of the given versions. Each is checked against the same rules as a parsed file (errors name it
    /// "terms version N"), and no version number may appear twice.
    pub fn from_versions(versions: Vec<TermsVersion>) -> Result<Self, TermsError> {
        let mut by_number = BTreeMap::new();
        for mut version in versions {
            let label = format!("terms version {}", version.version);
            version.normalise();
            version.check().map_err(|violation| TermsError::Rule {
                file: label,
                line: None,
                clause: violation.clause,
                rule: violation.rule,
            })?;
            let number = version.version;
            if by_number.insert(number, version).is_some() {
                return Err(TermsError::DuplicateVersion { version: number });
            }
        }
        Ok(Self { versions: by_number })
    }

    pub fn get(&self, version: u32) -> Option<&TermsVersion> {
        self.versions.get(&version)
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl DoubleEndedIterator<Item = &TermsVersion> + ExactSizeIterator {
        self.versions.values()
    }

    /// The highest version number.
    pub fn latest(&self) -> Option<&TermsVersion> {
        self.versions.values().next_back()
    }

    /// Every product with special terms in some version must be one the catalogue knows (offered or not), so
    /// a misspelt slug in a terms file stops start-up instead of silently adding nothing to an agreement.
    pub fn check_products(&self, catalogue: &ProductCatalogue) -> Result<(), TermsError> {
        for version in self.versions() {
            if let Some(special) = version.special.iter().find(|special| catalogue.get(&special.product).is_none()) {
                return Err(TermsError::Rule {
                    file: format!("terms version {}", version.version),
                    line: None,
                    clause: None,
                    rule: format!(
                        "it has special terms for {}, which is not a product of the catalogue",
                        special.product
                    ),
                });
            }
        }
        Ok(())
    }
}

/// What happened to one clause between two versions (TC-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClauseChange {
    /// "Standard terms", the heading of a product's special terms, or the heading of Appendix 1A.
    pub part: String,
    pub number: String,
    /// The heading in the newer version (in the older one for a removed clause).
    pub heading: String,
    pub change: Change,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Added {
        text: String,
    },
    Removed {
        text: String,
    },
    /// The heading or the text differs. `previous_heading` is set only when the heading changed.
    Changed {
        previous_heading: Option<String>,
        before: String,
        after: String,
    },
    Unchanged,
}

/// The part name used for the standard terms in a [`ClauseChange`].
pub const STANDARD_TERMS: &str = "Standard terms";

/// The clause-by-clause difference from `from` to `to` (TC-2). Clauses are matched by number within each part:
/// the standard terms, each product's special terms (in the order of `to`, then those only `from` has; special terms that exist in
/// only one version count as wholly added or removed), and Appendix 1A. Within a part the clauses follow the order
/// of `to`, and clauses that `to` no longer has come last, in the order of `from`.
pub fn diff(from: &TermsVersion, to: &TermsVersion) -> Vec<ClauseChange> {
    let mut changes = Vec::new();
    diff_part(&mut changes, STANDARD_TERMS, &from.standard, &to.standard);
    let products = to.special.iter().chain(&from.special).map(|special| &special.product);
    let mut seen = HashSet::new();
    for product in products.filter(|product| seen.insert(*product)) {
        let (before, after) = (from.special_terms(product), to.special_terms(product));
        let Some(part) = after.or(before).map(|special| special.heading.as_str()) else {
            continue;
        };
        diff_part(&mut changes, part, clauses_of(before), clauses_of(after));
    }
    diff_part(&mut changes, &to.appendix_1a.heading, &from.appendix_1a.clauses, &to.appendix_1a.clauses);
    changes
}

fn clauses_of(special: Option<&SpecialTerms>) -> &[Clause] {
    special.map(|special| special.clauses.as_slice()).unwrap_or_default()
}

fn diff_part(changes: &mut Vec<ClauseChange>, part: &str, before: &[Clause], after: &[Clause]) {
    let find = |clauses: &'_ [Clause], number: &str| clauses.iter().find(|clause| clause.number == number).cloned();
    for clause in after {
        let change = match find(before, &clause.number) {
            None => Change::Added { text: clause.text.clone() },
            Some(old) if old.heading == clause.heading && old.text == clause.text => Change::Unchanged,
            Some(old) => Change::Changed {
                previous_heading: (old.heading != clause.heading).then_some(old.heading),
                before: old.text,
                after: clause.text.clone(),
            },
        };
        changes.push(ClauseChange {
            part: part.to_owned(),
            number: clause.number.clone(),
            heading: clause.heading.clone(),
            change,
        });
    }
    for clause in before.iter().filter(|clause| find(after, &clause.number).is_none()) {
        changes.push(ClauseChange {
            part: part.to_owned(),
            number: clause.number.clone(),
            heading: clause.heading.clone(),
            change: Change::Removed { text: clause.text.clone() },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(slug: &str) -> ApiProduct {
        ApiProduct::parse(slug).unwrap()
    }

    fn catalogue() -> TermsCatalogue {
        TermsCatalogue::shipped().unwrap()
    }

    const MINIMAL: &str = r#"version = 9
title = "Connection Agreement"
published_on = "2030-01-01"
medium = "digital"
summary_of_changes = ["A change."]

[[standard]]
number = "1"
heading = "Definitions"
text = """
Words mean things.
"""

[[standard]]
number = "2"
heading = "Term"
text = "It lasts."

[[special]]
product = "nhs-login"
heading = "Special Terms: NHS login"

[[special.clauses]]
number = "NHSL.1"
heading = "Scopes"
text = "Ask for little."

[appendix_1a]
heading = "Appendix 1A: End User Organisation Acceptable Use Policy"

[[appendix_1a.clauses]]
number = "1A.1"
heading = "Purpose"
text = "Behave."
"#;

    fn rule_error(text: &str) -> (Option<usize>, Option<String>, String) {
        match TermsVersion::parse("terms/v9.toml", text) {
            Err(TermsError::Rule { file, line, clause, rule }) => {
                assert_eq!(file, "terms/v9.toml");
                (line, clause, rule)
            }
            other => panic!("expected a rule error, got {other:?}"),
        }
    }

    #[test]
    fn tc1_the_shipped_catalogue_loads_versions_5_6_and_7() {
        let catalogue = catalogue();
        let numbers: Vec<u32> = catalogue.versions().map(|v| v.version).collect();
        assert_eq!(numbers, [5, 6, 7]);
        assert_eq!(catalogue.latest().map(|v| v.version), Some(7));
        let v5 = catalogue.get(5).unwrap();
        assert_eq!(v5.medium, Medium::Paper);
        assert_eq!(v5.published_on, jiff::civil::date(2021, 4, 1));
        let v5_products: Vec<ApiProduct> = v5.special.iter().map(|s| s.product.clone()).collect();
        assert_eq!(
            v5_products,
            [product("pds-fhir"), product("e-referral"), product("gp-connect"), product("im1-pairing")]
        );
        assert_eq!(catalogue.get(6).map(|v| v.medium), Some(Medium::Digital));
        assert_eq!(catalogue.get(7).map(|v| v.published_on), Some(jiff::civil::date(2026, 12, 1)));
        assert!(catalogue.get(4).is_none());
        for version in catalogue.versions() {
            assert!(!version.summary_of_changes.is_empty());
            assert!(version.appendix_1a.heading.starts_with("Appendix 1A"));
        }
    }

    #[test]
    fn tc1_clause_texts_are_normalised_when_read() {
        let v6 = catalogue().get(6).cloned().unwrap();
        let first = &v6.standard[0];
        assert!(first.text.starts_with("In this Agreement:"));
        assert!(!first.text.ends_with('\n'));
        assert!(first.text.contains("\n\nHeadings are for convenience only."));
    }

    #[test]
    fn tc3_agreement_text_holds_the_chosen_products_special_terms_and_appendix_1a() {
        let catalogue = catalogue();
        let v6 = catalogue.get(6).unwrap();
        let text = v6.agreement_text(&[product("gp-connect"), product("pds-fhir")]);
        assert!(text.starts_with("Connection Agreement, version 6, published on 2025-08-01\n\nStandard terms\n\n"));
        assert!(text.contains("\n1. Definitions and interpretation\n\nIn this Agreement:"));
        assert!(text.contains("\nSpecial Terms: GP Connect\n\nGPC.1 Assured capabilities\n"));
        assert!(text.contains("\nSpecial Terms: Personal Demographics Service FHIR API\n"));
        assert!(
            text.contains(
                "\nAppendix 1A: End User Organisation Acceptable Use Policy\n\n1A.1 Purpose and application\n"
            )
        );
        assert!(!text.contains("Special Terms: NHS login"));
        assert!(!text.contains("IM1 Pairing"));
        let pds = text.find("Special Terms: Personal Demographics").unwrap();
        let gpc = text.find("Special Terms: GP Connect").unwrap();
        let appendix = text.find("Appendix 1A:").unwrap();
        assert!(pds < gpc && gpc < appendix, "catalogue order, appendix last");
        assert!(text.ends_with("with it.\n"), "{}", &text[text.len() - 40..]);
        assert!(!text.contains('\r') && text.lines().all(|line| line == line.trim_end()));
        assert!(!text.contains("\n\n\n"));
    }

    #[test]
    fn tc3_agreement_text_is_deterministic_and_skips_products_without_special_terms() {
        let catalogue = catalogue();
        let v5 = catalogue.get(5).unwrap();
        let one = v5.agreement_text(&[product("pds-fhir")]);
        let same = v5.agreement_text(&[product("nhs-login"), product("pds-fhir"), product("pds-fhir")]);
        assert_eq!(one, same, "v5 has no NHS login terms; order and repetition do not matter");
        assert_eq!(sha256_hex(&one), sha256_hex(&same));
        let other = v5.agreement_text(&[product("gp-connect")]);
        assert_ne!(sha256_hex(&one), sha256_hex(&other));
    }

    #[test]
    fn tc3_sha256_of_known_strings() {
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn tc2_diff_v6_to_v7_matches_the_summary_of_changes() {
        let catalogue = catalogue();
        let changes = diff(catalogue.get(6).unwrap(), catalogue.get(7).unwrap());
        let find = |part: &str, number: &str| {
            changes.iter().find(|c| c.part.starts_with(part) && c.number == number).map(|c| &c.change)
        };
        assert!(
            matches!(find(STANDARD_TERMS, "16"), Some(Change::Added { text }) if text.contains("artificial intelligence"))
        );
        for number in ["5", "6", "8"] {
            assert!(
                matches!(find(STANDARD_TERMS, number), Some(Change::Changed { previous_heading: None, .. })),
                "clause {number}"
            );
        }
        assert_eq!(find(STANDARD_TERMS, "1"), Some(&Change::Unchanged));
        assert!(matches!(find("Special Terms: Personal Demographics", "PDS.3"), Some(Change::Changed { .. })));
        assert!(matches!(find("Special Terms: NHS Notify", "NOTIFY.2"), Some(Change::Changed { .. })));
        assert!(matches!(find("Appendix 1A", "1A.6"), Some(Change::Changed { .. })));
        let changed: Vec<&str> =
            changes.iter().filter(|c| c.change != Change::Unchanged).map(|c| c.number.as_str()).collect();
        assert_eq!(changed, ["5", "6", "8", "16", "PDS.3", "NOTIFY.2", "1A.6"]);
        let standard: Vec<&str> =
            changes.iter().filter(|c| c.part == STANDARD_TERMS).map(|c| c.number.as_str()).collect();
        assert_eq!(standard, (1..=16).map(|n| n.to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn tc2_diff_v5_to_v6_reports_new_special_terms_as_added() {
        let catalogue = catalogue();
        let changes = diff(catalogue.get(5).unwrap(), catalogue.get(6).unwrap());
        let login: Vec<&ClauseChange> = changes.iter().filter(|c| c.part == "Special Terms: NHS login").collect();
        assert_eq!(login.len(), 3);
        assert!(login.iter().all(|c| matches!(c.change, Change::Added { .. })));
        let parts: Vec<&str> = changes.iter().map(|c| c.part.as_str()).collect();
        let mut deduped = parts.clone();
        deduped.dedup();
        assert_eq!(deduped.first(), Some(&STANDARD_TERMS));
        assert_eq!(deduped.get(1), Some(&"Special Terms: Personal Demographics Service FHIR API"));
        assert_eq!(deduped.last(), Some(&"Appendix 1A: End User Organisation Acceptable Use Policy"));
    }

    #[test]
    fn tc2_diff_orders_removed_clauses_last_and_reports_heading_changes() {
        let before = TermsVersion::parse("test.toml", MINIMAL).unwrap();
        let mut after = before.clone();
        after.standard.remove(0);
        after.standard[0].heading = "Duration".into();
        after.standard.push(Clause { number: "3".into(), heading: "New".into(), text: "New text.".into() });
        let changes = diff(&before, &after);
        let summary: Vec<(&str, &Change)> = changes.iter().map(|c| (c.number.as_str(), &c.change)).collect();
        assert_eq!(
            summary[0],
            (
                "2",
                &Change::Changed {
                    previous_heading: Some("Term".into()),
                    before: "It lasts.".into(),
                    after: "It lasts.".into()
                }
            )
        );
        assert_eq!(summary[1], ("3", &Change::Added { text: "New text.".into() }));
        assert_eq!(summary[2], ("1", &Change::Removed { text: "Words mean things.".into() }));
        assert_eq!(changes[2].heading, "Definitions");
        assert_eq!(summary[3], ("NHSL.1", &Change::Unchanged));
        assert_eq!(summary[4], ("1A.1", &Change::Unchanged));
    }

    #[test]
    fn a_minimal_version_parses() {
        let version = TermsVersion::parse("terms/v9.toml", MINIMAL).unwrap();
        assert_eq!(version.version, 9);
        assert_eq!(version.standard[0].text, "Words mean things.");
        assert_eq!(version.special_terms(&product("nhs-login")).map(|s| s.clauses.len()), Some(1));
    }

    #[test]
    fn a_toml_syntax_error_names_the_file_and_line() {
        let broken = MINIMAL.replace("heading = \"Term\"", "heading = \"Term");
        let error = TermsVersion::parse("terms/v9.toml", &broken).unwrap_err();
        assert_eq!(error.file(), Some("terms/v9.toml"));
        assert_eq!(error.line(), Some(16), "{error}");
        assert!(error.to_string().starts_with("terms/v9.toml, line 16: "), "{error}");
    }

    #[test]
    fn an_unknown_key_or_missing_key_is_a_format_error_with_its_line() {
        let unknown = MINIMAL.replace("medium = \"digital\"", "medium = \"digital\"\nsigned = true");
        let error = TermsVersion::parse("terms/v9.toml", &unknown).unwrap_err();
        assert!(
            matches!(&error, TermsError::Format { line: Some(5), reason, .. } if reason.contains("signed")),
            "{error}"
        );

        let missing = MINIMAL.replace("medium = \"digital\"\n", "");
        let error = TermsVersion::parse("terms/v9.toml", &missing).unwrap_err();
        assert!(error.to_string().contains("medium"), "{error}");

        let bad_date = MINIMAL.replace("2030-01-01", "2030-02-30");
        let error = TermsVersion::parse("terms/v9.toml", &bad_date).unwrap_err();
        assert_eq!(error.line(), Some(3), "{error}");
    }

    #[test]
    fn a_malformed_product_slug_is_refused() {
        let text = MINIMAL.replace("product = \"nhs-login\"", "product = \"nhs logon\"");
        let error = TermsVersion::parse("terms/v9.toml", &text).unwrap_err();
        assert_eq!(error.line(), Some(20), "{error}");
        assert!(error.to_string().contains("\"nhs logon\" is not a product slug"), "{error}");
    }

    #[test]
    fn special_terms_for_a_product_the_catalogue_does_not_know_are_refused() {
        let flows = crate::flow::FlowCatalogue::shipped().unwrap();
        let products = ProductCatalogue::shipped(&flows).unwrap();
        assert_eq!(catalogue().check_products(&products), Ok(()));
        let text = MINIMAL.replace("product = \"nhs-login\"", "product = \"nhs-logon\"");
        let version = TermsVersion::parse("terms/v9.toml", &text).unwrap();
        let error = TermsCatalogue::from_versions(vec![version]).unwrap().check_products(&products).unwrap_err();
        assert_eq!(
            error.to_string(),
            "terms version 9: it has special terms for nhs-logon, which is not a product of the catalogue"
        );
    }

    #[test]
    fn clauses_numbered_1_3_break_the_numbering_rule() {
        let text = MINIMAL.replace("number = \"2\"", "number = \"3\"");
        let (line, clause, rule) = rule_error(&text);
        assert_eq!(clause.as_deref(), Some("3"));
        assert_eq!(line, Some(15));
        assert!(rule.contains("numbered 1, 2, 3") && rule.contains("expected clause 2"), "{rule}");
        let message = TermsVersion::parse("terms/v9.toml", &text).unwrap_err().to_string();
        assert!(
            message.starts_with("terms/v9.toml, line 15: clause 3: the standard terms must be numbered"),
            "{message}"
        );
    }

    #[test]
    fn the_other_rules_are_enforced() {
        let cases = [
            (MINIMAL.replace("version = 9", "version = 0"), "1 or more"),
            (MINIMAL.replace("version = 9", "version = 8"), "named for version 9"),
            (MINIMAL.replace("heading = \"Term\"", "heading = \"  \""), "must have a heading"),
            (MINIMAL.replace("text = \"It lasts.\"", "text = \"\"\"\n\n\"\"\""), "must have a text"),
            (MINIMAL.replace("number = \"NHSL.1\"", "number = \"1A.1\""), "unique"),
            (MINIMAL.replace("heading = \"Special Terms: NHS login\"", "heading = \" \""), "must have a heading"),
            (
                MINIMAL.replace(
                    "[appendix_1a]",
                    "[[special]]\nproduct = \"nhs-login\"\nheading = \"NHS login\"\nclauses = []\n\n[appendix_1a]",
                ),
                "more than once",
            ),
            (
                MINIMAL.replace(
                    "[appendix_1a]",
                    "[[special]]\nproduct = \"gp-connect\"\nheading = \"GP Connect\"\nclauses = []\n\n[appendix_1a]",
                ),
                "at least one clause",
            ),
        ];
        for (text, expected) in cases {
            let (_, _, rule) = rule_error(&text);
            assert!(rule.contains(expected), "{rule} should mention {expected}");
        }
    }

    #[test]
    fn empty_standard_terms_and_empty_appendix_are_refused() {
        let start = MINIMAL.find("[[standard]]").unwrap();
        let end = MINIMAL.find("[[special]]").unwrap();
        let no_standard = format!("{}standard = []\n\n{}", &MINIMAL[..start], &MINIMAL[end..]);
        let (line, _, rule) = rule_error(&no_standard);
        assert!(rule.contains("standard terms must have at least one clause"), "{rule}");
        assert_eq!(line, None);

        let start = MINIMAL.find("[[appendix_1a.clauses]]").unwrap();
        let no_appendix = format!("{}clauses = []\n", &MINIMAL[..start]);
        let (line, _, rule) = rule_error(&no_appendix);
        assert!(rule.contains("Appendix 1A must have at least one clause"), "{rule}");
        assert_eq!(line, Some(29));
    }

    #[test]
    fn from_versions_refuses_a_duplicate_version_and_checks_the_rules() {
        let v9 = TermsVersion::parse("terms/v9.toml", MINIMAL).unwrap();
        assert_eq!(
            TermsCatalogue::from_versions(vec![v9.clone(), v9.clone()]),
            Err(TermsError::DuplicateVersion { version: 9 })
        );
        let mut broken = v9.clone();
        broken.appendix_1a.clauses.clear();
        let error = TermsCatalogue::from_versions(vec![broken]).unwrap_err();
        assert_eq!(error.to_string(), "terms version 9: Appendix 1A must have at least one clause");
        let catalogue = TermsCatalogue::from_versions(vec![v9]).unwrap();
        assert_eq!(catalogue.versions().len(), 1);
    }
}
