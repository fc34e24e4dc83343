//! Application pages (DOS-3, DOS-4, DOS-5): a supplier starts an application and answers it section by section;
//! reviewers see what waits for them, oldest first, and approve, send back with comments beside questions, or
//! reject. Both sides see every section's state and who acts next. The rules are the domain's
//! (`onramp_domain::application::decide`); handlers read the form, call the service and render.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::application::milestones::answer_due;
use onramp_domain::application::{
    Application, ApplicationCommand, ApplicationError, ApplicationId, ApplicationState, Plan, PlannedSection,
    SectionKey, SectionState,
};
use onramp_domain::calendar::{bank_holidays::working_days_between, date_of, long_time};
use onramp_domain::evidence;
use onramp_domain::flow::answer::{answer_text, parse_answer};
use onramp_domain::flow::file::{Flow, Question, QuestionKind};
use onramp_domain::{ApiProduct, StaffRole, TeamRole, User};
use onramp_service::AppContext;
use onramp_service::application_agreement::{self, AgreementStanding};
use onramp_service::application_files;
use onramp_service::applications::{self, ApplicationServiceError};
use onramp_store::EvidenceFile;
use uuid::Uuid;

use crate::WebError;
use crate::forms::{PostedForm, capitalised};
use crate::session::Visitor;

/// A section key in a URL: `standard-api.service` for `standard-api/service` (ids hold no dots).
fn key_in_url(key: &SectionKey) -> String {
    key.0.replace('/', ".")
}

fn key_from_url(raw: &str) -> SectionKey {
    SectionKey(raw.replace('.', "/"))
}

fn parse_id(raw: &str) -> Result<ApplicationId, WebError> {
    Uuid::parse_str(raw.trim()).map(ApplicationId).map_err(|_| WebError::NotFound)
}

fn is_reviewer(user: &User) -> bool {
    user.has_staff_role(StaffRole::Reviewer) || user.has_staff_role(StaffRole::LiveService)
}

/// One problem shown in the error summary and beside its field.
pub(crate) struct Problem {
    field: String,
    message: String,
}

fn find<'a>(problems: &'a [Problem], field: &str) -> Option<&'a Problem> {
    problems.iter().find(|problem| problem.field == field)
}

// ---- The supplier's list and the start form -------------------------------------------------------------------

struct ApplicationRow {
    id: String,
    product_name: String,
    products: String,
    state: String,
    started: String,
}

#[derive(Template)]
#[template(path = "applications.html")]
struct ApplicationsPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<ApplicationRow>,
    may_start: bool,
    products: Vec<(String, String, bool)>,
    product_name: String,
    problems: Vec<Problem>,
}

async fn applications_page(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    product_name: String,
    chosen: &[ApiProduct],
    problems: Vec<Problem>,
) -> Result<String, WebError> {
    let membership = user.membership.as_ref().ok_or(WebError::NotFound)?;
    let rows = context
        .store
        .applications_of(membership.organisation_id)
        .await?
        .iter()
        .map(|application| ApplicationRow {
            id: application.id.0.to_string(),
            product_name: application.product_name.clone(),
            products: context.products.names(&application.products),
            state: match &application.state {
                ApplicationState::Open => "Open".into(),
                ApplicationState::Rejected { .. } => "Rejected".into(),
            },
            started: long_time(application.started_at),
        })
        .collect();
    let products =
        context.products.offered().map(|p| (p.slug.to_string(), p.name.clone(), chosen.contains(&p.slug))).collect();
    let may_start = membership.role != TeamRole::Viewer;
    Ok(ApplicationsPage { visitor, rows, may_start, products, product_name, problems }.render()?)
}

/// The organisation's applications and the form to start one. Staff review from their queue instead.
pub async fn list(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    if user.is_staff() {
        return crate::staff_applications::overview(&context, &visitor).await;
    }
    let html = applications_page(&context, &visitor, user, String::new(), &[], Vec::new()).await?;
    Ok(Html(html).into_response())
}

