//! The test world shared by the service stories: a fresh database on either backend, a manual clock, and
//! helpers that set up organisations, people and agreements the way the services would.

#![allow(dead_code, reason = "each test file uses a different part of the world")]

pub mod smtp;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::{Actor, Agreement, LifecycleError, Origin};
use onramp_domain::{
    ApiProduct, EmailAddress, Membership, NewOrganisation, NewUser, Organisation, OrganisationInput, PersonName,
    StaffRole, TeamRole, User,
};
use onramp_service::clock::ManualClock;
use onramp_service::lifecycle::{self, LifecycleServiceError};
use onramp_service::{AppContext, Config, jobs};
use onramp_store::testing::{TestDatabase, unsettled_jobs_blocking};

pub const DAY: SignedDuration = SignedDuration::from_hours(24);

pub struct World {
    pub context: AppContext,
    pub clock: Arc<ManualClock>,
    pub staff: User,
    pub database: TestDatabase,
    /// Set by a story that means to leave work in the job queue (see `Drop`).
    unsettled_jobs_expected: AtomicBool,
}

/// When a story ends, the job queue must be settled: nothing failed, nothing due left unrun, no error left
/// behind (as crates.io's `TestApp` checks on drop). A story that leaves work on purpose says so with
/// [`World::expect_unsettled_jobs`].
impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() || self.unsettled_jobs_expected.load(Ordering::Relaxed) {
            return;
        }
        let unsettled = unsettled_jobs_blocking(self.database.url(), self.context.clock.now());
        assert!(unsettled.is_empty(), "the story left the job queue unsettled:\n{}", unsettled.join("\n"));
    }
}

impl World {
    pub async fn new(database: TestDatabase) -> Self {
        let clock = Arc::new(ManualClock::new("2026-11-21T10:00:00Z".parse().unwrap()));
        let config = test_config(&database);
        let context = AppContext::new(config, database.store(), clock.clone()).await.unwrap();
        let staff = context
            .store
            .create_user(
                &NewUser {
                    email: EmailAddress::parse("agreements@provider.example").unwrap(),
                    full_name: PersonName::parse("Aisha Agreements").unwrap(),
                    password_hash: None,
                    staff_roles: vec![StaffRole::AgreementTeam],
                    email_verified: true,
                },
                clock.now_for_test(),
            )
            .await
            .unwrap();
        World { context, clock, staff, database, unsettled_jobs_expected: AtomicBool::new(false) }
    }

    /// Like [`World::new`], with the test configuration changed by `edit` first (an SMTP server, say).
    pub async fn with_config(database: TestDatabase, edit: impl FnOnce(&mut Config)) -> Self {
        let clock = Arc::new(ManualClock::new("2026-11-21T10:00:00Z".parse().unwrap()));
        let mut config = test_config(&database);
        edit(&mut config);
        let context = AppContext::new(config, database.store(), clock.clone()).await.unwrap();
        let staff = context
            .store
            .create_user(
                &NewUser {
                    email: EmailAddress::parse("agreements@provider.example").unwrap(),
                    full_name: PersonName::parse("Aisha Agreements").unwrap(),
                    password_hash: None,
                    staff_roles: vec![StaffRole::AgreementTeam],
                    email_verified: true,
                },
                clock.now_for_test(),
            )
            .await
            .unwrap();
        World { context, clock, staff, database, unsettled_jobs_expected: AtomicBool::new(false) }
    }

    /// This story leaves due, failed or erroring jobs behind on purpose: skip the check when it ends.
    pub fn expect_unsettled_jobs(&self) {
        self.unsettled_jobs_expected.store(true, Ordering::Relaxed);
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now_for_test()
    }

    pub fn jump(&self, by: SignedDuration) {
        self.clock.advance(by);
    }

    pub async fn organisation(&self, name: &str, ods: &str) -> Organisation {
        let details = NewOrganisation::parse(&OrganisationInput {
            name: name.into(),
            ods_code: ods.into(),
            company_number: "01234567".into(),
            registered_address: "1 High Street\nLeeds".into(),
            kind: "commercial".into(),
            delivery_notice_mailbox: format!("notices@{}.example", ods.to_lowercase()),
            im1_supplier: false,
        })
        .unwrap();
        self.context.store.create_organisation(&details, self.now()).await.unwrap()
    }

    pub async fn member(&self, organisation: &Organisation, name: &str, role: TeamRole, contact: bool) -> User {
        let email = format!(
            "{}@{}.example",
            name.split(' ').next().unwrap().to_lowercase(),
            organisation.details.ods_code.as_str().to_lowercase()
        );
        let user = self
            .context
            .store
            .create_user(
                &NewUser {
                    email: EmailAddress::parse(&email).unwrap(),
                    full_name: PersonName::parse(name).unwrap(),
                    password_hash: None,
                    staff_roles: vec![],
                    email_verified: true,
                },
                self.now(),
            )
            .await
            .unwrap();
        let membership = Membership { organisation_id: organisation.id, role, onboarding_contact: contact };
        self.context.store.set_membership(user.id, Some(&membership)).await.unwrap();
        self.context.store.user(user.id).await.unwrap().unwrap()
    }

