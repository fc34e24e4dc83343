//! Mail delivery over a real SMTP server (NOT-1, NOT-2), on SQLite and PostgreSQL. The server is aiosmtpd on
//! loopback (`tests/smtp_sink.py`, driven by `common::smtp`); the services write the outbox as they do in
//! production and `jobs::run_due` delivers it; what the server received is parsed as MIME and checked against
//! the outbox rows. Time is the world's manual clock.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use std::collections::BTreeMap;

use common::smtp::{Received, SmtpSink};
use common::{DAY, World};
use jiff::SignedDuration;
use onramp_domain::agreement::Origin;
use onramp_domain::application::{ApplicationCommand, SectionKey};
use onramp_domain::case::{CaseState, Visibility};
use onramp_domain::flow::evaluate::Answer;
use onramp_domain::notification::{ApplicationEvent, Notification};
use onramp_domain::{EmailAddress, NewUser, PersonName};
use onramp_service::mail::{self, Sent};
use onramp_service::{applications, cases, jobs, legacy, lifecycle, password_reset, team};
use onramp_store::testing::TestDatabase;
use onramp_store::{DELIVERY_JOB_KIND, Delivery, OutboxEntry};

const FROM_ADDRESS: &str = "connections@onramp.test";
const FROM_NAME: &str = "Onramp Connections Desk";
const PORTAL: &str = "https://onramp.test";
const SERVICE_DESK: &str = "support.digitalservices@onramp.example";

/// A world whose mail goes over SMTP to a sink of its own.
struct Mailroom {
    world: World,
    sink: SmtpSink,
}

/// `None` when aiosmtpd is missing here (the stories are then skipped, with a notice; under CI they fail).
async fn mailroom(database: TestDatabase) -> Option<Mailroom> {
    let sink = SmtpSink::start("mail_story")?;
    let settings = sink.settings();
    let world = World::with_config(database, |config| {
        config.mail.smtp = Some(settings);
        config.mail.from_address = Some(EmailAddress::parse(FROM_ADDRESS).unwrap());
        config.mail.from_name = Some(FROM_NAME.into());
    })
    .await;
    Some(Mailroom { world, sink })
}

onramp_store::on_both_backends!(
    mailroom;
    not1_every_kind_of_notification_arrives_from_the_configured_sender_with_both_parts_and_its_link,
    not2_mail_queued_while_the_server_is_down_is_retried_with_back_off_and_arrives_once_when_it_is_up,
    not2_a_worker_killed_between_sending_and_marking_sends_again_with_the_same_message_id,
);

/// Every outbox row, oldest first.
async fn outbox(world: &World) -> Vec<OutboxEntry> {
    let mut rows = world.context.store.outbox_page(None, 10_000).await.unwrap();
    rows.reverse();
    rows
}

/// Delivery jobs still in the queue (the agreements' timers are jobs too).
async fn pending_deliveries(world: &World) -> usize {
    let jobs = world.context.store.all_jobs().await.unwrap();
    jobs.iter().filter(|record| record.job.kind == DELIVERY_JOB_KIND).count()
}

fn sorted(mut addresses: Vec<String>) -> Vec<String> {
    addresses.sort();
    addresses
}

/// The portal addresses in a part: the text part's bare lines, the HTML part's `href`s.
fn links_in_text(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|line| line.starts_with(PORTAL)).map(str::to_owned).collect()
}

fn links_in_html(html: &str) -> Vec<String> {
    html.split("href=\"").skip(1).map(|rest| rest.split('"').next().unwrap().replace("&#x2f;", "/")).collect()
}

/// The page a notification must link to, under the portal.
fn expected_path(notification: &Notification) -> String {
    match notification {
        Notification::Issued { agreement, .. }
        | Notification::Reminder { agreement, .. }
        | Notification::Cancelled { agreement }
        | Notification::Activated { agreement }
        | Notification::TerminationScheduled { agreement, .. }
        | Notification::Terminated { agreement } => format!("/agreements/{}", agreement.number),
        Notification::QueryRaised { agreement } => format!("/cases/{}", agreement.case.unwrap()),
        Notification::CaseActivity { case, .. } | Notification::CaseState { case, .. } => format!("/cases/{case}"),
        Notification::TeamInvitation { .. } => "/invitations".into(),
        Notification::TeamMemberAdded { .. } => "/".into(),
        Notification::PasswordReset { path, .. } | Notification::AddressVerification { path, .. } => {
            assert!(path.starts_with('/'), "{path}");
            path.clone()
        }
        Notification::AccountExists { .. } => "/sign-in".into(),
        Notification::ApplicationUpdate { event: ApplicationEvent::Submitted, .. } => "/staff/reviews".into(),
        Notification::ApplicationUpdate { application, .. } => format!("/applications/{}", application.0),
    }
}

