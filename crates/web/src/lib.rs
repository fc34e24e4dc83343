//! Onramp's HTTP layer. Handlers stay thin: they parse the request, call a service with the time read from
//! the context's clock, and render. Every failure goes through [`error::WebError`], which decides the status
//! code and what the user sees in one place.

mod error;
mod pages;
mod probes;

use std::future::Future;

use axum::Router;
use axum::routing::get;
use onramp_service::AppContext;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use error::WebError;

/// Every route of the application.
pub fn router(context: AppContext) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .route("/assets/onramp.css", get(pages::stylesheet))
        .fallback(pages::not_found)
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
