//! DOS-3, DOS-5 in the portal, on both databases: a supplier starts an application and answers its eligibility
//! section; an incomplete or mistyped form is answered beside its questions with what was typed kept and
//! nothing saved; the reviewer finds the section in the queue, asks for a change on one question, the supplier
//! reads the comment beside it and resubmits, and the reviewer approves. A second application is rejected with a
//! reason the supplier reads.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::{TestApp, account, get, organisation, post, sign_in};
use onramp_domain::application::{SectionKey, SectionState};
use onramp_domain::{Membership, StaffRole, TeamRole};

onramp_store::on_both_backends!(
    common::spawn_app;
    dos3_a_supplier_answers_and_a_reviewer_sends_back_then_approves,
);

async fn dos3_a_supplier_answers_and_a_reviewer_sends_back_then_approves(app: TestApp) {
    let acme = organisation(&app, "ACM01").await;
    let membership = Membership { organisation_id: acme.id, role: TeamRole::Owner, onboarding_contact: true };
    account(&app, "olu@acme.example", "Olu Owner", vec![], Some(membership)).await;
    account(&app, "rory@provider.example", "Rory Reviewer", vec![StaffRole::Reviewer], None).await;
    let supplier = sign_in(&app, "olu@acme.example").await;
    let reviewer = sign_in(&app, "rory@provider.example").await;

    let page = get(&app, &supplier, "/applications").await;
    assert!(page.contains("Your organisation has no applications yet."), "{page}");
    let refused = post(&app, &supplier, "/applications", &page, &[("product_name", " ")]).await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(refused.contains(r##"href="#product_name""##) && refused.contains("Name the product"), "{refused}");
    assert!(app.context.store.applications_of(acme.id).await.unwrap().is_empty(), "nothing was started");
    let started =
        post(&app, &supplier, "/applications", &page, &[("product_name", "Acme Records"), ("product", "pds-fhir")])
            .await;
    assert_eq!(started.status(), 303);
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let overview = get(&app, &supplier, &location).await;
    assert!(overview.contains("Acme Records") && overview.contains("Eligibility"), "{overview}");
    assert!(overview.contains("The supplier answers it"), "who acts next: {overview}");

    let section = format!("{location}/sections/eligibility");
    let form = get(&app, &supplier, &section).await;
    assert!(form.contains(r#"name="q-use_case""#) && form.contains("Save and submit for review"), "{form}");
    let incomplete = post(&app, &supplier, &section, &form, &[("q-use_case_fits", "yes"), ("intent", "submit")]).await;
    assert_eq!(incomplete.status(), 422);
    let incomplete = incomplete.text().await.unwrap();
    assert!(
        incomplete.contains(r##"href="#q-use_case""##) && incomplete.contains("Answer this question"),
        "{incomplete}"
    );
    assert!(incomplete.contains(r#"id="q-use_case_fits-yes" name="q-use_case_fits" value="yes" checked"#), "kept");
    let mistyped = post(&app, &supplier, &section, &form, &[("q-use_case_fits", "maybe"), ("intent", "save")]).await;
    assert_eq!(mistyped.status(), 422, "a value the question does not take is refused beside it");
    assert!(mistyped.text().await.unwrap().contains("Select yes or no"));

    let answers = [
        ("q-use_case", "Shows patients their registered details"),
        ("q-use_case_fits", "yes"),
        ("q-uk_health_or_care", "yes"),
        ("intent", "submit"),
    ];
    assert_eq!(post(&app, &supplier, &section, &form, &answers).await.status(), 303);

    let queue = get(&app, &reviewer, "/staff/reviews").await;
    assert!(queue.contains("Eligibility") && queue.contains("Organisation ACM01: Acme Records"), "{queue}");
    assert!(queue.contains("0 working days"), "{queue}");
    let review = get(&app, &reviewer, &section).await;
    assert!(
        review.contains("Shows patients their registered details") && review.contains("Ask for changes"),
        "{review}"
    );
    let review_path = format!("{section}/review");
    let empty = post(&app, &reviewer, &review_path, &review, &[("intent", "changes"), ("comment", " ")]).await;
    assert_eq!(empty.status(), 422);
    assert!(empty.text().await.unwrap().contains("Write a comment saying what to change"));
    let comment = [("intent", "changes"), ("comment-q-use_case", "Say which care settings use it.")];
    assert_eq!(post(&app, &reviewer, &review_path, &review, &comment).await.status(), 303);

    let form = get(&app, &supplier, &section).await;
    assert!(form.contains("The reviewer asks:</strong> Say which care settings use it."), "{form}");
    let mut better = answers.to_vec();
    better[0] = ("q-use_case", "GP surgeries show patients their registered details");
    assert_eq!(post(&app, &supplier, &section, &form, &better).await.status(), 303);
    let review = get(&app, &reviewer, &section).await;
    assert_eq!(post(&app, &reviewer, &review_path, &review, &[("intent", "approve")]).await.status(), 303);
    let stored = app.context.store.applications_of(acme.id).await.unwrap().remove(0);
    assert_eq!(stored.sections[&SectionKey("eligibility".into())].state, SectionState::Approved);
    assert!(get(&app, &reviewer, "/staff/reviews").await.contains("Nothing is waiting for a review."));

    // Another application is closed with a reason the supplier reads.
    let page = get(&app, &supplier, "/applications").await;
    let second =
        post(&app, &supplier, "/applications", &page, &[("product_name", "Acme Notes"), ("product", "nhs-login")])
            .await;
    let second = second.headers()["location"].to_str().unwrap().to_owned();
    let overview = get(&app, &reviewer, &second).await;
    let reject = format!("{second}/reject");
    assert_eq!(post(&app, &reviewer, &reject, &overview, &[("reason", "")]).await.status(), 422);
    let reason = [("reason", "The product does not use patient data.")];
    assert_eq!(post(&app, &reviewer, &reject, &overview, &reason).await.status(), 303);
    let closed = get(&app, &supplier, &second).await;
    assert!(closed.contains("The provider closed this application.") && closed.contains("does not use patient data"));
}