pub async fn start(
    State(context): State<AppContext>,
    visitor: Visitor,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let product_name = fields.iter().find(|(k, _)| k == "product_name").map(|(_, v)| v.clone()).unwrap_or_default();
    let chosen: Vec<ApiProduct> =
        fields.iter().filter(|(k, _)| k == "product").filter_map(|(_, v)| ApiProduct::parse(v).ok()).collect();
    let refusal = |field: &str, message: String| vec![Problem { field: field.into(), message }];
    let problems = match applications::start(&context, user, &product_name, &chosen).await {
        Ok(application) => {
            return Ok(Redirect::to(&format!("/applications/{}", application.id.0)).into_response());
        }
        Err(error @ ApplicationServiceError::ProductName) => refusal("product_name", capitalised(&error.to_string())),
        Err(error @ (ApplicationServiceError::NoProducts | ApplicationServiceError::NotOffered(_))) => {
            refusal("product", capitalised(&error.to_string()))
        }
        Err(other) => return Err(other.into()),
    };
    let html = applications_page(&context, &visitor, user, product_name, &chosen, problems).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

// ---- One application -------------------------------------------------------------------------------------------

struct SectionRow {
    url: String,
    stage: String,
    title: String,
    state: SectionState,
    next: String,
}

#[derive(Template)]
#[template(path = "application.html")]
struct ApplicationPage<'a> {
    visitor: &'a Visitor,
    id: String,
    product_name: String,
    organisation: String,
    products: String,
    started: String,
    rejected: Option<(String, String)>,
    sections: Vec<SectionRow>,
    /// DOS-6: where the application stands towards its connection agreement.
    agreement: AgreementStanding,
    /// The agreement team may create the agreement now.
    may_create_agreement: bool,
    may_reject: bool,
    /// DOS-5: the calls and dates, and the reviewer's form.
    milestones: crate::application_milestones::MilestonesView,
    problems: Vec<Problem>,
}

/// Who acts next on a section, in words both sides read the same way.
fn next_step(section: &PlannedSection<'_>, target: Option<u32>, changed: Option<jiff::Timestamp>) -> String {
    match section.state {
        SectionState::NotStarted | SectionState::InProgress => "The supplier answers it".into(),
        SectionState::ChangesRequested => "The supplier changes the answers and submits it again".into(),
        SectionState::Submitted => match (target, changed) {
            (Some(days), Some(at)) => {
                format!(
                    "The provider reviews it, by {}",
                    onramp_domain::agreement::long_date(answer_due(date_of(at), days))
                )
            }
            _ => "The provider reviews it".into(),
        },
        SectionState::Approved => "Nothing: approved".into(),
    }
}

async fn loaded(
    context: &AppContext,
    user: &User,
    raw_id: &str,
) -> Result<(Application, Vec<Flow>, onramp_domain::Organisation), WebError> {
    let application = applications::application_for(context, user, parse_id(raw_id)?).await?;
    let flows = applications::pinned_flows(context, &application).await?;
    let organisation = context.store.organisation(application.organisation_id).await?.ok_or(WebError::NotFound)?;
    Ok((application, flows, organisation))
}

async fn application_page(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    raw_id: &str,
    problems: Vec<Problem>,
) -> Result<String, WebError> {
    application_page_with(context, visitor, user, raw_id, problems, &Default::default()).await
}

