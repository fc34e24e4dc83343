//! The mail log (NOT-2): every outbox row with where its delivery stands, newest first, one message with its
//! text and HTML parts, and a retry for a message that failed. Staff who run the service see it; in demo
//! mode everyone does, so a newcomer sees the mail the demo produced ([`onramp_service::mail`] has the rules).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use onramp_domain::calendar::long_time;
use onramp_service::AppContext;
use onramp_service::mail;
use onramp_store::{Delivery, OutboxEntry};
use serde::Deserialize;
use uuid::Uuid;

use crate::WebError;
use crate::session::Visitor;

const PAGE_SIZE: i64 = 50;

fn allowed(context: &AppContext, visitor: &Visitor) -> Result<(), WebError> {
    if mail::may_read_mail_log(context, visitor.user.as_ref()) {
        Ok(())
    } else if visitor.user.is_none() {
        Err(WebError::SignInRequired)
    } else if visitor.user.as_ref().is_some_and(onramp_domain::User::is_staff) {
        Err(WebError::Forbidden)
    } else {
        Err(WebError::NotFound)
    }
}

/// One row of the log as the page shows it.
struct Row {
    id: String,
    created: String,
    subject: String,
    recipients: String,
    status: String,
    detail: String,
    failed: bool,
}

fn status(delivery: &Delivery) -> (String, String, bool) {
    match delivery {
        Delivery::Sent { at, .. } => ("Sent".into(), long_time(*at), false),
        Delivery::Queued { attempts: 0, .. } => ("Waiting to be sent".into(), String::new(), false),
        Delivery::Queued { attempts, next_try, last_error } => (
            format!("Retrying (attempt {attempts} done)"),
            format!(
                "Next try {}. {}",
                long_time(*next_try),
                last_error.as_deref().unwrap_or("The last attempt did not finish.")
            ),
            false,
        ),
        Delivery::Failed { attempts, at, error } => {
            (format!("Failed after {attempts} attempts"), format!("{}: {error}", long_time(*at)), true)
        }
        Delivery::NotQueued => ("Not queued".into(), String::new(), false),
    }
}

fn subject(context: &AppContext, entry: &OutboxEntry) -> String {
    match &entry.notification {
        Ok(notification) => mail::render(context, notification).map_or_else(|_| entry.kind.clone(), |r| r.subject),
        Err(_) => format!("({} — from an older version, cannot be read)", entry.kind),
    }
}

#[derive(Template)]
#[template(path = "staff_mail.html")]
struct MailLogPage<'a> {
    visitor: &'a Visitor,
    transport: String,
    rows: Vec<Row>,
    older: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    before: Option<String>,
}

pub async fn log(
    State(context): State<AppContext>,
    visitor: Visitor,
    Query(query): Query<PageQuery>,
) -> Result<Response, WebError> {
    allowed(&context, &visitor)?;
    let before = match query.before.as_deref() {
        None | Some("") => None,
        Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| WebError::NotFound)?),
    };
    let entries = context.store.outbox_page(before, PAGE_SIZE).await?;
    let older = (entries.len() == usize::try_from(PAGE_SIZE).unwrap_or(usize::MAX))
        .then(|| entries.last().map(|e| e.id.to_string()))
        .flatten();
    let rows = entries
        .iter()
        .map(|entry| {
            let (status, detail, failed) = status(&entry.delivery);
            Row {
                id: entry.id.to_string(),
                created: long_time(entry.created_at),
                subject: subject(&context, entry),
                recipients: entry.recipients.join(", "),
                status,
                detail,
                failed,
            }
        })
        .collect();
    let page = MailLogPage { visitor: &visitor, transport: context.mailer.transport.describe(), rows, older };
    Ok((visitor.cookies(&context), Html(page.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "staff_mail_message.html")]
struct MessagePage<'a> {
    visitor: &'a Visitor,
    row: Row,
    from: String,
    message_id: String,
    text: Option<String>,
    html: Option<String>,
    eml: bool,
}

fn entry_id(raw: &str) -> Result<Uuid, WebError> {
    Uuid::parse_str(raw).map_err(|_| WebError::NotFound)
}

pub async fn show(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    allowed(&context, &visitor)?;
    let entry = context.store.outbox_entry(entry_id(&id)?).await?.ok_or(WebError::NotFound)?;
    let (status, detail, failed) = status(&entry.delivery);
    let rendered = match &entry.notification {
        Ok(notification) if mail::may_show_body(&context, notification) => mail::render(&context, notification).ok(),
        _ => None,
    };
    let eml = context
        .mailer
        .transport
        .folder_path()
        .is_some_and(|folder| onramp_mail::eml_path(folder, &entry.id.to_string()).is_file());
    let page = MessagePage {
        visitor: &visitor,
        from: format!("{} <{}>", context.mailer.sender.name, context.mailer.sender.address),
        message_id: mail::message_id(&context, entry.id),
        text: rendered.as_ref().map(|r| r.text.clone()),
        html: rendered.map(|r| r.html),
        eml,
        row: Row {
            id: entry.id.to_string(),
            created: long_time(entry.created_at),
            subject: subject(&context, &entry),
            recipients: entry.recipients.join(", "),
            status,
            detail,
            failed,
        },
    };
    let policy = [(header::CONTENT_SECURITY_POLICY, PREVIEW_CONTENT_SECURITY_POLICY)];
    Ok((visitor.cookies(&context), policy, Html(page.render()?)).into_response())
}

/// The site's policy ([`crate::CONTENT_SECURITY_POLICY`]) with inline styles allowed: the HTML part is shown in
/// a sandboxed `srcdoc` frame, which inherits this page's policy, and a letter is styled inline as mail must be.
const PREVIEW_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; \
                                               script-src 'none'; object-src 'none'; base-uri 'none'; \
                                               form-action 'self'; frame-ancestors 'none'";

/// The `.eml` file the folder transport wrote, as it was written.
pub async fn eml(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    allowed(&context, &visitor)?;
    let id = entry_id(&id)?;
    let entry = context.store.outbox_entry(id).await?.ok_or(WebError::NotFound)?;
    if entry.notification.as_ref().is_ok_and(|n| !mail::may_show_body(&context, n)) {
        return Err(WebError::Forbidden);
    }
    let folder = context.mailer.transport.folder_path().ok_or(WebError::NotFound)?;
    let bytes =
        tokio::fs::read(onramp_mail::eml_path(folder, &id.to_string())).await.map_err(|_| WebError::NotFound)?;
    let disposition = format!("attachment; filename=\"{id}.eml\"");
    Ok(([(header::CONTENT_TYPE, "message/rfc822".to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

pub async fn retry(
    State(context): State<AppContext>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    allowed(&context, &visitor)?;
    let id = entry_id(&id)?;
    mail::retry(&context, visitor.user.as_ref(), id).await?;
    Ok(Redirect::to(&format!("/staff/mail/{id}")).into_response())
}
