//! Issue 12, done-when 1 (DOS-3 .. DOS-6, ORG-3): one story per shipped flow, each on both databases, walking an
//! application from a new user's registration to every section approved.
//!
//! - *standard-api*: a change request on one question, read beside that question, answered and approved.
//! - *identity-service*: an IM1 supplier completes the request-for-change stage; a supplier that is not one
//!   never sees it.
//! - *messaging-service*: the eligibility gate is submitted and approved before anything else can be.
//! - *secure-email*: its business-case gate, then every stage, with no agreement at all.
//! - a provider-internal organisation skips the legal stage of every flow and is approved without a CNTR number.
//!
//! The walk is generic ([`Story::run_to_approval`]): each round it lays the application out with [`Plan::of`],
//! fills every shown question of every open section (a value the story names where it matters, else a valid
//! default for the question's kind and limits), uploads a file of an allowed type to every shown evidence
//! question, submits (eligibility gates first) and has the right staff approve: a reviewer, or live service with
//! the number of the organisation's own Active agreement, made once every other section is approved.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use common::{World, product};
use onramp_domain::agreement::{Agreement, AgreementState};
use onramp_domain::application::{
    AGREEMENT_REFERENCE_PREFIX, Application, ApplicationCommand, ApplicationError, ApplicationId, Plan, SectionKey,
    SectionState,
};
use onramp_domain::evidence::{FileType, allowed_types};
use onramp_domain::flow::answer::parse_answer;
use onramp_domain::flow::evaluate::Answer;
use onramp_domain::flow::file::{Flow, Question, QuestionKind};
use onramp_domain::notification::{ApplicationEvent, Notification};
use onramp_domain::{Organisation, OrganisationInput, OrganisationKind, StaffRole, User};
use onramp_service::accounts::{self, Registered, Registration};
use onramp_service::application_agreement::{self, AgreementFromApplicationError, AgreementStanding};
use onramp_service::applications::{self, ApplicationServiceError};
use onramp_service::organisations::{self, OrganisationError};
use onramp_service::{application_files, evidence, lifecycle};

onramp_store::on_both_backends!(
    World::new;
    standard_api_a_change_request_on_one_question_is_answered_and_the_application_approved,
    identity_service_an_im1_supplier_completes_the_request_for_change_and_others_never_see_it,
    messaging_service_the_eligibility_gate_is_approved_before_any_other_section_is_submitted,
    secure_email_the_business_case_gate_then_every_stage_to_approval_without_an_agreement,
    provider_internal_an_organisation_of_the_provider_skips_the_legal_stage_of_every_flow,
);

// ---------------------------------------------------------------------------------------------------------------
// People

/// The provider's staff who assure applications.
struct Staff {
    reviewer: User,
    live: User,
}

impl Staff {
    async fn new(world: &World) -> Self {
        Self {
            reviewer: world.staff_member("reviewer@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer]).await,
            live: world.staff_member("live@provider.example", "Liv Service", vec![StaffRole::LiveService]).await,
        }
    }
}

/// What a supplier types into the organisation form.
fn organisation_form(name: &str, ods: &str, kind: &str, im1_supplier: bool) -> OrganisationInput {
    OrganisationInput {
        name: name.into(),
        ods_code: ods.into(),
        company_number: if kind == "commercial" { "01234567".into() } else { String::new() },
        registered_address: "1 High Street\nLeeds".into(),
        kind: kind.into(),
        delivery_notice_mailbox: format!("notices@{}.example", ods.to_lowercase()),
        im1_supplier,
    }
}

async fn user(world: &World, user: &User) -> User {
    world.context.store.user(user.id).await.unwrap().unwrap()
}

/// A new user signs up, opens the link mailed to them (SEC-1), and is verified.
async fn verified_account(world: &World, email: &str, name: &str) -> User {
    let registration = Registration {
        email: email.into(),
        full_name: name.into(),
        password: "a long enough passphrase".into(),
        confirm_password: "a long enough passphrase".into(),
    };
    let Registered::New(created) = accounts::register(&world.context, &registration).await.unwrap() else {
        panic!("{email} has an account already");
    };
    assert!(!created.is_verified());
    let mails = world.notifications("address_verification").await;
    let mail = mails.iter().rev().find(|m| m.recipients == [email]).expect("a verification mail");
    let Notification::AddressVerification { path, .. } = &mail.notification else { panic!("{mail:?}") };
    let token = path.strip_prefix("/verify-address/").unwrap();
    accounts::verify_address(&world.context, token).await.unwrap();
    let verified = user(world, &created).await;
    assert!(verified.is_verified() && verified.membership.is_none());
    verified
}

/// From registration: a new user signs up, verifies their address, registers their organisation (becoming its
/// owner) and nominates themselves onboarding contact, so they can accept its agreement later.
async fn registered_owner(world: &World, email: &str, name: &str, form: &OrganisationInput) -> (User, Organisation) {
    let account = verified_account(world, email, name).await;
    let organisation = organisations::register(&world.context, &account, form).await.unwrap();
    let owner = user(world, &account).await;
    let membership = owner.membership.as_ref().expect("the registering user is a member");
    assert_eq!(membership.organisation_id, organisation.id);
    assert_eq!(membership.role, onramp_domain::TeamRole::Owner);
    organisations::nominate_onboarding_contact(&world.context, &owner).await.unwrap();
    (user(world, &owner).await, organisation)
}

fn key(raw: &str) -> SectionKey {
    SectionKey(raw.into())
}

fn rule<T: std::fmt::Debug>(result: Result<T, ApplicationServiceError>) -> ApplicationError {
    match result {
        Err(ApplicationServiceError::Rule(rule)) => rule,
        other => panic!("expected a rule of the application, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The generic walk

/// Answers that matter to a story, as a supplier types them, by `section.question`.
type Typed = &'static [(&'static str, &'static [&'static str])];

/// One application walked by one supplier, with the provider's staff on the other side.
struct Story<'w> {
    world: &'w World,
    staff: &'w Staff,
    owner: User,
    organisation: Organisation,
    id: ApplicationId,
    flows: Vec<Flow>,
    typed: BTreeMap<&'static str, &'static [&'static str]>,
    /// The connection agreement made for the CNTR approval, once every other section is approved.
    agreement: RefCell<Option<Agreement>>,
    /// What this story did that tells the other side (each an `application_update` message).
    submitted: Cell<usize>,
    approved: Cell<usize>,
    changes_requested: Cell<usize>,
    uploaded: Cell<usize>,
}

impl<'w> Story<'w> {
    async fn start(
        world: &'w World,
        staff: &'w Staff,
        owner: &User,
        organisation: &Organisation,
        products: &[&str],
        typed: Typed,
    ) -> Story<'w> {
        let slugs: Vec<_> = products.iter().map(|slug| product(slug)).collect();
        let application = applications::start(&world.context, owner, "Onward Care", &slugs).await.unwrap();
        assert!(application.sections.is_empty(), "nothing is answered yet");
        let flows = applications::pinned_flows(&world.context, &application).await.unwrap();
        Story {
            world,
            staff,
            owner: owner.clone(),
            organisation: organisation.clone(),
            id: application.id,
            flows,
            typed: typed.iter().copied().collect(),
            agreement: RefCell::new(None),
            submitted: Cell::new(0),
            approved: Cell::new(0),
            changes_requested: Cell::new(0),
            uploaded: Cell::new(0),
        }
    }

