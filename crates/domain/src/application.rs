//! Applications (SPEC §3, DOS-3, DOS-4): one organisation's product applying for one or more API products,
//! answered section by section against the flows those products follow, and assured by the provider's reviewers.
//!
//! An application is pinned to the flow versions current when it started ([`PinnedFlow`]); it is always read
//! with those versions, so a later version changes nothing for it. Each flow that applies contributes its
//! sections once, however many of the products follow it; a section marked `shared` is one section for the whole
//! application even when several flows have it ([`SectionKey`]). [`decide`] is the only judge of a change: it
//! takes the application, the pinned flows, the organisation's fields, who acts and what they ask, and returns
//! the application afterwards or a named [`ApplicationError`]. No I/O: what must be looked up (the agreement a
//! reference names) is looked up by the caller and passed in.

pub mod milestones;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::flow::evaluate::{Answer, Answers, OrganisationFacts, Outcome, evaluate};
use crate::flow::file::{Flow, QuestionKind, Section, Stage};
use crate::{ApiProduct, OrganisationId, StaffRole, TeamRole, User};

/// The prefix of an approval reference that names a connection agreement (DOS-4): such an approval needs the
/// agreement to be Active, started, and the applying organisation's own.
pub const AGREEMENT_REFERENCE_PREFIX: &str = "CNTR";

/// The longest comment or reason a reviewer may write.
pub const MAX_COMMENT_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ApplicationId(pub Uuid);

/// A flow an application follows, at the version it started on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedFlow {
    pub id: String,
    pub version: u32,
    /// Every product of the application that follows this flow is open-access, so stages marked
    /// `skip_for_open_access` are skipped.
    pub open_access: bool,
}

/// Which section an answer belongs to: `<section>` for a shared section (one for the whole application), else
/// `<flow>/<section>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SectionKey(pub String);

impl SectionKey {
    pub fn of(flow: &Flow, section: &Section) -> Self {
        if section.shared { Self(section.id.clone()) } else { Self(format!("{}/{}", flow.id, section.id)) }
    }
}

impl fmt::Display for SectionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// DOS-3's section states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SectionState {
    #[default]
    NotStarted,
    InProgress,
    Submitted,
    ChangesRequested,
    Approved,
}

impl SectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::ChangesRequested => "changes_requested",
            Self::Approved => "approved",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NotStarted => "Not started",
            Self::InProgress => "In progress",
            Self::Submitted => "Submitted",
            Self::ChangesRequested => "Changes requested",
            Self::Approved => "Approved",
        }
    }
}

/// A reviewer's comment, on the section or on one of its questions (by question id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewComment {
    pub question: Option<String>,
    pub text: String,
    pub by: String,
    pub at: Timestamp,
}

/// One section of an application: its state, its answers (by question id) and its review.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SectionRecord {
    pub state: SectionState,
    pub answers: BTreeMap<String, Answer>,
    /// The comments of the latest change request; cleared when the section is submitted again.
    pub comments: Vec<ReviewComment>,
    /// What the approval recorded (DOS-4: the CNTR number), once approved.
    pub reference: Option<String>,
    /// When the section last changed state, for the reviewer queue and the due dates.
    pub changed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ApplicationState {
    Open,
    /// Closed by a reviewer; the supplier sees why and may start another application.
    Rejected {
        reason: String,
        by: String,
        at: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub organisation_id: OrganisationId,
    /// The supplier's product that applies, in its own words.
    pub product_name: String,
    pub products: Vec<ApiProduct>,
    pub flows: Vec<PinnedFlow>,
    pub state: ApplicationState,
    pub sections: BTreeMap<SectionKey, SectionRecord>,
    pub started_at: Timestamp,
    /// DOS-5: the calls and dates agreed with the supplier.
    #[serde(default)]
    pub milestones: milestones::Milestones,
}

/// What the caller found for the agreement number an approval records (DOS-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferencedAgreement {
    /// An Active agreement with a start date, of the applying organisation.
    ActiveAndStarted,
    /// The applying organisation's agreement, in this state (a Draft, Expired …).
    NotActive {
        state: String,
    },
    OtherOrganisation,
    Unknown,
}

