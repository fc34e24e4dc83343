//! What changed between two versions of a flow (DOS-1): questions added, removed or changed, so staff can see
//! what a new version asks differently before applications start on it.

use std::collections::BTreeMap;

use super::file::{Flow, Question};

/// One difference between two versions, by question (`q.<section>.<question>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added {
        question: String,
        label: String,
    },
    Removed {
        question: String,
        label: String,
    },
    /// The question stayed; these of its parts changed (e.g. "label", "required", "options").
    Changed {
        question: String,
        parts: Vec<&'static str>,
    },
}

/// The questions of `flow` in file order, keyed `q.<section>.<question>`.
fn questions(flow: &Flow) -> Vec<(String, &Question)> {
    flow.stages
        .iter()
        .flat_map(|stage| &stage.sections)
        .flat_map(|section| section.questions.iter().map(move |q| (format!("q.{}.{}", section.id, q.id), q)))
        .collect()
}

/// The changes from `old` to `new`, in question order (added and changed by `new`, then removed).
pub fn diff(old: &Flow, new: &Flow) -> Vec<Change> {
    let before: BTreeMap<String, &Question> = questions(old).into_iter().collect();
    let after = questions(new);
    let in_new: BTreeMap<&str, ()> = after.iter().map(|(key, _)| (key.as_str(), ())).collect();
    let mut changes = Vec::new();
    for (key, question) in &after {
        match before.get(key) {
            None => changes.push(Change::Added { question: key.clone(), label: question.label.clone() }),
            Some(previous) => {
                let parts: Vec<&'static str> = [
                    ("label", previous.label != question.label),
                    ("kind", previous.kind != question.kind),
                    ("help", previous.help != question.help),
                    ("required", previous.required != question.required),
                    ("required_when", previous.required_when != question.required_when),
                    ("show_when", previous.show_when != question.show_when),
                    ("limits", previous.limits != question.limits),
                    ("options", previous.options != question.options),
                ]
                .into_iter()
                .filter_map(|(part, changed)| changed.then_some(part))
                .collect();
                if !parts.is_empty() {
                    changes.push(Change::Changed { question: key.clone(), parts });
                }
            }
        }
    }
    for (key, question) in questions(old) {
        if !in_new.contains_key(key.as_str()) {
            changes.push(Change::Removed { question: key, label: question.label.clone() });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::file::load;

    const V1: &str = r#"
id = "f"
name = "F"
version = 1

[[stages]]
id = "s"
title = "S"

[[stages.sections]]
id = "a"
title = "A"

[[stages.sections.questions]]
id = "name"
kind = "short_text"
label = "Your name"

[[stages.sections.questions]]
id = "old"
kind = "yes_no"
label = "Gone soon?"
"#;

    #[test]
    fn added_removed_and_changed_questions_are_named() {
        let v1 = load("v1.toml", V1).unwrap();
        let v2_text = V1
            .replace("version = 1", "version = 2")
            .replace("label = \"Your name\"", "label = \"Your full name\"\nrequired = true\nmax_chars = 200")
            .replace(
                "id = \"old\"\nkind = \"yes_no\"\nlabel = \"Gone soon?\"",
                "id = \"new\"\nkind = \"date\"\nlabel = \"When?\"",
            );
        let v2 = load("v2.toml", &v2_text).unwrap();
        assert_eq!(
            diff(&v1, &v2),
            [
                Change::Changed { question: "q.a.name".into(), parts: vec!["label", "required", "limits"] },
                Change::Added { question: "q.a.new".into(), label: "When?".into() },
                Change::Removed { question: "q.a.old".into(), label: "Gone soon?".into() },
            ]
        );
        assert!(diff(&v1, &v1).is_empty(), "a flow does not differ from itself");
    }
}
