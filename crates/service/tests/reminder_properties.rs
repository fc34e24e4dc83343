//! CA-11 as a property: reminders before a deadline (30, 14, 7 and 1 days by default) are each sent once, on
//! time, and only while the review is running.
//!
//! Each case issues one agreement and moves the clock over a 92-day window in random jumps (an hour to 20
//! days), running the job worker (`jobs::run_due`) after every jump, with random events at random times in
//! between. Two kinds of agreement, because the rules give them different events:
//!
//! - a **new contract** (Accepted via Portal, 90 days from creation): the contact may **accept** it, or staff
//!   may **cancel** it by creating another contract for the organisation (CA-10 "replaced by"); at its
//!   deadline it is cancelled;
//! - a **terms change** (Auto Accepted, 30 days): the contact may **raise a query** and staff may **resolve**
//!   its case, **pause**, **resume** or **reset** the timer, or cancel the draft by creating a new contract; at
//!   its deadline it activates.
//!
//! The rules, as `lifecycle.rs`, `cases.rs` and the state machine have them (docs/LIFECYCLE.md §3 and §9):
//! raising a query opens (or comments on) the agreement's case and does **not** pause the timer; resolving the
//! case does not touch it either: pausing is the agreement team's decision. A pause removes the deadline and
//! every pending reminder. A resume sets the deadline to now + the time that was left and re-arms the
//! reminders not yet sent in this review period that still lie ahead (one sent before the pause is not sent
//! again). A reset starts a fresh 30 days from now and forgets which reminders were sent, so each is armed
//! again for the new deadline. A reminder whose time is at or before the moment it would be armed is
//! skipped, not sent late; a reminder is sent only while the agreement is Under Review with its deadline
//! still ahead. Acceptance, cancellation and the deadline end the review: nothing more is sent.
//!
//! The oracle follows the agreement as stored (its deadline after every run and event) and predicts, for each
//! stretch of running review with one deadline D and each n in `reminder_days`, the one reminder (n, D):
//! due at T = D − n London days, armed if T is after the stretch began and n was not sent earlier in the
//! period, and sent by the **first** worker run at or after T, provided that run is before D and before the
//! stretch ended. The outbox must hold exactly those reminders, each created at that run and delivered by it.
//! Events happen just after the worker's run at their moment, so a reminder due before an event has gone out
//! before it.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeSet;

use common::{DAY, World, product};
use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::{Agreement, AgreementState, Origin, Substate};
use onramp_domain::calendar::add_days;
use onramp_domain::case::CaseState;
use onramp_domain::notification::Notification;
use onramp_domain::{Organisation, User};
use onramp_service::cases::{self, CaseError};
use onramp_service::lifecycle::{self, LifecycleServiceError};
use onramp_store::testing::{POSTGRES_URL_VARIABLE, TestDatabase};
use onramp_store::{Delivery, OutboxEntry};
use proptest::prelude::*;

const WINDOW: SignedDuration = SignedDuration::from_hours(92 * 24);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flavour {
    NewContract,
    TermsChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Accept,
    /// Staff create another contract for the organisation, which cancels this draft.
    Cancel,
    RaiseQuery,
    ResolveQuery,
    Pause,
    Resume,
    Reset,
}

#[derive(Debug, Clone)]
struct Step {
    jump: SignedDuration,
    event: Option<Event>,
}

fn events(flavour: Flavour) -> BoxedStrategy<Event> {
    match flavour {
        Flavour::NewContract => prop_oneof![Just(Event::Accept), Just(Event::Cancel)].boxed(),
        Flavour::TermsChange => prop_oneof![
            2 => Just(Event::RaiseQuery),
            1 => Just(Event::ResolveQuery),
            3 => Just(Event::Pause),
            3 => Just(Event::Resume),
            2 => Just(Event::Reset),
            1 => Just(Event::Cancel),
        ]
        .boxed(),
    }
}

/// Jumps of an hour to 20 days, mostly short (minutes included, so runs rarely fall on a due time exactly), and
/// now and then an event after a jump. Enough steps to cross the window (about 21 on average); the walk stops
/// at its end.
fn scenario() -> impl Strategy<Value = (Flavour, Vec<Step>)> {
    prop_oneof![Just(Flavour::NewContract), Just(Flavour::TermsChange)].prop_flat_map(|flavour| {
        let often = match flavour {
            // Rare, so that most walks see some of the new contract's reminders before it is accepted.
            Flavour::NewContract => 0.05,
            Flavour::TermsChange => 0.4,
        };
        let minutes = prop_oneof![
            6 => 60i64..3 * 24 * 60,
            3 => 3 * 24 * 60..10 * 24 * 60i64,
            1 => 10 * 24 * 60..=20 * 24 * 60i64,
        ];
        let step = (minutes, proptest::option::weighted(often, events(flavour)))
            .prop_map(|(minutes, event)| Step { jump: SignedDuration::from_mins(minutes), event });
        (Just(flavour), proptest::collection::vec(step, 60..120))
    })
}

