//! *My Connection Agreements* (CA-13), the agreement page (CA-14) and the actions on it: accept (CA-3),
//! raise a query (CA-6) and, for the agreement team, issue, pause, resume and reset.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::agreement::{
    Action, Agreement, AgreementState, LedgerEntry, ReviewTimer, SignatureType, Substate, TermsText, TimerKind,
    ledger_remaining, long_date, long_time, paused_remaining,
};
use onramp_domain::case::Case;
use onramp_domain::catalogue::ProductCatalogue;
use onramp_domain::{AgreementNumber, ApiProduct, FieldErrors, OrganisationId, StaffRole, User};
use onramp_service::lifecycle::{self, LifecycleServiceError};
use onramp_service::{AppContext, cases};
use serde::Deserialize;

use crate::WebError;
use crate::forms::{FormView, capitalised};
use crate::session::Visitor;

const PAGE_SIZE: usize = 20;

/// The list's query string. Every field is text, so a bad value is reported on the page rather than
/// refused by the extractor; [`Filters::parse`] checks them.
#[derive(Debug, Default, Clone, Deserialize, serde::Serialize)]
pub struct ListQuery {
    /// "Clear all": show every state, Cancelled and Expired included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    all: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sort: Option<String>,
    #[serde(default, skip_serializing)]
    page: Option<String>,
    #[serde(default, skip_serializing_if = "is_blank")]
    state: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    substate: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    signature: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    organisation: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    product: String,
    #[serde(default, skip_serializing_if = "is_blank")]
    days_left: String,
}

fn is_blank(value: &str) -> bool {
    value.trim().is_empty()
}

/// The staff filters of CA-13, parsed. `None` means "any".
#[derive(Debug, Default)]
struct Filters {
    state: Option<AgreementState>,
    substate: Option<Substate>,
    signature: Option<SignatureType>,
    organisation: Option<OrganisationId>,
    product: Option<ApiProduct>,
    /// At most this many days before the next deadline.
    days_left: Option<i64>,
}

/// Days-left filters beyond a year are almost certainly typing mistakes.
const MAX_DAYS_LEFT: i64 = 366;

impl Filters {
    fn parse(query: &ListQuery, products: &ProductCatalogue) -> Result<Self, FieldErrors> {
        fn pick<T: Copy>(
            errors: &mut FieldErrors,
            field: &'static str,
            raw: &str,
            all: &[T],
            name: impl Fn(T) -> &'static str,
            what: &str,
        ) -> Option<T> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            let found = all.iter().copied().find(|value| name(*value) == raw);
            if found.is_none() {
                errors.add(field, format!("Choose a {what} from the list"));
            }
            found
        }
        let mut errors = FieldErrors::new();
        let filters = Self {
            state: pick(&mut errors, "state", &query.state, AgreementState::ALL, AgreementState::as_str, "state"),
            substate: pick(&mut errors, "substate", &query.substate, Substate::ALL, Substate::as_str, "substate"),
            signature: pick(
                &mut errors,
                "signature",
                &query.signature,
                SignatureType::ALL,
                SignatureType::as_str,
                "signature type",
            ),
            organisation: match query.organisation.trim() {
                "" => None,
                raw => match uuid::Uuid::parse_str(raw) {
                    Ok(id) => Some(OrganisationId(id)),
                    Err(_) => {
                        errors.add("organisation", "Choose an organisation from the list");
                        None
                    }
                },
            },
            product: match query.product.trim() {
                "" => None,
                raw => {
                    let known = products.products().iter().find(|product| product.slug.slug() == raw);
                    if known.is_none() {
                        errors.add("product", "Choose an API product from the list");
                    }
                    known.map(|product| product.slug.clone())
                }
            },
            days_left: match query.days_left.trim() {
                "" => None,
                raw => match raw.parse::<i64>() {
                    Ok(days) if (0..=MAX_DAYS_LEFT).contains(&days) => Some(days),
                    _ => {
                        errors.add(
                            "days_left",
                            format!("Days left must be a whole number from 0 to {MAX_DAYS_LEFT}, for example 14"),
                        );
                        None
                    }
                },
            },
        };
        if errors.is_empty() { Ok(filters) } else { Err(errors) }
    }

    fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.substate.is_none()
            && self.signature.is_none()
            && self.organisation.is_none()
            && self.product.is_none()
            && self.days_left.is_none()
    }

    fn keeps(&self, agreement: &Agreement, now: jiff::Timestamp) -> bool {
        self.state.is_none_or(|state| agreement.state == state)
            && self.substate.is_none_or(|substate| agreement.substate == Some(substate))
            && self.signature.is_none_or(|signature| agreement.signature_type == signature)
            && self.organisation.is_none_or(|id| agreement.organisation_id == id)
            && self.product.as_ref().is_none_or(|product| agreement.api_products.contains(product))
            && self.days_left.is_none_or(|days| agreement.days_left(now).is_some_and(|left| left <= days))
    }
}

