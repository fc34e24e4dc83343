//! Demo data for `onramp serve --demo`: a provider, organisations of every kind and users in every role, so a
//! newcomer can sign in and look around. Seeding is idempotent: what exists already is left as it is.

use onramp_domain::{
    EmailAddress, Membership, NewOrganisation, NewUser, OrganisationInput, Password, PersonName, StaffRole, TeamRole,
};

use std::sync::Arc;

use jiff::SignedDuration;
use onramp_domain::ApiProduct;
use onramp_domain::agreement::Origin;

use crate::clock::ManualClock;
use crate::{AppContext, jobs, lifecycle, password};

/// The password of every demo account; printed at start-up.
pub const DEMO_PASSWORD: &str = "onramp-demo-password";

/// A demo account as printed at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSignIn {
    pub email: String,
    pub description: String,
}

struct DemoOrganisation {
    name: &'static str,
    ods_code: &'static str,
    company_number: &'static str,
    kind: &'static str,
    im1_supplier: bool,
    address: &'static str,
    mailbox: &'static str,
}

const ORGANISATIONS: &[DemoOrganisation] = &[
    DemoOrganisation {
        name: "Acme Health Software Ltd",
        ods_code: "8JK45",
        company_number: "04567890",
        kind: "commercial",
        im1_supplier: true,
        address: "1 Wellington Place\nLeeds\nLS1 4AP",
        mailbox: "connection-notices@acme-health.example",
    },
    DemoOrganisation {
        name: "Beacon Digital Care Ltd",
        ods_code: "B3C01",
        company_number: "SC612345",
        kind: "commercial",
        im1_supplier: false,
        address: "20 Haymarket Yards\nEdinburgh\nEH12 5BH",
        mailbox: "legal@beacon-care.example",
    },
    DemoOrganisation {
        name: "Northfield NHS Foundation Trust",
        ods_code: "RNF",
        company_number: "",
        kind: "public_healthcare",
        im1_supplier: false,
        address: "Northfield General Hospital\nNorthfield\nNF1 2AB",
        mailbox: "digital.contracts@northfield-nhs.example",
    },
    DemoOrganisation {
        name: "Riverside Integrated Care Board",
        ods_code: "QRV",
        company_number: "",
        kind: "public_healthcare",
        im1_supplier: false,
        address: "Riverside House\nRiverside\nRV3 9ZZ",
        mailbox: "it.contracts@riverside-icb.example",
    },
    DemoOrganisation {
        name: "Helvetia Med Data AG",
        ods_code: "XCH01",
        company_number: "",
        kind: "non_uk",
        im1_supplier: false,
        address: "Bahnhofstrasse 1\n8001 Zurich\nSwitzerland",
        mailbox: "contracts@helvetia-med.example",
    },
    DemoOrganisation {
        name: "Provider Platform Team",
        ods_code: "X26",
        company_number: "",
        kind: "provider_internal",
        im1_supplier: false,
        address: "7 and 8 Wellington Place\nLeeds\nLS1 4AP",
        mailbox: "platform-team@onramp.example",
    },
];

