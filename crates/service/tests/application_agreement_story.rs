//! DOS-6, CA-2, ORG-3 on both databases: an application on the standard flow, assured section by section with
//! its evidence uploaded, becomes ready for its agreement when everything but the agreement's own section is
//! approved. The agreement team creates the connection agreement from it: the products are the application's,
//! the link and the SHA-256 of the approved answers are stored with it and audited. Once it is accepted, live
//! service approves the last section with its number. A provider-internal organisation is never asked for one.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeMap;

use common::{World, product};
use onramp_domain::agreement::AgreementState;
use onramp_domain::application::{ApplicationCommand, ApplicationId, Plan, SectionKey};
use onramp_domain::flow::evaluate::Answer;
use onramp_domain::{OrganisationKind, StaffRole, TeamRole, User};
use onramp_service::application_agreement::{self, AgreementFromApplicationError, AgreementStanding};
use onramp_service::evidence::ReadChunks;
use onramp_service::{application_files, applications, lifecycle, organisations};

onramp_store::on_both_backends!(
    World::new;
    dos6_the_agreement_is_created_from_an_assured_application_and_closes_it,
    org3_a_provider_internal_organisation_is_never_asked_for_an_agreement,
);

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

fn key(raw: &str) -> SectionKey {
    SectionKey(raw.into())
}

fn answers(pairs: Vec<(&str, Answer)>) -> BTreeMap<String, Option<Answer>> {
    pairs.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect()
}

/// Answers, submits and approves every section of the standard flow but the agreement's own.
async fn assure(world: &World, owner: &User, reviewer: &User, id: ApplicationId) {
    let act = |user: &User, command: ApplicationCommand| {
        let (context, user) = (world.context.clone(), user.clone());
        async move { applications::act(&context, &user, id, command).await.unwrap() }
    };
    let given = [
        (
            "eligibility",
            answers(vec![
                ("use_case", Answer::Text("Shows patients their registered details".into())),
                ("use_case_fits", Answer::YesNo(true)),
                ("uk_health_or_care", Answer::YesNo(true)),
            ]),
        ),
        ("contacts", answers(vec![("technical_contact", Answer::Text("tech@nova.example".into()))])),
        (
            "standard-api/service",
            answers(vec![
                ("expected_users", Answer::Number(1200.0)),
                ("channels", Answer::Choices(vec!["desktop".into()])),
                ("service_desk_acknowledged", Answer::YesNo(true)),
            ]),
        ),
        ("standard-api/conformance", BTreeMap::new()),
    ];
    for (section, answers) in given {
        act(owner, ApplicationCommand::Save { section: key(section), answers }).await;
        if section == "standard-api/conformance" {
            let source = ReadChunks(PDF);
            application_files::upload(&world.context, owner, id, &key(section), "test_report", "report.pdf", source)
                .await
                .unwrap();
        }
        act(owner, ApplicationCommand::Submit { section: key(section) }).await;
        act(reviewer, ApplicationCommand::Approve { section: key(section), reference: None, agreement: None }).await;
    }
}

