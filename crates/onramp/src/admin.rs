//! The operator commands: imports, audit verification, bulk agreement actions, demo time and staff accounts.
//! Each prints a short report on stdout; failures come back as errors for `main` to print on one line.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use jiff::SignedDuration;
use onramp_domain::agreement::Actor;
use onramp_domain::{EmailAddress, User};
use onramp_service::accounts::{self, AccountError, StaffAccountRequest};
use onramp_service::clock::SystemClock;
use onramp_service::config::Config;
use onramp_service::lifecycle;
use onramp_service::{AppContext, audit, legacy};

async fn context(config: Config) -> anyhow::Result<AppContext> {
    let store = crate::cli::open_store(&config).await?;
    store.migrate().await.context("migrating the database")?;
    AppContext::new(config, store, Arc::new(SystemClock)).await.context("loading the API catalogue, flows and terms")
}

fn say(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stdout(), "{line}");
}

async fn staff(context: &AppContext, email: &str) -> anyhow::Result<User> {
    let email = EmailAddress::parse(email).with_context(|| format!("--as {email:?}"))?;
    context.store.user_by_email(&email).await?.with_context(|| format!("--as: no user {email}"))
}

pub async fn import_legacy(config: Config, file: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let context = context(config).await?;
    match legacy::import_legacy_agreements(&context, &text).await {
        Ok(count) => {
            say(format_args!("Imported {count} paper agreements from {}.", file.display()));
            Ok(())
        }
        Err(legacy::ImportError::Rows(rows)) => {
            for row in &rows {
                say(format_args!("{}: {row}", file.display()));
            }
            bail!("{} has {} problem(s); nothing was imported", file.display(), rows.len())
        }
        Err(other) => Err(other.into()),
    }
}

pub async fn verify_audit(config: Config) -> anyhow::Result<()> {
    let context = context(config).await?;
    let checked = audit::verify_audit(&context).await?;
    say(format_args!("Audit chains verified: {checked} entries, no tampering found."));
    Ok(())
}

pub async fn issue_version_6(config: Config, acting_as: &str) -> anyhow::Result<()> {
    let context = context(config).await?;
    let staff = staff(&context, acting_as).await?;
    let issued = lifecycle::issue_version_6_to_paper_agreements(&context, &staff).await?;
    for agreement in &issued {
        say(format_args!("Issued {} to {}", agreement.number, agreement.name));
    }
    say(format_args!("{} version-6 contracts issued.", issued.len()));
    Ok(())
}

pub async fn preview_terms(config: Config, version: u32) -> anyhow::Result<()> {
    let context = context(config).await?;
    let preview = lifecycle::uplift_preview(&context, version).await?;
    say(format_args!(
        "Publishing version {version} would issue {} agreements, auto-accepting on {} unless paused:",
        preview.organisations.len(),
        preview.activates_on
    ));
    for (_, name) in &preview.organisations {
        say(format_args!("  {name}"));
    }
    Ok(())
}

pub async fn publish_terms(config: Config, version: u32, acting_as: &str) -> anyhow::Result<()> {
    let context = context(config).await?;
    let staff = staff(&context, acting_as).await?;
    if !staff.has_staff_role(onramp_domain::StaffRole::AgreementTeam) {
        bail!("--as: {} is not in the agreement team", staff.email);
    }
    let report = lifecycle::publish_terms(&context, version, staff.actor(), 200, None).await?;
    say(format_args!(
        "Version {version} published: {} organisations uplifted, {} skipped.",
        report.uplifted, report.skipped
    ));
    Ok(())
}

pub async fn advance_demo(config: Config, days: i64, hours: i64) -> anyhow::Result<()> {
    if days < 0 || hours < 0 || days + hours == 0 {
        bail!("give a positive --days or --hours: demo time only moves forward");
    }
    let store = crate::cli::open_store(&config).await?;
    store.migrate().await.context("migrating the database")?;
    let by = SignedDuration::from_hours(days.saturating_mul(24).saturating_add(hours));
    let offset = store.advance_demo_clock(by).await?;
    say(format_args!(
        "Demo time is now {} hours ahead; a server started with `serve --demo` picks it up within seconds.",
        offset.as_hours()
    ));
    Ok(())
}

/// `onramp admin create-user`: checks everything before touching the database, so a typo in a role or an
/// address never leaves a half-made account.
pub async fn create_user(
    config: Config,
    email: String,
    full_name: String,
    roles: Vec<String>,
    password_stdin: bool,
) -> anyhow::Result<()> {
    let password = if password_stdin { Some(first_line_of_stdin()?) } else { None };
    let request = StaffAccountRequest { email, full_name, roles, password, by: operator("create-user") };
    let context = context(config).await?;
    let account = match accounts::create_staff_user(&context, &request).await {
        Ok(account) => account,
        Err(AccountError::Invalid(errors)) => {
            let problems: Vec<String> = errors.iter().map(|e| format!("{}: {}", flag_of(e.field), e.message)).collect();
            bail!("no account created: {}", problems.join("; "))
        }
        Err(other) => return Err(other.into()),
    };
    let user = &account.user;
    let roles: Vec<String> = user.staff_roles.iter().map(|r| accounts::staff_role_name(*r)).collect();
    say(format_args!("Created staff account {} ({}) with roles: {}.", user.email, user.full_name, roles.join(", ")));
    if let Some(password) = &account.generated_password {
        say(format_args!("Password: {}", password.expose()));
        say(format_args!(
            "Give this password to {} securely, in person or by a separate channel, not by plain e-mail; it is \
             not shown again.",
            user.full_name
        ));
    }
    Ok(())
}

/// `onramp admin set-roles`: the staff member gets exactly the roles given.
pub async fn set_roles(config: Config, email: String, roles: Vec<String>) -> anyhow::Result<()> {
    let request = accounts::StaffRolesRequest { email, roles, by: operator("set-roles") };
    let context = context(config).await?;
    let user = match accounts::set_staff_roles(&context, &request).await {
        Ok(user) => user,
        Err(AccountError::Invalid(errors)) => {
            let problems: Vec<String> = errors.iter().map(|e| format!("{}: {}", flag_of(e.field), e.message)).collect();
            bail!("no roles changed: {}", problems.join("; "))
        }
        Err(other) => return Err(other.into()),
    };
    let roles: Vec<String> = user.staff_roles.iter().map(|r| accounts::staff_role_name(*r)).collect();
    let roles = if roles.is_empty() { "none (no staff access)".to_owned() } else { roles.join(", ") };
    say(format_args!("{} ({}) now has the staff roles: {roles}.", user.email, user.full_name));
    Ok(())
}

/// Who the provider's audit chain names for a command run at the terminal: the command and the operating
/// system account that ran it (the command line has no Onramp sign-in).
fn operator(command: &str) -> Actor {
    let account = std::env::var("SUDO_USER").or_else(|_| std::env::var("USER")).unwrap_or_else(|_| "unknown".into());
    Actor::System { process: format!("onramp admin {command}, run by {account}") }
}

/// The command-line flag a service field error is about.
fn flag_of(field: &str) -> &str {
    match field {
        "email" => "--email",
        "full_name" => "--name",
        "roles" => "--role",
        "password" => "password",
        other => other,
    }
}

/// The password typed or piped on standard input: its first line, without the line ending. Spaces are kept:
/// they are part of a passphrase.
fn first_line_of_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("--password-stdin: reading standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("--password-stdin: standard input has no password on its first line");
    }
    Ok(password.to_owned())
}
