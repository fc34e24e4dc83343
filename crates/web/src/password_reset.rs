//! The password-reset pages (SEC-2): ask for a link, then set a new password with it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::FieldErrors;
use onramp_service::AppContext;
use onramp_service::password_reset::{self, ResetError};
use serde::Deserialize;

use crate::WebError;
use crate::forms::FormView;
use crate::session::Visitor;

#[derive(Template)]
#[template(path = "password_reset_request.html")]
struct RequestPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
    sent: bool,
}

fn request_page(
    context: &AppContext,
    visitor: &Visitor,
    status: StatusCode,
    page: &RequestPage<'_>,
) -> Result<Response, WebError> {
    Ok((status, visitor.cookies(context), Html(page.render()?)).into_response())
}

pub async fn request_form(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let page = RequestPage { visitor: &visitor, form: FormView::default(), sent: false };
    request_page(&context, &visitor, StatusCode::OK, &page)
}

#[derive(Debug, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    email: String,
}

/// Answers "check your email" for any well-formed address, account or not.
pub async fn request(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<RequestForm>,
) -> Result<Response, WebError> {
    let typed = [("email", form.email.trim().to_owned())];
    match password_reset::request(&context, &form.email).await {
        Ok(()) => {
            let page = RequestPage { visitor: &visitor, form: FormView::new(FieldErrors::new(), typed), sent: true };
            request_page(&context, &visitor, StatusCode::OK, &page)
        }
        Err(ResetError::Invalid(errors)) => {
            let page = RequestPage { visitor: &visitor, form: FormView::new(errors, typed), sent: false };
            request_page(&context, &visitor, StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "password_reset.html")]
struct ResetPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
    open: bool,
    action: String,
}

/// Tokens are what `accounts::random_token` makes; anything else is not a link we sent.
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

pub async fn reset_form(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let open = well_formed(&token) && password_reset::link_is_open(&context, &token).await?;
    let action = password_reset::link_path(&token);
    let page = ResetPage { visitor: &visitor, form: FormView::default(), open, action };
    let status = if open { StatusCode::OK } else { StatusCode::NOT_FOUND };
    Ok((status, visitor.cookies(&context), Html(page.render()?)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm_password: String,
}

pub async fn reset(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, WebError> {
    let action = password_reset::link_path(&token);
    if !well_formed(&token) {
        let page = ResetPage { visitor: &visitor, form: FormView::default(), open: false, action };
        return Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response());
    }
    match password_reset::finish(&context, &token, &form.password, &form.confirm_password).await {
        Ok(user) => {
            tracing::info!(%user, "password reset");
            Ok(Redirect::to("/sign-in?reset=1").into_response())
        }
        Err(ResetError::Invalid(errors)) => {
            let page = ResetPage { visitor: &visitor, form: FormView::new(errors, []), open: true, action };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(ResetError::LinkNotValid) => {
            let page = ResetPage { visitor: &visitor, form: FormView::default(), open: false, action };
            Ok((StatusCode::NOT_FOUND, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}
