//! Onramp's application services: the typed configuration, the clocks, password hashing, demo data, and
//! [`AppContext`], the one value the web layer, the CLI and the job worker share.

pub mod accounts;
pub mod application_agreement;
pub mod application_files;
pub mod applications;
pub mod audit;
pub mod cases;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod demo;
pub mod evidence;
pub mod jobs;
pub mod legacy;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod organisations;
pub mod password;
pub mod password_reset;
pub mod team;

use std::sync::Arc;

use onramp_domain::Clock;
use onramp_domain::catalogue::ProductCatalogue;
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
    #[error("loading the assurance flows: {}", catalogue::first_problem(.0))]
    Flows(Vec<onramp_domain::flow::file::FlowProblem>),
    #[error("loading the product catalogue: {}", catalogue::first_problem(.0))]
    Products(Vec<onramp_domain::flow::file::FlowProblem>),
    #[error("setting `{setting}`: {problem}")]
    Setting { setting: &'static str, problem: String },
    #[error(
        "{file}: flow {flow} changed since version {version} was stored; give the changed flow `version = {next}` \
         (applications started on version {version} keep it)"
    )]
    FlowVersionChanged { file: String, flow: String, version: u32, next: u32 },
    #[error("recording the catalogue: {0}")]
    Store(#[from] onramp_store::StoreError),
}

/// What every request and job needs: configuration, storage, the clock, the terms versions and the flows. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub store: Arc<dyn Repository>,
    pub clock: Arc<dyn Clock>,
    pub terms: Arc<TermsCatalogue>,
    /// The assurance flows (DOS-1, DOS-2) suppliers can read before they apply: the versions loaded now.
    pub flows: Arc<FlowCatalogue>,
    /// The API products (SPEC §4): those offered, then those that left the catalogue file.
    pub products: Arc<ProductCatalogue>,
    /// How mail goes out (SMTP or the `.eml` folder), from whom, and the portal links start with.
    pub mailer: Arc<mail::Mailer>,
    /// Set in demo mode only: the clock staff may move forward from the portal. It is also `clock`.
    pub demo_clock: Option<Arc<clock::DemoClock>>,
    /// Where uploaded evidence is kept: the configured folder, unless a caller puts another store in.
    pub files: Arc<dyn evidence::FileStore>,
    /// The time sessions and sign-in lock-outs are measured by: `clock`, except in demo mode, where it is the
    /// real time, so moving demo time forward signs nobody out.
    pub session_clock: Arc<dyn Clock>,
    /// The provider's own logo file (`provider.logo`), read at start-up; `None` with the NHS mark or the name.
    pub provider_logo: Option<Arc<LogoImage>>,
    /// This instance's counters and gauges (OPS-2), shown at `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

/// A logo file the header shows, held in memory so serving it touches no disk.
#[derive(Debug)]
pub struct LogoImage {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// The largest logo file taken: a header mark, not a photograph.
const LARGEST_LOGO: u64 = 512 * 1024;

fn read_logo(logo: &config::ProviderLogo) -> Result<Option<Arc<LogoImage>>, ContextError> {
    let config::ProviderLogo::Image(path) = logo else {
        return Ok(None);
    };
    let refuse = |problem: String| ContextError::Setting { setting: "provider.logo", problem };
    let content_type = config::ProviderLogo::content_type_of(path)
        .ok_or_else(|| refuse(format!("{} is not an .svg or .png file", path.display())))?;
    let size = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))?.len();
    if size > LARGEST_LOGO {
        return Err(refuse(format!("{} is {size} bytes; a logo may be at most {LARGEST_LOGO}", path.display())));
    }
    let bytes = std::fs::read(path).map_err(|e| refuse(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(Arc::new(LogoImage { bytes, content_type })))
}

impl AppContext {
    /// A context with the products, flows and terms that `config.catalogue` names (or the shipped ones), checked
    /// and then recorded in the store (see [`catalogue`]); the store must be migrated.
    pub async fn new(config: Config, store: Arc<dyn Repository>, clock: Arc<dyn Clock>) -> Result<Self, ContextError> {
        let mailer = Arc::new(mail::Mailer::from_config(&config)?);
        let content = catalogue::read(&config.catalogue)?;
        let products = catalogue::record(&content, store.as_ref(), clock.now()).await?;
        let files: Arc<dyn evidence::FileStore> = Arc::new(evidence::FolderFileStore::new(config.evidence_folder()));
        let session_clock = Arc::clone(&clock);
        let provider_logo = read_logo(&config.provider.logo)?;
        Ok(Self {
            session_clock,
            provider_logo,
            metrics: Arc::new(metrics::Metrics::new()),
            mailer,
            config: Arc::new(config),
            store,
            clock,
            terms: Arc::new(content.terms),
            flows: Arc::new(content.flows),
            products: Arc::new(products),
            demo_clock: None,
            files,
        })
    }

    /// A demo-mode context: time is `demo_clock`, which agreement-team staff may move forward.
    pub async fn in_demo_mode(
        config: Config,
        store: Arc<dyn Repository>,
        demo_clock: Arc<clock::DemoClock>,
    ) -> Result<Self, ContextError> {
        let mut context = Self::new(config, store, demo_clock.clone()).await?;
        context.demo_clock = Some(demo_clock);
        context.session_clock = Arc::new(clock::SystemClock);
        Ok(context)
    }
}