/// CA-13's default: what a connecting party cares about day to day.
fn in_default_states(agreement: &Agreement) -> bool {
    agreement.state == AgreementState::Active
        || (agreement.state == AgreementState::Draft && agreement.substate == Some(Substate::UnderReview))
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
    /// The colour of the state's tag: Active green, Draft blue, Cancelled red, Expired grey.
    state_tag: &'static str,
    substate: &'static str,
    accepted_on: String,
    accepted_by: String,
    start_date: String,
    end_date: String,
    created: String,
    /// SPEC §4: when acceptance stops being possible (or the draft auto-accepts), in London time; while the
    /// 30-day timer is paused, the time it keeps.
    review_deadline: String,
    days_left: String,
}

impl Row {
    fn of(agreement: &Agreement, now: jiff::Timestamp, products: &ProductCatalogue) -> Self {
        let date = |d: Option<jiff::civil::Date>| d.map(long_date).unwrap_or_default();
        Self {
            number: agreement.number.to_string(),
            name: agreement.name.clone(),
            registration_number: agreement.registration_number.clone(),
            account: agreement.account.clone(),
            products: products.names(&agreement.api_products),
            case: agreement.case_number.map(|c| c.to_string()).unwrap_or_default(),
            state: agreement.state.label(),
            state_tag: state_tag(agreement.state),
            substate: agreement.substate.map_or("", |s| s.label()),
            accepted_on: date(agreement.accepted_on),
            accepted_by: agreement.accepted_by.clone().unwrap_or_default(),
            start_date: date(agreement.start_date),
            end_date: date(agreement.end_date),
            created: long_time(agreement.created_at),
            review_deadline: match (agreement.review_deadline, agreement.review_timer) {
                (Some(deadline), _) => long_time(deadline),
                (None, Some(ReviewTimer::Paused { since, remaining })) => {
                    format!("None while paused ({} remain)", paused_remaining(since, remaining))
                }
                (None, _) => String::new(),
            },
            days_left: agreement.days_left(now).map(|days| days.to_string()).unwrap_or_default(),
        }
    }
}

/// The NHS.UK tag colour of an agreement's state, the same in every list and page.
pub fn state_tag(state: AgreementState) -> &'static str {
    match state {
        AgreementState::Active => "nhsuk-tag--green",
        AgreementState::Draft => "nhsuk-tag--blue",
        AgreementState::Cancelled => "nhsuk-tag--red",
        AgreementState::Expired => "nhsuk-tag--grey",
    }
}

/// The NHS.UK tag colour of a case's state: open work blue, waiting on the organisation yellow, answered
/// green, closed grey.
pub fn case_tag(state: onramp_domain::case::CaseState) -> &'static str {
    use onramp_domain::case::CaseState;
    match state {
        CaseState::Open => "nhsuk-tag--blue",
        CaseState::AwaitingInfo => "nhsuk-tag--yellow",
        CaseState::Resolved => "nhsuk-tag--green",
        CaseState::Closed => "nhsuk-tag--grey",
    }
}

#[derive(Template)]
#[template(path = "agreements.html")]
struct ListPage<'a> {
    visitor: &'a Visitor,
    staff: bool,
    rows: Vec<Row>,
    all: bool,
    filtered: bool,
    sort: &'a str,
    sort_links: Vec<(&'static str, &'static str, bool)>,
    page: usize,
    pages: usize,
    total: usize,
    /// The current filters and "all", as a query string for the sort and page links.
    carried: String,
    form: FormView,
    selects: Vec<FilterSelect>,
}

/// The choices of the staff filters, as (value, label).
fn options<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
) -> Vec<(String, String)> {
    all.iter().map(|item| (value(*item).to_owned(), label(*item).to_owned())).collect()
}

/// One select box of the staff filters: (field, label, choices as (value, label)).
type FilterSelect = (&'static str, &'static str, Vec<(String, String)>);