    async fn application(&self) -> Application {
        self.world.context.store.application(self.id).await.unwrap().unwrap()
    }

    fn plan<'a>(&'a self, application: &Application) -> Plan<'a> {
        let pinned: Vec<&Flow> = self.flows.iter().collect();
        Plan::of(application, &pinned, &applications::facts(&self.organisation)).unwrap()
    }

    /// The keys of the sections shown now.
    async fn shown(&self) -> BTreeSet<String> {
        let application = self.application().await;
        self.plan(&application).sections.iter().filter(|s| s.shown).map(|s| s.key.0.clone()).collect()
    }

    async fn state(&self, section: &SectionKey) -> SectionState {
        let application = self.application().await;
        self.plan(&application).get(section).expect("a section of the application").state
    }

    /// Acts through the service, counting what notifies the other side.
    async fn act(&self, user: &User, command: ApplicationCommand) -> Result<Application, ApplicationServiceError> {
        let counter = match &command {
            ApplicationCommand::Submit { .. } => Some(&self.submitted),
            ApplicationCommand::Approve { .. } => Some(&self.approved),
            ApplicationCommand::RequestChanges { .. } => Some(&self.changes_requested),
            _ => None,
        };
        let result = applications::act(&self.world.context, user, self.id, command).await;
        if let (Ok(_), Some(counter)) = (&result, counter) {
            counter.set(counter.get() + 1);
        }
        result
    }

    async fn save(&self, section: &SectionKey, answers: Vec<(&str, Answer)>) {
        let answers = answers.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect();
        self.act(&self.owner, ApplicationCommand::Save { section: section.clone(), answers }).await.unwrap();
    }

    /// The answer the supplier gives to `question` of the section `section_id`: the story's own, else a valid
    /// default, typed as in the form and parsed as the form does.
    fn answer_for(&self, section_id: &str, question: &Question) -> Answer {
        let name = format!("{section_id}.{}", question.id);
        let values: Vec<String> = match self.typed.get(name.as_str()) {
            Some(values) => values.iter().map(|v| (*v).to_owned()).collect(),
            None => default_values(question),
        };
        parse_answer(question, &values)
            .unwrap_or_else(|error| panic!("{name}: {values:?} is refused: {error:?}"))
            .unwrap_or_else(|| panic!("{name}: {values:?} is no answer"))
    }

    /// Fills every shown question of `section` that has no answer yet, again as answers show more questions,
    /// uploading a file to each evidence question.
    async fn fill(&self, section: &SectionKey) {
        for _ in 0..10 {
            let application = self.application().await;
            let plan = self.plan(&application);
            let planned = plan.get(section).expect("a section of the application");
            let record = application.sections.get(section);
            let missing: Vec<Question> = planned
                .section
                .questions
                .iter()
                .filter(|q| planned.questions_shown.contains(&q.id))
                .filter(|q| record.is_none_or(|r| !r.answers.contains_key(&q.id)))
                .cloned()
                .collect();
            let section_id = planned.section.id.clone();
            if missing.is_empty() {
                return;
            }
            let mut typed = Vec::new();
            for question in &missing {
                if question.kind == QuestionKind::Evidence {
                    self.upload(section, question).await;
                } else {
                    typed.push((question.id.as_str(), self.answer_for(&section_id, question)));
                }
            }
            if !typed.is_empty() {
                self.save(section, typed).await;
            }
        }
        panic!("{section} never settled: its answers keep showing new questions");
    }

    async fn upload(&self, section: &SectionKey, question: &Question) {
        let allowed = allowed_types(&question.limits);
        let (name, bytes) = evidence_file(&question.id, &allowed);
        let stored = application_files::upload(
            &self.world.context,
            &self.owner,
            self.id,
            section,
            &question.id,
            &name,
            evidence::ReadChunks(&bytes[..]),
        )
        .await
        .unwrap_or_else(|error| panic!("uploading {name} to {section} {}: {error:?}", question.id));
        assert_eq!(stored.question_id, question.id);
        assert_eq!(stored.size, u64::try_from(bytes.len()).unwrap());
        let record = self.application().await.sections[section].clone();
        assert_eq!(record.answers.get(&question.id), Some(&Answer::Choices(vec![stored.id.to_string()])));
        self.uploaded.set(self.uploaded.get() + 1);
    }

    async fn submit(&self, section: &SectionKey) {
        let after = self
            .act(&self.owner, ApplicationCommand::Submit { section: section.clone() })
            .await
            .unwrap_or_else(|error| panic!("submitting {section}: {error:?}"));
        assert_eq!(after.sections[section].state, SectionState::Submitted);
        assert!(after.sections[section].comments.is_empty(), "a submission clears the last review");
    }

    /// The right staff approve `section`: live service with the organisation's CNTR number where the approval
    /// records an agreement, a reviewer otherwise (with a well-formed reference where the section asks for one).
    async fn approve(&self, section: &SectionKey) {
        let approval = {
            let application = self.application().await;
            let plan = self.plan(&application);
            plan.get(section).unwrap().section.approval.clone()
        };
        let (user, reference) = match &approval {
            Some(needed) if needed.prefix == AGREEMENT_REFERENCE_PREFIX => {
                let number = self.agreement().await.number.to_string();
                let refused = self.act(&self.staff.reviewer, approve(section, Some(&number))).await;
                assert_eq!(rule(refused), ApplicationError::NotLiveService, "a reviewer cannot approve {section}");
                (&self.staff.live, Some(number))
            }
            Some(needed) => {
                let refused = self.act(&self.staff.reviewer, approve(section, None)).await;
                assert!(matches!(rule(refused), ApplicationError::ReferenceRequired { .. }));
                (&self.staff.reviewer, Some(format!("{}{}", needed.prefix, "1".repeat(usize::from(needed.digits)))))
            }
            None => (&self.staff.reviewer, None),
        };
        let after = self
            .act(user, approve(section, reference.as_deref()))
            .await
            .unwrap_or_else(|error| panic!("approving {section}: {error:?}"));
        assert_eq!(after.sections[section].state, SectionState::Approved);
        assert_eq!(after.sections[section].reference, reference);
    }

    /// The organisation's connection agreement, Active with a start date: created from the application by the
    /// agreement team (DOS-6) once it is ready, issued, and accepted by the owner (an onboarding contact), the
    /// first time it is needed.
    async fn agreement(&self) -> Agreement {
        if let Some(made) = self.agreement.borrow().clone() {
            return made;
        }
        let context = &self.world.context;
        let staff = &self.world.staff;
        let (standing, digest) = application_agreement::standing(context, staff, self.id).await.unwrap();
        assert_eq!(standing, AgreementStanding::Ready);
        assert!(digest.is_some_and(|d| d.len() == 64), "the approved answers' SHA-256");
        let created = application_agreement::create(context, staff, self.id).await.unwrap();
        assert_eq!(created.api_products, self.application().await.products, "its API products are the application's");
        let (standing, _) = application_agreement::standing(context, staff, self.id).await.unwrap();
        assert_eq!(standing, AgreementStanding::Created(created.number));
        let issued = lifecycle::issue(context, &self.world.staff, created.id).await.unwrap();
        let active = self.world.accept(&self.owner, &issued).await.unwrap();
        assert_eq!(active.state, AgreementState::Active);
        assert!(active.start_date.is_some(), "the CNTR approval needs a started agreement");
        *self.agreement.borrow_mut() = Some(active.clone());
        active
    }

    /// Walks every open section that applies to approval, round by round: while an eligibility gate is open
    /// only gates are submitted; a CNTR section is approved once every other section is.
    async fn run_to_approval(&self) {
        for _round in 0..30 {
            let application = self.application().await;
            let plan = self.plan(&application);
            let open: Vec<(SectionKey, SectionState, bool)> = plan
                .sections
                .iter()
                .filter(|s| s.shown && s.state != SectionState::Approved)
                .map(|s| (s.key.clone(), s.state, s.gate_passes.is_some()))
                .collect();
            if open.is_empty() {
                assert!(plan.all_approved());
                return;
            }
            let gates_open = open.iter().any(|(_, _, gate)| *gate);
            for (section, state, gate) in &open {
                if gates_open && !gate {
                    continue;
                }
                if matches!(state, SectionState::NotStarted | SectionState::InProgress | SectionState::ChangesRequested)
                {
                    self.fill(section).await;
                    self.submit(section).await;
                }
            }
            let application = self.application().await;
            let plan = self.plan(&application);
            let records_agreement = |s: &onramp_domain::application::PlannedSection<'_>| {
                s.section.approval.as_ref().is_some_and(|a| a.prefix == AGREEMENT_REFERENCE_PREFIX)
            };
            let others_approved = plan
                .sections
                .iter()
                .filter(|s| s.shown && !records_agreement(s))
                .all(|s| s.state == SectionState::Approved);
            let submitted: Vec<(SectionKey, bool)> = plan
                .sections
                .iter()
                .filter(|s| s.shown && s.state == SectionState::Submitted)
                .map(|s| (s.key.clone(), records_agreement(s)))
                .collect();
            for (section, agreement) in submitted {
                if agreement && !others_approved {
                    continue;
                }
                self.approve(&section).await;
            }
        }
        panic!("the application did not reach approval in 30 rounds");
    }

    async fn all_approved(&self) -> bool {
        let application = self.application().await;
        self.plan(&application).all_approved()
    }

    /// Every change is in the organisation's audit chain (which still verifies), and every submission and review
    /// sent its message to the other side.
    async fn check_audit_and_outbox(&self) {
        let records = self.world.context.store.audit_records().await.unwrap();
        let ours: Vec<_> =
            records.iter().filter(|r| r.entity == "application" && r.entity_id == self.id.0.to_string()).collect();
        let count = |action: &str| ours.iter().filter(|r| r.action == action).count();
        assert_eq!(count("application_start"), 1);
        assert!(count("application_save") >= 1);
        assert_eq!(count("application_submit"), self.submitted.get());
        assert_eq!(count("application_approve"), self.approved.get());
        assert_eq!(count("application_request_changes"), self.changes_requested.get());
        assert_eq!(count("evidence_upload"), self.uploaded.get());
        let made = usize::from(self.agreement.borrow().is_some());
        assert_eq!(count("agreement_from_application"), made, "an agreement is created from it only when needed");
        assert!(ours.iter().all(|r| r.chain_id == ours[0].chain_id), "one chain: the organisation's");
        onramp_service::audit::verify_audit(&self.world.context).await.unwrap();

        let mails = self.world.notifications("application_update").await;
        let events: Vec<&ApplicationEvent> = mails
            .iter()
            .filter_map(|mail| match &mail.notification {
                Notification::ApplicationUpdate { application, event, .. } if *application == self.id => Some(event),
                _ => None,
            })
            .collect();
        let told = |wanted: fn(&ApplicationEvent) -> bool| events.iter().filter(|e| wanted(e)).count();
        assert_eq!(told(|e| *e == ApplicationEvent::Submitted), self.submitted.get());
        assert_eq!(told(|e| *e == ApplicationEvent::Approved), self.approved.get());
        assert_eq!(told(|e| matches!(e, ApplicationEvent::ChangesRequested { .. })), self.changes_requested.get());
        assert_eq!(events.len(), self.submitted.get() + self.approved.get() + self.changes_requested.get());
    }
}

