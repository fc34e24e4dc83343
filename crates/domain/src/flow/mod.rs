//! Assurance flows (SPEC §3, DOS-1): what a provider asks a connecting party before an agreement is prepared.
//! [`file`] loads and checks a flow file; [`condition`] is the language that shows, hides or requires its
//! parts. Scenarios, versions, the catalogue and `onramp flow check` build on these (issue 11).

pub mod condition;
pub mod evaluate;
pub mod file;
