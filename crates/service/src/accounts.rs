//! Accounts, sign-in and sessions (SEC-2). A session is a random token in an HttpOnly cookie; the database
//! keeps only its SHA-256, with the session's CSRF token. Failed sign-ins are counted per account in the
//! database, so every instance enforces the same lock-out.

use jiff::{SignedDuration, Timestamp};
use onramp_domain::agreement::Actor;
use onramp_domain::notification::Notification;
use onramp_domain::terms::sha256_hex;
use onramp_domain::{EmailAddress, FieldErrors, NewUser, Password, PersonName, StaffRole, User};
use onramp_store::{AuditEntry, LoginFailures, NewNotification, SignedIn, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::{AppContext, password};

/// How long a session lasts without signing in again.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// Failed sign-ins after which an account is locked …
pub const MAX_FAILURES: i64 = 5;
/// … for this long after the last failure.
pub const LOCKOUT: SignedDuration = SignedDuration::from_mins(15);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("the email address or password is not right")]
    WrongCredentials,
    #[error("too many failed sign-ins: try again after {until}")]
    Locked { until: Timestamp },
    #[error("this link has expired or has been used")]
    LinkNotValid,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] password::PasswordHashError),
}

/// The registration form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Registration {
    pub email: String,
    pub full_name: String,
    pub password: String,
    pub confirm_password: String,
}

/// A new random token: 244 bits from the operating system's generator, URL-safe.
pub fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// How long an address-verification link works.
pub const VERIFICATION_LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// The path of the page an address-verification link opens.
pub fn verification_path(token: &str) -> String {
    format!("/verify-address/{token}")
}

/// What a registration did, for the log only: the visitor is told the same either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registered {
    /// A new account, unverified, with the link on its way.
    New(User),
    /// The address has an account already; its holder is told by mail instead.
    AddressTaken,
}

fn verification_mail(user_name: &str, email: &EmailAddress, token: &str, expires_at: Timestamp) -> NewNotification {
    NewNotification {
        notification: Notification::AddressVerification {
            full_name: user_name.to_owned(),
            path: verification_path(token),
            expires_at,
        },
        recipients: vec![email.as_str().to_owned()],
    }
}

/// Self-registration of a connecting-party user (staff accounts are made by an admin). The account starts
/// unverified and a single-use link is mailed to the address (SEC-1); registering joins no organisation, since
/// invitations wait for the invitee's consent ([`crate::team::respond`]). An address that has an account already
/// answers exactly as a new one, and its holder is mailed instead (SEC-2: no oracle of who has an account).
/// The password is hashed in both cases, so the two take the same time.
pub async fn register(context: &AppContext, form: &Registration) -> Result<Registered, AccountError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(&form.email));
    let full_name = errors.check("full_name", PersonName::parse(&form.full_name));
    let password = errors.check("password", Password::parse(&form.password));
    if password.is_some() && form.password != form.confirm_password {
        errors.add("confirm_password", "the passwords do not match");
    }
    let (Some(email), Some(full_name), Some(password)) = (email, full_name, password) else {
        return Err(AccountError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    let password_hash = Some(password::hash(password).await?);
    let user = NewUser { email, full_name, password_hash, staff_roles: Vec::new(), email_verified: false };
    let now = context.clock.now();
    let token = random_token();
    let expires_at = now.saturating_add(VERIFICATION_LINK_LIFETIME).unwrap_or(now);
    let mail = verification_mail(user.full_name.as_str(), &user.email, &token, expires_at);
    match context.store.register_unverified(&user, &sha256_hex(&token), expires_at, &mail, now).await {
        Ok(created) => Ok(Registered::New(created)),
        Err(StoreError::Conflict { .. }) => {
            if let Some(holder) = context.store.user_by_email(&user.email).await? {
                let mail = NewNotification {
                    notification: Notification::AccountExists { full_name: holder.full_name.to_string() },
                    recipients: vec![holder.email.as_str().to_owned()],
                };
                context.store.notify_account_holder(&holder, &mail, now).await?;
            }
            Ok(Registered::AddressTaken)
        }
        Err(other) => Err(other.into()),
    }
}

/// Sends a new verification link to a signed-in account that has not verified its address, replacing the old
/// link. An account that is verified already gets nothing.
pub async fn resend_verification(context: &AppContext, user: &User) -> Result<(), AccountError> {
    if user.is_verified() {
        return Ok(());
    }
    let now = context.clock.now();
    let token = random_token();
    let expires_at = now.saturating_add(VERIFICATION_LINK_LIFETIME).unwrap_or(now);
    let mail = verification_mail(user.full_name.as_str(), &user.email, &token, expires_at);
    context.store.start_address_verification(user, &sha256_hex(&token), expires_at, &mail, now).await?;
    tracing::info!(user = %user.id, "address verification link written to the outbox");
    Ok(())
}

/// Uses a verification link: the account's address counts as verified from now.
pub async fn verify_address(context: &AppContext, token: &str) -> Result<onramp_domain::UserId, AccountError> {
    let verified = context.store.finish_address_verification(&sha256_hex(token), context.clock.now()).await?;
    let user = verified.ok_or(AccountError::LinkNotValid)?;
    tracing::info!(%user, "address verified");
    Ok(user)
}

/// A signed-in session: the cookie token (only ever sent to the browser) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub user: User,
    pub token: String,
    pub csrf_token: String,
}

