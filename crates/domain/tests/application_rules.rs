//! DOS-3, DOS-4: the rules of an application, on the shipped flows: sections answered, submitted when complete,
//! eligibility first, approved or sent back with comments beside questions, rejected with a reason; a shared
//! section is one section however many flows have it; the connection-agreement section is approved only by
//! live service with the number of the organisation's Active agreement; an application keeps the flow
//! version it started on.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use std::collections::BTreeMap;

use jiff::Timestamp;
use onramp_domain::application::{
    Application, ApplicationCommand, ApplicationError, ApplicationId, ApplicationState, PinnedFlow, Plan,
    ReferencedAgreement, SectionKey, SectionState, decide,
};
use onramp_domain::flow::FlowCatalogue;
use onramp_domain::flow::evaluate::{Answer, OrganisationFacts};
use onramp_domain::flow::file::{self, Flow};
use onramp_domain::{
    ApiProduct, EmailAddress, Membership, OrganisationId, PersonName, StaffRole, TeamRole, User, UserId,
};
use uuid::Uuid;

fn now() -> Timestamp {
    "2026-12-03T10:00:00Z".parse().unwrap()
}

fn person(name: &str, roles: Vec<StaffRole>, membership: Option<Membership>) -> User {
    User {
        id: UserId(Uuid::new_v4()),
        email: EmailAddress::parse(&format!("{}@example.org", name.to_lowercase().replace(' ', "."))).unwrap(),
        full_name: PersonName::parse(name).unwrap(),
        password_hash: None,
        staff_roles: roles,
        membership,
        created_at: now(),
        email_verified_at: Some(now()),
    }
}

struct World {
    flows: FlowCatalogue,
    organisation: OrganisationId,
    owner: User,
    viewer: User,
    outsider: User,
    reviewer: User,
    live_service: User,
}

impl World {
    fn new() -> Self {
        let organisation = OrganisationId(Uuid::new_v4());
        let member = |role| Some(Membership { organisation_id: organisation, role, onboarding_contact: true });
        let other = Some(Membership {
            organisation_id: OrganisationId(Uuid::new_v4()),
            role: TeamRole::Owner,
            onboarding_contact: true,
        });
        Self {
            flows: FlowCatalogue::shipped().unwrap(),
            organisation,
            owner: person("Olu Owner", vec![], member(TeamRole::Owner)),
            viewer: person("Vic Viewer", vec![], member(TeamRole::Viewer)),
            outsider: person("Oscar Other", vec![], other),
            reviewer: person("Rory Reviewer", vec![StaffRole::Reviewer], None),
            live_service: person("Liv Service", vec![StaffRole::LiveService], None),
        }
    }

    fn application(&self, flows: &[&str]) -> Application {
        Application {
            id: ApplicationId(Uuid::new_v4()),
            organisation_id: self.organisation,
            product_name: "Acme Records".into(),
            products: vec![ApiProduct::parse("pds-fhir").unwrap()],
            flows: flows.iter().map(|id| PinnedFlow { id: (*id).into(), version: 1, open_access: false }).collect(),
            state: ApplicationState::Open,
            sections: BTreeMap::new(),
            started_at: now(),
            milestones: Default::default(),
        }
    }

    fn pinned(&self) -> Vec<&Flow> {
        self.flows.iter().collect()
    }
}

fn commercial() -> OrganisationFacts {
    OrganisationFacts { kind: "commercial".into(), im1_supplier: false }
}

fn key(raw: &str) -> SectionKey {
    SectionKey(raw.into())
}

fn answers(pairs: &[(&str, Answer)]) -> BTreeMap<String, Option<Answer>> {
    pairs.iter().map(|(q, a)| ((*q).to_owned(), Some(a.clone()))).collect()
}

fn act(
    world: &World,
    application: &Application,
    user: &User,
    command: ApplicationCommand,
) -> Result<Application, ApplicationError> {
    decide(application, &world.pinned(), &commercial(), user, command, now())
}

fn eligible() -> BTreeMap<String, Option<Answer>> {
    answers(&[
        ("use_case", Answer::Text("Shows patients their demographic details".into())),
        ("use_case_fits", Answer::YesNo(true)),
        ("uk_health_or_care", Answer::YesNo(true)),
    ])
}