/// What someone asks of an application.
#[derive(Debug, Clone, PartialEq)]
pub enum ApplicationCommand {
    /// The supplier saves answers of one section (`None` clears an answer). Saving is allowed while the section
    /// is not started, in progress or has changes requested.
    Save { section: SectionKey, answers: BTreeMap<String, Option<Answer>> },
    /// The supplier submits a complete section for review.
    Submit { section: SectionKey },
    /// A reviewer (or `live_service`, for a section whose approval records an agreement) approves.
    Approve { section: SectionKey, reference: Option<String>, agreement: Option<ReferencedAgreement> },
    /// A reviewer asks for changes, on the section (`None`) or on questions, with at least one comment.
    RequestChanges { section: SectionKey, comments: Vec<(Option<String>, String)> },
    /// The supplier adds a stored evidence file (by its id) to an `evidence` question. The file is checked and
    /// kept by the caller first (`crate::evidence`); the answer is the list of the question's file ids.
    Attach { section: SectionKey, question: String, file: String },
    /// The supplier takes a file off an `evidence` question.
    Detach { section: SectionKey, question: String, file: String },
    /// A reviewer closes the whole application.
    Reject { reason: String },
    /// DOS-5: a reviewer records the calls and the go-live agreed with the supplier (`None` clears a date). The
    /// go-live is checked against the demonstration call given here.
    SetMilestones {
        preparation_call: Option<jiff::civil::Date>,
        demonstration_call: Option<jiff::civil::Date>,
        go_live: Option<jiff::civil::Date>,
    },
}

impl ApplicationCommand {
    /// The audit log's name for the change.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Save { .. } => "application_save",
            Self::Submit { .. } => "application_submit",
            Self::Approve { .. } => "application_approve",
            Self::RequestChanges { .. } => "application_request_changes",
            Self::Attach { .. } => "evidence_upload",
            Self::Detach { .. } => "evidence_remove",
            Self::Reject { .. } => "application_reject",
            Self::SetMilestones { .. } => "application_milestones",
        }
    }
}

/// One refusal of a question, beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionProblem {
    pub question: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    #[error("this application is not your organisation's")]
    NotYours,
    #[error("viewers can read the application but not change it; ask an owner or admin")]
    ViewerReadOnly,
    #[error("only a reviewer can do this")]
    NotReviewer,
    #[error("only live service can approve this section, with the number of the organisation's Active agreement")]
    NotLiveService,
    #[error("the application was rejected: {reason}")]
    Rejected { reason: String },
    #[error("this application has no section {0}")]
    UnknownSection(SectionKey),
    #[error("this section does not apply to your organisation or answers")]
    SectionHidden,
    #[error("the section is {} and cannot be changed now", .0.label().to_lowercase())]
    NotEditable(SectionState),
    #[error("the section {section} has no question {question}")]
    UnknownQuestion { section: SectionKey, question: String },
    #[error("{question}: {reason}")]
    AnswerRefused { question: String, reason: String },
    #[error("{0} takes uploaded files, not typed answers")]
    UploadedNotTyped(String),
    #[error("{0} does not take uploaded files")]
    NotEvidence(String),
    #[error("this question does not apply to your organisation or answers")]
    QuestionHidden,
    #[error("this question takes at most {0} files: remove one first")]
    TooManyFiles(u32),
    #[error("that file is not attached to this question")]
    FileNotAttached,
    #[error("the section is not complete")]
    Incomplete(Vec<QuestionProblem>),
    #[error("your answers do not meet the eligibility rule of this section, so it cannot be submitted")]
    NotEligible,
    #[error("the eligibility sections must be approved first: {}", .0.join(", "))]
    EligibilityFirst(Vec<String>),
    #[error("only a submitted section can be reviewed; this one is {}", .0.label().to_lowercase())]
    NotSubmitted(SectionState),
    #[error("the approval must record the {label} ({rule})")]
    ReferenceRequired { label: String, rule: String },
    #[error("{0}")]
    ReferenceMalformed(String),
    #[error("{number} is {state}: the connection agreement must be Active, with a start date")]
    AgreementNotActive { number: String, state: String },
    #[error("{number} is another organisation's agreement")]
    AgreementOfAnotherOrganisation { number: String },
    #[error("there is no agreement {number}")]
    AgreementUnknown { number: String },
    #[error("write a comment saying what to change")]
    CommentRequired,
    #[error("write the reason for rejecting the application")]
    ReasonRequired,
    #[error("write at most {MAX_COMMENT_CHARS} characters")]
    TooLong,
    #[error("the flow {0} of this application is not loaded")]
    FlowMissing(String),
    #[error("a condition of the flow could not be evaluated: {0}")]
    Evaluation(String),
    /// DOS-5: the go-live date was refused.
    #[error(transparent)]
    Milestone(#[from] milestones::MilestoneError),
}

