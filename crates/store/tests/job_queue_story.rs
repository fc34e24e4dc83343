//! The durable job queue on both backends: enqueueing with a dedup key replaces the pending job, workers
//! claim by priority under a lease, failures come back with back-off or fail for good, and the migration that
//! made the queue generic kept every agreement timer.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::{AgreementId, TimerKind};
use onramp_domain::{NewOrganisation, Organisation, OrganisationInput};
use onramp_store::testing::TestDatabase;
use onramp_store::{Backend, NewJob, StoreError};

onramp_store::on_both_backends!(database; job_queue_story, a_claimed_job_rescheduled_meanwhile_is_not_completed);

async fn database(database: TestDatabase) -> TestDatabase {
    database
}

fn now() -> Timestamp {
    "2026-11-21T09:30:00Z".parse().unwrap()
}

const MINUTE: SignedDuration = SignedDuration::from_mins(1);

async fn organisation(database: &TestDatabase) -> Organisation {
    let details = NewOrganisation::parse(&OrganisationInput {
        name: "Acme Health".into(),
        ods_code: "X26".into(),
        company_number: "01234567".into(),
        registered_address: "1 High Street".into(),
        kind: "commercial".into(),
        delivery_notice_mailbox: "notices@x26.example".into(),
        im1_supplier: false,
    })
    .unwrap();
    database.store().create_organisation(&details, now()).await.unwrap()
}

fn job(key: &str, priority: i32, run_at: Timestamp) -> NewJob {
    NewJob {
        kind: "test",
        dedup_key: Some(key.to_owned()),
        organisation_id: None,
        payload: format!("{{\"key\":\"{key}\"}}"),
        priority,
        run_at,
    }
}

async fn enqueue(database: &TestDatabase, organisation: &Organisation, jobs: &[NewJob]) {
    let mut work = database.store().begin(organisation.id).await.unwrap();
    for job in jobs {
        work.enqueue(job, now()).await.unwrap();
    }
    work.commit().await.unwrap();
}

