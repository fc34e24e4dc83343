use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onramp_service::config::{Config, LogFormat, Sources};
use onramp_store::Repository;
use tracing_subscriber::EnvFilter;

use crate::admin;

#[derive(Debug, Parser)]
#[command(name = "onramp", version, about = "Onboarding and connection agreements for an API provider")]
pub struct Cli {
    /// Configuration file (default: ./onramp.toml if it exists).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database to use: sqlite:PATH or postgres://USER@HOST:PORT/DATABASE (overrides ONRAMP_DATABASE_URL).
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server and the durable-timer worker until SIGTERM or Ctrl-C.
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (overrides ONRAMP_LISTEN).
        #[arg(long, value_name = "ADDRESS")]
        listen: Option<String>,
        /// Load demo data (idempotently), use a demo clock and print demo sign-ins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load data from files.
    #[command(subcommand)]
    Import(Import),
    /// Check every audit chain (AUD-2); names the first entry that was edited, deleted or reordered.
    VerifyAudit,
    /// Agreement operations for the agreement team.
    #[command(subcommand)]
    Agreements(Agreements),
    /// Terms and conditions versions (CA-5).
    #[command(subcommand)]
    Terms(Terms),
    /// Assurance flow files (DOS-1).
    #[command(subcommand)]
    Flow(Flow),
    /// Demo mode controls.
    #[command(subcommand)]
    Demo(Demo),
    /// Provider administration: staff accounts.
    #[command(subcommand)]
    Admin(Admin),
}

#[derive(Debug, Subcommand)]
enum Admin {
    /// Create a provider staff account (staff never register themselves). Prints a generated password once
    /// unless --password-stdin is given.
    CreateUser {
        /// The staff member's e-mail address; it signs them in.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// Full name as it should be shown.
        #[arg(long, value_name = "FULL NAME")]
        name: String,
        /// A staff role: author, reviewer, agreement-team, live-service or admin. Repeat for several.
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Give a staff member exactly these roles (recorded on the provider's audit chain).
    SetRoles {
        /// The staff member's e-mail address.
        #[arg(long, value_name = "EMAIL")]
        email: String,
        /// A staff role: author, reviewer, agreement-team, live-service or admin. Repeat for several.
        #[arg(long = "role", value_name = "ROLE", required_unless_present = "no_roles")]
        roles: Vec<String>,
        /// Take every staff role away; the account stays, without staff access.
        #[arg(long, conflicts_with = "roles")]
        no_roles: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Import {
    /// Paper version-5 agreements from CSV (format: docs/LEGACY_IMPORT.md); all rows or none.
    LegacyAgreements { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum Agreements {
    /// Issue a version-6 contract to every organisation whose Active agreement is on paper (CA-12).
    #[command(name = "issue-version-6")]
    IssueVersion6 {
        /// E-mail address of the agreement-team member doing it.
        #[arg(long = "as", value_name = "EMAIL")]
        acting_as: String,
    },
}

#[derive(Debug, Subcommand)]
enum Terms {
    /// Show which organisations a publication would uplift and when the new agreements would activate.
    Preview { version: u32 },
    /// Publish a version: every Active agreement on older terms gets an auto-accept draft. Safe to re-run.
    Publish {
        version: u32,
        #[arg(long = "as", value_name = "EMAIL")]
        acting_as: String,
    },
}

#[derive(Debug, Subcommand)]
enum Flow {
    /// Check flow files (or folders of them) and run their scenarios; prints every problem with its file,
    /// line and column and fails if there is any. With `--products`, also checks a product catalogue file
    /// against the flows checked.
    Check {
        paths: Vec<PathBuf>,
        /// A product catalogue file (`products.toml`) whose flows must be among those checked.
        #[arg(long)]
        products: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum Demo {
    /// Move demo time forward; a server started with `serve --demo` fires the timers that come due.
    Advance {
        #[arg(long, default_value_t = 0)]
        days: i64,
        #[arg(long, default_value_t = 0)]
        hours: i64,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Checking files needs neither the configuration nor the database.
    if let Command::Flow(Flow::Check { paths, products }) = &cli.command {
        return crate::flows::check(paths, products.as_deref());
    }
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        _ => None,
    };
    let sources = Sources { file: cli.config, listen, database_url: cli.database_url };
    let config = Config::load(&sources)?;
    init_tracing(&config);
    match cli.command {
        Command::Serve { demo, .. } => crate::serve::serve(config, demo).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.migrate().await.context("migrating the database")?;
            tracing::info!(database = %config.database_url, "migrations applied");
            store.close().await;
            Ok(())
        }
        Command::Import(Import::LegacyAgreements { file }) => admin::import_legacy(config, &file).await,
        Command::VerifyAudit => admin::verify_audit(config).await,
        Command::Agreements(Agreements::IssueVersion6 { acting_as }) => {
            admin::issue_version_6(config, &acting_as).await
        }
        Command::Terms(Terms::Preview { version }) => admin::preview_terms(config, version).await,
        Command::Terms(Terms::Publish { version, acting_as }) => {
            admin::publish_terms(config, version, &acting_as).await
        }
        Command::Demo(Demo::Advance { days, hours }) => admin::advance_demo(config, days, hours).await,
        Command::Flow(Flow::Check { paths, products }) => crate::flows::check(&paths, products.as_deref()),
        Command::Admin(Admin::CreateUser { email, name, roles, password_stdin }) => {
            admin::create_user(config, email, name, roles, password_stdin).await
        }
        Command::Admin(Admin::SetRoles { email, roles, no_roles: _ }) => admin::set_roles(config, email, roles).await,
    }
}

/// Connects to the configured database; the error names the setting and the URL without its password.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Repository>> {
    onramp_store::connect(&config.database_url, &config.connect_options())
        .await
        .with_context(|| format!("setting `database_url`: cannot open {}", config.database_url))
}

fn init_tracing(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match config.log.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