/// What the worker would see of the agreement's review: the deadline while it is Under Review and running.
fn armed(agreement: &Agreement) -> Option<Timestamp> {
    let under_review = agreement.state == AgreementState::Draft && agreement.substate == Some(Substate::UnderReview);
    agreement.review_deadline.filter(|_| under_review)
}

/// One stretch of running review with one deadline.
#[derive(Debug, Clone)]
struct Stretch {
    start: Timestamp,
    deadline: Timestamp,
    /// When it stopped (an event at that moment, after the run at it, or the run that found the deadline).
    end: Option<Timestamp>,
    /// A new review period begins with it (issue or reset): earlier reminders may be sent again.
    new_period: bool,
}

/// What happened during one walk.
#[derive(Debug, Default)]
struct Log {
    /// The instants of the worker's runs (the run after an event at the same instant is not listed: it
    /// only delivers that event's mail).
    runs: Vec<Timestamp>,
    stretches: Vec<Stretch>,
    events: Vec<(Timestamp, Event, bool)>,
}

impl Log {
    fn observe(&mut self, at: Timestamp, agreement: &Agreement, reset: bool) {
        let now = armed(agreement);
        let current = self.stretches.last().filter(|s| s.end.is_none()).map(|s| s.deadline);
        if current == now && !reset {
            return;
        }
        if let Some(open) = self.stretches.last_mut().filter(|s| s.end.is_none()) {
            open.end = Some(at);
        }
        if let Some(deadline) = now {
            self.stretches.push(Stretch { start: at, deadline, end: None, new_period: reset });
        }
    }

    /// The reminders the rules promise: (days before, deadline, sent at).
    fn expected(&self, reminder_days: &[u32]) -> Vec<(u32, Timestamp, Timestamp)> {
        let mut expected = Vec::new();
        let mut sent = BTreeSet::new();
        for stretch in &self.stretches {
            if stretch.new_period {
                sent.clear();
            }
            for &n in reminder_days {
                let due = add_days(stretch.deadline, -i64::from(n));
                if due <= stretch.start || sent.contains(&n) {
                    continue;
                }
                let Some(&run) = self.runs.iter().find(|&&run| run >= due) else { continue };
                if run < stretch.deadline && stretch.end.is_none_or(|end| run <= end) {
                    expected.push((n, stretch.deadline, run));
                    sent.insert(n);
                }
            }
        }
        expected.sort();
        expected
    }
}

struct Subject {
    organisation: Organisation,
    contact: User,
    agreement: Agreement,
}

async fn set_up(world: &World, flavour: Flavour) -> Subject {
    match flavour {
        Flavour::NewContract => {
            let (organisation, contact, agreement) = world.issued_contract("Acme Health", "X26").await;
            Subject { organisation, contact, agreement }
        }
        Flavour::TermsChange => {
            let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
            assert_eq!(world.publish(7).await.uplifted, 1);
            let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
            let agreement = agreements.into_iter().find(Agreement::is_pending).unwrap();
            Subject { organisation, contact, agreement }
        }
    }
}

/// Runs `event` as the portal would; `false` when the rules refuse it (accepting after the deadline,
/// resuming a timer that is not paused …), which is part of the walk, not a failure.
async fn act(world: &World, subject: &Subject, event: Event) -> bool {
    let context = &world.context;
    let id = subject.agreement.id;
    let outcome = match event {
        Event::Accept => world.accept(&subject.contact, &subject.agreement).await.map(drop),
        Event::Cancel => {
            let products = vec![product("nhs-login")];
            lifecycle::create(context, &world.staff, subject.organisation.id, products, Origin::NewContract)
                .await
                .map(drop)
        }
        Event::RaiseQuery => {
            lifecycle::raise_query(context, &subject.contact, id, "What changed in clause 4?").await.map(drop)
        }
        Event::Pause => lifecycle::pause(context, &world.staff, id).await.map(drop),
        Event::Resume => lifecycle::resume(context, &world.staff, id).await.map(drop),
        Event::Reset => lifecycle::reset(context, &world.staff, id).await.map(drop),
        Event::ResolveQuery => {
            let Some(case) = world.agreement(&subject.agreement).await.case_number else { return false };
            return match cases::set_state(context, &world.staff, case, CaseState::Resolved).await {
                Ok(_) => true,
                Err(CaseError::Rule(_)) => false,
                Err(other) => panic!("resolving the case: {other}"),
            };
        }
    };
    match outcome {
        Ok(()) => true,
        Err(LifecycleServiceError::Rule(_)) => false,
        Err(other) => panic!("{event:?}: {other}"),
    }
}