fn approve(section: &SectionKey, reference: Option<&str>) -> ApplicationCommand {
    ApplicationCommand::Approve { section: section.clone(), reference: reference.map(str::to_owned), agreement: None }
}

/// A valid answer for `question`, as typed in the form, within its limits and options.
fn default_values(question: &Question) -> Vec<String> {
    let limit = |text: &str, default: u32| -> String {
        let max = usize::try_from(question.limits.max_chars.unwrap_or(default)).unwrap();
        text.chars().take(max).collect()
    };
    let value = match question.kind {
        QuestionKind::ShortText => limit("Example answer", 200),
        QuestionKind::LongText => limit("A considered answer, written over\ntwo lines.", 10_000),
        QuestionKind::Email => "someone@onward.example".to_owned(),
        QuestionKind::EmailList => "legal@onward.example, Board@Onward.example".to_owned(),
        QuestionKind::YesNo | QuestionKind::Acknowledgement => "yes".to_owned(),
        QuestionKind::SingleChoice | QuestionKind::MultipleChoice => question.options[0].clone(),
        QuestionKind::Date => "15/03/2027".to_owned(),
        QuestionKind::Number => {
            let low = question.limits.min.unwrap_or(1.0).max(1.0);
            let value = question.limits.max.map_or(low, |max| low.min(max));
            format!("{value}")
        }
        QuestionKind::Evidence => unreachable!("evidence is uploaded"),
    };
    vec![value]
}

