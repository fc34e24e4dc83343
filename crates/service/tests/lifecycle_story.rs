//! Scenario tests for the agreement lifecycle, one per requirement (CA-1 … CA-12), each run on SQLite and
//! PostgreSQL. Time is a manual clock: the tests jump 90 days in a millisecond and run the timer worker.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{DAY, World, product, rule};
use jiff::SignedDuration;
use onramp_domain::TeamRole;
use onramp_domain::agreement::{
    AUTO_ACCEPTED_BY, Actor, AgreementState, LedgerEvent, LifecycleError, Origin, ReviewTimer, SignatureType, Substate,
    TimerKind, ledger_remaining,
};
use onramp_domain::calendar::{date_of, start_of};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::notification::Notification;
use onramp_service::{audit, cases, legacy};
use onramp_service::{jobs, lifecycle};
use onramp_store::AcceptedTerms;

onramp_store::on_both_backends!(
    World::new;
    ca01_states_move_only_by_the_rules_and_every_change_is_audited,
    ca02_a_new_contract_opens_a_case_and_issuing_notifies_the_contacts,
    ca03_acceptance_activates_resolves_the_case_and_expires_the_previous_agreement,
    ca04_an_unaccepted_contract_is_cancelled_after_90_days,
    ca05_publishing_terms_uplifts_every_active_agreement_after_a_preview,
    ca06_queries_pause_resume_and_reset_are_kept_in_the_timer_ledger,
    ca06_a_second_query_comments_on_the_case_reopens_it_and_tells_the_contacts,
    ca07_a_terms_change_auto_accepts_after_30_days_excluding_pauses,
    ca08_termination_expires_on_the_end_date_and_cancels_pending_drafts,
    ca09_original_version_and_superseded_contract_form_the_chain,
    ca07_a_late_worker_does_not_move_the_dates_of_an_auto_acceptance,
    ca04_a_late_worker_dates_the_cancellation_at_the_deadline,
    ca04_a_draft_never_issued_lapses_in_its_own_words_and_mails_nobody,
    ca04_a_late_acceptance_or_query_on_a_closed_agreement_is_refused_in_words,
    ca08_a_late_worker_ends_the_agreement_and_cancels_the_draft_at_the_start_of_the_end_date,
    ca08_terminating_on_todays_date_ends_the_agreement_at_once,
    ca03_acceptance_is_logged_with_the_time_that_was_left,
    ca06_remaining_time_is_counted_in_london_days_across_the_clock_change,
    ca10_overlap_terms_change_while_a_new_contract_is_under_review,
    ca10_overlap_two_terms_changes_in_a_row,
    ca10_overlap_termination_while_a_draft_is_pending,
    ca10_overlap_new_contract_while_an_auto_accept_draft_is_pending,
    ca10_overlap_a_terms_change_does_not_activate_while_a_termination_is_scheduled,
    case1_case2_comments_internal_notes_and_the_watch_list,
    ca11_reminders_are_sent_once_each_before_the_deadline,
    ca12_legacy_paper_agreements_import_all_or_nothing_then_version_6_is_issued,
    tc3_an_acceptance_raced_against_a_terms_publication_records_the_text_the_page_showed,
);

async fn ca01_states_move_only_by_the_rules_and_every_change_is_audited(world: World) {
    let organisation = world.organisation("Acme Health", "X26").await;
    let created = world.new_contract(&organisation, vec![product("pds-fhir")]).await;
    assert_eq!((created.state, created.substate), (AgreementState::Draft, Some(Substate::AwaitingReview)));
    assert_eq!(created.number.to_string(), "CNTR0000001");
    assert_eq!(created.name, "X26 - Acme Health");
    let issued = lifecycle::issue(&world.context, &world.staff, created.id).await.unwrap();
    assert_eq!(issued.substate, Some(Substate::UnderReview));
    let again = lifecycle::issue(&world.context, &world.staff, created.id).await.unwrap_err();
    assert!(matches!(rule(again), LifecycleError::NotAwaitingReview { .. }));
    let pause = lifecycle::pause(&world.context, &world.staff, created.id).await.unwrap_err();
    assert!(matches!(rule(pause), LifecycleError::WrongSignatureType { .. }), "only auto-accepted drafts pause");

    let records = world.context.store.audit_records().await.unwrap();
    let actions: Vec<_> = records.iter().filter(|r| r.entity == "agreement").map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["create", "issue"]);
    assert!(records.iter().all(|r| r.actor.contains("Aisha Agreements")));
    assert_eq!(audit::verify_audit(&world.context).await.unwrap(), records.len());
}

async fn ca02_a_new_contract_opens_a_case_and_issuing_notifies_the_contacts(world: World) {
    let (organisation, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    let _viewer = world.member(&organisation, "Vic Viewer", TeamRole::Viewer, false).await;
    assert_eq!(issued.signature_type, SignatureType::AcceptedViaPortal);
    let case = world.context.store.case(issued.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!((case.state, case.number.to_string()), (CaseState::Open, "CS0000001".to_owned()));
    assert_eq!(case.agreement_id, issued.id);

    let mails = world.notifications("issued").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].recipients, [contact.email.to_string(), "notices@x26.example".to_owned()]);
    assert_eq!(issued.contacts_notified, ["Olu Contact", "notices@x26.example"]);
    assert!(
        matches!(&mails[0].notification, Notification::Issued { agreement, .. } if agreement.number == issued.number),
        "{:?}",
        mails[0].notification
    );
    assert_eq!(mails[0].agreement_id, Some(issued.id));
}

