//! The agreement team's pages: create a new contract (CA-2), terminate an Active agreement on an end date
//! (CA-8), publish a terms version after a preview and a confirmation (CA-5), and move demo time.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::SignedDuration;
use onramp_domain::agreement::machine::require_api_products;
use onramp_domain::agreement::{Origin, long_date, long_time};
use onramp_domain::terms::TermsVersion;
use onramp_domain::{ApiProduct, FieldErrors, OrganisationId, StaffRole, User};
use onramp_service::lifecycle;
use onramp_service::{AppContext, demo};
use serde::Deserialize;

use crate::WebError;
use crate::agreements::{self, agreement_for, outcome};
use crate::forms::{FormView, capitalised};
use crate::session::Visitor;

/// The signed-in agreement-team member. Other staff are refused (403); a connecting party is told the page
/// does not exist (404), as for anything else that is not theirs.
fn agreement_team(visitor: &Visitor) -> Result<&User, WebError> {
    let user = visitor.require_user()?;
    if user.has_staff_role(StaffRole::AgreementTeam) {
        Ok(user)
    } else if user.is_staff() {
        Err(WebError::Forbidden)
    } else {
        Err(WebError::NotFound)
    }
}

#[derive(Template)]
#[template(path = "staff_new_agreement.html")]
struct NewAgreementPage<'a> {
    visitor: &'a Visitor,
    form: FormView,
    organisations: Vec<(String, String)>,
    products: Vec<(String, String, bool)>,
    /// The chosen organisation's pending draft, which the new contract cancels: its number and whether its
    /// contacts were already asked to accept it.
    draft: Option<(String, bool)>,
}

async fn new_agreement_page(
    context: &AppContext,
    visitor: &Visitor,
    form: FormView,
    chosen: &[ApiProduct],
    draft: Option<&onramp_domain::agreement::Agreement>,
) -> Result<String, WebError> {
    let mut organisations: Vec<(String, String)> = context
        .store
        .organisations()
        .await?
        .into_iter()
        .map(|o| (o.id.0.to_string(), format!("{} ({})", o.details.name, o.details.ods_code)))
        .collect();
    organisations.sort_by(|a, b| a.1.cmp(&b.1));
    let products = context
        .products
        .offered()
        .map(|product| (product.slug.to_string(), product.name.clone(), chosen.contains(&product.slug)))
        .collect();
    let draft =
        draft.map(|d| (d.number.to_string(), d.substate == Some(onramp_domain::agreement::Substate::UnderReview)));
    Ok(NewAgreementPage { visitor, form, organisations, products, draft }.render()?)
}

pub async fn new_agreement(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    agreement_team(&visitor)?;
    let html = new_agreement_page(&context, &visitor, FormView::default(), &[], None).await?;
    Ok(Html(html).into_response())
}