/// The select boxes of the staff filters.
fn filter_selects(organisations: Vec<(String, String)>, products: &ProductCatalogue) -> Vec<FilterSelect> {
    let products = products
        .products()
        .iter()
        .map(|product| {
            let label =
                if product.offered { product.name.clone() } else { format!("{} (no longer offered)", product.name) };
            (product.slug.to_string(), label)
        })
        .collect();
    vec![
        ("state", "State", options(AgreementState::ALL, AgreementState::as_str, AgreementState::label)),
        ("substate", "Substate", options(Substate::ALL, Substate::as_str, Substate::label)),
        ("signature", "Signature type", options(SignatureType::ALL, SignatureType::as_str, SignatureType::label)),
        ("organisation", "Organisation", organisations),
        ("product", "API product", products),
    ]
}

/// The agreements a user may see: staff see every organisation's; a connecting party only their own.
pub(crate) async fn visible_agreements(context: &AppContext, user: &User) -> Result<Vec<Agreement>, WebError> {
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
    let staff = user.is_staff();
    let now = context.clock.now();
    // A connecting party's list has no filters: only "Clear all" and sorting.
    let (filters, errors) = match staff.then(|| Filters::parse(&query, &context.products)) {
        Some(Ok(filters)) => (filters, FieldErrors::new()),
        Some(Err(errors)) => (Filters::default(), errors),
        None => (Filters::default(), FieldErrors::new()),
    };
    let form = FormView::new(
        errors,
        [
            ("state", query.state.clone()),
            ("substate", query.substate.clone()),
            ("signature", query.signature.clone()),
            ("organisation", query.organisation.clone()),
            ("product", query.product.clone()),
            ("days_left", query.days_left.clone()),
        ],
    );
    // Staff searching by any filter search every state; the default view is CA-13's.
    let all = query.all.is_some() || !filters.is_empty();
    let mut agreements: Vec<Agreement> = visible_agreements(&context, user)
        .await?
        .into_iter()
        .filter(|a| (all || in_default_states(a)) && filters.keeps(a, now))
        .collect();
    let sort = match query.sort.as_deref() {
        Some("created") => "created",
        Some("state") => "state",
        Some("start_date") => "start_date",
        Some("days_left") if staff => "days_left",
        _ => "number",
    };
    match sort {
        "created" => agreements.sort_by_key(|a| std::cmp::Reverse(a.created_at)),
        "state" => agreements.sort_by_key(|a| (a.state.label(), std::cmp::Reverse(a.number))),
        "start_date" => agreements.sort_by_key(|a| std::cmp::Reverse(a.start_date)),
        "days_left" => agreements.sort_by_key(|a| (a.days_left(now).unwrap_or(i64::MAX), a.number)),
        _ => agreements.sort_by_key(|a| std::cmp::Reverse(a.number)),
    }
    let total = agreements.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.as_deref().and_then(|p| p.trim().parse::<usize>().ok()).unwrap_or(1).clamp(1, pages);
    let rows = agreements
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|a| Row::of(a, now, &context.products))
        .collect();
    let mut keys = vec![("number", "Number"), ("created", "Created"), ("state", "State"), ("start_date", "Start Date")];
    if staff {
        keys.push(("days_left", "Days left"));
    }
    let sort_links = keys.into_iter().map(|(key, label)| (key, label, key == sort)).collect();
    let carried =
        serde_urlencoded::to_string(ListQuery { sort: None, page: None, ..query.clone() }).unwrap_or_default();
    let selects = if staff {
        let mut organisations: Vec<(String, String)> =
            context.store.organisations().await?.into_iter().map(|o| (o.id.0.to_string(), o.details.name)).collect();
        organisations.sort_by(|a, b| a.1.cmp(&b.1));
        filter_selects(organisations, &context.products)
    } else {
        Vec::new()
    };
    let page_view = ListPage {
        visitor: &visitor,
        staff,
        rows,
        all,
        filtered: !filters.is_empty(),
        sort,
        sort_links,
        page,
        pages,
        total,
        carried,
        form,
        selects,
    };
    let status = if page_view.form.has_errors() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, Html(page_view.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "agreement.html")]
