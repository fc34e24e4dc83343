//! Case conversations (CASE-1, CASE-2): comments from both sides, internal notes only staff see, and a watch
//! list of extra addresses. New activity notifies the other side and the watch list, in the same transaction.

use onramp_domain::case::{Case, CaseState, Visibility};
use onramp_domain::notification::Notification;
use onramp_domain::{CaseNumber, EmailAddress, User};
use onramp_store::{AuditEntry, NewNotification, StoreError, UnitOfWork};
use serde_json::json;

use crate::AppContext;
use crate::lifecycle::actor_of;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case not found")]
    NotFound,
    #[error("only provider staff may add internal notes")]
    InternalNoteByParty,
    #[error("viewers can read cases but not write in them; ask an owner or admin of your organisation")]
    ViewerReadOnly,
    #[error("only provider staff change a case's state")]
    StaffOnly,
    #[error("write a message")]
    Empty,
    #[error("the message must be 10,000 characters or fewer")]
    TooLong,
    #[error("watch list: {0}")]
    Email(#[from] onramp_domain::identifiers::EmailAddressError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads a case the user may see: staff see every case; a connecting party user only their organisation's
/// (anyone else gets `NotFound`, so a case's existence is not revealed), and never internal notes.
pub async fn case_for(context: &AppContext, user: &User, number: CaseNumber) -> Result<Case, CaseError> {
    let mut case = context.store.case(number).await?.ok_or(CaseError::NotFound)?;
    if user.is_staff() {
        return Ok(case);
    }
    if user.membership.as_ref().map(|m| m.organisation_id) != Some(case.organisation_id) {
        return Err(CaseError::NotFound);
    }
    case.activity.retain(|activity| activity.visibility == Visibility::Public);
    Ok(case)
}

/// Adds a comment (or, for staff, an internal note) and notifies the other side and the watch list.
pub async fn comment(
    context: &AppContext,
    user: &User,
    number: CaseNumber,
    body: &str,
    visibility: Visibility,
) -> Result<Case, CaseError> {
    let case = case_for(context, user, number).await?;
    let body = body.trim();
    if body.is_empty() {
        return Err(CaseError::Empty);
    }
    if body.chars().count() > 10_000 {
        return Err(CaseError::TooLong);
    }
    let staff = user.is_staff();
    if visibility == Visibility::Internal && !staff {
        return Err(CaseError::InternalNoteByParty);
    }
    if is_viewer(user) {
        return Err(CaseError::ViewerReadOnly);
    }
    let now = context.clock.now();
    let mut work = context.store.begin(case.organisation_id).await?;
    work.add_case_activity(number, user.full_name.as_str(), visibility, body, now).await?;
    // A reply from the connecting party reopens a case that was waiting for them.
    if !staff && case.state == CaseState::AwaitingInfo {
        work.set_case_state(number, CaseState::Open, now).await?;
    }
    work.append_audit(
        &AuditEntry {
            actor: actor_of(user),
            action: format!("case_{}", visibility.as_str()),
            entity: "case".into(),
            entity_id: number.to_string(),
            before: None,
            after: Some(json!({ "visibility": visibility.as_str(), "body": body }).to_string()),
        },
        now,
    )
    .await?;
    if visibility == Visibility::Public {
        let recipients = if staff {
            party_recipients(work.as_mut(), number).await?
        } else {
            let mut recipients = work.case_watchers(number).await?;
            recipients.push(context.config.provider.service_desk_email.to_string());
            recipients.sort();
            recipients.dedup();
            recipients
        };
        let activity =
            Notification::CaseActivity { case: number, author: user.full_name.to_string(), body: body.to_owned() };
        let notification = NewNotification { notification: activity, recipients };
        work.enqueue_notification(&notification, now).await?;
    }
    work.commit().await?;
    case_for(context, user, number).await
}

/// Who hears of the agreement team's activity on a case: the watch list, the organisation's onboarding
/// contacts and its delivery-notice mailbox.
async fn party_recipients(work: &mut dyn UnitOfWork, number: CaseNumber) -> Result<Vec<String>, StoreError> {
    let mut recipients = work.case_watchers(number).await?;
    let members = work.members().await?;
    recipients.extend(
        members
            .iter()
            .filter(|u| u.membership.as_ref().is_some_and(|m| m.onboarding_contact))
            .map(|u| u.email.to_string()),
    );
    recipients.push(work.organisation().details.delivery_notice_mailbox.to_string());
    recipients.sort();
    recipients.dedup();
    Ok(recipients)
}

/// CASE-1: provider staff move a case between Open, Awaiting Info, Resolved and Closed; the connecting party
/// and the watch list are told, in the same transaction.
pub async fn set_state(
    context: &AppContext,
    staff: &User,
    number: CaseNumber,
    state: CaseState,
) -> Result<Case, CaseError> {
    let case = case_for(context, staff, number).await?;
    if !staff.is_staff() {
        return Err(CaseError::StaffOnly);
    }
    if case.state == state {
        return Ok(case);
    }
    let now = context.clock.now();
    let mut work = context.store.begin(case.organisation_id).await?;
    work.set_case_state(number, state, now).await?;
    work.append_audit(
        &AuditEntry {
            actor: actor_of(staff),
            action: "case_state".into(),
            entity: "case".into(),
            entity_id: number.to_string(),
            before: Some(json!({ "state": case.state.as_str() }).to_string()),
            after: Some(json!({ "state": state.as_str() }).to_string()),
        },
        now,
    )
    .await?;
    let recipients = party_recipients(work.as_mut(), number).await?;
    let changed = Notification::CaseState { case: number, author: staff.full_name.to_string(), state };
    let notification = NewNotification { notification: changed, recipients };
    work.enqueue_notification(&notification, now).await?;
    work.commit().await?;
    case_for(context, staff, number).await
}

/// Viewers of a connecting party read cases but do not write in them.
fn is_viewer(user: &User) -> bool {
    !user.is_staff() && user.membership.as_ref().is_some_and(|m| m.role == onramp_domain::TeamRole::Viewer)
}

/// Adds an extra address to the case's watch list.
pub async fn watch(context: &AppContext, user: &User, number: CaseNumber, email: &str) -> Result<Case, CaseError> {
    let case = case_for(context, user, number).await?;
    if is_viewer(user) {
        return Err(CaseError::ViewerReadOnly);
    }
    let email = EmailAddress::parse(email)?;
    let mut work = context.store.begin(case.organisation_id).await?;
    work.watch_case(number, email.as_str()).await?;
    work.append_audit(
        &AuditEntry {
            actor: actor_of(user),
            action: "case_watch".into(),
            entity: "case".into(),
            entity_id: number.to_string(),
            before: None,
            after: Some(json!({ "watcher": email.as_str() }).to_string()),
        },
        context.clock.now(),
    )
    .await?;
    work.commit().await?;
    case_for(context, user, number).await
}
