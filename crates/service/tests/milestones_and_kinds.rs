//! DOS-5 and ORG-3 in the service layer, on both databases: a reviewer records an application's milestones,
//! written with its audit entry and the message to the organisation in one transaction, and a refused go-live
//! changes nothing; only the agreement team changes an organisation's kind (so only the provider makes an
//! organisation part of itself), under the organisation's lock and with its audit entry.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{World, product};
use jiff::civil::date;
use onramp_domain::application::milestones::MilestoneError;
use onramp_domain::application::{ApplicationCommand, ApplicationError};
use onramp_domain::notification::{ApplicationEvent, Notification};
use onramp_domain::{KindChangeError, OrganisationKind, StaffRole, TeamRole};
use onramp_service::applications::{self, ApplicationServiceError};
use onramp_service::organisations::{self, OrganisationError};

onramp_store::on_both_backends!(
    World::new;
    dos5_a_reviewer_records_the_milestones_with_their_audit_entry_and_the_message_to_the_organisation,
    org3_only_the_agreement_team_changes_an_organisations_kind_and_each_change_is_audited,
);

async fn audit_actions(world: &World) -> Vec<String> {
    world.context.store.audit_records().await.unwrap().into_iter().map(|record| record.action).collect()
}

async fn dos5_a_reviewer_records_the_milestones_with_their_audit_entry_and_the_message_to_the_organisation(
    world: World,
) {
    let organisation = world.organisation("Acme Health", "X26").await;
    let owner = world.member(&organisation, "Olu Owner", TeamRole::Owner, true).await;
    let reviewer = world.staff_member("reviewer@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer]).await;
    let application =
        applications::start(&world.context, &owner, "Acme Records", &[product("pds-fhir")]).await.unwrap();
    let set = |go_live| ApplicationCommand::SetMilestones {
        preparation_call: Some(date(2026, 12, 1)),
        demonstration_call: Some(date(2026, 12, 10)),
        go_live,
    };

    let refused = applications::act(&world.context, &owner, application.id, set(Some(date(2027, 4, 12)))).await;
    assert!(matches!(refused, Err(ApplicationServiceError::Rule(ApplicationError::NotReviewer))), "{refused:?}");
    let refused = applications::act(&world.context, &reviewer, application.id, set(Some(date(2026, 12, 28)))).await;
    assert!(
        matches!(
            refused,
            Err(ApplicationServiceError::Rule(ApplicationError::Milestone(MilestoneError::GoLiveOnBankHoliday(_))))
        ),
        "{refused:?}"
    );
    let stored = world.context.store.application(application.id).await.unwrap().unwrap();
    assert_eq!(stored.milestones, Default::default(), "a refusal changes nothing");
    assert!(world.notifications("application_update").await.is_empty());

    let saved = applications::act(&world.context, &reviewer, application.id, set(Some(date(2027, 4, 12)))).await;
    let saved = saved.unwrap();
    assert_eq!(saved.milestones.go_live, Some(date(2027, 4, 12)));
    let stored = world.context.store.application(application.id).await.unwrap().unwrap();
    assert_eq!(stored.milestones, saved.milestones);

    let records = world.context.store.audit_records().await.unwrap();
    let entry = records.iter().find(|r| r.action == "application_milestones").expect("the audit entry");
    assert_eq!(entry.entity_id, application.id.0.to_string());
    assert!(entry.actor.contains("Rory Reviewer"), "{}", entry.actor);
    let after: serde_json::Value = serde_json::from_str(entry.after.as_deref().unwrap()).unwrap();
    assert_eq!(after["milestones"]["after"]["go_live"], "2027-04-12", "{after}");
    assert_eq!(after["milestones"]["before"]["go_live"], serde_json::Value::Null, "{after}");

    let mails = world.notifications("application_update").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].recipients, ["olu@x26.example"], "the organisation is told");
    let Notification::ApplicationUpdate { event, .. } = &mails[0].notification else { panic!() };
    assert_eq!(
        *event,
        ApplicationEvent::MilestonesChanged {
            preparation_call: Some(date(2026, 12, 1)),
            demonstration_call: Some(date(2026, 12, 10)),
            go_live: Some(date(2027, 4, 12)),
        }
    );
    let letter = onramp_service::mail::render(&world.context, &mails[0].notification).unwrap();
    assert_eq!(letter.subject, "Milestones updated: Acme Records");
    assert!(letter.text.contains("Nominal go-live (four months after the demonstration call): 10 April 2027"));
    assert!(letter.text.contains("Agreed go-live: 12 April 2027"), "{}", letter.text);
    world.run_timers().await;
}

async fn org3_only_the_agreement_team_changes_an_organisations_kind_and_each_change_is_audited(world: World) {
    let organisation = world.organisation("Spine Tools Team", "PI1").await;
    let owner = world.member(&organisation, "Pat Platform", TeamRole::Owner, true).await;
    let reviewer = world.staff_member("reviewer@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer]).await;
    let admin = world.staff_member("admin@provider.example", "Ada Admin", vec![StaffRole::Admin]).await;
    let audited = audit_actions(&world).await.len();

    for who in [&owner, &reviewer, &admin] {
        let refused =
            organisations::set_kind(&world.context, who, organisation.id, OrganisationKind::ProviderInternal).await;
        assert!(
            matches!(refused, Err(OrganisationError::Kind(KindChangeError::NotAgreementTeam))),
            "{}: {refused:?}",
            who.full_name
        );
    }
    let stored = world.context.store.organisation(organisation.id).await.unwrap().unwrap();
    assert_eq!(stored.details.kind, OrganisationKind::Commercial, "nothing changed");
    assert_eq!(audit_actions(&world).await.len(), audited, "nothing logged");

    let changed =
        organisations::set_kind(&world.context, &world.staff, organisation.id, OrganisationKind::ProviderInternal)
            .await
            .unwrap();
    assert_eq!(changed.details.kind, OrganisationKind::ProviderInternal);
    let stored = world.context.store.organisation(organisation.id).await.unwrap().unwrap();
    assert_eq!(stored, changed, "stored as returned");
    assert!(!stored.details.kind.needs_connection_agreement());
    let records = world.context.store.audit_records().await.unwrap();
    let entry = records.iter().find(|r| r.action == "organisation_kind_change").expect("the audit entry");
    assert_eq!(
        (entry.entity.as_str(), entry.entity_id.clone(), entry.before.as_deref(), entry.after.as_deref()),
        (
            "organisation",
            organisation.id.0.to_string(),
            Some(r#"{"kind":"commercial"}"#),
            Some(r#"{"kind":"provider_internal"}"#)
        )
    );
    onramp_service::audit::verify_audit(&world.context).await.unwrap();

    let again =
        organisations::set_kind(&world.context, &world.staff, organisation.id, OrganisationKind::ProviderInternal)
            .await
            .unwrap();
    assert_eq!(again, stored);
    assert_eq!(audit_actions(&world).await.len(), audited + 1, "the same kind again logs nothing");

    // The kind must fit the fields: a public healthcare body has no company number on record.
    let refused =
        organisations::set_kind(&world.context, &world.staff, organisation.id, OrganisationKind::PublicHealthcare)
            .await;
    assert!(matches!(refused, Err(OrganisationError::Kind(KindChangeError::CompanyNumberOnRecord(_)))), "{refused:?}");
    let back = organisations::set_kind(&world.context, &world.staff, organisation.id, OrganisationKind::Commercial)
        .await
        .unwrap();
    assert_eq!(back.details.kind, OrganisationKind::Commercial);
    assert_eq!(audit_actions(&world).await.len(), audited + 2);
}
