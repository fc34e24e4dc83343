//! Managing a connecting party's team from the organisation page (SPEC §1, SEC-1): invite by e-mail address,
//! change a member's role, remove a member, cancel an invitation. Each handler calls
//! `onramp_service::team` and redirects back to the organisation page with a notice; the rules and their
//! refusals live in the service and `onramp_domain::team`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::UserId;
use onramp_domain::team::InvitationId;
use onramp_service::AppContext;
use onramp_service::team::{self, InviteForm, Invited, TeamError};
use serde::Deserialize;

use crate::WebError;
use crate::forms::FormView;
use crate::organisations::organisation_page;
use crate::session::Visitor;

/// An id from the path; one that does not parse names nothing, so it is not found.
fn id_from(raw: &str) -> Result<uuid::Uuid, WebError> {
    uuid::Uuid::parse_str(raw).map_err(|_| WebError::NotFound)
}

pub async fn invite(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<InviteForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    match team::invite(&context, user, &form).await {
        Ok(Invited::Joined(_)) => Ok(Redirect::to("/organisation?team=joined").into_response()),
        Ok(Invited::Pending(_)) => Ok(Redirect::to("/organisation?team=invited").into_response()),
        Err(TeamError::Invalid(errors)) => {
            let form = FormView::new(errors, [("email", form.email), ("role", form.role)]);
            let html = organisation_page(&context, &visitor, user, form, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(member): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let member = UserId(id_from(&member)?);
    team::change_role(&context, user, member, &form.role).await.map_err(WebError::from)?;
    Ok(Redirect::to("/organisation?team=role").into_response())
}

pub async fn remove(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(member): Path<String>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let member = UserId(id_from(&member)?);
    team::remove_member(&context, user, member).await.map_err(WebError::from)?;
    // Someone who removed themselves has no organisation page to go back to.
    let to = if member == user.id { "/" } else { "/organisation?team=removed" };
    Ok(Redirect::to(to).into_response())
}

pub async fn cancel_invitation(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(invitation): Path<String>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let invitation = InvitationId(id_from(&invitation)?);
    team::cancel_invitation(&context, user, invitation).await.map_err(WebError::from)?;
    Ok(Redirect::to("/organisation?team=cancelled").into_response())
}
