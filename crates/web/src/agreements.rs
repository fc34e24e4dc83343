//! *My Connection Agreements* (CA-13), the agreement page (CA-14) and the actions on it: accept (CA-3),
//! raise a query (CA-6) and, for the agreement team, issue, pause, resume and reset.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::agreement::{Agreement, AgreementState, LedgerEntry, SignatureType, Substate, long_date};
use onramp_domain::case::{Case, Visibility};
use onramp_domain::{AgreementNumber, FieldErrors, StaffRole, User};
use onramp_service::lifecycle::{self, LifecycleServiceError};
use onramp_service::{AppContext, cases};
use serde::Deserialize;

use crate::WebError;
use crate::forms::FormView;
use crate::session::Visitor;

const PAGE_SIZE: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// "Clear all": show every state, Cancelled and Expired included.
    #[serde(default)]
    all: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    page: Option<usize>,
}

/// One row of the list, formatted for display.
pub struct Row {
    number: String,
    name: String,
    registration_number: String,
    account: String,
    products: String,
    case: String,
    state: &'static str,
    substate: &'static str,
    accepted_on: String,
    accepted_by: String,
    start_date: String,
    created: String,
}

impl Row {
    fn of(agreement: &Agreement) -> Self {
        let date = |d: Option<jiff::civil::Date>| d.map(long_date).unwrap_or_default();
        Self {
            number: agreement.number.to_string(),
            name: agreement.name.clone(),
            registration_number: agreement.registration_number.clone(),
            account: agreement.account.clone(),
            products: agreement.api_products.iter().map(|p| p.name()).collect::<Vec<_>>().join(", "),
            case: agreement.case_number.map(|c| c.to_string()).unwrap_or_default(),
            state: agreement.state.label(),
            substate: agreement.substate.map_or("", |s| s.label()),
            accepted_on: date(agreement.accepted_on),
            accepted_by: agreement.accepted_by.clone().unwrap_or_default(),
            start_date: date(agreement.start_date),
            created: agreement.created_at.strftime("%-d %B %Y %H:%M UTC").to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct ListPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<Row>,
    all: bool,
    sort: &'a str,
    sort_links: Vec<(&'static str, &'static str, bool)>,
    page: usize,
    pages: usize,
    total: usize,
}

/// The agreements a user may see: staff see every organisation's; a connecting party only their own.
async fn visible_agreements(context: &AppContext, user: &User) -> Result<Vec<Agreement>, WebError> {
    if user.is_staff() {
        return Ok(context.store.all_agreements().await?);
    }
    match &user.membership {
        Some(membership) => Ok(context.store.agreements_of(membership.organisation_id).await?),
        None => Ok(Vec::new()),
    }
}

pub async fn list(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let all = query.all.is_some();
    let mut agreements: Vec<Agreement> = visible_agreements(&context, user)
        .await?
        .into_iter()
        .filter(|a| {
            all || a.state == AgreementState::Active
                || (a.state == AgreementState::Draft && a.substate == Some(Substate::UnderReview))
        })
        .collect();
    let sort = match query.sort.as_deref() {
        Some("created") => "created",
        Some("state") => "state",
        Some("start_date") => "start_date",
        _ => "number",
    };
    match sort {
        "created" => agreements.sort_by_key(|a| std::cmp::Reverse(a.created_at)),
        "state" => agreements.sort_by_key(|a| (a.state.label(), std::cmp::Reverse(a.number))),
        "start_date" => agreements.sort_by_key(|a| std::cmp::Reverse(a.start_date)),
        _ => agreements.sort_by_key(|a| std::cmp::Reverse(a.number)),
    }
    let total = agreements.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.unwrap_or(1).clamp(1, pages);
    let rows = agreements.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).map(Row::of).collect();
    let sort_links = [("number", "Number"), ("created", "Created"), ("state", "State"), ("start_date", "Start Date")]
        .into_iter()
        .map(|(key, label)| (key, label, key == sort))
        .collect();
    let html = ListPage { visitor: &visitor, rows, all, sort, sort_links, page, pages, total }.render()?;
    Ok(Html(html).into_response())
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage<'a> {
    visitor: &'a Visitor,
    agreement: &'a Agreement,
    row: Row,
    next: String,
    ledger: Vec<LedgerLine>,
    case: Option<Case>,
    can_accept: bool,
    can_query: bool,
    staff: bool,
    paused: bool,
    form: FormView,
    original_version: String,
    superseded: String,
    contacts_notified: String,
}

pub struct LedgerLine {
    at: String,
    event: &'static str,
    actor: String,
    remaining: String,
}

impl LedgerLine {
    fn of(entry: &LedgerEntry) -> Self {
        let hours = entry.remaining.as_hours();
        Self {
            at: entry.at.strftime("%-d %B %Y %H:%M UTC").to_string(),
            event: entry.event.as_str(),
            actor: entry.actor.to_string(),
            remaining: format!("{} days {} hours", hours / 24, hours % 24),
        }
    }
}

/// The agreement if `user` may see it; someone else's is "not found", so its existence is not revealed.
async fn agreement_for(context: &AppContext, user: &User, number: &str) -> Result<Agreement, WebError> {
    let number = AgreementNumber::parse(number).map_err(|_| WebError::NotFound)?;
    let agreement = context.store.agreement_by_number(number).await?.ok_or(WebError::NotFound)?;
    let own = user.membership.as_ref().is_some_and(|m| m.organisation_id == agreement.organisation_id);
    if user.is_staff() || own { Ok(agreement) } else { Err(WebError::NotFound) }
}

async fn render_agreement(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    agreement: &Agreement,
    form: FormView,
) -> Result<String, WebError> {
    let now = context.clock.now();
    let ledger = context.store.ledger(agreement.id).await?.iter().map(LedgerLine::of).collect();
    let case = match agreement.case_number {
        Some(number) => cases::case_for(context, user, number).await.ok(),
        None => None,
    };
    let under_review = agreement.state == AgreementState::Draft && agreement.substate == Some(Substate::UnderReview);
    let contact = user
        .membership
        .as_ref()
        .is_some_and(|m| m.onboarding_contact && m.organisation_id == agreement.organisation_id);
    let before_deadline = agreement.review_deadline.is_some_and(|d| now < d);
    let page = AgreementPage {
        visitor,
        agreement,
        row: Row::of(agreement),
        next: agreement.what_happens_next(now),
        ledger,
        case,
        can_accept: under_review
            && contact
            && before_deadline
            && agreement.signature_type == SignatureType::AcceptedViaPortal,
        can_query: under_review && contact && agreement.signature_type == SignatureType::AutoAccepted,
        staff: user.has_staff_role(StaffRole::AgreementTeam),
        paused: matches!(agreement.review_timer, Some(onramp_domain::agreement::ReviewTimer::Paused { .. })),
        form,
        original_version: agreement.original_version.map(|n| n.to_string()).unwrap_or_else(|| "None".into()),
        superseded: agreement.superseded.map(|n| n.to_string()).unwrap_or_else(|| "None".into()),
        contacts_notified: agreement.contacts_notified.join(", "),
    };
    Ok(page.render()?)
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    let html = render_agreement(&context, &visitor, user, &agreement, FormView::default()).await?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    read_and_understood: Option<String>,
}

/// A refused action shows the agreement page again with the reason in the error summary.
async fn refused(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    agreement: &Agreement,
    field: &'static str,
    message: String,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    let html = render_agreement(context, visitor, user, agreement, FormView::new(errors, [])).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

fn outcome(result: Result<Agreement, LifecycleServiceError>) -> Result<Result<Agreement, String>, WebError> {
    match result {
        Ok(agreement) => Ok(Ok(agreement)),
        Err(LifecycleServiceError::Rule(rule)) => Ok(Err(rule.to_string())),
        Err(LifecycleServiceError::NotAgreementTeam) => Err(WebError::Forbidden),
        Err(LifecycleServiceError::NotFound(_)) => Err(WebError::NotFound),
        Err(LifecycleServiceError::Store(error)) => Err(error.into()),
        Err(other) => Err(WebError::Internal(Box::new(other))),
    }
}

pub async fn accept(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<AcceptForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    if form.read_and_understood.is_none() {
        let message = "Tick \"I have read and understood\" to accept the agreement".to_owned();
        return refused(&context, &visitor, user, &agreement, "read_and_understood", message).await;
    }
    match outcome(lifecycle::accept(&context, user, agreement.id).await)? {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{}", agreement.number)).into_response()),
        Err(message) => refused(&context, &visitor, user, &agreement, "read_and_understood", message).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct QueryForm {
    #[serde(default)]
    description: String,
}

pub async fn raise_query(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<QueryForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    match outcome(lifecycle::raise_query(&context, user, agreement.id, &form.description).await)? {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{}", agreement.number)).into_response()),
        Err(message) => refused(&context, &visitor, user, &agreement, "description", message).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    internal: Option<String>,
}

pub async fn comment(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    let case = agreement.case_number.ok_or(WebError::NotFound)?;
    let visibility = if form.internal.is_some() { Visibility::Internal } else { Visibility::Public };
    match cases::comment(&context, user, case, &form.body, visibility).await {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{}", agreement.number)).into_response()),
        Err(cases::CaseError::Store(error)) => Err(error.into()),
        Err(cases::CaseError::NotFound) => Err(WebError::NotFound),
        Err(cases::CaseError::ViewerReadOnly) => Err(WebError::Forbidden),
        Err(other) => refused(&context, &visitor, user, &agreement, "body", other.to_string()).await,
    }
}

/// The agreement team's actions on one agreement: issue, pause, resume, reset.
pub async fn staff_action(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path((number, action)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    if !user.has_staff_role(StaffRole::AgreementTeam) {
        return Err(if user.is_staff() { WebError::Forbidden } else { WebError::NotFound });
    }
    let result = match action.as_str() {
        "issue" => lifecycle::issue(&context, user, agreement.id).await,
        "pause" => lifecycle::pause(&context, user, agreement.id).await,
        "resume" => lifecycle::resume(&context, user, agreement.id).await,
        "reset" => lifecycle::reset(&context, user, agreement.id).await,
        _ => return Err(WebError::NotFound),
    };
    match outcome(result)? {
        Ok(_) => Ok(Redirect::to(&format!("/agreements/{}", agreement.number)).into_response()),
        Err(message) => refused(&context, &visitor, user, &agreement, "staff_action", message).await,
    }
}
