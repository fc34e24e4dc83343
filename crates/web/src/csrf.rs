//! CSRF protection for every state-changing request (SEC-2): the request must come from Onramp's own pages
//! (`Sec-Fetch-Site`, or failing that `Origin`, names this site) and carry the visitor's CSRF token in the
//! form field `csrf_token`. SameSite=Lax cookies are the third layer. A refused request changes nothing.
//!
//! A urlencoded form is small and read whole. A multipart form (an upload) is not read into memory: its
//! first field must be `csrf_token`, which is checked before anything else is read, and the rest of the stream
//! is handed to the handler as a [`CheckedMultipart`].
//!
//! Having read the form, this layer is also the one place where its text is checked (SEC-3,
//! [`forms::check_urlencoded`]): every field of every urlencoded form, and every query string, must be UTF-8
//! without control characters before any handler sees it. Multipart text fields are checked as the section
//! form reads them (`application_files::take_in`).

use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use onramp_service::AppContext;

use crate::session::Visitor;
use crate::{WebError, forms};

/// Forms are small; anything bigger is refused before it is read into memory.
const MAX_FORM_BYTES: usize = 256 * 1024;
/// The most a multipart request may carry in all: a few files at the largest size a flow allows.
const MAX_MULTIPART_BYTES: u64 = 4 * onramp_domain::evidence::LARGEST_FILE;
/// The most a multipart field may carry: a file at the largest size a flow allows, and its headers.
const MAX_MULTIPART_FIELD_BYTES: u64 = onramp_domain::evidence::LARGEST_FILE + 64 * 1024;

/// The rest of a multipart form whose first field, `csrf_token`, was checked; the handler takes it once.
#[derive(Clone)]
pub struct CheckedMultipart(Arc<Mutex<Option<multer::Multipart<'static>>>>);

impl std::fmt::Debug for CheckedMultipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckedMultipart")
    }
}

impl CheckedMultipart {
    /// The fields after `csrf_token`, in order.
    pub fn take(self) -> Result<multer::Multipart<'static>, WebError> {
        let taken = self.0.lock().ok().and_then(|mut slot| slot.take());
        taken.ok_or_else(|| WebError::BadRequest("The form was already read.".into()))
    }
}

/// Checks a multipart form's first field, the token, and leaves the rest of the stream unread.
async fn check_multipart(visitor: &Visitor, headers: &HeaderMap, body: Body) -> Result<CheckedMultipart, Response> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| WebError::BadRequest("The form's multipart boundary is missing.".into()).into_response())?;
    let limits = multer::SizeLimit::new()
        .whole_stream(MAX_MULTIPART_BYTES)
        .per_field(MAX_MULTIPART_FIELD_BYTES)
        .for_field("csrf_token", 1024);
    let constraints = multer::Constraints::new().size_limit(limits);
    let mut multipart = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let token = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf_token") => field.text().await.ok(),
        _ => None,
    };
    if visitor.new_anonymous_csrf.is_some() || token.as_deref() != Some(visitor.csrf_token.as_str()) {
        return Err(WebError::CsrfRefused.into_response());
    }
    Ok(CheckedMultipart(Arc::new(Mutex::new(Some(multipart)))))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

/// Reads the visitor once for the whole request, checks forms and queries (CSRF, text), and draws any error
/// page for that visitor (see [`crate::error::with_visitor`]).
pub async fn protect(State(context): State<AppContext>, request: Request, next: Next) -> Response {
    let request_id = crate::request_id(request.headers());
    let visitor = match Visitor::from_headers(&context, request.headers(), request.uri().path()).await {
        Ok(visitor) => visitor,
        Err(error) => {
            let anonymous = Visitor::anonymous(&context);
            return crate::error::with_visitor(error.into_response(), &anonymous, request_id.as_deref());
        }
    };
    let response = guard(visitor.clone(), request, next).await;
    crate::error::with_visitor(response, &visitor, request_id.as_deref())
}

async fn guard(visitor: Visitor, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let query_refused = request.uri().query().and_then(|query| forms::check_urlencoded(query.as_bytes()).err());
    if safe {
        if let Some(refused) = query_refused {
            return refused.into_response();
        }
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
    if is_multipart(&parts.headers) {
        let checked = match check_multipart(&visitor, &parts.headers, body).await {
            Ok(checked) => checked,
            Err(refused) => {
                tracing::warn!(path = %parts.uri.path(), "refused a multipart post without a valid CSRF token first");
                return refused;
            }
        };
        if let Some(refused) = query_refused {
            return refused.into_response();
        }
        parts.extensions.insert(checked);
        parts.extensions.insert(visitor);
        return next.run(Request::from_parts(parts, Body::empty())).await;
    }
    let Ok(bytes) = to_bytes(body, MAX_FORM_BYTES).await else {
        return WebError::BadRequest("The form was too large.".into()).into_response();
    };
    let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let token = fields.iter().find(|(name, _)| name == "csrf_token").map(|(_, value)| value.as_str());
    if visitor.new_anonymous_csrf.is_some() || token != Some(visitor.csrf_token.as_str()) {
        tracing::warn!(path = %parts.uri.path(), "refused a form post without a valid CSRF token");
        return WebError::CsrfRefused.into_response();
    }
    if let Some(refused) = query_refused.or_else(|| forms::check_urlencoded(&bytes).err()) {
        tracing::info!(path = %parts.uri.path(), "refused a form with text that is not UTF-8 or holds control characters");
        return refused.into_response();
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
