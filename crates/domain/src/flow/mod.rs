//! Assurance flows (SPEC §3, DOS-1): what a provider asks a connecting party before an agreement is prepared.
//! So far this holds the condition language that shows, hides or requires parts of a flow ([`condition`]);
//! the flow files themselves and their checker build on it (issue 11).

pub mod condition;
