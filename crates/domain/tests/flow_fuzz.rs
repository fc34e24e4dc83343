//! Fuzz-style property tests of the flow loader and the condition language (DOS-1; issue 11, "Done when 2":
//! random bytes and random TOML fed to the flow loader and the condition parser never panic, and always give
//! an error or a flow).
//!
//! Flow files are written by people, and `onramp flow check` is the first thing to read a new one, so
//! [`file::load`] must answer every text with a flow or with problems a person can act on: never a panic,
//! never an empty list of problems, never a position outside the text, problems in file order. The inputs
//! come at it from three sides, each reaching deeper than the last:
//!
//! 1. random bytes (decoded lossily), random printable text and random bytes from TOML's own alphabet, which
//!    mostly exercise the TOML syntax errors;
//! 2. flow documents generated from the format's own pieces, with ids from small alphabets so that duplicates
//!    and collisions happen, question kinds valid and invalid, limits that cannot hold (`min` above `max`,
//!    `max_chars = 0`, numbers out of range), unknown keys, scenarios, and conditions from a grammar that mixes
//!    valid references with missing, later and mistyped ones, so that the checks behind the syntax run;
//! 3. random edits of each shipped flow in `flows/` (a byte range deleted, a line duplicated, deleted or
//!    swapped, a token replaced or copied from elsewhere, text inserted, the file truncated), which start from
//!    a flow that loads and so reach the deepest checks, scenarios included.
//!
//! A flow that loads must keep the loader's promises: unique ids, and every condition evaluates without error
//! for every organisation, with no answers and with answers of its questions' kinds.
//!
//! The condition parser ([`Condition::parse`]) gets random text, text from the language's alphabet and
//! grammar-generated expressions, valid and not: it never panics, an error's column is inside the text, and a
//! condition that parses prints ([`std::fmt::Display`]) as text that parses back to the same condition (columns
//! aside; `dos1_quoted_texts_print_back_as_the_same_text` pins the quoting of texts). Generators are checked to reach both outcomes, and the loader's checks by name, so that no
//! property passes only because its inputs never get past the first error.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use onramp_domain::flow::condition::{Column, Condition, EvaluationError, Fact, Facts, Reference, Value};
use onramp_domain::flow::evaluate::{Answer, Answers, OrganisationFacts, evaluate};
use onramp_domain::flow::file::{self, Flow, FlowProblem, QuestionKind};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::strategy::ValueTree;
use proptest::test_runner::{TestCaseError, TestRunner};

/// Every flow in `flows/` (checked against the folder by [`dos1_every_shipped_flow_is_fuzzed_and_loads`]).
const SHIPPED: [(&str, &str); 4] = [
    ("flows/standard-api.toml", include_str!("../../../flows/standard-api.toml")),
    ("flows/identity-service.toml", include_str!("../../../flows/identity-service.toml")),
    ("flows/messaging-service.toml", include_str!("../../../flows/messaging-service.toml")),
    ("flows/secure-email.toml", include_str!("../../../flows/secure-email.toml")),
];

/// The organisation kinds an organisation may have (`org.kind`).
const ORGANISATION_KINDS: [&str; 4] = ["commercial", "public_healthcare", "non_uk", "provider_internal"];

// ---------------------------------------------------------------------------------------------------------------
// What every answer of the loader and the parser must satisfy.
// ---------------------------------------------------------------------------------------------------------------

/// What the loader answered, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Loaded {
    Flow,
    Problems(Vec<FlowProblem>),
}

/// Loads `text` and checks the answer: a flow that keeps the loader's promises, or well-placed problems.
fn check_load(file_name: &str, text: &str, seeds: &[u32]) -> Result<Loaded, TestCaseError> {
    match file::load(file_name, text) {
        Ok(flow) => {
            check_flow(&flow, seeds)?;
            Ok(Loaded::Flow)
        }
        Err(problems) => {
            check_problems(file_name, text, &problems)?;
            Ok(Loaded::Problems(problems))
        }
    }
}

/// Problems are there, named by the file, placed inside the text, with a reason, in file order.
fn check_problems(file_name: &str, text: &str, problems: &[FlowProblem]) -> Result<(), TestCaseError> {
    prop_assert!(!problems.is_empty(), "an error without a problem for {:?}", text);
    // `split` gives one more line than there are newlines: a position may be just after the last one.
    let lines: Vec<&str> = text.split('\n').collect();
    for problem in problems {
        prop_assert_eq!(&problem.file, file_name);
        prop_assert!(problem.line >= 1 && problem.column >= 1, "{:?}", problem);
        prop_assert!(!problem.reason.trim().is_empty(), "{:?}", problem);
        prop_assert!(problem.line <= lines.len(), "{:?} is below the last line ({})", problem, lines.len());
        let width = lines[problem.line - 1].chars().count();
        prop_assert!(
            problem.column <= width + 1,
            "{:?} is right of the end of its line ({} characters)",
            problem,
            width
        );
    }
    let places: Vec<(usize, usize)> = problems.iter().map(|p| (p.line, p.column)).collect();
    prop_assert!(places.is_sorted(), "problems are not in file order: {:?}", places);
    Ok(())
}

/// Every condition of a flow, with where it is.
fn conditions_of(flow: &Flow) -> Vec<(String, &Condition)> {
    let mut found: Vec<(String, &Condition)> =
        flow.conditions.iter().map(|named| (format!("condition {}", named.name), &named.when)).collect();
    for stage in &flow.stages {
        found.extend(stage.show_when.iter().map(|c| (format!("stage {} show_when", stage.id), c)));
        for section in &stage.sections {
            found.extend(section.show_when.iter().map(|c| (format!("section {} show_when", section.id), c)));
            found.extend(section.gate.iter().map(|c| (format!("section {} gate", section.id), c)));
            for question in &section.questions {
                let at = format!("q.{}.{}", section.id, question.id);
                found.extend(question.show_when.iter().map(|c| (format!("{at} show_when"), c)));
                found.extend(question.required_when.iter().map(|c| (format!("{at} required_when"), c)));
            }
        }
    }
    found
}