#[test]
fn dos3_a_section_is_saved_submitted_sent_back_with_a_comment_on_a_question_and_approved() {
    let world = World::new();
    let mut application = world.application(&["standard-api"]);
    let eligibility = key("eligibility");

    let partial = answers(&[("use_case_fits", Answer::YesNo(true))]);
    application = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: partial },
    )
    .unwrap();
    assert_eq!(application.sections[&eligibility].state, SectionState::InProgress);

    let refused = act(&world, &application, &world.owner, ApplicationCommand::Submit { section: eligibility.clone() });
    let Err(ApplicationError::Incomplete(problems)) = refused else { panic!("{refused:?}") };
    let missing: Vec<&str> = problems.iter().map(|p| p.question.as_str()).collect();
    assert_eq!(missing, ["use_case", "uk_health_or_care"], "every reason, beside its question");

    application = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: eligible() },
    )
    .unwrap();
    application =
        act(&world, &application, &world.owner, ApplicationCommand::Submit { section: eligibility.clone() }).unwrap();
    assert_eq!(application.sections[&eligibility].state, SectionState::Submitted);
    let locked = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: eligible() },
    );
    assert_eq!(locked.unwrap_err(), ApplicationError::NotEditable(SectionState::Submitted));

    let no_comment =
        ApplicationCommand::RequestChanges { section: eligibility.clone(), comments: vec![(None, "  ".into())] };
    assert_eq!(act(&world, &application, &world.reviewer, no_comment).unwrap_err(), ApplicationError::CommentRequired);
    let comment = ApplicationCommand::RequestChanges {
        section: eligibility.clone(),
        comments: vec![(Some("use_case".into()), "Say which care settings use it.".into())],
    };
    assert_eq!(act(&world, &application, &world.owner, comment.clone()).unwrap_err(), ApplicationError::NotReviewer);
    application = act(&world, &application, &world.reviewer, comment).unwrap();
    let record = &application.sections[&eligibility];
    assert_eq!(record.state, SectionState::ChangesRequested);
    assert_eq!(
        (record.comments[0].question.as_deref(), record.comments[0].by.as_str()),
        (Some("use_case"), "Rory Reviewer")
    );

    let better = answers(&[("use_case", Answer::Text("GP surgeries and community pharmacies".into()))]);
    application = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: better },
    )
    .unwrap();
    assert_eq!(application.sections[&eligibility].state, SectionState::ChangesRequested, "until it is resubmitted");
    application =
        act(&world, &application, &world.owner, ApplicationCommand::Submit { section: eligibility.clone() }).unwrap();
    assert!(application.sections[&eligibility].comments.is_empty());
    let approve = ApplicationCommand::Approve { section: eligibility.clone(), reference: None, agreement: None };
    application = act(&world, &application, &world.reviewer, approve).unwrap();
    assert_eq!(application.sections[&eligibility].state, SectionState::Approved);
}

#[test]
fn dos3_eligibility_is_approved_before_anything_else_is_submitted_and_a_failed_gate_cannot_be_submitted() {
    let world = World::new();
    let mut application = world.application(&["standard-api"]);
    let contacts = key("contacts");
    let contact = answers(&[("technical_contact", Answer::Text("tech@acme.example".into()))]);
    application = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: contacts.clone(), answers: contact },
    )
    .unwrap();
    let early = act(&world, &application, &world.owner, ApplicationCommand::Submit { section: contacts.clone() });
    assert_eq!(early.unwrap_err(), ApplicationError::EligibilityFirst(vec!["Eligibility".into()]));

    let mut ineligible = eligible();
    ineligible.insert("uk_health_or_care".into(), Some(Answer::YesNo(false)));
    let eligibility = key("eligibility");
    application = act(
        &world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: ineligible },
    )
    .unwrap();
    let refused = act(&world, &application, &world.owner, ApplicationCommand::Submit { section: eligibility });
    assert_eq!(refused.unwrap_err(), ApplicationError::NotEligible);
}

#[test]
fn dos3_who_may_do_what() {
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let save = ApplicationCommand::Save { section: key("eligibility"), answers: eligible() };
    assert_eq!(act(&world, &application, &world.viewer, save.clone()).unwrap_err(), ApplicationError::ViewerReadOnly);
    assert_eq!(act(&world, &application, &world.outsider, save.clone()).unwrap_err(), ApplicationError::NotYours);
    assert_eq!(act(&world, &application, &world.reviewer, save.clone()).unwrap_err(), ApplicationError::NotYours);
    let unknown = ApplicationCommand::Save { section: key("standard-api/nowhere"), answers: eligible() };
    assert!(matches!(act(&world, &application, &world.owner, unknown), Err(ApplicationError::UnknownSection(_))));
    let stray =
        ApplicationCommand::Save { section: key("eligibility"), answers: answers(&[("colour", Answer::YesNo(true))]) };
    assert!(matches!(act(&world, &application, &world.owner, stray), Err(ApplicationError::UnknownQuestion { .. })));
}

