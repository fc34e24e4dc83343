use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use onramp_domain::KindChangeError;
use onramp_domain::agreement::LifecycleError;
use onramp_domain::application::ApplicationError;
use onramp_domain::case::CaseRuleError;
use onramp_domain::team::TeamRuleError;
use onramp_service::accounts::AccountError;
use onramp_service::application_agreement::AgreementFromApplicationError;
use onramp_service::application_files::EvidenceServiceError;
use onramp_service::applications::ApplicationServiceError;
use onramp_service::cases::CaseError;
use onramp_service::demo::DemoClockError;
use onramp_service::evidence::UploadError;
use onramp_service::lifecycle::LifecycleServiceError;
use onramp_service::organisations::OrganisationError;
use onramp_service::password_reset::ResetError;
use onramp_service::team::TeamError;
use onramp_store::StoreError;

use crate::forms::capitalised;
use crate::session::Visitor;

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
    /// SEC-1: the action needs a verified e-mail address.
    #[error("confirm your email address first")]
    Unverified,
    /// A state-changing request without a valid CSRF token or from another site (SEC-2).
    #[error("cross-site request refused")]
    CsrfRefused,
    /// Too many attempts from one address; the message says when to try again.
    #[error("{0}")]
    TooManyRequests(String),
    #[error("{0}")]
    BadRequest(String),
    /// SEC-3: a form field that is not UTF-8 or holds a control character; the message names the field.
    #[error("{0}")]
    UnacceptableText(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

// Every conversion below names every variant, so a new rule or failure must be given its answer here
// instead of silently becoming a 500.

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

/// A broken agreement rule outside a page that shows it: who may not act is refused, an agreement that is
/// not the organisation's is not found, and the rest are conflicts with the current state, in words.
impl From<LifecycleError> for WebError {
    fn from(rule: LifecycleError) -> Self {
        match rule {
            LifecycleError::NotAgreementTeam => Self::Forbidden,
            LifecycleError::UnknownAgreement => Self::NotFound,
            LifecycleError::NotAnOnboardingContact
            | LifecycleError::NoLongerOpen { .. }
            | LifecycleError::TermsChanged
            | LifecycleError::AlreadyTerminating { .. }
            | LifecycleError::DeadlinePassed { .. }
            | LifecycleError::NotUnderReview { .. }
            | LifecycleError::NotAwaitingReview { .. }
            | LifecycleError::WrongSignatureType { .. }
            | LifecycleError::TimerNotRunning
            | LifecycleError::TimerNotPaused
            | LifecycleError::NoActiveAgreement
            | LifecycleError::AlreadyHasAgreement
            | LifecycleError::TerminationScheduled { .. }
            | LifecycleError::Offboarded { .. }
            | LifecycleError::EndDateInPast
            | LifecycleError::AlreadyOnTerms { .. }
            | LifecycleError::NoApiProducts
            | LifecycleError::NeedsNoAgreement { .. }
            | LifecycleError::NotAPaperAgreement
            | LifecycleError::EmptyQuery
            | LifecycleError::QueryTooLong
            | LifecycleError::PaperAgreement => Self::Conflict(capitalised(&format!("{rule}."))),
        }
    }
}

impl From<LifecycleServiceError> for WebError {
    fn from(error: LifecycleServiceError) -> Self {
        match error {
            LifecycleServiceError::Rule(rule) => rule.into(),
            LifecycleServiceError::NotFound(_) => Self::NotFound,
            LifecycleServiceError::Unverified(_) => Self::Unverified,
            LifecycleServiceError::OlderThanCurrent { .. } => Self::Conflict(capitalised(&format!("{error}."))),
            LifecycleServiceError::NotOffered(_) => Self::Conflict(capitalised(&format!("{error}."))),
            LifecycleServiceError::Store(error) => error.into(),
            LifecycleServiceError::UnknownTerms(_) | LifecycleServiceError::Interrupted { .. } => {
                Self::Internal(Box::new(error))
            }
        }
    }
}

/// An application rule broken outside a form that shows it: another organisation's application does not exist,
/// who may not act is refused, and the rest conflict with the application's state, in words.
impl From<ApplicationError> for WebError {
    fn from(rule: ApplicationError) -> Self {
        match rule {
            ApplicationError::NotYours | ApplicationError::UnknownSection(_) => Self::NotFound,
            ApplicationError::ViewerReadOnly | ApplicationError::NotReviewer | ApplicationError::NotLiveService => {
                Self::Forbidden
            }
            ApplicationError::Rejected { .. }
            | ApplicationError::SectionHidden
            | ApplicationError::NotEditable(_)
            | ApplicationError::UnknownQuestion { .. }
            | ApplicationError::AnswerRefused { .. }
            | ApplicationError::UploadedNotTyped(_)
            | ApplicationError::NotEvidence(_)
            | ApplicationError::QuestionHidden
            | ApplicationError::TooManyFiles(_)
            | ApplicationError::FileNotAttached
            | ApplicationError::Incomplete(_)
            | ApplicationError::NotEligible
            | ApplicationError::EligibilityFirst(_)
            | ApplicationError::NotSubmitted(_)
            | ApplicationError::ReferenceRequired { .. }
            | ApplicationError::ReferenceMalformed(_)
            | ApplicationError::AgreementNotActive { .. }
            | ApplicationError::AgreementOfAnotherOrganisation { .. }
            | ApplicationError::AgreementUnknown { .. }
            | ApplicationError::CommentRequired
            | ApplicationError::ReasonRequired
            | ApplicationError::Milestone(_)
            | ApplicationError::TooLong => Self::Conflict(capitalised(&format!("{rule}."))),
            ApplicationError::FlowMissing(_) | ApplicationError::Evaluation(_) => Self::Internal(Box::new(rule)),
        }
    }
}

impl From<ApplicationServiceError> for WebError {
    fn from(error: ApplicationServiceError) -> Self {
        match error {
            ApplicationServiceError::Rule(rule) => rule.into(),
            ApplicationServiceError::NotFound => Self::NotFound,
            ApplicationServiceError::Unverified(_) => Self::Unverified,
            ApplicationServiceError::NoOrganisation | ApplicationServiceError::Viewer => Self::Forbidden,
            error @ (ApplicationServiceError::ProductName
            | ApplicationServiceError::NoProducts
            | ApplicationServiceError::NotOffered(_)) => Self::BadRequest(capitalised(&format!("{error}."))),
            ApplicationServiceError::Store(error) => error.into(),
            error @ ApplicationServiceError::FlowUnavailable { .. } => Self::Internal(Box::new(error)),
        }
    }
}

impl From<AgreementFromApplicationError> for WebError {
    fn from(error: AgreementFromApplicationError) -> Self {
        match error {
            AgreementFromApplicationError::Application(error) => error.into(),
            AgreementFromApplicationError::Lifecycle(error) => error.into(),
            error @ (AgreementFromApplicationError::ProviderInternal
            | AgreementFromApplicationError::Rejected
            | AgreementFromApplicationError::NotReady(_)
            | AgreementFromApplicationError::AlreadyCreated(_)) => Self::Conflict(capitalised(&format!("{error}."))),
        }
    }
}

impl From<EvidenceServiceError> for WebError {
    fn from(error: EvidenceServiceError) -> Self {
        match error {
            EvidenceServiceError::Application(error) => error.into(),
            EvidenceServiceError::NotFound => Self::NotFound,
            EvidenceServiceError::Upload(UploadError::Refused(rule)) => {
                Self::BadRequest(capitalised(&format!("{rule}.")))
            }
            EvidenceServiceError::Upload(UploadError::Interrupted(_)) => {
                Self::BadRequest("The upload stopped before its end. Try again.".into())
            }
            error @ EvidenceServiceError::Upload(UploadError::Storage(_)) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<CaseRuleError> for WebError {
    fn from(rule: CaseRuleError) -> Self {
        match rule {
            CaseRuleError::NotVisible => Self::NotFound,
            CaseRuleError::ViewerReadOnly
            | CaseRuleError::InternalNoteByParty
            | CaseRuleError::StaffOnly
            | CaseRuleError::AgreementTeamOnly => Self::Forbidden,
            CaseRuleError::Empty | CaseRuleError::TooLong => Self::BadRequest(capitalised(&format!("{rule}."))),
            CaseRuleError::Closed => Self::Conflict(capitalised(&format!("{rule}."))),
        }
    }
}

impl From<CaseError> for WebError {
    fn from(error: CaseError) -> Self {
        match error {
            CaseError::NotFound => Self::NotFound,
            CaseError::Rule(rule) => rule.into(),
            CaseError::Email(_) => Self::BadRequest(capitalised(&format!("{error}."))),
            CaseError::Store(error) => error.into(),
        }
    }
}

impl From<ResetError> for WebError {
    fn from(error: ResetError) -> Self {
        match error {
            ResetError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            ResetError::LinkNotValid => Self::NotFound,
            ResetError::Store(error) => error.into(),
            ResetError::Hash(_) => Self::Internal(Box::new(error)),
        }
    }
}

/// A team refusal: a viewer managing is forbidden (403); members and invitations of other organisations are
/// not found (404), as if they did not exist; the owner rules are a conflict (409) that says which rule.
impl From<TeamError> for WebError {
    fn from(error: TeamError) -> Self {
        match error {
            TeamError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            TeamError::NotMember | TeamError::NotFound => Self::NotFound,
            TeamError::Unverified(_) => Self::Unverified,
            error @ (TeamError::AlreadyMember | TeamError::StaffCannotJoin) => {
                Self::Conflict(capitalised(&format!("{error}.")))
            }
            TeamError::Rule(TeamRuleError::NotManager) => Self::Forbidden,
            TeamError::Rule(rule @ (TeamRuleError::OwnerIsFixed | TeamRuleError::LastOwner)) => {
                Self::Conflict(rule.to_string())
            }
            TeamError::Store(error) => error.into(),
        }
    }
}

impl From<OrganisationError> for WebError {
    fn from(error: OrganisationError) -> Self {
        match error {
            OrganisationError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            OrganisationError::Unverified(_) => Self::Unverified,
            OrganisationError::AlreadyMember => Self::Conflict("You already belong to an organisation.".into()),
            OrganisationError::NotMember => Self::NotFound,
            OrganisationError::Viewer => Self::Forbidden,
            // ORG-3: staff without the agreement team role may read an organisation but not change its kind.
            OrganisationError::Kind(KindChangeError::NotAgreementTeam) => Self::Forbidden,
            OrganisationError::Kind(
                rule @ (KindChangeError::CompanyNumberMissing | KindChangeError::CompanyNumberOnRecord(_)),
            ) => Self::Conflict(capitalised(&format!("{rule}."))),
            OrganisationError::Store(error) => error.into(),
        }
    }
}

impl From<AccountError> for WebError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid(errors) => Self::BadRequest(errors.to_string()),
            AccountError::WrongCredentials | AccountError::Locked { .. } => {
                Self::BadRequest(capitalised(&error.to_string()))
            }
            AccountError::LinkNotValid => Self::NotFound,
            AccountError::Store(error) => error.into(),
            AccountError::Hash(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<DemoClockError> for WebError {
    fn from(error: DemoClockError) -> Self {
        match error {
            DemoClockError::NotDemoMode => Self::NotFound,
            DemoClockError::NotAllowed => Self::Forbidden,
            DemoClockError::OutOfRange => Self::BadRequest(capitalised(&format!("{error}."))),
            DemoClockError::Store(error) => error.into(),
        }
    }
}

impl From<onramp_service::mail::RetryError> for WebError {
    fn from(error: onramp_service::mail::RetryError) -> Self {
        match error {
            onramp_service::mail::RetryError::NotAllowed => Self::Forbidden,
            onramp_service::mail::RetryError::Store(StoreError::NotFound { .. }) => {
                Self::Conflict("This message has not failed, so there is nothing to retry.".into())
            }
            onramp_service::mail::RetryError::Store(error) => error.into(),
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
            Self::Forbidden | Self::CsrfRefused | Self::Unverified => StatusCode::FORBIDDEN,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnacceptableText(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    visitor: &'a Visitor,
    title: &'a str,
    message: &'a str,
    reference: Option<&'a str>,
}

/// What an error page says, carried on the response so the page can be drawn once the visitor is known
/// ([`with_visitor`]): a signed-in user keeps the header's account links and navigation on a 404 or 403.
#[derive(Debug, Clone)]
pub struct ErrorPageContent {
    title: &'static str,
    message: String,
}

/// Draws the error page of a response that carries [`ErrorPageContent`] for this visitor, with the request's
/// id as the reference to quote; any other response is returned as it is.
pub fn with_visitor(mut response: Response, visitor: &Visitor, request_id: Option<&str>) -> Response {
    let Some(content) = response.extensions_mut().remove::<ErrorPageContent>() else {
        return response;
    };
    let page = ErrorPage { visitor, title: content.title, message: &content.message, reference: request_id };
    match page.render() {
        Ok(html) => {
            let (mut parts, _) = response.into_parts();
            parts.headers.remove(axum::http::header::CONTENT_LENGTH);
            Response::from_parts(parts, Html(html).into_response().into_body())
        }
        Err(error) => {
            tracing::error!(%error, "the error page could not be drawn");
            response
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if let Self::SignInRequired = self {
            return axum::response::Redirect::to("/sign-in").into_response();
        }
        // Logged inside the request's span, so the line carries the request id the page shows.
        match &self {
            Self::Internal(cause) => tracing::error!(error = %cause_chain(cause.as_ref()), "request failed"),
            Self::Unavailable => tracing::warn!("request failed: database unavailable"),
            Self::NotFound
            | Self::SignInRequired
            | Self::Forbidden
            | Self::Unverified
            | Self::CsrfRefused
            | Self::TooManyRequests(_)
            | Self::BadRequest(_)
            | Self::UnacceptableText(_)
            | Self::Conflict(_) => {}
        }
        let (title, message) = match &self {
            Self::NotFound => ("Page not found", "If you typed the web address, check it is correct."),
            Self::SignInRequired => ("Sign in", "Sign in to continue."),
            Self::Forbidden => (
                "You do not have permission to do this",
                "Your account cannot use this page. If you think it should, ask your organisation's owner or the service desk.",
            ),
            Self::Unverified => (
                "Confirm your email address first",
                "Open the link we sent to your email address. If it has expired, ask for a new one on your account page.",
            ),
            Self::CsrfRefused => (
                "This request was refused",
                "The form did not come from this service or has expired. Go back, reload the page and try again.",
            ),
            Self::TooManyRequests(message) => ("Too many attempts", message.as_str()),
            Self::BadRequest(message) => ("This request could not be read", message.as_str()),
            Self::UnacceptableText(message) => ("The form holds characters that cannot be accepted", message.as_str()),
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
        let content = ErrorPageContent { title, message: message.to_owned() };
        let mut response = (self.status(), Html(PLAIN_ERROR_PAGE)).into_response();
        response.extensions_mut().insert(content);
        response
    }
}

/// The body of an error response until [`with_visitor`] draws the page (every route passes through it, so
/// this shows only if a response escaped the CSRF layer).
const PLAIN_ERROR_PAGE: &str = "<!DOCTYPE html><html lang=\"en-GB\"><title>Onramp</title><p>Sorry, something went wrong. \
                                <a href=\"/\">Go to the start page</a>.</p></html>";

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