    /// A verified provider staff account with these roles.
    pub async fn staff_member(&self, email: &str, name: &str, roles: Vec<StaffRole>) -> User {
        let new = NewUser {
            email: EmailAddress::parse(email).unwrap(),
            full_name: PersonName::parse(name).unwrap(),
            password_hash: None,
            staff_roles: roles,
            email_verified: true,
        };
        self.context.store.create_user(&new, self.now()).await.unwrap()
    }

    /// Ships one more terms version (a copy of the newest) so a test can publish two changes in a row.
    pub fn ship_terms_version(&mut self, version: u32) {
        let mut versions: Vec<_> = self.context.terms.versions().cloned().collect();
        let mut next = versions.last().cloned().unwrap();
        next.version = version;
        next.summary_of_changes = vec![format!("Version {version} for tests.")];
        versions.push(next);
        self.context.terms = Arc::new(onramp_domain::terms::TermsCatalogue::from_versions(versions).unwrap());
    }

    /// A new contract (Awaiting Review) for `organisation`, made by the agreement team.
    pub async fn new_contract(&self, organisation: &Organisation, products: Vec<ApiProduct>) -> Agreement {
        lifecycle::create(&self.context, &self.staff, organisation.id, products, Origin::NewContract).await.unwrap()
    }

    /// An organisation with an onboarding contact and an issued new contract.
    pub async fn issued_contract(&self, name: &str, ods: &str) -> (Organisation, User, Agreement) {
        let organisation = self.organisation(name, ods).await;
        let contact = self.member(&organisation, "Olu Contact", TeamRole::Owner, true).await;
        let created = lifecycle::create(
            &self.context,
            &self.staff,
            organisation.id,
            vec![product("pds-fhir")],
            Origin::NewContract,
        )
        .await
        .unwrap();
        let issued = lifecycle::issue(&self.context, &self.staff, created.id).await.unwrap();
        (organisation, contact, issued)
    }

    /// An organisation whose Active agreement was accepted through the portal.
    pub async fn active_contract(&self, name: &str, ods: &str) -> (Organisation, User, Agreement) {
        let (organisation, contact, issued) = self.issued_contract(name, ods).await;
        let active = self.accept(&contact, &issued).await.unwrap();
        (organisation, contact, active)
    }

    /// An organisation with an Active agreement and an issued new contract (NHS login) waiting for acceptance.
    pub async fn contract_pending_beside_an_active_one(
        &self,
        name: &str,
        ods: &str,
    ) -> (Organisation, User, Agreement) {
        let (organisation, contact, _) = self.active_contract(name, ods).await;
        let draft = self.new_contract(&organisation, vec![product("nhs-login")]).await;
        let issued = lifecycle::issue(&self.context, &self.staff, draft.id).await.unwrap();
        (organisation, contact, issued)
    }

    /// Accepts as the agreement page does: with the terms the page shows for the agreement as it is now.
    pub async fn accept(&self, user: &User, agreement: &Agreement) -> Result<Agreement, LifecycleServiceError> {
        let current = self.agreement(agreement).await;
        let shown = lifecycle::terms_shown(&self.context, &current)?;
        lifecycle::accept(&self.context, user, agreement.id, shown).await
    }

    pub async fn agreement(&self, agreement: &Agreement) -> Agreement {
        self.context.store.agreement(agreement.id).await.unwrap().unwrap()
    }

    pub async fn run_timers(&self) -> jobs::RunReport {
        jobs::run_due(&self.context, self.now()).await.unwrap()
    }

    pub async fn notifications(&self, kind: &str) -> Vec<onramp_store::Notification> {
        let all = self.context.store.notifications().await.unwrap();
        all.into_iter().filter(|n| n.notification.kind() == kind).collect()
    }

    pub async fn publish(&self, version: u32) -> lifecycle::UpliftReport {
        let actor = Actor::User { id: self.staff.id, name: "Aisha Agreements".into() };
        lifecycle::publish_terms(&self.context, version, actor, 2, None).await.unwrap()
    }
}

/// The test clock's reading without going through the trait object.
pub trait NowForTest {
    fn now_for_test(&self) -> Timestamp;
}

impl NowForTest for ManualClock {
    fn now_for_test(&self) -> Timestamp {
        onramp_domain::Clock::now(self)
    }
}

pub fn rule(error: LifecycleServiceError) -> LifecycleError {
    match error {
        LifecycleServiceError::Rule(rule) => rule,
        other => panic!("expected a lifecycle rule, got {other:?}"),
    }
}

/// The defaults, on `database`, with mail written to the database's own folder and links to a fixed portal.
pub fn test_config(database: &TestDatabase) -> Config {
    let mut config = Config { database_url: database.url().clone(), ..Config::default() };
    config.mail.folder = Some(database.files_dir().join("mail"));
    config.evidence.folder = Some(database.files_dir().join("evidence"));
    config.public_url = Some("https://onramp.test".into());
    config
}

/// A product of the shipped catalogue, by slug.
pub fn product(slug: &str) -> onramp_domain::ApiProduct {
    onramp_domain::ApiProduct::parse(slug).unwrap()
}