#[test]
fn dos3_a_rejected_application_is_closed_with_its_reason() {
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let blank = ApplicationCommand::Reject { reason: " ".into() };
    assert_eq!(act(&world, &application, &world.reviewer, blank).unwrap_err(), ApplicationError::ReasonRequired);
    let reject = ApplicationCommand::Reject { reason: "The product does not use patient data.".into() };
    assert_eq!(act(&world, &application, &world.owner, reject.clone()).unwrap_err(), ApplicationError::NotReviewer);
    let rejected = act(&world, &application, &world.reviewer, reject).unwrap();
    let save = ApplicationCommand::Save { section: key("eligibility"), answers: eligible() };
    assert_eq!(
        act(&world, &rejected, &world.owner, save).unwrap_err().to_string(),
        "the application was rejected: The product does not use patient data."
    );
}

#[test]
fn dos3_a_shared_section_is_one_section_across_the_flows_of_an_application() {
    let world = World::new();
    let extra = file::load(
        "extra.toml",
        "id = \"extra\"\nname = \"Extra\"\nversion = 1\n\n[[stages]]\nid = \"s\"\ntitle = \"S\"\n\n\
         [[stages.sections]]\nid = \"contacts\"\ntitle = \"Contacts\"\nshared = true\n\n\
         [[stages.sections.questions]]\nid = \"technical_contact\"\nkind = \"email\"\nlabel = \"Technical \
         contact\"\nrequired = true\n\n[[stages.sections]]\nid = \"eligibility\"\ntitle = \"Own rules\"\n\n\
         [[stages.sections.questions]]\nid = \"fits\"\nkind = \"yes_no\"\nlabel = \"Fits?\"\n",
    )
    .unwrap();
    let mut application = world.application(&["standard-api"]);
    application.flows.push(PinnedFlow { id: "extra".into(), version: 1, open_access: false });
    let mut pinned = world.pinned();
    pinned.push(&extra);
    let plan = Plan::of(&application, &pinned, &commercial()).unwrap();
    let keys: Vec<&str> = plan.sections.iter().map(|s| s.key.0.as_str()).collect();
    assert_eq!(keys.iter().filter(|k| **k == "contacts").count(), 1, "answered and assured once: {keys:?}");
    assert!(keys.contains(&"eligibility") && keys.contains(&"extra/eligibility"), "not shared there: {keys:?}");
    assert_eq!(plan.sections.iter().position(|s| s.key.0 == "contacts"), Some(1), "where it first occurs");
}

/// Approving the legal section of a submitted application, with every earlier section approved first.
fn with_legal_submitted(world: &World) -> Application {
    let mut application = world.application(&["standard-api"]);
    let eligibility = key("eligibility");
    application = act(
        world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: eligibility.clone(), answers: eligible() },
    )
    .unwrap();
    application =
        act(world, &application, &world.owner, ApplicationCommand::Submit { section: eligibility.clone() }).unwrap();
    let approve = ApplicationCommand::Approve { section: eligibility, reference: None, agreement: None };
    application = act(world, &application, &world.reviewer, approve).unwrap();
    let legal = key("standard-api/approved_agreement");
    let signatories = answers(&[
        ("signatories", Answer::Choices(vec!["legal@acme.example".into()])),
        ("signatory_accepted", Answer::YesNo(true)),
    ]);
    application = act(
        world,
        &application,
        &world.owner,
        ApplicationCommand::Save { section: legal.clone(), answers: signatories },
    )
    .unwrap();
    act(world, &application, &world.owner, ApplicationCommand::Submit { section: legal }).unwrap()
}

