//! OPS-2: what an operator watches, at `/metrics` in the Prometheus text format (OpenMetrics, by
//! `prometheus-client`). The registry belongs to the [`crate::AppContext`], never to a global: each app (and each
//! test) counts for itself. Counters are bumped where things happen (requests, timers, sign-ins); the queue,
//! outbox and pool gauges are read from the database when the page is asked for, so every instance reports the
//! shared queue as it stands.

use std::sync::atomic::AtomicU64;

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::AppContext;
use crate::jobs::RunReport;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route's pattern (`/agreements/{number}`), never the path itself, so the number of series is bounded.
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: String,
}

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms … about 8 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The metric families of one running Onramp.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: LatencyFamily,
    timers_fired: Counter,
    mail_sent: Counter,
    job_failures: Counter,
    sign_in_failures: Counter,
    lockouts: Counter,
    jobs_waiting: Family<KindLabels, Gauge>,
    jobs_due: Family<KindLabels, Gauge>,
    jobs_failed: Family<KindLabels, Gauge>,
    oldest_due_age: Family<KindLabels, Gauge<f64, AtomicU64>>,
    outbox_unsent: Gauge,
    outbox_failed: Gauge,
    pool_connections: Family<PoolLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("onramp");
        let metrics = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            timers_fired: Counter::default(),
            mail_sent: Counter::default(),
            job_failures: Counter::default(),
            sign_in_failures: Counter::default(),
            lockouts: Counter::default(),
            jobs_waiting: Family::default(),
            jobs_due: Family::default(),
            jobs_failed: Family::default(),
            oldest_due_age: Family::default(),
            outbox_unsent: Gauge::default(),
            outbox_failed: Gauge::default(),
            pool_connections: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route, method and status",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            metrics.latency.clone(),
        );
        registry.register("timers_fired", "Agreement timers run by this instance", metrics.timers_fired.clone());
        registry.register("mail_sent", "Messages delivered by this instance", metrics.mail_sent.clone());
        registry.register("job_failures", "Job runs that failed on this instance", metrics.job_failures.clone());
        registry.register(
            "sign_in_failures",
            "Sign-ins refused: a wrong address or password, or a locked account",
            metrics.sign_in_failures.clone(),
        );
        registry.register("sign_in_lockouts", "Accounts locked by too many failed sign-ins", metrics.lockouts.clone());
        registry.register("jobs_waiting", "Jobs not yet run, due or not, by kind", metrics.jobs_waiting.clone());
        registry.register("jobs_due", "Jobs due now and not yet run, by kind", metrics.jobs_due.clone());
        registry.register("jobs_failed", "Jobs failed for good, by kind", metrics.jobs_failed.clone());
        registry.register(
            "job_oldest_due_age_seconds",
            "How long the oldest due job of each kind has been waiting",
            metrics.oldest_due_age.clone(),
        );
        registry.register("outbox_unsent", "Messages written but not yet sent", metrics.outbox_unsent.clone());
        registry.register(
            "outbox_failed_deliveries",
            "Messages whose delivery failed for good",
            metrics.outbox_failed.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database connections of this instance, by state (idle, in_use)",
            metrics.pool_connections.clone(),
        );
        Self { registry, ..metrics }
    }

    /// One answered request: `route` is the matched pattern (or `unmatched`).
    pub fn record_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let labels = RequestLabels { route: route.to_owned(), method: method.to_owned(), status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&RouteLabels { route: route.to_owned() }).observe(seconds);
    }

    /// What one run of the job worker did.
    pub fn record_run(&self, report: &RunReport) {
        self.timers_fired.inc_by((report.changed + report.nothing_to_do) as u64);
        self.mail_sent.inc_by(report.mail_sent as u64);
        self.job_failures.inc_by((report.failed + report.failed_permanently) as u64);
    }

    pub fn record_sign_in_failure(&self) {
        self.sign_in_failures.inc();
    }

    pub fn record_lockout(&self) {
        self.lockouts.inc();
    }
}

/// The `/metrics` page: the gauges read from the database at `now`, then every family encoded.
pub async fn render(context: &AppContext, now: Timestamp) -> Result<String, onramp_store::StoreError> {
    let metrics = &context.metrics;
    let queue = context.store.queue_stats(now).await?;
    for family in [&metrics.jobs_waiting, &metrics.jobs_due, &metrics.jobs_failed] {
        family.clear();
    }
    metrics.oldest_due_age.clear();
    metrics.outbox_failed.set(0);
    for stats in &queue {
        let labels = KindLabels { kind: stats.kind.clone() };
        metrics.jobs_waiting.get_or_create(&labels).set(stats.waiting);
        metrics.jobs_due.get_or_create(&labels).set(stats.due);
        metrics.jobs_failed.get_or_create(&labels).set(stats.failed);
        let age = stats.oldest_due.map_or(0.0, |due| now.duration_since(due).as_secs_f64().max(0.0));
        metrics.oldest_due_age.get_or_create(&labels).set(age);
        if stats.kind == onramp_store::DELIVERY_JOB_KIND {
            metrics.outbox_failed.set(stats.failed);
        }
    }
    metrics.outbox_unsent.set(context.store.unsent_notifications().await?);
    let pool = context.store.pool_stats();
    let idle = i64::from(pool.idle);
    metrics.pool_connections.get_or_create(&PoolLabels { state: "idle".into() }).set(idle);
    metrics.pool_connections.get_or_create(&PoolLabels { state: "in_use".into() }).set(i64::from(pool.open) - idle);
    let mut page = String::new();
    // Writing into a String cannot fail; an error here would be a bug in the encoder.
    if let Err(error) = encode(&mut page, &metrics.registry) {
        tracing::error!(%error, "the metrics could not be encoded");
    }
    Ok(page)
}