async fn ca03_acceptance_activates_resolves_the_case_and_expires_the_previous_agreement(world: World) {
    let (organisation, contact, first) = world.active_contract("Acme Health", "X26").await;
    let viewer = world.member(&organisation, "Vic Viewer", TeamRole::Viewer, false).await;
    world.jump(DAY * 3);
    let second = world.new_contract(&organisation, vec![product("pds-fhir"), product("nhs-login")]).await;
    lifecycle::issue(&world.context, &world.staff, second.id).await.unwrap();

    let refused = world.accept(&viewer, &second).await.unwrap_err();
    assert_eq!(rule(refused), LifecycleError::NotAnOnboardingContact);

    let active = world.accept(&contact, &second).await.unwrap();
    let today = onramp_domain::calendar::date_of(world.now());
    assert_eq!(active.state, AgreementState::Active);
    assert_eq!(active.accepted_by.as_deref(), Some("Olu Contact"));
    assert_eq!((active.accepted_on, active.start_date), (Some(today), Some(today)));
    let case = world.context.store.case(active.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!(case.state, CaseState::Resolved);
    let previous = world.agreement(&first).await;
    assert_eq!((previous.state, previous.end_date), (AgreementState::Expired, Some(today)));

    // TC-3: the exact text and its hash are kept with the acceptance.
    let AcceptedTerms { terms_version, sha256: sha, text } =
        world.context.store.accepted_terms(active.id).await.unwrap().unwrap();
    assert_eq!(terms_version, active.terms_version);
    assert_eq!(active.accepted_terms_sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(onramp_domain::terms::sha256_hex(&text), sha);
    assert!(text.contains("NHS login"));
    assert!(
        jobs::timers_of(&world.context, active.id).await.unwrap().is_empty(),
        "the accepted contract's timers are gone"
    );
    assert!(jobs::timers_of(&world.context, first.id).await.unwrap().is_empty(), "and the expired one's");
    world.run_timers().await;
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0, "and, its mail delivered, the queue is empty");
}

async fn ca04_an_unaccepted_contract_is_cancelled_after_90_days(world: World) {
    let (_, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    let deadline = issued.review_deadline.unwrap();
    assert_eq!(deadline, onramp_domain::calendar::add_days(issued.created_at, 90));

    world.clock.set(deadline - SignedDuration::from_mins(1));
    world.run_timers().await;
    assert_eq!(world.agreement(&issued).await.state, AgreementState::Draft);

    world.clock.set(deadline);
    let late = world.accept(&contact, &issued).await.unwrap_err();
    assert!(matches!(rule(late), LifecycleError::DeadlinePassed { .. }), "refused before the timer has run");

    let report = world.run_timers().await;
    assert_eq!((report.changed, report.mail_sent), (1, 1), "the deadline, and the mail it wrote");
    let cancelled = world.agreement(&issued).await;
    assert_eq!(cancelled.state, AgreementState::Cancelled);
    let case = world.context.store.case(cancelled.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!(case.state, CaseState::Closed);
    assert_eq!(world.notifications("cancelled").await.len(), 1);
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0, "the queue drains");
}

async fn ca05_publishing_terms_uplifts_every_active_agreement_after_a_preview(world: World) {
    let (acme, _, acme_active) = world.active_contract("Acme Health", "X26").await;
    let (beacon, _, _) = world.active_contract("Beacon Apps", "B01").await;
    let _pending = world.issued_contract("Cedar Care", "C03").await;
    let paper = world.organisation("Paper Health", "P04").await;
    let signed_on = "2022-01-10".parse().unwrap();
    lifecycle::import_paper(&world.context, paper.id, vec![product("pds-fhir")], signed_on, "Pat Paper".into(), "test")
        .await
        .unwrap();

    let preview = lifecycle::uplift_preview(&world.context, 7).await.unwrap();
    assert_eq!(preview.organisations.len(), 2, "a paper organisation moves to digital terms by a new contract");
    assert!(preview.organisations.iter().any(|(id, _)| *id == acme.id));
    assert_eq!(preview.activates_on, onramp_domain::calendar::date_of(world.now() + DAY * 30));

    let before = world.notifications("issued").await.len();
    let report = world.publish(7).await;
    assert_eq!(report.uplifted, 2);
    for organisation in [&acme, &beacon] {
        let draft = world
            .context
            .store
            .agreements_of(organisation.id)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.is_pending())
            .unwrap();
        assert_eq!(
            (draft.signature_type, draft.substate, draft.terms_version),
            (SignatureType::AutoAccepted, Some(Substate::UnderReview), 7)
        );
        assert!(draft.case_number.is_none(), "no case is opened for a terms change");
    }
    let acme_draft =
        world.context.store.agreements_of(acme.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    assert_eq!(acme_draft.superseded, Some(acme_active.number));
    assert_eq!(acme_draft.api_products, acme_active.api_products);
    assert_eq!(world.notifications("issued").await.len(), before + 2);
    let again = world.publish(7).await;
    assert_eq!(again.uplifted, 0, "publishing again does nothing: {again:?}");
    assert_eq!(world.notifications("issued").await.len(), before + 2, "and mails nobody");
}

async fn ca06_queries_pause_resume_and_reset_are_kept_in_the_timer_ledger(world: World) {
    let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft =
        world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();

    let queried = lifecycle::raise_query(&world.context, &contact, draft.id, "Does clause 16 apply to our triage bot?")
        .await
        .unwrap();
    let case = world.context.store.case(queried.case_number.unwrap()).await.unwrap().unwrap();
    assert_eq!(case.activity[0].body, "Does clause 16 apply to our triage bot?");

    world.jump(DAY * 10);
    let paused = lifecycle::pause(&world.context, &world.staff, draft.id).await.unwrap();
    assert_eq!(paused.review_timer, Some(ReviewTimer::Paused { since: world.now(), remaining: DAY * 20 }));
    world.jump(DAY * 15);
    let resumed = lifecycle::resume(&world.context, &world.staff, draft.id).await.unwrap();
    assert_eq!(resumed.review_deadline, Some(world.now() + DAY * 20));
    world.jump(DAY);
    let reset = lifecycle::reset(&world.context, &world.staff, draft.id).await.unwrap();
    assert_eq!(reset.review_deadline, Some(onramp_domain::calendar::add_days(world.now(), 30)));

    let ledger = world.context.store.ledger(draft.id).await.unwrap();
    let events: Vec<_> = ledger.iter().map(|e| e.event).collect();
    assert_eq!(events, [LedgerEvent::Started, LedgerEvent::Paused, LedgerEvent::Resumed, LedgerEvent::Reset]);
    assert_eq!(ledger[1].remaining, DAY * 20);
    assert!(matches!(&ledger[1].actor, Actor::User { name, .. } if name == "Aisha Agreements"));
}

async fn ca07_a_terms_change_auto_accepts_after_30_days_excluding_pauses(world: World) {
    let (organisation, _, active) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft =
        world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    world.jump(DAY * 5);
    lifecycle::pause(&world.context, &world.staff, draft.id).await.unwrap();
    world.jump(DAY * 40);
    world.run_timers().await;
    assert!(world.agreement(&draft).await.is_pending(), "paused: nothing fires");
    lifecycle::resume(&world.context, &world.staff, draft.id).await.unwrap();
    world.jump(DAY * 25 - SignedDuration::from_secs(1));
    world.run_timers().await;
    assert!(world.agreement(&draft).await.is_pending());
    world.jump(SignedDuration::from_secs(1));
    world.run_timers().await;

    let accepted = world.agreement(&draft).await;
    assert_eq!(accepted.state, AgreementState::Active);
    assert_eq!(accepted.accepted_by.as_deref(), Some(AUTO_ACCEPTED_BY));
    assert_eq!(accepted.start_date, Some(onramp_domain::calendar::date_of(world.now())));
    assert_eq!(world.agreement(&active).await.state, AgreementState::Expired);
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0);
}

async fn ca08_termination_expires_on_the_end_date_and_cancels_pending_drafts(world: World) {
    let (organisation, _, active) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let end_date = onramp_domain::calendar::date_of(world.now() + DAY * 10);
    let past = lifecycle::terminate(
        &world.context,
        &world.staff,
        organisation.id,
        onramp_domain::calendar::date_of(world.now() - DAY),
    )
    .await
    .unwrap_err();
    assert_eq!(rule(past), LifecycleError::EndDateInPast);
    lifecycle::terminate(&world.context, &world.staff, organisation.id, end_date).await.unwrap();

    world.jump(DAY * 9);
    world.run_timers().await;
    assert_eq!(world.agreement(&active).await.state, AgreementState::Active);
    world.clock.set(onramp_domain::calendar::start_of(end_date));
    world.run_timers().await;
    let expired = world.agreement(&active).await;
    assert_eq!((expired.state, expired.end_date), (AgreementState::Expired, Some(end_date)));
    let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
    assert!(agreements.iter().all(|a| a.state != AgreementState::Draft), "pending drafts are cancelled");
    assert_eq!(agreements.iter().filter(|a| a.state == AgreementState::Cancelled).count(), 1);
    assert_eq!(world.notifications("terminated").await.len(), 1);
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0);
}