#[test]
fn dos4_the_agreement_section_is_approved_only_by_live_service_with_the_organisations_active_agreement() {
    let world = World::new();
    let application = with_legal_submitted(&world);
    let legal = key("standard-api/approved_agreement");
    let approve = |reference: Option<&str>, agreement: Option<ReferencedAgreement>| ApplicationCommand::Approve {
        section: legal.clone(),
        reference: reference.map(str::to_owned),
        agreement,
    };
    let active = Some(ReferencedAgreement::ActiveAndStarted);
    assert_eq!(
        act(&world, &application, &world.reviewer, approve(Some("CNTR0000001"), active.clone())).unwrap_err(),
        ApplicationError::NotLiveService
    );
    let cases = [
        (approve(None, None), "the approval must record the connection agreement number (CNTR followed by 7 digits)"),
        (approve(Some("CNTR12"), None), "the connection agreement number is CNTR followed by 7 digits"),
        (
            approve(Some("CNTR0000002"), Some(ReferencedAgreement::NotActive { state: "Draft".into() })),
            "CNTR0000002 is Draft: the connection agreement must be Active, with a start date",
        ),
        (
            approve(Some("CNTR0000003"), Some(ReferencedAgreement::OtherOrganisation)),
            "CNTR0000003 is another organisation's agreement",
        ),
        (approve(Some("CNTR0000004"), Some(ReferencedAgreement::Unknown)), "there is no agreement CNTR0000004"),
    ];
    for (command, message) in cases {
        assert_eq!(act(&world, &application, &world.live_service, command).unwrap_err().to_string(), message);
    }
    let approved = act(&world, &application, &world.live_service, approve(Some(" CNTR0000001 "), active)).unwrap();
    let record = &approved.sections[&legal];
    assert_eq!((record.state, record.reference.as_deref()), (SectionState::Approved, Some("CNTR0000001")));
}

#[test]
fn org3_a_provider_internal_organisation_has_no_legal_section_to_answer() {
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let internal = OrganisationFacts { kind: "provider_internal".into(), im1_supplier: false };
    let pinned = world.pinned();
    let plan = Plan::of(&application, &pinned, &internal).unwrap();
    assert!(!plan.get(&key("standard-api/approved_agreement")).unwrap().shown);
    let save = ApplicationCommand::Save { section: key("standard-api/approved_agreement"), answers: BTreeMap::new() };
    assert_eq!(
        decide(&application, &pinned, &internal, &world.owner, save, now()),
        Err(ApplicationError::SectionHidden)
    );
    let submit = ApplicationCommand::Submit { section: key("standard-api/approved_agreement") };
    assert_eq!(
        decide(&application, &pinned, &internal, &world.owner, submit, now()).unwrap_err(),
        ApplicationError::SectionHidden
    );
}

#[test]
fn dos1_an_application_keeps_the_flow_version_it_started_on() {
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let shipped = include_str!("../../../flows/standard-api.toml");
    let v2 = file::load(
        "v2.toml",
        &shipped.replacen("version = 1", "version = 2", 1).replace("id = \"use_case\"", "id = \"purpose\""),
    )
    .unwrap();
    let v1 = world.flows.get("standard-api").unwrap();
    let both = [v1, &v2];
    let plan = Plan::of(&application, &both, &commercial()).unwrap();
    let eligibility = plan.get(&key("eligibility")).unwrap();
    assert!(eligibility.section.questions.iter().any(|q| q.id == "use_case"), "version 1's questions");
    let only_v2 = [&v2];
    assert_eq!(
        Plan::of(&application, &only_v2, &commercial()).unwrap_err(),
        ApplicationError::FlowMissing("standard-api version 1".into())
    );
}

fn set_milestones(
    preparation_call: Option<jiff::civil::Date>,
    demonstration_call: Option<jiff::civil::Date>,
    go_live: Option<jiff::civil::Date>,
) -> ApplicationCommand {
    ApplicationCommand::SetMilestones { preparation_call, demonstration_call, go_live }
}

#[test]
fn dos5_a_reviewer_sets_the_calls_and_the_go_live_and_the_supplier_does_not() {
    use jiff::civil::date;
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let command = set_milestones(Some(date(2026, 12, 1)), Some(date(2026, 12, 10)), Some(date(2027, 4, 12)));
    assert_eq!(command.action(), "application_milestones");
    for (who, refusal) in [
        (&world.owner, ApplicationError::NotReviewer),
        (&world.viewer, ApplicationError::NotReviewer),
        (&world.outsider, ApplicationError::NotYours),
        (&world.live_service, ApplicationError::NotReviewer),
    ] {
        assert_eq!(act(&world, &application, who, command.clone()).unwrap_err(), refusal, "{}", who.full_name);
    }
    let set = act(&world, &application, &world.reviewer, command).unwrap();
    let milestones = &set.milestones;
    assert_eq!(
        (milestones.preparation_call, milestones.demonstration_call, milestones.go_live),
        (Some(date(2026, 12, 1)), Some(date(2026, 12, 10)), Some(date(2027, 4, 12)))
    );
    assert_eq!(milestones.nominal_go_live(), Some(date(2027, 4, 10)));
    assert_eq!(milestones.go_live_warning(), None);
    assert_eq!(set.sections, application.sections, "nothing else changes");

    // Clearing a date is allowed; what the submission recorded stays.
    let mut submitted = set.clone();
    submitted.milestones.submitted_for_review = Some(date(2026, 12, 3));
    let cleared = act(&world, &submitted, &world.reviewer, set_milestones(None, Some(date(2026, 12, 10)), None));
    let cleared = cleared.unwrap().milestones;
    assert_eq!((cleared.preparation_call, cleared.go_live), (None, None));
    assert_eq!(cleared.submitted_for_review, Some(date(2026, 12, 3)), "set by the last submission, not here");
}

