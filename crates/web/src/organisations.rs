//! The organisation pages: register one, see its team, nominate yourself as onboarding contact.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::{Organisation, OrganisationInput, OrganisationKind, User};
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
    kinds: [OrganisationKind; 4],
    im1_supplier: bool,
}

#[derive(Template)]
#[template(path = "organisation.html")]
struct OrganisationPage<'a> {
    visitor: &'a Visitor,
    organisation: &'a Organisation,
    members: Vec<User>,
    me: &'a User,
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

pub async fn show(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let Some(membership) = &user.membership else {
        let page = NewOrganisationPage {
            visitor: &visitor,
            form: FormView::default(),
            kinds: OrganisationKind::ALL,
            im1_supplier: false,
        };
        return Ok(Html(page.render()?).into_response());
    };
    let organisation = context.store.organisation(membership.organisation_id).await?.ok_or(WebError::NotFound)?;
    let members = context.store.members(organisation.id).await?;
    let page = OrganisationPage { visitor: &visitor, organisation: &organisation, members, me: user };
    Ok(Html(page.render()?).into_response())
}

pub async fn register(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<OrganisationForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let input = form.input();
    match organisations::register(&context, user, &input).await {
        Ok(_) => Ok(Redirect::to("/organisation").into_response()),
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
                kinds: OrganisationKind::ALL,
                im1_supplier: input.im1_supplier,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(page.render()?)).into_response())
        }
        Err(organisations::OrganisationError::AlreadyMember) => {
            Err(WebError::Conflict("You already belong to an organisation.".into()))
        }
        Err(organisations::OrganisationError::Store(error)) => Err(error.into()),
        Err(_) => Err(WebError::Forbidden),
    }
}

pub async fn nominate(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    match organisations::nominate_onboarding_contact(&context, user).await {
        Ok(_) => Ok(Redirect::to("/organisation").into_response()),
        Err(organisations::OrganisationError::NotMember) => Err(WebError::NotFound),
        Err(organisations::OrganisationError::Store(error)) => Err(error.into()),
        Err(_) => Err(WebError::Forbidden),
    }
}
