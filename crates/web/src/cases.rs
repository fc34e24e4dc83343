//! Case pages (CASE-1, CASE-2): the list of cases a user may see, one case with its activity, replies and
//! (for staff) internal notes, and the watch list of extra addresses.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::agreement::long_time;
use onramp_domain::case::{Case, CaseActions, CaseRuleError, CaseState, Visibility};
use onramp_domain::{CaseNumber, FieldErrors, User};
use onramp_service::{AppContext, cases};
use serde::Deserialize;

use crate::WebError;
use crate::agreements::{case_tag, visible_agreements};
use crate::forms::{FormView, capitalised};
use crate::session::Visitor;

/// One line of the case list.
pub struct CaseRow {
    number: String,
    agreement: String,
    name: String,
    state: &'static str,
    state_tag: &'static str,
    subject: String,
    last_activity: String,
}

#[derive(Template)]
#[template(path = "cases.html")]
struct CasesPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<CaseRow>,
}

/// Every case the user may see, newest first: staff see all, a connecting party their organisation's.
pub async fn list(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let mut rows = Vec::new();
    for agreement in visible_agreements(&context, user).await? {
        let Some(number) = agreement.case_number else { continue };
        let case = match cases::case_for(&context, user, number).await {
            Ok(case) => case,
            Err(cases::CaseError::NotFound) => continue,
            Err(error) => return Err(error.into()),
        };
        rows.push(CaseRow {
            number: case.number.to_string(),
            agreement: agreement.number.to_string(),
            name: agreement.name.clone(),
            state: case.state.label(),
            state_tag: case_tag(case.state),
            subject: case.subject.clone(),
            last_activity: case.activity.last().map(|a| long_time(a.at)).unwrap_or_default(),
        });
    }
    rows.sort_by(|a, b| b.number.cmp(&a.number));
    Ok(Html(CasesPage { visitor: &visitor, rows }.render()?).into_response())
}

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage<'a> {
    visitor: &'a Visitor,
    case: &'a Case,
    agreement: String,
    /// What `case::decide` accepts from this user (its dry run); each form is one.
    actions: CaseActions,
    /// Why this user cannot reply, when they cannot: the rule in words.
    read_only: Option<String>,
    form: FormView,
    /// What the last action did (`?done=…` on the redirect back to the case).
    done: Option<&'static str>,
}

/// What the case page says after an action, read from `?done=…`.
#[derive(Debug, Default, Deserialize)]
pub struct CaseDone {
    #[serde(default)]
    done: Option<String>,
}

impl CaseDone {
    fn text(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "reply" => "Your reply was added. The other side and the watch list have been told.",
            "note" => "Your internal note was added. The connecting party does not see it.",
            "watch" => "The address was added to the watch list. It is told of every reply from now on.",
            "state" => "The case's state was changed.",
            _ => return None,
        })
    }
}

fn case_done(number: CaseNumber, done: &str) -> Response {
    Redirect::to(&format!("/cases/{number}?done={done}")).into_response()
}

fn parse_number(raw: &str) -> Result<CaseNumber, WebError> {
    CaseNumber::parse(raw).map_err(|_| WebError::NotFound)
}

async fn render_case(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    number: CaseNumber,
    form: FormView,
    done: Option<&'static str>,
) -> Result<String, WebError> {
    let case = cases::case_for(context, user, number).await?;
    let agreement = context.store.agreement(case.agreement_id).await?.map(|a| a.number.to_string()).unwrap_or_default();
    let actions = onramp_domain::case::allowed(&case, user);
    let reply = onramp_domain::case::CaseCommand::Comment {
        body: "a reply".into(),
        visibility: onramp_domain::case::Visibility::Public,
    };
    let read_only = onramp_domain::case::decide(&case, user, reply)
        .err()
        .map(|rule| crate::forms::capitalised(&format!("{rule}.")));
    let page = CasePage { visitor, case: &case, agreement, actions, read_only, form, done };
    Ok(page.render()?)
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Query(done): Query<CaseDone>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let number = parse_number(&number)?;
    let html = render_case(&context, &visitor, user, number, FormView::default(), done.text()).await?;
    Ok(Html(html).into_response())
}

/// Shows the case again with the problem in the error summary and what the user typed.
async fn refused(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    number: CaseNumber,
    errors: FieldErrors,
    typed: [(&'static str, String); 1],
) -> Result<Response, WebError> {
    let html = render_case(context, visitor, user, number, FormView::new(errors, typed), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    internal: Option<String>,
}

/// A reply from either side, or a staff internal note (CASE-1); the other side and the watch list are told.
pub async fn comment(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let number = parse_number(&number)?;
    let visibility = if form.internal.is_some() { Visibility::Internal } else { Visibility::Public };
    match cases::comment(&context, user, number, &form.body, visibility).await {
        Ok(_) => Ok(case_done(number, if visibility == Visibility::Internal { "note" } else { "reply" })),
        Err(cases::CaseError::Rule(error @ (CaseRuleError::Empty | CaseRuleError::TooLong))) => {
            let mut errors = FieldErrors::new();
            errors.add("body", capitalised(&error.to_string()));
            refused(&context, &visitor, user, number, errors, [("body", form.body)]).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct WatchForm {
    #[serde(default)]
    email: String,
}

/// Adds an extra e-mail address to the case's watch list.
pub async fn watch(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<WatchForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let number = parse_number(&number)?;
    match cases::watch(&context, user, number, &form.email).await {
        Ok(_) => Ok(case_done(number, "watch")),
        Err(cases::CaseError::Email(error)) => {
            let mut errors = FieldErrors::new();
            errors.add("email", capitalised(&error.to_string()));
            refused(&context, &visitor, user, number, errors, [("email", form.email)]).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
}

/// Staff move the case to another state (CASE-1).
pub async fn set_state(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<StateForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let number = parse_number(&number)?;
    // A case of another organisation is "not found"; the connecting party may read its own but not move it.
    let case = cases::case_for(&context, user, number).await?;
    if !onramp_domain::case::allowed(&case, user).change_state {
        return Err(WebError::Forbidden);
    }
    let Ok(state) = form.state.parse::<CaseState>() else {
        let mut errors = FieldErrors::new();
        errors.add("state", "Choose a state from the list");
        return refused(&context, &visitor, user, number, errors, [("state", form.state)]).await;
    };
    match cases::set_state(&context, user, number, state).await {
        Ok(_) => Ok(case_done(number, "state")),
        Err(other) => Err(other.into()),
    }
}
