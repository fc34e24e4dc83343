//! Onramp's HTTP layer. Handlers stay thin: they parse the request, call a service with the time read from
//! the context's clock, and render. Every failure goes through [`error::WebError`], which decides the status
//! code and what the user sees in one place.

mod accounts;
mod agreements;
mod application_files;
mod application_milestones;
mod applications;
mod cases;
mod csrf;
mod error;
mod flows;
mod forms;
mod mail;
mod metrics;
mod organisations;
mod pages;
mod password_reset;
mod probes;
mod rate_limit;
mod session;
mod staff;
mod staff_applications;
mod staff_flows;
mod staff_organisations;
mod team;

use std::future::Future;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use onramp_service::{AppContext, Config};
use tokio::net::TcpListener;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::WebError;

/// One route: its method and path as the authorisation test names them.
pub type RouteRow = (&'static str, &'static str);

/// Registers routes and keeps a table of them, so the authorisation test can check that every route has a
/// row in it: a route added without one fails that test.
struct Routes {
    router: Router<AppContext>,
    table: Vec<RouteRow>,
}

impl Routes {
    fn new() -> Self {
        Self { router: Router::new(), table: Vec::new() }
    }

    fn get<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppContext>,
        T: 'static,
    {
        self.table.push(("GET", path));
        self.router = self.router.route(path, get(handler));
        self
    }

