//! DOS-5 on the application page: both sides read the milestones (the calls, the nominal and the agreed go-live,
//! the formal review); a reviewer records the dates agreed with the supplier. The rules are the domain's
//! (`ApplicationCommand::SetMilestones`, `Milestones::check_go_live`); this module reads the form, calls the
//! service and says what to show.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use jiff::civil::Date;
use onramp_domain::agreement::long_date;
use onramp_domain::application::{Application, ApplicationCommand, ApplicationError, ApplicationState};
use onramp_domain::flow::answer::{date_text, parse_date};
use onramp_domain::{StaffRole, User};
use onramp_service::AppContext;
use onramp_service::applications::{self, ApplicationServiceError};
use serde::Deserialize;

use crate::WebError;
use crate::forms::capitalised;
use crate::session::Visitor;

/// The form's date fields: name, label and hint.
const FIELDS: [(&str, &str, &str); 3] = [
    ("preparation_call", "Preparation call", "The call that prepares the supplier for onboarding."),
    ("demonstration_call", "Product demonstration call", "The nominal go-live is four months after it."),
    (
        "go_live",
        "Agreed go-live",
        "A working day after the demonstration call: a bank holiday in England is refused, a weekend is warned.",
    ),
];

/// One line of the milestones summary.
pub(crate) struct MilestoneRow {
    pub(crate) label: &'static str,
    pub(crate) value: String,
    pub(crate) note: Option<&'static str>,
}

/// One date field of the reviewer's form.
pub(crate) struct DateField {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) hint: &'static str,
    pub(crate) value: String,
    pub(crate) error: Option<String>,
}

/// What the application page shows of the milestones.
pub(crate) struct MilestonesView {
    pub(crate) rows: Vec<MilestoneRow>,
    /// The agreed go-live falls on a weekend.
    pub(crate) warning: Option<String>,
    /// They were saved just now.
    pub(crate) saved: bool,
    /// The reviewer's form; `None` for everyone else.
    pub(crate) form: Option<Vec<DateField>>,
}

/// What the visitor typed into the form and what was refused, when the page is shown again; or that the form
/// was saved.
#[derive(Debug, Default)]
pub(crate) struct Entered {
    values: Option<BTreeMap<&'static str, String>>,
    errors: BTreeMap<&'static str, String>,
    saved: bool,
}

impl Entered {
    /// The problems for the page's error summary, as (field, message), in the form's order.
    pub(crate) fn problems(&self) -> impl Iterator<Item = (String, String)> + '_ {
        FIELDS.iter().filter_map(|(name, _, _)| self.errors.get(name).map(|message| ((*name).into(), message.clone())))
    }
}

/// `?milestones=saved` after the form was saved.
#[derive(Debug, Deserialize)]
pub struct Notice {
    #[serde(default)]
    milestones: Option<String>,
}

impl Notice {
    pub(crate) fn entered(&self) -> Entered {
        Entered { saved: self.milestones.as_deref() == Some("saved"), ..Entered::default() }
    }
}

fn day(date: Option<Date>) -> String {
    date.map_or_else(|| "Not set yet".to_owned(), long_date)
}

/// The milestones as both sides read them, and the form for a reviewer while the application is open.
pub(crate) fn view(application: &Application, user: &User, entered: &Entered) -> MilestonesView {
    let milestones = &application.milestones;
    let rows = vec![
        MilestoneRow { label: "Preparation call", value: day(milestones.preparation_call), note: None },
        MilestoneRow { label: "Product demonstration call", value: day(milestones.demonstration_call), note: None },
        MilestoneRow {
            label: "Nominal go-live",
            value: day(milestones.nominal_go_live()),
            note: Some(
                "Nominal: four months after the demonstration call. The agreed go-live is the date that counts.",
            ),
        },
        MilestoneRow { label: "Agreed go-live", value: day(milestones.go_live), note: None },
        MilestoneRow {
            label: "Submitted for formal review",
            value: day(milestones.submitted_for_review),
            note: Some("When the last section was submitted."),
        },
        MilestoneRow {
            label: "Formal review expected to end",
            value: day(milestones.formal_review_expected_end()),
            note: Some("Three weeks after everything was submitted."),
        },
    ];
    let stored = [milestones.preparation_call, milestones.demonstration_call, milestones.go_live];
    let may_set = application.state == ApplicationState::Open && user.has_staff_role(StaffRole::Reviewer);
    let form = may_set.then(|| {
        FIELDS
            .iter()
            .zip(stored)
            .map(|(&(name, label, hint), date)| DateField {
                name,
                label,
                hint,
                value: match &entered.values {
                    Some(values) => values.get(name).cloned().unwrap_or_default(),
                    None => date.map(date_text).unwrap_or_default(),
                },
                error: entered.errors.get(name).cloned(),
            })
            .collect()
    });
    MilestonesView { rows, warning: milestones.go_live_warning(), saved: entered.saved, form }
}

/// A reviewer records the calls and the go-live. A date that does not parse, or a go-live the rules refuse, is
/// shown beside its field (422) with what was typed, and nothing changes; saved, the page says so (with the
/// weekend warning, if any).
pub async fn set(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(raw_id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let id = uuid::Uuid::parse_str(raw_id.trim())
        .map(onramp_domain::application::ApplicationId)
        .map_err(|_| WebError::NotFound)?;
    // Another organisation's application is not found, and only reviewers get as far as their typing.
    applications::application_for(&context, user, id).await?;
    if !user.has_staff_role(StaffRole::Reviewer) {
        return Err(WebError::Forbidden);
    }
    let mut entered = Entered { values: Some(BTreeMap::new()), ..Entered::default() };
    let mut dates = [None; 3];
    for ((name, _, _), date) in FIELDS.iter().zip(dates.iter_mut()) {
        let typed = fields.iter().find(|(field, _)| field == name).map(|(_, value)| value.clone()).unwrap_or_default();
        match parse_date(&typed) {
            Ok(parsed) => *date = parsed,
            Err(refusal) => {
                entered.errors.insert(name, refusal.0);
            }
        }
        entered.values.get_or_insert_default().insert(name, typed);
    }
    if entered.errors.is_empty() {
        let [preparation_call, demonstration_call, go_live] = dates;
        let command = ApplicationCommand::SetMilestones { preparation_call, demonstration_call, go_live };
        match applications::act(&context, user, id, command).await {
            Ok(_) => {
                return Ok(Redirect::to(&format!("/applications/{}?milestones=saved#milestones", id.0)).into_response());
            }
            Err(ApplicationServiceError::Rule(ApplicationError::Milestone(rule))) => {
                entered.errors.insert("go_live", capitalised(&rule.to_string()));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let html =
        crate::applications::application_page_with(&context, &visitor, user, &raw_id, Vec::new(), &entered).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}
