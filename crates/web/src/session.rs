//! Who is asking: the session cookie read into a [`Visitor`], and the cookies Onramp sets. Reading the
//! session is the one place a request is tied to a user; every handler that needs a user asks for one here.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use onramp_domain::{StaffRole, User};
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
    /// The path asked for, so the header marks the page and section the visitor is on.
    pub path: String,
    /// Who runs this Onramp, named in the header, the title and the footer.
    pub provider_name: String,
    pub service_desk: String,
    pub logo: HeaderLogo,
}

/// The mark at the left of the header (`provider.logo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLogo {
    Nhs,
    Image,
    Name,
}

impl HeaderLogo {
    pub fn is_nhs(&self) -> bool {
        *self == Self::Nhs
    }

    pub fn is_image(&self) -> bool {
        *self == Self::Image
    }
}

/// One link of the header's main navigation.
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    /// `aria-current`: `page` on the page itself, `true` anywhere below it; `None` elsewhere.
    pub current: Option<&'static str>,
}

impl Visitor {
    /// The main navigation for who is signed in: staff by role, members of an organisation, someone in none;
    /// nothing before sign-in. The item whose section holds the current page is marked.
    pub fn navigation(&self) -> Vec<NavItem> {
        let Some(user) = &self.user else {
            return Vec::new();
        };
        let mut links: Vec<(&'static str, &'static str)> = Vec::new();
        if user.is_staff() {
            links.extend([
                ("/agreements", "Connection Agreements"),
                ("/cases", "Cases"),
                ("/applications", "Applications"),
            ]);
            if user.has_staff_role(StaffRole::Reviewer) || user.has_staff_role(StaffRole::LiveService) {
                links.push(("/staff/reviews", "Review queue"));
            }
            links.extend([("/staff/organisations", "Organisations"), ("/staff/flows", "Catalogue and flows")]);
            if user.has_staff_role(StaffRole::AgreementTeam) {
                links.push(("/staff/terms", "Terms versions"));
                if self.demo_mode {
                    links.push(("/staff/demo-clock", "Demo clock"));
                }
            }
        } else if user.membership.is_some() {
            links.extend([
                ("/agreements", "My Connection Agreements"),
                ("/cases", "Cases"),
                ("/applications", "Applications"),
                ("/organisation", "Organisation"),
            ]);
        } else {
            links.extend([("/organisation", "Register your organisation"), ("/invitations", "Invitations")]);
        }
        links.into_iter().map(|(href, label)| NavItem { href, label, current: self.current(href) }).collect()
    }

    fn current(&self, href: &str) -> Option<&'static str> {
        if self.path == href {
            Some("page")
        } else if self.path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/')) {
            Some("true")
        } else {
            None
        }
    }
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
    pub async fn from_headers(context: &AppContext, headers: &HeaderMap, path: &str) -> Result<Self, WebError> {
        let mut visitor = Self::of_session(context, headers).await?;
        visitor.path = path.to_owned();
        Ok(visitor)
    }

    /// A visitor for pages drawn without a request to read (an error before any handler ran): signed out.
    pub fn anonymous(context: &AppContext) -> Self {
        Self::new(context, None, String::new(), None, None)
    }

    fn new(
        context: &AppContext,
        user: Option<User>,
        csrf_token: String,
        session_token: Option<String>,
        new_anonymous_csrf: Option<String>,
    ) -> Self {
        let provider = &context.config.provider;
        Self {
            user,
            csrf_token,
            session_token,
            new_anonymous_csrf,
            demo_mode: context.demo_clock.is_some(),
            path: String::new(),
            provider_name: provider.name.clone(),
            service_desk: provider.service_desk_email.to_string(),
            logo: match provider.logo {
                onramp_service::config::ProviderLogo::Nhs => HeaderLogo::Nhs,
                onramp_service::config::ProviderLogo::Name => HeaderLogo::Name,
                onramp_service::config::ProviderLogo::Image(_) => HeaderLogo::Image,
            },
        }
    }

    async fn of_session(context: &AppContext, headers: &HeaderMap) -> Result<Self, WebError> {
        if let Some(token) = cookie(headers, SESSION_COOKIE)
            && let Some(onramp_store::SignedIn { user, csrf_token }) = accounts::session(context, &token).await?
        {
            return Ok(Self::new(context, Some(user), csrf_token, Some(token), None));
        }
        Ok(match cookie(headers, ANONYMOUS_CSRF_COOKIE) {
            Some(csrf_token) => Self::new(context, None, csrf_token, None, None),
            None => {
                let csrf_token = accounts::random_token();
                Self::new(context, None, csrf_token.clone(), None, Some(csrf_token))
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
        Self::from_headers(context, &parts.headers, parts.uri.path()).await
    }
}
