//! Onramp's application services: the typed configuration, the clocks, password hashing, demo data, and
//! [`AppContext`], the one value the web layer, the CLI and the job worker share.

pub mod clock;
pub mod config;
pub mod demo;
pub mod password;

use std::sync::Arc;

use onramp_domain::Clock;
use onramp_store::Repository;

pub use config::{Config, ConfigError};

/// What every request and job needs: configuration, storage and the clock. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppContext {
    pub config: Arc<Config>,
    pub store: Arc<dyn Repository>,
    pub clock: Arc<dyn Clock>,
}
