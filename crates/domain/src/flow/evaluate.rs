//! What a flow shows and requires for one organisation and its answers so far (DOS-1, DOS-3).
//!
//! The walk goes in file order, so a condition sees only earlier answers (the loader guarantees it refers to
//! nothing later). A question is shown when its stage, its section and its own `show_when` all hold; an answer
//! to a question that is not shown counts as absent. A question is required when it is shown and `required`
//! or its `required_when` holds. A gate passes when its section is shown and its `gate` condition holds.
//! A stage marked `skip_for_open_access` is hidden for an open-access product.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use super::condition::{Condition, EvaluationError, Fact, Facts, Reference};
use super::file::Flow;

/// The applying organisation's fields that conditions may use (`org.kind`, `org.im1_supplier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganisationFacts {
    /// The stored organisation kind, e.g. `commercial` or `provider_internal`.
    pub kind: String,
    pub im1_supplier: bool,
}

/// An answer as given.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Answer {
    YesNo(bool),
    Number(f64),
    Date(Date),
    Text(String),
    Choices(Vec<String>),
}

/// The answers of one application, by (section, question).
pub type Answers = BTreeMap<(String, String), Answer>;

/// What the flow shows, requires and lets through for these answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Ids of the stages and sections shown, and `q.<section>.<question>` of the questions shown.
    pub shown: BTreeSet<String>,
    /// `q.<section>.<question>` of the questions that must be answered.
    pub required: BTreeSet<String>,
    /// Ids of the gate sections shown whose condition does not hold.
    pub gates_failed: BTreeSet<String>,
    /// Ids of the gate sections shown whose condition holds.
    pub gates_passed: BTreeSet<String>,
}

struct Walk<'a> {
    flow: &'a Flow,
    organisation: &'a OrganisationFacts,
    answers: &'a Answers,
    visible: RefCell<BTreeSet<(String, String)>>,
}

impl Facts for Walk<'_> {
    fn fact(&self, reference: &Reference) -> Option<Fact> {
        match reference {
            Reference::Organisation(field) => match field.as_str() {
                "kind" => Some(Fact::Text(self.organisation.kind.clone())),
                "im1_supplier" => Some(Fact::YesNo(self.organisation.im1_supplier)),
                _ => None,
            },
            Reference::Answer { section, question } => {
                let key = (section.clone(), question.clone());
                if !self.visible.borrow().contains(&key) {
                    return None;
                }
                self.answers.get(&key).map(|answer| match answer {
                    Answer::YesNo(yes) => Fact::YesNo(*yes),
                    Answer::Number(number) => Fact::Number(*number),
                    Answer::Date(date) => Fact::Date(*date),
                    Answer::Text(text) => Fact::Text(text.clone()),
                    Answer::Choices(choices) => Fact::Choices(choices.clone()),
                })
            }
            Reference::Named(_) => None,
        }
    }

    fn named(&self, name: &str) -> Result<bool, EvaluationError> {
        let named = self.flow.conditions.iter().find(|c| c.name == name);
        named.ok_or_else(|| EvaluationError::UnknownName(name.to_owned()))?.when.evaluate(self)
    }
}

impl Walk<'_> {
    fn holds(&self, condition: Option<&Condition>) -> Result<bool, EvaluationError> {
        condition.map_or(Ok(true), |condition| condition.evaluate(self))
    }
}

/// Walks `flow` for `organisation` and `answers`. An error means a condition could not be evaluated, which
/// the loader's checks rule out for the answers the forms accept.
pub fn evaluate(
    flow: &Flow,
    organisation: &OrganisationFacts,
    open_access: bool,
    answers: &Answers,
) -> Result<Outcome, EvaluationError> {
    let walk = Walk { flow, organisation, answers, visible: RefCell::new(BTreeSet::new()) };
    let mut outcome = Outcome::default();
    for stage in &flow.stages {
        let stage_shown = !(open_access && stage.skip_for_open_access) && walk.holds(stage.show_when.as_ref())?;
        if stage_shown {
            outcome.shown.insert(stage.id.clone());
        }
        for section in &stage.sections {
            let section_shown = stage_shown && walk.holds(section.show_when.as_ref())?;
            if section_shown {
                outcome.shown.insert(section.id.clone());
            }
            for question in &section.questions {
                let shown = section_shown && walk.holds(question.show_when.as_ref())?;
                if !shown {
                    continue;
                }
                let name = format!("q.{}.{}", section.id, question.id);
                walk.visible.borrow_mut().insert((section.id.clone(), question.id.clone()));
                let required = question.required
                    || match &question.required_when {
                        Some(condition) => condition.evaluate(&walk)?,
                        None => false,
                    };
                if required {
                    outcome.required.insert(name.clone());
                }
                outcome.shown.insert(name);
            }
            if let Some(gate) = &section.gate
                && section_shown
            {
                if gate.evaluate(&walk)? {
                    outcome.gates_passed.insert(section.id.clone());
                } else {
                    outcome.gates_failed.insert(section.id.clone());
                }
            }
        }
    }
    Ok(outcome)
}
