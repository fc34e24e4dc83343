use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use onramp_service::clock::{DemoClock, SystemClock};
use onramp_service::config::Config;
use onramp_service::{AppContext, demo};

/// Starts the server: database (migrated), optional demo data, listener, then serve until SIGTERM or Ctrl-C.
pub async fn serve(config: Config, demo_mode: bool) -> anyhow::Result<()> {
    let store = crate::cli::open_store(&config).await?;
    store.migrate().await.context("migrating the database")?;
    let demo_clock = demo_mode.then(|| Arc::new(DemoClock::new()));
    let context = match &demo_clock {
        Some(demo) => AppContext::in_demo_mode(config, Arc::clone(&store), demo.clone()).await,
        None => AppContext::new(config, Arc::clone(&store), Arc::new(SystemClock)).await,
    }
    .context("loading the API catalogue, flows and terms")?;

    let evidence = onramp_service::evidence::FolderFileStore::new(context.config.evidence_folder());
    let a_day_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(24 * 60 * 60);
    match evidence.remove_partial_files(a_day_ago).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, folder = %evidence.root().display(), "removed unfinished uploads"),
        Err(error) => tracing::warn!(%error, folder = %evidence.root().display(), "could not tidy the evidence folder"),
    }

    let sign_ins = if demo_mode { demo::seed(&context).await.context("loading demo data")? } else { Vec::new() };

    let listener = tokio::net::TcpListener::bind(context.config.listen)
        .await
        .with_context(|| format!("setting `listen`: cannot listen on {}", context.config.listen))?;
    let address = listener.local_addr().context("reading the listening address")?;
    announce(&context, address, &sign_ins);
    tracing::info!(%address, database = %context.config.database_url, demo = demo_mode, "serving");

    let worker = tokio::spawn(run_timers(context.clone(), demo_clock));
    onramp_web::serve(listener, context, shutdown_signal()).await.context("serving HTTP")?;
    // An interrupted timer rolls back and runs again at the next start: it is claimed under a lease.
    worker.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The job worker: every couple of seconds it runs whatever is due, agreement timers (CA-4, CA-7, CA-8, CA-11)
/// and mail deliveries (NOT-2). In demo mode it first catches the demo clock up with `onramp demo advance`,
/// so moved time fires timers too.
async fn run_timers(context: AppContext, demo_clock: Option<Arc<DemoClock>>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(2));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Some(demo) = &demo_clock {
            match context.store.demo_offset().await {
                Ok(offset) => demo.catch_up(offset),
                Err(error) => tracing::warn!(%error, "could not read the demo clock"),
            }
        }
        match onramp_service::jobs::run_due(&context, context.clock.now()).await {
            Ok(report) if report != onramp_service::jobs::RunReport::default() => {
                tracing::info!(?report, "due jobs ran");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "the job worker could not reach the database"),
        }
    }
}

/// The start-up banner on stdout: where to open Onramp and, in demo mode, how to sign in. Its first line
/// is also the readiness signal tests wait for.
fn announce(context: &AppContext, address: std::net::SocketAddr, sign_ins: &[demo::DemoSignIn]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Onramp is ready at http://{address}/ (database {})", context.config.database_url);
    if !sign_ins.is_empty() {
        let _ = writeln!(out, "Demo sign-ins, all with the password {:?}:", demo::DEMO_PASSWORD);
        for sign_in in sign_ins {
            let _ = writeln!(out, "  {:<36} {}", sign_in.email, sign_in.description);
        }
        let _ =
            writeln!(out, "Mail the demo sends: http://{address}/staff/mail ({})", context.mailer.transport.describe());
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    let _ = out.flush();
}

/// Resolves on Ctrl-C or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received; shutting down"),
        () = terminate => tracing::info!("SIGTERM received; shutting down"),
    }
}
