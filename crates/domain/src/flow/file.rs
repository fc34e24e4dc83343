//! Flow files (DOS-1): a provider's assurance flow written as TOML, checked as a whole when it is loaded. Every
//! problem is reported with its file, line, column and reason (not only the first), so `onramp flow check` can
//! list them all; a flow that loads has no dangling reference, no cycle and no condition that cannot be
//! evaluated.
//!
//! The shape, in brief (`docs/FLOWS.md` will document every key):
//!
//! ```toml
//! id = "standard-api"
//! name = "Standard API onboarding"
//! version = 1
//! target_answer_days = 10              # the provider's target, in working days
//!
//! [[conditions]]                       # named conditions, usable in any condition by name
//! name = "external"
//! when = "org.kind != provider_internal"
//!
//! [[stages]]
//! id = "setup"
//! title = "Setup and eligibility"
//!
//! [[stages.sections]]
//! id = "eligibility"
//! title = "Eligibility"
//! gate = "q.eligibility.users >= 1"    # an eligibility gate: it passes when this holds
//!
//! [[stages.sections.questions]]
//! id = "users"
//! kind = "number"
//! label = "How many people will use it?"
//! min = 1
//! ```
//!
//! Conditions (`show_when`, `required_when`, `gate`, a named condition's `when`) use [`super::condition`]. A
//! condition may refer only to questions that come before what it belongs to (a gate: up to the end of its
//! section), directly or through the named conditions it uses, and to the organisation fields
//! [`ORGANISATION_FIELDS`].
//!
//! `[[scenarios]]` are examples the checker runs ([`super::evaluate`]): given organisation fields and answers,
//! what must be shown, hidden, required, and which gates pass or fail. A scenario that does not come true is a
//! problem like any other, so an author sees at once what an edit changed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use toml::Spanned;

use super::condition::{Column, Condition, Operator, Reference, Value};
use super::evaluate::{Answer, Answers, OrganisationFacts, evaluate};

/// The organisation fields a condition may name, with their kind.
pub const ORGANISATION_FIELDS: [(&str, QuestionKind); 2] =
    [("kind", QuestionKind::SingleChoice), ("im1_supplier", QuestionKind::YesNo)];

/// The organisation kinds `org.kind` may be compared with.
const ORGANISATION_KINDS: [&str; 4] = ["commercial", "public_healthcare", "non_uk", "provider_internal"];

/// One problem in a flow file, where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {reason}")]
pub struct FlowProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

/// The kinds of question of DOS-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    ShortText,
    LongText,
    Email,
    EmailList,
    YesNo,
    SingleChoice,
    MultipleChoice,
    Date,
    Number,
    Acknowledgement,
    Evidence,
}

impl QuestionKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::ShortText => "short text",
            Self::LongText => "long text",
            Self::Email => "email address",
            Self::EmailList => "list of email addresses",
            Self::YesNo => "yes/no",
            Self::SingleChoice => "single choice",
            Self::MultipleChoice => "multiple choice",
            Self::Date => "date",
            Self::Number => "number",
            Self::Acknowledgement => "acknowledgement",
            Self::Evidence => "evidence upload",
        }
    }

    /// The operators a condition may use on an answer of this kind.
    fn operators(self) -> &'static [Operator] {
        use Operator::{AllOf, AnyOf, Equal, Greater, GreaterOrEqual, In, Less, LessOrEqual, NoneOf, NotEqual};
        match self {
            Self::YesNo | Self::Acknowledgement => &[Equal, NotEqual],
            Self::SingleChoice => &[Equal, NotEqual, In],
            Self::MultipleChoice => &[AnyOf, AllOf, NoneOf],
            Self::Number | Self::Date => &[Equal, NotEqual, Less, LessOrEqual, Greater, GreaterOrEqual],
            Self::ShortText | Self::LongText | Self::Email | Self::EmailList | Self::Evidence => &[],
        }
    }
}

/// A flow as its file says it, every condition parsed.
#[derive(Debug, Clone)]
pub struct Flow {
    pub id: String,
    pub name: String,
    pub version: u32,
    pub target_answer_days: Option<u32>,
    pub conditions: Vec<NamedCondition>,
    pub stages: Vec<Stage>,
    pub scenarios: Vec<Scenario>,
}

/// An example the checker runs: given these facts, this must come out.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub organisation: OrganisationFacts,
    pub open_access: bool,
    pub answers: Answers,
    pub shown: Vec<String>,
    pub hidden: Vec<String>,
    pub required: Vec<String>,
    pub optional: Vec<String>,
    pub gates_failed: Vec<String>,
    pub gates_passed: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NamedCondition {
    pub name: String,
    pub when: Condition,
}

#[derive(Debug, Clone)]
pub struct Stage {
    pub id: String,
    pub title: String,
    pub guidance: Option<String>,
    pub show_when: Option<Condition>,
    /// Open-access products skip this stage (technical conformance).
    pub skip_for_open_access: bool,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub guidance: Option<String>,
    /// For an eligibility gate, the condition under which it passes.
    pub gate: Option<Condition>,
    /// Answered once per application, whatever the number of APIs.
    pub shared: bool,
    pub show_when: Option<Condition>,
    /// What a reviewer must record to approve the section, e.g. the CNTR number of an Active agreement.
    pub approval: Option<ApprovalReference>,
    pub questions: Vec<Question>,
}

/// The reference an approval must record and its rule: `prefix` followed by exactly `digits` digits
/// (DOS-4: `CNTR` and seven digits).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalReference {
    /// What the reference is called, e.g. "Connection agreement number".
    pub label: String,
    pub prefix: String,
    pub digits: u8,
}