/// A small file of the first type the question takes that the story can make, named to match.
fn evidence_file(question: &str, allowed: &[FileType]) -> (String, Vec<u8>) {
    let preferred = [FileType::Pdf, FileType::Png, FileType::Jpg, FileType::Csv, FileType::Svg];
    let kind = preferred.into_iter().find(|kind| allowed.contains(kind)).expect("a type the story can make");
    let bytes = match kind {
        FileType::Pdf => b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec(),
        FileType::Png => {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.resize(200, 7);
            png
        }
        FileType::Jpg => {
            let mut jpg = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0".to_vec();
            jpg.resize(200, 7);
            jpg
        }
        FileType::Csv => b"test,result\nsearch,passed\n".to_vec(),
        FileType::Svg => b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"></svg>\n".to_vec(),
        _ => unreachable!(),
    };
    (format!("{question}.{}", kind.extensions()[0]), bytes)
}

// ---------------------------------------------------------------------------------------------------------------
// standard-api

const STANDARD: Typed = &[
    ("eligibility.use_case", &["Shows GP surgery staff their patients' registered details"]),
    ("eligibility.use_case_fits", &["yes"]),
    ("eligibility.uk_health_or_care", &["Yes"]),
    ("contacts.technical_contact", &["Tech@Northwind.example"]),
    ("service.channels", &["web", "desktop"]),
    ("service.expected_users", &["1,500"]),
    ("approved_agreement.signatories", &["legal@northwind.example; board@northwind.example"]),
    ("approved_agreement.signatory_accepted", &["yes"]),
];

