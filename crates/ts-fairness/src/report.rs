//! Typed report pieces written by `tsf fairness`: fairlearn's report shape for one grouping,
//! before/after snapshots of a mitigation (with the expectation of a randomised one) and skipped
//! mitigations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::classify::{ClassificationReport, Disparities, ExpectedRates, MaybeRates, Rates};

/// fairlearn's output shape for one grouping (as in `fairness_golden.json`), written per grouping
/// to `fairlearn_evaluation_report.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairlearnReport {
    /// Rows.
    pub n: usize,
    /// Comparisons between groups.
    pub between_groups: Disparities,
    /// Comparisons with the overall value.
    pub to_overall: Disparities,
    /// Rates per group label.
    pub by_group: BTreeMap<String, Rates>,
    /// Rows per group label.
    pub group_counts: BTreeMap<String, usize>,
    /// Rates over all rows.
    pub overall: Rates,
    /// `MetricFrame.difference()`.
    pub metricframe_difference_between_groups: Rates,
    /// `MetricFrame.ratio()`.
    pub metricframe_ratio_between_groups: MaybeRates,
    /// `MetricFrame.group_min()`.
    pub metricframe_group_min: Rates,
    /// `MetricFrame.group_max()`.
    pub metricframe_group_max: Rates,
    /// Conventions that applied.
    pub notes: Vec<String>,
    /// The threshold that binarised the values (original units), where one applies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub threshold: Option<f64>,
}

impl FairlearnReport {
    /// fairlearn's shape of a classification report.
    pub fn of(r: &ClassificationReport, threshold: Option<f64>) -> Self {
        Self {
            n: r.n,
            between_groups: r.between_groups,
            to_overall: r.to_overall,
            by_group: r
                .by_group
                .iter()
                .map(|g| (g.group.clone(), g.rates))
                .collect(),
            group_counts: r
                .by_group
                .iter()
                .map(|g| (g.group.clone(), g.count))
                .collect(),
            overall: r.overall,
            metricframe_difference_between_groups: r.difference_between_groups,
            metricframe_ratio_between_groups: r.ratio_between_groups,
            metricframe_group_min: r.group_min,
            metricframe_group_max: r.group_max,
            notes: r.notes.clone(),
            threshold,
        }
    }
}

/// Parity and accuracy figures at one moment (before or after a mitigation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Demographic parity difference.
    pub demographic_parity_difference: f64,
    /// Demographic parity ratio (undefined when no group is selected).
    pub demographic_parity_ratio: Option<f64>,
    /// Equalized odds difference.
    pub equalized_odds_difference: f64,
    /// Equalized odds ratio.
    pub equalized_odds_ratio: Option<f64>,
    /// Overall accuracy of the binarised forecasts.
    pub accuracy: f64,
    /// Overall RMSE in original units, where the mitigation gives forecasts.
    pub rmse: Option<f64>,
    /// The worst group's RMSE.
    pub worst_group_rmse: Option<f64>,
}

impl Snapshot {
    /// The figures of a classification report (and RMSEs where known).
    pub fn of(c: &ClassificationReport, rmse: Option<f64>, worst: Option<f64>) -> Self {
        Self {
            demographic_parity_difference: c.between_groups.demographic_parity_difference,
            demographic_parity_ratio: c.between_groups.demographic_parity_ratio,
            equalized_odds_difference: c.between_groups.equalized_odds_difference,
            equalized_odds_ratio: c.between_groups.equalized_odds_ratio,
            accuracy: c.overall.accuracy,
            rmse,
            worst_group_rmse: worst,
        }
    }

    /// One line: DP difference and ratio, EO difference, accuracy (and RMSEs).
    pub fn line(&self) -> String {
        format!(
            "DP diff {:.4}, DP ratio {}, EO diff {:.4}, accuracy {:.4}{}",
            self.demographic_parity_difference,
            fmt_opt(self.demographic_parity_ratio),
            self.equalized_odds_difference,
            self.accuracy,
            match (self.rmse, self.worst_group_rmse) {
                (Some(r), Some(w)) => format!(", RMSE {r:.4}, worst-group RMSE {w:.4}"),
                _ => String::new(),
            }
        )
    }
}

/// The expectation of a randomised mitigation's predictions: what the average draw gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedSnapshot {
    /// Expected selection rate per group label.
    pub selection_rates: BTreeMap<String, f64>,
    /// Expected demographic parity difference (largest minus smallest expected selection rate).
    pub demographic_parity_difference: f64,
    /// Expected equalized odds difference.
    pub equalized_odds_difference: f64,
    /// Expected overall accuracy.
    pub accuracy: f64,
}

impl ExpectedSnapshot {
    /// The figures of expected rates.
    pub fn of(e: &ExpectedRates) -> Self {
        Self {
            selection_rates: e
                .by_group
                .iter()
                .map(|g| (g.group.clone(), g.rates.selection_rate))
                .collect(),
            demographic_parity_difference: e.demographic_parity_difference,
            equalized_odds_difference: e.equalized_odds_difference,
            accuracy: e.overall.accuracy,
        }
    }

    /// One line: the expected selection rates, DP and EO differences and accuracy.
    pub fn line(&self) -> String {
        let rates: Vec<String> = self
            .selection_rates
            .iter()
            .map(|(g, r)| format!("{g} {r:.4}"))
            .collect();
        format!(
            "selection rates {}, DP diff {:.4}, EO diff {:.4}, accuracy {:.4}",
            rates.join(", "),
            self.demographic_parity_difference,
            self.equalized_odds_difference,
            self.accuracy
        )
    }
}

/// A mitigation that could not run on a grouping (reported; the other groupings go on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    /// The method.
    pub method: String,
    /// The grouping it was asked to run on.
    pub grouping: String,
    /// Why it could not.
    pub reason: String,
}

/// A number with four decimals, or "undefined".
pub fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "undefined".into(), |x| format!("{x:.4}"))
}

/// One panel of a bar chart: categories on the x axis, one bar per series and category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarPanelData {
    /// Panel title.
    pub title: String,
    /// Y-axis label.
    pub y_label: String,
    /// Categories (groups).
    pub categories: Vec<String>,
    /// Series: (name, one value per category).
    pub series: Vec<(String, Vec<f64>)>,
    /// A reference line (value, label), for example the overall value.
    pub reference: Option<(f64, String)>,
}

/// A bar chart's data: what `tsf fairness` draws (with ts-viz) for a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarChartData {
    /// File stem (`fairness_<grouping>_regression`, ...).
    pub stem: String,
    /// Figure title.
    pub title: String,
    /// Panels.
    pub panels: Vec<BarPanelData>,
}

impl BarPanelData {
    /// A panel whose y label is its title, without a reference line.
    pub fn new(title: &str, categories: &[String], series: Vec<(String, Vec<f64>)>) -> Self {
        Self {
            title: title.into(),
            y_label: title.into(),
            categories: categories.to_vec(),
            series,
            reference: None,
        }
    }
}
