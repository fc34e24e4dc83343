//! The read-only preview of every assurance flow (DOS-1, DOS-2): before applying, anyone can see what will be
//! asked, in which stage, when a part applies, and the guidance beside each question. Nothing here changes.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use onramp_domain::flow::condition::{Condition, Operator, Reference, Value};
use onramp_domain::flow::file::{Flow, Question, QuestionKind};
use onramp_service::AppContext;

use crate::WebError;
use crate::session::Visitor;

struct FlowRow {
    id: String,
    name: String,
    version: u32,
    stages: String,
    target: Option<u32>,
}

#[derive(Template)]
#[template(path = "flows.html")]
struct FlowsPage<'a> {
    visitor: &'a Visitor,
    flows: Vec<FlowRow>,
}

pub async fn list(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let flows = context
        .flows
        .iter()
        .map(|flow| FlowRow {
            id: flow.id.clone(),
            name: flow.name.clone(),
            version: flow.version,
            stages: flow.stages.iter().map(|s| s.title.as_str()).collect::<Vec<_>>().join(", "),
            target: flow.target_answer_days,
        })
        .collect();
    Ok(Html(FlowsPage { visitor: &visitor, flows }.render()?).into_response())
}

struct QuestionView {
    label: String,
    kind: String,
    help: Option<String>,
    requirement: String,
    shown_when: Option<String>,
}

struct SectionView {
    title: String,
    guidance: Option<String>,
    notes: Vec<String>,
    questions: Vec<QuestionView>,
}

struct StageView {
    number: usize,
    title: String,
    guidance: Option<String>,
    notes: Vec<String>,
    sections: Vec<SectionView>,
}

#[derive(Template)]
#[template(path = "flow.html")]
struct FlowPage<'a> {
    visitor: &'a Visitor,
    name: String,
    version: u32,
    target: Option<u32>,
    stages: Vec<StageView>,
}

/// How a question's kind and limits read to a person filling it in.
fn kind_of(question: &Question) -> String {
    let limits = &question.limits;
    let mut text = match question.kind {
        QuestionKind::ShortText => "Short text".to_owned(),
        QuestionKind::LongText => "Text".to_owned(),
        QuestionKind::Email => "An email address".to_owned(),
        QuestionKind::EmailList => "One or more email addresses (a group mailbox is allowed)".to_owned(),
        QuestionKind::YesNo => "Yes or no".to_owned(),
        QuestionKind::SingleChoice => format!("One of: {}", options(question)),
        QuestionKind::MultipleChoice => format!("Any of: {}", options(question)),
        QuestionKind::Date => "A date".to_owned(),
        QuestionKind::Number => match (limits.min, limits.max) {
            (Some(min), Some(max)) => format!("A number from {min} to {max}"),
            (Some(min), None) => format!("A number of at least {min}"),
            (None, Some(max)) => format!("A number up to {max}"),
            (None, None) => "A number".to_owned(),
        },
        QuestionKind::Acknowledgement => "A tick to confirm".to_owned(),
        QuestionKind::Evidence => {
            let types =
                if limits.allowed_types.is_empty() { "any file".to_owned() } else { limits.allowed_types.join(", ") };
            let files = limits.max_files.map_or_else(String::new, |n| format!(", up to {n} file(s)"));
            let size =
                limits.max_bytes.map_or_else(String::new, |b| format!(", each up to {} MB", b.div_ceil(1_048_576)));
            format!("A document upload ({types}{files}{size})")
        }
    };
    if let Some(chars) = limits.max_chars {
        text.push_str(&format!(", up to {chars} characters"));
    }
    text
}

fn when(flow: &Flow, prefix: &str, condition: Option<&Condition>) -> Option<String> {
    condition.map(|condition| format!("{prefix} {}", in_words(flow, condition)))
}

