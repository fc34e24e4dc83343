//! Liveness and readiness for load balancers and orchestrators.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onramp_service::AppContext;
use serde::Serialize;

/// The process is up and serving HTTP; says nothing about the database.
pub async fn healthz() -> &'static str {
    "ok"
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    status: &'static str,
    database: &'static str,
}

/// Ready when the database answers within two seconds; 503 otherwise, so traffic goes elsewhere.
pub async fn readyz(State(context): State<AppContext>) -> (StatusCode, Json<Readiness>) {
    let database = context.store.backend().as_str();
    match tokio::time::timeout(Duration::from_secs(2), context.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(Readiness { status: "ready", database })),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "unavailable", database }))
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Readiness { status: "unavailable", database }))
        }
    }
}
