//! What must hold when things go wrong or run concurrently: two workers racing over the same due timers,
//! an uplift killed half-way, and an audit log edited behind Onramp's back. Each runs on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{DAY, World, product};
use onramp_domain::agreement::{Actor, AgreementState, Origin};
use onramp_service::jobs::{AgreementTimer, BackgroundJob};
use onramp_service::lifecycle::{self, LifecycleServiceError};
use onramp_service::{AppContext, audit, jobs};
use onramp_store::NewJob;

onramp_store::on_both_backends!(
    World::new;
    ca10_two_workers_racing_over_1000_deadlines_fire_each_exactly_once,
    ca05_an_uplift_killed_half_way_finishes_on_restart_with_every_organisation_uplifted_once,
    ca_numbers_are_gapless_and_unique_under_concurrent_creation,
    aud2_verify_audit_names_an_edited_entry,
    aud2_verify_audit_names_a_deleted_entry,
    aud2_verify_audit_names_a_reordered_entry,
    jobs_that_cannot_run_back_off_then_fail_for_good,
    a_change_made_on_a_stale_agreement_version_is_refused,
    ca12_a_legacy_import_that_fails_half_way_leaves_nothing_imported,
);

const DEADLINES: usize = 1000;

async fn ca10_two_workers_racing_over_1000_deadlines_fire_each_exactly_once(world: World) {
    // One organisation per agreement; an issued new contract each: a 90-day deadline and four reminders.
    let mut organisations = Vec::with_capacity(DEADLINES);
    for i in 0..DEADLINES {
        let organisation = world.organisation(&format!("Supplier {i:04}"), &format!("R{i:04}")).await;
        let created = world.new_contract(&organisation, vec![product("pds-fhir")]).await;
        lifecycle::issue(&world.context, &world.staff, created.id).await.unwrap();
        organisations.push(organisation);
    }
    // Five timers each (the deadline and four reminders), and the delivery of each "issued" mail (NOT-2).
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), (DEADLINES * 6) as i64);

    // A second instance: its own connection pool on the same database, the same clock.
    let second_store =
        onramp_store::connect(world.database.url(), &world.context.config.connect_options()).await.unwrap();
    let second = AppContext::new((*world.context.config).clone(), second_store, world.clock.clone()).await.unwrap();
    world.jump(DAY * 91);
    let now = world.now();
    let (first_report, second_report) = tokio::join!(jobs::run_due(&world.context, now), jobs::run_due(&second, now));
    let (first_report, second_report) = (first_report.unwrap(), second_report.unwrap());

    assert_eq!(first_report.changed + second_report.changed, DEADLINES, "{first_report:?} {second_report:?}");
    let sent = first_report.mail_sent + second_report.mail_sent;
    assert_eq!(sent, DEADLINES * 2, "each \"issued\" and \"cancelled\" mail delivered once");
    assert_eq!(first_report.failed + second_report.failed, 0);
    let moved_on = first_report.nothing_to_do + second_report.nothing_to_do;
    assert_eq!(moved_on, DEADLINES * 4, "the overdue reminders found their review over and did nothing");
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0, "the queue drains");
    let cancelled = world.notifications("cancelled").await.len();
    assert_eq!(cancelled, DEADLINES, "one cancellation mail per agreement, never two");
    let outbox = world.context.store.outbox_page(None, 10 * DEADLINES as i64).await.unwrap();
    assert_eq!(outbox.len(), DEADLINES * 2);
    assert!(outbox.iter().all(|row| matches!(row.delivery, onramp_store::Delivery::Sent { .. })), "all delivered");
    let fired = world.context.store.audit_records().await.unwrap();
    assert_eq!(
        fired.iter().filter(|r| r.action == "review_deadline_fired" && r.entity == "agreement").count(),
        DEADLINES
    );
    for organisation in organisations.iter().step_by(97) {
        let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
        assert_eq!(agreements[0].state, AgreementState::Cancelled);
    }
}