/// The application page, with the milestones form as typed and refused, or just saved (DOS-5).
pub(crate) async fn application_page_with(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    raw_id: &str,
    mut problems: Vec<Problem>,
    milestones: &crate::application_milestones::Entered,
) -> Result<String, WebError> {
    problems.extend(milestones.problems().map(|(field, message)| Problem { field, message }));
    let (application, flows, organisation) = loaded(context, user, raw_id).await?;
    let pinned: Vec<&Flow> = flows.iter().collect();
    let plan =
        Plan::of(&application, &pinned, &applications::facts(&organisation)).map_err(ApplicationServiceError::from)?;
    let sections = plan
        .sections
        .iter()
        .filter(|section| section.shown)
        .map(|section| {
            let changed = application.sections.get(&section.key).and_then(|record| record.changed_at);
            SectionRow {
                url: format!("/applications/{}/sections/{}", application.id.0, key_in_url(&section.key)),
                stage: section.stage.title.clone(),
                title: section.section.title.clone(),
                state: section.state,
                next: next_step(section, section.flow.target_answer_days, changed),
            }
        })
        .collect();
    let rejected = match &application.state {
        ApplicationState::Rejected { reason, at, .. } => Some((reason.clone(), long_time(*at))),
        ApplicationState::Open => None,
    };
    let open = rejected.is_none();
    let (agreement, _) = application_agreement::standing_of(context, &application, &organisation, &plan).await?;
    Ok(ApplicationPage {
        visitor,
        id: application.id.0.to_string(),
        product_name: application.product_name.clone(),
        organisation: organisation.details.name.clone(),
        products: context.products.names(&application.products),
        started: long_time(application.started_at),
        rejected,
        sections,
        may_create_agreement: open
            && agreement == AgreementStanding::Ready
            && user.has_staff_role(StaffRole::AgreementTeam),
        agreement,
        may_reject: open && user.has_staff_role(StaffRole::Reviewer),
        milestones: crate::application_milestones::view(&application, user, milestones),
        problems,
    }
    .render()?)
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
    Query(notice): Query<crate::application_milestones::Notice>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let html = application_page_with(&context, &visitor, user, &id, Vec::new(), &notice.entered()).await?;
    Ok(Html(html).into_response())
}

pub async fn reject(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let reason = fields.iter().find(|(k, _)| k == "reason").map(|(_, v)| v.clone()).unwrap_or_default();
    match applications::act(&context, user, parse_id(&id)?, ApplicationCommand::Reject { reason }).await {
        Ok(application) => Ok(Redirect::to(&format!("/applications/{}", application.id.0)).into_response()),
        Err(ApplicationServiceError::Rule(rule @ (ApplicationError::ReasonRequired | ApplicationError::TooLong))) => {
            let problems = vec![Problem { field: "reason".into(), message: capitalised(&rule.to_string()) }];
            let html = application_page(&context, &visitor, user, &id, problems).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

// ---- One section -----------------------------------------------------------------------------------------------

struct QuestionView {
    field: String,
    /// The name of an evidence question's file input.
    file_field: String,
    label: String,
    help: Option<String>,
    kind: &'static str,
    required: bool,
    options: Vec<(String, bool)>,
    value: String,
    max_chars: Option<u32>,
    error: Option<String>,
    comments: Vec<String>,
    /// The answer as the reviewer reads it.
    shown_answer: String,
    /// An evidence question's files, and what it takes.
    files: Vec<FileView>,
    upload: Option<UploadRules>,
}

/// An evidence file as the section page lists it.
struct FileView {
    id: String,
    name: String,
    href: String,
    description: String,
}

/// What an evidence question takes, for its file input.
struct UploadRules {
    /// The `accept` attribute: the extensions of the allowed types.
    accept: String,
    /// "PDF or Word document (.docx), up to 10 MB, at most 2 files".
    hint: String,
    multiple: bool,
    /// More files may be added.
    room: bool,
}

#[derive(Template)]
#[template(path = "application_section.html")]
struct SectionPage<'a> {
    visitor: &'a Visitor,
    application_id: String,
    product_name: String,
    action: String,
    stage: String,
    title: String,
    guidance: Option<String>,
    state: SectionState,
    questions: Vec<QuestionView>,
    section_comments: Vec<String>,
    editable: bool,
    reviewable: bool,
    reference: Option<(String, String)>,
    recorded_reference: Option<String>,
    problems: Vec<Problem>,
    /// Some question takes files, so the form posts as multipart.
    takes_files: bool,
}

fn kind_name(kind: QuestionKind) -> &'static str {
    match kind {
        QuestionKind::ShortText => "short_text",
        QuestionKind::LongText => "long_text",
        QuestionKind::Email => "email",
        QuestionKind::EmailList => "email_list",
        QuestionKind::YesNo => "yes_no",
        QuestionKind::SingleChoice => "single_choice",
        QuestionKind::MultipleChoice => "multiple_choice",
        QuestionKind::Date => "date",
        QuestionKind::Number => "number",
        QuestionKind::Acknowledgement => "acknowledgement",
        QuestionKind::Evidence => "evidence",
    }
}

/// What the form sent for each question (`q-<id>`, several values for a multiple choice).
type Typed = BTreeMap<String, Vec<String>>;

fn typed_of(fields: &[(String, String)]) -> Typed {
    let mut typed = Typed::new();
    for (name, value) in fields {
        if let Some(question) = name.strip_prefix("q-") {
            typed.entry(question.to_owned()).or_default().push(value.clone());
        }
    }
    typed
}

struct SectionContext<'a> {
    application: &'a Application,
    planned: &'a PlannedSection<'a>,
    files: &'a [EvidenceFile],
}