/// Registration to approval on the standard flow, with the eligibility section sent back once with a comment on
/// its `use_case` question: the supplier reads the comment beside that question, changes that answer only and
/// resubmits; the agreement section is approved by live service with the organisation's CNTR number.
async fn standard_api_a_change_request_on_one_question_is_answered_and_the_application_approved(world: World) {
    let staff = Staff::new(&world).await;
    let form = organisation_form("Northwind Health", "NW1", "commercial", false);
    let (owner, organisation) = registered_owner(&world, "nia@northwind.example", "Nia Northwind", &form).await;
    let story = Story::start(&world, &staff, &owner, &organisation, &["gp-connect"], STANDARD).await;
    let shown = story.shown().await;
    let expected = ["eligibility", "contacts", "standard-api/service", "standard-api/conformance"];
    assert!(expected.iter().all(|s| shown.contains(*s)), "{shown:?}");
    assert!(shown.contains("standard-api/approved_agreement"), "a commercial supplier holds an agreement");

    let eligibility = key("eligibility");
    story.fill(&eligibility).await;
    assert_eq!(story.state(&eligibility).await, SectionState::InProgress);
    let early = story.act(&owner, ApplicationCommand::Submit { section: key("contacts") }).await;
    assert_eq!(rule(early), ApplicationError::NotEditable(SectionState::NotStarted), "nothing is answered there");
    story.submit(&eligibility).await;
    assert_eq!(story.state(&eligibility).await, SectionState::Submitted);
    let queue = world.context.store.review_queue().await.unwrap();
    assert_eq!(queue.len(), 1, "it waits for a reviewer");

    // The reviewer asks for changes on one question.
    let comment = "Say which care settings use it, and which of the patient's details it reads.";
    let request = vec![(Some("use_case".to_owned()), comment.to_owned())];
    let sent_back = story
        .act(&staff.reviewer, ApplicationCommand::RequestChanges { section: eligibility.clone(), comments: request })
        .await
        .unwrap();
    let record = sent_back.sections[&eligibility].clone();
    assert_eq!(record.state, SectionState::ChangesRequested);
    assert_eq!(story.state(&eligibility).await, SectionState::ChangesRequested);
    assert_eq!(record.comments.len(), 1);
    assert_eq!(record.comments[0].question.as_deref(), Some("use_case"), "the comment is beside its question");
    assert_eq!(record.comments[0].text, comment);
    assert_eq!(record.comments[0].by, "Rory Reviewer");
    assert!(world.context.store.review_queue().await.unwrap().is_empty(), "back with the supplier");
    let mails = world.notifications("application_update").await;
    let told: Vec<_> = mails
        .iter()
        .filter(|mail| {
            matches!(
                &mail.notification,
                Notification::ApplicationUpdate { event: ApplicationEvent::ChangesRequested { .. }, .. }
            )
        })
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].recipients, vec!["nia@northwind.example".to_owned()], "the owner is told");
    let Notification::ApplicationUpdate { event, section, .. } = &told[0].notification else { unreachable!() };
    assert_eq!((event, section.as_str()), (&ApplicationEvent::ChangesRequested { comments: 1 }, "Eligibility"));
    let submitted = mails.iter().find(|mail| mail.recipients != told[0].recipients).unwrap();
    assert_eq!(
        submitted.recipients,
        vec![world.context.config.provider.service_desk_email.to_string()],
        "a submission goes to the service desk"
    );
    let refused = story.act(&staff.reviewer, approve(&eligibility, None)).await;
    assert_eq!(rule(refused), ApplicationError::NotSubmitted(SectionState::ChangesRequested));

    // The supplier changes that one answer and sends the section again.
    let better = "GP surgery reception staff in England check a patient's registered address and GP.";
    story.save(&eligibility, vec![("use_case", Answer::Text(better.into()))]).await;
    let changed = story.application().await.sections[&eligibility].clone();
    assert_eq!(changed.state, SectionState::ChangesRequested, "saving keeps the section with the supplier");
    assert_eq!(changed.comments, record.comments, "the comment stays beside the question until resubmission");
    assert_eq!(changed.answers["use_case"], Answer::Text(better.into()));
    let others = |answers: &BTreeMap<String, Answer>| {
        answers.iter().filter(|(q, _)| *q != "use_case").map(|(q, a)| (q.clone(), a.clone())).collect::<Vec<_>>()
    };
    assert_eq!(others(&changed.answers), others(&record.answers), "the other answers are kept");
    story.submit(&eligibility).await;
    story.approve(&eligibility).await;
    assert_eq!(story.state(&eligibility).await, SectionState::Approved);
    let refused =
        story.act(&owner, ApplicationCommand::Save { section: eligibility.clone(), answers: BTreeMap::new() });
    assert_eq!(rule(refused.await), ApplicationError::NotEditable(SectionState::Approved));

    story.run_to_approval().await;
    let application = story.application().await;
    let service = &application.sections[&key("standard-api/service")];
    assert_eq!(service.answers["expected_users"], Answer::Number(1500.0));
    assert!(service.answers.contains_key("accessibility_statement"), "a web product sends its accessibility statement");
    let legal = &application.sections[&key("standard-api/approved_agreement")];
    let agreement = story.agreement.borrow().clone().expect("an agreement was made for the legal stage");
    assert_eq!(legal.reference, Some(agreement.number.to_string()));
    assert_eq!(
        legal.answers["signatories"],
        Answer::Choices(vec!["legal@northwind.example".into(), "board@northwind.example".into()])
    );
    assert!(story.all_approved().await);
    assert_eq!(story.changes_requested.get(), 1);
    story.check_audit_and_outbox().await;
}

