//! The staff overview of applications (DOS-3, DOS-5, DOS-6): every open application across organisations,
//! oldest first, with how far it has come, who acts next and by when, and where its agreement stands. It is
//! the staff side of the supplier's application page.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use onramp_domain::application::milestones::answer_due;
use onramp_domain::application::{Plan, SectionState};
use onramp_domain::calendar::date_of;
use onramp_domain::flow::file::Flow;
use onramp_service::AppContext;
use onramp_service::application_agreement::{self, AgreementStanding};
use onramp_service::applications::{self, ApplicationServiceError};

use crate::WebError;
use crate::session::Visitor;

struct OverviewRow {
    url: String,
    organisation: String,
    product_name: String,
    products: String,
    started: String,
    /// "3 of 7 sections approved".
    progress: String,
    next: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "staff_applications.html")]
struct OverviewPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<OverviewRow>,
}

fn plural(count: usize, one: &str) -> String {
    if count == 1 { format!("1 {one}") } else { format!("{count} {one}s") }
}

/// Every open application, oldest first; staff only.
pub async fn overview(context: &AppContext, visitor: &Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    if !user.is_staff() {
        return Err(WebError::NotFound);
    }
    let today = date_of(context.clock.now());
    let mut rows = Vec::new();
    for application in context.store.open_applications().await? {
        let Some(organisation) = context.store.organisation(application.organisation_id).await? else { continue };
        let flows = applications::pinned_flows(context, &application).await?;
        let pinned: Vec<&Flow> = flows.iter().collect();
        let plan = Plan::of(&application, &pinned, &applications::facts(&organisation))
            .map_err(ApplicationServiceError::from)?;
        let shown: Vec<_> = plan.sections.iter().filter(|s| s.shown).collect();
        let approved = shown.iter().filter(|s| s.state == SectionState::Approved).count();
        let with_supplier = shown
            .iter()
            .filter(|s| {
                matches!(s.state, SectionState::NotStarted | SectionState::InProgress | SectionState::ChangesRequested)
            })
            .count();
        let due = shown
            .iter()
            .filter(|s| s.state == SectionState::Submitted)
            .filter_map(|s| {
                let submitted = application.sections.get(&s.key)?.changed_at?;
                Some(s.flow.target_answer_days.map(|days| answer_due(date_of(submitted), days)))
            })
            .collect::<Vec<_>>();
        let earliest_due = due.iter().flatten().min().copied();
        let (standing, _) = application_agreement::standing_of(context, &application, &organisation, &plan).await?;
        let next = if !due.is_empty() {
            let waiting = plural(due.len(), "section");
            match earliest_due {
                Some(date) => format!(
                    "The provider reviews {waiting}, the first by {}",
                    onramp_domain::agreement::long_date(date)
                ),
                None => format!("The provider reviews {waiting}"),
            }
        } else {
            match standing {
                AgreementStanding::Ready => "The agreement team creates the connection agreement".to_owned(),
                AgreementStanding::Created(number) if with_supplier == 0 => {
                    format!("Live service approves the agreement section once {number} is active")
                }
                _ if with_supplier > 0 => format!("The supplier answers {}", plural(with_supplier, "section")),
                _ => "Nothing: every section is approved".to_owned(),
            }
        };
        rows.push(OverviewRow {
            url: format!("/applications/{}", application.id.0),
            organisation: organisation.details.name.clone(),
            product_name: application.product_name.clone(),
            products: context.products.names(&application.products),
            started: onramp_domain::agreement::long_date(date_of(application.started_at)),
            progress: format!("{approved} of {} approved", plural(shown.len(), "section")),
            next,
            overdue: earliest_due.is_some_and(|date| today > date),
        });
    }
    Ok(Html(OverviewPage { visitor, rows }.render()?).into_response())
}
