//! The audit of a saved forecaster across groups: per-group regression metrics in original units
//! with a fairness summary, and the classification view with fairlearn's parity metrics.
//!
//! Every forecast value is assigned to the group of the time step (row) it predicts, so a window
//! whose input lies in one era and whose target lies in the next counts for the next.

use serde::{Deserialize, Serialize};
use ts_data::Frame;
use ts_train::pipeline::{self, Bundle, Part};
use ts_train::{Metrics, prediction_rows};

use crate::classify::{ClassificationReport, binarise, check_threshold, classification_report};
use crate::error::{FairnessError, Result};
use crate::groups::{Grouping, median};
use crate::report::fmt_opt;

/// A model's forecasts of one target on a table, in original units, with the row each predicts.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ForecastSamples {
    /// Target column.
    pub target: String,
    /// Observed values.
    pub actual: Vec<f64>,
    /// Forecasts.
    pub predicted: Vec<f64>,
    /// The table row each value predicts.
    pub rows: Vec<usize>,
    /// The window each value comes from.
    pub windows: Vec<usize>,
    /// The horizon step (1 = next row).
    pub steps: Vec<usize>,
    /// Time label of the predicted row.
    pub timestamps: Vec<String>,
}

impl ForecastSamples {
    /// Values.
    pub fn len(&self) -> usize {
        self.actual.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.actual.is_empty()
    }

    /// The group label of each value under a grouping of the table's rows.
    pub fn labels(&self, grouping: &Grouping) -> Result<Vec<String>> {
        self.rows
            .iter()
            .map(|&r| {
                grouping
                    .labels
                    .get(r)
                    .cloned()
                    .ok_or_else(|| FairnessError::Grouping {
                        grouping: grouping.name.clone(),
                        reason: format!(
                            "has {} labels but a forecast predicts row {}",
                            grouping.labels.len(),
                            r + 1
                        ),
                    })
            })
            .collect()
    }
}

/// Forecasts the windows with known targets of one part of `frame` (through ts-train's
/// `evaluate_frame_part` and `prediction_rows`; [`Part::All`] = every window) and keeps one target
/// (default: the model's first), all horizon steps.
pub fn forecast_samples(
    bundle: &Bundle,
    frame: &Frame,
    target: Option<&str>,
    part: Part,
) -> Result<ForecastSamples> {
    let spec = &bundle.header.spec;
    let target = match target {
        Some(t) => {
            if !spec.targets.iter().any(|x| x == t) {
                return Err(crate::error::invalid(
                    "target",
                    t,
                    format!("the model forecasts {}", spec.targets.join(", ")),
                ));
            }
            t.to_string()
        }
        None => spec.targets[0].clone(),
    };
    let aligned = pipeline::align_frame(bundle, frame)?;
    let ev = pipeline::evaluate_frame_part(bundle, &aligned, part)?;
    let rows = prediction_rows(
        &aligned,
        spec,
        &bundle.header.scaler,
        &ev.windows,
        &ev.predictions,
        None,
        bundle.season(),
    );
    let nt = spec.targets.len();
    let mut s = ForecastSamples {
        target: target.clone(),
        ..Default::default()
    };
    // prediction_rows lists windows, then steps, then targets.
    for (j, r) in rows.iter().enumerate() {
        if r.target != target {
            continue;
        }
        let i = j / (spec.horizon * nt);
        let step = (j / nt) % spec.horizon + 1;
        let Some(actual) = r.actual else { continue };
        s.actual.push(actual);
        s.predicted.push(r.predicted);
        s.rows.push(ev.windows.anchors[i] + step);
        s.windows.push(i);
        s.steps.push(step);
        s.timestamps.push(r.timestamp.clone());
    }
    Ok(s)
}

/// One group's regression metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRegression {
    /// Group label.
    pub group: String,
    /// What the group means.
    pub description: String,
    /// Count, MSE, RMSE, MAE, R² in original units.
    pub metrics: Metrics,
}