/// The kind as the outbox names it, with the origin of an "issued" notice.
fn kind_of(notification: &Notification) -> String {
    match notification {
        Notification::Issued { origin, .. } => format!("issued/{}", origin_name(*origin)),
        other => other.kind(),
    }
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::NewContract => "new_contract",
        Origin::LegacyUplift => "legacy_uplift",
        Origin::TermsChange => "terms_change",
        Origin::PaperImport => "paper_import",
    }
}

/// Checks one received message against its outbox row: envelope, headers, both parts and the link.
fn check_message(world: &World, message: &Received, entry: &OutboxEntry, expected_recipients: &[String]) {
    let notification = entry.notification.as_ref().unwrap();
    let what = format!("{} {}", entry.kind, entry.id);
    let expected_recipients = sorted(expected_recipients.to_vec());
    assert_eq!(message.mail_from, FROM_ADDRESS, "{what}: envelope sender");
    assert_eq!(
        (message.from_name.as_deref(), message.from_address.as_str()),
        (Some(FROM_NAME), FROM_ADDRESS),
        "{what}: From"
    );
    assert_eq!(sorted(message.rcpt_tos.clone()), expected_recipients, "{what}: RCPT TO");
    assert_eq!(sorted(message.to.clone()), expected_recipients, "{what}: To");
    assert_eq!(sorted(entry.recipients.clone()), expected_recipients, "{what}: the row's recipients");
    assert_eq!(message.message_id, format!("<{}@onramp.test>", entry.id), "{what}: Message-ID");
    let rendered = mail::render(&world.context, notification).unwrap();
    assert_eq!(message.subject, rendered.subject, "{what}: the subject survives the header encoding");
    let text = message.text.as_deref().unwrap_or_else(|| panic!("{what}: no text/plain part\n{}", message.raw));
    let html = message.html.as_deref().unwrap_or_else(|| panic!("{what}: no text/html part\n{}", message.raw));
    assert_eq!(
        text.replace("\r\n", "\n").trim_end(),
        rendered.text.replace("\r\n", "\n").trim_end(),
        "{what}: the text part decodes to what was rendered"
    );
    let url = format!("{PORTAL}{}", expected_path(notification));
    assert_eq!(links_in_text(text), std::slice::from_ref(&url), "{what}: the text part's link\n{text}");
    assert!(links_in_html(html).contains(&url), "{what}: the HTML part's link\n{html}");
    assert!(links_in_html(html).iter().all(|link| *link == url), "{what}: one link only\n{html}");
    assert!(html.contains("<html") && html.contains("</html>"), "{what}\n{html}");
}

/// The messages with `message_id`.
fn copies<'a>(received: &'a [Received], message_id: &str) -> Vec<&'a Received> {
    received.iter().filter(|m| m.message_id == message_id).collect()
}

fn message_id_of(entry: &OutboxEntry) -> String {
    match &entry.delivery {
        Delivery::Sent { message_id, .. } => message_id.clone(),
        other => panic!("{} {} is not sent: {other:?}", entry.kind, entry.id),
    }
}

async fn user(world: &World, email: &str, name: &str) -> onramp_domain::User {
    world
        .context
        .store
        .create_user(
            &NewUser {
                email: EmailAddress::parse(email).unwrap(),
                full_name: PersonName::parse(name).unwrap(),
                password_hash: None,
                staff_roles: vec![],
                email_verified: true,
            },
            world.now(),
        )
        .await
        .unwrap()
}

