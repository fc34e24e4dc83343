//! Import of the paper version-5 agreements (SPEC CA-12).
//!
//! The agreements signed on paper before the portal existed are loaded from a CSV file, one row per organisation,
//! so that a version-6 contract can then be issued to each of them. The format is described for users in
//! `docs/LEGACY_IMPORT.md`; this module parses it. The import is all-or-nothing: [`parse_legacy_csv`] returns
//! either every agreement of the file or every error of every row, never part of the file.

use std::collections::HashMap;

use jiff::civil::Date;

use crate::catalogue::ProductCatalogue;
use crate::organisation::{NewOrganisation, OrganisationInput, OrganisationKind};
use crate::user::PersonName;
use crate::validation::single_line;
use crate::{ApiProduct, OdsCode};

/// The header row the file must start with, in this order.
pub const COLUMNS: [&str; 11] = [
    "ods_code",
    "organisation_name",
    "kind",
    "company_number",
    "registered_address",
    "delivery_notice_mailbox",
    "im1_supplier",
    "api_products",
    "signed_on",
    "signed_by",
    "paper_reference",
];

/// The products a paper agreement may list: those of the catalogue that version 5 of the terms had special terms
/// for (it covered no others).
#[derive(Debug, Clone, Copy)]
pub struct PaperProducts<'a> {
    pub catalogue: &'a ProductCatalogue,
    pub version_5_covers: &'a [ApiProduct],
}

/// Version 5 was published on this date; no paper agreement on it can have been signed earlier.
pub const VERSION_5_PUBLISHED_ON: Date = jiff::civil::date(2021, 4, 1);

/// The longest name of a signatory, as for any person's name.
pub const SIGNED_BY_MAX: usize = PersonName::MAX;
/// The longest paper reference (the number or file reference written on the signed copy).
pub const PAPER_REFERENCE_MAX: usize = 100;

/// One paper agreement read from the file, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAgreement {
    /// The line of the file where the row starts (the header is line 1).
    pub line: u64,
    pub organisation: NewOrganisation,
    /// The API products applicable, in catalogue order.
    pub api_products: Vec<ApiProduct>,
    pub signed_on: Date,
    pub signed_by: String,
    pub paper_reference: Option<String>,
}

/// One refused value: the line of the file where its row starts, the column (or `header`, `file`, `row`), and
/// the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field}: {message}")]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

impl RowError {
    fn new(line: u64, field: &str, message: impl Into<String>) -> Self {
        Self { line, field: field.to_owned(), message: message.into() }
    }
}

/// Reads a CSV file of paper version-5 agreements (format: `docs/LEGACY_IMPORT.md`). `today` is the date the
/// import runs (from the injected clock): no agreement may be signed after it.
///
/// Returns every agreement, in file order, or every error found: each bad value of each row, a row with the
/// wrong number of values, an ODS code that appeared on an earlier row, a wrong header, or a file without rows.
/// Never panics.
pub fn parse_legacy_csv(
    text: &str,
    today: Date,
    products: PaperProducts<'_>,
) -> Result<Vec<LegacyAgreement>, Vec<RowError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(text.as_bytes());
    check_header(reader.headers().ok())?;

    let mut errors = Vec::new();
    let mut agreements = Vec::new();
    let mut first_line_of: HashMap<OdsCode, u64> = HashMap::new();
    for result in reader.records() {
        let record = match result {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map_or(0, csv::Position::line);
                errors.push(RowError::new(line, "row", format!("this row could not be read: {error}")));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != COLUMNS.len() {
            errors.push(RowError::new(
                line,
                "row",
                format!(
                    "a row must have {} values, one per column, but this one has {}; put double quotes around a \
                     value that contains a comma",
                    COLUMNS.len(),
                    record.len()
                ),
            ));
            continue;
        }
        let mut row_errors = Vec::new();
        if let Ok(ods_code) = OdsCode::parse(record.get(0).unwrap_or_default()) {
            if let Some(first) = first_line_of.get(&ods_code) {
                row_errors.push(RowError::new(
                    line,
                    "ods_code",
                    format!(
                        "{} already appears on line {first}; an organisation has one paper agreement, so give it \
                         one row",
                        ods_code.as_str()
                    ),
                ));
            } else {
                first_line_of.insert(ods_code, line);
            }
        }
        match parse_row(line, &record, today, products) {
            Ok(agreement) if row_errors.is_empty() => agreements.push(agreement),
            Ok(_) => {}
            Err(more) => row_errors.extend(more),
        }
        row_errors.sort_by_key(|error| COLUMNS.iter().position(|column| *column == error.field));
        errors.extend(row_errors);
    }

    if errors.is_empty() && agreements.is_empty() {
        errors.push(RowError::new(
            1,
            "file",
            "the file holds no agreements: add one row per paper agreement below the header",
        ));
    }
    if errors.is_empty() { Ok(agreements) } else { Err(errors) }
}