impl ApplicationError {
    /// A stable code for logs and the JSON API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotYours => "not_yours",
            Self::ViewerReadOnly => "viewer_read_only",
            Self::NotReviewer => "not_reviewer",
            Self::NotLiveService => "not_live_service",
            Self::Rejected { .. } => "rejected",
            Self::UnknownSection(_) => "unknown_section",
            Self::SectionHidden => "section_hidden",
            Self::NotEditable(_) => "not_editable",
            Self::UnknownQuestion { .. } => "unknown_question",
            Self::AnswerRefused { .. } => "answer_refused",
            Self::UploadedNotTyped(_) => "uploaded_not_typed",
            Self::NotEvidence(_) => "not_evidence",
            Self::QuestionHidden => "question_hidden",
            Self::TooManyFiles(_) => "too_many_files",
            Self::FileNotAttached => "file_not_attached",
            Self::Incomplete(_) => "incomplete",
            Self::NotEligible => "not_eligible",
            Self::EligibilityFirst(_) => "eligibility_first",
            Self::NotSubmitted(_) => "not_submitted",
            Self::ReferenceRequired { .. } => "reference_required",
            Self::ReferenceMalformed(_) => "reference_malformed",
            Self::AgreementNotActive { .. } => "agreement_not_active",
            Self::AgreementOfAnotherOrganisation { .. } => "agreement_of_another_organisation",
            Self::AgreementUnknown { .. } => "agreement_unknown",
            Self::CommentRequired => "comment_required",
            Self::ReasonRequired => "reason_required",
            Self::TooLong => "too_long",
            Self::FlowMissing(_) => "flow_missing",
            Self::Evaluation(_) => "evaluation",
            Self::Milestone(_) => "milestone",
        }
    }
}

/// One section of the application as its flows place it, with what the answers so far make of it.
#[derive(Debug, Clone)]
pub struct PlannedSection<'a> {
    pub key: SectionKey,
    pub flow: &'a Flow,
    pub stage: &'a Stage,
    pub section: &'a Section,
    /// The section applies (its stage and its own condition hold, for this organisation and these answers).
    pub shown: bool,
    /// Ids of its questions that are shown, and of those that must be answered.
    pub questions_shown: BTreeSet<String>,
    pub questions_required: BTreeSet<String>,
    /// For an eligibility gate: whether its rule holds on the answers so far.
    pub gate_passes: Option<bool>,
    pub state: SectionState,
}

/// Every section of an application, in flow order (flows in the application's order); a shared section appears
/// where it first occurs.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    pub sections: Vec<PlannedSection<'a>>,
}

impl<'a> Plan<'a> {
    /// Lays the application's sections out. `flows` must hold every pinned flow at its pinned version.
    pub fn of(
        application: &Application,
        flows: &[&'a Flow],
        organisation: &OrganisationFacts,
    ) -> Result<Self, ApplicationError> {
        let mut sections: Vec<PlannedSection<'a>> = Vec::new();
        for pinned in &application.flows {
            let flow =
                flows.iter().copied().find(|flow| flow.id == pinned.id && flow.version == pinned.version).ok_or_else(
                    || ApplicationError::FlowMissing(format!("{} version {}", pinned.id, pinned.version)),
                )?;
            let outcome = evaluate(flow, organisation, pinned.open_access, &answers_for(application, flow))
                .map_err(|error| ApplicationError::Evaluation(error.to_string()))?;
            for stage in &flow.stages {
                for section in &stage.sections {
                    let key = SectionKey::of(flow, section);
                    let planned = plan_section(application, flow, stage, section, &outcome, key);
                    match sections.iter_mut().find(|s| s.key == planned.key) {
                        // A shared section applies if any flow that has it shows it.
                        Some(first) => {
                            first.shown |= planned.shown;
                            first.questions_shown.extend(planned.questions_shown);
                            first.questions_required.extend(planned.questions_required);
                        }
                        None => sections.push(planned),
                    }
                }
            }
        }
        Ok(Self { sections })
    }

    pub fn get(&self, key: &SectionKey) -> Option<&PlannedSection<'a>> {
        self.sections.iter().find(|section| &section.key == key)
    }