/// A flow that loads has unique ids, sound limits, conditions that print back, and evaluates without error.
fn check_flow(flow: &Flow, seeds: &[u32]) -> Result<(), TestCaseError> {
    let stages: BTreeSet<&str> = flow.stages.iter().map(|s| s.id.as_str()).collect();
    prop_assert_eq!(stages.len(), flow.stages.len(), "stage ids are unique");
    let sections: Vec<_> = flow.stages.iter().flat_map(|s| &s.sections).collect();
    let section_ids: BTreeSet<&str> = sections.iter().map(|s| s.id.as_str()).collect();
    prop_assert_eq!(section_ids.len(), sections.len(), "section ids are unique");
    for section in &sections {
        let ids: BTreeSet<&str> = section.questions.iter().map(|q| q.id.as_str()).collect();
        prop_assert_eq!(ids.len(), section.questions.len(), "question ids are unique in section {}", section.id);
        for question in &section.questions {
            let limits = &question.limits;
            prop_assert!(!matches!((limits.min, limits.max), (Some(min), Some(max)) if min > max), "{:?}", limits);
            prop_assert!(limits.max_chars != Some(0) && limits.max_files != Some(0) && limits.max_bytes != Some(0));
            if matches!(question.kind, QuestionKind::SingleChoice | QuestionKind::MultipleChoice) {
                let options: BTreeSet<&String> = question.options.iter().collect();
                prop_assert!(options.len() >= 2 && options.len() == question.options.len(), "{:?}", question.options);
            }
        }
    }
    for (at, condition) in conditions_of(flow) {
        check_prints_back(condition).map_err(|e| TestCaseError::fail(format!("{at}: {e}")))?;
    }
    let answers = answers_for(flow, seeds);
    for kind in ORGANISATION_KINDS {
        for im1_supplier in [false, true] {
            let organisation = OrganisationFacts { kind: kind.to_owned(), im1_supplier };
            for open_access in [false, true] {
                for answers in [&Answers::new(), &answers] {
                    let outcome = evaluate(flow, &organisation, open_access, answers);
                    prop_assert!(
                        outcome.is_ok(),
                        "a flow that loads failed to evaluate for {:?} (open access {}) and {:?}: {:?}",
                        organisation,
                        open_access,
                        answers,
                        outcome
                    );
                }
            }
        }
    }
    Ok(())
}

/// Answers of each question's kind (some left out), chosen by `seeds`: what the forms would accept.
fn answers_for(flow: &Flow, seeds: &[u32]) -> Answers {
    const NUMBERS: [f64; 7] = [-1.0, 0.0, 1.0, 3.0, 10.5, 100_000.0, 1e12];
    const DATES: [(i16, i8, i8); 3] = [(2025, 12, 31), (2026, 1, 1), (2030, 6, 15)];
    let mut seeds = seeds.iter().copied().cycle();
    let mut answers = Answers::new();
    for section in flow.stages.iter().flat_map(|stage| &stage.sections) {
        for question in &section.questions {
            let seed = seeds.next().unwrap_or(0);
            if seed.is_multiple_of(4) {
                continue;
            }
            let pick = (seed / 4) as usize;
            let options = &question.options;
            let answer = match question.kind {
                QuestionKind::YesNo | QuestionKind::Acknowledgement => Answer::YesNo(pick.is_multiple_of(2)),
                QuestionKind::Number => Answer::Number(NUMBERS[pick % NUMBERS.len()]),
                QuestionKind::Date => {
                    let (year, month, day) = DATES[pick % DATES.len()];
                    Answer::Date(jiff::civil::date(year, month, day))
                }
                QuestionKind::SingleChoice if options.is_empty() => continue,
                QuestionKind::SingleChoice => Answer::Text(options[pick % options.len()].clone()),
                QuestionKind::MultipleChoice => Answer::Choices(
                    options
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| pick >> (i % 24) & 1 == 1)
                        .map(|(_, o)| o.clone())
                        .collect(),
                ),
                QuestionKind::ShortText
                | QuestionKind::LongText
                | QuestionKind::Email
                | QuestionKind::EmailList
                | QuestionKind::Evidence => Answer::Text("an answer".into()),
            };
            answers.insert((section.id.clone(), question.id.clone()), answer);
        }
    }
    answers
}

/// Parses `text` and checks the answer: columns inside the text, a message, and a condition that prints back.
fn check_parse(text: &str) -> Result<Option<Condition>, TestCaseError> {
    let width = text.chars().count();
    match Condition::parse(text) {
        Ok(condition) => {
            for (reference, Column(column)) in condition.references() {
                prop_assert!((1..=width).contains(&column), "{} at column {} of {:?}", reference, column, text);
            }
            check_prints_back(&condition)?;
            let _ = condition.evaluate(&SomeFacts);
            Ok(Some(condition))
        }
        Err(error) => {
            prop_assert!((1..=width + 1).contains(&error.column.0), "{:?} for {:?}", error, text);
            prop_assert!(!error.message.trim().is_empty(), "{:?}", error);
            Ok(None)
        }
    }
}

/// The condition without its columns, which depend on spacing the printed form does not keep.
fn shape(condition: &Condition) -> Condition {
    let column = Column(0);
    match condition {
        Condition::Holds { reference, .. } => Condition::Holds { reference: reference.clone(), column },
        Condition::Compare { reference, operator, value, .. } => {
            Condition::Compare { reference: reference.clone(), operator: *operator, value: value.clone(), column }
        }
        Condition::Answered { reference, .. } => Condition::Answered { reference: reference.clone(), column },
        Condition::Not(inner) => Condition::Not(Box::new(shape(inner))),
        Condition::All(parts) => Condition::All(parts.iter().map(shape).collect()),
        Condition::Any(parts) => Condition::Any(parts.iter().map(shape).collect()),
    }
}

