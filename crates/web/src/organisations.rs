//! The organisation pages: register one, see its team (and, as owner or admin, manage it: `team.rs`),
//! nominate yourself as onboarding contact.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::agreement::long_time;
use onramp_domain::team;
use onramp_domain::{Organisation, OrganisationInput, OrganisationKind, TeamRole, User};
use onramp_service::{AppContext, organisations};
use serde::Deserialize;

use crate::WebError;
use crate::forms::FormView;
use crate::session::Visitor;

#[derive(Template)]
#[template(path = "organisation_new.html")]
struct NewOrganisationPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
    kinds: Vec<OrganisationKind>,
    im1_supplier: bool,
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage<'a> {
    visitor: &'a Visitor,
    organisation: &'a Organisation,
    members: Vec<MemberView>,
    me: &'a User,
    /// Owners and admins see the team forms; viewers see the team only.
    can_manage: bool,
    invitations: Vec<InvitationView>,
    /// The invitation form: its errors and what was typed.
    form: FormView,
    notice: Option<&'static str>,
    roles: [TeamRole; 2],
}

/// A team member as the page lists them; `changeable` when the visitor may change their role or remove them.
struct MemberView {
    id: String,
    full_name: String,
    email: String,
    role: TeamRole,
    onboarding_contact: bool,
    changeable: bool,
    is_me: bool,
}

struct InvitationView {
    id: String,
    email: String,
    role: &'static str,
    invited_by: String,
    expires: String,
    expired: bool,
}

/// What the page says after a team change (`?team=…` on the redirect).
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    #[serde(default)]
    team: Option<String>,
}

impl Notice {
    fn text(&self) -> Option<&'static str> {
        Some(match self.team.as_deref()? {
            "invited" => {
                "Invitation sent. They join your team when they accept it, signed in to Onramp with that email \
                 address, within 14 days."
            }
            "registered" => {
                "Your organisation is registered. Next, nominate an onboarding contact: agreements are issued to \
                 them to accept."
            }
            "contact" => "You are now an onboarding contact: agreements are issued to you to accept.",
            "role" => "The role was changed.",
            "removed" => "They were removed from the team.",
            "cancelled" => "The invitation was cancelled.",
            _ => return None,
        })
    }
}

/// Renders the organisation page of `user`'s organisation with the invitation form `form`.
pub(crate) async fn organisation_page(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    form: FormView,
    notice: Option<&'static str>,
) -> Result<String, WebError> {
    let membership = user.membership.as_ref().ok_or(WebError::NotFound)?;
    let organisation = context.store.organisation(membership.organisation_id).await?.ok_or(WebError::NotFound)?;
    let members = context.store.members(organisation.id).await?;
    let can_manage = team::may_manage(membership.role);
    let owners = members.iter().filter(|m| m.membership.as_ref().is_some_and(|m| m.role == TeamRole::Owner)).count();
    let members = members
        .into_iter()
        .filter_map(|member| {
            let role = member.membership.as_ref()?.role;
            Some(MemberView {
                id: member.id.to_string(),
                changeable: can_manage && team::may_change_member(user.id, member.id, role, owners).is_ok(),
                is_me: member.id == user.id,
                onboarding_contact: member.membership.as_ref().is_some_and(|m| m.onboarding_contact),
                full_name: member.full_name.to_string(),
                email: member.email.to_string(),
                role,
            })
        })
        .collect();
    let now = context.clock.now();
    let invitations = context
        .store
        .pending_invitations(organisation.id)
        .await?
        .into_iter()
        .map(|invitation| InvitationView {
            id: invitation.id.to_string(),
            email: invitation.email.to_string(),
            role: invitation.role.label(),
            invited_by: invitation.invited_by_name.clone(),
            expires: long_time(invitation.expires_at),
            expired: !invitation.is_open(now),
        })
        .collect();
    let page = OrganisationPage {
        visitor,
        organisation: &organisation,
        members,
        me: user,
        can_manage,
        invitations,
        form,
        notice,
        roles: [TeamRole::Admin, TeamRole::Viewer],
    };
    Ok(page.render()?)
}

/// The form as posted: a checkbox is absent when unticked.
#[derive(Debug, Deserialize)]
pub struct OrganisationForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    ods_code: String,
    #[serde(default)]
    company_number: String,
    #[serde(default)]
    registered_address: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    delivery_notice_mailbox: String,
    #[serde(default)]
    im1_supplier: Option<String>,
}

impl OrganisationForm {
    fn input(&self) -> OrganisationInput {
        OrganisationInput {
            name: self.name.clone(),
            ods_code: self.ods_code.clone(),
            company_number: self.company_number.clone(),
            registered_address: self.registered_address.clone(),
            kind: self.kind.clone(),
            delivery_notice_mailbox: self.delivery_notice_mailbox.clone(),
            im1_supplier: self.im1_supplier.is_some(),
        }
    }
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(notice): Query<Notice>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    // Provider staff belong to no connecting organisation: theirs is the list of every organisation.
    if user.is_staff() {
        return Ok(axum::response::Redirect::to("/staff/organisations").into_response());
    }
    if user.membership.is_none() {
        let page = NewOrganisationPage {
            visitor: &visitor,
            form: FormView::default(),
            kinds: OrganisationKind::choosable_by(user),
            im1_supplier: false,
        };
        return Ok(Html(page.render()?).into_response());
    }
    Ok(Html(organisation_page(&context, &visitor, user, FormView::default(), notice.text()).await?).into_response())
}

pub async fn register(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<OrganisationForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let input = form.input();
    match organisations::register(&context, user, &input).await {
        Ok(_) => Ok(Redirect::to("/organisation?team=registered").into_response()),
        Err(organisations::OrganisationError::Invalid(errors)) => {
            let form = FormView::new(
                errors,
                [
                    ("name", input.name),
                    ("ods_code", input.ods_code),
                    ("company_number", input.company_number),
                    ("registered_address", input.registered_address),
                    ("kind", input.kind),
                    ("delivery_notice_mailbox", input.delivery_notice_mailbox),
                ],
            );
            let page = NewOrganisationPage {
                visitor: &visitor,
                form,
                kinds: OrganisationKind::choosable_by(user),
                im1_supplier: input.im1_supplier,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn nominate(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    match organisations::nominate_onboarding_contact(&context, user).await {
        Ok(_) => Ok(Redirect::to("/organisation?team=contact").into_response()),
        Err(other) => Err(other.into()),
    }
}
