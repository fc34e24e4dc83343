//! Assurance flows (SPEC §3, DOS-1): what a provider asks a connecting party before an agreement is prepared.
//! [`file`] loads and checks a flow file; [`condition`] is the language that shows, hides or requires its
//! parts; [`evaluate`] walks a flow for one organisation's answers. [`FlowCatalogue`] holds the shipped flows.

pub mod answer;
pub mod condition;
pub mod diff;
pub mod evaluate;
pub mod file;

use file::{Flow, FlowProblem};

/// The flows shipped in `flows/`, compiled in so the binary runs from any folder.
const SHIPPED: &[(&str, &str)] = &[
    ("flows/standard-api.toml", include_str!("../../../../flows/standard-api.toml")),
    ("flows/identity-service.toml", include_str!("../../../../flows/identity-service.toml")),
    ("flows/messaging-service.toml", include_str!("../../../../flows/messaging-service.toml")),
    ("flows/secure-email.toml", include_str!("../../../../flows/secure-email.toml")),
];

/// The flows Onramp offers, by id, each with the file it was read from.
#[derive(Debug, Clone)]
pub struct FlowCatalogue {
    flows: Vec<Flow>,
    files: Vec<FlowFile>,
}

/// The file a flow was read from, kept so the exact text can be stored as that flow version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFile {
    pub file: String,
    pub text: String,
}

impl FlowCatalogue {
    /// The shipped flows; every problem of every file, if any.
    pub fn shipped() -> Result<Self, Vec<FlowProblem>> {
        Self::load(SHIPPED.iter().copied())
    }

    /// Flows from (file name, text) pairs. Two flows with the same id are a problem.
    pub fn load<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, Vec<FlowProblem>> {
        let mut flows: Vec<Flow> = Vec::new();
        let mut sources = Vec::new();
        let mut problems = Vec::new();
        for (name, text) in files {
            match file::load(name, text) {
                Ok(flow) if flows.iter().any(|f| f.id == flow.id) => problems.push(FlowProblem {
                    file: name.to_owned(),
                    line: 1,
                    column: 1,
                    reason: format!("another flow has the id {} already", flow.id),
                }),
                Ok(flow) => {
                    flows.push(flow);
                    sources.push(FlowFile { file: name.to_owned(), text: text.to_owned() });
                }
                Err(found) => problems.extend(found),
            }
        }
        problems.extend(shared_section_clashes(&flows, &sources));
        if problems.is_empty() { Ok(Self { flows, files: sources }) } else { Err(problems) }
    }

    pub fn get(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().find(|flow| flow.id == id)
    }

    /// Each flow with the file it was read from, in the order they were loaded.
    pub fn with_files(&self) -> impl Iterator<Item = (&Flow, &FlowFile)> {
        self.flows.iter().zip(&self.files)
    }

    /// The flows by name.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        let mut flows: Vec<&Flow> = self.flows.iter().collect();
        flows.sort_by(|a, b| a.name.cmp(&b.name));
        flows.into_iter()
    }
}

/// A shared section is one section for the whole application (DOS-3), so every flow that has a shared section
/// of an id must define it identically; otherwise the answers of one would be judged by the other's rules.
fn shared_section_clashes(flows: &[Flow], files: &[FlowFile]) -> Vec<FlowProblem> {
    let mut first: std::collections::BTreeMap<&str, (&Flow, &file::Section)> = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (flow, source) in flows.iter().zip(files) {
        for section in flow.stages.iter().flat_map(|stage| &stage.sections).filter(|section| section.shared) {
            match first.get(section.id.as_str()) {
                None => {
                    first.insert(&section.id, (flow, section));
                }
                Some((other, defined)) if *defined != section => problems.push(FlowProblem {
                    file: source.file.clone(),
                    line: line_of(&source.text, &format!("id = \"{}\"", section.id)),
                    column: 1,
                    reason: format!(
                        "the shared section {} is defined differently in flow {}: a shared section is answered once \
                         for every flow that has it, so it must be the same in each (or not be shared)",
                        section.id, other.id
                    ),
                }),
                Some(_) => {}
            }
        }
    }
    problems
}

/// The 1-based line where `needle` first occurs, or 1.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.trim() == needle).map_or(1, |index| index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos2_the_shipped_flows_load_and_their_ids_are_unique() {
        let catalogue = FlowCatalogue::shipped().unwrap_or_else(|problems| panic!("{problems:#?}"));
        let ids: Vec<&str> = catalogue.iter().map(|flow| flow.id.as_str()).collect();
        assert_eq!(ids, ["identity-service", "messaging-service", "secure-email", "standard-api"], "by name");
        let twice = FlowCatalogue::load(SHIPPED.iter().chain(SHIPPED.iter()).copied()).unwrap_err();
        assert!(twice[0].reason.contains("another flow has the id standard-api"), "{twice:?}");
    }

    fn flow_with_shared_eligibility(id: &str, label: &str) -> String {
        format!(
            "id = \"{id}\"\nname = \"{id}\"\nversion = 1\n\n[[stages]]\nid = \"start\"\ntitle = \"Start\"\n\n\
             [[stages.sections]]\nid = \"eligibility\"\ntitle = \"Eligibility\"\nshared = true\n\n\
             [[stages.sections.questions]]\nid = \"fits\"\nkind = \"yes_no\"\nlabel = \"{label}\"\n"
        )
    }

    #[test]
    fn dos3_a_shared_section_must_be_the_same_in_every_flow_that_has_it() {
        let (a, b) =
            (flow_with_shared_eligibility("a", "Does it fit?"), flow_with_shared_eligibility("b", "Does it fit?"));
        assert!(FlowCatalogue::load([("a.toml", a.as_str()), ("b.toml", b.as_str())]).is_ok(), "the same: one section");
        let other = flow_with_shared_eligibility("c", "Is it direct care?");
        let problems = FlowCatalogue::load([("a.toml", a.as_str()), ("c.toml", other.as_str())]).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!((problems[0].file.as_str(), problems[0].line), ("c.toml", 10));
        assert!(problems[0].reason.starts_with("the shared section eligibility is defined differently in flow a"));
    }
}
