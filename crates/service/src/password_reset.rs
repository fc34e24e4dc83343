//! Password reset by e-mailed link (SEC-2). Asking for a reset answers the same whether or not the address has
//! an account, so the form cannot be used to find out who has one. The link carries a random token; the
//! database keeps only its SHA-256. The e-mail goes through the outbox, so it is sent by the notification
//! worker like every other message; until SMTP delivery exists the outbox row is the seam.

use jiff::SignedDuration;
use onramp_domain::agreement::Actor;
use onramp_domain::notification::Notification;
use onramp_domain::terms::sha256_hex;
use onramp_domain::{EmailAddress, FieldErrors, Password, UserId};
use onramp_store::{AuditEntry, NewNotification, StoreError};
use serde_json::json;

use crate::{AppContext, accounts, password};

/// How long a reset link works.
pub const LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

#[derive(Debug, thiserror::Error)]
pub enum ResetError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("this link has expired or has been used")]
    LinkNotValid,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] password::PasswordHashError),
}

/// The path of the page a reset link opens.
pub fn link_path(token: &str) -> String {
    format!("/password-reset/{token}")
}

/// Starts a reset for `email` if it has an account; a malformed address is the only error a visitor sees.
pub async fn request(context: &AppContext, email: &str) -> Result<(), ResetError> {
    let mut errors = FieldErrors::new();
    let Some(email) = errors.check("email", EmailAddress::parse(email)) else {
        return Err(ResetError::Invalid(errors));
    };
    let Some(user) = context.store.user_by_email(&email).await? else {
        tracing::info!("password reset asked for an address with no account");
        return Ok(());
    };
    let now = context.clock.now();
    let token = accounts::random_token();
    let expires_at = now.saturating_add(LINK_LIFETIME).unwrap_or(now);
    let mail = NewNotification {
        notification: Notification::PasswordReset {
            full_name: user.full_name.to_string(),
            path: link_path(&token),
            expires_at,
        },
        recipients: vec![user.email.as_str().to_owned()],
    };
    context.store.start_password_reset(&user, &sha256_hex(&token), expires_at, &mail, now).await?;
    tracing::info!(user = %user.id, "password reset link written to the outbox");
    Ok(())
}

/// Whether the link's token can still be used.
pub async fn link_is_open(context: &AppContext, token: &str) -> Result<bool, StoreError> {
    context.store.password_reset_open(&sha256_hex(token), context.clock.now()).await
}

/// Sets a new password with the link's token: the link then stops working, every session of the account ends
/// and its failed sign-ins are forgotten.
pub async fn finish(
    context: &AppContext,
    token: &str,
    new_password: &str,
    confirm_password: &str,
) -> Result<UserId, ResetError> {
    if !link_is_open(context, token).await? {
        return Err(ResetError::LinkNotValid);
    }
    let mut errors = FieldErrors::new();
    let password = errors.check("password", Password::parse(new_password));
    if password.is_some() && new_password != confirm_password {
        errors.add("confirm_password", "the passwords do not match");
    }
    let (Some(password), true) = (password, errors.is_empty()) else {
        return Err(ResetError::Invalid(errors));
    };
    let hash = password::hash(password).await?;
    let now = context.clock.now();
    let mut work = context.store.begin_provider().await?;
    let Some((user, full_name)) = work.finish_password_reset(&sha256_hex(token), &hash, now).await? else {
        return Err(ResetError::LinkNotValid);
    };
    // Account events are the provider's (an account outlives any membership), so they go on its chain; the
    // entry never holds a password hash.
    let entry = AuditEntry {
        actor: Actor::User { id: user, name: full_name },
        action: "password_reset".into(),
        entity: "user".into(),
        entity_id: user.to_string(),
        before: None,
        after: Some(json!({ "password": "changed", "sessions": "ended" }).to_string()),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(user)
}