impl ApprovalReference {
    /// Checks a reference a reviewer typed; the error says what the rule is.
    pub fn check(&self, reference: &str) -> Result<(), String> {
        let reference = reference.trim();
        let rest = reference.strip_prefix(self.prefix.as_str());
        let fits =
            rest.is_some_and(|rest| rest.len() == usize::from(self.digits) && rest.bytes().all(|b| b.is_ascii_digit()));
        if fits { Ok(()) } else { Err(format!("the {} is {}", self.label.to_lowercase(), self.rule())) }
    }

    /// The rule in words: "CNTR followed by 7 digits".
    pub fn rule(&self) -> String {
        format!("{} followed by {} digits", self.prefix, self.digits)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    pub kind: QuestionKind,
    pub label: String,
    pub help: Option<String>,
    pub required: bool,
    pub show_when: Option<Condition>,
    pub required_when: Option<Condition>,
    pub limits: Limits,
    pub options: Vec<String>,
}

/// The limits a question may carry; which apply depends on its kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    pub max_chars: Option<u32>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub allowed_types: Vec<String>,
    pub max_bytes: Option<u64>,
    pub max_files: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlow {
    id: Spanned<String>,
    name: String,
    version: u32,
    #[serde(default)]
    target_answer_days: Option<u32>,
    #[serde(default)]
    conditions: Vec<RawNamed>,
    #[serde(default)]
    stages: Vec<RawStage>,
    #[serde(default)]
    scenarios: Vec<RawScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    organisation: RawOrganisation,
    #[serde(default)]
    open_access: bool,
    #[serde(default)]
    answers: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    shown: Vec<String>,
    #[serde(default)]
    hidden: Vec<String>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    optional: Vec<String>,
    #[serde(default)]
    gates_failed: Vec<String>,
    #[serde(default)]
    gates_passed: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    kind: Spanned<String>,
    #[serde(default)]
    im1_supplier: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNamed {
    name: Spanned<String>,
    when: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    guidance: Option<String>,
    #[serde(default)]
    show_when: Option<Spanned<String>>,
    #[serde(default)]
    skip_for_open_access: bool,
    #[serde(default)]
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSection {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    guidance: Option<String>,
    #[serde(default)]
    gate: Option<Spanned<String>>,
    #[serde(default)]
    shared: bool,
    #[serde(default)]
    show_when: Option<Spanned<String>>,
    #[serde(default)]
    approval: Option<Spanned<ApprovalReference>>,
    #[serde(default)]
    questions: Vec<RawQuestion>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    kind: Spanned<QuestionKind>,
    label: String,
    #[serde(default)]
    help: Option<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    show_when: Option<Spanned<String>>,
    #[serde(default)]
    required_when: Option<Spanned<String>>,
    #[serde(default)]
    max_chars: Option<Spanned<u32>>,
    #[serde(default)]
    min: Option<Spanned<f64>>,
    #[serde(default)]
    max: Option<Spanned<f64>>,
    #[serde(default)]
    options: Vec<String>,
    #[serde(default)]
    allowed_types: Vec<String>,
    #[serde(default)]
    max_bytes: Option<Spanned<u64>>,
    #[serde(default)]
    max_files: Option<Spanned<u32>>,
}

/// What a condition may see at the point it is written: the questions before it and every named condition.
struct Known<'a> {
    questions: &'a BTreeMap<(String, String), (usize, QuestionKind, Vec<String>)>,
    /// The position (in file order) of what the condition belongs to: it may refer only to questions before.
    before: usize,
    names: &'a BTreeSet<String>,
    /// For each named condition, the latest question it uses (directly or through other names).
    reach: &'a BTreeMap<String, (usize, String)>,
}

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    problems: Vec<FlowProblem>,
}

impl Checker<'_> {
    fn at(&mut self, offset: usize, reason: String) {
        let (line, column) = line_and_column(self.text, offset);
        self.problems.push(FlowProblem { file: self.file.to_owned(), line, column, reason });
    }

    /// The byte offset in the file of a condition's character `column`, the condition starting at byte `start`
    /// (columns count characters, so a name with an accent does not shift what follows).
    fn condition_offset(&self, start: usize, column: Column) -> usize {
        let source = self.text.get(start..).unwrap_or_default();
        start + source.char_indices().nth(column.0.saturating_sub(1)).map_or(source.len(), |(at, _)| at)
    }

    /// Parses the condition in `raw` (a TOML string) and checks its references against `known`.
    fn condition(&mut self, raw: &Spanned<String>, known: &Known<'_>) -> Option<Condition> {
        // The span covers the quoted literal; the expression starts after the opening quote.
        let start = raw.span().start + 1;
        let condition = match Condition::parse(raw.get_ref()) {
            Ok(condition) => condition,
            Err(error) => {
                let offset = self.condition_offset(start, error.column);
                self.at(offset, format!("condition: {}", error.message));
                return None;
            }
        };
        let mut good = true;
        self.check_node(&condition, known, start, &mut good);
        good.then_some(condition)
    }

    fn check_node(&mut self, condition: &Condition, known: &Known<'_>, start: usize, good: &mut bool) {
        let mut fail = |checker: &mut Self, column: Column, reason: String| {
            let offset = checker.condition_offset(start, column);
            checker.at(offset, reason);
            *good = false;
        };
        match condition {
            Condition::Not(inner) => self.check_node(inner, known, start, good),
            Condition::All(parts) | Condition::Any(parts) => {
                parts.iter().for_each(|part| self.check_node(part, known, start, good));
            }
            Condition::Answered { reference, column } => {
                if let Err(reason) = kind_of(reference, known) {
                    fail(self, *column, reason);
                }
            }
            Condition::Holds { reference, column } => match kind_of(reference, known) {
                Err(reason) => fail(self, *column, reason),
                Ok(None | Some((QuestionKind::YesNo | QuestionKind::Acknowledgement, _))) => {}
                Ok(Some((kind, _))) => {
                    fail(self, *column, format!("{reference} is a {} question: compare it with a value", kind.label()))
                }
            },
            Condition::Compare { reference, operator, value, column } => match kind_of(reference, known) {
                Err(reason) => fail(self, *column, reason),
                Ok(None) => {
                    if !matches!(operator, Operator::Equal | Operator::NotEqual) || !matches!(value, Value::YesNo(_)) {
                        fail(
                            self,
                            *column,
                            format!("the condition {reference} can only be compared with == yes or == no"),
                        );
                    }
                }
                Ok(Some((kind, options))) => {
                    if let Some(reason) = misfit(reference, kind, &options, *operator, value) {
                        fail(self, *column, reason);
                    }
                }
            },
        }
    }
}

