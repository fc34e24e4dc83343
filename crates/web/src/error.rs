use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use onramp_service::cases::CaseError;
use onramp_service::lifecycle::LifecycleServiceError;
use onramp_service::password_reset::ResetError;
use onramp_store::StoreError;

/// The one error type of the web layer. It maps every failure to a status code and a page in one place;
/// internal causes go to the log with a reference the user can quote, never to the page.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("page not found")]
    NotFound,
    #[error("sign in first")]
    SignInRequired,
    #[error("forbidden")]
    Forbidden,
    /// A state-changing request without a valid CSRF token or from another site (SEC-2).
    #[error("cross-site request refused")]
    CsrfRefused,
    /// Too many attempts from one address; the message says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { .. } => Self::NotFound,
            StoreError::Conflict { what } => Self::Conflict(format!("That {what} is already taken.")),
            StoreError::StaleVersion { .. } => Self::Conflict(
                "That agreement was changed by someone else while you were working on it. Reload the page and try \
                 again."
                    .into(),
            ),
            StoreError::Unavailable(_) => Self::Unavailable,
            error @ (StoreError::Corrupt { .. } | StoreError::Database(_) | StoreError::Migration(_)) => {
                Self::Internal(Box::new(error))
            }
        }
    }
}

/// Service errors a handler does not answer itself; a rule broken is handled where the page shows it.
impl From<LifecycleServiceError> for WebError {
    fn from(error: LifecycleServiceError) -> Self {
        match error {
            LifecycleServiceError::NotAgreementTeam => Self::Forbidden,
            LifecycleServiceError::NotFound(_) => Self::NotFound,
            LifecycleServiceError::Store(error) => error.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<CaseError> for WebError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::NotFound => Self::NotFound,
            CaseError::ViewerReadOnly | CaseError::InternalNoteByParty | CaseError::StaffOnly => Self::Forbidden,
            CaseError::Store(error) => error.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<ResetError> for WebError {
    fn from(error: ResetError) -> Self {
        match error {
            ResetError::Store(error) => error.into(),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(error: askama::Error) -> Self {
        Self::Internal(Box::new(error))
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired => StatusCode::SEE_OTHER,
            Self::Forbidden | Self::CsrfRefused => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::SignInRequired = self {
            return axum::response::Redirect::to("/sign-in").into_response();
        }
        let reference = match &self {
            Self::Internal(cause) => {
                let reference = uuid::Uuid::now_v7().simple().to_string();
                tracing::error!(reference = %reference, error = %cause_chain(cause.as_ref()), "request failed");
                Some(reference)
            }
            Self::Unavailable => {
                tracing::warn!("request failed: database unavailable");
                None
            }
            _ => None,
        };
        let (title, message) = match &self {
            Self::NotFound => ("Page not found", "If you typed the web address, check it is correct."),
            Self::SignInRequired => ("Sign in", "Sign in to continue."),
            Self::Forbidden => (
                "You do not have permission to do this",
                "Your account cannot use this page. If you think it should, ask your organisation's owner or the service desk.",
            ),
            Self::CsrfRefused => (
                "This request was refused",
                "The form did not come from this service or has expired. Go back, reload the page and try again.",
            ),
            Self::TooManyRequests(message) => ("Too many attempts", message.as_str()),
            Self::BadRequest(message) => ("This request could not be read", message.as_str()),
            Self::Conflict(message) => ("This could not be saved", message.as_str()),
            Self::Unavailable => (
                "Sorry, the service is unavailable",
                "The service cannot reach its database at the moment. Try again in a few minutes.",
            ),
            Self::Internal(_) => (
                "Sorry, there is a problem with the service",
                "Try again later. If the problem continues, contact the service desk and quote the reference below.",
            ),
        };
        let page = ErrorPage { title, message, reference: reference.as_deref() };
        let body = page.render().unwrap_or_else(|_| title.to_owned());
        (self.status(), Html(body)).into_response()
    }
}

fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_version_is_a_conflict_that_asks_to_reload() {
        let error = WebError::from(StoreError::StaleVersion { entity: "agreement" });
        assert_eq!(error.status(), StatusCode::CONFLICT);
        assert!(error.to_string().contains("Reload the page and try again."), "{error}");
    }
}
