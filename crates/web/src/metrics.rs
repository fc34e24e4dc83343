//! OPS-2: `/metrics` for a Prometheus scraper, and the layers that count every request by its route.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onramp_service::{AppContext, metrics};

use crate::WebError;

/// The route a request matched, put on the response by [`tag_route`] for [`count_requests`] to read.
#[derive(Debug, Clone)]
struct MatchedRoute(String);

/// Runs inside the router (a route layer), where the matched pattern is known.
pub async fn tag_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| route_label(path.as_str()));
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// The route as a label: `/agreements/{number}` reads `/agreements/:number`, since some text-format parsers
/// (and people writing queries) stumble on braces inside label values.
fn route_label(pattern: &str) -> String {
    pattern.replace("{*", ":").replace('{', ":").replace('}', "")
}

/// Runs outside every other layer of the application, so the time counted includes them; a request that
/// matched no route is counted as `unmatched`.
pub async fn count_requests(State(context): State<AppContext>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let route = response.extensions().get::<MatchedRoute>().map_or("unmatched", |r| r.0.as_str());
    context.metrics.record_request(route, &method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// The metrics page: 404 unless `metrics.token` is configured, 401 without that token as a bearer token.
pub async fn page(State(context): State<AppContext>, headers: HeaderMap) -> Result<Response, WebError> {
    let Some(token) = context.config.metrics.token.as_deref() else {
        return Err(WebError::NotFound);
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !same_secret(given.as_bytes(), token.as_bytes()) {
        let refused = (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "a metrics token is needed\n");
        return Ok(refused.into_response());
    }
    let body = metrics::render(&context, context.clock.now()).await?;
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-store")], body).into_response())
}

/// Compares two secrets in time that depends only on their lengths.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}
