//! # ts-fairness: audit a forecaster across groups of periods, and mitigate
//!
//! The core works on plain slices of actuals, forecasts and group labels, with no Burn, model or
//! table reader: binarise a forecast at a threshold and compare the groups with fairlearn's
//! parity metrics.
//!
//! ```
//! use ts_fairness::{binarise, classification_report};
//! let actual = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0];
//! let forecast = [1.5, 2.5, 2.5, 4.5, 4.5, 5.5];
//! let groups: Vec<String> = ["a", "a", "a", "b", "b", "b"].map(String::from).to_vec();
//! let r = classification_report(&binarise(&actual, 3.0), &binarise(&forecast, 3.0), &groups)?;
//! // Group b's forecasts are always above 3, group a's never: a parity gap of 1.
//! assert_eq!(r.between_groups.demographic_parity_difference, 1.0);
//! assert_eq!(r.between_groups.equalized_odds_difference, 1.0);
//! # Ok::<(), ts_fairness::FairnessError>(())
//! ```
//!
//! - [`groups`]: group makers on slices (median split, cross of two splits, date eras, quantile
//!   bins, a categorical column) and the seed's five group columns ([`SeedGrouping`]);
//! - [`classify`]: fairlearn 0.15's group metrics and parity metrics on binarised forecasts
//!   (reproduced to 1e-12, including its conventions for empty groups and zero denominators),
//!   and the expected rates of randomised predictions;
//! - [`threshold`]: a fairlearn-style threshold optimizer (post-processing);
//! - [`reductions`]: the exponentiated-gradient game with any learner that takes sample weights;
//! - [`report`]: typed report pieces (fairlearn's report shape, before/after snapshots).
//!
//! Feature `table`: the same group makers on CSV/Parquet tables read through ts-data's checked
//! loaders (`table`, including `tsf groups` as `table::make_groups`).
//! Feature `lstm`: the audit of a saved model (`audit`: per-group regression metrics in
//! original units with the classification view), exponentiated-gradient retraining of the
//! forecaster, and `tsf fairness` as one call (`run::run_audit`).
//! Feature `clap`: `clap::ValueEnum` for the mitigations and constraints.
//! A report's bar charts are drawn by the `ts-report` crate (layer 5, above this one).

#[cfg(feature = "lstm")]
pub mod audit;
pub mod classify;
pub mod error;
pub mod groups;
pub mod reductions;
pub mod report;
#[cfg(feature = "lstm")]
pub mod run;
#[cfg(feature = "table")]
pub mod table;
pub mod threshold;

#[cfg(feature = "lstm")]
pub use audit::{
    ForecastSamples, GroupingAudit, RegressionAudit, audit_grouping, forecast_samples,
    regression_audit,
};
pub use classify::{
    ClassificationReport, ExpectedRates, Rates, binarise, classification_report, expected_rates,
};
pub use error::{FairnessError, Result};
pub use groups::{GroupInfo, Grouping, GroupsSummary, SeedGrouping, median, quantile};
pub use report::{
    BarChartData, BarPanelData, ExpectedSnapshot, FairlearnReport, Skipped, Snapshot,
};
#[cfg(feature = "lstm")]
pub use run::{
    FairnessConfig, FairnessReport, FairnessRun, Mitigation, check_inputs_outside,
    check_output_folder, is_report_file, run_audit,
};
#[cfg(feature = "table")]
pub use table::{
    GroupMaker, GroupsConfig, GroupsOutput, TextTable, cross, eras, make_groups, median_split,
    quantile_bins,
};