/// The kind and options of what `reference` names (`None` for a named condition), or why it cannot be used.
fn kind_of(reference: &Reference, known: &Known<'_>) -> Result<Option<(QuestionKind, Vec<String>)>, String> {
    match reference {
        Reference::Named(name) => {
            if let Some((position, question)) = known.reach.get(name)
                && *position >= known.before
            {
                Err(format!("the condition {name} uses {question}, which comes later in the flow"))
            } else if known.names.contains(name) {
                Ok(None)
            } else {
                let hint = did_you_mean(name, known.names.iter().map(String::as_str));
                Err(format!("there is no condition named {name}{hint}"))
            }
        }
        Reference::Organisation(field) => ORGANISATION_FIELDS
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, kind)| {
                let options =
                    if *field == "kind" { ORGANISATION_KINDS.map(str::to_owned).to_vec() } else { Vec::new() };
                Some((*kind, options))
            })
            .ok_or_else(|| {
                let hint = did_you_mean(field, ORGANISATION_FIELDS.iter().map(|(name, _)| *name));
                format!("org.{field} is not an organisation field{hint}")
            }),
        Reference::Answer { section, question } => {
            let key = (section.clone(), question.clone());
            match known.questions.get(&key) {
                Some((position, kind, options)) if *position < known.before => Ok(Some((*kind, options.clone()))),
                Some(_) => {
                    Err(format!("{reference} comes later in the flow: a condition may only use earlier answers"))
                }
                None => {
                    let all: Vec<String> = known.questions.keys().map(|(s, q)| format!("q.{s}.{q}")).collect();
                    let hint = did_you_mean(&reference.to_string(), all.iter().map(String::as_str));
                    Err(format!("there is no question {reference}{hint}"))
                }
            }
        }
    }
}

/// Why `operator value` does not fit an answer of `kind`, if it does not.
fn misfit(
    reference: &Reference,
    kind: QuestionKind,
    options: &[String],
    operator: Operator,
    value: &Value,
) -> Option<String> {
    if !kind.operators().contains(&operator) {
        let allowed: Vec<&str> = kind.operators().iter().map(|o| o.as_str()).collect();
        let allowed = if allowed.is_empty() { "none: only answered(…)".to_owned() } else { allowed.join(", ") };
        return Some(format!(
            "`{}` does not fit {reference}, a {} question (it takes {allowed})",
            operator.as_str(),
            kind.label()
        ));
    }
    let values: Vec<&Value> = match value {
        Value::List(values) => values.iter().collect(),
        single => vec![single],
    };
    for value in values {
        let fits = match (kind, value) {
            (QuestionKind::YesNo | QuestionKind::Acknowledgement, Value::YesNo(_)) => true,
            (QuestionKind::Number, Value::Number(_)) => true,
            (QuestionKind::Date, Value::Date(_)) => true,
            (QuestionKind::SingleChoice | QuestionKind::MultipleChoice, Value::Text(choice)) => {
                if !options.contains(choice) {
                    return Some(format!(
                        "{choice:?} is not one of the options of {reference} ({})",
                        options.join(", ")
                    ));
                }
                true
            }
            _ => false,
        };
        if !fits {
            return Some(format!("{reference} is a {} question and cannot be compared with that value", kind.label()));
        }
    }
    None
}

/// ", did you mean …?" for the closest candidate within two edits, or nothing.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    candidates
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, candidate)| format!("; did you mean {candidate}?"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |tail| tail.chars().count()) + 1;
    (line, column)
}