async fn ca09_original_version_and_superseded_contract_form_the_chain(world: World) {
    let (organisation, _, portal) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    world.jump(DAY * 31);
    world.run_timers().await;
    let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
    let auto = agreements.iter().find(|a| a.signature_type == SignatureType::AutoAccepted).unwrap();
    assert_eq!(auto.state, AgreementState::Active);
    assert_eq!(auto.superseded, Some(portal.number));
    assert_eq!(auto.original_version, Some(portal.number), "the most recent Accepted via Portal agreement");
    assert_eq!(portal.original_version, None, "a portal acceptance is its own original");
}

/// CA-7: the worker was down for ten days; the agreement was still accepted the day its 30 days ended.
async fn ca07_a_late_worker_does_not_move_the_dates_of_an_auto_acceptance(world: World) {
    let (organisation, _, portal) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft = world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending());
    let Some(onramp_domain::agreement::ReviewTimer::Running { deadline }) = draft.unwrap().review_timer else {
        panic!("the terms change is running");
    };
    world.clock.set(deadline + DAY * 10);
    world.run_timers().await;
    let agreements = world.context.store.agreements_of(organisation.id).await.unwrap();
    let auto = agreements.iter().find(|a| a.signature_type == SignatureType::AutoAccepted).unwrap();
    let due = onramp_domain::calendar::date_of(deadline);
    assert_eq!((auto.state, auto.accepted_on, auto.start_date), (AgreementState::Active, Some(due), Some(due)));
    let previous = world.agreement(&portal).await;
    assert_eq!((previous.state, previous.end_date), (AgreementState::Expired, Some(due)));
}