/// Creates a new contract in Awaiting Review; the team issues it from its page. The form is read as pairs
/// because each ticked product arrives as its own `product` field.
pub async fn create_agreement(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let user = agreement_team(&visitor)?;
    let value = |field: &str| fields.iter().find(|(name, _)| name == field).map_or("", |(_, v)| v.as_str());
    let organisation_field = value("organisation");
    let mut errors = FieldErrors::new();
    // Errors are added in the order of the fields, so the summary reads like the form.
    let organisation = match uuid::Uuid::parse_str(organisation_field.trim()) {
        Ok(id) => context.store.organisation(OrganisationId(id)).await?,
        Err(_) => None,
    };
    if organisation.is_none() {
        errors.add("organisation", "Choose the organisation the agreement is for");
    }
    let mut products = Vec::new();
    for (_, slug) in fields.iter().filter(|(name, _)| name == "product") {
        let offered = ApiProduct::parse(slug).ok().filter(|p| context.products.get(p).is_some_and(|p| p.offered));
        match offered {
            Some(product) if !products.contains(&product) => products.push(product),
            Some(_) => {}
            None => errors.add("product", "Choose API products from the list"),
        }
    }
    if let (Err(rule), false) = (require_api_products(&products), errors.for_field("product").is_some()) {
        errors.add("product", capitalised(&rule.to_string()));
    }
    // CA-2: a new contract replaces the organisation's pending draft; that is said, and confirmed, first.
    let draft = match &organisation {
        Some(organisation) => pending_draft(&context, organisation.id).await?,
        None => None,
    };
    if let Some(draft) = &draft
        && value("replace_draft") != "yes"
    {
        errors.add("replace_draft", format!("Tick to confirm that {} is cancelled", draft.number));
    }
    if let (Some(organisation), true) = (&organisation, errors.is_empty()) {
        match outcome(lifecycle::create(&context, user, organisation.id, products.clone(), Origin::NewContract).await)?
        {
            Ok(agreement) => return Ok(Redirect::to(&agreements::Done::Created.location(&agreement)).into_response()),
            Err(message) => errors.add("organisation", message),
        }
    }
    let form = FormView::new(errors, [("organisation", organisation_field.to_owned())]);
    let html = new_agreement_page(&context, &visitor, form, &products, draft.as_ref()).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

/// The organisation's Draft agreement, which a new contract would cancel.
async fn pending_draft(
    context: &AppContext,
    organisation: OrganisationId,
) -> Result<Option<onramp_domain::agreement::Agreement>, WebError> {
    let agreements = context.store.agreements_of(organisation).await?;
    Ok(agreements.into_iter().find(|a| a.state == onramp_domain::agreement::AgreementState::Draft))
}

#[derive(Debug, Deserialize)]
pub struct TerminateForm {
    #[serde(default)]
    end_date: String,
}

/// CA-8: ends an Active agreement on an agreed date (today or later).
pub async fn terminate(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(number): Path<String>,
    Form(form): Form<TerminateForm>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = agreement_for(&context, user, &number).await?;
    let user = agreement_team(&visitor)?;
    let typed = [("end_date", form.end_date.clone())];
    let Ok(end_date) = form.end_date.trim().parse::<jiff::civil::Date>() else {
        let message = "Enter the end date as year-month-day, for example 2027-03-31".to_owned();
        return agreements::refused(&context, &visitor, user, &agreement, "end_date", message, typed).await;
    };
    match outcome(lifecycle::terminate(&context, user, agreement.organisation_id, end_date).await)? {
        Ok(_) => Ok(Redirect::to(&agreements::Done::Terminated.location(&agreement)).into_response()),
        Err(message) => agreements::refused(&context, &visitor, user, &agreement, "end_date", message, typed).await,
    }
}

/// One terms version as the terms page lists it.
pub struct VersionRow {
    version: u32,
    title: String,
    medium: &'static str,
    published: String,
    /// Newer than the current version: it can be previewed and published.
    publishable: bool,
}

#[derive(Template)]
#[template(path = "staff_terms.html")]
struct TermsPage<'a> {
    visitor: &'a Visitor,
    current: u32,
    versions: Vec<VersionRow>,
    /// What the publication just made said, once, after it.
    published: Option<String>,
}

/// Where a publication sends the team: the list, with what was done.
#[derive(Debug, Default, Deserialize)]
pub struct PublishedNotice {
    published: Option<u32>,
    uplifted: Option<usize>,
}

/// When each version was published through Onramp, as a date for the page.
async fn publication_dates(context: &AppContext) -> Result<Vec<(u32, String)>, WebError> {
    Ok(context
        .store
        .publications()
        .await?
        .into_iter()
        .map(|p| (p.version, long_date(onramp_domain::calendar::date_of(p.published_at))))
        .collect())
}