/// Loads the flow in `text` (read from `file`, which names it in problems), or every problem found.
pub fn load(file: &str, text: &str) -> Result<Flow, Vec<FlowProblem>> {
    let mut checker = Checker { file, text, problems: Vec::new() };
    let raw: RawFlow = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(error) => {
            let offset = error.span().map_or(0, |span| span.start);
            checker.at(offset, error.message().trim().to_owned());
            return Err(checker.problems);
        }
    };

    // Every question, in file order, for the references; duplicates are problems.
    let mut questions = BTreeMap::new();
    let mut stage_ids = BTreeSet::new();
    let mut section_ids = BTreeSet::new();
    let mut position = 0;
    for stage in &raw.stages {
        if !stage_ids.insert(stage.id.get_ref().clone()) {
            checker.at(stage.id.span().start, format!("the stage id {} is used twice", stage.id.get_ref()));
        }
        for section in &stage.sections {
            if !section_ids.insert(section.id.get_ref().clone()) {
                checker.at(section.id.span().start, format!("the section id {} is used twice", section.id.get_ref()));
            }
            for question in &section.questions {
                let key = (section.id.get_ref().clone(), question.id.get_ref().clone());
                let entry = (position, *question.kind.get_ref(), question.options.clone());
                // The first definition stands, so the rest of the file is checked against it.
                match questions.entry(key) {
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(entry);
                    }
                    std::collections::btree_map::Entry::Occupied(_) => {
                        let (section, question) = (section.id.get_ref(), question.id.get_ref());
                        checker.at(
                            raw_span(&raw, section, question),
                            format!("the question q.{section}.{question} is defined twice"),
                        );
                    }
                }
                position += 1;
            }
        }
    }
    let mut names = BTreeSet::new();
    for named in &raw.conditions {
        if !names.insert(named.name.get_ref().clone()) {
            checker.at(named.name.span().start, format!("the condition {} is defined twice", named.name.get_ref()));
        }
    }

    // Named conditions may use any question and other names; where one is used, what it reaches must be earlier.
    let no_reach = BTreeMap::new();
    let everything = Known { questions: &questions, before: usize::MAX, names: &names, reach: &no_reach };
    let mut conditions = Vec::new();
    for named in &raw.conditions {
        if let Some(when) = checker.condition(&named.when, &everything) {
            conditions.push((named, when));
        }
    }
    check_cycles(&mut checker, &conditions);
    let reach = reaches(&conditions, &questions);

    let mut stages = Vec::new();
    let mut position = 0;
    for stage in &raw.stages {
        let first = position;
        let at_stage = Known { questions: &questions, before: first, names: &names, reach: &reach };
        let stage_show = stage.show_when.as_ref().and_then(|raw| checker.condition(raw, &at_stage));
        let mut sections = Vec::new();
        for section in &stage.sections {
            let at_section = Known { questions: &questions, before: position, names: &names, reach: &reach };
            let section_show = section.show_when.as_ref().and_then(|raw| checker.condition(raw, &at_section));
            let after_section = Known {
                questions: &questions,
                before: position + section.questions.len(),
                names: &names,
                reach: &reach,
            };
            let gate = section.gate.as_ref().and_then(|raw| checker.condition(raw, &after_section));
            if let Some(approval) = &section.approval {
                let rule = approval.get_ref();
                let prefix_fits = !rule.prefix.is_empty() && rule.prefix.chars().all(|c| c.is_ascii_uppercase());
                if !prefix_fits || !(1..=20).contains(&rule.digits) {
                    checker.at(
                        approval.span().start,
                        "approval: the prefix must be capital letters (e.g. CNTR) and digits between 1 and 20".into(),
                    );
                }
            }
            let mut built = Vec::new();
            for question in &section.questions {
                let at_question = Known { questions: &questions, before: position, names: &names, reach: &reach };
                let show_when = question.show_when.as_ref().and_then(|raw| checker.condition(raw, &at_question));
                let required_when =
                    question.required_when.as_ref().and_then(|raw| checker.condition(raw, &at_question));
                let limits = check_limits(&mut checker, question);
                built.push(Question {
                    id: question.id.get_ref().clone(),
                    kind: *question.kind.get_ref(),
                    label: question.label.clone(),
                    help: question.help.clone(),
                    required: question.required,
                    show_when,
                    required_when,
                    limits,
                    options: question.options.clone(),
                });
                position += 1;
            }
            sections.push(Section {
                id: section.id.get_ref().clone(),
                title: section.title.clone(),
                guidance: section.guidance.clone(),
                gate,
                approval: section.approval.as_ref().map(|approval| approval.get_ref().clone()),
                shared: section.shared,
                show_when: section_show,
                questions: built,
            });
        }
        stages.push(Stage {
            id: stage.id.get_ref().clone(),
            title: stage.title.clone(),
            guidance: stage.guidance.clone(),
            show_when: stage_show,
            skip_for_open_access: stage.skip_for_open_access,
            sections,
        });
    }

    if !checker.problems.is_empty() {
        checker.problems.sort_by_key(|p| (p.line, p.column));
        return Err(checker.problems);
    }
    let mut flow = Flow {
        id: raw.id.get_ref().clone(),
        name: raw.name,
        version: raw.version,
        target_answer_days: raw.target_answer_days,
        conditions: conditions
            .into_iter()
            .map(|(named, when)| NamedCondition { name: named.name.get_ref().clone(), when })
            .collect(),
        stages,
        scenarios: Vec::new(),
    };
    for raw_scenario in &raw.scenarios {
        if let Some(scenario) = scenario(&mut checker, &questions, raw_scenario) {
            run_scenario(&mut checker, &flow, &scenario, raw_scenario.name.span().start);
            flow.scenarios.push(scenario);
        }
    }
    if !checker.problems.is_empty() {
        checker.problems.sort_by_key(|p| (p.line, p.column));
        return Err(checker.problems);
    }
    Ok(flow)
}

type QuestionIndex = BTreeMap<(String, String), (usize, QuestionKind, Vec<String>)>;

/// For each named condition, the latest question it uses, directly or through other names (cycles are
/// reported elsewhere and cut here).
fn reaches(conditions: &[(&RawNamed, Condition)], questions: &QuestionIndex) -> BTreeMap<String, (usize, String)> {
    /// Each condition's reach is worked out once (`known`), so conditions that share the ones they use cost
    /// no more than the references they hold. In a cycle (reported on its own) the walk stops at the repeat.
    fn reach_of(
        name: &str,
        conditions: &[(&RawNamed, Condition)],
        questions: &QuestionIndex,
        visiting: &mut Vec<String>,
        known: &mut BTreeMap<String, Option<(usize, String)>>,
    ) -> Option<(usize, String)> {
        if let Some(reach) = known.get(name) {
            return reach.clone();
        }
        if visiting.iter().any(|v| v == name) {
            return None;
        }
        let (_, when) = conditions.iter().find(|(named, _)| named.name.get_ref() == name)?;
        visiting.push(name.to_owned());
        let mut latest: Option<(usize, String)> = None;
        for (reference, _) in when.references() {
            let candidate = match reference {
                Reference::Answer { section, question } => questions
                    .get(&(section.clone(), question.clone()))
                    .map(|(position, _, _)| (*position, reference.to_string())),
                Reference::Named(other) => reach_of(other, conditions, questions, visiting, known),
                Reference::Organisation(_) => None,
            };
            if let Some(candidate) = candidate
                && latest.as_ref().is_none_or(|(position, _)| candidate.0 > *position)
            {
                latest = Some(candidate);
            }
        }
        visiting.pop();
        known.insert(name.to_owned(), latest.clone());
        latest
    }
    let mut known = BTreeMap::new();
    conditions
        .iter()
        .filter_map(|(named, _)| {
            let name = named.name.get_ref();
            reach_of(name, conditions, questions, &mut Vec::new(), &mut known).map(|reach| (name.clone(), reach))
        })
        .collect()
}