// ---------------------------------------------------------------------------------------------------------------
// identity-service

const IDENTITY: Typed = &[
    ("preparation_call.ready_for_demonstration", &["yes"]),
    ("demonstration_call.signing_party", &["commissioner"]),
    ("demonstration_call.special_terms_needed", &["no"]),
    ("demonstration_call.estimated_go_live", &["2027-03-15"]),
    ("conformance_report.testing_complete", &["yes"]),
    ("clinical_safety.medical_device_class", &["class_i"]),
    ("rfc.delivery_lead", &["lead@im1.provider.example"]),
    ("rfc.raised", &["yes"]),
    ("rfc.reference", &["RFC-2026-0042"]),
];

/// An IM1 supplier (`org.im1_supplier`) sees the request-for-change stage, is refused submitting it without the
/// reference its answer calls for, completes it and reaches approval; a supplier that is not an IM1 supplier
/// never sees the stage, cannot submit it, and is approved without it.
async fn identity_service_an_im1_supplier_completes_the_request_for_change_and_others_never_see_it(world: World) {
    let staff = Staff::new(&world).await;
    let rfc = key("identity-service/rfc");

    let form = organisation_form("Crescent Clinical Systems", "CR1", "commercial", true);
    let (owner, organisation) = registered_owner(&world, "cal@crescent.example", "Cal Crescent", &form).await;
    assert!(organisation.details.im1_supplier);
    let story = Story::start(&world, &staff, &owner, &organisation, &["nhs-login"], IDENTITY).await;
    let application = story.application().await;
    let plan = story.plan(&application);
    let planned = plan.get(&rfc).unwrap();
    assert!(planned.shown, "an IM1 supplier has the request-for-change stage");
    assert_eq!(planned.stage.id, "request_for_change");
    assert!(planned.questions_required.contains("raised"));
    assert!(!planned.questions_shown.contains("reference"), "the reference is asked once it is raised");
    assert!(plan.get(&key("identity-service/approved_agreement")).unwrap().shown);

    // Not gated: the request for change may go first, and it asks for the reference once raised.
    story.save(&rfc, vec![("raised", Answer::YesNo(true))]).await;
    let application = story.application().await;
    let planned = story.plan(&application).get(&rfc).unwrap().clone();
    assert!(planned.questions_shown.contains("reference") && planned.questions_required.contains("reference"));
    let incomplete = rule(story.act(&owner, ApplicationCommand::Submit { section: rfc.clone() }).await);
    let ApplicationError::Incomplete(problems) = incomplete else { panic!("{incomplete:?}") };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].question, "reference", "the reason is beside the question");
    story.fill(&rfc).await;
    story.submit(&rfc).await;
    story.approve(&rfc).await;

    story.run_to_approval().await;
    let application = story.application().await;
    let record = &application.sections[&rfc];
    assert_eq!(record.state, SectionState::Approved);
    assert_eq!(record.answers["raised"], Answer::YesNo(true));
    assert_eq!(record.answers["reference"], Answer::Text("RFC-2026-0042".into()));
    let safety = &application.sections[&key("identity-service/clinical_safety")];
    assert!(safety.answers.contains_key("medical_device_registration"), "a class I device shows its registration");
    let legal = &application.sections[&key("identity-service/approved_agreement")];
    let agreement = story.agreement.borrow().clone().expect("an agreement was made for the legal stage");
    assert_eq!(legal.reference, Some(agreement.number.to_string()));
    assert!(story.all_approved().await);
    story.check_audit_and_outbox().await;

    // A supplier that is not an IM1 supplier.
    let form = organisation_form("Dovetail Apps", "DV1", "commercial", false);
    let (owner, organisation) = registered_owner(&world, "dee@dovetail.example", "Dee Dovetail", &form).await;
    let other = Story::start(&world, &staff, &owner, &organisation, &["nhs-login"], IDENTITY).await;
    let application = other.application().await;
    let plan = other.plan(&application);
    let planned = plan.get(&rfc).unwrap();
    assert!(!planned.shown && planned.questions_shown.is_empty() && planned.questions_required.is_empty());
    assert!(plan.sections.iter().filter(|s| s.shown).all(|s| s.stage.id != "request_for_change"));
    assert_eq!(
        rule(other.act(&owner, ApplicationCommand::Submit { section: rfc.clone() }).await),
        ApplicationError::SectionHidden
    );
    other.run_to_approval().await;
    assert!(other.all_approved().await);
    let application = other.application().await;
    assert!(!application.sections.contains_key(&rfc), "never answered, never needed");
    assert!(!other.shown().await.contains(rfc.0.as_str()));
    other.check_audit_and_outbox().await;
}

// ---------------------------------------------------------------------------------------------------------------
// messaging-service

const MESSAGING: Typed = &[
    ("eligibility.direct_care", &["yes"]),
    ("eligibility.health_service", &["yes"]),
    ("eligibility.integration_route", &["api"]),
    ("message_templates.kinds", &["text_message", "letter"]),
    ("data_processing.childrens_data", &["no"]),
    ("secure_development.data_in_transit", &["encrypted_by_default", "external_interfaces"]),
];