/// NOT-1: real service calls write every kind of notification; the worker sends each over SMTP, once, from
/// the configured sender to the row's recipients (envelope and headers agree), with a text and an HTML part
/// that link to the page under the portal's address where the reader acts.
async fn not1_every_kind_of_notification_arrives_from_the_configured_sender_with_both_parts_and_its_link(
    room: Option<Mailroom>,
) {
    let Some(Mailroom { world, sink }) = room else { return };
    let contacts = |ods: &str| {
        let ods = ods.to_lowercase();
        vec![format!("olu@{ods}.example"), format!("notices@{ods}.example")]
    };
    // Acme: a new contract, reminded, accepted, then terminated.
    let (acme, acme_contact, acme_draft) = world.issued_contract("Acme Health", "X26").await;
    // Beacon: active, then a terms change it queries, with a conversation on the case.
    let (beacon, beacon_contact, _) = world.active_contract("Beacon Apps", "B01").await;
    // Cobalt: a new contract nobody accepts (cancelled after 90 days).
    world.issued_contract("Cobalt Care", "C03").await;
    // Meridian: a paper agreement, then its version-6 contract.
    let sample = include_str!("../../../samples/legacy-agreements.csv");
    let first_row: Vec<&str> = sample.lines().take(2).collect();
    assert_eq!(legacy::import_legacy_agreements(&world.context, &(first_row.join("\n") + "\n")).await.unwrap(), 1);
    let uplifted = lifecycle::issue_version_6_to_paper_agreements(&world.context, &world.staff).await.unwrap();
    assert_eq!(uplifted.len(), 1);
    world.run_timers().await;

    assert_eq!(world.publish(7).await.uplifted, 1, "only Beacon has an Active digital agreement");
    let terms_change =
        world.context.store.agreements_of(beacon.id).await.unwrap().into_iter().find(|a| a.is_pending()).unwrap();
    let queried = lifecycle::raise_query(&world.context, &beacon_contact, terms_change.id, "What changed in clause 4?")
        .await
        .unwrap();
    let case = queried.case_number.unwrap();
    cases::comment(&world.context, &world.staff, case, "Clause 4 now names the API.", Visibility::Public)
        .await
        .unwrap();
    cases::comment(&world.context, &world.staff, case, "Internal: nobody is told.", Visibility::Internal)
        .await
        .unwrap();
    cases::comment(&world.context, &beacon_contact, case, "Thank you, that answers it.", Visibility::Public)
        .await
        .unwrap();
    cases::set_state(&world.context, &world.staff, case, CaseState::Resolved).await.unwrap();

    // The team: two addresses are invited; the one with a verified account accepts, and is told it joined.
    let form = |email: &str, role: &str| team::InviteForm { email: email.into(), role: role.into() };
    team::invite(&world.context, &beacon_contact, &form("newcomer@b01.example", "viewer")).await.unwrap();
    let fran = user(&world, "free@elsewhere.example", "Fran Free").await;
    let offer = team::invite(&world.context, &beacon_contact, &form("free@elsewhere.example", "admin")).await.unwrap();
    team::respond(&world.context, &fran, offer.id, team::Answer::Accept).await.unwrap();

    // An application: the eligibility section is submitted (the provider is told) and sent back (the team is).
    let beacon_contact = world.context.store.user(beacon_contact.id).await.unwrap().unwrap();
    let slug = onramp_domain::ApiProduct::parse("pds-fhir").unwrap();
    let application = applications::start(&world.context, &beacon_contact, "Beacon Records", &[slug]).await.unwrap();
    let eligibility = SectionKey("eligibility".into());
    let answered = [
        ("use_case", Answer::Text("Shows patients their details".into())),
        ("use_case_fits", Answer::YesNo(true)),
        ("uk_health_or_care", Answer::YesNo(true)),
    ];
    let answers = answered.into_iter().map(|(q, a)| (q.to_owned(), Some(a))).collect();
    let save = ApplicationCommand::Save { section: eligibility.clone(), answers };
    applications::act(&world.context, &beacon_contact, application.id, save).await.unwrap();
    let submit = ApplicationCommand::Submit { section: eligibility.clone() };
    applications::act(&world.context, &beacon_contact, application.id, submit).await.unwrap();
    let reviewer = world
        .staff_member("reviewer@provider.example", "Rory Reviewer", vec![onramp_domain::StaffRole::Reviewer])
        .await;
    let comments = vec![(Some("use_case".to_owned()), "Which care settings?".to_owned())];
    let send_back = ApplicationCommand::RequestChanges { section: eligibility, comments };
    applications::act(&world.context, &reviewer, application.id, send_back).await.unwrap();
    // DOS-5: the reviewer records the dates agreed on the calls; the team is told them.
    let milestones = ApplicationCommand::SetMilestones {
        preparation_call: Some(jiff::civil::date(2026, 12, 1)),
        demonstration_call: Some(jiff::civil::date(2026, 12, 10)),
        go_live: Some(jiff::civil::date(2027, 4, 12)),
    };
    applications::act(&world.context, &reviewer, application.id, milestones).await.unwrap();

    // Accounts: a password reset; a registration (its verification link); a registration with a taken address.
    password_reset::request(&world.context, "olu@x26.example").await.unwrap();
    let registration = |email: &str, name: &str| onramp_service::accounts::Registration {
        email: email.into(),
        full_name: name.into(),
        password: "a long enough passphrase".into(),
        confirm_password: "a long enough passphrase".into(),
    };
    onramp_service::accounts::register(&world.context, &registration("vic@x26.example", "Vic Verify")).await.unwrap();
    onramp_service::accounts::register(&world.context, &registration("olu@x26.example", "Not Olu")).await.unwrap();
    world.run_timers().await;

    // Sixty days on: the 30-day reminders of the new contracts; the terms change has auto-accepted.
    let deadline = acme_draft.review_deadline.unwrap();
    world.clock.set(onramp_domain::calendar::add_days(deadline, -30) + SignedDuration::from_mins(1));
    world.run_timers().await;
    world.accept(&acme_contact, &acme_draft).await.unwrap();
    let end_date = onramp_domain::calendar::date_of(world.now() + DAY * 10);
    lifecycle::terminate(&world.context, &world.staff, acme.id, end_date).await.unwrap();
    world.run_timers().await;
    world.jump(DAY * 11);
    world.run_timers().await;
    // Past the new contracts' deadline: the ones not accepted are cancelled.
    world.clock.set(deadline + SignedDuration::from_mins(1));
    world.run_timers().await;

    let rows = outbox(&world).await;
    let received = sink.received();
    assert_eq!(received.len(), rows.len(), "one message per outbox row");
    let mut kinds = BTreeMap::<String, usize>::new();
    let mut subjects = Vec::new();
    for entry in &rows {
        let notification = entry.notification.as_ref().unwrap();
        let expected: Vec<String> = match notification {
            Notification::Issued { agreement, .. }
            | Notification::Reminder { agreement, .. }
            | Notification::Cancelled { agreement }
            | Notification::Activated { agreement }
            | Notification::TerminationScheduled { agreement, .. }
            | Notification::Terminated { agreement }
            | Notification::QueryRaised { agreement } => match agreement.organisation.as_str() {
                "Acme Health" => contacts("X26"),
                "Beacon Apps" => contacts("B01"),
                "Cobalt Care" => contacts("C03"),
                "Meridian Clinical Systems Ltd" => vec!["connection-notices@meridian-clinical.example".into()],
                other => panic!("no recipients known for {other}"),
            },
            // Staff activity goes to the connecting party; the party's to the service desk (CASE-2).
            Notification::CaseActivity { author, .. } if author == "Olu Contact" => vec![SERVICE_DESK.into()],
            Notification::CaseActivity { .. } | Notification::CaseState { .. } => contacts("B01"),
            Notification::TeamInvitation { register_with, .. } => vec![register_with.to_string()],
            Notification::TeamMemberAdded { .. } => vec!["free@elsewhere.example".into()],
            Notification::PasswordReset { .. } | Notification::AccountExists { .. } => vec!["olu@x26.example".into()],
            Notification::AddressVerification { .. } => vec!["vic@x26.example".into()],
            // DOS-3: a submission goes to the provider, a review to the organisation's owners and admins.
            Notification::ApplicationUpdate { event: ApplicationEvent::Submitted, .. } => vec![SERVICE_DESK.into()],
            Notification::ApplicationUpdate { .. } => {
                vec!["free@elsewhere.example".into(), "olu@b01.example".into()]
            }
        };
        let message_id = message_id_of(entry);
        let copies = copies(&received, &message_id);
        assert_eq!(copies.len(), 1, "{} {message_id} arrived {} times", entry.kind, copies.len());
        check_message(&world, copies[0], entry, &expected);
        *kinds.entry(kind_of(notification)).or_default() += 1;
        subjects.push(copies[0].subject.clone());
    }
    assert_eq!(
        kinds.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "account_exists",
            "activated",
            "address_verification",
            "application_update",
            "cancelled",
            "case_activity",
            "case_state",
            "issued/legacy_uplift",
            "issued/new_contract",
            "issued/terms_change",
            "password_reset",
            "query_raised",
            "reminder",
            "team_invitation",
            "team_member_added",
            "terminated",
            "termination_scheduled",
        ],
        "every kind of notification, and every origin of an issued agreement"
    );
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "Beacon Apps submitted Eligibility for Beacon Records",
            "Case CS0000005 has been marked as resolved",
            "Changes requested: Eligibility of Beacon Records",
            "Confirm your email address for the NHS England portal",
            "Connection Agreement CNTR0000001 has ended",
            "Connection Agreement CNTR0000001 is now active",
            "Connection Agreement CNTR0000001 is ready for you to accept",
            "Connection Agreement CNTR0000001 will end on 30 January 2027",
            "Connection Agreement CNTR0000002 is now active",
            "Connection Agreement CNTR0000002 is ready for you to accept",
            "Connection Agreement CNTR0000003 has been cancelled",
            "Connection Agreement CNTR0000003 is ready for you to accept",
            "Connection Agreement CNTR0000005 has been cancelled",
            "Connection Agreement CNTR0000006 is now active",
            "Milestones updated: Beacon Records",
            "New comment on case CS0000005",
            "New comment on case CS0000005",
            "Olu Contact has invited you to join Beacon Apps on the NHS England portal",
            "Olu Contact has invited you to join Beacon Apps on the NHS England portal",
            "Query raised on Connection Agreement CNTR0000006 (CS0000005)",
            "Reminder: accept Connection Agreement CNTR0000001 in 30 days",
            "Reminder: accept Connection Agreement CNTR0000003 in 30 days",
            "Reminder: accept Connection Agreement CNTR0000005 in 30 days",
            "Reset your NHS England portal password",
            "Someone tried to register with your address on the NHS England portal",
            "The Connection Agreement terms are changing: please review CNTR0000006",
            "You have joined Beacon Apps",
            "Your digital Connection Agreement CNTR0000005 is ready to accept",
        ]
    );
    assert!(rows.iter().all(|row| matches!(row.delivery, Delivery::Sent { .. })));
    assert_eq!(pending_deliveries(&world).await, 0, "nothing left to send");
}