/// Groups with fewer forecasts than this are named as noisy in the printed summary.
const SMALL_GROUP: usize = 10;

/// How unequal the groups' errors are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionFairness {
    /// Largest minus smallest group R².
    pub r2_range: f64,
    /// Coefficient of variation of the group R² (population standard deviation over |mean|);
    /// `None` when the mean is 0.
    pub r2_cv: Option<f64>,
    /// Largest minus smallest group RMSE.
    pub rmse_range: f64,
    /// Coefficient of variation of the group RMSE; `None` when the mean is 0.
    pub rmse_cv: Option<f64>,
    /// The group with the largest MSE (the bounded-group-loss view).
    pub worst_group: String,
    /// Its MSE.
    pub worst_group_mse: f64,
    /// Its RMSE.
    pub worst_group_rmse: f64,
    /// Worst group MSE over overall MSE.
    pub worst_to_overall_mse: f64,
}

/// Per-group regression metrics of one grouping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionAudit {
    /// Overall metrics.
    pub overall: Metrics,
    /// Groups with forecasts, in the grouping's order.
    pub by_group: Vec<GroupRegression>,
    /// Summary.
    pub summary: RegressionFairness,
    /// Groups of the grouping that no forecast falls in (reported, left out of the comparison).
    pub groups_without_windows: Vec<String>,
}

fn cv(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean != 0.0).then(|| var.sqrt() / mean.abs())
}

fn range(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    hi - lo
}

/// Regression metrics per group; fails when fewer than two groups have forecasts.
pub fn regression_audit(samples: &ForecastSamples, grouping: &Grouping) -> Result<RegressionAudit> {
    let labels = samples.labels(grouping)?;
    let mut by_group = Vec::new();
    let mut without = Vec::new();
    for g in &grouping.groups {
        let idx: Vec<usize> = (0..labels.len())
            .filter(|&i| labels[i] == g.label)
            .collect();
        if idx.is_empty() {
            without.push(g.label.clone());
            continue;
        }
        let a: Vec<f64> = idx.iter().map(|&i| samples.actual[i]).collect();
        let p: Vec<f64> = idx.iter().map(|&i| samples.predicted[i]).collect();
        let mut metrics = Metrics::compute(&a, &p);
        if a.len() < 2 {
            // scikit-learn's r2_score: not defined for fewer than two samples (NaN, written as
            // null), and left out of the R² range and coefficient of variation.
            metrics.r2 = f64::NAN;
        }
        by_group.push(GroupRegression {
            group: g.label.clone(),
            description: g.description.clone(),
            metrics,
        });
    }
    match by_group.len() {
        0 => {
            return Err(FairnessError::Grouping {
                grouping: grouping.name.clone(),
                reason: "no forecast falls in any group".into(),
            });
        }
        1 => {
            return Err(FairnessError::SingleGroup {
                grouping: grouping.name.clone(),
                group: by_group[0].group.clone(),
            });
        }
        _ => {}
    }
    let overall = Metrics::compute(&samples.actual, &samples.predicted);
    let r2: Vec<f64> = by_group
        .iter()
        .map(|g| g.metrics.r2)
        .filter(|r| r.is_finite())
        .collect();
    let rmse: Vec<f64> = by_group.iter().map(|g| g.metrics.rmse).collect();
    let worst = by_group
        .iter()
        .max_by(|a, b| a.metrics.mse.total_cmp(&b.metrics.mse))
        .expect("two groups");
    let summary = RegressionFairness {
        r2_range: range(&r2),
        r2_cv: cv(&r2),
        rmse_range: range(&rmse),
        rmse_cv: cv(&rmse),
        worst_group: worst.group.clone(),
        worst_group_mse: worst.metrics.mse,
        worst_group_rmse: worst.metrics.rmse,
        worst_to_overall_mse: worst.metrics.mse / overall.mse,
    };
    Ok(RegressionAudit {
        overall,
        by_group,
        summary,
        groups_without_windows: without,
    })
}