struct AgreementPage<'a> {
    visitor: &'a Visitor,
    agreement: &'a Agreement,
    /// What the action just taken did, said once after it.
    done: Option<String>,
    row: Row,
    next: String,
    ledger: Vec<LedgerLine>,
    case: Option<Case>,
    /// What the state machine accepts from this user now (`lifecycle::allowed_actions`); each button is one.
    actions: Vec<Action>,
    /// The terms the page shows, sent back with an acceptance (TC-3).
    terms: TermsText,
    staff: bool,
    form: FormView,
    original_version: String,
    superseded: String,
    contacts_notified: String,
    /// DOS-6: the application it was created from (its page and product name) and the SHA-256 of the approved
    /// answers.
    source: Option<(String, String, String)>,
}

impl AgreementPage<'_> {
    fn can(&self, action: Action) -> bool {
        self.actions.contains(&action)
    }

    fn has_team_actions(&self) -> bool {
        self.actions.iter().any(|action| action.is_agreement_team())
    }
}

pub struct LedgerLine {
    at: String,
    timer: &'static str,
    event: &'static str,
    actor: String,
    remaining: String,
}

impl LedgerLine {
    fn of(entry: &LedgerEntry) -> Self {
        Self {
            at: long_time(entry.at),
            timer: match entry.timer {
                TimerKind::ReviewDeadline => "90-day acceptance period",
                TimerKind::AutoAccept => "30-day auto-accept",
                TimerKind::Termination => "Termination",
                TimerKind::Reminder { .. } => "Reminder",
            },
            event: entry.event.as_str(),
            actor: entry.actor.to_string(),
            // London days and hours, counted as the page's "days left" counts them.
            remaining: ledger_remaining(entry),
        }
    }
}

/// The agreement if `user` may see it; someone else's is "not found", so its existence is not revealed.
pub(crate) async fn agreement_for(context: &AppContext, user: &User, number: &str) -> Result<Agreement, WebError> {
    let number = AgreementNumber::parse(number).map_err(|_| WebError::NotFound)?;
    let agreement = context.store.agreement_by_number(number).await?.ok_or(WebError::NotFound)?;
    let own = user.membership.as_ref().is_some_and(|m| m.organisation_id == agreement.organisation_id);
    if user.is_staff() || own { Ok(agreement) } else { Err(WebError::NotFound) }
}

/// What an action on an agreement did, named in the address its form redirects to (`?done=accepted`), so the
/// page it lands on can say so once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Created,
    Issued,
    Accepted,
    Query,
    Paused,
    Resumed,
    Reset,
    Terminated,
}

impl Done {
    fn message(self, context: &AppContext) -> String {
        let days = context.config.agreements.acceptance_days;
        match self {
            Self::Created => "The contract is created as Draft / Awaiting Review. Check it, then issue it: nobody \
                              outside the agreement team sees it before then."
                .to_owned(),
            Self::Issued => format!(
                "The agreement is issued. The organisation's onboarding contacts are emailed and have {days} days \
                 to accept it."
            ),
            Self::Accepted => "You accepted the agreement. Its state and dates are below, and the onboarding \
                               contacts are emailed to say so."
                .to_owned(),
            Self::Query => {
                "Your query is sent to the agreement team as a case; follow it from the case below.".to_owned()
            }
            Self::Paused => "The timer is paused: the agreement will not auto-accept until it is resumed.".to_owned(),
            Self::Resumed => "The timer is running again.".to_owned(),
            Self::Reset => "The review period starts again from today.".to_owned(),
            Self::Terminated => {
                "The termination is recorded; the details below show when the agreement ends.".to_owned()
            }
        }
    }

    const ALL: [Self; 8] = [
        Self::Created,
        Self::Issued,
        Self::Accepted,
        Self::Query,
        Self::Paused,
        Self::Resumed,
        Self::Reset,
        Self::Terminated,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Issued => "issued",
            Self::Accepted => "accepted",
            Self::Query => "query",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
            Self::Reset => "reset",
            Self::Terminated => "terminated",
        }
    }

    /// The agreement's page, saying that this was done.
    pub fn location(self, agreement: &Agreement) -> String {
        format!("/agreements/{}?done={}", agreement.number, self.as_str())
    }
}

