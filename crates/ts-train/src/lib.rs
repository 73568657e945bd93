//! # ts-train: fitting, metrics, prediction
//!
//! ```
//! use ts_train::{Bundle, ForecastConfig, ModelChoice, Part, TargetSpec, Trainer};
//! let mut cfg = ForecastConfig::default();
//! cfg.data.path = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/statsmodels_macrodata.csv").into());
//! cfg.data.target = TargetSpec::One("unemp".into());
//! (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Lstm, 8, 2);
//! let (path, options) = cfg.data_source()?;
//! let mut frame = ts_data::load(&path, &options)?;
//! let fitted = Trainer::new(cfg).fit(&mut frame)?;
//! let dir = tempfile::tempdir().unwrap();
//! fitted.save(&dir.path().join("model.tsf"))?;
//! let model = Bundle::load(&dir.path().join("model.tsf"))?;
//! let test = model.evaluate(&model.load_data(&path, Default::default())?, Part::Test)?;
//! let (reloaded, trained) = (test.evaluation.targets[0].scores.model.mae, fitted.test.targets[0].scores.model.mae);
//! assert!((reloaded - trained).abs() <= 1e-9 * trained);
//! # Ok::<(), ts_train::TrainError>(())
//! ```
//!
//! - [`config`]: the run configuration ([`ForecastConfig`]: data, model, training, device) with the
//!   documented defaults (sequence length 12, hidden 64, 2 layers, dropout 0.2, lr 1e-3, batch 32,
//!   100 epochs, 80/20 split, 10 % of the training part for validation, early stopping after 20
//!   epochs without improvement, counted from the cosine schedule's midpoint on, residual
//!   learning).
//! - [`trainer`]: the training loop ([`fit()`]) with Adam/AdamW, weight decay, gradient clipping,
//!   MSE/MAE/Huber/mixed losses, validation every epoch and best-epoch restore; an [`Observer`]
//!   receives progress; [`progress::ProgressBar`] draws it on a terminal.
//! - [`metrics`]: MSE, RMSE, MAE, R², MASE and sMAPE per target and horizon step in scaled and
//!   original units, next to the naive (last value), seasonal naive and drift forecasts.
//! - [`intervals`]: conformal prediction intervals per horizon step, calibrated on the
//!   validation part and, by default, recalibrated at each forecast origin as actuals arrive
//!   (adaptive conformal inference), with their coverage measured on the test part.
//! - [`backtest`](mod@backtest): rolling-origin backtests (expanding-window folds, refit every fold or once)
//!   against the same baselines.
//! - [`checkpoint`]: training checkpoints (weights, optimizer state, random generators, history,
//!   position) written atomically; [`fit_with`] continues from one with bit-identical results.
//! - [`memory`]: refuses, before allocating, a model too large to train on the machine.
//! - [`run`]: the front door: [`Trainer`] (`Trainer::new(config)` with builder methods for the
//!   observer, checkpoints and resume) fits a frame into a [`FitOutcome`] that saves itself or
//!   writes a whole run; a saved model loads as a [`Bundle`] that evaluates and predicts.
//! - [`report`]: `metrics.json` ([`MetricsReport`]) and the printed tables, typed.
//! - [`output`]: a run folder written safely (staging folder, no output over an input).
//! - [`pipeline`]: the steps behind [`run`]: prepare, train the candidates, evaluate, model
//!   files, prediction rows.

pub mod backtest;
pub mod bundle;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod fit;
#[cfg(feature = "clap")]
pub mod flags;
pub mod intervals;
pub mod linear_init;
pub mod memory;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod predictions;
pub mod progress;
pub mod range;
pub mod report;
pub mod run;
pub mod trainer;

pub use backtest::{BacktestConfig, BacktestReport, Fold, OneStep, Refit, backtest};
pub use config::{
    CalendarMode, DataConfig, ForecastConfig, LossKind, LrSchedule, LstmInputs, ModelChoice,
    ModelSettings, OptimizerKind, TargetSpec, TrainConfig,
};
pub use error::{Result, TrainError};
pub use intervals::{CalibrationSet, Coverage, Intervals};
pub use metrics::{
    BaselineForecasts, BaselineSpec, Evaluation, Metrics, Score, Scores, TargetMetrics,
    actual_original, actuals_original, drift_forecast, evaluate, naive_forecast, original_before,
    seasonal_naive_forecast,
};
pub use pipeline::{
    Bundle, DataSummary, FitOutcome, Part, PredictionRow, evaluate_frame, evaluate_frame_part,
    load_model, predict_frame, predict_future, prediction_rows, prediction_rows_iter,
    predictions_csv, save_model, train, write_predictions_csv,
};
pub use report::{EvaluationTable, MetricsReport, RunSummary, TrainingSummary};
pub use run::Trainer;
pub use trainer::{EpochRecord, Observer, Silent, TrainReport, fit, fit_with, predict_scaled};