async fn walk(world: World, flavour: Flavour, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let subject = set_up(&world, flavour).await;
    let start = world.now();
    let reminder_days = world.context.config.rules().reminder_days;
    let mut log = Log::default();
    log.observe(start, &subject.agreement, true);
    world.run_timers().await;

    let mut steps = steps.into_iter();
    while world.now() < start + WINDOW {
        let step = steps.next().unwrap_or(Step { jump: WINDOW, event: None });
        let jump = step.jump.min((start + WINDOW).duration_since(world.now()));
        world.jump(jump);
        world.run_timers().await;
        log.runs.push(world.now());
        log.observe(world.now(), &world.agreement(&subject.agreement).await, false);
        if let Some(event) = step.event {
            let done = act(&world, &subject, event).await;
            log.events.push((world.now(), event, done));
            log.observe(world.now(), &world.agreement(&subject.agreement).await, done && event == Event::Reset);
            world.run_timers().await;
        }
    }

    let rows: Vec<OutboxEntry> = world.context.store.outbox_page(None, 10_000).await.unwrap();
    let mut sent = Vec::new();
    for row in rows.iter().filter(|row| row.kind == "reminder") {
        let Ok(Notification::Reminder { agreement, days_before, deadline }) = &row.notification else {
            panic!("a reminder row that does not decode: {row:?}");
        };
        prop_assert_eq!(agreement.id, subject.agreement.id, "only the walked agreement has reminders");
        prop_assert!(
            matches!(row.delivery, Delivery::Sent { at, .. } if at == row.created_at),
            "delivered by the run that wrote it: {:?}",
            row.delivery
        );
        sent.push((*days_before, *deadline, row.created_at));
    }
    sent.sort();
    let context = format!("events {:#?}\nstretches {:#?}\nruns {:#?}", log.events, log.stretches, log.runs);

    // Each reminder once …
    let keys: BTreeSet<_> = sent.iter().map(|&(n, deadline, _)| (n, deadline)).collect();
    prop_assert_eq!(keys.len(), sent.len(), "a reminder went twice: {:?}\n{}", sent, context);
    // … only while that deadline was running (not after acceptance or cancellation, not while paused) …
    for &(n, deadline, at) in &sent {
        let during = log
            .stretches
            .iter()
            .any(|s| s.deadline == deadline && s.start < at && s.end.is_none_or(|end| at <= end) && at < deadline);
        prop_assert!(during, "reminder {} for {} sent at {} outside its review\n{}", n, deadline, at, context);
        prop_assert!(add_days(deadline, -i64::from(n)) <= at, "reminder {} sent early at {}", n, at);
    }
    // … and exactly the ones the rules promise, each by the first run after it fell due.
    prop_assert_eq!(&sent, &log.expected(&reminder_days), "{}", context);
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24)
}

fn run_case(
    database: impl Future<Output = Option<TestDatabase>>,
    flavour: Flavour,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async move {
        let Some(database) = database.await else { return Ok(()) };
        walk(World::new(database).await, flavour, steps).await
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn ca11_each_reminder_is_sent_once_on_time_and_only_while_the_review_runs_on_sqlite((flavour, steps) in scenario()) {
        run_case(async { Some(TestDatabase::sqlite().await) }, flavour, steps)?;
    }

    #[test]
    fn ca11_each_reminder_is_sent_once_on_time_and_only_while_the_review_runs_on_postgres((flavour, steps) in scenario()) {
        if std::env::var_os(POSTGRES_URL_VARIABLE).is_some() {
            run_case(TestDatabase::postgres("reminder_properties"), flavour, steps)?;
        }
    }
}

#[test]
fn the_oracle_expects_the_four_reminders_of_an_undisturbed_new_contract() {
    let start: Timestamp = "2026-11-21T10:00:00Z".parse().unwrap();
    let deadline = add_days(start, 90);
    let mut log = Log::default();
    log.stretches.push(Stretch { start, deadline, end: None, new_period: true });
    log.runs = (1..=92).map(|day| start + DAY * day).collect();
    let expected = log.expected(&[30, 14, 7, 1]);
    let days: Vec<u32> = expected.iter().map(|&(n, _, _)| n).collect();
    assert_eq!(days.len(), 4);
    assert!(
        expected.iter().all(|&(n, d, at)| d == deadline && at == add_days(deadline, -i64::from(n))),
        "{expected:?}"
    );
}
