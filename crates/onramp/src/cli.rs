use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use onramp_service::config::{Config, LogFormat, Sources};
use onramp_store::Repository;
use tracing_subscriber::EnvFilter;

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
    /// Run the web server (and, in later releases, the job worker).
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
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => listen.clone(),
        Command::Migrate => None,
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