    fn post<H, T>(mut self, path: &'static str, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppContext>,
        T: 'static,
    {
        self.table.push(("POST", path));
        self.router = self.router.route(path, post(handler));
        self
    }

    /// A POST route behind the per-address attempt limit.
    fn post_limited<H, T>(mut self, path: &'static str, handler: H, limit: &rate_limit::AttemptLimit) -> Self
    where
        H: axum::handler::Handler<T, AppContext>,
        T: 'static,
    {
        self.table.push(("POST", path));
        self.router = self.router.route(path, post(handler).layer(limit.layer()));
        self
    }
}

fn routes(config: &Config) -> Routes {
    let attempts = rate_limit::AttemptLimit::new(&config.sign_in);
    Routes::new()
        .get("/", pages::home)
        .get("/sign-in", accounts::sign_in_form)
        .post_limited("/sign-in", accounts::sign_in, &attempts)
        .get("/sign-out", accounts::sign_out_page)
        .post("/sign-out", accounts::sign_out)
        .get("/register", accounts::register_form)
        .post_limited("/register", accounts::register, &attempts)
        .get("/password-reset", password_reset::request_form)
        .post_limited("/password-reset", password_reset::request, &attempts)
        .get("/password-reset/{token}", password_reset::reset_form)
        .post("/password-reset/{token}", password_reset::reset)
        .get("/account", accounts::account)
        .post("/account/verify-address", accounts::resend_verification)
        .get("/verify-address/{token}", accounts::verify_address)
        .get("/invitations", team::invitations)
        .post("/invitations/{invitation}/accept", team::accept_invitation)
        .post("/invitations/{invitation}/decline", team::decline_invitation)
        .get("/agreements", agreements::list)
        .get("/agreements/{number}", agreements::show)
        .post("/agreements/{number}/accept", agreements::accept)
        .post("/agreements/{number}/query", agreements::raise_query)
        .post("/agreements/{number}/staff/{action}", agreements::staff_action)
        .post("/agreements/{number}/terminate", staff::terminate)
        .get("/cases", cases::list)
        .get("/cases/{case}", cases::show)
        .post("/cases/{case}/comment", cases::comment)
        .post("/cases/{case}/watch", cases::watch)
        .post("/cases/{case}/state", cases::set_state)
        .get("/staff/agreements/new", staff::new_agreement)
        .post("/staff/agreements", staff::create_agreement)
        .get("/staff/terms", staff::terms)
        .get("/staff/terms/{version}", staff::preview_terms)
        .post("/staff/terms/{version}/publish", staff::publish_terms)
        .get("/staff/mail", mail::log)
        .get("/staff/mail/{id}", mail::show)
        .get("/staff/mail/{id}/eml", mail::eml)
        .post("/staff/mail/{id}/retry", mail::retry)
        .get("/staff/demo-clock", staff::demo_clock)
        .post("/staff/demo-clock", staff::advance_demo_clock)
        .get("/organisation", organisations::show)
        .post("/organisation", organisations::register)
        .post("/organisation/onboarding-contact", organisations::nominate)
        .post("/organisation/invitations", team::invite)
        .post("/organisation/invitations/{invitation}/cancel", team::cancel_invitation)
        .post("/organisation/members/{member}/role", team::change_role)
        .post("/organisation/members/{member}/remove", team::remove)
        .post("/organisation/leave", team::leave)
        .get("/flows", flows::list)
        .get("/flows/{flow}", flows::show)
        .get("/applications", applications::list)
        .post("/applications", applications::start)
        .get("/applications/{application}", applications::show)
        .post("/applications/{application}/reject", applications::reject)
        .post("/applications/{application}/milestones", application_milestones::set)
        .post("/applications/{application}/agreement", applications::create_agreement)
        .get("/applications/{application}/sections/{section}", applications::section)
        .post("/applications/{application}/sections/{section}", applications::answer)
        .post("/applications/{application}/sections/{section}/review", applications::review)
        .get("/applications/{application}/files/{file}", application_files::download)
        .get("/staff/reviews", applications::queue)
        .get("/staff/flows", staff_flows::catalogue)
        .get("/staff/flows/{flow}", staff_flows::versions)
        .get("/staff/organisations", staff_organisations::list)
        .get("/staff/organisations/{organisation}", staff_organisations::show)
        .post("/staff/organisations/{organisation}/kind", staff_organisations::set_kind)
        .get("/healthz", probes::healthz)
        .get("/readyz", probes::readyz)
        .get("/metrics", metrics::page)
        .get("/assets/{*file}", pages::asset)
        .get("/provider-logo", pages::provider_logo)
}

/// Every route of the application, as (method, path).
pub fn route_table() -> Vec<RouteRow> {
    routes(&Config::default()).table
}

/// The Content-Security-Policy of every page: Onramp's pages run no script, load only its own stylesheet,
/// post only to itself and are never framed. A handler that sets its own policy keeps it (evidence downloads
/// are sandboxed; the staff mail page lets the message's inline styles apply).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'none'; object-src 'none'; \
                                           base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The security headers of every response, each added only when the handler did not set it.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    // Links in mail carry single-use tokens in their paths (password reset, address verification): no other
    // site is told the address of an Onramp page.
    (header::REFERRER_POLICY, "same-origin"),
];

/// Every route of the application.
pub fn router(context: AppContext) -> Router {
    let mut router = routes(&context.config)
        .router
        .route_layer(axum::middleware::from_fn(metrics::tag_route))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(context.clone(), csrf::protect));
    // Outside the CSRF layer, so its refusals (and every error page) carry the headers too.
    for (name, value) in SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    // Every request has an id (kept from a load balancer's `x-request-id`, else made here): it is on the
    // request's log span, on the response and on every error page, so a user's report can be found in the log.
    router
        .layer(axum::middleware::from_fn_with_state(context.clone(), metrics::count_requests))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO).latency_unit(LatencyUnit::Millis)),
        )
        .layer(SetRequestIdLayer::x_request_id(NewRequestId))
        .with_state(context)
}

/// The id of a request: a random UUID in simple form, short enough to read out over the telephone.
#[derive(Debug, Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::new_v4().simple().to_string()).ok().map(RequestId::new)
    }
}

/// The log span of one request: its id, method and path (never the query, which may hold a token).
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    let id = request_id(request.headers()).unwrap_or_default();
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

/// The request's id, as [`SetRequestIdLayer`] put it in the headers.
pub(crate) fn request_id(headers: &axum::http::HeaderMap) -> Option<String> {
    headers.get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned)
}

/// Serves the application on `listener` until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    context: AppContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(context).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