/// Checks the password and opens a session. Unknown addresses and wrong passwords get the same answer; an
/// account with too many recent failures is refused even with the right password until the lock-out ends.
pub async fn sign_in(context: &AppContext, email: &str, password_text: &str) -> Result<NewSession, AccountError> {
    // Sessions and lock-outs age in real time, even while demo time is moved.
    let now = context.session_clock.now();
    let email = EmailAddress::parse(email).map_err(|_| AccountError::WrongCredentials)?;
    if let Some(LoginFailures { count: failures, last_failure: last }) =
        context.store.login_failures(email.as_str()).await?
    {
        let until = last.saturating_add(LOCKOUT).unwrap_or(last);
        if failures >= MAX_FAILURES && now < until {
            context.metrics.record_sign_in_failure();
            return Err(AccountError::Locked { until });
        }
    }
    let user = context.store.user_by_email(&email).await?;
    // An unknown address (or one with no password) does the same Argon2id work against a hash nothing
    // matches, so the answer's timing does not tell which addresses have accounts.
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let known = hash.is_some();
    let checked =
        password::verify(password_text.to_owned(), hash.unwrap_or_else(|| password::UNMATCHABLE_HASH.to_owned()))
            .await?;
    let matches = known && checked;
    let Some(user) = user.filter(|_| matches) else {
        let LoginFailures { count: failures, last_failure: last } =
            context.store.record_login_failure(email.as_str(), now).await?;
        context.metrics.record_sign_in_failure();
        if failures >= MAX_FAILURES {
            if failures == MAX_FAILURES {
                context.metrics.record_lockout();
            }
            return Err(AccountError::Locked { until: last.saturating_add(LOCKOUT).unwrap_or(last) });
        }
        return Err(AccountError::WrongCredentials);
    };
    context.store.clear_login_failures(email.as_str()).await?;
    let token = random_token();
    let csrf_token = random_token();
    let expires = now.saturating_add(SESSION_LIFETIME).unwrap_or(now);
    context.store.create_session(&sha256_hex(&token), user.id, &csrf_token, now, expires).await?;
    Ok(NewSession { user, token, csrf_token })
}

/// The session a cookie token belongs to, if it is still valid.
pub async fn session(context: &AppContext, token: &str) -> Result<Option<SignedIn>, StoreError> {
    context.store.session(&sha256_hex(token), context.session_clock.now()).await
}

pub async fn sign_out(context: &AppContext, token: &str) -> Result<(), StoreError> {
    context.store.delete_session(&sha256_hex(token)).await
}

/// A staff account as an admin asks for it (`onramp admin create-user`). Staff accounts are never
/// self-registered (SEC-1): they carry provider roles that see every organisation.
#[derive(Debug, Clone)]
pub struct StaffAccountRequest {
    pub email: String,
    pub full_name: String,
    /// Role names as typed: `agreement-team` or `agreement_team`.
    pub roles: Vec<String>,
    /// The password to set, or `None` to generate one.
    pub password: Option<String>,
    /// Who creates the account, for the provider's audit chain.
    pub by: Actor,
}

/// A created staff account and, when Onramp chose the password, that password: shown once, stored only as
/// its Argon2id hash.
#[derive(Debug)]
pub struct StaffAccount {
    pub user: User,
    pub generated_password: Option<Password>,
}

/// A staff role's name as an admin types it: `agreement-team` (the stored name is `agreement_team`).
pub fn staff_role_name(role: StaffRole) -> String {
    role.as_str().replace('_', "-")
}

fn staff_role_names() -> String {
    StaffRole::ALL.into_iter().map(staff_role_name).collect::<Vec<_>>().join(", ")
}

/// Parses a staff role written with hyphens or underscores; the error names the roles there are.
pub fn parse_staff_role(raw: &str) -> Result<StaffRole, String> {
    raw.trim()
        .replace('-', "_")
        .parse::<StaffRole>()
        .map_err(|_| format!("{:?} is not a staff role; use one of: {}", raw.trim(), staff_role_names()))
}

