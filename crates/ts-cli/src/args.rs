//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) use ts_train::flags::{parsed, positive_number, whole_number};

/// Time-series forecasting with LSTMs.
#[derive(Debug, Parser)]
#[command(name = "tsf", version, args_override_self = true, about = "Time-series forecasting with LSTMs: train, evaluate, predict", long_about = None)]
pub struct Cli {
    /// Log more (also RUST_LOG).
    #[arg(long, global = true)]
    pub verbose: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a forecaster on a CSV or Parquet file and write the model, metrics, predictions and charts.
    Train(Box<TrainArgs>),
    /// Evaluate a saved model on a data file (every window with known targets).
    Evaluate(EvaluateArgs),
    /// Forecast with a saved model, including the steps past the end of the data.
    Predict(PredictArgs),
    /// Rolling-origin backtest: expanding-window folds, each fitted on the rows before it and
    /// scored against the naive, seasonal naive and drift forecasts.
    Backtest(Box<crate::backtest::BacktestArgs>),
    /// Add group columns (median splits, their cross, date eras, quantile bins) to a table.
    Groups(crate::fairness::GroupsArgs),
    /// Audit a saved model across groups (per-group errors, fairlearn's parity metrics) and mitigate.
    Fairness(Box<crate::fairness::FairnessArgs>),
    /// Explain a saved model's forecasts: which features and time steps drive them (saliency,
    /// integrated gradients, SmoothGrad, SHAP, LIME, occlusion, attention).
    Explain(Box<crate::explain::ExplainArgs>),
    /// Search LSTM hyperparameters (TPE, pruning, Optuna-compatible journal), then retrain the
    /// best configuration on training + validation data.
    Tune(Box<crate::tune::TuneArgs>),
}

/// `tsf train`: each flag overrides the TOML key named in its help; the TOML file overrides defaults.
// The field docs are clap's help text: `[data]`, `[device]` there are TOML sections, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The configuration: `--config FILE`, one flag per key, `--seed-recipe`.
    #[command(flatten)]
    pub config: ts_train::flags::ConfigFlags,
    /// Output folder (with `--resume`, the run's own folder: not given).
    #[arg(long, default_value = "tsf-run", conflicts_with = "resume")]
    pub out: PathBuf,
    /// Overwrite an output folder that already holds a run.
    #[arg(long)]
    pub force: bool,
    /// No progress bar and no per-epoch lines.
    #[arg(long, short)]
    pub quiet: bool,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Write a checkpoint (weights, optimizer and random state, history) to OUT/checkpoint.tsfck
    /// every K epochs; 0 writes one only when Ctrl-C stops the run (default 0).
    #[arg(long, value_name = "K", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub checkpoint_every: Option<usize>,
    /// Continue the run in DIR from DIR/checkpoint.tsfck, with its stored configuration and data
    /// path, and write the outputs into DIR.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

/// `tsf evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data file with the model's columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Missing values: error | ffill | interpolate | drop.
    #[arg(long, value_parser = parsed::<ts_data::FillPolicy>, default_value = "error")]
    pub fill: ts_data::FillPolicy,
    /// Also write the metrics as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists (else an existing file is refused).
    #[arg(long)]
    pub force: bool,
    /// Which windows to score: test | validation | train | all (the model's split when the file
    /// has as many rows as its training data, else the configured fractions of this file).
    #[arg(long, value_parser = parsed::<ts_train::Part>, default_value = "test")]
    pub part: ts_train::Part,
}

/// `tsf predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data file with the model's columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Missing values: error | ffill | interpolate | drop.
    #[arg(long, value_parser = parsed::<ts_data::FillPolicy>, default_value = "error")]
    pub fill: ts_data::FillPolicy,
    /// CSV output (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace the --out file if it exists (else an existing file is refused).
    #[arg(long)]
    pub force: bool,
    /// Only the forecast past the end of the data: the window ending at the last row, every
    /// horizon step.
    #[arg(long)]
    pub future_only: bool,
}
