//! The storage story: every repository method, driven as the services drive it, on both backends.
//! The PostgreSQL half runs when `ONRAMP_TEST_POSTGRES_URL` is set and says it was skipped otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use jiff::Timestamp;
use onramp_domain::{
    EmailAddress, Membership, NewOrganisation, NewUser, OdsCode, OrganisationId, OrganisationInput, PersonName,
    Provider, StaffRole, TeamRole, UserId,
};
use onramp_store::StoreError;
use onramp_store::testing::TestDatabase;

onramp_store::on_both_backends!(
    database;
    organisation_story,
    user_story,
    membership_story,
    provider_story,
    corrupt_row_story,
);

/// The stories get the fresh database itself.
async fn database(database: TestDatabase) -> TestDatabase {
    database
}

fn now() -> Timestamp {
    "2026-11-21T09:30:00Z".parse().unwrap()
}

fn organisation(name: &str, ods: &str) -> NewOrganisation {
    NewOrganisation::parse(&OrganisationInput {
        name: name.into(),
        ods_code: ods.into(),
        company_number: "01234567".into(),
        registered_address: "1 High Street\nLeeds".into(),
        kind: "commercial".into(),
        delivery_notice_mailbox: format!("notices@{}.example", ods.to_lowercase()),
        im1_supplier: false,
    })
    .unwrap()
}

fn person(email: &str, name: &str, roles: Vec<StaffRole>) -> NewUser {
    NewUser {
        email: EmailAddress::parse(email).unwrap(),
        full_name: PersonName::parse(name).unwrap(),
        password_hash: Some("$argon2id$v=19$stub-for-storage-only".into()),
        staff_roles: roles,
        email_verified: true,
    }
}

async fn organisation_story(database: TestDatabase) {
    let store = database.store();
    store.ping().await.unwrap();
    assert_eq!(store.backend(), database.url().backend());
    store.migrate().await.expect("migrating twice is harmless");
    assert!(store.organisations().await.unwrap().is_empty());

    let acme = store.create_organisation(&organisation("Acme Health", "X26"), now()).await.unwrap();
    assert_eq!(acme.created_at, now());
    assert_eq!(acme.details.ods_code.as_str(), "X26");
    assert_eq!(store.organisation(acme.id).await.unwrap(), Some(acme.clone()));
    let by_code = store.organisation_by_ods_code(&OdsCode::parse("x26").unwrap()).await.unwrap();
    assert_eq!(by_code.map(|o| o.id), Some(acme.id));

    let duplicate = store.create_organisation(&organisation("Another", "X26"), now()).await;
    assert!(matches!(duplicate, Err(StoreError::Conflict { what: "ODS code" })), "{duplicate:?}");

    store.create_organisation(&organisation("Beacon Apps", "8JK45"), now()).await.unwrap();
    let names: Vec<_> = store.organisations().await.unwrap().into_iter().map(|o| o.details.name).collect();
    assert_eq!(names, ["Acme Health", "Beacon Apps"]);

    let mut renamed = acme.details.clone();
    renamed.name = "Acme Health Ltd".into();
    renamed.company_number = None;
    renamed.im1_supplier = true;
    let updated = store.update_organisation(acme.id, &renamed).await.unwrap();
    assert_eq!((updated.details, updated.created_at), (renamed.clone(), acme.created_at));

    let clash = store.update_organisation(acme.id, &organisation("Acme", "8JK45")).await;
    assert!(matches!(clash, Err(StoreError::Conflict { .. })), "{clash:?}");
    let missing = store.update_organisation(OrganisationId(uuid::Uuid::nil()), &renamed).await;
    assert!(matches!(missing, Err(StoreError::NotFound { entity: "organisation" })), "{missing:?}");
    assert_eq!(store.organisation(OrganisationId(uuid::Uuid::nil())).await.unwrap(), None);
}

async fn user_story(database: TestDatabase) {
    let store = database.store();
    let staff = store
        .create_user(
            &person("Agreements@Provider.example", "Ava Agreements", vec![StaffRole::AgreementTeam, StaffRole::Admin]),
            now(),
        )
        .await
        .unwrap();
    assert_eq!(staff.email.as_str(), "agreements@provider.example");
    assert_eq!(staff.staff_roles, [StaffRole::AgreementTeam, StaffRole::Admin]);
    assert!(staff.membership.is_none());
    assert_eq!(store.user(staff.id).await.unwrap(), Some(staff.clone()));
    let by_email = store.user_by_email(&EmailAddress::parse("agreements@provider.example").unwrap()).await.unwrap();
    assert_eq!(by_email, Some(staff.clone()));

    let taken = store.create_user(&person("agreements@provider.example", "Someone Else", vec![]), now()).await;
    assert!(matches!(taken, Err(StoreError::Conflict { what: "email address" })), "{taken:?}");
    assert_eq!(store.user(UserId(uuid::Uuid::nil())).await.unwrap(), None);
    assert_eq!(store.user_by_email(&EmailAddress::parse("nobody@x.example").unwrap()).await.unwrap(), None);
}