    /// Every section that applies is approved: the application is fully assured.
    pub fn all_approved(&self) -> bool {
        self.sections.iter().filter(|s| s.shown).all(|s| s.state == SectionState::Approved)
    }

    /// DOS-6: every section that applies is approved, except those whose approval records the connection
    /// agreement itself (they wait for the agreement this makes ready), so the agreement can be prepared.
    pub fn ready_for_agreement(&self) -> bool {
        self.sections
            .iter()
            .filter(|s| s.shown && !records_agreement(s.section))
            .all(|s| s.state == SectionState::Approved)
    }

    /// The sections [`Plan::ready_for_agreement`] still waits for, by title.
    pub fn waiting_before_agreement(&self) -> Vec<String> {
        self.sections
            .iter()
            .filter(|s| s.shown && !records_agreement(s.section) && s.state != SectionState::Approved)
            .map(|s| s.section.title.clone())
            .collect()
    }

    /// DOS-6: the SHA-256 (lower-case hexadecimal) of the approved answers an agreement rests on: every approved
    /// section that applies, in order, with its key, its recorded reference and its answers; an evidence answer
    /// counts by the SHA-256 of each file's content (`file_hashes`, by file id), so the digest pins what the
    /// files said. The same answers always give the same digest.
    pub fn approved_answers_sha256(&self, application: &Application, file_hashes: &BTreeMap<String, String>) -> String {
        let sections: Vec<serde_json::Value> = self
            .sections
            .iter()
            .filter(|s| s.shown && s.state == SectionState::Approved)
            .filter_map(|planned| {
                let record = application.sections.get(&planned.key)?;
                let answers: BTreeMap<&str, serde_json::Value> = planned
                    .section
                    .questions
                    .iter()
                    .filter(|q| planned.questions_shown.contains(&q.id))
                    .filter_map(|q| {
                        let answer = record.answers.get(&q.id)?;
                        let value = match (q.kind, answer) {
                            (QuestionKind::Evidence, Answer::Choices(files)) => serde_json::json!(
                                files
                                    .iter()
                                    .map(|id| file_hashes.get(id).cloned().unwrap_or_default())
                                    .collect::<Vec<_>>()
                            ),
                            _ => serde_json::to_value(answer).unwrap_or(serde_json::Value::Null),
                        };
                        Some((q.id.as_str(), value))
                    })
                    .collect();
                Some(serde_json::json!({ "section": planned.key.0, "reference": record.reference, "answers": answers }))
            })
            .collect();
        let canonical = serde_json::json!({ "application": application.id.0, "sections": sections }).to_string();
        let mut hash = crate::evidence::ContentHash::new();
        hash.update(canonical.as_bytes());
        hash.finish()
    }
}

/// A section whose approval records the connection agreement's number (DOS-4).
fn records_agreement(section: &Section) -> bool {
    section.approval.as_ref().is_some_and(|approval| approval.prefix == AGREEMENT_REFERENCE_PREFIX)
}

fn plan_section<'a>(
    application: &Application,
    flow: &'a Flow,
    stage: &'a Stage,
    section: &'a Section,
    outcome: &Outcome,
    key: SectionKey,
) -> PlannedSection<'a> {
    let name = |question: &str| format!("q.{}.{question}", section.id);
    let ids = |set: &BTreeSet<String>| -> BTreeSet<String> {
        section.questions.iter().filter(|q| set.contains(&name(&q.id))).map(|q| q.id.clone()).collect()
    };
    let state = application.sections.get(&key).map(|record| record.state).unwrap_or_default();
    PlannedSection {
        shown: outcome.shown.contains(&section.id),
        questions_shown: ids(&outcome.shown),
        questions_required: ids(&outcome.required),
        gate_passes: section.gate.as_ref().map(|_| outcome.gates_passed.contains(&section.id)),
        state,
        key,
        flow,
        stage,
        section,
    }
}

/// The application's answers as `flow` names them: (section id, question id).
fn answers_for(application: &Application, flow: &Flow) -> Answers {
    let mut answers = Answers::new();
    for stage in &flow.stages {
        for section in &stage.sections {
            if let Some(record) = application.sections.get(&SectionKey::of(flow, section)) {
                for (question, answer) in &record.answers {
                    answers.insert((section.id.clone(), question.clone()), answer.clone());
                }
            }
        }
    }
    answers
}

/// Who acts on an application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// An owner or admin of the applying organisation.
    Supplier,
    Viewer,
    Staff,
}