fn section_page(
    visitor: &Visitor,
    user: &User,
    section: &SectionContext<'_>,
    typed: Option<&Typed>,
    mut errors: BTreeMap<String, String>,
    problems: Vec<Problem>,
) -> Result<String, WebError> {
    let SectionContext { application, planned, files } = section;
    let record = application.sections.get(&planned.key).cloned().unwrap_or_default();
    let own = user.membership.as_ref().is_some_and(|m| m.organisation_id == application.organisation_id);
    let supplier = own && user.membership.as_ref().is_some_and(|m| m.role != TeamRole::Viewer);
    let open = application.state == ApplicationState::Open;
    let editable =
        open && supplier && planned.shown && !matches!(planned.state, SectionState::Submitted | SectionState::Approved);
    let reviewable = open && is_reviewer(user) && planned.state == SectionState::Submitted;
    let questions: Vec<QuestionView> = planned
        .section
        .questions
        .iter()
        .filter(|q| planned.questions_shown.contains(&q.id))
        .map(|question| {
            let mut view = question_view(question, planned, &record, typed, &mut errors);
            if question.kind == QuestionKind::Evidence {
                add_files(&mut view, question, application, files);
            }
            view
        })
        .collect();
    let reference =
        planned.section.approval.as_ref().filter(|_| reviewable).map(|rule| (rule.label.clone(), rule.rule()));
    Ok(SectionPage {
        visitor,
        application_id: application.id.0.to_string(),
        product_name: application.product_name.clone(),
        action: format!("/applications/{}/sections/{}", application.id.0, key_in_url(&planned.key)),
        stage: planned.stage.title.clone(),
        title: planned.section.title.clone(),
        guidance: planned.section.guidance.clone(),
        state: planned.state,
        section_comments: record.comments.iter().filter(|c| c.question.is_none()).map(|c| c.text.clone()).collect(),
        editable,
        reviewable,
        reference,
        recorded_reference: record.reference.clone(),
        problems,
        takes_files: questions.iter().any(|q| q.upload.is_some()),
        questions,
    }
    .render()?)
}

fn question_view(
    question: &Question,
    planned: &PlannedSection<'_>,
    record: &onramp_domain::application::SectionRecord,
    typed: Option<&Typed>,
    errors: &mut BTreeMap<String, String>,
) -> QuestionView {
    let stored = record.answers.get(&question.id).map(answer_text).unwrap_or_default();
    let values = typed.map_or(stored.clone(), |typed| typed.get(&question.id).cloned().unwrap_or_default());
    let value = match question.kind {
        QuestionKind::EmailList => values.join("\n"),
        _ => values.first().cloned().unwrap_or_default(),
    };
    QuestionView {
        field: format!("q-{}", question.id),
        file_field: format!("file-{}", question.id),
        label: question.label.clone(),
        help: question.help.clone(),
        kind: kind_name(question.kind),
        required: planned.questions_required.contains(&question.id),
        options: question.options.iter().map(|option| (option.clone(), values.contains(option))).collect(),
        value,
        max_chars: question.limits.max_chars,
        error: errors.remove(&question.id),
        comments: record
            .comments
            .iter()
            .filter(|c| c.question.as_deref() == Some(question.id.as_str()))
            .map(|c| c.text.clone())
            .collect(),
        shown_answer: match (question.kind, stored.as_slice()) {
            (_, []) => "Not answered".into(),
            (QuestionKind::YesNo | QuestionKind::Acknowledgement, [value]) if value == "yes" => "Yes".into(),
            (QuestionKind::YesNo, [value]) if value == "no" => "No".into(),
            _ => stored.join(", "),
        },
        files: Vec::new(),
        upload: None,
    }
}