/// A condition as a sentence a supplier can read: questions by their label, values without underscores.
fn in_words(flow: &Flow, condition: &Condition) -> String {
    let group = |parts: &[Condition], joiner: &str| {
        parts
            .iter()
            .map(|part| match part {
                Condition::All(_) | Condition::Any(_) => format!("({})", in_words(flow, part)),
                _ => in_words(flow, part),
            })
            .collect::<Vec<_>>()
            .join(joiner)
    };
    match condition {
        Condition::Holds { reference: Reference::Organisation(field), .. } if field == "im1_supplier" => {
            "your organisation is an IM1 supplier".to_owned()
        }
        Condition::Holds { reference: Reference::Named(name), .. } => words(name),
        Condition::Holds { reference, .. } => format!("the answer to {} is yes", subject(flow, reference)),
        Condition::Answered { reference, .. } => format!("{} is answered", subject(flow, reference)),
        Condition::Compare { reference, operator, value, .. } => {
            let verb = match operator {
                Operator::Equal => "is",
                Operator::NotEqual => "is not",
                Operator::In => "is one of",
                Operator::AnyOf => "includes any of",
                Operator::AllOf => "includes all of",
                Operator::NoneOf => "includes none of",
                Operator::Less => "is before or below",
                Operator::LessOrEqual => "is at most",
                Operator::Greater => "is after or above",
                Operator::GreaterOrEqual => "is at least",
            };
            format!("{} {verb} {}", subject(flow, reference), value_words(value))
        }
        Condition::Not(inner) => format!("not ({})", in_words(flow, inner)),
        Condition::All(parts) => group(parts, " and "),
        Condition::Any(parts) => group(parts, " or "),
    }
}

fn subject(flow: &Flow, reference: &Reference) -> String {
    match reference {
        Reference::Answer { section, question } => flow
            .stages
            .iter()
            .flat_map(|stage| &stage.sections)
            .filter(|s| &s.id == section)
            .flat_map(|s| &s.questions)
            .find(|q| &q.id == question)
            .map_or_else(|| reference.to_string(), |q| format!("“{}”", q.label)),
        Reference::Organisation(field) if field == "kind" => "your organisation's kind".to_owned(),
        Reference::Organisation(field) => format!("your organisation's {}", words(field)),
        Reference::Named(name) => words(name),
    }
}

fn value_words(value: &Value) -> String {
    match value {
        Value::YesNo(true) => "yes".to_owned(),
        Value::YesNo(false) => "no".to_owned(),
        Value::Text(text) => words(text),
        Value::List(values) => values.iter().map(value_words).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn words(name: &str) -> String {
    name.replace('_', " ")
}

fn stage_views(flow: &Flow) -> Vec<StageView> {
    flow.stages
        .iter()
        .enumerate()
        .map(|(i, stage)| StageView {
            number: i + 1,
            title: stage.title.clone(),
            guidance: stage.guidance.clone(),
            notes: [
                when(flow, "Only when", stage.show_when.as_ref()),
                stage.skip_for_open_access.then(|| "Open-access APIs skip this stage.".to_owned()),
            ]
            .into_iter()
            .flatten()
            .collect(),
            sections: stage
                .sections
                .iter()
                .map(|section| SectionView {
                    title: section.title.clone(),
                    guidance: section.guidance.clone(),
                    notes: [
                        when(flow, "Only when", section.show_when.as_ref()),
                        when(flow, "An eligibility check: it passes when", section.gate.as_ref()),
                        section
                            .shared
                            .then(|| "Answered once per application, whatever the number of APIs.".to_owned()),
                        section.approval.as_ref().map(|approval| {
                            format!(
                                "We approve this section by recording its {}: {}.",
                                approval.label.to_lowercase(),
                                approval.rule()
                            )
                        }),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                    questions: section
                        .questions
                        .iter()
                        .map(|question| QuestionView {
                            label: question.label.clone(),
                            kind: kind_of(question),
                            help: question.help.clone(),
                            requirement: match (&question.required_when, question.required) {
                                (_, true) => "Required".to_owned(),
                                (Some(condition), false) => format!("Required when {}", in_words(flow, condition)),
                                (None, false) => "Optional".to_owned(),
                            },
                            shown_when: when(flow, "Asked only when", question.show_when.as_ref()),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let flow = context.flows.get(&id).ok_or(WebError::NotFound)?;
    let page = FlowPage {
        visitor: &visitor,
        name: flow.name.clone(),
        version: flow.version,
        target: flow.target_answer_days,
        stages: stage_views(flow),
    };
    Ok(Html(page.render()?).into_response())
}

fn options(question: &Question) -> String {
    question.options.iter().map(|option| words(option)).collect::<Vec<_>>().join(", ")
}
