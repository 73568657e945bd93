//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Parses a whole number for a size or count flag, so that `-1` or `1.5` get our message rather
/// than clap's "unexpected argument".
fn whole_number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.trim()
        .parse::<T>()
        .map_err(|_| "must be a whole number >= 0".to_string())
}

/// Parses a flag's value with the library type's own `FromStr` (its message names the choices).
pub(crate) fn parsed<T: std::str::FromStr>(s: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse::<T>().map_err(|e| e.to_string())
}

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
    /// TOML configuration file (sections [data], [model], [train], and `device`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data file, CSV or Parquet [data.path].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Target column, comma-separated list, or "all" [data.target].
    #[arg(long)]
    pub target: Option<String>,
    /// Input columns, comma-separated (default: every column) [data.features].
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Time column (default: detected; "none" for none) [data.time_column].
    #[arg(long)]
    pub time_column: Option<String>,
    /// Missing values: error | ffill | interpolate | drop [data.fill].
    #[arg(long, value_parser = parsed::<ts_data::FillPolicy>)]
    pub fill: Option<ts_data::FillPolicy>,
    /// Time steps per input window [data.sequence_length] (default 12, or one season when longer).
    #[arg(long, alias = "seq-len", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub sequence_length: Option<usize>,
    /// Seasonal period in rows for the seasonal naive baseline, MASE and the hybrid model
    /// [data.season] (default: detected from the time column; 1 = none).
    #[arg(long)]
    pub season: Option<usize>,
    /// Steps ahead to predict, direct multi-output [data.horizon] (default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub horizon: Option<usize>,
    /// Share of rows before the test part [data.train_split] (default 0.8).
    #[arg(long, allow_negative_numbers = true)]
    pub train_split: Option<f64>,
    /// Share of the training part held out for validation, 0 to disable [data.validation] (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub validation: Option<f64>,
    /// Scaler: minmax | standard | robust [data.scaler] (default minmax).
    #[arg(long, value_parser = parsed::<ts_data::ScalerKind>)]
    pub scaler: Option<ts_data::ScalerKind>,
    /// Network: auto | lstm | attention | hybrid [model.kind] (default auto: trains the LSTM and
    /// the hybrid, keeps the one with the stronger start unless the other is clearly better on
    /// validation).
    #[arg(long, value_parser = parsed::<ts_train::ModelChoice>)]
    pub model: Option<ts_train::ModelChoice>,
    /// LSTM hidden size [model.hidden_size] (default 64).
    #[arg(long, alias = "hidden", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub hidden_size: Option<usize>,
    /// Stacked LSTM layers [model.num_layers] (default 2).
    #[arg(long, alias = "layers", allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub num_layers: Option<usize>,
    /// Dropout in [0, 1) [model.dropout] (default 0.2).
    #[arg(long, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Learn the change from the last value (true, default) or the level (false) [model.residual].
    #[arg(long)]
    pub residual: Option<bool>,
    /// Ensemble members [model.ensemble] (default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub ensemble: Option<usize>,
    /// Maximum epochs [train.epochs] (default 100).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Mini-batch size [train.batch_size] (default 32).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub batch_size: Option<usize>,
    /// Learning rate [train.learning_rate] (default 0.001).
    #[arg(long, alias = "lr", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Learning-rate schedule: cosine | constant [train.lr_schedule] (default cosine).
    #[arg(long, value_parser = parsed::<ts_train::LrSchedule>)]
    pub lr_schedule: Option<ts_train::LrSchedule>,
    /// Optimizer: adam | adamw [train.optimizer].
    #[arg(long, value_parser = parsed::<ts_train::OptimizerKind>)]
    pub optimizer: Option<ts_train::OptimizerKind>,
    /// Weight decay [train.weight_decay] (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Clip each gradient's norm to this value, 0 to disable [train.grad_clip] (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub grad_clip: Option<f64>,
    /// Loss: mse | mae | huber | mixed [train.loss].
    #[arg(long, value_parser = parsed::<ts_train::LossKind>)]
    pub loss: Option<ts_train::LossKind>,
    /// Huber threshold [train.huber_delta] (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub huber_delta: Option<f64>,
    /// Weight of MSE in the mixed loss [train.mse_weight] (default 0.5).
    #[arg(long, allow_negative_numbers = true)]
    pub mse_weight: Option<f64>,
    /// Early-stopping patience in epochs, 0 to disable [train.patience] (default 20).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<usize>)]
    pub patience: Option<usize>,
    /// Prediction interval levels, e.g. 0.8,0.95, or none [train.intervals] (default 0.8,0.95):
    /// split-conformal on the validation part, per horizon step.
    #[arg(long)]
    pub intervals: Option<String>,
    /// Random seed [train.seed] (default 42).
    #[arg(long, allow_negative_numbers = true, value_parser = whole_number::<u64>)]
    pub seed: Option<u64>,
    /// Do not shuffle training windows [train.shuffle = false].
    #[arg(long)]
    pub no_shuffle: bool,
    /// Device: cpu | wgpu [device].
    #[arg(long, value_parser = parsed::<ts_model::DeviceChoice>)]
    pub device: Option<ts_model::DeviceChoice>,
    /// Start from the seed's plain recipe (learn levels, no validation, no early stopping) before
    /// applying the config file and flags.
    #[arg(long)]
    pub seed_recipe: bool,
    /// Output folder.
    #[arg(long, default_value = "tsf-run")]
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
    /// Only the forecast past the end of the data: the window ending at the last row, every
    /// horizon step.
    #[arg(long)]
    pub future_only: bool,
}