/// `?done=…` on an agreement's page; anything else in it is ignored.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn render_agreement(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    agreement: &Agreement,
    form: FormView,
    done: Option<Done>,
) -> Result<String, WebError> {
    let now = context.clock.now();
    let ledger = context.store.ledger(agreement.id).await?.iter().map(LedgerLine::of).collect();
    let case = match agreement.case_number {
        Some(number) => match cases::case_for(context, user, number).await {
            Ok(case) => Some(case),
            Err(cases::CaseError::NotFound) => None,
            Err(other) => return Err(other.into()),
        },
        None => None,
    };
    let actions = lifecycle::allowed_actions(context, user, agreement).await?;
    let terms = lifecycle::terms_shown(context, agreement)?;
    let page = AgreementPage {
        visitor,
        agreement,
        done: done.map(|event| event.message(context)),
        row: Row::of(agreement, now, &context.products),
        next: agreement.what_happens_next(now),
        ledger,
        case,
        actions,
        terms,
        staff: user.has_staff_role(StaffRole::AgreementTeam),
        form,
        original_version: agreement.original_version.map(|n| n.to_string()).unwrap_or_else(|| "None".into()),
        superseded: agreement.superseded.map(|n| n.to_string()).unwrap_or_else(|| "None".into()),
        contacts_notified: agreement.contacts_notified.join(", "),
        source: match context.store.agreement_source(agreement.id).await? {
            Some(source) => {
                let application = context.store.application(source.application_id).await?;
                let name = application.map_or_else(|| "The application".to_owned(), |a| a.product_name);
                Some((format!("/applications/{}", source.application_id.0), name, source.answers_sha256))
            }
            None => None,
        },
    };
    Ok(page.render()?)
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    let done = query.done.and_then(|done| Done::ALL.into_iter().find(|d| d.as_str() == done));
    let html = render_agreement(&context, &visitor, user, &agreement, FormView::default(), done).await?;
    Ok(Html(html).into_response())
}

/// The value the acceptance checkbox sends when ticked; anything else is not a tick.
const TICKED: &str = "yes";

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    read_and_understood: Option<String>,
    /// The terms version and text hash the page showed (TC-3).
    #[serde(default)]
    terms_version: String,
    #[serde(default)]
    terms_sha256: String,
}

/// A refused action shows the agreement page again with the reason in the error summary and what was typed.
pub(crate) async fn refused(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    agreement: &Agreement,
    field: &'static str,
    message: String,
    typed: impl IntoIterator<Item = (&'static str, String)>,
) -> Result<Response, WebError> {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    let html = render_agreement(context, visitor, user, agreement, FormView::new(errors, typed), None).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

pub(crate) fn outcome(result: Result<Agreement, LifecycleServiceError>) -> Result<Result<Agreement, String>, WebError> {
    match result {
        Ok(agreement) => Ok(Ok(agreement)),
        Err(LifecycleServiceError::Rule(rule)) => Ok(Err(capitalised(&rule.to_string()))),
        Err(other) => Err(other.into()),
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
    if form.read_and_understood.as_deref() != Some(TICKED) {
        let message = "Tick \"I have read and understood\" to accept the agreement".to_owned();
        return refused(&context, &visitor, user, &agreement, "read_and_understood", message, []).await;
    }
    // A form without the terms it showed (or with a garbled version) cannot be matched to any text: the
    // machine refuses it as terms that changed.
    let shown = TermsText { version: form.terms_version.trim().parse().unwrap_or(0), sha256: form.terms_sha256 };
    match outcome(lifecycle::accept(&context, user, agreement.id, shown).await)? {
        Ok(_) => Ok(Redirect::to(&Done::Accepted.location(&agreement)).into_response()),
        Err(message) => refused(&context, &visitor, user, &agreement, "read_and_understood", message, []).await,
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
        Ok(_) => Ok(Redirect::to(&Done::Query.location(&agreement)).into_response()),
        Err(message) => {
            refused(&context, &visitor, user, &agreement, "description", message, [("description", form.description)])
                .await
        }
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
    let (result, done) = match action.as_str() {
        "issue" => (lifecycle::issue(&context, user, agreement.id).await, Done::Issued),
        "pause" => (lifecycle::pause(&context, user, agreement.id).await, Done::Paused),
        "resume" => (lifecycle::resume(&context, user, agreement.id).await, Done::Resumed),
        "reset" => (lifecycle::reset(&context, user, agreement.id).await, Done::Reset),
        _ => return Err(WebError::NotFound),
    };
    match outcome(result)? {
        Ok(_) => Ok(Redirect::to(&done.location(&agreement)).into_response()),
        Err(message) => refused(&context, &visitor, user, &agreement, "staff_action", message, []).await,
    }
}