async fn ca10_overlap_terms_change_while_a_new_contract_is_under_review(world: World) {
    let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
    let second = world.new_contract(&organisation, vec![product("nhs-login")]).await;
    let second = lifecycle::issue(&world.context, &world.staff, second.id).await.unwrap();
    assert_eq!(second.terms_version, 6);
    world.jump(DAY * 10);
    let report = world.publish(7).await;
    assert_eq!(report.uplifted, 1);
    let drafts: Vec<_> = world
        .context
        .store
        .agreements_of(organisation.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.is_pending())
        .collect();
    assert_eq!(drafts.len(), 1, "no second draft: the pending new contract moves to the new terms");
    let rebased = &drafts[0];
    assert_eq!(
        (rebased.id, rebased.terms_version, rebased.signature_type),
        (second.id, 7, SignatureType::AcceptedViaPortal)
    );
    assert_eq!(rebased.review_deadline, second.review_deadline, "the 90 days are unchanged");
    let accepted = world.accept(&contact, &second).await.unwrap();
    let text = world.context.store.accepted_terms(accepted.id).await.unwrap().unwrap().text;
    assert!(text.contains("version 7"), "the contact accepted the new terms");
}

async fn ca10_overlap_two_terms_changes_in_a_row(mut world: World) {
    world.ship_terms_version(8);
    let (running, _, _) = world.active_contract("Acme Health", "X26").await;
    let (paused, _, _) = world.active_contract("Beacon Apps", "B01").await;
    world.publish(7).await;
    let pending = |organisation: onramp_domain::Organisation| {
        let store = world.context.store.clone();
        async move { store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap() }
    };
    let first = pending(running.clone()).await;
    let to_pause = pending(paused.clone()).await;
    assert_eq!(first.terms_version, 7);
    world.jump(DAY * 20);
    lifecycle::pause(&world.context, &world.staff, to_pause.id).await.unwrap();
    world.publish(8).await;

    let rebased = pending(running.clone()).await;
    assert_eq!((rebased.id, rebased.terms_version), (first.id, 8), "the pending draft moves to the newer terms");
    assert_eq!(rebased.review_deadline, Some(onramp_domain::calendar::add_days(world.now(), 30)), "a fresh 30 days");
    let drafts =
        world.context.store.agreements_of(running.id).await.unwrap().into_iter().filter(|a| a.is_pending()).count();
    assert_eq!(drafts, 1, "never a second draft");
    let still_paused = pending(paused).await;
    assert_eq!(still_paused.terms_version, 8);
    assert!(
        matches!(still_paused.review_timer, Some(ReviewTimer::Paused { remaining, .. }) if remaining == DAY * 30),
        "a paused draft stays paused, with a fresh 30 days to run: {:?}",
        still_paused.review_timer
    );
}

async fn ca10_overlap_termination_while_a_draft_is_pending(world: World) {
    let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
    let draft = world.new_contract(&organisation, vec![product("nhs-login")]).await;
    lifecycle::issue(&world.context, &world.staff, draft.id).await.unwrap();
    let end_date = onramp_domain::calendar::date_of(world.now() + DAY * 5);
    lifecycle::terminate(&world.context, &world.staff, organisation.id, end_date).await.unwrap();
    let refused = world.accept(&contact, &draft).await.unwrap_err();
    assert_eq!(rule(refused), LifecycleError::TerminationScheduled { end_date });
    let refused = lifecycle::create(
        &world.context,
        &world.staff,
        organisation.id,
        vec![product("nhs-login")],
        Origin::NewContract,
    )
    .await
    .unwrap_err();
    assert!(matches!(rule(refused), LifecycleError::TerminationScheduled { .. }));
    world.clock.set(onramp_domain::calendar::start_of(end_date));
    world.run_timers().await;
    assert_eq!(world.agreement(&draft).await.state, AgreementState::Cancelled);
}

async fn ca10_overlap_new_contract_while_an_auto_accept_draft_is_pending(world: World) {
    let (organisation, _, _) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let auto =
        world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    let replacement = world.new_contract(&organisation, vec![product("pds-fhir"), product("gp-connect")]).await;
    let replaced = world.agreement(&auto).await;
    assert_eq!(replaced.state, AgreementState::Cancelled);
    assert_eq!(replaced.closing_reason, Some(format!("Replaced by {}", replacement.number)));
    assert_eq!(replacement.terms_version, 7, "the new contract carries the newest published terms");
    assert!(jobs::timers_of(&world.context, auto.id).await.unwrap().is_empty());
    assert_eq!(world.notifications("cancelled").await.len(), 1, "the contacts had seen the replaced draft");
}

async fn ca11_reminders_are_sent_once_each_before_the_deadline(world: World) {
    let (_, _, issued) = world.issued_contract("Acme Health", "X26").await;
    let deadline = issued.review_deadline.unwrap();
    for days_before in [30, 14, 7, 1] {
        world.clock.set(onramp_domain::calendar::add_days(deadline, -days_before));
        world.run_timers().await;
        world.run_timers().await;
    }
    let reminders = world.notifications("reminder").await;
    assert_eq!(reminders.len(), 4, "one per configured day, never twice");
    assert_eq!(world.agreement(&issued).await.reminders_sent, [30, 14, 7, 1]);
}