/// Reads a scenario's organisation and answers, each answer by the kind of its question.
fn scenario(checker: &mut Checker<'_>, questions: &QuestionIndex, raw: &RawScenario) -> Option<Scenario> {
    let mut good = true;
    let kind = raw.organisation.kind.get_ref();
    if !ORGANISATION_KINDS.contains(&kind.as_str()) {
        checker.at(
            raw.organisation.kind.span().start,
            format!("{kind:?} is not an organisation kind ({})", ORGANISATION_KINDS.join(", ")),
        );
        good = false;
    }
    let mut answers = Answers::new();
    for (key, value) in &raw.answers {
        let at = value.span().start;
        let parts: Vec<&str> = key.split('.').collect();
        let [section, question] = parts.as_slice() else {
            checker.at(at, format!("answers are keyed \"section.question\", not {key:?}"));
            good = false;
            continue;
        };
        let key = ((*section).to_owned(), (*question).to_owned());
        let Some((_, kind, options)) = questions.get(&key) else {
            checker.at(at, format!("scenario answer: there is no question q.{section}.{question}"));
            good = false;
            continue;
        };
        match answer(*kind, options, value.get_ref()) {
            Ok(answer) => {
                answers.insert(key, answer);
            }
            Err(reason) => {
                checker.at(at, format!("scenario answer to q.{section}.{question}: {reason}"));
                good = false;
            }
        }
    }
    good.then(|| Scenario {
        name: raw.name.get_ref().clone(),
        organisation: OrganisationFacts { kind: kind.clone(), im1_supplier: raw.organisation.im1_supplier },
        open_access: raw.open_access,
        answers,
        shown: raw.shown.clone(),
        hidden: raw.hidden.clone(),
        required: raw.required.clone(),
        optional: raw.optional.clone(),
        gates_failed: raw.gates_failed.clone(),
        gates_passed: raw.gates_passed.clone(),
    })
}

fn answer(kind: QuestionKind, options: &[String], value: &toml::Value) -> Result<Answer, String> {
    let expected = |what: &str| Err(format!("a {} question takes {what}", kind.label()));
    match kind {
        QuestionKind::YesNo | QuestionKind::Acknowledgement => {
            value.as_bool().map(Answer::YesNo).map_or_else(|| expected("true or false"), Ok)
        }
        QuestionKind::Number => match value {
            toml::Value::Integer(n) => Ok(Answer::Number(*n as f64)),
            toml::Value::Float(n) => Ok(Answer::Number(*n)),
            _ => expected("a number"),
        },
        QuestionKind::Date => match value.as_str().map(str::parse::<jiff::civil::Date>) {
            Some(Ok(date)) => Ok(Answer::Date(date)),
            _ => expected("a date written \"YYYY-MM-DD\""),
        },
        QuestionKind::SingleChoice => match value.as_str() {
            Some(choice) if options.iter().any(|o| o == choice) => Ok(Answer::Text(choice.to_owned())),
            Some(choice) => Err(format!("{choice:?} is not one of its options ({})", options.join(", "))),
            None => expected("one of its options"),
        },
        QuestionKind::MultipleChoice => {
            let Some(items) = value.as_array() else { return expected("a list of its options") };
            let mut picked = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(choice) if options.iter().any(|o| o == choice) => picked.push(choice.to_owned()),
                    _ => {
                        let shown = item.as_str().map_or_else(|| format!("{item:?}"), |text| format!("{text:?}"));
                        return Err(format!("{shown} is not one of its options ({})", options.join(", ")));
                    }
                }
            }
            Ok(Answer::Choices(picked))
        }
        QuestionKind::ShortText
        | QuestionKind::LongText
        | QuestionKind::Email
        | QuestionKind::EmailList
        | QuestionKind::Evidence => {
            value.as_str().map(|t| Answer::Text(t.to_owned())).map_or_else(|| expected("text"), Ok)
        }
    }
}

/// Runs `scenario` against `flow`; each expectation that does not come true is a problem at the scenario.
fn run_scenario(checker: &mut Checker<'_>, flow: &Flow, scenario: &Scenario, at: usize) {
    let outcome = match evaluate(flow, &scenario.organisation, scenario.open_access, &scenario.answers) {
        Ok(outcome) => outcome,
        Err(error) => {
            checker.at(at, format!("scenario {:?}: {error}", scenario.name));
            return;
        }
    };
    let known: BTreeSet<String> = flow
        .stages
        .iter()
        .flat_map(|stage| {
            std::iter::once(stage.id.clone()).chain(stage.sections.iter().flat_map(|section| {
                std::iter::once(section.id.clone())
                    .chain(section.questions.iter().map(move |q| format!("q.{}.{}", section.id, q.id)))
            }))
        })
        .collect();
    let mut fail = |reason: String| checker.at(at, format!("scenario {:?}: {reason}", scenario.name));
    /// (names expected, whether they should be in the set, the set, what was wanted, what was found instead)
    type Expectation<'a> = (&'a Vec<String>, bool, &'a BTreeSet<String>, &'a str, &'a str);
    let expectations: [Expectation<'_>; 6] = [
        (&scenario.shown, true, &outcome.shown, "to be shown", "it is hidden"),
        (&scenario.hidden, false, &outcome.shown, "to be hidden", "it is shown"),
        (&scenario.required, true, &outcome.required, "to be required", "it is not"),
        (&scenario.optional, false, &outcome.required, "to be optional", "it is required"),
        (&scenario.gates_failed, true, &outcome.gates_failed, "to fail its gate", "it does not"),
        (&scenario.gates_passed, true, &outcome.gates_passed, "to pass its gate", "it does not"),
    ];
    for (names, present, set, wanted, found) in expectations {
        for name in names {
            if !known.contains(name) {
                fail(format!("{name} is not a stage, section or question of this flow"));
            } else if set.contains(name) != present {
                fail(format!("expected {name} {wanted}, but {found}"));
            }
        }
    }
}

