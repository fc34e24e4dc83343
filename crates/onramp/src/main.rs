//! The `onramp` binary: reads the command line and configuration, then hands over to the library crates.

mod admin;
mod cli;
mod flows;
mod serve;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&anyhow::Error::new(error).context("cannot start the async runtime")),
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Start-up failures are one line on stderr, the causes joined with `: `, so an operator sees the setting
/// and the fix without reading a backtrace.
fn fail(error: &anyhow::Error) -> ExitCode {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        // Some drivers repeat their source in their own message; say it once.
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    let _ = writeln!(std::io::stderr(), "onramp: {}", line.replace('\n', " "));
    ExitCode::FAILURE
}