/// Every text value the condition compares with, list items included.
fn texts(condition: &Condition) -> Vec<&Value> {
    fn of_value<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
        match value {
            Value::Text(_) => found.push(value),
            Value::List(items) => items.iter().for_each(|item| of_value(item, found)),
            Value::YesNo(_) | Value::Number(_) | Value::Date(_) => {}
        }
    }
    fn of<'a>(condition: &'a Condition, found: &mut Vec<&'a Value>) {
        match condition {
            Condition::Compare { value, .. } => of_value(value, found),
            Condition::Not(inner) => of(inner, found),
            Condition::All(parts) | Condition::Any(parts) => parts.iter().for_each(|part| of(part, found)),
            Condition::Holds { .. } | Condition::Answered { .. } => {}
        }
    }
    let mut found = Vec::new();
    of(condition, &mut found);
    found
}

/// Whether a text value, printed on its own, reads back as the same text (see
/// [`dos1_quoted_texts_print_back_as_the_same_text`]).
fn text_prints_back(value: &Value) -> bool {
    matches!(Condition::parse(&format!("org.kind == {value}")), Ok(Condition::Compare { value: back, .. }) if back == *value)
}

/// A condition prints as text that parses back to the same condition, and prints the same again.
fn check_prints_back(condition: &Condition) -> Result<(), TestCaseError> {
    // The one text that cannot be written: both kinds of quote (the parser never makes one).
    if !texts(condition).into_iter().all(text_prints_back) {
        prop_assert!(
            texts(condition).into_iter().any(|v| matches!(v, Value::Text(t) if t.contains('"') && t.contains('\'')))
        );
        return Ok(());
    }
    let printed = condition.to_string();
    match Condition::parse(&printed) {
        Ok(back) => {
            prop_assert_eq!(shape(&back), shape(condition), "printed as {:?}", printed);
            prop_assert_eq!(back.to_string(), printed);
        }
        Err(error) => prop_assert!(false, "{:?} printed as {:?}, which does not parse: {}", condition, printed, error),
    }
    Ok(())
}

/// Facts of every kind, so evaluating a parsed condition walks all of its comparisons.
struct SomeFacts;

impl Facts for SomeFacts {
    fn fact(&self, reference: &Reference) -> Option<Fact> {
        match reference {
            Reference::Organisation(field) if field == "kind" => Some(Fact::Text("commercial".into())),
            Reference::Organisation(_) => Some(Fact::YesNo(true)),
            Reference::Answer { question, .. } => match question.len() % 5 {
                0 => None,
                1 => Some(Fact::YesNo(false)),
                2 => Some(Fact::Number(3.0)),
                3 => Some(Fact::Date(jiff::civil::date(2026, 1, 1))),
                _ => Some(Fact::Choices(vec!["web".into(), "app".into()])),
            },
            Reference::Named(_) => None,
        }
    }