async fn ca05_an_uplift_killed_half_way_finishes_on_restart_with_every_organisation_uplifted_once(world: World) {
    let mut organisations = Vec::new();
    for i in 0..10 {
        let (organisation, _, _) = world.active_contract(&format!("Supplier {i}"), &format!("U{i:02}")).await;
        organisations.push(organisation);
    }
    let actor = Actor::System { process: "test".into() };
    let issued_before = world.notifications("issued").await.len();

    let killed = lifecycle::publish_terms(&world.context, 7, actor.clone(), 3, Some(4)).await.unwrap_err();
    assert!(matches!(killed, LifecycleServiceError::Interrupted { done: 4 }));
    let drafts = |agreements: Vec<onramp_domain::agreement::Agreement>| {
        agreements.into_iter().filter(|a| a.is_pending()).count()
    };
    let mut half = 0;
    for organisation in &organisations {
        let pending = drafts(world.context.store.agreements_of(organisation.id).await.unwrap());
        assert!(pending <= 1, "never half-uplifted: a draft exists or it does not");
        half += pending;
    }
    assert_eq!(half, 4, "the fifth organisation's transaction was rolled back");
    assert_eq!(world.notifications("issued").await.len(), issued_before + 4, "no mail for the rolled-back one");

    let report = lifecycle::publish_terms(&world.context, 7, actor, 3, None).await.unwrap();
    assert_eq!(report.uplifted, 6, "the restart finishes only what was left");
    for organisation in &organisations {
        let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
        let uplifts: Vec<_> = agreements.iter().filter(|a| a.terms_version == 7).collect();
        assert_eq!(uplifts.len(), 1, "exactly one uplift per organisation");
    }
    assert_eq!(world.notifications("issued").await.len(), issued_before + 10, "no notification lost or doubled");
    assert!(audit::verify_audit(&world.context).await.is_ok());
}

/// One organisation's chain with a few entries, checked clean before it is tampered with.
async fn audited_world(world: &World) {
    let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
    let _ = (organisation, contact);
    let entries = audit::verify_audit(&world.context).await.unwrap();
    assert!(entries >= 5, "an untouched database verifies ({entries} entries)");
}

async fn aud2_verify_audit_names_an_edited_entry(world: World) {
    audited_world(&world).await;
    world.database.execute_raw("UPDATE audit_log SET after = '{}' WHERE seq = 3").await.unwrap();
    let broken = audit::verify_audit(&world.context).await.unwrap_err().to_string();
    assert!(broken.contains("entry 3 was edited"), "{broken}");
}

async fn aud2_verify_audit_names_a_deleted_entry(world: World) {
    audited_world(&world).await;
    world.database.execute_raw("DELETE FROM audit_log WHERE seq = 2").await.unwrap();
    let broken = audit::verify_audit(&world.context).await.unwrap_err().to_string();
    assert!(broken.contains("entry 3 is out of sequence"), "{broken}");
}

async fn aud2_verify_audit_names_a_reordered_entry(world: World) {
    audited_world(&world).await;
    for swap in [
        "UPDATE audit_log SET seq = -2 WHERE seq = 2",
        "UPDATE audit_log SET seq = 2 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = -2",
    ] {
        world.database.execute_raw(swap).await.unwrap();
    }
    let broken = audit::verify_audit(&world.context).await.unwrap_err().to_string();
    assert!(broken.contains("entry 2 does not follow the entry before it"), "{broken}");
}

async fn ca_numbers_are_gapless_and_unique_under_concurrent_creation(world: World) {
    let mut organisations = Vec::new();
    for i in 0..20 {
        organisations.push(world.organisation(&format!("Supplier {i}"), &format!("N{i:02}")).await);
    }
    let mut creations = tokio::task::JoinSet::new();
    for organisation in organisations {
        let (context, staff) = (world.context.clone(), world.staff.clone());
        creations.spawn(async move {
            lifecycle::create(&context, &staff, organisation.id, vec![product("pds-fhir")], Origin::NewContract).await
        });
    }
    let mut numbers = Vec::new();
    let mut case_numbers = Vec::new();
    while let Some(created) = creations.join_next().await {
        let created = created.unwrap().unwrap();
        numbers.push(created.number.sequence());
        case_numbers.push(created.case_number.unwrap().sequence());
    }
    numbers.sort_unstable();
    case_numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>(), "CNTR numbers in order, no gap, no duplicate");
    assert_eq!(case_numbers, (1..=20).collect::<Vec<i64>>(), "CS numbers likewise");
}