async fn dos6_the_agreement_is_created_from_an_assured_application_and_closes_it(world: World) {
    let organisation = world.organisation("Nova Health", "NOV01").await;
    let owner = world.member(&organisation, "Nia Owner", TeamRole::Owner, true).await;
    let reviewer = world.staff_member("reviewer@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer]).await;
    let live = world.staff_member("live@provider.example", "Liv Service", vec![StaffRole::LiveService]).await;
    let team = &world.staff;

    let application =
        applications::start(&world.context, &owner, "Nova Records", &[product("pds-fhir")]).await.unwrap();
    let id = application.id;
    let early = application_agreement::create(&world.context, team, id).await;
    match early {
        Err(AgreementFromApplicationError::NotReady(waiting)) => assert!(waiting.contains(&"Eligibility".to_owned())),
        other => panic!("expected NotReady, got {other:?}"),
    }

    assure(&world, &owner, &reviewer, id).await;
    let (standing, digest) = application_agreement::standing(&world.context, team, id).await.unwrap();
    assert_eq!(standing, AgreementStanding::Ready, "only the agreement's own section waits");
    let digest = digest.unwrap();
    assert_eq!(digest.len(), 64);
    assert!(
        matches!(
            application_agreement::create(&world.context, &reviewer, id).await,
            Err(AgreementFromApplicationError::Lifecycle(_))
        ),
        "only the agreement team creates agreements"
    );

    let agreement = application_agreement::create(&world.context, team, id).await.unwrap();
    assert_eq!(agreement.state, AgreementState::Draft);
    assert_eq!(agreement.api_products, vec![product("pds-fhir")], "the application's products");
    assert_eq!(agreement.organisation_id, organisation.id);
    let source = world.context.store.agreement_source(agreement.id).await.unwrap().unwrap();
    assert_eq!((source.application_id, source.answers_sha256.as_str()), (id, digest.as_str()));
    assert_eq!(world.context.store.agreements_from(id).await.unwrap(), vec![source]);
    let audit = world.context.store.audit_records().await.unwrap();
    let linked = audit.iter().find(|entry| entry.action == "agreement_from_application").unwrap();
    assert_eq!(linked.entity_id, id.0.to_string());
    assert!(linked.after.as_deref().unwrap().contains(&digest));
    match application_agreement::create(&world.context, team, id).await {
        Err(AgreementFromApplicationError::AlreadyCreated(number)) => assert_eq!(number, agreement.number),
        other => panic!("expected AlreadyCreated, got {other:?}"),
    }
    let (standing, _) = application_agreement::standing(&world.context, &owner, id).await.unwrap();
    assert_eq!(standing, AgreementStanding::Created(agreement.number));

    let issued = lifecycle::issue(&world.context, team, agreement.id).await.unwrap();
    let active = world.accept(&owner, &issued).await.unwrap();
    assert_eq!(active.state, AgreementState::Active);
    let legal = key("standard-api/approved_agreement");
    let signatories = answers(vec![
        ("signatories", Answer::Choices(vec!["legal@nova.example".into()])),
        ("signatory_accepted", Answer::YesNo(true)),
    ]);
    applications::act(
        &world.context,
        &owner,
        id,
        ApplicationCommand::Save { section: legal.clone(), answers: signatories },
    )
    .await
    .unwrap();
    applications::act(&world.context, &owner, id, ApplicationCommand::Submit { section: legal.clone() }).await.unwrap();
    let number = active.number.to_string();
    let approve = ApplicationCommand::Approve { section: legal, reference: Some(number), agreement: None };
    let done = applications::act(&world.context, &live, id, approve).await.unwrap();
    let flows = applications::pinned_flows(&world.context, &done).await.unwrap();
    let pinned: Vec<_> = flows.iter().collect();
    assert!(Plan::of(&done, &pinned, &applications::facts(&organisation)).unwrap().all_approved());
}

async fn org3_a_provider_internal_organisation_is_never_asked_for_an_agreement(world: World) {
    let organisation = world.organisation("Provider Digital", "PRV01").await;
    let owner = world.member(&organisation, "Pat Internal", TeamRole::Owner, true).await;
    let changed =
        organisations::set_kind(&world.context, &world.staff, organisation.id, OrganisationKind::ProviderInternal)
            .await
            .unwrap();
    assert_eq!(changed.details.kind, OrganisationKind::ProviderInternal);
    let application =
        applications::start(&world.context, &owner, "Internal Records", &[product("pds-fhir")]).await.unwrap();
    let (standing, _) = application_agreement::standing(&world.context, &owner, application.id).await.unwrap();
    assert_eq!(standing, AgreementStanding::NotNeeded);
    assert!(matches!(
        application_agreement::create(&world.context, &world.staff, application.id).await,
        Err(AgreementFromApplicationError::ProviderInternal)
    ));
    assert!(world.context.store.agreements_from(application.id).await.unwrap().is_empty());
}