fn check_header(headers: Option<&csv::StringRecord>) -> Result<(), Vec<RowError>> {
    let found: Vec<String> =
        headers.map(|headers| headers.iter().map(|h| h.trim().to_ascii_lowercase()).collect()).unwrap_or_default();
    if found.iter().map(String::as_str).eq(COLUMNS) {
        return Ok(());
    }
    let problem = if found.iter().all(String::is_empty) {
        "the file is empty or has no header row".to_owned()
    } else if let Some(missing) = COLUMNS.iter().find(|column| !found.iter().any(|f| f == *column)) {
        format!("the header row has no {missing} column")
    } else if let Some(extra) = found.iter().find(|f| !COLUMNS.contains(&f.as_str())) {
        format!("the header row has an unknown column {extra:?}")
    } else {
        "the header row has the columns in the wrong order or more than once".to_owned()
    };
    Err(vec![RowError::new(1, "header", format!("{problem}; the first line must be exactly: {}", COLUMNS.join(",")))])
}

fn parse_row(
    line: u64,
    record: &csv::StringRecord,
    today: Date,
    products: PaperProducts<'_>,
) -> Result<LegacyAgreement, Vec<RowError>> {
    let value = |column: usize| record.get(column).unwrap_or_default();
    let mut errors = Vec::new();
    let im1_supplier = keep(&mut errors, line, "im1_supplier", parse_yes_no(value(6)));
    let organisation = match parse_organisation(record, im1_supplier.unwrap_or(false)) {
        Ok(organisation) => Some(organisation),
        Err(organisation_errors) => {
            errors.extend(organisation_errors.into_iter().map(|(field, message)| RowError::new(line, field, message)));
            None
        }
    };
    let api_products = keep(&mut errors, line, "api_products", parse_products(value(7), products));
    let signed_on = keep(&mut errors, line, "signed_on", parse_signed_on(value(8), today));
    let signed_by = PersonName::parse(value(9)).map(String::from).map_err(|e| e.to_string());
    let signed_by = keep(&mut errors, line, "signed_by", signed_by);
    let paper_reference = keep(&mut errors, line, "paper_reference", parse_paper_reference(value(10)));

    match (organisation, im1_supplier, api_products, signed_on, signed_by, paper_reference) {
        (Some(organisation), Some(_), Some(api_products), Some(signed_on), Some(signed_by), Some(paper_reference))
            if errors.is_empty() =>
        {
            Ok(LegacyAgreement { line, organisation, api_products, signed_on, signed_by, paper_reference })
        }
        _ => Err(errors),
    }
}

/// The value of `result`, or `None` after recording its error against `field`.
fn keep<T>(errors: &mut Vec<RowError>, line: u64, field: &str, result: Result<T, String>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(message) => {
            errors.push(RowError::new(line, field, message));
            None
        }
    }
}

/// The organisation columns, checked by the same rules as everywhere else (ORG-1, ORG-2, ORG-4), plus ORG-3:
/// the provider's own organisations need no agreement, so none can be imported.
fn parse_organisation(
    record: &csv::StringRecord,
    im1_supplier: bool,
) -> Result<NewOrganisation, Vec<(&'static str, String)>> {
    let value = |column: usize| record.get(column).unwrap_or_default().to_owned();
    let input = OrganisationInput {
        name: value(1),
        ods_code: value(0),
        company_number: value(3),
        registered_address: value(4).replace('|', "\n"),
        kind: value(2),
        delivery_notice_mailbox: value(5),
        im1_supplier,
    };
    let column = |field: &'static str| if field == "name" { "organisation_name" } else { field };
    // A file names the kind by its code, so a refusal lists the codes.
    let message = |e: &crate::FieldError| {
        if e.field == "kind" {
            format!("{}: write commercial, public_healthcare, non_uk or provider_internal", e.message)
        } else {
            e.message.clone()
        }
    };
    let organisation = NewOrganisation::parse(&input)
        .map_err(|errors| errors.iter().map(|e| (column(e.field), message(e))).collect::<Vec<_>>())?;
    if !organisation.kind.needs_connection_agreement() {
        return Err(vec![(
            "kind",
            format!(
                "a {} organisation needs no connection agreement, so it has no paper agreement to import",
                OrganisationKind::ProviderInternal
            ),
        )]);
    }
    Ok(organisation)
}