/// NOT-2: with the server down, every delivery fails and is given back with the queue's back-off (not tried
/// again before it); once the server is back and the clock is past the back-off, the queue drains and every
/// message has arrived exactly once, with its row marked sent.
async fn not2_mail_queued_while_the_server_is_down_is_retried_with_back_off_and_arrives_once_when_it_is_up(
    room: Option<Mailroom>,
) {
    let Some(Mailroom { world, mut sink }) = room else { return };
    sink.stop();
    for (name, ods) in [("Acme Health", "X26"), ("Beacon Apps", "B01"), ("Cobalt Care", "C03")] {
        world.issued_contract(name, ods).await;
    }
    password_reset::request(&world.context, "olu@x26.example").await.unwrap();
    let queued = outbox(&world).await.len();
    assert_eq!(queued, 4);

    let report = world.run_timers().await;
    assert_eq!((report.failed, report.mail_sent, report.failed_permanently), (queued, 0, 0), "{report:?}");
    for row in outbox(&world).await {
        match row.delivery {
            Delivery::Queued { attempts: 1, next_try, last_error: Some(error) } => {
                assert_eq!(next_try, world.now() + jobs::backoff(1), "the first back-off");
                assert!(error.contains("could not take the message now"), "a transient failure: {error}");
            }
            other => panic!("{} after a failed try: {other:?}", row.kind),
        }
    }
    // Not tried again before the back-off is over …
    world.jump(jobs::backoff(1) - SignedDuration::from_secs(1));
    assert_eq!(world.run_timers().await, jobs::RunReport::default());
    // … then tried again, and still down: the next back-off is longer.
    world.jump(SignedDuration::from_secs(1));
    assert_eq!(world.run_timers().await.failed, queued);
    let attempts: Vec<_> = outbox(&world)
        .await
        .into_iter()
        .map(|row| match row.delivery {
            Delivery::Queued { attempts, next_try, .. } => (attempts, next_try),
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(attempts.iter().all(|&(a, next)| a == 2 && next == world.now() + jobs::backoff(2)), "{attempts:?}");
    assert!(sink.received().is_empty());

    sink.restart();
    let mut runs = 0;
    while pending_deliveries(&world).await > 0 {
        runs += 1;
        assert!(runs <= 5, "the queue does not drain");
        world.jump(jobs::backoff(jobs::MAX_ATTEMPTS));
        world.run_timers().await;
    }
    let received = sink.received();
    let rows = outbox(&world).await;
    assert_eq!(received.len(), rows.len(), "every message arrived, none twice");
    for row in &rows {
        let message_id = message_id_of(row);
        assert_eq!(message_id, mail::message_id(&world.context, row.id));
        assert_eq!(copies(&received, &message_id).len(), 1, "{message_id}");
    }
}

/// NOT-2, at least once: a worker that claimed a delivery, handed the message to the server and died before
/// marking the row leaves the job leased. Nobody takes it until the lease runs out; then it is sent again
/// with the same Message-ID (so the receiving side can drop the copy), the row is marked sent once, and the
/// queue drains. The dead worker, were it to come back, finds the row sent and sends nothing.
async fn not2_a_worker_killed_between_sending_and_marking_sends_again_with_the_same_message_id(room: Option<Mailroom>) {
    let Some(Mailroom { world, sink }) = room else { return };
    world.issued_contract("Acme Health", "X26").await;
    let row = outbox(&world).await.remove(0);
    let expected_id = mail::message_id(&world.context, row.id);

    // The worker's claim, as run_due makes it.
    let claimed_at = world.now();
    let lease_until = claimed_at + jobs::LEASE;
    let claimed = world.context.store.claim_due_jobs(claimed_at, lease_until, 100).await.unwrap();
    assert_eq!(claimed.len(), 1, "only the delivery is due: {claimed:?}");
    let stale = claimed.into_iter().next().unwrap();
    assert_eq!((stale.kind.as_str(), stale.id), (DELIVERY_JOB_KIND, row.id));
    assert_eq!(
        mail::send(&world.context, &stale, claimed_at).await.unwrap(),
        Sent::Now { message_id: expected_id.clone() }
    );
    // … and the worker dies here, before marking the row.
    assert_eq!(sink.received().len(), 1);
    assert!(matches!(
        world.context.store.outbox_entry(row.id).await.unwrap().unwrap().delivery,
        Delivery::Queued { attempts: 1, .. }
    ));

    // The lease holds: nobody else takes the job before it runs out.
    assert_eq!(world.run_timers().await, jobs::RunReport::default());
    world.jump(jobs::LEASE - SignedDuration::from_secs(1));
    assert_eq!(world.run_timers().await, jobs::RunReport::default());
    assert_eq!(sink.received().len(), 1);

    world.jump(SignedDuration::from_secs(1));
    let report = world.run_timers().await;
    assert_eq!((report.mail_sent, report.failed), (1, 0), "{report:?}");
    let received = sink.received();
    assert_eq!(received.len(), 2, "sent twice: at least once, never lost");
    assert!(received.iter().all(|m| m.message_id == expected_id), "both copies carry the same Message-ID");
    assert_eq!(received[0].text, received[1].text, "the same words");
    match world.context.store.outbox_entry(row.id).await.unwrap().unwrap().delivery {
        Delivery::Sent { at, message_id } => assert_eq!((at, message_id), (world.now(), expected_id.clone())),
        other => panic!("not marked sent: {other:?}"),
    }
    assert_eq!(pending_deliveries(&world).await, 0, "the queue drains");

    // The dead worker comes back with its stale claim: nothing more goes out, the row keeps its first mark.
    assert_eq!(mail::send(&world.context, &stale, world.now()).await.unwrap(), Sent::Already);
    mail::deliver(&world.context, &stale, world.now() + DAY).await.unwrap();
    assert_eq!(sink.received().len(), 2);
    match world.context.store.outbox_entry(row.id).await.unwrap().unwrap().delivery {
        Delivery::Sent { at, message_id } => assert_eq!((at, message_id), (world.now(), expected_id)),
        other => panic!("{other:?}"),
    }
    world.jump(jobs::LEASE * 2);
    assert_eq!(world.run_timers().await, jobs::RunReport::default());
}
