//! The per-address limit on sign-in and registration attempts (SEC-2), with tower_governor. It counts in
//! memory per instance; the per-account lock-out is the one kept in the database, so it holds across
//! instances. Refusals are shown as Onramp's own page, saying how long to wait.

use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use governor::middleware::NoOpMiddleware;
use onramp_service::config::SignInSettings;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::PeerIpKeyExtractor;
use tower_governor::{GovernorError, GovernorLayer};

use crate::WebError;

type Limit = GovernorConfig<PeerIpKeyExtractor, NoOpMiddleware>;

/// One shared budget of attempts per peer address, for every route it guards.
#[derive(Debug, Clone)]
pub struct AttemptLimit {
    config: Arc<Limit>,
}

impl AttemptLimit {
    pub fn new(settings: &SignInSettings) -> Self {
        let config = GovernorConfigBuilder::default()
            .per_second(settings.refill_seconds)
            .burst_size(settings.attempts_per_address)
            .finish()
            // Both values are checked non-zero when the configuration is loaded; this is the library default.
            .unwrap_or_else(|| GovernorConfigBuilder::default().finish().unwrap_or_else(|| unreachable!()));
        let config = Arc::new(config);
        forget_idle_addresses(&config);
        Self { config }
    }

    pub fn layer(&self) -> GovernorLayer<PeerIpKeyExtractor, NoOpMiddleware, Body> {
        GovernorLayer::new(self.config.clone()).error_handler(refusal)
    }
}

fn refusal(error: GovernorError) -> Response {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            tracing::warn!(wait_seconds = wait_time, "too many sign-in attempts from one address");
            let wait = if wait_time <= 1 { "a second".to_owned() } else { format!("{wait_time} seconds") };
            WebError::TooManyRequests(format!(
                "There have been too many sign-in attempts from your network. Wait {wait}, then try again."
            ))
            .into_response()
        }
        other => WebError::Internal(Box::new(other)).into_response(),
    }
}

/// Addresses whose budget is full again are dropped every minute, so the table does not grow with every
/// address ever seen. The task holds only a weak reference and ends with the router.
fn forget_idle_addresses(config: &Arc<Limit>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let config = Arc::downgrade(config);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(config) = config.upgrade() else { return };
            config.limiter().retain_recent();
        }
    });
}