/// A job no handler understands, or whose payload does not decode, fails for good at once; one whose handler
/// fails is retried with back-off and fails for good after `MAX_ATTEMPTS`. An operator can put it back.
async fn jobs_that_cannot_run_back_off_then_fail_for_good(world: World) {
    let organisation = world.organisation("Acme Health", "X26").await;
    let now = world.now();
    let ghost = AgreementTimer {
        agreement_id: onramp_domain::agreement::AgreementId(uuid::Uuid::nil()),
        timer: onramp_domain::agreement::TimerKind::AutoAccept,
    };
    let raw = |kind: &'static str, payload: &str| NewJob {
        kind,
        dedup_key: None,
        organisation_id: None,
        payload: payload.to_owned(),
        priority: 0,
        run_at: now,
    };
    let mut work = world.context.store.begin(organisation.id).await.unwrap();
    work.enqueue(&ghost.to_job(None, now).unwrap(), now).await.unwrap();
    work.enqueue(&raw("carrier_pigeon", "{}"), now).await.unwrap();
    work.enqueue(&raw(AgreementTimer::KIND, "not json"), now).await.unwrap();
    work.commit().await.unwrap();

    let first = world.run_timers().await;
    assert_eq!((first.failed, first.failed_permanently), (1, 2), "{first:?}");
    for attempts in 1..jobs::MAX_ATTEMPTS {
        world.jump(jobs::backoff(attempts) - jiff::SignedDuration::from_secs(1));
        assert_eq!(world.run_timers().await, jobs::RunReport::default(), "not before its back-off");
        world.jump(jiff::SignedDuration::from_secs(1));
        let report = world.run_timers().await;
        let expected = if attempts + 1 < jobs::MAX_ATTEMPTS { (1, 0) } else { (0, 1) };
        assert_eq!((report.failed, report.failed_permanently), expected, "attempt {}: {report:?}", attempts + 1);
    }

    let failed = world.context.store.failed_jobs().await.unwrap();
    assert_eq!(failed.len(), 3);
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0, "failed jobs are not pending");
    let ghost_job = failed.iter().find(|f| f.job.dedup_key == ghost.dedup_key()).unwrap();
    assert_eq!(ghost_job.job.attempts, jobs::MAX_ATTEMPTS);
    assert!(ghost_job.last_error.as_deref().unwrap_or_default().contains("not found"), "{ghost_job:?}");
    let pigeon = failed.iter().find(|f| f.job.kind == "carrier_pigeon").unwrap();
    assert_eq!(pigeon.job.attempts, 1, "an unknown kind is not retried");
    assert!(world.run_timers().await == jobs::RunReport::default(), "failed jobs are never claimed again");

    world.context.store.retry_failed_job(ghost_job.job.id, world.now()).await.unwrap();
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 1);
    // The story leaves its failed jobs and the retried one behind: they are what it checks.
    world.expect_unsettled_jobs();
}

/// The optimistic lock: saving an agreement that is not one version ahead of the stored one is refused.
async fn a_change_made_on_a_stale_agreement_version_is_refused(world: World) {
    let (organisation, _, issued) = world.issued_contract("Acme Health", "X26").await;
    let stored = world.agreement(&issued).await;
    let mut work = world.context.store.begin(organisation.id).await.unwrap();
    let stale = work.save_agreement(&stored).await.unwrap_err();
    assert!(matches!(stale, onramp_store::StoreError::StaleVersion { entity: "agreement" }), "{stale:?}");
    assert_eq!(stale.to_string(), "that agreement was changed by someone else meanwhile");
}

/// CA-12: the import is one transaction. A database failure on the third agreement (a trigger stands in for a
/// full disk) leaves no organisation and no agreement behind; once the database is well, the same file imports.
async fn ca12_a_legacy_import_that_fails_half_way_leaves_nothing_imported(world: World) {
    let sample = include_str!("../../../samples/legacy-agreements.csv");
    let failing = match world.database.store().backend() {
        onramp_store::Backend::Sqlite => vec![
            "CREATE TRIGGER disk_full BEFORE INSERT ON agreements WHEN (SELECT COUNT(*) FROM agreements) >= 2 \
             BEGIN SELECT RAISE(ABORT, 'disk full'); END",
        ],
        onramp_store::Backend::Postgres => vec![
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF (SELECT COUNT(*) FROM agreements) >= 2 THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER disk_full BEFORE INSERT ON agreements FOR EACH ROW EXECUTE FUNCTION disk_full()",
        ],
    };
    for statement in failing {
        world.database.execute_raw(statement).await.unwrap();
    }
    let failed = onramp_service::legacy::import_legacy_agreements(&world.context, sample).await;
    assert!(failed.is_err(), "the third agreement cannot be written");
    assert!(world.context.store.organisations().await.unwrap().is_empty(), "no organisation is left behind");
    assert!(world.context.store.all_agreements().await.unwrap().is_empty(), "no agreement is left behind");

    world.database.execute_raw("DROP TRIGGER disk_full ON agreements").await.ok();
    world.database.execute_raw("DROP TRIGGER IF EXISTS disk_full").await.ok();
    assert_eq!(onramp_service::legacy::import_legacy_agreements(&world.context, sample).await.unwrap(), 5);
}