async fn ca12_legacy_paper_agreements_import_all_or_nothing_then_version_6_is_issued(world: World) {
    let sample = include_str!("../../../samples/legacy-agreements.csv");
    let bad = sample.replacen("2023", "2999", 1);
    let refused = legacy::import_legacy_agreements(&world.context, &bad).await.unwrap_err();
    assert!(matches!(&refused, legacy::ImportError::Rows(rows) if !rows.is_empty()), "{refused}");
    assert!(world.context.store.organisations().await.unwrap().is_empty(), "nothing is imported");

    let imported = legacy::import_legacy_agreements(&world.context, sample).await.unwrap();
    assert_eq!(imported, 5);
    let twice = legacy::import_legacy_agreements(&world.context, sample).await.unwrap_err();
    assert!(matches!(twice, legacy::ImportError::Rows(rows) if rows.len() == 5));

    let issued = lifecycle::issue_version_6_to_paper_agreements(&world.context, &world.staff).await.unwrap();
    assert_eq!(issued.len(), 5);
    for agreement in &issued {
        assert_eq!((agreement.terms_version, agreement.origin), (6, Origin::LegacyUplift));
        assert_eq!(
            (agreement.signature_type, agreement.substate),
            (SignatureType::AcceptedViaPortal, Some(Substate::UnderReview))
        );
        assert!(agreement.case_number.is_some());
    }
    assert!(audit::verify_audit(&world.context).await.unwrap() > 10);

    // The count reported is the rows imported, not the agreements in the database.
    let header = sample.lines().next().unwrap();
    let row = sample.lines().nth(1).unwrap().replacen("YGM24", "YGM25", 1);
    let one_more = legacy::import_legacy_agreements(&world.context, &format!("{header}\n{row}\n")).await.unwrap();
    assert_eq!(one_more, 1);
    assert_eq!(world.context.store.all_agreements().await.unwrap().len(), 11);
}

