//! CSRF protection for every state-changing request (SEC-2): the request must come from Onramp's own pages
//! (`Sec-Fetch-Site`, or failing that `Origin`, names this site) and carry the visitor's CSRF token in the
//! form field `csrf_token`. SameSite=Lax cookies are the third layer. A refused request changes nothing.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onramp_service::AppContext;

use crate::WebError;
use crate::session::Visitor;

/// Forms are small; anything bigger is refused before it is read into memory.
const MAX_FORM_BYTES: usize = 256 * 1024;

pub async fn protect(State(context): State<AppContext>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let visitor = match Visitor::from_headers(&context, request.headers()).await {
        Ok(visitor) => visitor,
        Err(error) => return error.into_response(),
    };
    if safe {
        let wanted = request.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
        let (mut parts, body) = request.into_parts();
        parts.extensions.insert(visitor);
        let response = next.run(Request::from_parts(parts, body)).await;
        return return_after_sign_in(response, &wanted);
    }
    if !same_site(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "refused a cross-site form post");
        return WebError::CsrfRefused.into_response();
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return WebError::BadRequest("The form was too large.".into()).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let token = fields.iter().find(|(name, _)| name == "csrf_token").map(|(_, value)| value.as_str());
    if visitor.new_anonymous_csrf.is_some() || token != Some(visitor.csrf_token.as_str()) {
        tracing::warn!(path = %parts.uri.path(), "refused a form post without a valid CSRF token");
        return WebError::CsrfRefused.into_response();
    }
    parts.extensions.insert(visitor);
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// A page that needs a signed-in user redirects to the sign-in page; this adds where to come back to.
fn return_after_sign_in(mut response: Response, wanted: &str) -> Response {
    let to_sign_in = response.headers().get(header::LOCATION).is_some_and(|location| location == "/sign-in");
    if to_sign_in
        && let Ok(query) = serde_urlencoded::to_string([("next", wanted)])
        && let Ok(location) = axum::http::HeaderValue::from_str(&format!("/sign-in?{query}"))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// True when the browser says the request comes from this site. Browsers send `Sec-Fetch-Site` on every
/// request and `Origin` on every POST; a request with neither (not a browser) is left to the token check.
fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_this_site_may_post() {
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(same_site(&headers(&[("origin", "http://127.0.0.1:8080"), ("host", "127.0.0.1:8080")])));
        assert!(!same_site(&headers(&[("origin", "https://evil.example"), ("host", "127.0.0.1:8080")])));
        assert!(same_site(&headers(&[])), "no browser headers: the token decides");
    }
}
