//! Sign-in, sign-out and self-registration pages.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::FieldErrors;
use onramp_service::{AppContext, accounts};
use serde::Deserialize;

use crate::WebError;
use crate::forms::FormView;
use crate::session::{ANONYMOUS_CSRF_COOKIE, SESSION_COOKIE, Visitor, set_cookie};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
    /// What just happened, when the visitor was sent here after registering or resetting a password.
    notice: Option<&'static str>,
    /// The page to return to after signing in.
    next: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    registered: Option<String>,
    #[serde(default)]
    reset: Option<String>,
    #[serde(default)]
    next: String,
}

/// Only a path on this site is followed after sign-in, never another site (an open redirect).
fn local_path(next: &str) -> Option<&str> {
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2000
        && !next.chars().any(char::is_control);
    safe.then_some(next)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn page(visitor: &Visitor, context: &AppContext, status: StatusCode, html: String) -> Response {
    (status, visitor.cookies(context), Html(html)).into_response()
}

pub async fn sign_in_form(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(query): Query<SignInQuery>,
) -> Result<Response, WebError> {
    let notice = match (query.registered, query.reset) {
        // The same words whether the address was new or had an account (SEC-2: no oracle).
        (Some(_), _) => Some(
            "Thank you. We have sent an email to the address you gave: open the link in it to confirm your address. \
             You can sign in meanwhile.",
        ),
        (_, Some(_)) => {
            Some("Your password has been changed and your other sessions have ended. Sign in with the new password.")
        }
        _ => None,
    };
    let next = local_path(&query.next).unwrap_or_default().to_owned();
    let html = SignInPage { visitor: &visitor, form: FormView::default(), notice, next }.render()?;
    Ok(page(&visitor, &context, StatusCode::OK, html))
}

pub async fn sign_in(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Result<Response, WebError> {
    match accounts::sign_in(&context, &form.email, &form.password).await {
        Ok(session) => {
            let mut headers = HeaderMap::new();
            let lifetime = accounts::SESSION_LIFETIME.as_secs();
            if let Some(cookie) = set_cookie(&context, SESSION_COOKIE, &session.token, lifetime) {
                headers.append(SET_COOKIE, cookie);
            }
            // The session has a CSRF token of its own; the one used before signing in is thrown away, so a
            // token planted or read before sign-in never works again (after sign-out a new one is issued).
            if let Some(cookie) = set_cookie(&context, ANONYMOUS_CSRF_COOKIE, "", 0) {
                headers.append(SET_COOKIE, cookie);
            }
            tracing::info!(user = %session.user.id, "signed in");
            Ok((headers, Redirect::to(local_path(&form.next).unwrap_or("/"))).into_response())
        }
        Err(error @ (accounts::AccountError::Store(_) | accounts::AccountError::Hash(_))) => Err(error.into()),
        Err(refused) => {
            let mut errors = FieldErrors::new();
            errors.add("email", refused);
            let next = local_path(&form.next).unwrap_or_default().to_owned();
            let form = FormView::new(errors, [("email", form.email)]);
            let html = SignInPage { visitor: &visitor, form, notice: None, next }.render()?;
            Ok(page(&visitor, &context, StatusCode::UNPROCESSABLE_ENTITY, html))
        }
    }
}

#[derive(Template)]
#[template(path = "sign_out.html")]
struct SignOutPage<'a> {
    visitor: &'a Visitor,
}

/// `GET /sign-out`, as someone who typed the address or followed a link: signing out is a form (a POST with
/// the CSRF token, so another site cannot sign anyone out), so this page offers its button.
pub async fn sign_out_page(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let html = SignOutPage { visitor: &visitor }.render()?;
    Ok(page(&visitor, &context, StatusCode::OK, html))
}

pub async fn sign_out(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    if let Some(token) = &visitor.session_token {
        accounts::sign_out(&context, token).await?;
    }
    let mut headers = HeaderMap::new();
    if let Some(cookie) = set_cookie(&context, SESSION_COOKIE, "", 0) {
        headers.append(SET_COOKIE, cookie);
    }
    Ok((headers, Redirect::to("/sign-in")).into_response())
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
}

pub async fn register_form(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let html = RegisterPage { visitor: &visitor, form: FormView::default() }.render()?;
    Ok(page(&visitor, &context, StatusCode::OK, html))
}

pub async fn register(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<accounts::Registration>,
) -> Result<Response, WebError> {
    match accounts::register(&context, &form).await {
        Ok(registered) => {
            match registered {
                accounts::Registered::New(user) => tracing::info!(user = %user.id, "registered"),
                accounts::Registered::AddressTaken => {
                    tracing::info!("registration with an address that has an account; its holder was mailed");
                }
            }
            Ok(Redirect::to("/sign-in?registered=1").into_response())
        }
        Err(accounts::AccountError::Invalid(errors)) => {
            let form = FormView::new(errors, [("email", form.email), ("full_name", form.full_name)]);
            let html = RegisterPage { visitor: &visitor, form }.render()?;
            Ok(page(&visitor, &context, StatusCode::UNPROCESSABLE_ENTITY, html))
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    visitor: &'a Visitor,
    user: &'a onramp_domain::User,
    organisation: Option<String>,
    roles: Vec<&'static str>,
    notice: Option<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    sent: Option<String>,
}

/// Who you are signed in as: name, e-mail, organisation and roles.
pub async fn account(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(query): Query<AccountQuery>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let organisation = match &user.membership {
        Some(membership) => context.store.organisation(membership.organisation_id).await?.map(|o| o.details.name),
        None => None,
    };
    let mut roles: Vec<&'static str> = user.staff_roles.iter().map(|r| r.as_str()).collect();
    if let Some(membership) = &user.membership {
        roles.push(membership.role.as_str());
        if membership.onboarding_contact {
            roles.push("onboarding contact");
        }
    }
    let notice = query.sent.map(|_| "We have sent a new link to your email address. It works for 24 hours.");
    let html = AccountPage { visitor: &visitor, user, organisation, roles, notice }.render()?;
    Ok(page(&visitor, &context, StatusCode::OK, html))
}

/// Sends a new address-verification link to the signed-in account.
pub async fn resend_verification(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    accounts::resend_verification(&context, user).await?;
    Ok(Redirect::to("/account?sent=1").into_response())
}

#[derive(Template)]
#[template(path = "verify_address.html")]
struct VerifyAddressPage<'a> {
    visitor: &'a Visitor,
    confirmed: bool,
}

/// The link in an address-verification mail (SEC-1). Opening it is the proof: the holder of the mailbox is the
/// only one who has it; it works once, for 24 hours.
pub async fn verify_address(
    State(context): State<AppContext>,
    visitor: Visitor,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, WebError> {
    let (status, confirmed) = match accounts::verify_address(&context, &token).await {
        Ok(_) => (StatusCode::OK, true),
        Err(accounts::AccountError::LinkNotValid) => (StatusCode::NOT_FOUND, false),
        Err(other) => return Err(other.into()),
    };
    let html = VerifyAddressPage { visitor: &visitor, confirmed }.render()?;
    Ok(page(&visitor, &context, status, html))
}