    fn named(&self, name: &str) -> Result<bool, EvaluationError> {
        if name.len().is_multiple_of(3) {
            Err(EvaluationError::UnknownName(name.to_owned()))
        } else {
            Ok(name.len().is_multiple_of(2))
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions from the language's grammar.
// ---------------------------------------------------------------------------------------------------------------

/// Ids from small alphabets, shared by the generated flows and their conditions, so references often hit.
const STAGES: &[&str] = &["s1", "s2", "a"];
const SECTIONS: &[&str] = &["a", "b", "c"];
const QUESTIONS: &[&str] = &["x", "y", "z"];
const NAMES: &[&str] = &["n1", "n2", "n3"];
const OPTIONS: &[&str] = &["web", "app", "fax", "phone"];

fn reference() -> BoxedStrategy<String> {
    prop_oneof![
        8 => (select(SECTIONS), select(QUESTIONS)).prop_map(|(s, q)| format!("q.{s}.{q}")),
        3 => select(&["org.kind", "org.im1_supplier"][..]).prop_map(str::to_owned),
        1 => select(&["org.kinds", "org.im1_suplier", "org.colour"][..]).prop_map(str::to_owned),
        4 => select(NAMES).prop_map(str::to_owned),
        1 => select(
            &["q.a", "q.a.x.y", "Q.a.x", "q.A.x", "org.", "q..x", "and", "yes", "answered",
                "in", "é", "_", "n-1", "true", "1a", "q.d.x"][..]
        )
        .prop_map(str::to_owned),
    ]
    .boxed()
}

fn operator() -> BoxedStrategy<String> {
    prop_oneof![
        10 => select(&["==", "!=", "in", "any_of", "all_of", "none_of", "<", "<=", ">", ">="][..]),
        1 => select(&["=", "!", "&&", "||", "=>", "=<", "<>", "is"][..]),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

fn scalar() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&["yes", "no", "true", "false"][..]),
        3 => select(&["0", "1", "3", "-2", "2.5", "1e3", "100000000", "-0", "0.000001"][..]),
        2 => select(&["2026-01-01", "2030-12-31", "0999-12-31"][..]),
        5 => select(&["web", "app", "fax", "phone", "commercial", "non_uk", "provider_internal", "public_healthcare"][..]),
        2 => select(&["'web'", "\"app\"", "'two words'", "\"non_uk\""][..]),
        1 => select(&["martian", "_x", "é", "a-b"][..]),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

/// A value: scalar or list, valid in the language (whether it fits the question is the loader's business).
fn value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => scalar(),
        2 => vec(scalar(), 1..4).prop_map(|items| format!("[{}]", items.join(", "))),
    ]
    .boxed()
}

/// Values the language does not accept.
fn bad_value() -> BoxedStrategy<String> {
    select(
        &[
            "[web",
            "[]",
            "[web,]",
            "[web app]",
            "'open",
            "2026-02-30",
            "2026-1-1",
            "1e400",
            "1_000",
            "q.a.x",
            "",
            "-",
            "[[web]]",
        ][..],
    )
    .prop_map(str::to_owned)
    .boxed()
}

/// A condition's text from the grammar, with mistakes mixed in: unknown operators, bad values, dangling
/// brackets, `and` and `or` mixed without brackets.
fn condition_text() -> BoxedStrategy<String> {
    let scalar_operator = select(&["==", "!=", "<", "<=", ">", ">="][..]);
    let list_operator = select(&["in", "any_of", "all_of", "none_of"][..]);
    let junk =
        select(&["", "(", ")", "not", "and", "q.a.x ==", ",", "'", "answered()", "answered(q.a.x", "()", "!q.a.x"][..]);
    let leaf = prop_oneof![
        3 => reference(),
        4 => (reference(), scalar_operator, scalar()).prop_map(|(r, o, v)| format!("{r} {o} {v}")),
        3 => (reference(), list_operator, vec(scalar(), 1..4)).prop_map(|(r, o, items)| format!("{r} {o} [{}]", items.join(", "))),
        1 => (reference(), operator(), value()).prop_map(|(r, o, v)| format!("{r} {o} {v}")),
        1 => (reference(), operator(), bad_value()).prop_map(|(r, o, v)| format!("{r} {o} {v}")),
        2 => reference().prop_map(|r| format!("answered({r})")),
        1 => junk.prop_map(str::to_owned),
    ]
    .prop_map(|text| (text, false));
    leaf.prop_recursive(4, 24, 4, |inner| {
        let bracketed = |(text, group): (String, bool)| if group { format!("({text})") } else { text };
        let joiner = select(&[" and ", " or "][..]);
        prop_oneof![
            2 => inner.clone().prop_map(move |part| (format!("not {}", bracketed(part)), false)),
            1 => inner.clone().prop_map(|(text, _)| (format!("({text})"), false)),
            4 => (vec(inner.clone(), 2..4), joiner.clone()).prop_map(move |(parts, joiner)| {
                (parts.into_iter().map(bracketed).collect::<Vec<_>>().join(joiner), true)
            }),
            // Without brackets round the parts, `and` and `or` may end up mixed: a mistake.
            1 => (vec(inner, 2..4), joiner).prop_map(|(parts, joiner)| {
                (parts.into_iter().map(|(text, _)| text).collect::<Vec<_>>().join(joiner), true)
            }),
        ]
    })
    .prop_map(|(text, _)| text)
    .boxed()
}

/// A name the grammar accepts as a reference: lower case, digits, `_` and `-`, not a keyword.
fn name() -> BoxedStrategy<String> {
    "[a-z_][a-z0-9_-]{0,6}"
        .prop_filter("a keyword is not a name", |name| {
            !["and", "or", "not", "answered", "yes", "no", "in", "any_of", "all_of", "none_of"].contains(&name.as_str())
        })
        .boxed()
}

/// Only valid conditions, written with varied spacing and brackets round every group inside another.
fn valid_condition_text() -> BoxedStrategy<String> {
    let valid_reference = prop_oneof![
        (name(), name()).prop_map(|(s, q)| format!("q.{s}.{q}")),
        name().prop_map(|f| format!("org.{f}")),
        name(),
    ];
    let question = (name(), name()).prop_map(|(s, q)| format!("q.{s}.{q}"));
    let scalar_operator = select(&["==", "!=", "<", "<=", ">", ">="][..]);
    let list_operator = select(&["in", "any_of", "all_of", "none_of"][..]);
    let leaf = prop_oneof![
        2 => valid_reference.clone(),
        3 => (valid_reference.clone(), scalar_operator, scalar()).prop_map(|(r, o, v)| format!("{r} {o} {v}")),
        2 => (valid_reference, list_operator, vec(scalar(), 1..4))
            .prop_map(|(r, o, items)| format!("{r} {o} [{}]", items.join(","))),
        1 => question.prop_map(|q| format!("answered( {q} )")),
    ]
    .prop_map(|text| (text, false));
    leaf.prop_recursive(4, 24, 4, |inner| {
        let bracketed = |(text, group): (String, bool)| if group { format!("({text})") } else { text };
        prop_oneof![
            inner.clone().prop_map(move |part| (format!("not {}", bracketed(part)), false)),
            inner.clone().prop_map(|(text, _)| (format!("( {text} )"), false)),
            (vec(inner, 2..4), select(&[" and ", " or ", "  and\t", " or\n"][..])).prop_map(move |(parts, joiner)| {
                (parts.into_iter().map(bracketed).collect::<Vec<_>>().join(joiner), true)
            }),
        ]
    })
    .prop_map(|(text, _)| text)
    .boxed()
}

// ---------------------------------------------------------------------------------------------------------------
// Flow documents from the format's own pieces.
// ---------------------------------------------------------------------------------------------------------------

/// A key and its value as TOML text.
type Entry = (String, String);
type Table = Vec<Entry>;

#[derive(Debug, Clone)]
struct Document {
    top: Table,
    conditions: Vec<Table>,
    stages: Vec<StageDoc>,
    scenarios: Vec<Table>,
}

#[derive(Debug, Clone)]
struct StageDoc {
    table: Table,
    sections: Vec<SectionDoc>,
}

#[derive(Debug, Clone)]
struct SectionDoc {
    table: Table,
    questions: Vec<Table>,
}

impl Document {
    fn render(&self) -> String {
        fn write(out: &mut String, header: Option<&str>, table: &Table) {
            if let Some(header) = header {
                out.push_str(&format!("\n[[{header}]]\n"));
            }
            for (key, value) in table {
                out.push_str(&format!("{key} = {value}\n"));
            }
        }
        let mut out = String::new();
        write(&mut out, None, &self.top);
        for named in &self.conditions {
            write(&mut out, Some("conditions"), named);
        }
        for stage in &self.stages {
            write(&mut out, Some("stages"), &stage.table);
            for section in &stage.sections {
                write(&mut out, Some("stages.sections"), &section.table);
                for question in &section.questions {
                    write(&mut out, Some("stages.sections.questions"), question);
                }
            }
        }
        for scenario in &self.scenarios {
            write(&mut out, Some("scenarios"), scenario);
        }
        out
    }
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn quoted(pool: &'static [&'static str]) -> BoxedStrategy<String> {
    select(pool).prop_map(toml_string).boxed()
}

/// `key = value` with probability `weight`.
fn entry(
    key: &'static str,
    weight: f64,
    value: impl Strategy<Value = String> + 'static,
) -> BoxedStrategy<Option<Entry>> {
    proptest::option::weighted(weight, value.prop_map(move |v| (key.to_owned(), v))).boxed()
}

/// Now and then a key the format does not have, or one the table already has.
fn stray() -> BoxedStrategy<Option<Entry>> {
    let keys = select(&["labell", "colour", "gaet", "Id", "kind", "id", "when", "required", "sections"][..]);
    let values = select(&["1", "true", "\"x\"", "[]", "{}"][..]);
    proptest::option::weighted(0.015, (keys, values).prop_map(|(k, v)| (k.to_owned(), v.to_owned()))).boxed()
}

fn table(parts: Vec<BoxedStrategy<Option<Entry>>>) -> BoxedStrategy<Table> {
    parts.prop_map(|found| found.into_iter().flatten().collect()).boxed()
}

/// An id from `pool`, now and then one of the wrong type or shape.
fn id(pool: &'static [&'static str]) -> BoxedStrategy<String> {
    prop_oneof![
        60 => quoted(pool),
        1 => select(&["\"\"", "3", "\"x y\"", "[\"a\"]", "\"Ä\"", "'a'"][..]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn text_value() -> BoxedStrategy<String> {
    prop_oneof![
        40 => quoted(&["A title", "Eligibility", "How many?", ""]),
        10 => "\\PC{0,20}".prop_map(|text| toml_string(&text)),
        5 => select(&["'literal'", "\"\"\"two\nlines\"\"\"", "'''raw \\ text'''"][..]).prop_map(str::to_owned),
        1 => select(&["3", "[\"a\"]", "true"][..]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn boolean() -> BoxedStrategy<String> {
    prop_oneof![40 => any::<bool>().prop_map(|b| b.to_string()), 1 => Just("\"yes\"".to_owned())].boxed()
}

fn number() -> BoxedStrategy<String> {
    prop_oneof![
        20 => select(&["0", "1", "3", "5", "10", "-2", "2.5", "1e9", "100000"][..]),
        1 => select(&["nan", "inf", "-inf", "\"3\"", "1_000", "0x10"][..]),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

/// An upper limit: mostly sound, sometimes zero, negative, fractional or out of range.
fn limit() -> BoxedStrategy<String> {
    prop_oneof![
        10 => select(&["1", "3", "2000", "10485760"][..]),
        1 => Just("0"),
        1 => select(&["-1", "2.5", "4294967296", "18446744073709551616", "\"10\""][..]),
    ]
    .prop_map(str::to_owned)
    .boxed()
}

fn list(items: BoxedStrategy<String>, len: Range<usize>) -> BoxedStrategy<String> {
    vec(items, len).prop_map(|items| format!("[{}]", items.join(", "))).boxed()
}

/// A condition as a TOML string, basic or (when it can be) literal or multi-line.
fn condition_value() -> BoxedStrategy<String> {
    (condition_text(), 0..6u8)
        .prop_map(|(text, style)| match style {
            4 if !text.contains('\'') => format!("'{text}'"),
            5 if !text.contains('"') && !text.contains('\\') => format!("\"\"\"{text}\"\"\""),
            _ => toml_string(&text),
        })
        .boxed()
}

fn kind() -> BoxedStrategy<String> {
    prop_oneof![
        30 => quoted(&[
            "short_text", "long_text", "email", "email_list", "yes_no", "single_choice", "multiple_choice", "date",
            "number", "acknowledgement", "evidence",
        ]),
        1 => select(&["\"numbr\"", "\"Number\"", "\"\"", "7", "[\"yes_no\"]"][..]).prop_map(str::to_owned),
    ]
    .boxed()
}

fn question() -> BoxedStrategy<Table> {
    table(vec![
        entry("id", 0.995, id(QUESTIONS)),
        entry("kind", 0.995, kind()),
        entry("label", 0.995, text_value()),
        entry("help", 0.2, text_value()),
        entry("required", 0.4, boolean()),
        entry("show_when", 0.2, condition_value()),
        entry("required_when", 0.1, condition_value()),
        entry("max_chars", 0.15, limit()),
        entry("min", 0.25, number()),
        entry("max", 0.25, number()),
        entry("options", 0.5, list(quoted(OPTIONS), 0..5)),
        entry("allowed_types", 0.1, list(quoted(&["pdf", "docx", ""]), 0..3)),
        entry("max_bytes", 0.1, limit()),
        entry("max_files", 0.1, limit()),
        stray(),
    ])
}

fn approval() -> BoxedStrategy<String> {
    let prefix = prop_oneof![4 => Just("\"CNTR\""), 1 => select(&["\"cntr\"", "\"\"", "\"CS\"", "\"C1\"", "3"][..])];
    let digits = prop_oneof![4 => Just("7"), 1 => select(&["0", "1", "20", "21", "300", "-1", "\"7\""][..])];
    let extra = prop_oneof![8 => Just(""), 1 => Just(", colour = 1"), 1 => Just(", prefix = \"CNTR\"")];
    (prefix, digits, extra)
        .prop_map(|(prefix, digits, extra)| {
            format!("{{ label = \"Number\", prefix = {prefix}, digits = {digits}{extra} }}")
        })
        .boxed()
}

fn section() -> BoxedStrategy<SectionDoc> {
    let table = table(vec![
        entry("id", 0.995, id(SECTIONS)),
        entry("title", 0.995, text_value()),
        entry("guidance", 0.2, text_value()),
        entry("gate", 0.2, condition_value()),
        entry("shared", 0.3, boolean()),
        entry("show_when", 0.15, condition_value()),
        entry("approval", 0.1, approval()),
        stray(),
    ]);
    (table, vec(question(), 0..4)).prop_map(|(table, questions)| SectionDoc { table, questions }).boxed()
}

fn stage() -> BoxedStrategy<StageDoc> {
    let table = table(vec![
        entry("id", 0.995, id(STAGES)),
        entry("title", 0.995, text_value()),
        entry("guidance", 0.2, text_value()),
        entry("show_when", 0.2, condition_value()),
        entry("skip_for_open_access", 0.2, boolean()),
        stray(),
    ]);
    (table, vec(section(), 0..3)).prop_map(|(table, sections)| StageDoc { table, sections }).boxed()
}

fn named_condition() -> BoxedStrategy<Table> {
    table(vec![
        entry("name", 0.995, prop_oneof![20 => quoted(NAMES), 1 => quoted(&["N1", "", "and", "n 1"])]),
        entry("when", 0.995, condition_value()),
        stray(),
    ])
}

fn scenario() -> BoxedStrategy<Table> {
    let organisation = (
        prop_oneof![
            4 => quoted(&ORGANISATION_KINDS),
            1 => select(&["\"martian\"", "\"\"", "1"][..]).prop_map(str::to_owned),
        ],
        proptest::option::of(boolean()),
    )
        .prop_map(|(kind, im1)| match im1 {
            Some(im1) => format!("{{ kind = {kind}, im1_supplier = {im1} }}"),
            None => format!("{{ kind = {kind} }}"),
        });
    let key = prop_oneof![
        10 => (select(SECTIONS), select(QUESTIONS)).prop_map(|(s, q)| format!("\"{s}.{q}\"")),
        1 => select(&["\"nonsense\"", "\"a.b.c\"", "\"a\"", "a"][..]).prop_map(str::to_owned),
    ];
    let answer = select(
        &[
            "true",
            "false",
            "3",
            "2.5",
            "-1",
            "\"web\"",
            "[\"web\", \"app\"]",
            "[\"fax\"]",
            "\"2026-01-01\"",
            "\"2026-02-30\"",
            "\"an answer\"",
            "[]",
            "{ x = 1 }",
            "1979-05-27",
        ][..],
    );
    // Keys once each: a key written twice is a TOML error, which other documents reach often enough.
    let answers = vec((key, answer), 0..4).prop_map(|pairs| {
        let pairs: BTreeMap<String, &str> = pairs.into_iter().collect();
        let pairs: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{{ {} }}", pairs.join(", "))
    });
    let names = || list(quoted(&["s1", "s2", "a", "b", "c", "q.a.x", "q.b.y", "q.c.z", "q.a.y", "nonsense"]), 0..3);
    table(vec![
        entry("name", 0.995, text_value()),
        entry("organisation", 0.99, organisation),
        entry("open_access", 0.2, boolean()),
        entry("answers", 0.6, answers),
        entry("shown", 0.25, names()),
        entry("hidden", 0.25, names()),
        entry("required", 0.2, names()),
        entry("optional", 0.2, names()),
        entry("gates_failed", 0.15, names()),
        entry("gates_passed", 0.15, names()),
        stray(),
    ])
}

fn document() -> BoxedStrategy<Document> {
    let top = table(vec![
        entry("id", 0.995, prop_oneof![40 => quoted(&["standard-api", "x"]), 1 => Just("1".to_owned())]),
        entry("name", 0.995, text_value()),
        entry(
            "version",
            0.995,
            prop_oneof![10 => Just("1"), 1 => select(&["0", "-1", "4294967296", "1.5", "\"1\""][..])]
                .prop_map(str::to_owned),
        ),
        entry("target_answer_days", 0.3, limit()),
        stray(),
    ]);
    (top, vec(named_condition(), 0..4), vec(stage(), 0..4), vec(scenario(), 0..3))
        .prop_map(|(top, conditions, stages, scenarios)| Document { top, conditions, stages, scenarios })
        .boxed()
}

// ---------------------------------------------------------------------------------------------------------------
// Edits of the shipped flows.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Edit {
    DeleteRange {
        at: Index,
        len: usize,
    },
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
    ReplaceToken(Index, String),
    /// Puts a copy of one token of the file where another is: ids, kinds, names and values from the flow itself.
    CopyToken {
        from: Index,
        to: Index,
    },
    Insert(Index, String),
    Truncate(Index),
}

/// What a replaced token becomes: keywords of the language and the format, numbers out of range, punctuation.
const TOKENS: &[&str] = &[
    "yes",
    "no",
    "true",
    "false",
    "and",
    "or",
    "not",
    "answered",
    "in",
    "0",
    "1",
    "-1",
    "4294967296",
    "1e400",
    "nan",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "=",
    "==",
    ",",
    "#",
    "",
    "\n",
    "numbr",
    "nonsense",
    "q.eligibility.use_case_fits",
    "q.nowhere.nothing",
    "org.kind",
    "org.kinds",
    "2026-02-30",
    "commercial",
    "martian",
    "[[stages]]",
    "[[stages.sections.questions]]",
    "id",
    "kind",
    "options",
    "when",
    "\"\"\"",
    "é",
    "\\",
];

fn edit() -> BoxedStrategy<Edit> {
    prop_oneof![
        2 => (any::<Index>(), 1usize..80).prop_map(|(at, len)| Edit::DeleteRange { at, len }),
        1 => any::<Index>().prop_map(Edit::DuplicateLine),
        1 => any::<Index>().prop_map(Edit::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        3 => (any::<Index>(), select(TOKENS)).prop_map(|(at, token)| Edit::ReplaceToken(at, token.to_owned())),
        3 => (any::<Index>(), any::<Index>()).prop_map(|(from, to)| Edit::CopyToken { from, to }),
        1 => (any::<Index>(), "\\PC{0,8}").prop_map(|(at, text)| Edit::Insert(at, text)),
        1 => any::<Index>().prop_map(Edit::Truncate),
    ]
    .boxed()
}

/// The char boundary at or before byte `at`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Words (letters, digits, `_`, `.`, `-`) and TOML's punctuation, as byte ranges.
fn tokens(text: &str) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric() || matches!(c, '_' | '.' | '-');
        match (word, start) {
            (true, None) => start = Some(i),
            (false, Some(from)) => {
                found.push(from..i);
                start = None;
            }
            _ => {}
        }
        if matches!(c, '[' | ']' | '{' | '}' | '=' | '"' | '\'' | ',' | '#') {
            found.push(i..i + 1);
        }
    }
    if let Some(from) = start {
        found.push(from..text.len());
    }
    found
}

fn apply(text: &str, edit: &Edit) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let tokens = tokens(text);
    let splice = |range: Range<usize>, with: &str| format!("{}{with}{}", &text[..range.start], &text[range.end..]);
    match edit {
        Edit::DeleteRange { at, len } => {
            let start = boundary(text, at.index(text.len() + 1));
            splice(start..boundary(text, start + len), "")
        }
        Edit::DuplicateLine(_) | Edit::DeleteLine(_) if lines.is_empty() => text.to_owned(),
        Edit::DuplicateLine(at) => {
            let mut lines = lines.clone();
            let at = at.index(lines.len());
            lines.insert(at, lines[at]);
            lines.concat()
        }
        Edit::DeleteLine(at) => {
            let mut lines = lines.clone();
            lines.remove(at.index(lines.len()));
            lines.concat()
        }
        Edit::SwapLines(..) if lines.is_empty() => text.to_owned(),
        Edit::SwapLines(a, b) => {
            let mut lines = lines.clone();
            let len = lines.len();
            lines.swap(a.index(len), b.index(len));
            lines.concat()
        }
        Edit::ReplaceToken(..) | Edit::CopyToken { .. } if tokens.is_empty() => text.to_owned(),
        Edit::ReplaceToken(at, with) => splice(tokens[at.index(tokens.len())].clone(), with),
        Edit::CopyToken { from, to } => {
            let from = &text[tokens[from.index(tokens.len())].clone()];
            splice(tokens[to.index(tokens.len())].clone(), from)
        }
        Edit::Insert(at, with) => {
            let at = boundary(text, at.index(text.len() + 1));
            splice(at..at, with)
        }
        Edit::Truncate(at) => text[..boundary(text, at.index(text.len() + 1))].to_owned(),
    }
}

fn edited(index: usize, edits: &[Edit]) -> (&'static str, String) {
    let (file_name, text) = SHIPPED[index];
    (file_name, edits.iter().fold(text.to_owned(), |text, edit| apply(&text, edit)))
}

/// `count` values of `strategy`, drawn with a fixed seed, for the checks that the generators reach far enough.
fn sample<S: Strategy>(strategy: S, count: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..count)
        .map(|_| match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(reason) => panic!("the strategy gave no value: {reason}"),
        })
        .collect()
}

fn outcome(result: Result<Loaded, TestCaseError>) -> Loaded {
    result.unwrap_or_else(|error| panic!("{error}"))
}

// ---------------------------------------------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dos1_flow_loader_never_panics_on_random_bytes(bytes in vec(any::<u8>(), 0..1024)) {
        check_load("random.toml", &String::from_utf8_lossy(&bytes), &[])?;
    }

    #[test]
    fn dos1_flow_loader_never_panics_on_random_text(text in "\\PC{0,400}") {
        check_load("random.toml", &text, &[])?;
    }

    /// Bytes from TOML's own alphabet get past the first character more often than any bytes do.
    #[test]
    fn dos1_flow_loader_never_panics_on_random_toml_like_bytes(
        bytes in vec(select(b"[]{}=\"'\\\n\r\t #.,-_+:0123456789aeinrstuxyzTFZ".to_vec()), 0..600)
    ) {
        check_load("random.toml", &String::from_utf8_lossy(&bytes), &[])?;
    }

    #[test]
    fn dos1_flow_loader_gives_a_flow_or_placed_problems_for_generated_flow_documents(
        document in document(),
        seeds in vec(any::<u32>(), 1..16),
    ) {
        check_load("generated.toml", &document.render(), &seeds)?;
    }

    #[test]
    fn dos1_flow_loader_gives_a_flow_or_placed_problems_for_edited_shipped_flows(
        index in 0..SHIPPED.len(),
        edits in vec(edit(), 1..4),
        seeds in vec(any::<u32>(), 1..16),
    ) {
        let (file_name, text) = edited(index, &edits);
        check_load(file_name, &text, &seeds)?;
    }

    #[test]
    fn dos1_condition_parser_never_panics_on_random_text(text in "\\PC{0,120}") {
        check_parse(&text)?;
    }

    #[test]
    fn dos1_condition_parser_never_panics_on_text_from_its_alphabet(text in "[a-z_.()\\[\\], '\"=!<>&|0-9-]{0,80}") {
        check_parse(&text)?;
    }

    #[test]
    fn dos1_condition_parser_never_panics_on_any_mix_of_its_tokens(
        pieces in vec(
            select(&[
                "q.a.b", "org.kind", "named", "and", "or", "not", "answered", "(", ")", "[", "]", ",", "==", "!=", "<",
                ">=", "in", "any_of", "none_of", "yes", "no", "12", "-3.5", "2026-12-03", "'text'", "\"two words\"", "word",
            ][..]),
            0..30,
        )
    ) {
        check_parse(&pieces.join(" "))?;
    }

    #[test]
    fn dos1_condition_parser_never_panics_on_grammar_generated_conditions(text in condition_text()) {
        check_parse(&text)?;
    }

    #[test]
    fn dos1_a_valid_condition_parses_and_prints_back_to_the_same_condition(text in valid_condition_text()) {
        let parsed = check_parse(&text)?;
        prop_assert!(parsed.is_some(), "{:?} is in the grammar but does not parse: {:?}", text, Condition::parse(&text));
    }
}

#[test]
fn dos1_every_shipped_flow_is_fuzzed_and_loads() {
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/../../flows");
    let mut on_disk: Vec<String> = std::fs::read_dir(folder)
        .unwrap_or_else(|error| panic!("{folder}: {error}"))
        .filter_map(|entry| entry.ok().map(|entry| entry.file_name().to_string_lossy().into_owned()))
        .filter(|name| name.ends_with(".toml"))
        .map(|name| format!("flows/{name}"))
        .collect();
    on_disk.sort();
    let mut fuzzed: Vec<String> = SHIPPED.iter().map(|(name, _)| (*name).to_owned()).collect();
    fuzzed.sort();
    assert_eq!(fuzzed, on_disk, "every flow in flows/ is in SHIPPED, so its edits are fuzzed");
    for (file_name, text) in SHIPPED {
        assert_eq!(outcome(check_load(file_name, text, &[1, 2, 3, 5, 7, 11, 13])), Loaded::Flow, "{file_name}");
    }
}

/// Nesting deep enough to overflow a recursive parser's stack is an error, not a crash.
#[test]
fn dos1_flow_loader_and_condition_parser_survive_deep_nesting() {
    let deep = [
        format!("a = {}", "[".repeat(100_000)),
        format!("a = {}{}", "[".repeat(5_000), "]".repeat(5_000)),
        format!("a = {}", "{a=".repeat(100_000)),
        format!("{} = 1", vec!["a"; 100_000].join(".")),
        format!("[{}]", vec!["a"; 100_000].join(".")),
        format!("[[{}]]", vec!["stages"; 10_000].join(".")),
        format!(
            "id = \"x\"\nname = \"x\"\nversion = 1\n[[conditions]]\nname = \"n\"\nwhen = \"{}\"\n",
            "(".repeat(100_000)
        ),
        format!(
            "id = \"x\"\nname = \"x\"\nversion = 1\n[[conditions]]\nname = \"n\"\nwhen = \"{}n\"\n",
            "not ".repeat(100_000)
        ),
    ];
    for text in &deep {
        assert!(matches!(outcome(check_load("deep.toml", text, &[])), Loaded::Problems(_)), "{}", &text[..40]);
    }
    for text in ["(".repeat(100_000), "not ".repeat(100_000), "a and ".repeat(20_000) + "a", "[".repeat(100_000)] {
        check_parse(&text).unwrap_or_else(|error| panic!("{error}"));
    }
}

/// The generated documents reach both outcomes and the checks behind the syntax, so the property above is not
/// passing only because every document fails at its first line.
#[test]
fn dos1_generated_flow_documents_reach_every_check() {
    let reached: Vec<Loaded> = sample((document(), vec(any::<u32>(), 1..16)), 1000)
        .into_iter()
        .map(|(document, seeds)| outcome(check_load("generated.toml", &document.render(), &seeds)))
        .collect();
    let loaded = reached.iter().filter(|r| **r == Loaded::Flow).count();
    assert!(loaded >= 10, "only {loaded} of {} generated flows load", reached.len());
    let reasons: Vec<&str> = reached
        .iter()
        .filter_map(|r| if let Loaded::Problems(p) = r { Some(p) } else { None })
        .flatten()
        .map(|p| p.reason.as_str())
        .collect();
    for check in [
        "is used twice",
        "is defined twice",
        "unknown field",
        "unknown variant",
        "there is no question",
        "comes later in the flow",
        "there is no condition named",
        "is not an organisation field",
        "does not fit",
        "cannot be compared with that value",
        "is not one of the options",
        "in a cycle",
        "is above max",
        "must be at least 1",
        "needs at least two options",
        "is listed twice",
        "approval:",
        "condition: ",
        "scenario answer",
        "scenario \"",
        "is not an organisation kind",
        "invalid",
    ] {
        assert!(reasons.iter().any(|reason| reason.contains(check)), "no generated flow reached {check:?}");
    }
}

/// The edits of the shipped flows leave some flows that load (the deepest checks) and break others.
#[test]
fn dos1_edited_shipped_flows_reach_both_outcomes() {
    let reached: Vec<bool> = sample((0..SHIPPED.len(), vec(edit(), 1..2)), 300)
        .into_iter()
        .map(|(index, edits)| {
            let (file_name, text) = edited(index, &edits);
            outcome(check_load(file_name, &text, &[3, 1, 4, 1, 5])) == Loaded::Flow
        })
        .collect();
    let loaded = reached.iter().filter(|ok| **ok).count();
    assert!(loaded >= 20 && loaded <= reached.len() - 20, "{loaded} of {} edited flows load", reached.len());
}

/// A known gap, not fixed here: [`Value`]'s `Display` writes a text bare when it is letters, digits, `_` and
/// `-`, and otherwise with Rust's escapes, so a quoted text that reads as a keyword, number or date, or that
/// holds a `"` or `\`, prints as something that parses to another condition or not at all.
#[test]
fn dos1_quoted_texts_print_back_as_the_same_text() {
    for text in [
        "org.kind == 'yes'",
        "org.kind == 'true'",
        "org.kind == '12'",
        "org.kind == '2026-01-01'",
        "org.kind == 'in'",
        "org.kind == '1a'",
        "org.kind == '-x'",
        "org.kind == 'a\"b'",
        "org.kind == 'a\\b'",
        "org.kind == \"it's\"",
        "org.kind == 'answered'",
        "org.kind in ['no', \"x y\", _a-b]",
    ] {
        let condition = Condition::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        let printed = condition.to_string();
        let back = Condition::parse(&printed).map(|back| shape(&back));
        assert_eq!(back, Ok(shape(&condition)), "{text} printed as {printed}");
    }
}
