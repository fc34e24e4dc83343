//! Onramp's application services: the typed configuration, the clocks, password hashing, demo data, and
//! [`AppContext`], the one value the web layer, the CLI and the job worker share.

pub mod accounts;
pub mod audit;
pub mod cases;
pub mod clock;
pub mod config;
pub mod demo;
pub mod jobs;
pub mod legacy;
pub mod lifecycle;
pub mod mail;
pub mod organisations;
pub mod password;
pub mod password_reset;
pub mod team;

use std::sync::Arc;

use onramp_domain::Clock;
use onramp_domain::flow::FlowCatalogue;
use onramp_domain::terms::{TermsCatalogue, TermsError};
use onramp_store::Repository;

pub use config::{Config, ConfigError};

/// Why an [`AppContext`] could not be made from a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("loading the terms versions: {0}")]
    Terms(#[from] TermsError),
    #[error("setting up mail: {0}")]
    Mail(#[from] onramp_mail::MailError),
    #[error("loading the assurance flows: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Flows(Vec<onramp_domain::flow::file::FlowProblem>),
}

/// What every request and job needs: configuration, storage, the clock, the terms versions and the flows. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub store: Arc<dyn Repository>,
    pub clock: Arc<dyn Clock>,
    pub terms: Arc<TermsCatalogue>,
    /// The assurance flows (DOS-1, DOS-2) suppliers can read before they apply.
    pub flows: Arc<FlowCatalogue>,
    /// How mail goes out (SMTP or the `.eml` folder), from whom, and the portal links start with.
    pub mailer: Arc<mail::Mailer>,
    /// Set in demo mode only: the clock staff may move forward from the portal. It is also `clock`.
    pub demo_clock: Option<Arc<clock::DemoClock>>,
}

impl AppContext {
    /// A context with the shipped terms versions.
    pub fn new(config: Config, store: Arc<dyn Repository>, clock: Arc<dyn Clock>) -> Result<Self, ContextError> {
        Ok(Self {
            mailer: Arc::new(mail::Mailer::from_config(&config)?),
            config: Arc::new(config),
            store,
            clock,
            terms: Arc::new(TermsCatalogue::shipped()?),
            flows: Arc::new(FlowCatalogue::shipped().map_err(ContextError::Flows)?),
            demo_clock: None,
        })
    }

    /// A demo-mode context: time is `demo_clock`, which agreement-team staff may move forward.
    pub fn in_demo_mode(
        config: Config,
        store: Arc<dyn Repository>,
        demo_clock: Arc<clock::DemoClock>,
    ) -> Result<Self, ContextError> {
        let mut context = Self::new(config, store, demo_clock.clone())?;
        context.demo_clock = Some(demo_clock);
        Ok(context)
    }
}