pub async fn terms(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(notice): Query<PublishedNotice>,
) -> Result<Response, WebError> {
    agreement_team(&visitor)?;
    let current = lifecycle::current_terms_version(&context).await?;
    let published = publication_dates(&context).await?;
    let versions = context
        .terms
        .versions()
        .rev()
        .map(|terms| VersionRow {
            version: terms.version,
            title: terms.title.clone(),
            medium: match terms.medium {
                onramp_domain::terms::Medium::Paper => "Paper",
                onramp_domain::terms::Medium::Digital => "Digital",
            },
            published: published
                .iter()
                .find(|(version, _)| *version == terms.version)
                .map(|(_, date)| {
                    let status = if terms.version == current { "In force" } else { "Superseded" };
                    format!("{status}: published through Onramp on {date}")
                })
                .unwrap_or_else(|| match terms.version.cmp(&current) {
                    std::cmp::Ordering::Equal => "In force".to_owned(),
                    std::cmp::Ordering::Less => "Superseded".to_owned(),
                    std::cmp::Ordering::Greater => "Not published".to_owned(),
                }),
            publishable: terms.version > current,
        })
        .collect();
    let published = notice.published.filter(|version| *version == current).map(|version| {
        let uplifted = notice.uplifted.unwrap_or(0);
        format!(
            "Version {version} is published and in force. {} issued a new agreement on it, which auto-accepts after \
             30 days unless it is paused.",
            count(uplifted, "organisation was", "organisations were")
        )
    });
    Ok(Html(TermsPage { visitor: &visitor, current, versions, published }.render()?).into_response())
}

#[derive(Template)]
#[template(path = "staff_terms_preview.html")]
struct PreviewPage<'a> {
    visitor: &'a Visitor,
    terms: &'a TermsVersion,
    current: u32,
    organisations: Vec<String>,
    activates_on: String,
    publishable: bool,
    form: FormView,
}

async fn render_preview(
    context: &AppContext,
    visitor: &Visitor,
    version: &str,
    form: FormView,
) -> Result<(u32, String), WebError> {
    let version: u32 = version.parse().map_err(|_| WebError::NotFound)?;
    let terms = context.terms.get(version).ok_or(WebError::NotFound)?;
    let current = lifecycle::current_terms_version(context).await?;
    let preview = lifecycle::uplift_preview(context, version).await?;
    let page = PreviewPage {
        visitor,
        terms,
        current,
        organisations: preview.organisations.into_iter().map(|(_, name)| name).collect(),
        activates_on: long_date(preview.activates_on),
        publishable: version > current,
        form,
    };
    Ok((version, page.render()?))
}

/// CA-5, step one: who would get a new agreement and when it would auto-accept.
pub async fn preview_terms(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(version): Path<String>,
) -> Result<Response, WebError> {
    agreement_team(&visitor)?;
    let (_, html) = render_preview(&context, &visitor, &version, FormView::default()).await?;
    Ok(Html(html).into_response())
}

#[derive(Debug, Deserialize)]
pub struct PublishForm {
    #[serde(default)]
    confirm: Option<String>,
}