/// Where the second definition of `q.section.question` is.
fn raw_span(raw: &RawFlow, section: &str, question: &str) -> usize {
    raw.stages
        .iter()
        .flat_map(|stage| &stage.sections)
        .filter(|s| s.id.get_ref() == section)
        .flat_map(|s| &s.questions)
        .filter(|q| q.id.get_ref() == question)
        .nth(1)
        .map_or(0, |q| q.id.span().start)
}

fn check_limits(checker: &mut Checker<'_>, question: &RawQuestion) -> Limits {
    let kind = *question.kind.get_ref();
    // Each upper limit must leave room for something: (key, where it is, whether it is zero).
    let zero_limits = [
        ("max_chars", question.max_chars.as_ref().map(|v| (v.span().start, *v.get_ref() == 0))),
        ("max_files", question.max_files.as_ref().map(|v| (v.span().start, *v.get_ref() == 0))),
        ("max_bytes", question.max_bytes.as_ref().map(|v| (v.span().start, *v.get_ref() == 0))),
    ];
    for (key, limit) in zero_limits {
        if let Some((at, true)) = limit {
            checker.at(at, format!("{key} must be at least 1"));
        }
    }
    if let Some(max) = &question.max_bytes
        && *max.get_ref() > crate::evidence::LARGEST_FILE
    {
        let largest = crate::evidence::LARGEST_FILE;
        checker.at(max.span().start, format!("max_bytes must be at most {largest} (100 MB)"));
    }
    if let Some(max) = &question.max_files
        && *max.get_ref() > crate::evidence::MOST_FILES
    {
        checker.at(max.span().start, format!("max_files must be at most {}", crate::evidence::MOST_FILES));
    }
    for name in &question.allowed_types {
        if crate::evidence::FileType::parse(name).is_none() {
            let known = crate::evidence::FileType::ALL.map(|t| t.as_str());
            let hint = did_you_mean(name, known.iter().copied());
            checker.at(
                question.id.span().start,
                format!("unknown file type {name:?} in allowed_types{hint}; known types: {}", known.join(", ")),
            );
        }
    }
    if let (Some(min), Some(max)) = (&question.min, &question.max)
        && min.get_ref() > max.get_ref()
    {
        checker.at(min.span().start, format!("min ({}) is above max ({})", min.get_ref(), max.get_ref()));
    }
    let needs_options = matches!(kind, QuestionKind::SingleChoice | QuestionKind::MultipleChoice);
    if needs_options && question.options.len() < 2 {
        checker.at(question.kind.span().start, format!("a {} question needs at least two options", kind.label()));
    }
    let mut seen = BTreeSet::new();
    for option in &question.options {
        if !seen.insert(option) {
            checker.at(question.id.span().start, format!("the option {option:?} is listed twice"));
        }
    }
    Limits {
        max_chars: question.max_chars.as_ref().map(|v| *v.get_ref()),
        min: question.min.as_ref().map(|v| *v.get_ref()),
        max: question.max.as_ref().map(|v| *v.get_ref()),
        allowed_types: question.allowed_types.clone(),
        max_bytes: question.max_bytes.as_ref().map(|v| *v.get_ref()),
        max_files: question.max_files.as_ref().map(|v| *v.get_ref()),
    }
}

/// Named conditions must not refer to themselves, directly or through others; a cycle is named in full.
fn check_cycles(checker: &mut Checker<'_>, conditions: &[(&RawNamed, Condition)]) {
    let uses: BTreeMap<&str, Vec<&str>> = conditions
        .iter()
        .map(|(named, when)| {
            let names = when
                .references()
                .into_iter()
                .filter_map(
                    |(reference, _)| if let Reference::Named(name) = reference { Some(name.as_str()) } else { None },
                )
                .collect();
            (named.name.get_ref().as_str(), names)
        })
        .collect();
    let mut reported = BTreeSet::new();
    for (named, _) in conditions {
        let start = named.name.get_ref().as_str();
        let mut path = vec![start];
        if let Some(cycle) = find_cycle(start, &uses, &mut path, &mut BTreeSet::new()) {
            let members: BTreeSet<&str> = cycle.iter().copied().collect();
            if reported.insert(members) {
                checker.at(
                    named.when.span().start,
                    format!("the conditions refer to each other in a cycle: {}", cycle.join(" → ")),
                );
            }
        }
    }
}

