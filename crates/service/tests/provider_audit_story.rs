//! AUD-1, AUD-2: the provider's own actions (staff accounts and their roles, password resets, terms
//! publication) are written on the provider's audit chain in the transaction that makes them, and
//! `verify-audit` checks that chain like any organisation's. Run on SQLite and PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

mod common;

use common::World;
use onramp_domain::agreement::Actor;
use onramp_domain::audit::{AuditRecord, PROVIDER_CHAIN};
use onramp_domain::notification::Notification;
use onramp_service::accounts::{self, AccountError, StaffAccountRequest, StaffRolesRequest};
use onramp_service::{audit, password_reset};

onramp_store::on_both_backends!(
    World::new;
    aud1_staff_accounts_roles_resets_and_publications_are_on_the_provider_chain,
    aud2_verify_audit_names_an_edited_provider_entry,
    aud1_a_refused_change_writes_nothing_on_the_provider_chain,
    aud1_provider_entries_written_side_by_side_stay_in_one_unbroken_chain,
);

fn operator() -> Actor {
    Actor::System { process: "onramp admin, run by ops".into() }
}

fn staff_request(email: &str, roles: &[&str]) -> StaffAccountRequest {
    StaffAccountRequest {
        email: email.into(),
        full_name: "Rita Reviewer".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        password: Some("a long enough passphrase".into()),
        by: operator(),
    }
}

async fn provider_chain(world: &World) -> Vec<AuditRecord> {
    let records = world.context.store.audit_records().await.unwrap();
    records.into_iter().filter(|r| r.chain_id == PROVIDER_CHAIN).collect()
}

async fn aud1_staff_accounts_roles_resets_and_publications_are_on_the_provider_chain(mut world: World) {
    let account = accounts::create_staff_user(&world.context, &staff_request("rita@provider.example", &["reviewer"]))
        .await
        .unwrap();
    let roles = |roles: &[&str]| StaffRolesRequest {
        email: "rita@provider.example".into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        by: operator(),
    };
    accounts::set_staff_roles(&world.context, &roles(&["reviewer", "live-service"])).await.unwrap();
    accounts::set_staff_roles(&world.context, &roles(&["live_service", "reviewer"])).await.unwrap();

    password_reset::request(&world.context, "rita@provider.example").await.unwrap();
    let mail = world.notifications("password_reset").await;
    let Notification::PasswordReset { path, .. } = &mail[0].notification else { panic!("a reset mail") };
    let token = path.strip_prefix("/password-reset/").unwrap();
    password_reset::finish(&world.context, token, "another long passphrase", "another long passphrase").await.unwrap();

    world.ship_terms_version(8);
    world.publish(8).await;
    world.publish(8).await;

    let chain = provider_chain(&world).await;
    let actions: Vec<&str> = chain.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        ["staff_account_create", "staff_roles_change", "password_reset", "terms_publish", "terms_publish_finish"],
        "the same roles again and a second publication of version 8 record nothing"
    );
    let id = account.user.id.to_string();
    assert!(chain[..3].iter().all(|r| r.entity == "user" && r.entity_id == id));
    assert_eq!(chain[0].actor, "system: onramp admin, run by ops");
    assert!(chain[0].after.as_deref().unwrap().contains(r#""staff_roles":["reviewer"]"#));
    assert!(chain[1].before.as_deref().unwrap().contains(r#""staff_roles":["reviewer"]"#));
    assert!(chain[1].after.as_deref().unwrap().contains(r#""staff_roles":["reviewer","live_service"]"#));
    assert!(chain[2].actor.starts_with("Rita Reviewer <"), "the person who reset their password");
    assert!(chain.iter().all(|r| !r.after.as_deref().unwrap_or("").contains("argon2")), "never a password hash");
    assert_eq!((chain[3].entity.as_str(), chain[3].entity_id.as_str()), ("terms_version", "8"));
    assert!(chain[3].actor.contains("Aisha Agreements"));
    assert_eq!(
        audit::verify_audit(&world.context).await.unwrap(),
        world.context.store.audit_records().await.unwrap().len()
    );
}

async fn aud2_verify_audit_names_an_edited_provider_entry(world: World) {
    accounts::create_staff_user(&world.context, &staff_request("rita@provider.example", &["reviewer"])).await.unwrap();
    accounts::create_staff_user(&world.context, &staff_request("sam@provider.example", &["admin"])).await.unwrap();
    audit::verify_audit(&world.context).await.unwrap();
    world
        .database
        .execute_raw(
            "UPDATE audit_log SET after = replace(after, 'admin', 'agreement_team') \
             WHERE action = 'staff_account_create' AND seq = 2",
        )
        .await
        .unwrap();
    let broken = audit::verify_audit(&world.context).await.unwrap_err();
    assert_eq!(
        broken.to_string(),
        "audit chain 00000000-0000-0000-0000-000000000000: entry 2 was edited: its content does not match its hash"
    );
}

async fn aud1_a_refused_change_writes_nothing_on_the_provider_chain(world: World) {
    accounts::create_staff_user(&world.context, &staff_request("rita@provider.example", &["reviewer"])).await.unwrap();
    let taken = accounts::create_staff_user(&world.context, &staff_request("rita@provider.example", &["admin"]))
        .await
        .unwrap_err();
    let AccountError::Invalid(errors) = taken else { panic!("a field error") };
    assert_eq!(errors.iter().next().unwrap().field, "email");
    let unknown =
        StaffRolesRequest { email: "nobody@provider.example".into(), roles: vec!["admin".into()], by: operator() };
    let AccountError::Invalid(errors) = accounts::set_staff_roles(&world.context, &unknown).await.unwrap_err() else {
        panic!("a field error")
    };
    assert_eq!(
        errors.iter().next().unwrap().message,
        "there is no account with the email address nobody@provider.example"
    );
    let typo = StaffRolesRequest { email: "rita@provider.example".into(), roles: vec!["boss".into()], by: operator() };
    assert!(matches!(accounts::set_staff_roles(&world.context, &typo).await, Err(AccountError::Invalid(_))));
    assert_eq!(provider_chain(&world).await.len(), 1, "only the first account");
}

/// Several staff accounts created at once (as from several instances) queue on the provider chain's lock:
/// every entry is there, numbered 1, 2, 3 … with no gap, and the chain verifies.
async fn aud1_provider_entries_written_side_by_side_stay_in_one_unbroken_chain(world: World) {
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..8 {
        let context = world.context.clone();
        let request = staff_request(&format!("staff{n}@provider.example"), &["reviewer"]);
        writers.spawn(async move { accounts::create_staff_user(&context, &request).await.map(|_| ()) });
    }
    while let Some(created) = writers.join_next().await {
        created.unwrap().unwrap();
    }
    let chain = provider_chain(&world).await;
    assert_eq!(chain.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    audit::verify_audit(&world.context).await.unwrap();
}