/// CA-5, step two: publishing needs the confirmation box ticked on the preview page.
pub async fn publish_terms(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(version): Path<String>,
    Form(form): Form<PublishForm>,
) -> Result<Response, WebError> {
    let user = agreement_team(&visitor)?;
    if form.confirm.is_none() {
        let mut errors = FieldErrors::new();
        errors.add("confirm", "Tick the box to confirm you have checked the list of organisations");
        let (_, html) = render_preview(&context, &visitor, &version, FormView::new(errors, [])).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response());
    }
    let number: u32 = version.parse().map_err(|_| WebError::NotFound)?;
    context.terms.get(number).ok_or(WebError::NotFound)?;
    match lifecycle::publish_terms(&context, number, user.actor(), 200, None).await {
        Ok(report) => {
            tracing::info!(version = number, uplifted = report.uplifted, skipped = report.skipped, "terms published");
            let notice = format!("/staff/terms?published={number}&uplifted={}", report.uplifted);
            Ok(Redirect::to(&notice).into_response())
        }
        Err(lifecycle::LifecycleServiceError::OlderThanCurrent { .. }) => {
            let mut errors = FieldErrors::new();
            errors.add("confirm", format!("Version {number} is not newer than the terms in force"));
            let (_, html) = render_preview(&context, &visitor, &version, FormView::new(errors, [])).await?;
            Ok((StatusCode::CONFLICT, Html(html)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// "1 agreement changed", "3 agreements changed", "no agreement changed".
fn count(n: usize, one: &str, many: &str) -> String {
    match n {
        0 => format!("No {one}"),
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// "3 days and 4 hours", "1 day", "5 hours".
fn duration_words(days: i64, hours: i64) -> String {
    let unit = |n: i64, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    match (days, hours) {
        (0, hours) => unit(hours, "hour"),
        (days, 0) => unit(days, "day"),
        (days, hours) => format!("{} and {}", unit(days, "day"), unit(hours, "hour")),
    }
}

#[derive(Template)]
#[template(path = "staff_demo_clock.html")]
struct DemoClockPage<'a> {
    visitor: &'a Visitor,
    now: String,
    ahead: String,
    form: FormView,
    report: Option<String>,
}

fn demo_clock_page(
    context: &AppContext,
    visitor: &Visitor,
    form: FormView,
    report: Option<String>,
) -> Result<String, WebError> {
    let demo_clock = context.demo_clock.as_ref().ok_or(WebError::NotFound)?;
    let now = context.clock.now();
    let hours = demo_clock.offset().as_hours();
    Ok(DemoClockPage {
        visitor,
        now: long_time(now),
        ahead: format!("{} days {} hours", hours / 24, hours % 24),
        form,
        report,
    }
    .render()?)
}

/// Demo mode only (404 otherwise): shows demo time and lets the agreement team move it forward.
pub async fn demo_clock(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    agreement_team(&visitor)?;
    Ok(Html(demo_clock_page(&context, &visitor, FormView::default(), None)?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct DemoClockForm {
    #[serde(default)]
    days: String,
    #[serde(default)]
    hours: String,
}

pub async fn advance_demo_clock(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(form): Form<DemoClockForm>,
) -> Result<Response, WebError> {
    let user = agreement_team(&visitor)?;
    if context.demo_clock.is_none() {
        return Err(WebError::NotFound);
    }
    let mut errors = FieldErrors::new();
    let mut number = |field: &'static str, raw: &str| match raw.trim() {
        "" => 0,
        raw => match raw.parse::<i64>() {
            Ok(n) if (0..=400 * 24).contains(&n) => n,
            Ok(_) => {
                errors.add(field, capitalised(&demo::DemoClockError::OutOfRange.to_string()));
                0
            }
            Err(_) => {
                errors.add(field, format!("Enter the {field} as a whole number, for example 30"));
                0
            }
        },
    };
    let days = number("days", &form.days);
    let hours = number("hours", &form.hours);
    let by = SignedDuration::from_hours(days.saturating_mul(24).saturating_add(hours));
    if errors.is_empty() {
        match demo::advance_clock(&context, user, by).await {
            Ok(jump) => {
                let report = format!(
                    "Demo time moved forward by {}. {} state when timers fired; {} sent.",
                    duration_words(days, hours),
                    count(jump.agreements_changed, "agreement changed", "agreements changed"),
                    count(jump.jobs.mail_sent, "message was", "messages were"),
                );
                return Ok(
                    Html(demo_clock_page(&context, &visitor, FormView::default(), Some(report))?).into_response()
                );
            }
            Err(demo::DemoClockError::OutOfRange) => {
                errors.add("days", capitalised(&demo::DemoClockError::OutOfRange.to_string()));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let form = FormView::new(errors, [("days", form.days), ("hours", form.hours)]);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(demo_clock_page(&context, &visitor, form, None)?)).into_response())
}
