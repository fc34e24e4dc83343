//! Onramp's HTTP layer. Handlers stay thin: they parse the request, call a service with the time read from
//! the context's clock, and render. Every failure goes through [`error::WebError`], which decides the status
//! code and what the user sees in one place.

mod accounts;
mod agreements;
mod csrf;
mod error;
mod forms;
mod organisations;
mod pages;
mod probes;
mod session;

use std::future::Future;

use axum::Router;
use axum::routing::{get, post};
use onramp_service::AppContext;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use error::WebError;

/// Every route of the application.
pub fn router(context: AppContext) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/sign-in", get(accounts::sign_in_form).post(accounts::sign_in))
        .route("/sign-out", post(accounts::sign_out))
        .route("/register", get(accounts::register_form).post(accounts::register))
        .route("/account", get(accounts::account))
        .route("/agreements", get(agreements::list))
        .route("/agreements/{number}", get(agreements::show))
        .route("/agreements/{number}/accept", post(agreements::accept))
        .route("/agreements/{number}/query", post(agreements::raise_query))
        .route("/agreements/{number}/comment", post(agreements::comment))
        .route("/agreements/{number}/staff/{action}", post(agreements::staff_action))
        .route("/organisation", get(organisations::show).post(organisations::register))
        .route("/organisation/onboarding-contact", post(organisations::nominate))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/assets/onramp.css", get(pages::stylesheet))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(context.clone(), csrf::protect))
        .layer(TraceLayer::new_for_http())
        .with_state(context)
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
