//! The evidence story (DOS-1, DOS-3): the records of uploaded evidence files, on both backends. A record
//! belongs to an application of its organisation; it is read back as written and can be removed.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use jiff::{SignedDuration, Timestamp};
use onramp_domain::application::{Application, ApplicationId, ApplicationState, SectionKey};
use onramp_domain::evidence::FileType;
use onramp_domain::{
    ApiProduct, EmailAddress, NewOrganisation, NewUser, Organisation, OrganisationInput, PersonName, UserId,
    time_ordered_uuid,
};
use onramp_store::testing::TestDatabase;
use onramp_store::{EvidenceFile, Repository, StoreError};
use uuid::Uuid;

onramp_store::on_both_backends!(
    world;
    files_are_recorded_read_back_in_order_and_removed,
    a_file_must_answer_an_application_of_its_organisation,
);

/// An organisation with one application and a user who uploads.
struct World {
    database: TestDatabase,
    organisation: Organisation,
    application: ApplicationId,
    uploader: UserId,
}

fn now() -> Timestamp {
    "2026-12-07T10:00:00Z".parse().unwrap()
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

async fn application_of(store: &dyn Repository, organisation: &Organisation) -> ApplicationId {
    let application = Application {
        id: ApplicationId(time_ordered_uuid(now())),
        organisation_id: organisation.id,
        product_name: "Acme Patient App".into(),
        products: vec![ApiProduct::parse("pds-fhir").unwrap()],
        flows: Vec::new(),
        state: ApplicationState::Open,
        sections: Default::default(),
        started_at: now(),
        milestones: Default::default(),
    };
    let mut work = store.begin(organisation.id).await.unwrap();
    work.save_application(&application, now()).await.unwrap();
    work.commit().await.unwrap();
    application.id
}

async fn world(database: TestDatabase) -> World {
    let store = database.store();
    let organisation = store.create_organisation(&organisation("Acme Health", "X26"), now()).await.unwrap();
    let application = application_of(store.as_ref(), &organisation).await;
    let user = NewUser {
        email: EmailAddress::parse("sam@acme.example").unwrap(),
        full_name: PersonName::parse("Sam Jones").unwrap(),
        password_hash: None,
        staff_roles: Vec::new(),
        email_verified: true,
    };
    let uploader = store.create_user(&user, now()).await.unwrap().id;
    World { database, organisation, application, uploader }
}

impl World {
    fn file(&self, section: &str, question: &str, name: &str, minutes: i64) -> EvidenceFile {
        EvidenceFile {
            id: Uuid::new_v4(),
            application_id: self.application,
            organisation_id: self.organisation.id,
            section_key: SectionKey(section.into()),
            question_id: question.into(),
            file_name: name.into(),
            file_type: FileType::Pdf,
            size: 12_345,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            uploaded_by: self.uploader,
            uploaded_at: now() + SignedDuration::from_mins(minutes),
        }
    }
}

async fn files_are_recorded_read_back_in_order_and_removed(world: World) {
    let store = world.database.store();
    assert!(store.evidence_of(world.application).await.unwrap().is_empty());

    let later = world.file("standard-api/security", "pen_test", "Pen test 2026.pdf", 5);
    let earlier = world.file("standard-api/security", "pen_test", "Pen test 2025.pdf", 1);
    let mut sheet = world.file("standard-api/conformance", "results", "Results.xlsx", 9);
    sheet.file_type = FileType::Xlsx;
    sheet.size = u64::from(u32::MAX) + 1;
    for file in [&later, &earlier, &sheet] {
        store.record_evidence(file).await.unwrap();
    }

    assert_eq!(store.evidence_file(sheet.id).await.unwrap(), Some(sheet.clone()), "read back as written");
    let listed = store.evidence_of(world.application).await.unwrap();
    assert_eq!(listed, [sheet.clone(), earlier.clone(), later.clone()], "by section, question, then upload time");

    let again = store.record_evidence(&later).await;
    assert!(matches!(again, Err(StoreError::Conflict { .. })), "{again:?}");

    assert!(store.remove_evidence(earlier.id).await.unwrap());
    assert!(!store.remove_evidence(earlier.id).await.unwrap(), "already gone");
    assert_eq!(store.evidence_file(earlier.id).await.unwrap(), None);
    assert_eq!(store.evidence_of(world.application).await.unwrap(), [sheet, later]);
    assert!(store.evidence_of(ApplicationId(Uuid::new_v4())).await.unwrap().is_empty());
}

async fn a_file_must_answer_an_application_of_its_organisation(world: World) {
    let store = world.database.store();
    let beacon = store.create_organisation(&organisation("Beacon Apps", "8JK45"), now()).await.unwrap();
    let theirs = application_of(store.as_ref(), &beacon).await;

    let mut smuggled = world.file("standard-api/security", "pen_test", "Pen test.pdf", 0);
    smuggled.application_id = theirs;
    let refused = store.record_evidence(&smuggled).await;
    assert!(matches!(refused, Err(StoreError::NotFound { entity: "application" })), "{refused:?}");

    let mut unknown = world.file("standard-api/security", "pen_test", "Pen test.pdf", 0);
    unknown.application_id = ApplicationId(Uuid::new_v4());
    let refused = store.record_evidence(&unknown).await;
    assert!(matches!(refused, Err(StoreError::NotFound { entity: "application" })), "{refused:?}");

    let mut stranger = world.file("standard-api/security", "pen_test", "Pen test.pdf", 0);
    stranger.uploaded_by = UserId(Uuid::new_v4());
    let refused = store.record_evidence(&stranger).await;
    assert!(matches!(refused, Err(StoreError::NotFound { entity: "uploader" })), "{refused:?}");

    assert!(store.evidence_of(world.application).await.unwrap().is_empty(), "nothing was recorded");
    assert!(store.evidence_of(theirs).await.unwrap().is_empty());

    // A row tampered with by hand is reported, not trusted.
    let good = world.file("standard-api/security", "pen_test", "Pen test.pdf", 0);
    store.record_evidence(&good).await.unwrap();
    world.database.execute_raw("UPDATE evidence_files SET file_type = 'exe'").await.unwrap();
    let corrupt = store.evidence_file(good.id).await;
    assert!(matches!(corrupt, Err(StoreError::Corrupt { entity: "evidence file", .. })), "{corrupt:?}");
}