async fn job_queue_story(database: TestDatabase) {
    let store = database.store();
    let acme = organisation(&database).await;
    assert_eq!(store.next_job_at().await.unwrap(), None);

    enqueue(
        &database,
        &acme,
        &[
            job("a:1", 0, now()),
            job("a:2", 0, now() + MINUTE),
            job("b:1", 5, now() + MINUTE * 2),
            job("later", 9, now() + MINUTE * 60),
        ],
    )
    .await;
    // The same key again replaces the pending job rather than adding one.
    enqueue(&database, &acme, &[job("a:2", 0, now() - MINUTE)]).await;
    assert_eq!(store.pending_jobs().await.unwrap(), 4);
    assert_eq!(store.next_job_at().await.unwrap(), Some(now() - MINUTE));

    let listed: Vec<_> = store.jobs_with_key_prefix("a:").await.unwrap().into_iter().map(|j| j.dedup_key).collect();
    assert_eq!(listed, ["a:2", "a:1"], "by due time; `b:1` and `later` are not under `a:`");

    // Claiming: due jobs only, the highest priority first, then the oldest.
    let at = now() + MINUTE * 2;
    let claimed = store.claim_due_jobs(at, at + MINUTE * 5, 10).await.unwrap();
    let keys: Vec<_> = claimed.iter().map(|j| j.dedup_key.clone().unwrap()).collect();
    assert_eq!(keys, ["b:1", "a:2", "a:1"]);
    assert!(claimed.iter().all(|j| j.attempts == 1 && j.kind == "test"));
    assert!(store.claim_due_jobs(at, at + MINUTE * 5, 10).await.unwrap().is_empty(), "leased");

    // A failure comes back at its retry time; a job that keeps failing fails for good.
    let (b, a2, a1) = (&claimed[0], &claimed[1], &claimed[2]);
    store.release_job(b, at + MINUTE, "the mail server said no").await.unwrap();
    store.fail_job(a2, "undecodable payload", at).await.unwrap();
    assert!(store.claim_due_jobs(at, at + MINUTE * 5, 10).await.unwrap().is_empty());
    let retried = store.claim_due_jobs(at + MINUTE, at + MINUTE * 6, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].id, retried[0].attempts), (1, b.id, 2));

    let failed = store.failed_jobs().await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].job.id, failed[0].failed_at), (a2.id, at));
    assert_eq!(failed[0].last_error.as_deref(), Some("undecodable payload"));
    assert_eq!(store.pending_jobs().await.unwrap(), 3, "a failed job is not pending");
    assert!(store.jobs_with_key_prefix("a:2").await.unwrap().is_empty());
    assert!(store.claim_due_jobs(at + MINUTE * 30, at + MINUTE * 35, 10).await.unwrap().iter().all(|j| j.id != a2.id));

    // Completing removes a job; an operator can put a failed one back.
    let mut work = store.begin(acme.id).await.unwrap();
    work.complete_job(a1).await.unwrap();
    work.complete_job(&retried[0]).await.unwrap();
    work.commit().await.unwrap();
    store.retry_failed_job(a2.id, at + MINUTE * 40).await.unwrap();
    assert!(store.failed_jobs().await.unwrap().is_empty());
    let missing = store.retry_failed_job(a2.id, at).await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })), "{missing:?}");
    let again = store.claim_due_jobs(at + MINUTE * 40, at + MINUTE * 45, 10).await.unwrap();
    assert_eq!(again.iter().map(|j| (j.id, j.attempts)).collect::<Vec<_>>(), [(a2.id, 1)]);

    // Cancelling by key removes pending jobs, claimed or not.
    let mut work = store.begin(acme.id).await.unwrap();
    work.cancel_jobs(&["a:2".to_owned(), "later".to_owned(), "unknown".to_owned()]).await.unwrap();
    work.commit().await.unwrap();
    assert_eq!(store.pending_jobs().await.unwrap(), 0);
    assert_eq!(store.next_job_at().await.unwrap(), None);
    assert!(onramp_store::testing::unsettled_jobs(store.as_ref(), at + MINUTE * 60).await.is_empty());
}

async fn a_claimed_job_rescheduled_meanwhile_is_not_completed(database: TestDatabase) {
    let store = database.store();
    let acme = organisation(&database).await;
    enqueue(&database, &acme, &[job("timer", 0, now())]).await;
    let claimed = store.claim_due_jobs(now(), now() + MINUTE, 10).await.unwrap();
    store.release_job(&claimed[0], now() + MINUTE, "boom").await.unwrap();
    let unsettled = onramp_store::testing::unsettled_jobs(store.as_ref(), now()).await;
    assert_eq!(unsettled.len(), 1, "a job due and not run is unsettled");
    assert!(unsettled[0].contains("test job timer") && unsettled[0].contains("boom"), "{unsettled:?}");

    let mut work = store.begin(acme.id).await.unwrap();
    work.enqueue(&job("timer", 0, now() + MINUTE * 10), now()).await.unwrap();
    work.complete_job(&claimed[0]).await.unwrap();
    work.commit().await.unwrap();
    let pending = store.jobs_with_key_prefix("timer").await.unwrap();
    assert_eq!(pending.iter().map(|j| j.run_at).collect::<Vec<_>>(), [now() + MINUTE * 10], "kept, rescheduled");
    assert!(onramp_store::testing::unsettled_jobs(store.as_ref(), now()).await.is_empty(), "the error was cleared");
}