/// A path from `start` back to itself, if there is one. A condition from which `start` cannot be reached is
/// explored once (`dead`), so the search is linear in the number of references.
fn find_cycle<'a>(
    start: &'a str,
    uses: &BTreeMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    dead: &mut BTreeSet<&'a str>,
) -> Option<Vec<&'a str>> {
    let current = *path.last()?;
    for &next in uses.get(current).map(Vec::as_slice).unwrap_or_default() {
        if next == start {
            let mut cycle = path.clone();
            cycle.push(start);
            return Some(cycle);
        }
        if path.contains(&next) || dead.contains(next) {
            continue;
        }
        path.push(next);
        if let Some(cycle) = find_cycle(start, uses, path, dead) {
            return Some(cycle);
        }
        path.pop();
        dead.insert(next);
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_problem_after_an_accented_word_in_a_condition_is_placed_on_its_first_character() {
        let text = GOOD.replace(
            r#"show_when = "q.eligibility.users > 10""#,
            r#"show_when = "org.kind != 'café' and q.eligibility.userz > 10""#,
        );
        let found = problems(&text);
        let line = text.lines().position(|l| l.contains("userz")).unwrap() + 1;
        let column = text.lines().nth(line - 1).unwrap().chars().position(|c| c == 'q').unwrap() + 1;
        let unknown = found.iter().find(|problem| problem.reason.contains("userz")).unwrap();
        assert_eq!((unknown.line, unknown.column), (line, column), "{found:?}");
    }

    /// Each named condition uses every later one: a walk without memory takes 2^n steps.
    #[test]
    fn many_conditions_sharing_the_ones_they_use_load_at_once() {
        let n = 60;
        let mut text = String::from("id = \"x\"\nname = \"X\"\nversion = 1\n");
        for i in 0..n {
            let later: Vec<String> = (i + 1..n).map(|j| format!("c{j}")).collect();
            let when = if later.is_empty() { "org.im1_supplier == yes".to_owned() } else { later.join(" or ") };
            text.push_str(&format!("\n[[conditions]]\nname = \"c{i}\"\nwhen = \"{when}\"\n"));
        }
        text.push_str("\n[[stages]]\nid = \"s\"\ntitle = \"S\"\nshow_when = \"c0\"\n\n[[stages.sections]]\nid = \"a\"\ntitle = \"A\"\n\n[[stages.sections.questions]]\nid = \"q\"\nkind = \"yes_no\"\nlabel = \"Q\"\n");
        let outcome = load("many.toml", &text);
        assert!(outcome.is_ok(), "{outcome:?}");
        let cyclic = text.replace("org.im1_supplier == yes", "c0");
        let problems = load("many.toml", &cyclic).unwrap_err();
        assert!(
            problems[0].reason.starts_with("the conditions refer to each other in a cycle: c0 → c1"),
            "{problems:?}"
        );
    }

    const GOOD: &str = r#"
id = "standard-api"
name = "Standard API onboarding"
version = 1
target_answer_days = 10

[[conditions]]
name = "external"
when = "org.kind != provider_internal"

[[stages]]
id = "setup"
title = "Setup and eligibility"

[[stages.sections]]
id = "eligibility"
title = "Eligibility"
gate = "q.eligibility.users >= 5"

[[stages.sections.questions]]
id = "users"
kind = "number"
label = "How many people will use it?"
min = 1
max = 100000

[[stages.sections.questions]]
id = "channels"
kind = "multiple_choice"
label = "Where will it be used?"
options = ["web", "app", "phone"]
show_when = "q.eligibility.users > 10"

[[stages]]
id = "legal"
title = "Legal agreement"
show_when = "external and q.eligibility.channels any_of [web, app]"

[[stages.sections]]
id = "agreement"
title = "Approved connection agreement"

[[stages.sections.questions]]
id = "reference"
kind = "short_text"
label = "Connection agreement reference"
required_when = "org.im1_supplier"

[[scenarios]]
name = "An IM1 supplier with many users on the web"
organisation = { kind = "commercial", im1_supplier = true }
answers = { "eligibility.users" = 50, "eligibility.channels" = ["web"] }
shown = ["legal", "q.eligibility.channels", "q.agreement.reference"]
required = ["q.agreement.reference"]
gates_passed = ["eligibility"]

[[scenarios]]
name = "A provider-internal team skips the legal stage"
organisation = { kind = "provider_internal" }
answers = { "eligibility.users" = 3, "eligibility.channels" = ["web"] }
hidden = ["legal", "q.eligibility.channels"]
gates_failed = ["eligibility"]
"#;

    fn problems(text: &str) -> Vec<FlowProblem> {
        load("broken.toml", text).expect_err("the flow should not load")
    }

    #[test]
    fn a_good_flow_loads_with_its_conditions_parsed() {
        let flow = load("good.toml", GOOD).unwrap();
        assert_eq!((flow.id.as_str(), flow.version, flow.target_answer_days), ("standard-api", 1, Some(10)));
        assert_eq!(flow.stages.len(), 2);
        assert!(flow.stages[1].show_when.is_some());
        assert!(flow.stages[0].sections[0].gate.is_some());
        assert_eq!(flow.scenarios.len(), 2);
        assert_eq!(flow.stages[0].sections[0].questions[0].limits.max, Some(100_000.0));
    }

    #[test]
    fn every_problem_is_reported_with_file_line_column_and_reason() {
        let broken = GOOD
            .replace("q.eligibility.users > 10", "q.eligibility.user > 10")
            .replace("when = \"org.kind != provider_internal\"", "when = \"org.kind != provider_internl\"")
            .replace("max = 100000", "max = 0")
            .replace("required_when = \"org.im1_supplier\"", "required_when = \"org.im1_suplier and internal\"");
        let found = problems(&broken);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|p| p.contains("\"provider_internl\" is not one of the options of org.kind")),
            "{text:#?}"
        );
        assert!(text.iter().any(|p| p.contains("min (1) is above max (0)")), "{text:#?}");
        assert!(
            text.iter()
                .any(|p| p.contains("there is no question q.eligibility.user; did you mean q.eligibility.users?")),
            "{text:#?}"
        );
        assert!(
            text.iter().any(|p| p.contains("org.im1_suplier is not an organisation field; did you mean im1_supplier?")),
            "{text:#?}"
        );
        assert!(text.iter().any(|p| p.contains("there is no condition named internal")), "{text:#?}");
        let missing = found.iter().find(|p| p.reason.contains("q.eligibility.user;")).unwrap();
        let line = broken.lines().nth(missing.line - 1).unwrap();
        assert_eq!(&line[missing.column - 1..missing.column + 17], "q.eligibility.user", "the column points at it");
        assert!(text[0].starts_with("broken.toml:"), "{text:#?}");
    }

    #[test]
    fn a_scenario_that_does_not_come_true_is_a_problem_at_the_scenario() {
        let broken =
            GOOD.replace(r#"hidden = ["legal", "q.eligibility.channels"]"#, r#"shown = ["legal", "nonsense"]"#);
        let found = problems(&broken);
        let reasons: Vec<&str> = found.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "scenario \"A provider-internal team skips the legal stage\": expected legal to be shown, but it is hidden",
                "scenario \"A provider-internal team skips the legal stage\": nonsense is not a stage, section or question of this flow",
            ]
        );
        let line = broken.lines().nth(found[0].line - 1).unwrap();
        assert!(line.contains("A provider-internal team"), "{line}");
        let answer = problems(&GOOD.replace(r#""eligibility.users" = 3"#, r#""eligibility.users" = "three""#));
        assert!(answer[0].reason.contains("q.eligibility.users: a number question takes a number"), "{answer:?}");
        let choice = problems(&GOOD.replace(
            r#""eligibility.channels" = ["web"] }
hidden"#,
            r#""eligibility.channels" = ["fax"] }
hidden"#,
        ));
        assert!(choice[0].reason.contains("\"fax\" is not one of its options"), "{choice:?}");
    }

    #[test]
    fn a_gate_may_use_its_own_section_but_a_name_may_not_smuggle_in_a_later_answer() {
        let later_gate = problems(
            &GOOD.replace(r#"gate = "q.eligibility.users >= 5""#, r#"gate = "answered(q.agreement.reference)""#),
        );
        assert!(later_gate[0].reason.contains("comes later in the flow"), "{later_gate:?}");
        let smuggled = GOOD.replace(
            r#"when = "org.kind != provider_internal""#,
            r#"when = "org.kind != provider_internal and answered(q.agreement.reference)""#,
        );
        let smuggled = problems(&smuggled);
        assert!(
            smuggled[0].reason.contains("the condition external uses q.agreement.reference, which comes later"),
            "{smuggled:?}"
        );
    }

    #[test]
    fn dos4_an_approval_records_a_reference_that_follows_its_rule() {
        let flow = load(
            "good.toml",
            &GOOD.replace(
                "title = \"Approved connection agreement\"",
                "title = \"Approved connection agreement\"\napproval = { label = \"Connection agreement number\", prefix = \"CNTR\", digits = 7 }",
            ),
        )
        .unwrap();
        let approval = flow.stages[1].sections[0].approval.clone().unwrap();
        assert_eq!(approval.check(" CNTR0000123 "), Ok(()));
        for wrong in ["CNTR000012", "CNTR00001234", "cntr0000123", "CS0000123", "CNTR000012x"] {
            assert_eq!(
                approval.check(wrong),
                Err("the connection agreement number is CNTR followed by 7 digits".into()),
                "{wrong}"
            );
        }
        let bad = problems(&GOOD.replace(
            "title = \"Approved connection agreement\"",
            "title = \"Approved connection agreement\"\napproval = { label = \"Number\", prefix = \"cntr\", digits = 0 }",
        ));
        assert!(bad[0].reason.starts_with("approval: the prefix must be capital letters"), "{bad:?}");
    }

    #[test]
    fn syntax_unknown_keys_and_duplicates_are_problems() {
        let syntax = problems("id = \"x\"\nname = \nversion = 1\n");
        assert_eq!((syntax[0].line, syntax[0].file.as_str()), (2, "broken.toml"));
        let unknown = problems(&GOOD.replace("gate = ", "gaet = "));
        assert!(unknown[0].reason.contains("unknown field `gaet`"), "{unknown:?}");
        let twice = problems(&GOOD.replace("id = \"channels\"", "id = \"users\""));
        assert!(twice[0].reason.contains("q.eligibility.users is defined twice"), "{twice:?}");
        let kind = problems(&GOOD.replace("kind = \"number\"", "kind = \"numbr\""));
        assert!(kind[0].reason.contains("unknown variant `numbr`"), "{kind:?}");
    }

    #[test]
    fn references_must_be_earlier_operators_must_fit_and_names_must_not_cycle() {
        let later = problems(&GOOD.replace("q.eligibility.users > 10", "q.agreement.reference == yes"));
        assert!(later[0].reason.contains("comes later in the flow"), "{later:?}");
        let operator = problems(&GOOD.replace("q.eligibility.users > 10", "q.eligibility.users any_of [1]"));
        assert!(
            operator[0].reason.contains("`any_of` does not fit q.eligibility.users, a number question"),
            "{operator:?}"
        );
        let choice = problems(&GOOD.replace("any_of [web, app]", "any_of [web, fax]"));
        assert!(choice[0].reason.contains("\"fax\" is not one of the options"), "{choice:?}");
        let cycle = GOOD.replace(
            "[[conditions]]\nname = \"external\"\nwhen = \"org.kind != provider_internal\"",
            "[[conditions]]\nname = \"external\"\nwhen = \"not internal\"\n\n[[conditions]]\nname = \"internal\"\nwhen = \"not external\"",
        );
        let cycle = problems(&cycle);
        assert_eq!(cycle.len(), 1, "one cycle, reported once: {cycle:?}");
        assert!(cycle[0].reason.contains("cycle: external → internal → external"), "{cycle:?}");
    }

    proptest! {
        /// Random bytes and random TOML never panic the loader: it answers a flow or problems.
        #[test]
        fn any_text_loads_or_reports_problems(text in "\\PC{0,200}") {
            let _ = load("random.toml", &text);
        }

        #[test]
        fn any_edit_of_a_good_flow_loads_or_reports_problems(cut in 0usize..2000, insert in "\\PC{0,12}") {
            let mut text = GOOD.to_owned();
            let mut at = cut.min(text.len());
            while !text.is_char_boundary(at) { at -= 1; }
            text.insert_str(at, &insert);
            match load("edited.toml", &text) {
                Ok(_) => {}
                Err(problems) => prop_assert!(!problems.is_empty()),
            }
        }
    }
}
