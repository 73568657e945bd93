//! # ts-train: fitting, metrics, prediction
//!
//! - [`config`]: the run configuration ([`ForecastConfig`]: data, model, training, device) with the
//!   documented defaults (sequence length 12, hidden 64, 2 layers, dropout 0.2, lr 1e-3, batch 32,
//!   100 epochs, 80/20 split, 10 % of the training part for validation, early stopping after 20
//!   epochs without improvement, residual learning).
//! - [`trainer`]: the training loop ([`fit`]) with Adam/AdamW, weight decay, gradient clipping,
//!   MSE/MAE/Huber/mixed losses, validation every epoch and best-epoch restore; an [`Observer`]
//!   receives progress; [`progress::ProgressBar`] draws it on a terminal.
//! - [`metrics`]: MSE, RMSE, MAE, R², MASE and sMAPE per target and horizon step in scaled and
//!   original units, next to the naive (last value), seasonal naive and drift forecasts.
//! - [`intervals`]: split-conformal prediction intervals per horizon step, calibrated on the
//!   validation part, with their coverage measured on the test part.
//! - [`backtest`](mod@backtest): rolling-origin backtests (expanding-window folds, refit every fold or once)
//!   against the same baselines.
//! - [`checkpoint`]: training checkpoints (weights, optimizer state, random generators, history,
//!   position) written atomically; [`fit_with`] continues from one with bit-identical results.
//! - [`memory`]: refuses, before allocating, a model too large to train on the machine.
//! - [`pipeline`]: load → prepare → fit → evaluate → save, and evaluate/predict with a saved model.

pub mod backtest;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod intervals;
pub mod linear_init;
pub mod memory;
pub mod metrics;
pub mod pipeline;
pub mod progress;
pub mod trainer;

pub use backtest::{BacktestConfig, BacktestReport, Fold, Refit, backtest};
pub use config::{
    DataConfig, ForecastConfig, LossKind, LrSchedule, ModelChoice, ModelSettings, OptimizerKind,
    TargetSpec, TrainConfig,
};
pub use error::{Result, TrainError};
pub use intervals::{Coverage, Intervals};
pub use metrics::{
    BaselineSpec, Evaluation, Metrics, Score, Scores, TargetMetrics, drift_forecast, evaluate,
    naive_forecast, seasonal_naive_forecast,
};
pub use pipeline::{
    Bundle, DataSummary, FitOutcome, Part, PredictionRow, evaluate_frame, evaluate_frame_part,
    load_model, predict_frame, predict_future, prediction_rows, prediction_rows_iter,
    predictions_csv, save_model, train, write_predictions_csv,
};
pub use trainer::{EpochRecord, Observer, Silent, TrainReport, fit, fit_with, predict_scaled};