#[test]
fn dos5_a_go_live_on_a_bank_holiday_or_not_after_the_new_demonstration_call_is_refused_and_a_weekend_warned() {
    use jiff::civil::date;
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let christmas = set_milestones(None, Some(date(2026, 12, 10)), Some(date(2026, 12, 28)));
    let refused = act(&world, &application, &world.reviewer, christmas).unwrap_err();
    assert_eq!(refused.code(), "milestone");
    assert_eq!(
        refused.to_string(),
        "28 December 2026 is a bank holiday in England: choose a working day for the go-live"
    );

    // The go-live is checked against the demonstration call of the same command, not the stored one.
    let agreed = act(
        &world,
        &application,
        &world.reviewer,
        set_milestones(None, Some(date(2026, 12, 10)), Some(date(2027, 1, 11))),
    )
    .unwrap();
    let later_call = set_milestones(None, Some(date(2027, 1, 12)), Some(date(2027, 1, 11)));
    let refused = act(&world, &agreed, &world.reviewer, later_call).unwrap_err();
    assert_eq!(refused.to_string(), "the go-live must come after the demonstration call on 12 January 2027");

    let weekend = set_milestones(None, Some(date(2026, 12, 10)), Some(date(2027, 1, 9)));
    let saved = act(&world, &agreed, &world.reviewer, weekend).unwrap();
    assert_eq!(saved.milestones.go_live, Some(date(2027, 1, 9)), "a weekend is allowed");
    assert!(
        saved.milestones.go_live_warning().unwrap().starts_with("Saturday 9 January 2027 is a weekend"),
        "and warned"
    );

    let rejected = act(&world, &agreed, &world.reviewer, ApplicationCommand::Reject { reason: "No.".into() }).unwrap();
    let again = act(&world, &rejected, &world.reviewer, set_milestones(None, None, None)).unwrap_err();
    assert!(matches!(again, ApplicationError::Rejected { .. }), "{again:?}");
}

#[test]
fn dos3_an_answer_of_the_wrong_kind_is_refused_and_nothing_is_saved() {
    let world = World::new();
    let application = world.application(&["standard-api"]);
    let eligibility = key("eligibility");
    let save =
        |given: &[(&str, Answer)]| ApplicationCommand::Save { section: eligibility.clone(), answers: answers(given) };
    let refused = act(&world, &application, &world.owner, save(&[("use_case_fits", Answer::Number(3.0))])).unwrap_err();
    assert!(
        matches!(&refused, ApplicationError::AnswerRefused { question, .. } if question == "use_case_fits"),
        "{refused}"
    );
    let refused = act(&world, &application, &world.owner, save(&[("use_case_fits", Answer::Text("banana".into()))]));
    assert!(matches!(refused, Err(ApplicationError::AnswerRefused { .. })), "{refused:?}");
    let padded =
        act(&world, &application, &world.owner, save(&[("use_case", Answer::Text("  Shows details ".into()))]));
    assert!(
        matches!(padded, Err(ApplicationError::AnswerRefused { .. })),
        "stored only as a form gives it: {padded:?}"
    );
    let saved = act(&world, &application, &world.owner, save(&[("use_case", Answer::Text("Shows details".into()))]));
    assert_eq!(saved.unwrap().sections[&eligibility].answers["use_case"], Answer::Text("Shows details".into()));
}

#[test]
fn dos3_a_section_that_does_not_apply_cannot_be_saved_either() {
    let world = World::new();
    let application = world.application(&["identity-service"]);
    let plan = Plan::of(&application, &world.pinned(), &commercial()).unwrap();
    let hidden = plan.sections.iter().find(|s| !s.shown).expect("a section a non-IM1 supplier does not see");
    let command = ApplicationCommand::Save { section: hidden.key.clone(), answers: BTreeMap::new() };
    assert_eq!(act(&world, &application, &world.owner, command), Err(ApplicationError::SectionHidden));
}