/// The audit of one grouping: regression and classification views with readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupingAudit {
    /// Group column.
    pub grouping: String,
    /// How the groups were made.
    pub description: String,
    /// Target column.
    pub target: String,
    /// Regression view.
    pub regression: RegressionAudit,
    /// The threshold used to binarise actuals and forecasts (original units; value > threshold is
    /// positive).
    pub threshold: f64,
    /// Classification view (fairlearn's metrics).
    pub classification: ClassificationReport,
    /// Plain-language readings, one line each.
    pub readings: Vec<String>,
}

/// The default threshold: the median of the actual values.
pub fn default_threshold(samples: &ForecastSamples) -> f64 {
    median(&samples.actual)
}

/// Audits one grouping. `threshold` defaults to the median of the actuals.
pub fn audit_grouping(
    samples: &ForecastSamples,
    grouping: &Grouping,
    threshold: Option<f64>,
) -> Result<GroupingAudit> {
    let regression = regression_audit(samples, grouping)?;
    let threshold = threshold.unwrap_or_else(|| default_threshold(samples));
    check_threshold(&samples.actual, threshold)?;
    let labels = samples.labels(grouping)?;
    let classification = classification_report(
        &binarise(&samples.actual, threshold),
        &binarise(&samples.predicted, threshold),
        &labels,
    )?;
    let mut a = GroupingAudit {
        grouping: grouping.name.clone(),
        description: grouping.description.clone(),
        target: samples.target.clone(),
        regression,
        threshold,
        classification,
        readings: Vec::new(),
    };
    a.readings = readings(&a);
    Ok(a)
}

impl GroupingAudit {
    /// The audit as text: a table of the groups' regression and classification figures, the
    /// summary, the parity metrics, the readings and fairlearn's notes.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "== {} ({}) ==", self.grouping, self.description);
        let _ = writeln!(
            s,
            "  {:<6} {:>6} {:>10} {:>10} {:>9} {:>7} {:>7} {:>7} {:>7}  description",
            "group", "count", "RMSE", "MAE", "R²", "sel", "TPR", "FPR", "acc"
        );
        for g in &self.regression.by_group {
            let c = self
                .classification
                .by_group
                .iter()
                .find(|c| c.group == g.group);
            let r = |f: fn(&crate::Rates) -> f64| c.map_or(f64::NAN, |c| f(&c.rates));
            let _ = writeln!(
                s,
                "  {:<6} {:>6} {:>10.4} {:>10.4} {:>9.4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}  {}",
                g.group,
                g.metrics.count,
                g.metrics.rmse,
                g.metrics.mae,
                g.metrics.r2,
                r(|x| x.selection_rate),
                r(|x| x.tpr),
                r(|x| x.fpr),
                r(|x| x.accuracy),
                g.description
            );
        }
        let o = &self.regression.overall;
        let c = &self.classification.overall;
        let _ = writeln!(
            s,
            "  {:<6} {:>6} {:>10.4} {:>10.4} {:>9.4} {:>7.3} {:>7.3} {:>7.3} {:>7.3}",
            "all", o.count, o.rmse, o.mae, o.r2, c.selection_rate, c.tpr, c.fpr, c.accuracy
        );
        if !self.regression.groups_without_windows.is_empty() {
            let _ = writeln!(
                s,
                "  no windows predict a row of group(s) {}; they are left out",
                self.regression.groups_without_windows.join(", ")
            );
        }
        let groups = |f: &dyn Fn(&GroupRegression) -> bool| -> Vec<String> {
            self.regression
                .by_group
                .iter()
                .filter(|g| f(g))
                .map(|g| format!("{} ({})", g.group, g.metrics.count))
                .collect()
        };
        let no_r2 = groups(&|g| !g.metrics.r2.is_finite());
        if !no_r2.is_empty() {
            let _ = writeln!(
                s,
                "  group(s) {} have too few forecasts for an R²; they are left out of the R² range",
                no_r2.join(", ")
            );
        }
        let few = groups(&|g| g.metrics.r2.is_finite() && g.metrics.count < SMALL_GROUP);
        if !few.is_empty() {
            let _ = writeln!(
                s,
                "  group(s) {} have fewer than {SMALL_GROUP} forecasts: their errors are noisy",
                few.join(", ")
            );
        }
        let m = &self.regression.summary;
        let with_r2 = self.regression.by_group.len() - no_r2.len();
        let (r2_range, r2_cv) = if with_r2 < 2 {
            ("n/a".to_string(), "n/a".to_string())
        } else {
            (format!("{:.4}", m.r2_range), fmt_opt(m.r2_cv))
        };
        let _ = writeln!(
            s,
            "  R² range {}, R² CV {}, RMSE range {:.4}, RMSE CV {}, worst group {} (MSE {:.4})",
            r2_range,
            r2_cv,
            m.rmse_range,
            fmt_opt(m.rmse_cv),
            m.worst_group,
            m.worst_group_mse
        );
        let b = &self.classification.between_groups;
        let _ = writeln!(
            s,
            "  threshold {:.4}: demographic parity difference {:.4}, ratio {}; equalized odds difference {:.4}, ratio {}; equal opportunity difference {:.4}, ratio {}",
            self.threshold,
            b.demographic_parity_difference,
            fmt_opt(b.demographic_parity_ratio),
            b.equalized_odds_difference,
            fmt_opt(b.equalized_odds_ratio),
            b.equal_opportunity_difference,
            fmt_opt(b.equal_opportunity_ratio)
        );
        for r in &self.readings {
            let _ = writeln!(s, "  → {r}");
        }
        for n in &self.classification.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        s
    }
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