/// Lists the question's files (in the order attached) and, while more fit, what it takes.
fn add_files(view: &mut QuestionView, question: &Question, application: &Application, files: &[EvidenceFile]) {
    view.files = files
        .iter()
        .filter(|file| file.question_id == question.id)
        .map(|file| FileView {
            id: file.id.to_string(),
            name: file.file_name.clone(),
            href: format!("/applications/{}/files/{}", application.id.0, file.id),
            description: format!(
                "{}, {}, uploaded {}",
                file.file_type.label(),
                evidence::human_size(file.size),
                long_time(file.uploaded_at)
            ),
        })
        .collect();
    let count = files.iter().filter(|file| file.question_id == question.id).count();
    view.shown_answer = match count {
        0 => "Not answered".into(),
        1 => "1 file".into(),
        n => format!("{n} files"),
    };
    let types = evidence::allowed_types(&question.limits);
    let most = evidence::max_files(&question.limits);
    let labels: Vec<&str> = types.iter().map(|t| t.label()).collect();
    let listed = match labels.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let files_rule = if most == 1 { "one file".to_owned() } else { format!("at most {most} files") };
    view.upload = Some(UploadRules {
        accept: types.iter().flat_map(|t| t.extensions()).map(|e| format!(".{e}")).collect::<Vec<_>>().join(","),
        hint: format!(
            "{listed}, up to {} each; {files_rule}.",
            evidence::human_size(evidence::max_bytes(&question.limits))
        ),
        multiple: most > 1,
        room: u32::try_from(count).unwrap_or(u32::MAX) < most,
    });
}

