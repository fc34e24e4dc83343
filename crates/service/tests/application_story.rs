//! DOS-3, DOS-4: an application walked through the standard API flow on both databases: started for a product,
//! answered section by section, sent back once with a comment on a question, approved, and its agreement section
//! approved by live service only with the organisation's own Active agreement. Each change is stored with its
//! audit entry and the message to the other side.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeMap;

use common::{World, product};
use onramp_domain::application::{ApplicationCommand, ApplicationError, Plan, SectionKey, SectionState};
use onramp_domain::flow::evaluate::Answer;
use onramp_domain::{StaffRole, TeamRole, User};
use onramp_service::applications::{self, ApplicationServiceError};

onramp_store::on_both_backends!(
    World::new;
    dos3_dos4_an_application_walks_the_standard_flow_to_approval,
);

fn answers(pairs: Vec<(&str, Answer)>) -> BTreeMap<String, Option<Answer>> {
    pairs.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect()
}

fn key(raw: &str) -> SectionKey {
    SectionKey(raw.into())
}

async fn dos3_dos4_an_application_walks_the_standard_flow_to_approval(world: World) {
    let (organisation, owner, active) = world.active_contract("Acme Health", "X26").await;
    let viewer = world.member(&organisation, "Vic Viewer", TeamRole::Viewer, false).await;
    let (_, _, other) = world.active_contract("Beacon Apps", "B01").await;
    let reviewer = world.staff_member("reviewer@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer]).await;
    let live = world.staff_member("live@provider.example", "Liv Service", vec![StaffRole::LiveService]).await;

    let refused = applications::start(&world.context, &viewer, "Acme Records", &[product("pds-fhir")]).await;
    assert!(matches!(refused, Err(ApplicationServiceError::Viewer)));
    let refused = applications::start(&world.context, &owner, "  ", &[product("pds-fhir")]).await;
    assert!(matches!(refused, Err(ApplicationServiceError::ProductName)));
    let application =
        applications::start(&world.context, &owner, "Acme Records", &[product("gp-connect"), product("pds-fhir")])
            .await
            .unwrap();
    assert_eq!(application.flows.len(), 1, "two products on the standard flow: its sections appear once");
    let id = application.id;
    let act = |user: &User, command: ApplicationCommand| {
        let (context, user) = (world.context.clone(), user.clone());
        async move { applications::act(&context, &user, id, command).await }
    };

    let eligibility = key("eligibility");
    let eligible = answers(vec![
        ("use_case", Answer::Text("Shows patients their registered details".into())),
        ("use_case_fits", Answer::YesNo(true)),
        ("uk_health_or_care", Answer::YesNo(true)),
    ]);
    act(&owner, ApplicationCommand::Save { section: eligibility.clone(), answers: eligible }).await.unwrap();
    act(&owner, ApplicationCommand::Submit { section: eligibility.clone() }).await.unwrap();
    assert_eq!(world.context.store.review_queue().await.unwrap().len(), 1, "it waits for a reviewer");
    let comment = vec![(Some("use_case".to_owned()), "Say which care settings use it.".to_owned())];
    act(&reviewer, ApplicationCommand::RequestChanges { section: eligibility.clone(), comments: comment })
        .await
        .unwrap();
    assert!(world.context.store.review_queue().await.unwrap().is_empty());
    let better = answers(vec![("use_case", Answer::Text("GP surgeries show patients their details".into()))]);
    act(&owner, ApplicationCommand::Save { section: eligibility.clone(), answers: better }).await.unwrap();
    act(&owner, ApplicationCommand::Submit { section: eligibility.clone() }).await.unwrap();
    let approve = |section: &SectionKey, reference: Option<&str>| ApplicationCommand::Approve {
        section: section.clone(),
        reference: reference.map(str::to_owned),
        agreement: None,
    };
    act(&reviewer, approve(&eligibility, None)).await.unwrap();

    let sections = [
        ("contacts", answers(vec![("technical_contact", Answer::Text("tech@acme.example".into()))])),
        (
            "standard-api/service",
            answers(vec![
                ("expected_users", Answer::Number(1200.0)),
                ("channels", Answer::Choices(vec!["desktop".into()])),
                ("service_desk_acknowledged", Answer::YesNo(true)),
            ]),
        ),
        ("standard-api/conformance", BTreeMap::new()),
        (
            "standard-api/approved_agreement",
            answers(vec![
                ("signatories", Answer::Choices(vec!["legal@acme.example".into()])),
                ("signatory_accepted", Answer::YesNo(true)),
            ]),
        ),
    ];
    for (section, given) in sections {
        act(&owner, ApplicationCommand::Save { section: key(section), answers: given }).await.unwrap();
        if section == "standard-api/conformance" {
            let typed = answers(vec![("test_report", Answer::Choices(vec!["report-1".into()]))]);
            let refused = act(&owner, ApplicationCommand::Save { section: key(section), answers: typed }).await;
            assert!(matches!(refused, Err(ApplicationServiceError::Rule(ApplicationError::UploadedNotTyped(_)))));
            let missing = act(&owner, ApplicationCommand::Submit { section: key(section) }).await;
            assert!(matches!(missing, Err(ApplicationServiceError::Rule(ApplicationError::Incomplete(_)))));
            let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n";
            let source = onramp_service::evidence::ReadChunks(&pdf[..]);
            onramp_service::application_files::upload(
                &world.context,
                &owner,
                id,
                &key(section),
                "test_report",
                "report.pdf",
                source,
            )
            .await
            .unwrap();
        }
        act(&owner, ApplicationCommand::Submit { section: key(section) }).await.unwrap();
    }
    for section in ["contacts", "standard-api/service", "standard-api/conformance"] {
        act(&reviewer, approve(&key(section), None)).await.unwrap();
    }

    // DOS-4: only live service, and only with this organisation's Active agreement.
    let legal = key("standard-api/approved_agreement");
    let refusal = |result: Result<_, ApplicationServiceError>| match result {
        Err(ApplicationServiceError::Rule(rule)) => rule,
        other => panic!("expected a rule, got {other:?}"),
    };
    let number = active.number.to_string();
    assert_eq!(refusal(act(&reviewer, approve(&legal, Some(&number))).await), ApplicationError::NotLiveService);
    let others = other.number.to_string();
    assert_eq!(
        refusal(act(&live, approve(&legal, Some(&others))).await),
        ApplicationError::AgreementOfAnotherOrganisation { number: others }
    );
    assert_eq!(
        refusal(act(&live, approve(&legal, Some("CNTR0099999"))).await),
        ApplicationError::AgreementUnknown { number: "CNTR0099999".into() }
    );
    let draft = world.new_contract(&organisation, vec![product("nhs-login")]).await;
    assert_eq!(
        refusal(act(&live, approve(&legal, Some(&draft.number.to_string()))).await),
        ApplicationError::AgreementNotActive { number: draft.number.to_string(), state: "Draft".into() }
    );
    let approved = act(&live, approve(&legal, Some(&number))).await.unwrap();
    assert_eq!(approved.sections[&legal].reference.as_deref(), Some(number.as_str()));

    let stored = world.context.store.application(id).await.unwrap().unwrap();
    assert_eq!(stored, approved);
    let flows = applications::pinned_flows(&world.context, &stored).await.unwrap();
    let pinned: Vec<_> = flows.iter().collect();
    let plan = Plan::of(&stored, &pinned, &applications::facts(&organisation)).unwrap();
    assert!(plan.all_approved(), "every section that applies is approved");
    assert!(plan.sections.iter().filter(|s| s.shown).all(|s| s.state == SectionState::Approved));

    let mails = world.notifications("application_update").await;
    assert_eq!(mails.len(), 6 + 1 + 5, "six submissions, one change request and five approvals");
    let stranger = world.organisation("Other Org", "OTH").await;
    let outsider = world.member(&stranger, "Oscar Outsider", TeamRole::Owner, true).await;
    assert!(matches!(
        applications::application_for(&world.context, &outsider, id).await,
        Err(ApplicationServiceError::NotFound)
    ));
}