/// Creates a provider staff account with at least one staff role. Every field is checked before anything is
/// stored: the e-mail address, the full name, the password rules (or a generated password) and the roles;
/// an address that already has an account is refused under `email`. Field names in the errors are `email`,
/// `full_name`, `password` and `roles`.
pub async fn create_staff_user(
    context: &AppContext,
    request: &StaffAccountRequest,
) -> Result<StaffAccount, AccountError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(&request.email));
    let full_name = errors.check("full_name", PersonName::parse(&request.full_name));
    let (password, generated) = match &request.password {
        Some(typed) => (errors.check("password", Password::parse(typed)), false),
        None => (errors.check("password", password::generate()), true),
    };
    let mut roles = Vec::new();
    for raw in &request.roles {
        if let Some(role) = errors.check("roles", parse_staff_role(raw)) {
            roles.push(role);
        }
    }
    if request.roles.is_empty() {
        errors.add("roles", format!("give at least one role: {}", staff_role_names()));
    }
    roles.sort();
    roles.dedup();
    let (Some(email), Some(full_name), Some(password)) = (email, full_name, password) else {
        return Err(AccountError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(AccountError::Invalid(errors));
    }
    let password_hash = Some(password::hash(password.clone()).await?);
    let new_user = NewUser { email, full_name, password_hash, staff_roles: roles, email_verified: true };
    let now = context.clock.now();
    let mut work = context.store.begin_provider().await?;
    let id = match work.create_user(&new_user, now).await {
        Err(StoreError::Conflict { .. }) => return Err(address_taken(&new_user.email)),
        other => other?,
    };
    let entry = AuditEntry {
        actor: request.by.clone(),
        action: "staff_account_create".into(),
        entity: "user".into(),
        entity_id: id.to_string(),
        before: None,
        after: Some(staff_json(&new_user.email, &new_user.full_name, &new_user.staff_roles)),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    let user = context.store.user(id).await?.ok_or(StoreError::NotFound { entity: "user" })?;
    Ok(StaffAccount { user, generated_password: generated.then_some(password) })
}

fn address_taken(email: &EmailAddress) -> AccountError {
    let mut errors = FieldErrors::new();
    errors.add("email", format!("an account with the email address {email} exists already"));
    AccountError::Invalid(errors)
}

/// A staff account as its audit entries record it: who, and with which roles (never a password hash).
fn staff_json(email: &EmailAddress, full_name: &PersonName, roles: &[StaffRole]) -> String {
    let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    json!({ "email": email.as_str(), "full_name": full_name.as_str(), "staff_roles": roles }).to_string()
}

/// A change of a provider staff member's roles, as typed on the command line.
#[derive(Debug, Clone)]
pub struct StaffRolesRequest {
    pub email: String,
    /// Role names as typed; empty takes every staff role away (the account stays, without staff access).
    pub roles: Vec<String>,
    pub by: Actor,
}

/// Gives a staff member exactly `roles`, with the change on the provider's audit chain (before and after).
/// The same roles again change nothing and log nothing. Field names in the errors are `email` and `roles`.
pub async fn set_staff_roles(context: &AppContext, request: &StaffRolesRequest) -> Result<User, AccountError> {
    let mut errors = FieldErrors::new();
    let email = errors.check("email", EmailAddress::parse(&request.email));
    let mut roles = Vec::new();
    for raw in &request.roles {
        if let Some(role) = errors.check("roles", parse_staff_role(raw)) {
            roles.push(role);
        }
    }
    roles.sort();
    roles.dedup();
    let (Some(email), true) = (email, errors.is_empty()) else {
        return Err(AccountError::Invalid(errors));
    };
    let Some(user) = context.store.user_by_email(&email).await? else {
        let mut errors = FieldErrors::new();
        errors.add("email", format!("there is no account with the email address {email}"));
        return Err(AccountError::Invalid(errors));
    };
    let mut before = user.staff_roles.clone();
    before.sort();
    if before == roles {
        return Ok(user);
    }
    let now = context.clock.now();
    let mut work = context.store.begin_provider().await?;
    work.set_staff_roles(user.id, &roles).await?;
    let entry = AuditEntry {
        actor: request.by.clone(),
        action: "staff_roles_change".into(),
        entity: "user".into(),
        entity_id: user.id.to_string(),
        before: Some(staff_json(&user.email, &user.full_name, &before)),
        after: Some(staff_json(&user.email, &user.full_name, &roles)),
    };
    work.append_audit(&entry, now).await?;
    work.commit().await?;
    Ok(context.store.user(user.id).await?.ok_or(StoreError::NotFound { entity: "user" })?)
}