async fn with_section<T>(
    context: &AppContext,
    user: &User,
    raw_id: &str,
    raw_key: &str,
    then: impl FnOnce(&SectionContext<'_>) -> Result<T, WebError>,
) -> Result<T, WebError> {
    let (application, flows, organisation) = loaded(context, user, raw_id).await?;
    let pinned: Vec<&Flow> = flows.iter().collect();
    let plan =
        Plan::of(&application, &pinned, &applications::facts(&organisation)).map_err(ApplicationServiceError::from)?;
    let planned = plan.get(&key_from_url(raw_key)).ok_or(WebError::NotFound)?;
    let files = application_files::files_of(context, user, application.id).await?;
    let files: Vec<EvidenceFile> = files.into_iter().filter(|file| file.section_key == planned.key).collect();
    then(&SectionContext { application: &application, planned, files: &files })
}

pub async fn section(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path((id, key)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let html = with_section(&context, user, &id, &key, |section| {
        section_page(&visitor, user, section, None, BTreeMap::new(), Vec::new())
    })
    .await?;
    Ok(Html(html).into_response())
}

/// Save (`intent=save`), save and submit (`intent=submit`), upload and stay (`intent=upload`) or remove a file
/// and stay (`intent=remove-<file id>`). A section with evidence questions posts as multipart, and every
/// file chosen is uploaded first, whatever the button. Answers that do not parse, and files refused, are
/// shown beside their questions with what was typed, and no typed answer is saved; files that were taken in
/// stay.
pub async fn answer(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path((id, key)): Path<(String, String)>,
    form: PostedForm,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let application = parse_id(&id)?;
    let section_key = key_from_url(&key);
    let (fields, mut errors) = match form {
        PostedForm::Fields(fields) => (fields, BTreeMap::new()),
        PostedForm::Multipart(multipart) => {
            crate::application_files::take_in(&context, user, application, &section_key, multipart).await?
        }
    };
    let typed = typed_of(&fields);
    let intent = fields.iter().find(|(k, _)| k == "intent").map_or("save", |(_, v)| v.as_str());
    if let Some(file) = intent.strip_prefix("remove-") {
        let file = Uuid::parse_str(file).map_err(|_| WebError::NotFound)?;
        application_files::remove(&context, user, application, file).await?;
    }
    let parsed = with_section(&context, user, &id, &key, |section| {
        let mut answers = BTreeMap::new();
        let mut errors = BTreeMap::new();
        for question in
            section.planned.section.questions.iter().filter(|q| section.planned.questions_shown.contains(&q.id))
        {
            if question.kind == QuestionKind::Evidence {
                continue;
            }
            let values = typed.get(&question.id).cloned().unwrap_or_default();
            match parse_answer(question, &values) {
                Ok(answer) => {
                    answers.insert(question.id.clone(), answer);
                }
                Err(error) => {
                    errors.insert(question.id.clone(), error.0);
                }
            }
        }
        Ok((answers, errors))
    })
    .await?;
    let (answers, typing_errors) = parsed;
    errors.extend(typing_errors);
    if !errors.is_empty() {
        return refused_section(&context, &visitor, user, &id, &key, Some(&typed), errors).await;
    }
    let saved = applications::act(
        &context,
        user,
        application,
        ApplicationCommand::Save { section: section_key.clone(), answers },
    )
    .await;
    let outcome = match saved {
        Ok(_) if intent == "submit" => {
            applications::act(&context, user, application, ApplicationCommand::Submit { section: section_key }).await
        }
        other => other,
    };
    match outcome {
        Ok(_) if intent == "submit" || intent == "save" => {
            Ok(Redirect::to(&format!("/applications/{id}")).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}/sections/{key}#files")).into_response()),
        Err(ApplicationServiceError::Rule(ApplicationError::Incomplete(missing))) => {
            let errors = missing.into_iter().map(|p| (p.question, p.reason)).collect();
            refused_section(&context, &visitor, user, &id, &key, Some(&typed), errors).await
        }
        Err(ApplicationServiceError::Rule(
            rule @ (ApplicationError::EligibilityFirst(_)
            | ApplicationError::NotEligible
            | ApplicationError::NotEditable(_)),
        )) => {
            let problems = vec![Problem { field: "section".into(), message: capitalised(&rule.to_string()) }];
            let html = with_section(&context, user, &id, &key, |section| {
                section_page(&visitor, user, section, Some(&typed), BTreeMap::new(), problems)
            })
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn refused_section(
    context: &AppContext,
    visitor: &Visitor,
    user: &User,
    id: &str,
    key: &str,
    typed: Option<&Typed>,
    errors: BTreeMap<String, String>,
) -> Result<Response, WebError> {
    let html = with_section(context, user, id, key, |section| {
        let order: Vec<&str> = section.planned.section.questions.iter().map(|q| q.id.as_str()).collect();
        let mut problems: Vec<Problem> =
            errors.iter().map(|(q, m)| Problem { field: format!("q-{q}"), message: m.clone() }).collect();
        problems.sort_by_key(|p| order.iter().position(|q| format!("q-{q}") == p.field));
        section_page(visitor, user, section, typed, errors, problems)
    })
    .await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
}

/// A reviewer approves (with the reference the section needs) or asks for changes with comments.
pub async fn review(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path((id, key)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let value = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let section = key_from_url(&key);
    let command = if value("intent") == "approve" {
        let reference = Some(value("reference")).filter(|r| !r.trim().is_empty());
        ApplicationCommand::Approve { section, reference, agreement: None }
    } else {
        let mut comments = vec![(None, value("comment"))];
        for (name, text) in &fields {
            if let Some(question) = name.strip_prefix("comment-q-") {
                comments.push((Some(question.to_owned()), text.clone()));
            }
        }
        ApplicationCommand::RequestChanges { section, comments }
    };
    let field = if matches!(command, ApplicationCommand::Approve { .. }) { "reference" } else { "comment" };
    match applications::act(&context, user, parse_id(&id)?, command).await {
        Ok(_) => Ok(Redirect::to(&format!("/applications/{id}")).into_response()),
        Err(ApplicationServiceError::Rule(
            rule @ (ApplicationError::ReferenceRequired { .. }
            | ApplicationError::ReferenceMalformed(_)
            | ApplicationError::AgreementNotActive { .. }
            | ApplicationError::AgreementOfAnotherOrganisation { .. }
            | ApplicationError::AgreementUnknown { .. }
            | ApplicationError::CommentRequired
            | ApplicationError::TooLong),
        )) => {
            let problems = vec![Problem { field: field.into(), message: capitalised(&rule.to_string()) }];
            let html = with_section(&context, user, &id, &key, |section| {
                section_page(&visitor, user, section, None, BTreeMap::new(), problems)
            })
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

// ---- The reviewers' queue --------------------------------------------------------------------------------------

struct QueueRow {
    url: String,
    organisation: String,
    product_name: String,
    section: String,
    submitted: String,
    waiting: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "staff_reviews.html")]
struct ReviewsPage<'a> {
    visitor: &'a Visitor,
    rows: Vec<QueueRow>,
}

/// Every submitted section across organisations, oldest first, with the working days it has waited and whether
/// it is past the flow's target answer time.
pub async fn queue(State(context): State<AppContext>, visitor: Visitor) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    if !user.is_staff() {
        return Err(WebError::NotFound);
    }
    if !is_reviewer(user) {
        return Err(WebError::Forbidden);
    }
    let today = date_of(context.clock.now());
    let mut rows = Vec::new();
    for waiting in context.store.review_queue().await? {
        let Some(application) = context.store.application(waiting.application).await? else { continue };
        let Some(organisation) = context.store.organisation(application.organisation_id).await? else { continue };
        let flows = applications::pinned_flows(&context, &application).await?;
        let pinned: Vec<&Flow> = flows.iter().collect();
        let plan = Plan::of(&application, &pinned, &applications::facts(&organisation))
            .map_err(ApplicationServiceError::from)?;
        let Some(planned) = plan.get(&waiting.section) else { continue };
        let submitted = date_of(waiting.submitted_at);
        let waited = working_days_between(submitted, today).max(0);
        let overdue = planned.flow.target_answer_days.is_some_and(|target| today > answer_due(submitted, target));
        rows.push(QueueRow {
            url: format!("/applications/{}/sections/{}", application.id.0, key_in_url(&waiting.section)),
            organisation: organisation.details.name.clone(),
            product_name: application.product_name.clone(),
            section: planned.section.title.clone(),
            submitted: long_time(waiting.submitted_at),
            waiting: format!("{waited} working day{}", if waited == 1 { "" } else { "s" }),
            overdue,
        });
    }
    Ok(Html(ReviewsPage { visitor: &visitor, rows }.render()?).into_response())
}

impl ApplicationsPage<'_> {
    fn problem(&self, field: &str) -> Option<&Problem> {
        find(&self.problems, field)
    }
}

impl ApplicationPage<'_> {
    fn problem(&self, field: &str) -> Option<&Problem> {
        find(&self.problems, field)
    }
}

impl SectionPage<'_> {
    fn problem(&self, field: &str) -> Option<&Problem> {
        find(&self.problems, field)
    }
}

/// DOS-6: the agreement team creates the connection agreement from a fully assured application; its page is
/// where it is issued.
pub async fn create_agreement(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let user = visitor.require_user()?;
    let agreement = application_agreement::create(&context, user, parse_id(&id)?).await?;
    Ok(Redirect::to(&format!("/agreements/{}", agreement.number)).into_response())
}