/// Plain-language readings of an audit: the four-fifths rule on the demographic parity ratio,
/// the equalized-odds gap, and the spread of the groups' errors.
pub fn readings(a: &GroupingAudit) -> Vec<String> {
    let c = &a.classification;
    let mut out = Vec::new();
    let by_rate = |lo: bool| {
        c.by_group
            .iter()
            .filter(|g| {
                g.rates.selection_rate
                    == if lo {
                        c.group_min.selection_rate
                    } else {
                        c.group_max.selection_rate
                    }
            })
            .map(|g| g.group.clone())
            .next()
            .unwrap_or_default()
    };
    match c.between_groups.demographic_parity_ratio {
        Some(r) if r < 0.8 => out.push(format!(
            "Demographic parity ratio {r:.3} < 0.8: the four-fifths rule is broken; group {} gets a forecast above {:.4} {} of the time, group {} {}.",
            by_rate(true),
            a.threshold,
            pct(c.group_min.selection_rate),
            by_rate(false),
            pct(c.group_max.selection_rate)
        )),
        Some(r) => out.push(format!(
            "Demographic parity ratio {r:.3} >= 0.8: the four-fifths rule holds (selection rates {} to {}).",
            pct(c.group_min.selection_rate),
            pct(c.group_max.selection_rate)
        )),
        None => out.push(
            "Demographic parity ratio undefined: no group gets a forecast above the threshold.".into(),
        ),
    }
    let eo = c.between_groups.equalized_odds_difference;
    out.push(format!(
        "Equalized odds difference {eo:.3}: true and false positive rates differ by up to {:.1} points between groups ({}).",
        100.0 * eo,
        if eo <= 0.1 { "small" } else if eo <= 0.2 { "moderate" } else { "large" }
    ));
    let s = &a.regression.summary;
    let best = a
        .regression
        .by_group
        .iter()
        .min_by(|x, y| x.metrics.rmse.total_cmp(&y.metrics.rmse))
        .map(|g| (g.group.clone(), g.metrics.rmse))
        .unwrap_or_default();
    out.push(format!(
        "Errors: RMSE from {:.4} (group {}) to {:.4} (group {}), {:.2}x apart; the worst group's MSE is {:.2}x the overall MSE.",
        best.1,
        best.0,
        s.worst_group_rmse,
        s.worst_group,
        if best.1 > 0.0 { s.worst_group_rmse / best.1 } else { f64::INFINITY },
        s.worst_to_overall_mse
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> ForecastSamples {
        let actual: Vec<f64> = (0..8).map(|i| i as f64).collect();
        let predicted: Vec<f64> = actual
            .iter()
            .enumerate()
            .map(|(i, a)| if i < 4 { a + 0.5 } else { a - 1.0 })
            .collect();
        ForecastSamples {
            target: "y".into(),
            rows: (1..9).collect(),
            windows: (0..8).collect(),
            steps: vec![1; 8],
            timestamps: (0..8).map(|i| i.to_string()).collect(),
            actual,
            predicted,
        }
    }

    fn grouping() -> Grouping {
        let labels = (0..9)
            .map(|r| if r <= 4 { "A" } else { "B" }.to_string())
            .collect();
        Grouping::new(
            "G",
            "test",
            labels,
            vec![
                ("A".into(), "early".into()),
                ("B".into(), "late".into()),
                ("C".into(), "never".into()),
            ],
        )
        .unwrap()
    }

    #[test]
    fn groups_by_predicted_row() {
        let a = regression_audit(&samples(), &grouping()).unwrap();
        assert_eq!(a.by_group[0].metrics.count, 4);
        assert!((a.by_group[0].metrics.rmse - 0.5).abs() < 1e-12);
        assert!((a.by_group[1].metrics.rmse - 1.0).abs() < 1e-12);
        assert_eq!(a.summary.worst_group, "B");
        assert!((a.summary.rmse_range - 0.5).abs() < 1e-12);
        // rmse 0.5, 1.0: mean 0.75, sd 0.25 → cv 1/3
        assert!((a.summary.rmse_cv.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(a.groups_without_windows, vec!["C".to_string()]);
    }

    /// A group of one forecast has no R² (scikit-learn: NaN for fewer than two samples), and is
    /// left out of the R² range rather than counted as 0.
    #[test]
    fn a_group_of_one_forecast_has_no_r2() {
        // Rows 1..=8 predicted; row 8 alone in group C.
        let labels = (0..9)
            .map(|r| match r {
                8 => "C",
                r if r <= 4 => "A",
                _ => "B",
            })
            .map(String::from)
            .collect();
        let g = Grouping::from_labels("G", labels).unwrap();
        let a = regression_audit(&samples(), &g).unwrap();
        let c = a.by_group.iter().find(|x| x.group == "C").unwrap();
        assert_eq!(c.metrics.count, 1);
        assert!(c.metrics.r2.is_nan());
        let finite: Vec<f64> = a
            .by_group
            .iter()
            .map(|x| x.metrics.r2)
            .filter(|r| r.is_finite())
            .collect();
        assert_eq!(finite.len(), 2);
        assert!((a.summary.r2_range - (finite[0] - finite[1]).abs()).abs() < 1e-12);
    }

    #[test]
    fn single_group_is_an_error() {
        let g = Grouping::from_labels("G", vec!["A".into(); 9]).unwrap();
        let e = regression_audit(&samples(), &g).unwrap_err().to_string();
        assert!(e.contains("only one group"), "{e}");
    }

    #[test]
    fn audit_reads_the_four_fifths_rule() {
        let a = audit_grouping(&samples(), &grouping(), None).unwrap();
        assert_eq!(a.threshold, 3.5);
        // A predicts 0.5..3.5 → none above 3.5; B predicts 3..6 → 3 of 4 above.
        assert_eq!(
            a.classification.between_groups.demographic_parity_ratio,
            Some(0.0)
        );
        assert!(
            a.readings[0].contains("four-fifths rule is broken"),
            "{:?}",
            a.readings
        );
        let e = audit_grouping(&samples(), &grouping(), Some(7.0))
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the range"), "{e}");
    }
}