fn parse_yes_no(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "yes" | "true" => Ok(true),
        "no" | "false" => Ok(false),
        _ => Err(format!("write yes or no (or true or false), not {:?}", raw.trim())),
    }
}

fn parse_products(
    raw: &str,
    PaperProducts { catalogue, version_5_covers }: PaperProducts<'_>,
) -> Result<Vec<ApiProduct>, String> {
    let known: Vec<ApiProduct> = catalogue.products().iter().map(|product| product.slug.clone()).collect();
    let products = catalogue.parse_list(raw, &known).map_err(|e| e.to_string())?;
    match products.iter().find(|product| !version_5_covers.contains(product)) {
        Some(product) => Err(format!(
            "version 5 did not cover {} ({product}); a paper agreement can list only {}",
            catalogue.name_of(product),
            version_5_covers.iter().map(ApiProduct::slug).collect::<Vec<_>>().join(", ")
        )),
        None => Ok(products),
    }
}

fn parse_signed_on(raw: &str, today: Date) -> Result<Date, String> {
    let raw = raw.trim();
    let shaped = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    let date = shaped.then(|| raw.parse::<Date>().ok()).flatten().ok_or_else(|| {
        format!("write the date the agreement was signed as YYYY-MM-DD, for example 2021-06-15, not {raw:?}")
    })?;
    if date > today {
        return Err(format!("{date} is in the future (today is {today})"));
    }
    if date < VERSION_5_PUBLISHED_ON {
        return Err(format!("{date} is before version 5 of the terms was published on {VERSION_5_PUBLISHED_ON}"));
    }
    Ok(date)
}