fn standing(application: &Application, user: &User) -> Result<Standing, ApplicationError> {
    if user.is_staff() {
        return Ok(Standing::Staff);
    }
    match &user.membership {
        Some(membership) if membership.organisation_id == application.organisation_id => match membership.role {
            TeamRole::Viewer => Ok(Standing::Viewer),
            TeamRole::Owner | TeamRole::Admin => Ok(Standing::Supplier),
        },
        _ => Err(ApplicationError::NotYours),
    }
}

fn supplier(application: &Application, user: &User) -> Result<(), ApplicationError> {
    match standing(application, user)? {
        Standing::Supplier => Ok(()),
        Standing::Viewer => Err(ApplicationError::ViewerReadOnly),
        Standing::Staff => Err(ApplicationError::NotYours),
    }
}

fn checked_text(text: &str, empty: ApplicationError) -> Result<String, ApplicationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(empty);
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(ApplicationError::TooLong);
    }
    Ok(text.to_owned())
}

/// Decides `command` by `user` on `application` at `now`, against its pinned `flows`. Returns the application
/// afterwards; nothing else changes.
pub fn decide(
    application: &Application,
    flows: &[&Flow],
    organisation: &OrganisationFacts,
    user: &User,
    command: ApplicationCommand,
    now: Timestamp,
) -> Result<Application, ApplicationError> {
    if let ApplicationState::Rejected { reason, .. } = &application.state {
        return Err(ApplicationError::Rejected { reason: reason.clone() });
    }
    let plan = Plan::of(application, flows, organisation)?;
    let mut after = application.clone();
    match command {
        ApplicationCommand::Save { section, answers } => {
            supplier(application, user)?;
            let planned = plan.get(&section).ok_or_else(|| ApplicationError::UnknownSection(section.clone()))?;
            if !planned.shown {
                return Err(ApplicationError::SectionHidden);
            }
            let record = after.sections.entry(section.clone()).or_default();
            if matches!(record.state, SectionState::Submitted | SectionState::Approved) {
                return Err(ApplicationError::NotEditable(record.state));
            }
            for (question, answer) in answers {
                let Some(asked) = planned.section.questions.iter().find(|q| q.id == question) else {
                    return Err(ApplicationError::UnknownQuestion { section, question });
                };
                if asked.kind == QuestionKind::Evidence {
                    return Err(ApplicationError::UploadedNotTyped(asked.label.clone()));
                }
                // The answer must be one the question takes, exactly as a form would have given it: an answer of
                // another kind would make the flow's conditions impossible to evaluate.
                let answer = match answer {
                    Some(given) => {
                        let parsed =
                            crate::flow::answer::parse_answer(asked, &crate::flow::answer::answer_text(&given))
                                .map_err(|refused| ApplicationError::AnswerRefused {
                                    question: question.clone(),
                                    reason: refused.0,
                                })?;
                        if parsed.as_ref() != Some(&given) {
                            return Err(ApplicationError::AnswerRefused {
                                question,
                                reason: format!("not an answer a {} question takes", asked.kind.label()),
                            });
                        }
                        parsed
                    }
                    None => None,
                };
                match answer {
                    Some(answer) => record.answers.insert(question, answer),
                    None => record.answers.remove(&question),
                };
            }
            if record.state == SectionState::NotStarted {
                record.state = SectionState::InProgress;
            }
            record.changed_at = Some(now);
        }
        ApplicationCommand::Submit { section } => {
            supplier(application, user)?;
            let planned = plan.get(&section).ok_or_else(|| ApplicationError::UnknownSection(section.clone()))?;
            if !planned.shown {
                return Err(ApplicationError::SectionHidden);
            }
            if !matches!(planned.state, SectionState::InProgress | SectionState::ChangesRequested) {
                return Err(ApplicationError::NotEditable(planned.state));
            }
            let record = application.sections.get(&section).cloned().unwrap_or_default();
            let missing: Vec<QuestionProblem> = planned
                .section
                .questions
                .iter()
                .filter(|q| planned.questions_required.contains(&q.id) && !answered(q.kind, record.answers.get(&q.id)))
                .map(|q| QuestionProblem { question: q.id.clone(), reason: missing_reason(q.kind) })
                .collect();
            if !missing.is_empty() {
                return Err(ApplicationError::Incomplete(missing));
            }
            if planned.gate_passes == Some(false) {
                return Err(ApplicationError::NotEligible);
            }
            if planned.gate_passes.is_none() {
                let waiting: Vec<String> = plan
                    .sections
                    .iter()
                    .filter(|s| s.shown && s.gate_passes.is_some() && s.state != SectionState::Approved)
                    .map(|s| s.section.title.clone())
                    .collect();
                if !waiting.is_empty() {
                    return Err(ApplicationError::EligibilityFirst(waiting));
                }
            }
            let record = after.sections.entry(section).or_default();
            record.state = SectionState::Submitted;
            record.comments.clear();
            record.changed_at = Some(now);
            // DOS-5: the formal review starts when the last section that applies is submitted.
            let everything_in = plan.sections.iter().filter(|s| s.shown).all(|s| {
                let state = after.sections.get(&s.key).map(|r| r.state).unwrap_or_default();
                matches!(state, SectionState::Submitted | SectionState::Approved)
            });
            if everything_in {
                after.milestones.submitted_for_review = Some(now.to_zoned(crate::calendar::london()).date());
            }
        }
        ApplicationCommand::Attach { section, question, file } => {
            let (asked, record) = evidence_question(&plan, &mut after, application, user, &section, &question)?;
            let mut files = attached(record, &asked.id);
            let max = crate::evidence::max_files(&asked.limits);
            if files.len() >= usize::try_from(max).unwrap_or(usize::MAX) {
                return Err(ApplicationError::TooManyFiles(max));
            }
            if !files.contains(&file) {
                files.push(file);
            }
            record.answers.insert(asked.id.clone(), Answer::Choices(files));
            touch(record, now);
        }
        ApplicationCommand::Detach { section, question, file } => {
            let (asked, record) = evidence_question(&plan, &mut after, application, user, &section, &question)?;
            let mut files = attached(record, &asked.id);
            let before = files.len();
            files.retain(|attached| attached != &file);
            if files.len() == before {
                return Err(ApplicationError::FileNotAttached);
            }
            if files.is_empty() {
                record.answers.remove(&asked.id);
            } else {
                record.answers.insert(asked.id.clone(), Answer::Choices(files));
            }
            touch(record, now);
        }
        ApplicationCommand::Approve { section, reference, agreement } => {
            let planned = plan.get(&section).ok_or_else(|| ApplicationError::UnknownSection(section.clone()))?;
            let approval = planned.section.approval.as_ref();
            let role = if approval.is_some_and(|a| a.prefix == AGREEMENT_REFERENCE_PREFIX) {
                StaffRole::LiveService
            } else {
                StaffRole::Reviewer
            };
            if standing(application, user)? != Standing::Staff || !user.has_staff_role(role) {
                return Err(if role == StaffRole::LiveService {
                    ApplicationError::NotLiveService
                } else {
                    ApplicationError::NotReviewer
                });
            }
            if planned.state != SectionState::Submitted {
                return Err(ApplicationError::NotSubmitted(planned.state));
            }
            let recorded = match approval {
                None => None,
                Some(rule) => {
                    let reference = reference.as_deref().map(str::trim).filter(|r| !r.is_empty()).ok_or_else(|| {
                        ApplicationError::ReferenceRequired { label: rule.label.to_lowercase(), rule: rule.rule() }
                    })?;
                    rule.check(reference).map_err(ApplicationError::ReferenceMalformed)?;
                    if rule.prefix == AGREEMENT_REFERENCE_PREFIX {
                        let number = reference.to_owned();
                        match agreement.unwrap_or(ReferencedAgreement::Unknown) {
                            ReferencedAgreement::ActiveAndStarted => {}
                            ReferencedAgreement::NotActive { state } => {
                                return Err(ApplicationError::AgreementNotActive { number, state });
                            }
                            ReferencedAgreement::OtherOrganisation => {
                                return Err(ApplicationError::AgreementOfAnotherOrganisation { number });
                            }
                            ReferencedAgreement::Unknown => return Err(ApplicationError::AgreementUnknown { number }),
                        }
                    }
                    Some(reference.to_owned())
                }
            };
            let record = after.sections.entry(section).or_default();
            record.state = SectionState::Approved;
            record.reference = recorded;
            record.changed_at = Some(now);
        }
        ApplicationCommand::RequestChanges { section, comments } => {
            reviewer(application, user)?;
            let planned = plan.get(&section).ok_or_else(|| ApplicationError::UnknownSection(section.clone()))?;
            if planned.state != SectionState::Submitted {
                return Err(ApplicationError::NotSubmitted(planned.state));
            }
            let mut written = Vec::new();
            for (question, text) in comments {
                if text.trim().is_empty() {
                    continue;
                }
                if let Some(question) = &question
                    && !planned.section.questions.iter().any(|q| &q.id == question)
                {
                    return Err(ApplicationError::UnknownQuestion { section, question: question.clone() });
                }
                let text = checked_text(&text, ApplicationError::CommentRequired)?;
                written.push(ReviewComment { question, text, by: user.full_name.to_string(), at: now });
            }
            if written.is_empty() {
                return Err(ApplicationError::CommentRequired);
            }
            let record = after.sections.entry(section).or_default();
            record.state = SectionState::ChangesRequested;
            record.comments = written;
            record.changed_at = Some(now);
        }
        ApplicationCommand::Reject { reason } => {
            reviewer(application, user)?;
            let reason = checked_text(&reason, ApplicationError::ReasonRequired)?;
            after.state = ApplicationState::Rejected { reason, by: user.full_name.to_string(), at: now };
        }
        ApplicationCommand::SetMilestones { preparation_call, demonstration_call, go_live } => {
            reviewer(application, user)?;
            let set = milestones::Milestones { preparation_call, demonstration_call, go_live, ..after.milestones };
            if let Some(go_live) = go_live {
                set.check_go_live(go_live)?;
            }
            after.milestones = set;
        }
    }
    Ok(after)
}

