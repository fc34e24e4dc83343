//! Who is asking: the session cookie read into a [`Visitor`], and the cookies Onramp sets. Reading the
//! session is the one place a request is tied to a user; every handler that needs a user asks for one here.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use onramp_domain::User;
use onramp_service::{AppContext, accounts};

use crate::WebError;

pub const SESSION_COOKIE: &str = "onramp_session";
/// The CSRF token of a visitor who is not signed in (double-submit: cookie and form field must match).
pub const ANONYMOUS_CSRF_COOKIE: &str = "onramp_csrf";

/// The person making the request, signed in or not, with the CSRF token their forms must carry.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub user: Option<User>,
    pub csrf_token: String,
    pub session_token: Option<String>,
    /// A CSRF cookie to set, when an anonymous visitor had none yet.
    pub new_anonymous_csrf: Option<String>,
    /// Onramp runs with `serve --demo`: pages offer the demo clock.
    pub demo_mode: bool,
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, and Secure whenever the portal is reached over TLS
/// ([`onramp_service::Config::cookies_secure`]: an `https://` public URL, or `secure_cookies`).
pub fn set_cookie(context: &AppContext, name: &str, value: &str, max_age_seconds: i64) -> Option<HeaderValue> {
    let secure = if context.config.cookies_secure() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}{secure}"))
        .ok()
}

impl Visitor {
    pub async fn from_headers(context: &AppContext, headers: &HeaderMap) -> Result<Self, WebError> {
        let demo_mode = context.demo_clock.is_some();
        if let Some(token) = cookie(headers, SESSION_COOKIE)
            && let Some(onramp_store::SignedIn { user, csrf_token }) = accounts::session(context, &token).await?
        {
            return Ok(Self {
                user: Some(user),
                csrf_token,
                session_token: Some(token),
                new_anonymous_csrf: None,
                demo_mode,
            });
        }
        Ok(match cookie(headers, ANONYMOUS_CSRF_COOKIE) {
            Some(csrf_token) => {
                Self { user: None, csrf_token, session_token: None, new_anonymous_csrf: None, demo_mode }
            }
            None => {
                let csrf_token = accounts::random_token();
                Self {
                    user: None,
                    csrf_token: csrf_token.clone(),
                    session_token: None,
                    new_anonymous_csrf: Some(csrf_token),
                    demo_mode,
                }
            }
        })
    }

    /// Headers to add to the response (the anonymous CSRF cookie, the first time).
    pub fn cookies(&self, context: &AppContext) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(token) = &self.new_anonymous_csrf
            && let Some(value) = set_cookie(context, ANONYMOUS_CSRF_COOKIE, token, 60 * 60 * 24)
        {
            headers.append(SET_COOKIE, value);
        }
        headers
    }

    /// The signed-in user, or `SignInRequired` (a redirect to the sign-in page).
    pub fn require_user(&self) -> Result<&User, WebError> {
        self.user.as_ref().ok_or(WebError::SignInRequired)
    }
}

impl FromRequestParts<AppContext> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, context: &AppContext) -> Result<Self, Self::Rejection> {
        if let Some(visitor) = parts.extensions.get::<Visitor>() {
            return Ok(visitor.clone());
        }
        Self::from_headers(context, &parts.headers).await
    }
}
