//! The organisations as provider staff see them (SPEC §2, ORG-3): every registered organisation with its kind,
//! and one organisation's details. The agreement team changes an organisation's kind here, the only way an
//! organisation becomes part of the provider (and so needs no connection agreement): suppliers cannot choose
//! that kind when they register. Any staff member reads these pages; to a connecting party they do not exist.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::{FieldErrors, KindChangeError, Organisation, OrganisationId, OrganisationKind, StaffRole, User};
use onramp_service::AppContext;
use onramp_service::organisations::{self, OrganisationError};
use serde::Deserialize;

use crate::WebError;
use crate::forms::{FormView, capitalised};
use crate::session::Visitor;

fn staff(visitor: &Visitor) -> Result<&User, WebError> {
    let user = visitor.require_user()?;
    if user.is_staff() { Ok(user) } else { Err(WebError::NotFound) }
}

struct OrganisationRow {
    id: String,
    name: String,
    ods_code: String,
    kind: &'static str,
}

#[derive(Template)]
#[template(path = "staff_organisations.html")]
struct ListPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<OrganisationRow>,
}

/// Every registered organisation, by name.
pub async fn list(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    staff(&visitor)?;
    let mut organisations = context.store.organisations().await?;
    organisations.sort_by(|a, b| a.details.name.cmp(&b.details.name));
    let rows = organisations
        .into_iter()
        .map(|organisation| OrganisationRow {
            id: organisation.id.0.to_string(),
            name: organisation.details.name,
            ods_code: organisation.details.ods_code.as_str().to_owned(),
            kind: organisation.details.kind.label(),
        })
        .collect();
    Ok(Html(ListPage { visitor: &visitor, rows }.render()?).into_response())
}

#[derive(Template)]
#[template(path = "staff_organisation.html")]
struct OrganisationPage<'a> {
    visitor: &'a Visitor,
    organisation: Organisation,
    kinds: [OrganisationKind; 4],
    /// The agreement team may change the kind.
    may_change_kind: bool,
    changed: bool,
    form: FormView,
}

fn parse_id(raw: &str) -> Result<OrganisationId, WebError> {
    uuid::Uuid::parse_str(raw.trim()).map(OrganisationId).map_err(|_| WebError::NotFound)
}

async fn organisation_page(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    raw_id: &str,
    changed: bool,
    form: FormView,
) -> Result<String, WebError> {
    let organisation = context.store.organisation(parse_id(raw_id)?).await?.ok_or(WebError::NotFound)?;
    let form = if form.has_errors() {
        form
    } else {
        FormView::new(FieldErrors::new(), [("kind", organisation.details.kind.as_str().to_owned())])
    };
    Ok(OrganisationPage {
        visitor,
        organisation,
        kinds: OrganisationKind::ALL,
        may_change_kind: user.has_staff_role(StaffRole::AgreementTeam),
        changed,
        form,
    }
    .render()?)
}

/// `?kind=changed` after the kind was changed.
#[derive(Debug, Deserialize)]
pub struct Notice {
    #[serde(default)]
    kind: Option<String>,
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(notice): Query<Notice>,
) -> Result<Response, WebError> {
    let user = staff(&visitor)?;
    let changed = notice.kind.as_deref() == Some("changed");
    Ok(Html(organisation_page(&context, &visitor, user, &id, changed, FormView::default()).await?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct KindForm {
    #[serde(default)]
    kind: String,
}

/// ORG-3: the agreement team changes the kind. A kind that does not fit the organisation's fields is refused
/// beside the field (422) and nothing changes; other staff are refused (403).
pub async fn set_kind(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(form): Form<KindForm>,
) -> Result<Response, WebError> {
    let user = staff(&visitor)?;
    let organisation = parse_id(&id)?;
    let mut errors = FieldErrors::new();
    match form.kind.parse::<OrganisationKind>() {
        Err(error) => errors.add("kind", capitalised(&error.to_string())),
        Ok(kind) => match organisations::set_kind(&context, user, organisation, kind).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/staff/organisations/{}?kind=changed", organisation.0)).into_response()
                );
            }
            Err(OrganisationError::Kind(
                rule @ (KindChangeError::CompanyNumberMissing | KindChangeError::CompanyNumberOnRecord(_)),
            )) => errors.add("kind", capitalised(&rule.to_string())),
            Err(other) => return Err(other.into()),
        },
    }
    let form = FormView::new(errors, [("kind", form.kind)]);
    let html = organisation_page(&context, &visitor, user, &id, false, form).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}