/// The shown `evidence` question of an editable section, for the supplier to attach files to or detach from.
fn evidence_question<'a, 'r>(
    plan: &Plan<'a>,
    after: &'r mut Application,
    application: &Application,
    user: &User,
    section: &SectionKey,
    question: &str,
) -> Result<(&'a crate::flow::file::Question, &'r mut SectionRecord), ApplicationError> {
    supplier(application, user)?;
    let planned = plan.get(section).ok_or_else(|| ApplicationError::UnknownSection(section.clone()))?;
    if !planned.shown {
        return Err(ApplicationError::SectionHidden);
    }
    let asked =
        planned.section.questions.iter().find(|q| q.id == question).ok_or_else(|| {
            ApplicationError::UnknownQuestion { section: section.clone(), question: question.to_owned() }
        })?;
    if asked.kind != QuestionKind::Evidence {
        return Err(ApplicationError::NotEvidence(asked.label.clone()));
    }
    if !planned.questions_shown.contains(&asked.id) {
        return Err(ApplicationError::QuestionHidden);
    }
    let record = after.sections.entry(section.clone()).or_default();
    if matches!(record.state, SectionState::Submitted | SectionState::Approved) {
        return Err(ApplicationError::NotEditable(record.state));
    }
    Ok((asked, record))
}