/// The eligibility gate comes first: until it is approved no other section can be submitted, whatever it holds;
/// a failing answer cannot be submitted at all. Then every stage to approval, the agreement section last.
async fn messaging_service_the_eligibility_gate_is_approved_before_any_other_section_is_submitted(world: World) {
    let staff = Staff::new(&world).await;
    let form = organisation_form("Eastgate Community Trust", "RX1", "public_healthcare", false);
    let (owner, organisation) = registered_owner(&world, "eve@eastgate.example", "Eve Eastgate", &form).await;
    let story = Story::start(&world, &staff, &owner, &organisation, &["nhs-notify"], MESSAGING).await;
    let eligibility = key("messaging-service/eligibility");
    let interest = key("messaging-service/interest");
    let application = story.application().await;
    let plan = story.plan(&application);
    let gates: Vec<_> = plan.sections.iter().filter(|s| s.gate_passes.is_some()).map(|s| s.key.clone()).collect();
    assert_eq!(gates, vec![eligibility.clone()], "one gate");
    assert!(plan.get(&eligibility).unwrap().questions_required.contains("health_service"));

    // A complete section after the gate is refused while the gate is not approved.
    story.fill(&interest).await;
    let first = rule(story.act(&owner, ApplicationCommand::Submit { section: interest.clone() }).await);
    assert_eq!(first, ApplicationError::EligibilityFirst(vec!["Eligibility".into()]));

    // An answer that fails the gate cannot be submitted.
    story
        .save(&eligibility, vec![("direct_care", Answer::YesNo(true)), ("health_service", Answer::YesNo(false))])
        .await;
    story.fill(&eligibility).await;
    let application = story.application().await;
    assert_eq!(story.plan(&application).get(&eligibility).unwrap().gate_passes, Some(false));
    let failing = story.act(&owner, ApplicationCommand::Submit { section: eligibility.clone() }).await;
    assert_eq!(rule(failing), ApplicationError::NotEligible);
    story.save(&eligibility, vec![("health_service", Answer::YesNo(true))]).await;
    let application = story.application().await;
    assert_eq!(story.plan(&application).get(&eligibility).unwrap().gate_passes, Some(true));
    story.submit(&eligibility).await;

    // Submitted is not enough: the gate must be approved.
    let waiting = rule(story.act(&owner, ApplicationCommand::Submit { section: interest.clone() }).await);
    assert_eq!(waiting, ApplicationError::EligibilityFirst(vec!["Eligibility".into()]));
    assert_eq!(story.state(&interest).await, SectionState::InProgress);
    story.approve(&eligibility).await;
    story.submit(&interest).await;
    assert_eq!(story.state(&interest).await, SectionState::Submitted);

    story.run_to_approval().await;
    let application = story.application().await;
    let templates = &application.sections[&key("messaging-service/message_templates")];
    assert!(templates.answers.contains_key("letter_proofs"), "letter templates send their proofs");
    let development = &application.sections[&key("messaging-service/secure_development")];
    assert!(development.answers.contains_key("data_in_transit_gaps"), "unprotected transit asks for a plan");
    let legal = &application.sections[&key("messaging-service/approved_agreement")];
    let agreement = story.agreement.borrow().clone().expect("an agreement was made for the legal stage");
    assert_eq!(legal.reference, Some(agreement.number.to_string()));
    assert!(application.milestones.submitted_for_review.is_some(), "DOS-5: the formal review started");
    assert!(story.all_approved().await);
    story.check_audit_and_outbox().await;
}

// ---------------------------------------------------------------------------------------------------------------
// secure-email

const SECURE_EMAIL: Typed = &[
    ("business_case.regular_exchange", &["yes"]),
    ("business_case.accounts", &["5"]),
    ("business_case.frequency", &["daily"]),
    ("business_case.licences_held", &["yes"]),
    ("network_connection.has_connection", &["no"]),
    ("network_connection.connection_expected", &["1/2/2027"]),
    ("acceptable_use_policy.signer_name", &["Harriet Harbour, Chief Executive"]),
];

/// The business-case gate first (no other section before it is approved), then every stage to approval. The
/// flow has no legal stage, so no agreement is made and no approval records a reference.
async fn secure_email_the_business_case_gate_then_every_stage_to_approval_without_an_agreement(world: World) {
    let staff = Staff::new(&world).await;
    let form = organisation_form("Harbour Legal Services", "HB1", "commercial", false);
    let (owner, organisation) = registered_owner(&world, "hal@harbour.example", "Hal Harbour", &form).await;
    let story = Story::start(&world, &staff, &owner, &organisation, &["nhsmail-third-party"], SECURE_EMAIL).await;
    let business_case = key("business_case");
    let policy = key("secure-email/acceptable_use_policy");
    story.fill(&policy).await;
    let first = rule(story.act(&owner, ApplicationCommand::Submit { section: policy.clone() }).await);
    assert_eq!(first, ApplicationError::EligibilityFirst(vec!["Your business case".into()]));
    story.fill(&business_case).await;
    let application = story.application().await;
    let planned = story.plan(&application).get(&business_case).unwrap().clone();
    assert_eq!(planned.gate_passes, Some(true));
    assert!(planned.questions_shown.contains("licence_evidence"), "licences held: evidence may be sent");
    assert!(!planned.questions_required.contains("licence_evidence"), "but need not be");

    story.run_to_approval().await;
    let application = story.application().await;
    let network = &application.sections[&key("secure-email/network_connection")];
    assert!(network.answers.contains_key("connection_expected") && !network.answers.contains_key("organisation_code"));
    assert!(application.sections.values().all(|s| s.reference.is_none()), "no approval records a reference");
    assert!(story.agreement.borrow().is_none());
    assert!(world.context.store.agreements_of(organisation.id).await.unwrap().is_empty());
    assert!(story.all_approved().await);
    story.check_audit_and_outbox().await;
}

