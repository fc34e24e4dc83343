//! Case conversations (CASE-1, CASE-2): comments from both sides, internal notes only staff see, a watch list
//! of extra addresses, and staff moving a case between its states. The rules are `onramp_domain::case::decide`;
//! this module loads the case, asks it, and writes the decision, its audit entry and its notification in one
//! transaction.

use onramp_domain::case::{Case, CaseAudience, CaseCommand, CaseDecision, CaseRuleError, CaseState, Visibility};
use onramp_domain::notification::Notification;
use onramp_domain::{CaseNumber, EmailAddress, User};
use onramp_store::{AuditEntry, NewNotification, StoreError, UnitOfWork};
use serde_json::json;

use crate::AppContext;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("case not found")]
    NotFound,
    #[error(transparent)]
    Rule(#[from] CaseRuleError),
    #[error("watch list: {0}")]
    Email(#[from] onramp_domain::identifiers::EmailAddressError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads a case the user may see (`case::may_read`): anyone else gets `NotFound`, so a case's existence is not
/// revealed. A connecting party never sees internal notes.
pub async fn case_for(context: &AppContext, user: &User, number: CaseNumber) -> Result<Case, CaseError> {
    let mut case = context.store.case(number).await?.ok_or(CaseError::NotFound)?;
    if !onramp_domain::case::may_read(&case, user) {
        return Err(CaseError::NotFound);
    }
    if !user.is_staff() {
        case.activity.retain(|activity| activity.visibility == Visibility::Public);
    }
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
    apply(context, user, number, CaseCommand::Comment { body: body.to_owned(), visibility }).await
}

/// CASE-1: provider staff move a case between Open, Awaiting Info, Resolved and Closed; the connecting party
/// and the watch list are told, in the same transaction.
pub async fn set_state(
    context: &AppContext,
    user: &User,
    number: CaseNumber,
    state: CaseState,
) -> Result<Case, CaseError> {
    apply(context, user, number, CaseCommand::SetState { state }).await
}

/// Adds an extra address to the case's watch list.
pub async fn watch(context: &AppContext, user: &User, number: CaseNumber, email: &str) -> Result<Case, CaseError> {
    let email = EmailAddress::parse(email)?;
    apply(context, user, number, CaseCommand::Watch { email }).await
}

async fn apply(context: &AppContext, user: &User, number: CaseNumber, command: CaseCommand) -> Result<Case, CaseError> {
    let case = case_for(context, user, number).await?;
    let decision = onramp_domain::case::decide(&case, user, command)?;
    if decision.is_no_op() {
        return Ok(case);
    }
    let now = context.clock.now();
    let mut work = context.store.begin(case.organisation_id).await?;
    write(context, work.as_mut(), &case, user, &decision, now).await?;
    work.commit().await?;
    case_for(context, user, number).await
}

async fn write(
    context: &AppContext,
    work: &mut dyn UnitOfWork,
    case: &Case,
    user: &User,
    decision: &CaseDecision,
    now: jiff::Timestamp,
) -> Result<(), StoreError> {
    let number = case.number;
    let mut after = serde_json::Map::new();
    if let Some((visibility, body)) = &decision.activity {
        work.add_case_activity(number, user.full_name.as_str(), *visibility, body, now).await?;
        after.insert("visibility".into(), json!(visibility.as_str()));
        after.insert("body".into(), json!(body));
    }
    if let Some(state) = decision.state {
        work.set_case_state(number, state, now).await?;
        after.insert("state".into(), json!(state.as_str()));
    }
    if let Some(email) = &decision.watcher {
        work.watch_case(number, email.as_str()).await?;
        after.insert("watcher".into(), json!(email.as_str()));
    }
    let before = decision.state.map(|_| json!({ "state": case.state.as_str() }).to_string());
    let entry = AuditEntry {
        actor: user.actor(),
        action: decision.action.to_owned(),
        entity: "case".into(),
        entity_id: number.to_string(),
        before,
        after: Some(serde_json::Value::Object(after).to_string()),
    };
    work.append_audit(&entry, now).await?;
    let Some(audience) = decision.notify else { return Ok(()) };
    let author = user.full_name.to_string();
    let notification = match (&decision.activity, decision.state) {
        (Some((_, body)), _) => {
            Notification::CaseActivity { agreement: case.agreement_id, case: number, author, body: body.clone() }
        }
        (None, Some(state)) => Notification::CaseState { agreement: case.agreement_id, case: number, author, state },
        (None, None) => return Ok(()),
    };
    let recipients = match audience {
        CaseAudience::ConnectingParty => party_recipients(work, number).await?,
        CaseAudience::ProviderAndWatchers => {
            let mut recipients = work.case_watchers(number).await?;
            recipients.push(context.config.provider.service_desk_email.to_string());
            recipients.sort();
            recipients.dedup();
            recipients
        }
    };
    work.enqueue_notification(&NewNotification { notification, recipients }, now).await
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