/// The ids of the files on an evidence question, kept as its answer.
fn attached(record: &SectionRecord, question: &str) -> Vec<String> {
    match record.answers.get(question) {
        Some(Answer::Choices(files)) => files.clone(),
        _ => Vec::new(),
    }
}

fn touch(record: &mut SectionRecord, now: Timestamp) {
    if record.state == SectionState::NotStarted {
        record.state = SectionState::InProgress;
    }
    record.changed_at = Some(now);
}

fn reviewer(application: &Application, user: &User) -> Result<(), ApplicationError> {
    if standing(application, user)? == Standing::Staff && user.has_staff_role(StaffRole::Reviewer) {
        Ok(())
    } else {
        Err(ApplicationError::NotReviewer)
    }
}

/// Whether a required question counts as answered: an acknowledgement must be ticked, a list must not be empty.
fn answered(kind: QuestionKind, answer: Option<&Answer>) -> bool {
    match (kind, answer) {
        (_, None) => false,
        (QuestionKind::Acknowledgement, Some(answer)) => *answer == Answer::YesNo(true),
        (_, Some(Answer::Text(text))) => !text.trim().is_empty(),
        (_, Some(Answer::Choices(choices))) => !choices.is_empty(),
        (_, Some(_)) => true,
    }
}

fn missing_reason(kind: QuestionKind) -> String {
    match kind {
        QuestionKind::Acknowledgement => "Tick the box to confirm".to_owned(),
        QuestionKind::Evidence => "Upload the evidence this question asks for".to_owned(),
        QuestionKind::YesNo | QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
            "Choose an answer".to_owned()
        }
        _ => "Answer this question".to_owned(),
    }
}
