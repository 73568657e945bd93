//! # ts-fairness: audit a forecaster across groups of periods, and mitigate
//!
//! - [`groups`]: group makers (median split, cross of two splits, date eras, quantile bins, a
//!   categorical column) and the seed's five group columns ([`SeedGrouping`]);
//! - [`classify`]: fairlearn 0.15's group metrics and parity metrics on binarised forecasts
//!   (reproduced to 1e-12, including its conventions for empty groups and zero denominators);
//! - [`audit`]: per-group regression metrics (count, MSE, RMSE, MAE, R² in original units) with
//!   R²/RMSE range and coefficient of variation and the worst group's loss, plus the
//!   classification view, for a saved model on a table;
//! - [`threshold`]: a fairlearn-style threshold optimizer (post-processing);
//! - [`reductions`]: exponentiated-gradient retraining with per-sample weights.

pub mod audit;
pub mod classify;
pub mod error;
pub mod groups;
pub mod reductions;
pub mod threshold;

pub use audit::{
    ForecastSamples, GroupingAudit, RegressionAudit, audit_grouping, forecast_samples,
    regression_audit,
};
pub use classify::{ClassificationReport, Rates, binarise, classification_report};
pub use error::{FairnessError, Result};
pub use groups::{
    GroupInfo, Grouping, GroupsSummary, SeedGrouping, TextTable, cross, eras, median_split,
    quantile_bins,
};