// ---------------------------------------------------------------------------------------------------------------
// A provider-internal organisation

const INTERNAL: Typed = &[
    ("eligibility.direct_care", &["yes"]),
    ("preparation_call.ready_for_demonstration", &["yes"]),
    ("service.channels", &["desktop"]),
];

/// ORG-3: a team of the provider registers (it cannot pick the provider-internal kind itself; the provider sets
/// it), applies for products of the three flows that have a legal stage, sees none of their agreement sections,
/// and every application is approved without a CNTR number or any agreement.
async fn provider_internal_an_organisation_of_the_provider_skips_the_legal_stage_of_every_flow(world: World) {
    let staff = Staff::new(&world).await;
    let account = verified_account(&world, "pat@spine-tools.example", "Pat Platform").await;
    let chosen = organisation_form("Spine Tools Team", "PI1", "provider_internal", false);
    let refused = organisations::register(&world.context, &account, &chosen).await;
    let Err(OrganisationError::Invalid(errors)) = refused else { panic!("{refused:?}") };
    assert!(errors.for_field("kind").is_some(), "only staff may pick the provider-internal kind");
    let form = organisation_form("Spine Tools Team", "PI1", "commercial", false);
    let registered = organisations::register(&world.context, &account, &form).await.unwrap();
    // ORG-3: only the provider's staff make an organisation part of the provider.
    let internal = OrganisationKind::ProviderInternal;
    assert!(organisations::set_kind(&world.context, &account, registered.id, internal).await.is_err());
    let organisation = organisations::set_kind(&world.context, &world.staff, registered.id, internal).await.unwrap();
    assert_eq!(applications::facts(&organisation).kind, "provider_internal");
    let records = world.context.store.audit_records().await.unwrap();
    assert_eq!(records.iter().filter(|r| r.action == "organisation_kind_change").count(), 1);
    let owner = user(&world, &account).await;

    let legal = [
        "standard-api/approved_agreement",
        "identity-service/agreement_changes",
        "identity-service/approved_agreement",
    ];
    let story = Story::start(&world, &staff, &owner, &organisation, &["pds-fhir", "nhs-login"], INTERNAL).await;
    let application = story.application().await;
    assert_eq!(
        application.flows.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        ["standard-api", "identity-service"]
    );
    let plan = story.plan(&application);
    for section in legal {
        let planned = plan.get(&key(section)).unwrap();
        assert_eq!(planned.stage.id, "legal");
        assert!(!planned.shown, "{section} does not apply inside the provider");
    }
    let demonstration = plan.get(&key("identity-service/demonstration_call")).unwrap();
    for question in ["signing_party", "special_terms_needed", "special_terms"] {
        assert!(demonstration.section.questions.iter().any(|q| q.id == question));
        assert!(!demonstration.questions_shown.contains(question), "{question} is for agreements only");
        assert!(!demonstration.questions_required.contains(question));
    }
    assert!(!plan.sections.iter().any(|s| s.key.0 == "identity-service/rfc" && s.shown));
    let hidden = story.act(&owner, ApplicationCommand::Submit { section: key(legal[0]) }).await;
    assert_eq!(rule(hidden), ApplicationError::SectionHidden);

    story.run_to_approval().await;
    let application = story.application().await;
    for section in legal {
        assert!(!application.sections.contains_key(&key(section)), "{section} was never asked");
    }
    let demonstration = &application.sections[&key("identity-service/demonstration_call")];
    assert!(!demonstration.answers.contains_key("signing_party"));
    assert!(application.sections.values().all(|s| s.reference.is_none()), "no CNTR number was recorded");
    assert!(story.all_approved().await);
    story.check_audit_and_outbox().await;
    let (standing, _) = application_agreement::standing(&world.context, &world.staff, story.id).await.unwrap();
    assert_eq!(standing, AgreementStanding::NotNeeded);
    let refused = application_agreement::create(&world.context, &world.staff, story.id).await;
    assert!(matches!(refused, Err(AgreementFromApplicationError::ProviderInternal)), "{refused:?}");

    // The messaging service: its gate passes on direct care alone, and its agreement section is skipped too.
    let messaging = Story::start(&world, &staff, &owner, &organisation, &["nhs-notify"], INTERNAL).await;
    let application = messaging.application().await;
    let plan = messaging.plan(&application);
    let eligibility = plan.get(&key("messaging-service/eligibility")).unwrap();
    assert!(!eligibility.questions_shown.contains("health_service"));
    assert!(!plan.get(&key("messaging-service/approved_agreement")).unwrap().shown);
    messaging.run_to_approval().await;
    let application = messaging.application().await;
    assert!(!application.sections[&key("messaging-service/eligibility")].answers.contains_key("health_service"));
    assert!(!application.sections.contains_key(&key("messaging-service/approved_agreement")));
    assert!(application.sections.values().all(|s| s.reference.is_none()));
    assert!(messaging.all_approved().await);
    messaging.check_audit_and_outbox().await;

    assert!(story.agreement.borrow().is_none() && messaging.agreement.borrow().is_none());
    assert!(world.context.store.agreements_of(organisation.id).await.unwrap().is_empty(), "never asked for one");
}
