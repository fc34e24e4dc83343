//! Managing a connecting party's team from the organisation page (SPEC §1, SEC-1): invite by e-mail address,
//! change a member's role, remove a member, cancel an invitation, leave; and the invitee's side: the
//! invitations page where an invitation is accepted or declined (membership by consent). Each handler calls
//! `onramp_service::team` and redirects back to the organisation page with a notice; the rules and their
//! refusals live in the service and `onramp_domain::team`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::UserId;
use onramp_domain::team::InvitationId;
use onramp_service::AppContext;
use onramp_service::team::{self, Answer, InviteForm, TeamError};
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
        Ok(_) => Ok(Redirect::to("/organisation?team=invited").into_response()),
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

/// A member leaves their organisation (the last owner cannot).
pub async fn leave(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    team::leave(&context, user).await?;
    Ok(Redirect::to("/invitations?left=1").into_response())
}

#[derive(Template)]
#[template(path = "invitations.html")]
struct InvitationsPage<'a> {
    visitor: &'a Visitor,
    invitations: Vec<InvitationView>,
    verified: bool,
    notice: Option<&'static str>,
}

struct InvitationView {
    id: String,
    organisation: String,
    role: &'static str,
    invited_by: String,
    expires: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct InvitationsNotice {
    #[serde(default)]
    left: Option<String>,
    #[serde(default)]
    declined: Option<String>,
}

/// The invitations waiting for the signed-in user; an unverified account is asked to confirm its address
/// first, since an invitation names another organisation (SEC-1).
pub async fn invitations(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(query): Query<InvitationsNotice>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let notice = match (query.left, query.declined) {
        (Some(_), _) => Some("You have left the organisation."),
        (_, Some(_)) => Some("You declined the invitation."),
        _ => None,
    };
    let invitations = if user.is_verified() {
        team::invitations_for(&context, user)
            .await?
            .into_iter()
            .map(|found| InvitationView {
                id: found.invitation.id.to_string(),
                organisation: found.organisation,
                role: found.invitation.role.as_str(),
                invited_by: found.invitation.invited_by_name.clone(),
                expires: onramp_domain::calendar::long_time(found.invitation.expires_at),
            })
            .collect()
    } else {
        Vec::new()
    };
    let html = InvitationsPage { visitor: &visitor, invitations, verified: user.is_verified(), notice }.render()?;
    Ok(Html(html).into_response())
}

async fn answer(context: &AppContext, visitor: &Visitor, invitation: &str, answer: Answer) -> Result<(), WebError> {
    let user = visitor.require_user()?;
    let invitation = InvitationId(id_from(invitation)?);
    team::respond(context, user, invitation, answer).await?;
    Ok(())
}

pub async fn accept_invitation(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(invitation): Path<String>,
) -> Result<Response, WebError> {
    answer(&context, &visitor, &invitation, Answer::Accept).await?;
    Ok(Redirect::to("/organisation").into_response())
}

pub async fn decline_invitation(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(invitation): Path<String>,
) -> Result<Response, WebError> {
    answer(&context, &visitor, &invitation, Answer::Decline).await?;
    Ok(Redirect::to("/invitations?declined=1").into_response())
}