fn parse_paper_reference(raw: &str) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    single_line(raw, "paper reference", PAPER_REFERENCE_MAX).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    const HEADER: &str = "ods_code,organisation_name,kind,company_number,registered_address,delivery_notice_mailbox,\
                          im1_supplier,api_products,signed_on,signed_by,paper_reference";
    const TODAY: Date = date(2026, 1, 15);

    fn product(slug: &str) -> ApiProduct {
        ApiProduct::parse(slug).unwrap()
    }

    fn version_5_covers() -> Vec<ApiProduct> {
        ["pds-fhir", "e-referral", "gp-connect", "im1-pairing"].map(product).to_vec()
    }

    fn parse(text: &str) -> Result<Vec<LegacyAgreement>, Vec<RowError>> {
        let flows = crate::flow::FlowCatalogue::shipped().unwrap();
        let catalogue = ProductCatalogue::shipped(&flows).unwrap();
        parse_legacy_csv(text, TODAY, PaperProducts { catalogue: &catalogue, version_5_covers: &version_5_covers() })
    }

    fn good_row() -> &'static str {
        "8JK45,Acme Health Software Ltd,commercial,01234567,\"1 High Street\nLeeds\nLS1 1AA\",notices@acme.example,\
         yes,gp-connect;pds-fhir,2022-03-04,Jane Smith,ACME/2022/7"
    }

    fn file(rows: &[&str]) -> String {
        let mut text = format!("{HEADER}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text
    }

    fn errors_of(text: &str) -> Vec<(u64, String)> {
        parse(text).err().unwrap_or_default().into_iter().map(|e| (e.line, e.field)).collect()
    }

    fn with(column: &str, value: &str) -> String {
        let index = COLUMNS.iter().position(|c| *c == column).unwrap();
        let mut record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(good_row().as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        record[index] = value.to_owned();
        write_row(&record)
    }

    fn write_row(values: &[String]) -> String {
        let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
        writer.write_record(values).unwrap();
        let bytes = writer.into_inner().unwrap();
        String::from_utf8(bytes).unwrap().trim_end_matches('\n').to_owned()
    }

    #[test]
    fn ca12_a_good_row_parses() {
        let agreements = parse(&file(&[good_row()])).unwrap();
        assert_eq!(agreements.len(), 1);
        let agreement = &agreements[0];
        assert_eq!(agreement.line, 2);
        assert_eq!(agreement.organisation.ods_code.as_str(), "8JK45");
        assert_eq!(agreement.organisation.name, "Acme Health Software Ltd");
        assert_eq!(agreement.organisation.registered_address, "1 High Street\nLeeds\nLS1 1AA");
        assert_eq!(agreement.organisation.kind, OrganisationKind::Commercial);
        assert!(agreement.organisation.im1_supplier);
        assert_eq!(agreement.api_products, [product("pds-fhir"), product("gp-connect")]);
        assert_eq!(agreement.signed_on, date(2022, 3, 4));
        assert_eq!(agreement.signed_by, "Jane Smith");
        assert_eq!(agreement.paper_reference.as_deref(), Some("ACME/2022/7"));
    }

    #[test]
    fn ca12_the_shipped_sample_parses() {
        let sample = include_str!("../../../samples/legacy-agreements.csv");
        let agreements =
            parse(sample).map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        let agreements = agreements.unwrap();
        assert_eq!(agreements.len(), 5);
        let kinds: Vec<OrganisationKind> = agreements.iter().map(|a| a.organisation.kind).collect();
        for kind in [OrganisationKind::Commercial, OrganisationKind::PublicHealthcare, OrganisationKind::NonUk] {
            assert!(kinds.contains(&kind), "the sample has a {kind} organisation");
        }
        assert!(agreements.iter().any(|a| a.organisation.registered_address.lines().count() >= 3));
        assert!(agreements.iter().any(|a| a.paper_reference.is_none()));
    }

    #[test]
    fn ca12_address_lines_may_be_separated_by_a_bar() {
        let text = file(&[&with("registered_address", "Unit 4 | Riverside Court|Leeds | LS10 1AB")]);
        let agreements = parse(&text).unwrap();
        assert_eq!(agreements[0].organisation.registered_address, "Unit 4\nRiverside Court\nLeeds\nLS10 1AB");
    }

    #[test]
    fn ca12_yes_no_true_false_in_any_case() {
        for (raw, expected) in [("yes", true), ("No", false), ("TRUE", true), (" false ", false)] {
            let agreements = parse(&file(&[&with("im1_supplier", raw)])).unwrap();
            assert_eq!(agreements[0].organisation.im1_supplier, expected, "{raw}");
        }
    }

    #[test]
    fn ca12_an_empty_paper_reference_is_none_and_crlf_and_a_bom_are_accepted() {
        let text = format!("\u{feff}{}", file(&[&with("paper_reference", "  ")]).replace('\n', "\r\n"));
        let agreements = parse(&text).unwrap();
        assert_eq!(agreements[0].paper_reference, None);
        assert_eq!(agreements[0].organisation.registered_address, "1 High Street\nLeeds\nLS1 1AA");
    }

    #[test]
    fn ca12_each_bad_value_is_reported_with_its_line_and_column() {
        let cases = [
            ("ods_code", "X!", "letters A to Z"),
            ("organisation_name", " ", "organisation name"),
            ("kind", "charity", "public_healthcare"),
            ("kind", "provider_internal", "needs no connection agreement"),
            ("company_number", "123", "8 characters"),
            ("registered_address", " | ", "registered address"),
            ("delivery_notice_mailbox", "notices", "@"),
            ("im1_supplier", "maybe", "yes or no"),
            ("api_products", "", "at least one"),
            ("api_products", "gp-connect;spine", "\"spine\" is not an API product"),
            ("api_products", "gp-connect;gp-connect", "more than once"),
            ("api_products", "pds-fhir;nhs-login", "version 5 did not cover NHS login"),
            ("signed_on", "04/03/2022", "YYYY-MM-DD"),
            ("signed_on", "2022-02-30", "YYYY-MM-DD"),
            ("signed_on", "2026-01-16", "in the future"),
            ("signed_on", "2021-03-31", "before version 5"),
            ("signed_by", "", "full name"),
            ("signed_by", &"x".repeat(121), "120 characters"),
            ("paper_reference", &"x".repeat(101), "100 characters"),
        ];
        for (column, value, expected) in cases {
            let text = file(&[&good_row().replace("8JK45", "8JK99"), &with(column, value)]);
            let errors = parse(&text).err().unwrap_or_default();
            let summary: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(errors.len(), 1, "{column}={value:?}: {summary:?}");
            assert_eq!((errors[0].line, errors[0].field.as_str()), (5, column), "{summary:?}");
            assert!(errors[0].message.contains(expected), "{column}={value:?}: {summary:?}");
        }
    }

    #[test]
    fn ca12_public_healthcare_must_leave_the_company_number_empty() {
        let row = good_row().replace("commercial,01234567", "public_healthcare,01234567");
        assert_eq!(errors_of(&file(&[&row])), [(2, "company_number".to_owned())]);
        let row = good_row().replace("commercial,01234567", "public_healthcare,");
        assert!(parse(&file(&[&row])).is_ok());
    }

    #[test]
    fn ca12_every_bad_value_of_every_row_is_reported_in_column_order() {
        let row_two = with("signed_on", "2030-01-01").replace("8JK45", "8JK46");
        let mut bad = good_row().replace("8JK45", "X").replace("yes,", "perhaps,");
        bad = bad.replace("Jane Smith", "");
        let text = file(&[good_row(), &row_two, &bad, good_row()]);
        let errors = errors_of(&text);
        assert_eq!(
            errors,
            [
                (5, "signed_on".to_owned()),
                (8, "ods_code".to_owned()),
                (8, "im1_supplier".to_owned()),
                (8, "signed_by".to_owned()),
                (11, "ods_code".to_owned()),
            ]
        );
        let all = parse(&text).err().unwrap_or_default();
        assert_eq!(all[0].to_string(), "line 5: signed_on: 2030-01-01 is in the future (today is 2026-01-15)");
        assert!(all[4].message.contains("already appears on line 2"), "{}", all[4]);
    }

    #[test]
    fn ca12_the_same_ods_code_twice_is_an_error_on_the_second_line() {
        let second = good_row().replace("8JK45", "8jk45").replace("Acme Health", "Other");
        let errors = parse(&file(&[good_row(), &second])).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(
            errors[0].to_string(),
            "line 5: ods_code: 8JK45 already appears on line 2; an organisation has one paper agreement, so give it \
             one row"
        );
    }

    #[test]
    fn ca12_a_row_with_the_wrong_number_of_values_is_one_error() {
        let text = file(&[good_row(), "8JK46,Acme, Health Ltd,commercial"]);
        let errors = parse(&text).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].field.as_str()), (5, "row"));
        assert!(errors[0].message.contains("must have 11 values") && errors[0].message.contains("has 4"));
    }

    #[test]
    fn ca12_a_wrong_or_missing_header_is_one_error_on_line_1() {
        let expected = format!("the first line must be exactly: {}", COLUMNS.join(","));
        let cases = [
            (String::new(), "empty"),
            ("\n\n".to_owned(), "empty"),
            (good_row().to_owned(), "no ods_code column"),
            (file(&[good_row()]).replace("signed_by,", ""), "no signed_by column"),
            (file(&[good_row()]).replace("paper_reference", "paper_reference,notes"), "unknown column \"notes\""),
            (file(&[good_row()]).replace("signed_on,signed_by", "signed_by,signed_on"), "wrong order"),
        ];
        for (text, problem) in cases {
            let errors = parse(&text).err().unwrap_or_default();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!((errors[0].line, errors[0].field.as_str()), (1, "header"));
            assert!(errors[0].message.contains(problem), "{}", errors[0]);
            assert!(errors[0].message.contains(&expected), "{}", errors[0]);
        }
        let upper = file(&[good_row()]).replacen("ods_code", " ODS_Code ", 1);
        assert!(parse(&upper).is_ok(), "header names are trimmed and read in any case");
    }

    #[test]
    fn ca12_a_file_with_only_the_header_holds_no_agreements() {
        let errors = parse(&file(&[])).err().unwrap_or_default();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].to_string(), format!("line 1: file: {}", errors[0].message));
        assert!(errors[0].message.contains("no agreements"));
    }

    #[test]
    fn ca12_line_numbers_count_physical_lines_of_quoted_values() {
        let text = file(&[good_row(), good_row().replace("8JK45", "8JK46").as_str(), "bad"]);
        let agreements = errors_of(&text);
        assert_eq!(agreements, [(8, "row".to_owned())]);
    }

    #[derive(Debug, Clone)]
    struct Row {
        ods_code: String,
        name: String,
        kind: OrganisationKind,
        company_number: String,
        address_lines: Vec<String>,
        bar_separated: bool,
        mailbox: String,
        im1_supplier: bool,
        im1_spelling: usize,
        products: Vec<ApiProduct>,
        signed_on: Date,
        signed_by: String,
        paper_reference: Option<String>,
    }

    impl Row {
        fn values(&self) -> Vec<String> {
            let spellings = [("yes", "no"), ("Yes", "No"), ("true", "false"), ("TRUE", "False")];
            let (yes, no) = spellings[self.im1_spelling % spellings.len()];
            let separator = if self.bar_separated { " | " } else { "\n" };
            vec![
                self.ods_code.clone(),
                self.name.clone(),
                self.kind.to_string(),
                self.company_number.clone(),
                self.address_lines.join(separator),
                self.mailbox.clone(),
                (if self.im1_supplier { yes } else { no }).to_owned(),
                self.products.iter().map(|p| p.slug()).collect::<Vec<_>>().join(";"),
                self.signed_on.to_string(),
                self.signed_by.clone(),
                self.paper_reference.clone().unwrap_or_default(),
            ]
        }
    }

    fn row_strategy() -> impl Strategy<Value = Row> {
        let kind = prop_oneof![
            Just(OrganisationKind::Commercial),
            Just(OrganisationKind::PublicHealthcare),
            Just(OrganisationKind::NonUk)
        ];
        let organisation = (
            "[A-Z][A-Z0-9]{1,8}",
            "[A-Za-z][A-Za-z0-9 ,&'\"()-]{0,60}[A-Za-z0-9.)]",
            kind,
            prop_oneof!["[0-9]{8}", "(SC|NI|OC)[0-9]{6}"],
            prop::collection::vec("[A-Za-z0-9][A-Za-z0-9 ,.'-]{0,30}[A-Za-z0-9]", 1..5),
            any::<bool>(),
            "[a-z][a-z0-9.]{0,10}[a-z]@[a-z]{1,10}\\.example",
        );
        let agreement = (
            any::<bool>(),
            0usize..4,
            prop::sample::subsequence(version_5_covers(), 1..=4),
            0i64..1750,
            "[A-Z][a-z]{1,15} [A-Z][a-z']{1,20}",
            prop::option::of("[A-Z0-9][A-Z0-9/ -]{0,30}[A-Z0-9]"),
        );
        (organisation, agreement).prop_map(
            |(
                (ods_code, name, kind, company, address_lines, bar_separated, mailbox),
                (im1_supplier, im1_spelling, products, days, signed_by, paper_reference),
            )| Row {
                ods_code,
                name,
                kind,
                company_number: if kind == OrganisationKind::Commercial { company } else { String::new() },
                address_lines,
                bar_separated,
                mailbox,
                im1_supplier,
                im1_spelling,
                products,
                signed_on: VERSION_5_PUBLISHED_ON.checked_add(jiff::Span::new().days(days)).unwrap(),
                signed_by,
                paper_reference,
            },
        )
    }

    proptest! {
        #[test]
        fn ca12_arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn ca12_arbitrary_rows_under_a_good_header_never_panic(body in "[a-z0-9,;|\"\n\r -]{0,300}") {
            let _ = parse(&format!("{HEADER}\n{body}"));
        }

        #[test]
        fn ca12_valid_rows_round_trip(rows in prop::collection::vec(row_strategy(), 1..4)) {
            let mut text = format!("{HEADER}\n");
            for (i, row) in rows.iter().enumerate() {
                let mut values = row.values();
                values[0] = format!("{}{i}", row.ods_code);
                text.push_str(&write_row(&values));
                text.push('\n');
            }
            let parsed = parse(&text);
            prop_assert!(parsed.is_ok(), "{:?}\n{}", parsed, text);
            let parsed = parsed.unwrap_or_default();
            prop_assert_eq!(parsed.len(), rows.len());
            for (i, (row, agreement)) in rows.iter().zip(&parsed).enumerate() {
                let organisation = &agreement.organisation;
                prop_assert_eq!(organisation.ods_code.as_str(), format!("{}{i}", row.ods_code));
                prop_assert_eq!(&organisation.name, row.name.trim());
                prop_assert_eq!(organisation.kind, row.kind);
                prop_assert_eq!(
                    organisation.company_number.as_ref().map(|n| n.as_str().to_owned()).unwrap_or_default(),
                    row.company_number.clone()
                );
                prop_assert_eq!(&organisation.registered_address, &row.address_lines.join("\n"));
                prop_assert_eq!(organisation.delivery_notice_mailbox.as_str(), row.mailbox.as_str());
                prop_assert_eq!(organisation.im1_supplier, row.im1_supplier);
                prop_assert_eq!(&agreement.api_products, &row.products);
                prop_assert_eq!(agreement.signed_on, row.signed_on);
                prop_assert_eq!(&agreement.signed_by, &row.signed_by);
                prop_assert_eq!(&agreement.paper_reference, &row.paper_reference);
            }
            let lines: Vec<u64> = parsed.iter().map(|a| a.line).collect();
            prop_assert!(lines.windows(2).all(|pair| pair[0] < pair[1]) && lines[0] == 2);
        }
    }
}