async fn ca10_overlap_a_terms_change_does_not_activate_while_a_termination_is_scheduled(world: World) {
    let (leaving, _, active) = world.active_contract("Acme Health", "X26").await;
    let (staying, _, _) = world.active_contract("Beacon Apps", "B01").await;
    let end_date = onramp_domain::calendar::date_of(world.now() + DAY * 40);
    lifecycle::terminate(&world.context, &world.staff, leaving.id, end_date).await.unwrap();
    let preview = lifecycle::uplift_preview(&world.context, 7).await.unwrap();
    let names: Vec<_> = preview.organisations.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!(names, ["Beacon Apps"], "an organisation being offboarded is not uplifted");
    assert_eq!(world.publish(7).await.uplifted, 1);
    assert!(world.context.store.agreements_of(leaving.id).await.unwrap().iter().all(|a| !a.is_pending()));

    // A terms-change draft that existed before a termination was agreed never activates.
    let draft =
        world.context.store.agreements_of(staying.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    lifecycle::terminate(&world.context, &world.staff, staying.id, end_date).await.unwrap();
    world.jump(DAY * 31);
    let report = world.run_timers().await;
    assert_eq!(report.changed, 0, "{report:?}");
    assert!(report.nothing_to_do >= 1, "the auto-accept timer found the organisation leaving: {report:?}");
    assert!(world.agreement(&draft).await.is_pending());
    world.clock.set(onramp_domain::calendar::start_of(end_date));
    world.run_timers().await;
    assert_eq!(world.agreement(&draft).await.state, AgreementState::Cancelled);
    assert_eq!(world.agreement(&active).await.state, AgreementState::Expired);
}

async fn case1_case2_comments_internal_notes_and_the_watch_list(world: World) {
    let (organisation, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    let number = issued.case_number.unwrap();
    let (outsider_org, _, _) = world.issued_contract("Beacon Apps", "B01").await;
    let outsider = world.member(&outsider_org, "Oscar Outsider", TeamRole::Admin, false).await;
    let _ = organisation;

    cases::watch(&world.context, &contact, number, "Legal@Acme.example").await.unwrap();
    let asked =
        cases::comment(&world.context, &contact, number, "Is clause 5 negotiable?", Visibility::Public).await.unwrap();
    assert_eq!(asked.watchers, ["legal@acme.example"]);
    let to_desk = world.notifications("case_activity").await;
    assert_eq!(to_desk[0].recipients, ["legal@acme.example", "support.digitalservices@onramp.example"]);

    cases::comment(&world.context, &world.staff, number, "Check with legal first.", Visibility::Internal)
        .await
        .unwrap();
    cases::comment(&world.context, &world.staff, number, "Clause 5 is standard for everyone.", Visibility::Public)
        .await
        .unwrap();
    let to_party = world.notifications("case_activity").await;
    assert_eq!(to_party.len(), 2, "an internal note notifies nobody");
    // Both mails were written at the same instant of the test clock, so their ids do not order them: find it.
    let reply = to_party
        .iter()
        .find(|n| matches!(&n.notification, Notification::CaseActivity { body, .. } if body.starts_with("Clause 5")))
        .unwrap();
    assert!(reply.recipients.contains(&contact.email.to_string()));
    assert!(reply.recipients.contains(&"legal@acme.example".to_owned()));

    let seen_by_party = cases::case_for(&world.context, &contact, number).await.unwrap();
    assert!(seen_by_party.activity.iter().all(|a| a.visibility == Visibility::Public), "internal notes stay internal");
    let seen_by_staff = cases::case_for(&world.context, &world.staff, number).await.unwrap();
    assert_eq!(seen_by_staff.activity.len(), seen_by_party.activity.len() + 1);

    let refused = cases::comment(&world.context, &contact, number, "sneaky", Visibility::Internal).await.unwrap_err();
    assert!(matches!(refused, cases::CaseError::Rule(onramp_domain::case::CaseRuleError::InternalNoteByParty)));
    let hidden = cases::case_for(&world.context, &outsider, number).await.unwrap_err();
    assert!(matches!(hidden, cases::CaseError::NotFound), "another organisation's case does not exist for them");
    let empty = cases::comment(&world.context, &contact, number, "   ", Visibility::Public).await.unwrap_err();
    assert!(matches!(empty, cases::CaseError::Rule(onramp_domain::case::CaseRuleError::Empty)));
    assert!(audit::verify_audit(&world.context).await.is_ok());
}

/// TC-3: the contact is recorded as accepting exactly the text their page showed. A publication that moves the
/// draft to new terms between the page and the tick makes the acceptance fail with a message that says so, and
/// changes nothing; raced for real, every acceptance either records the text shown or is refused that way.
async fn tc3_an_acceptance_raced_against_a_terms_publication_records_the_text_the_page_showed(mut world: World) {
    // A terms change moves a pending new contract of an organisation with an Active agreement (CA-10).
    let (_, contact, issued) = world.contract_pending_beside_an_active_one("Acme Health", "X26").await;
    let shown = lifecycle::terms_shown(&world.context, &issued).unwrap();
    assert_eq!(shown.version, 6);
    world.publish(7).await;
    let moved = world.agreement(&issued).await;
    assert_eq!((moved.state, moved.terms_version), (AgreementState::Draft, 7), "the uplift moved the draft");
    let stale = lifecycle::accept(&world.context, &contact, issued.id, shown).await.unwrap_err();
    assert_eq!(stale.to_string(), "the terms of this agreement changed while you were reading; read them again");
    assert_eq!(rule(stale), LifecycleError::TermsChanged);
    assert_eq!(world.agreement(&issued).await, moved, "a refused acceptance changes nothing");
    let reread = lifecycle::terms_shown(&world.context, &moved).unwrap();
    let accepted = lifecycle::accept(&world.context, &contact, issued.id, reread.clone()).await.unwrap();
    assert_eq!(accepted.accepted_terms_sha256.as_deref(), Some(reread.sha256.as_str()));

    // Several contacts tick while version 8 is being published.
    world.ship_terms_version(8);
    let mut racers = Vec::new();
    for n in 0..4 {
        let (_, contact, issued) =
            world.contract_pending_beside_an_active_one(&format!("Racer {n}"), &format!("X3{n}")).await;
        let shown = lifecycle::terms_shown(&world.context, &issued).unwrap();
        assert_eq!(shown.version, 7);
        racers.push((contact, issued, shown));
    }
    let publication = world.publish(8);
    let acceptances = accept_side_by_side(&world, &racers);
    let (_, outcomes) = tokio::join!(publication, acceptances);
    for ((_, issued, shown), outcome) in racers.iter().zip(outcomes) {
        let now = world.agreement(issued).await;
        match outcome {
            Ok(active) => {
                assert_eq!(active.terms_version, shown.version);
                assert_eq!(active.accepted_terms_sha256.as_deref(), Some(shown.sha256.as_str()));
                let kept = world.context.store.accepted_terms(issued.id).await.unwrap().unwrap();
                assert_eq!(
                    (kept.terms_version, &kept.sha256),
                    (shown.version, &shown.sha256),
                    "the text kept is the text shown"
                );
                assert_eq!(onramp_domain::terms::sha256_hex(&kept.text), shown.sha256);
            }
            Err(error) => {
                assert_eq!(rule(error), LifecycleError::TermsChanged);
                assert_eq!((now.state, now.terms_version), (AgreementState::Draft, 8));
            }
        }
    }
}

/// Every racer's acceptance, run side by side.
async fn accept_side_by_side(
    world: &World,
    racers: &[(onramp_domain::User, onramp_domain::agreement::Agreement, onramp_domain::agreement::TermsText)],
) -> Vec<Result<onramp_domain::agreement::Agreement, lifecycle::LifecycleServiceError>> {
    let mut handles = Vec::new();
    for (contact, issued, shown) in racers {
        let (context, contact, id, shown) = (world.context.clone(), contact.clone(), issued.id, shown.clone());
        handles.push(tokio::spawn(async move { lifecycle::accept(&context, &contact, id, shown).await }));
    }
    let mut outcomes = Vec::new();
    for handle in handles {
        outcomes.push(handle.await.unwrap());
    }
    outcomes
}

/// Found by `reminder_properties`: a second query on a terms change (its case exists, so the decision changes
/// no agreement, only comments on the case) failed with "agreement not found" when writing its notification.
async fn ca06_a_second_query_comments_on_the_case_reopens_it_and_tells_the_contacts(world: World) {
    let (organisation, contact, _) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft =
        world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    let first = lifecycle::raise_query(&world.context, &contact, draft.id, "Does clause 16 apply?").await.unwrap();
    let number = first.case_number.unwrap();
    cases::set_state(&world.context, &world.staff, number, CaseState::Resolved).await.unwrap();

    world.jump(DAY);
    let second = lifecycle::raise_query(&world.context, &contact, draft.id, "And clause 17?").await.unwrap();
    assert_eq!(second.case_number, Some(number), "the same case");
    let case = world.context.store.case(number).await.unwrap().unwrap();
    assert_eq!(case.state, CaseState::Open, "reopened");
    assert_eq!(case.activity.last().unwrap().body, "And clause 17?");
    let told = world.notifications("query_raised").await;
    assert_eq!(told.len(), 2, "each query is told to the contacts");
    assert!(matches!(&told[1].notification, Notification::QueryRaised { agreement } if agreement.case == Some(number)));
    world.run_timers().await;
}

/// CA-4: the worker was down for ten days; the contract was cancelled, in its ledger, when its 90 days ended.
async fn ca04_a_late_worker_dates_the_cancellation_at_the_deadline(world: World) {
    let (_, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    let deadline = issued.review_deadline.unwrap();
    world.clock.set(deadline + DAY * 10);
    let late = world.accept(&contact, &issued).await.unwrap_err();
    assert!(matches!(rule(late), LifecycleError::DeadlinePassed { .. }));
    world.run_timers().await;
    let cancelled = world.agreement(&issued).await;
    assert_eq!(cancelled.state, AgreementState::Cancelled);
    let ledger = world.context.store.ledger(issued.id).await.unwrap();
    let fired = ledger.last().unwrap();
    assert_eq!((fired.event, fired.timer, fired.at), (LedgerEvent::Fired, TimerKind::ReviewDeadline, deadline));
    assert_eq!(world.notifications("cancelled").await.len(), 1);
}

/// CA-8: the worker was down for ten days after the agreed end date. The agreement still ended on that date, and
/// its ledger and the cancelled draft's say so; nothing could change the draft in between.
async fn ca08_a_late_worker_ends_the_agreement_and_cancels_the_draft_at_the_start_of_the_end_date(world: World) {
    let (organisation, _, active) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft = world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending());
    let draft = draft.unwrap();
    let end_date = date_of(world.now() + DAY * 10);
    let scheduled = lifecycle::terminate(&world.context, &world.staff, organisation.id, end_date).await.unwrap();
    assert_eq!((scheduled.state, scheduled.scheduled_end_date), (AgreementState::Active, Some(end_date)));
    let (ends, scheduled_on) = (start_of(end_date), world.now());

    world.clock.set(ends + DAY * 10);
    let pause = lifecycle::pause(&world.context, &world.staff, draft.id).await.unwrap_err();
    assert_eq!(rule(pause), LifecycleError::Offboarded { end_date }, "the end date has come, the timer not yet");
    world.run_timers().await;

    let expired = world.agreement(&active).await;
    assert_eq!((expired.state, expired.end_date), (AgreementState::Expired, Some(end_date)));
    let ledger = world.context.store.ledger(active.id).await.unwrap();
    let termination: Vec<_> =
        ledger.iter().filter(|e| e.timer == TimerKind::Termination).map(|e| (e.event, e.at, e.deadline)).collect();
    assert_eq!(
        termination,
        [(LedgerEvent::Started, scheduled_on, Some(ends)), (LedgerEvent::Fired, ends, None)],
        "a termination appears in the terminated agreement's ledger, fired when the end date began"
    );
    let cancelled = world.agreement(&draft).await;
    assert_eq!(cancelled.state, AgreementState::Cancelled);
    let stopped = world.context.store.ledger(draft.id).await.unwrap().pop().unwrap();
    assert_eq!((stopped.event, stopped.at), (LedgerEvent::Stopped, ends));
    let Some(ReviewTimer::Running { deadline }) = draft.review_timer else { panic!("the terms change runs") };
    assert_eq!(stopped.remaining, deadline.duration_since(ends), "with the time it had left then");
    assert_eq!(world.notifications("terminated").await.len(), 1);
    assert_eq!(world.context.store.pending_jobs().await.unwrap(), 0);
}

/// CA-8: an end date of today has begun already, so the agreement ends in the same request, not at the worker's
/// next round; no termination timer is left behind.
async fn ca08_terminating_on_todays_date_ends_the_agreement_at_once(world: World) {
    let (organisation, _, active) = world.active_contract("Acme Health", "X26").await;
    let pending = world.new_contract(&organisation, vec![product("nhs-login")]).await;
    world.jump(SignedDuration::from_hours(3));
    let today = date_of(world.now());
    let ended = lifecycle::terminate(&world.context, &world.staff, organisation.id, today).await.unwrap();
    assert_eq!(ended.id, active.id);
    assert_eq!((ended.state, ended.end_date, ended.scheduled_end_date), (AgreementState::Expired, Some(today), None));
    assert!(ended.what_happens_next(world.now()).starts_with("Expired on"), "{}", ended.what_happens_next(world.now()));
    assert_eq!(world.agreement(&pending).await.state, AgreementState::Cancelled);
    assert!(jobs::timers_of(&world.context, active.id).await.unwrap().is_empty());
    let fired = world.context.store.ledger(active.id).await.unwrap().pop().unwrap();
    assert_eq!((fired.event, fired.timer, fired.at), (LedgerEvent::Fired, TimerKind::Termination, world.now()));
    assert_eq!(world.notifications("terminated").await.len(), 1);
    assert!(world.notifications("termination_scheduled").await.is_empty());
    world.run_timers().await;
}

/// CA-3, CA-6: the ledger records how much of the 90 days was left when the contact accepted.
async fn ca03_acceptance_is_logged_with_the_time_that_was_left(world: World) {
    let (_, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    let deadline = issued.review_deadline.unwrap();
    world.jump(DAY * 10 + SignedDuration::from_hours(5));
    world.accept(&contact, &issued).await.unwrap();
    let ledger = world.context.store.ledger(issued.id).await.unwrap();
    let stopped = ledger.last().unwrap();
    assert_eq!((stopped.event, stopped.at, stopped.deadline), (LedgerEvent::Stopped, world.now(), Some(deadline)));
    assert_eq!(stopped.remaining, deadline.duration_since(world.now()));
    assert_eq!(ledger_remaining(stopped), "79 days 19 hours");
    assert!(matches!(&stopped.actor, Actor::User { name, .. } if name == "Olu Contact"));
    world.run_timers().await;
}

/// The rule of docs/LIFECYCLE.md §3: remaining time is London calendar days and hours, on the page and in the
/// ledger alike, across the March clock change; a resume continues with the days and hours the pause kept.
async fn ca06_remaining_time_is_counted_in_london_days_across_the_clock_change(world: World) {
    world.clock.set("2027-03-10T10:00:00Z".parse().unwrap()); // 10:00 GMT; the clocks go forward on 28 March
    let (organisation, _, _) = world.active_contract("Acme Health", "X26").await;
    world.publish(7).await;
    let draft = world.context.store.agreements_of(organisation.id).await.unwrap().into_iter().find(|a| a.is_pending());
    let draft = draft.unwrap();
    let started = world.context.store.ledger(draft.id).await.unwrap().pop().unwrap();
    assert_eq!(started.remaining, SignedDuration::from_hours(719), "30 London days are 719 hours this time");
    assert_eq!(ledger_remaining(&started), "30 days 0 hours");
    assert!(draft.what_happens_next(world.now()).contains("9 April 2027, 30 days left"));

    world.jump(SignedDuration::from_hours(1));
    let paused = lifecycle::pause(&world.context, &world.staff, draft.id).await.unwrap();
    let pause = world.context.store.ledger(draft.id).await.unwrap().pop().unwrap();
    assert_eq!(ledger_remaining(&pause), "29 days 23 hours");
    let page = paused.what_happens_next(world.now());
    assert!(page.contains("29 days 23 hours of review remain"), "page and ledger agree: {page}");

    world.clock.set("2027-04-05T09:00:00Z".parse().unwrap()); // 10:00 BST
    let resumed = lifecycle::resume(&world.context, &world.staff, draft.id).await.unwrap();
    let resume = world.context.store.ledger(draft.id).await.unwrap().pop().unwrap();
    assert_eq!(ledger_remaining(&resume), "29 days 23 hours", "the time kept at the pause continues");
    assert_eq!(resumed.review_deadline, Some("2027-05-05T08:00:00Z".parse().unwrap()), "09:00 BST on 5 May");
    assert!(resumed.what_happens_next(world.now()).contains("5 May 2027, 30 days left"));
    world.run_timers().await;
}

/// CA-4: a draft the agreement team never issued was never put to anyone, so it lapses as "never issued", not as
/// "not accepted", and nobody is told it was cancelled.
async fn ca04_a_draft_never_issued_lapses_in_its_own_words_and_mails_nobody(world: World) {
    let organisation = world.organisation("Acme Health", "X26").await;
    let _contact = world.member(&organisation, "Olu Contact", TeamRole::Owner, true).await;
    let draft = world.new_contract(&organisation, vec![product("pds-fhir")]).await;
    assert_eq!(draft.substate, Some(Substate::AwaitingReview));
    world.clock.set(draft.review_deadline.unwrap() + DAY);
    world.run_timers().await;
    let lapsed = world.agreement(&draft).await;
    assert_eq!(lapsed.state, AgreementState::Cancelled);
    assert_eq!(
        lapsed.closing_reason.as_deref(),
        Some("Never issued: the agreement team did not issue it within the review period")
    );
    assert!(world.notifications("cancelled").await.is_empty(), "nobody was asked, so nobody is told");
}

/// CA-4: a contact who opened the agreement page before the deadline and submits after the worker cancelled it
/// is told that the agreement closed and why, not that it is "not this organisation's agreement".
async fn ca04_a_late_acceptance_or_query_on_a_closed_agreement_is_refused_in_words(world: World) {
    let (_, contact, issued) = world.issued_contract("Acme Health", "X26").await;
    world.clock.set(issued.review_deadline.unwrap() + DAY);
    world.run_timers().await;
    let late = world.accept(&contact, &issued).await.unwrap_err();
    let refused = rule(late);
    assert!(matches!(refused, LifecycleError::NoLongerOpen { .. }), "{refused:?}");
    assert_eq!(
        refused.to_string(),
        "CNTR0000001 is Cancelled (Not accepted within the review period), so it can no longer be accepted or \
         queried; the agreement team can issue a new contract"
    );
    let query = lifecycle::raise_query(&world.context, &contact, issued.id, "Too late?").await.unwrap_err();
    assert!(matches!(rule(query), LifecycleError::NoLongerOpen { .. }));
    assert_eq!(world.agreement(&issued).await.state, AgreementState::Cancelled, "nothing changed");
}
