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
}