/// Migration 0007 moves every row of the old `jobs` table into `background_jobs` as an `agreement_timer` job,
/// with the key and payload the service writes.
async fn the_agreement_timers_move_to_the_generic_queue(database: TestDatabase) {
    let backend = database.url().backend();
    let uuid = |text: &str| match backend {
        Backend::Sqlite => format!("X'{}'", text.replace('-', "")),
        Backend::Postgres => format!("'{text}'::uuid"),
    };
    let organisation = uuid("0190a000-0000-7000-8000-000000000001");
    let agreement_id = "0190a000-0000-7000-8000-0000000000aa";
    let agreement = uuid(agreement_id);
    for sql in [
        format!(
            "INSERT INTO organisations (id, name, ods_code, company_number, registered_address, kind, \
             delivery_notice_mailbox, im1_supplier, created_at) \
             VALUES ({organisation}, 'Acme', 'X26', NULL, 'Leeds', 'commercial', 'n@x.example', FALSE, 0)"
        ),
        format!(
            "INSERT INTO agreements (id, number, organisation_id, state, substate, signature_type, origin, \
             terms_version, api_products, created_at, review_deadline, version, data) \
             VALUES ({agreement}, 'CNTR0000001', {organisation}, 'draft', 'under_review', 'accepted_via_portal', \
             'new_contract', 6, 'pds_fhir', 0, 100, 2, '{{}}')"
        ),
        format!(
            "INSERT INTO jobs (id, agreement_id, organisation_id, kind, parameter, run_at, attempts, locked_until, \
             last_error) VALUES ({}, {agreement}, {organisation}, 'review_deadline', 0, 100, 0, NULL, NULL), \
             ({}, {agreement}, {organisation}, 'reminder', 7, 40, 2, 30, 'smtp down')",
            uuid("0190a000-0000-7000-8000-0000000000b1"),
            uuid("0190a000-0000-7000-8000-0000000000b2"),
        ),
    ] {
        database.execute_raw(&sql).await.unwrap();
    }
    let store = database.store();
    store.migrate().await.unwrap();

    let prefix = format!("agreement_timer:{agreement_id}:");
    let jobs = store.jobs_with_key_prefix(&prefix).await.unwrap();
    let agreement = AgreementId(agreement_id.parse().unwrap());
    #[derive(serde::Serialize)]
    struct AgreementTimer {
        agreement_id: AgreementId,
        timer: TimerKind,
    }
    let expected = |timer: TimerKind| {
        let (kind, parameter) = timer.encode();
        let payload = serde_json::to_string(&AgreementTimer { agreement_id: agreement, timer }).unwrap();
        ("agreement_timer".to_owned(), format!("{prefix}{kind}:{parameter}"), payload)
    };
    let found: Vec<_> = jobs.iter().map(|j| (j.kind.clone(), j.dedup_key.clone(), j.payload.clone())).collect();
    assert_eq!(found, [expected(TimerKind::Reminder { days_before: 7 }), expected(TimerKind::ReviewDeadline)]);
    assert_eq!(jobs[0].run_at, Timestamp::from_microsecond(40).unwrap());
    let all = store.all_jobs().await.unwrap();
    let reminder = all.iter().find(|r| r.job.run_at == jobs[0].run_at).unwrap();
    assert_eq!((reminder.job.attempts, reminder.last_error.as_deref()), (2, Some("smtp down")));
    assert_eq!(
        reminder.job.organisation_id.map(|o| o.0.to_string()).as_deref(),
        Some("0190a000-0000-7000-8000-000000000001")
    );
    assert!(database.execute_raw("SELECT 1 FROM jobs").await.is_err(), "the old table is gone");
}

#[tokio::test]
async fn sqlite_the_agreement_timers_move_to_the_generic_queue() {
    the_agreement_timers_move_to_the_generic_queue(TestDatabase::sqlite_at(Some(6)).await).await;
}

#[tokio::test]
async fn postgres_the_agreement_timers_move_to_the_generic_queue() {
    let Some(database) = TestDatabase::postgres_at("the_agreement_timers_move", Some(6)).await else { return };
    the_agreement_timers_move_to_the_generic_queue(database).await;
}
