//! `tsf`: train, evaluate and predict with LSTM forecasters from the command line.
//!
//! This binary only composes the library crates: `ts-data` (loading), `ts-train` (fitting,
//! metrics, model files) and `ts-viz` (charts). Every error is printed on one line and exits with
//! status 2.

mod args;
mod backtest;
mod checkpointing;
mod commands;
mod explain;
mod fairness;
mod tune;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    let filter = if cli.verbose { "info" } else { "warn" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        args::Command::Train(a) => commands::train(*a),
        args::Command::Evaluate(a) => commands::evaluate(a),
        args::Command::Predict(a) => commands::predict(a),
        args::Command::Backtest(a) => backtest::backtest(*a),
        args::Command::Groups(a) => fairness::groups(a),
        args::Command::Fairness(a) => fairness::fairness(*a),
        args::Command::Explain(a) => explain::explain(*a),
        args::Command::Tune(a) => tune::tune(*a),
    };
    if let Err(e) = result {
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("error: {msg}");
        std::process::exit(2);
    }
}