struct DemoUser {
    email: &'static str,
    full_name: &'static str,
    staff_roles: &'static [StaffRole],
    /// ODS code of the organisation, team role, onboarding contact.
    member_of: Option<(&'static str, TeamRole, bool)>,
    description: &'static str,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        email: "agreements@onramp.example",
        full_name: "Aisha Agreements",
        staff_roles: &[StaffRole::AgreementTeam],
        member_of: None,
        description: "provider staff: agreement team",
    },
    DemoUser {
        email: "reviewer@onramp.example",
        full_name: "Rory Reviewer",
        staff_roles: &[StaffRole::Reviewer, StaffRole::Author],
        member_of: None,
        description: "provider staff: reviewer and flow author",
    },
    DemoUser {
        email: "live-service@onramp.example",
        full_name: "Lena Live",
        staff_roles: &[StaffRole::LiveService],
        member_of: None,
        description: "provider staff: live service",
    },
    DemoUser {
        email: "admin@onramp.example",
        full_name: "Adam Admin",
        staff_roles: &[StaffRole::Admin],
        member_of: None,
        description: "provider staff: administrator",
    },
    DemoUser {
        email: "owner@acme-health.example",
        full_name: "Olivia Owner",
        staff_roles: &[],
        member_of: Some(("8JK45", TeamRole::Owner, true)),
        description: "Acme Health Software: owner and onboarding contact",
    },
    DemoUser {
        email: "viewer@acme-health.example",
        full_name: "Victor Viewer",
        staff_roles: &[],
        member_of: Some(("8JK45", TeamRole::Viewer, false)),
        description: "Acme Health Software: viewer",
    },
    DemoUser {
        email: "contact@beacon-care.example",
        full_name: "Bea Contact",
        staff_roles: &[],
        member_of: Some(("B3C01", TeamRole::Owner, true)),
        description: "Beacon Digital Care: owner and onboarding contact",
    },
    DemoUser {
        email: "contracts@northfield-nhs.example",
        full_name: "Nadia North",
        staff_roles: &[],
        member_of: Some(("RNF", TeamRole::Admin, true)),
        description: "Northfield NHS Foundation Trust: admin and onboarding contact",
    },
];

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Store(#[from] onramp_store::StoreError),
    #[error(transparent)]
    Password(#[from] password::PasswordHashError),
    #[error("demo data is invalid: {0}")]
    Invalid(String),
    #[error(transparent)]
    Lifecycle(#[from] lifecycle::LifecycleServiceError),
}

/// Loads the demo data into `context.store` unless it is there already, and returns the sign-ins to print.
#[tracing::instrument(skip_all)]
pub async fn seed(context: &AppContext) -> Result<Vec<DemoSignIn>, DemoError> {
    let store = &context.store;
    let now = context.clock.now();
    store.save_provider(&context.config.provider()).await?;

    for demo in ORGANISATIONS {
        let details = NewOrganisation::parse(&OrganisationInput {
            name: demo.name.into(),
            ods_code: demo.ods_code.into(),
            company_number: demo.company_number.into(),
            registered_address: demo.address.into(),
            kind: demo.kind.into(),
            delivery_notice_mailbox: demo.mailbox.into(),
            im1_supplier: demo.im1_supplier,
        })
        .map_err(|e| DemoError::Invalid(e.to_string()))?;
        if store.organisation_by_ods_code(&details.ods_code).await?.is_none() {
            store.create_organisation(&details, now).await?;
        }
    }

    let password = Password::parse(DEMO_PASSWORD).map_err(|e| DemoError::Invalid(e.to_string()))?;
    let mut sign_ins = Vec::with_capacity(USERS.len());
    for demo in USERS {
        let email = EmailAddress::parse(demo.email).map_err(|e| DemoError::Invalid(e.to_string()))?;
        if store.user_by_email(&email).await?.is_none() {
            let user = NewUser {
                email: email.clone(),
                full_name: PersonName::parse(demo.full_name).map_err(|e| DemoError::Invalid(e.to_string()))?,
                password_hash: Some(password::hash(password.clone()).await?),
                staff_roles: demo.staff_roles.to_vec(),
                email_verified: true,
            };
            let user = store.create_user(&user, now).await?;
            if let Some((ods_code, role, onboarding_contact)) = demo.member_of {
                let ods_code =
                    onramp_domain::OdsCode::parse(ods_code).map_err(|e| DemoError::Invalid(e.to_string()))?;
                let organisation = store
                    .organisation_by_ods_code(&ods_code)
                    .await?
                    .ok_or_else(|| DemoError::Invalid(format!("no demo organisation {ods_code}")))?;
                let membership = Membership { organisation_id: organisation.id, role, onboarding_contact };
                store.set_membership(user.id, Some(&membership)).await?;
            }
        }
        sign_ins.push(DemoSignIn { email: email.to_string(), description: demo.description.into() });
    }
    seed_agreements(context).await?;
    seed_applications(context).await?;
    tracing::info!(organisations = ORGANISATIONS.len(), users = USERS.len(), "demo data in place");
    Ok(sign_ins)
}

/// Agreements in every state, made by replaying their history on a clock that starts 120 days ago and then
/// letting the timers that came due since fire. Skipped when any agreement exists already.
async fn seed_agreements(context: &AppContext) -> Result<(), DemoError> {
    if !context.store.all_agreements().await?.is_empty() {
        return Ok(());
    }
    let now = context.clock.now();
    let past = Arc::new(ManualClock::new(now - SignedDuration::from_hours(24 * 120)));
    let history = AppContext { clock: past.clone(), ..context.clone() };
    let user = |email: &str| {
        let email = EmailAddress::parse(email);
        let store = Arc::clone(&context.store);
        async move {
            let email = email.map_err(|e| DemoError::Invalid(e.to_string()))?;
            store.user_by_email(&email).await?.ok_or_else(|| DemoError::Invalid(format!("no demo user {email}")))
        }
    };
    let organisation = |ods: &str| {
        let ods = onramp_domain::OdsCode::parse(ods);
        let store = Arc::clone(&context.store);
        async move {
            let ods = ods.map_err(|e| DemoError::Invalid(e.to_string()))?;
            store
                .organisation_by_ods_code(&ods)
                .await?
                .ok_or_else(|| DemoError::Invalid(format!("no demo organisation {ods}")))
        }
    };
    // The demo uses the shipped catalogue's products; with a catalogue of its own it says which one is missing.
    let product = |slug: &str| {
        ApiProduct::parse(slug)
            .ok()
            .filter(|product| context.products.get(product).is_some_and(|p| p.offered))
            .ok_or_else(|| DemoError::Invalid(format!("the demo needs the product {slug} in the API catalogue")))
    };
    let team = user("agreements@onramp.example").await?;
    let (acme, beacon, northfield, riverside, helvetia) = (
        organisation("8JK45").await?,
        organisation("B3C01").await?,
        organisation("RNF").await?,
        organisation("QRV").await?,
        organisation("XCH01").await?,
    );

    // 120 days ago: Acme accepts its first contract; Helvetia is issued one it will never accept.
    let first = lifecycle::create(&history, &team, acme.id, vec![product("pds-fhir")?], Origin::NewContract).await?;
    lifecycle::issue(&history, &team, first.id).await?;
    let shown = lifecycle::terms_shown(&history, &first)?;
    lifecycle::accept(&history, &user("owner@acme-health.example").await?, first.id, shown).await?;
    let unanswered =
        lifecycle::create(&history, &team, helvetia.id, vec![product("nhs-login")?], Origin::NewContract).await?;
    lifecycle::issue(&history, &team, unanswered.id).await?;

    // 100 days ago: Acme adds NHS login; its first contract expires.
    past.advance(SignedDuration::from_hours(24 * 20));
    let second = lifecycle::create(
        &history,
        &team,
        acme.id,
        vec![product("pds-fhir")?, product("nhs-login")?],
        Origin::NewContract,
    )
    .await?;
    lifecycle::issue(&history, &team, second.id).await?;
    let shown = lifecycle::terms_shown(&history, &second)?;
    lifecycle::accept(&history, &user("owner@acme-health.example").await?, second.id, shown).await?;

    // Today: Beacon has a contract to accept, Riverside's is being prepared, Northfield's paper agreement
    // gets its version-6 successor.
    past.set(now);
    let waiting =
        lifecycle::create(&history, &team, beacon.id, vec![product("gp-connect")?], Origin::NewContract).await?;
    lifecycle::issue(&history, &team, waiting.id).await?;
    lifecycle::create(&history, &team, riverside.id, vec![product("e-referral")?], Origin::NewContract).await?;
    let signed_on = jiff::civil::date(2022, 3, 14);
    lifecycle::import_paper(
        &history,
        northfield.id,
        vec![product("e-referral")?],
        signed_on,
        "Nadia North".into(),
        "demo",
    )
    .await?;
    let successor =
        lifecycle::create(&history, &team, northfield.id, vec![product("e-referral")?], Origin::LegacyUplift).await?;
    lifecycle::issue(&history, &team, successor.id).await?;

    // Helvetia's 90 days ran out 30 days ago: its timer fires now, as the worker would have.
    jobs::run_due(context, now).await?;
    Ok(())
}

/// An application for the reviewers' queue: Acme's eligibility section, submitted. Skipped when Acme has one.
async fn seed_applications(context: &AppContext) -> Result<(), DemoError> {
    use onramp_domain::application::{ApplicationCommand, SectionKey};
    use onramp_domain::flow::evaluate::Answer;
    let invalid = |e: &dyn std::fmt::Display| DemoError::Invalid(e.to_string());
    let email = EmailAddress::parse("owner@acme-health.example").map_err(|e| invalid(&e))?;
    let owner = context.store.user_by_email(&email).await?.ok_or_else(|| invalid(&"no demo owner"))?;
    let organisation = owner.membership.as_ref().map(|m| m.organisation_id).ok_or_else(|| invalid(&"no demo team"))?;
    if !context.store.applications_of(organisation).await?.is_empty() {
        return Ok(());
    }
    let product = ApiProduct::parse("pds-fhir").map_err(|e| invalid(&e))?;
    let application = crate::applications::start(context, &owner, "Acme Patient Records", &[product])
        .await
        .map_err(|e| invalid(&e))?;
    let eligibility = SectionKey("eligibility".into());
    let answers = [
        ("use_case", Answer::Text("Shows patients and GP practice staff the patient's registered details.".into())),
        ("use_case_fits", Answer::YesNo(true)),
        ("uk_health_or_care", Answer::YesNo(true)),
    ];
    let answers = answers.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect();
    for command in [
        ApplicationCommand::Save { section: eligibility.clone(), answers },
        ApplicationCommand::Submit { section: eligibility },
    ] {
        crate::applications::act(context, &owner, application.id, command).await.map_err(|e| invalid(&e))?;
    }
    seed_assured_application(context).await
}

/// DOS-6: Beacon's application, assured in every section but the agreement's own, with its conformance report
/// uploaded, so the agreement team can create the connection agreement from it.
async fn seed_assured_application(context: &AppContext) -> Result<(), DemoError> {
    use std::collections::BTreeMap;

    use onramp_domain::application::{ApplicationCommand, SectionKey};
    use onramp_domain::flow::evaluate::Answer;
    let invalid = |e: &dyn std::fmt::Display| DemoError::Invalid(e.to_string());
    let user = |address: &str| {
        let address = EmailAddress::parse(address).map_err(|e| invalid(&e));
        async move {
            let found = context.store.user_by_email(&address?).await?;
            found.ok_or_else(|| invalid(&"a demo user is missing"))
        }
    };
    let owner = user("contact@beacon-care.example").await?;
    let reviewer = user("reviewer@onramp.example").await?;
    let product = ApiProduct::parse("pds-fhir").map_err(|e| invalid(&e))?;
    let application = crate::applications::start(context, &owner, "Beacon Care Planner", &[product])
        .await
        .map_err(|e| invalid(&e))?;
    let answers = |pairs: Vec<(&str, Answer)>| -> BTreeMap<String, Option<Answer>> {
        pairs.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect()
    };
    let sections = [
        (
            "eligibility",
            answers(vec![
                ("use_case", Answer::Text("Care planners see the patient's registered GP and address.".into())),
                ("use_case_fits", Answer::YesNo(true)),
                ("uk_health_or_care", Answer::YesNo(true)),
            ]),
        ),
        ("contacts", answers(vec![("technical_contact", Answer::Text("tech@beacon-care.example".into()))])),
        (
            "standard-api/service",
            answers(vec![
                ("expected_users", Answer::Number(450.0)),
                ("channels", Answer::Choices(vec!["desktop".into()])),
                ("service_desk_acknowledged", Answer::YesNo(true)),
            ]),
        ),
        ("standard-api/conformance", BTreeMap::new()),
    ];
    let id = application.id;
    for (section, given) in sections {
        let section = SectionKey(section.into());
        let save = ApplicationCommand::Save { section: section.clone(), answers: given };
        crate::applications::act(context, &owner, id, save).await.map_err(|e| invalid(&e))?;
        if section.0 == "standard-api/conformance" {
            let report = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
            let source = crate::evidence::ReadChunks(&report[..]);
            crate::application_files::upload(
                context,
                &owner,
                id,
                &section,
                "test_report",
                "Conformance report.pdf",
                source,
            )
            .await
            .map_err(|e| invalid(&e))?;
        }
        crate::applications::act(context, &owner, id, ApplicationCommand::Submit { section: section.clone() })
            .await
            .map_err(|e| invalid(&e))?;
        let approve = ApplicationCommand::Approve { section, reference: None, agreement: None };
        crate::applications::act(context, &reviewer, id, approve).await.map_err(|e| invalid(&e))?;
    }
    Ok(())
}

/// Why demo time could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum DemoClockError {
    #[error("demo time can only be moved when Onramp runs with `serve --demo`")]
    NotDemoMode,
    #[error("only the agreement team may move demo time")]
    NotAllowed,
    #[error("move demo time forward by 1 hour to 400 days")]
    OutOfRange,
    #[error(transparent)]
    Store(#[from] onramp_store::StoreError),
}

/// The longest single jump: far enough to pass any deadline (the 90-day review window), short enough to
/// catch a typing mistake.
pub const MAX_DEMO_JUMP: jiff::SignedDuration = jiff::SignedDuration::from_hours(400 * 24);

/// What moving demo time did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoJump {
    /// What the due jobs did (timers fired, mail sent …).
    pub jobs: crate::jobs::RunReport,
    /// Agreements whose state or substate is not what it was before the jump.
    pub agreements_changed: usize,
}

/// Moves demo time forward by `by` for every instance (the offset is stored), catches this instance's clock
/// up at once and fires whatever fell due, so the person who moved time sees the result on the next page.
pub async fn advance_clock(
    context: &AppContext,
    staff: &onramp_domain::User,
    by: jiff::SignedDuration,
) -> Result<DemoJump, DemoClockError> {
    let demo_clock = context.demo_clock.as_ref().ok_or(DemoClockError::NotDemoMode)?;
    if !staff.has_staff_role(onramp_domain::StaffRole::AgreementTeam) {
        return Err(DemoClockError::NotAllowed);
    }
    if by < jiff::SignedDuration::from_hours(1) || by > MAX_DEMO_JUMP {
        return Err(DemoClockError::OutOfRange);
    }
    // The demo is small: comparing every agreement before and after says honestly what changed.
    let states = |agreements: Vec<onramp_domain::agreement::Agreement>| -> std::collections::BTreeMap<_, _> {
        agreements.into_iter().map(|a| (a.id, (a.state, a.substate))).collect()
    };
    let before = states(context.store.all_agreements().await?);
    let offset = context.store.advance_demo_clock(by).await?;
    demo_clock.catch_up(offset);
    tracing::info!(hours = by.as_hours(), user = %staff.id, "demo time moved forward");
    let jobs = crate::jobs::run_due(context, context.clock.now()).await?;
    let after = states(context.store.all_agreements().await?);
    let agreements_changed = after.iter().filter(|(id, state)| before.get(id) != Some(state)).count();
    Ok(DemoJump { jobs, agreements_changed })
}