async fn membership_story(database: TestDatabase) {
    let store = database.store();
    let acme = store.create_organisation(&organisation("Acme Health", "X26"), now()).await.unwrap();
    let beacon = store.create_organisation(&organisation("Beacon Apps", "B01"), now()).await.unwrap();
    let owner = store.create_user(&person("owner@acme.example", "Olu Owner", vec![]), now()).await.unwrap();
    let viewer = store.create_user(&person("viewer@acme.example", "Vic Viewer", vec![]), now()).await.unwrap();

    let owner_membership = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    store.set_membership(owner.id, Some(&owner_membership)).await.unwrap();
    let viewer_membership = Membership { organisation_id: acme.id, role: TeamRole::Viewer, onboarding_contact: false };
    store.set_membership(viewer.id, Some(&viewer_membership)).await.unwrap();

    let members = store.members(acme.id).await.unwrap();
    let summary: Vec<_> = members
        .iter()
        .map(|u| (u.full_name.as_str(), u.membership.as_ref().map(|m| (m.role, m.onboarding_contact))))
        .collect();
    assert_eq!(
        summary,
        [("Olu Owner", Some((TeamRole::Owner, true))), ("Vic Viewer", Some((TeamRole::Viewer, false)))]
    );
    assert!(store.members(beacon.id).await.unwrap().is_empty());

    // A user belongs to one organisation: moving them replaces the old membership.
    let moved = Membership { organisation_id: beacon.id, role: TeamRole::Admin, onboarding_contact: false };
    store.set_membership(viewer.id, Some(&moved)).await.unwrap();
    assert_eq!(store.members(acme.id).await.unwrap().len(), 1);
    assert_eq!(store.user(viewer.id).await.unwrap().and_then(|u| u.membership), Some(moved));

    store.set_membership(viewer.id, None).await.unwrap();
    assert!(store.members(beacon.id).await.unwrap().is_empty());

    let unknown_org = Membership { organisation_id: OrganisationId(uuid::Uuid::nil()), ..owner_membership.clone() };
    let refused = store.set_membership(owner.id, Some(&unknown_org)).await;
    assert!(matches!(refused, Err(StoreError::NotFound { entity: "organisation" })), "{refused:?}");
    assert_eq!(store.user(owner.id).await.unwrap().and_then(|u| u.membership), Some(owner_membership), "unchanged");
    let refused = store.set_membership(UserId(uuid::Uuid::nil()), None).await;
    assert!(matches!(refused, Err(StoreError::NotFound { entity: "user" })), "{refused:?}");
}

async fn provider_story(database: TestDatabase) {
    let store = database.store();
    assert_eq!(store.provider().await.unwrap(), None);
    let provider = Provider {
        name: "NHS England".into(),
        service_desk_email: EmailAddress::parse("support.digitalservices@provider.example").unwrap(),
    };
    store.save_provider(&provider).await.unwrap();
    store.save_provider(&provider).await.unwrap();
    assert_eq!(store.provider().await.unwrap(), Some(provider.clone()));
    let renamed = Provider { name: "NHS England (test)".into(), ..provider };
    store.save_provider(&renamed).await.unwrap();
    assert_eq!(store.provider().await.unwrap(), Some(renamed));
}

/// A row edited by hand into something the domain refuses is reported as corrupt, naming the entity.
async fn corrupt_row_story(database: TestDatabase) {
    let store = database.store();
    let provider = Provider { name: "P".into(), service_desk_email: EmailAddress::parse("desk@p.example").unwrap() };
    store.save_provider(&provider).await.unwrap();
    let edited = database.execute_raw("UPDATE provider SET service_desk_email = 'not an address'").await.unwrap();
    assert_eq!(edited, 1);
    let read = store.provider().await;
    assert!(matches!(read, Err(StoreError::Corrupt { entity: "provider", .. })), "{read:?}");
}
