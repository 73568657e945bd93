//! The classification view with fairlearn 0.15's numbers: per-group selection rate, TPR, FPR and
//! accuracy (`MetricFrame`), and demographic parity, equalized odds and equal opportunity
//! (difference and ratio, between groups and to overall, worst-case and mean aggregation).
//!
//! fairlearn's conventions are kept exactly:
//! - groups are the distinct labels present (an empty group does not exist), sorted by label;
//! - TPR and FPR come from scikit-learn's row-normalised confusion matrix, so a group without
//!   positive (negative) actuals has TPR (FPR) 0, not an error;
//! - a ratio whose denominator is 0 (`0 / 0`) is undefined (`None` here, NaN in fairlearn) and
//!   skipped by the min/max/mean over groups (pandas skips NaN);
//! - the worst-case equalized-odds ratio is Python's `min(tpr_ratio, fpr_ratio)` in that order,
//!   so an undefined TPR ratio makes it undefined while an undefined FPR ratio is ignored; the
//!   worst-case difference is `max(tpr_difference, fpr_difference)` likewise.

use serde::{Deserialize, Serialize};

use crate::error::{FairnessError, Result, invalid};

/// Confusion counts of one set of binary labels and predictions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Predicted 1, actual 1.
    pub tp: usize,
    /// Predicted 1, actual 0.
    pub fp: usize,
    /// Predicted 0, actual 0.
    pub tn: usize,
    /// Predicted 0, actual 1.
    pub fn_: usize,
}

impl Confusion {
    /// Counts the pairs.
    pub fn of(
        y_true: impl IntoIterator<Item = bool>,
        y_pred: impl IntoIterator<Item = bool>,
    ) -> Self {
        let mut c = Self::default();
        for (t, p) in y_true.into_iter().zip(y_pred) {
            match (t, p) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fn_ += 1,
            }
        }
        c
    }

    /// Rows.
    pub fn n(&self) -> usize {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// Actual positives.
    pub fn positives(&self) -> usize {
        self.tp + self.fn_
    }

    /// Actual negatives.
    pub fn negatives(&self) -> usize {
        self.tn + self.fp
    }

    /// The four rates, with scikit-learn's 0 for an empty row of the confusion matrix.
    pub fn rates(&self) -> Rates {
        let div = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Rates {
            selection_rate: div(self.tp + self.fp, self.n()),
            tpr: div(self.tp, self.positives()),
            fpr: div(self.fp, self.negatives()),
            accuracy: div(self.tp + self.tn, self.n()),
        }
    }
}

/// Selection rate, true positive rate, false positive rate and accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    /// Share predicted positive.
    pub selection_rate: f64,
    /// True positive rate (recall).
    pub tpr: f64,
    /// False positive rate.
    pub fpr: f64,
    /// Share predicted correctly.
    pub accuracy: f64,
}

impl Rates {
    fn get(&self, m: usize) -> f64 {
        [self.selection_rate, self.tpr, self.fpr, self.accuracy][m]
    }
}

/// One value per rate, possibly undefined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaybeRates {
    /// Selection rate.
    pub selection_rate: Option<f64>,
    /// True positive rate.
    pub tpr: Option<f64>,
    /// False positive rate.
    pub fpr: Option<f64>,
    /// Accuracy.
    pub accuracy: Option<f64>,
}

impl MaybeRates {
    fn from_fn(f: impl Fn(usize) -> Option<f64>) -> Self {
        Self {
            selection_rate: f(0),
            tpr: f(1),
            fpr: f(2),
            accuracy: f(3),
        }
    }
}

/// One group's rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// Group label.
    pub group: String,
    /// Rows in the group.
    pub count: usize,
    /// Actual positives in the group.
    pub positives: usize,
    /// Actual negatives in the group.
    pub negatives: usize,
    /// The rates.
    #[serde(flatten)]
    pub rates: Rates,
}

/// The parity metrics of one comparison method (between groups or to overall).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Disparities {
    /// Largest minus smallest selection rate (or largest distance to overall).
    pub demographic_parity_difference: f64,
    /// Smallest over largest selection rate (or smallest ratio to overall, at most 1).
    pub demographic_parity_ratio: Option<f64>,
    /// `max(tpr difference, fpr difference)`.
    pub equalized_odds_difference: f64,
    /// `min(tpr ratio, fpr ratio)`.
    pub equalized_odds_ratio: Option<f64>,
    /// Mean of the TPR and FPR differences.
    pub equalized_odds_difference_agg_mean: f64,
    /// Mean of the TPR and FPR ratios (undefined ones skipped).
    pub equalized_odds_ratio_agg_mean: Option<f64>,
    /// TPR difference.
    pub equal_opportunity_difference: f64,
    /// TPR ratio.
    pub equal_opportunity_ratio: Option<f64>,
}

/// Everything fairlearn reports for one grouping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Rows.
    pub n: usize,
    /// Rates over all rows.
    pub overall: Rates,
    /// Rates per group, sorted by group label.
    pub by_group: Vec<GroupRates>,
    /// Comparisons between groups.
    pub between_groups: Disparities,
    /// Comparisons of each group with the overall value.
    pub to_overall: Disparities,
    /// `MetricFrame.difference()` per rate.
    pub difference_between_groups: Rates,
    /// `MetricFrame.ratio()` per rate.
    pub ratio_between_groups: MaybeRates,
    /// `MetricFrame.group_min()` per rate.
    pub group_min: Rates,
    /// `MetricFrame.group_max()` per rate.
    pub group_max: Rates,
    /// Conventions that applied (undefined ratios, groups without positives or negatives).
    pub notes: Vec<String>,
}

/// pandas' NaN-skipping min/max of a column of group values.
fn skip_nan(values: impl Iterator<Item = f64>, max: bool) -> Option<f64> {
    values.filter(|v| !v.is_nan()).fold(None, |acc, v| {
        Some(match acc {
            None => v,
            Some(a) if (max && v > a) || (!max && v < a) => v,
            Some(a) => a,
        })
    })
}

fn ratio_sub_one(x: f64) -> f64 {
    if x > 1.0 { 1.0 / x } else { x }
}

fn opt(x: f64) -> Option<f64> {
    (!x.is_nan()).then_some(x)
}

/// Python's builtin `min`/`max` over `[first, second]` (NaN-unaware comparisons).
fn python_pick(first: f64, second: f64, max: bool) -> f64 {
    if (max && second > first) || (!max && second < first) {
        second
    } else {
        first
    }
}

/// pandas' NaN-skipping mean.
fn mean_skip(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Computes fairlearn's group metrics and parity metrics of binary `y_true`/`y_pred` with one
/// group label per row.
pub fn classification_report(
    y_true: &[bool],
    y_pred: &[bool],
    groups: &[String],
) -> Result<ClassificationReport> {
    if y_true.len() != y_pred.len() || y_true.len() != groups.len() {
        return Err(invalid(
            "classification input",
            format!("{}/{}/{}", y_true.len(), y_pred.len(), groups.len()),
            "y_true, y_pred and the group labels must have the same length",
        ));
    }
    if y_true.is_empty() {
        return Err(invalid("classification input", 0, "no rows"));
    }
    let by_group = group_rates(y_true, y_pred, groups);
    let all = Confusion::of(y_true.iter().copied(), y_pred.iter().copied());
    let overall = all.rates();
    let cols = MetricColumns {
        by_group: &by_group,
        overall: &overall,
    };
    let between_groups = disparities(&|m| cols.diff_between(m), &|m| cols.ratio_between(m));
    let to_overall = disparities(&|m| cols.diff_overall(m), &|m| cols.ratio_overall(m));
    let notes = report_notes(&all, &cols);
    Ok(ClassificationReport {
        n: y_true.len(),
        between_groups,
        to_overall,
        difference_between_groups: rates_of(&|m| cols.diff_between(m)),
        ratio_between_groups: MaybeRates::from_fn(|m| opt(cols.ratio_between(m))),
        group_min: rates_of(&|m| cols.gmin(m)),
        group_max: rates_of(&|m| cols.gmax(m)),
        overall,
        by_group,
        notes,
    })
}

/// The confusion rates of each group, groups sorted by label.
fn group_rates(y_true: &[bool], y_pred: &[bool], groups: &[String]) -> Vec<GroupRates> {
    let mut labels: Vec<&String> = groups.iter().collect();
    labels.sort();
    labels.dedup();
    labels
        .iter()
        .map(|g| {
            let idx: Vec<usize> = (0..groups.len()).filter(|&i| &groups[i] == *g).collect();
            let c = Confusion::of(
                idx.iter().map(|&i| y_true[i]),
                idx.iter().map(|&i| y_pred[i]),
            );
            GroupRates {
                group: (*g).clone(),
                count: c.n(),
                positives: c.positives(),
                negatives: c.negatives(),
                rates: c.rates(),
            }
        })
        .collect()
}

/// The groups' values of each metric (by index: selection rate, TPR, FPR, accuracy) and the
/// overall value, with MetricFrame's aggregates over them.
struct MetricColumns<'a> {
    by_group: &'a [GroupRates],
    overall: &'a Rates,
}

impl MetricColumns<'_> {
    /// The groups' values of metric `m`.
    fn col(&self, m: usize) -> impl Iterator<Item = f64> + '_ {
        self.by_group.iter().map(move |g| g.rates.get(m))
    }

    /// NaN-skipping group minimum of metric `m`.
    fn gmin(&self, m: usize) -> f64 {
        skip_nan(self.col(m), false).unwrap_or(f64::NAN)
    }

    /// NaN-skipping group maximum of metric `m`.
    fn gmax(&self, m: usize) -> f64 {
        skip_nan(self.col(m), true).unwrap_or(f64::NAN)
    }

    /// MetricFrame.difference between groups.
    fn diff_between(&self, m: usize) -> f64 {
        let lo = self.gmin(m);
        skip_nan(self.col(m).map(|v| (v - lo).abs()), true).unwrap_or(f64::NAN)
    }

    /// MetricFrame.difference to the overall value.
    fn diff_overall(&self, m: usize) -> f64 {
        let o = self.overall.get(m);
        skip_nan(self.col(m).map(|v| (v - o).abs()), true).unwrap_or(f64::NAN)
    }

    /// MetricFrame.ratio between groups.
    fn ratio_between(&self, m: usize) -> f64 {
        self.gmin(m) / self.gmax(m)
    }

    /// MetricFrame.ratio to the overall value.
    fn ratio_overall(&self, m: usize) -> f64 {
        let o = self.overall.get(m);
        skip_nan(self.col(m).map(|v| ratio_sub_one(v / o)), false).unwrap_or(f64::NAN)
    }
}

/// fairlearn's parity metrics from a difference and a ratio per metric index.
fn disparities(diff: &dyn Fn(usize) -> f64, ratio: &dyn Fn(usize) -> f64) -> Disparities {
    let (dt, df) = (diff(1), diff(2));
    let (rt, rf) = (ratio(1), ratio(2));
    Disparities {
        demographic_parity_difference: diff(0),
        demographic_parity_ratio: opt(ratio(0)),
        equalized_odds_difference: python_pick(dt, df, true),
        equalized_odds_ratio: opt(python_pick(rt, rf, false)),
        equalized_odds_difference_agg_mean: mean_skip(&[dt, df]),
        equalized_odds_ratio_agg_mean: opt(mean_skip(&[rt, rf])),
        equal_opportunity_difference: dt,
        equal_opportunity_ratio: opt(rt),
    }
}

/// The rates with each metric index's value from `f`.
fn rates_of(f: &dyn Fn(usize) -> f64) -> Rates {
    Rates {
        selection_rate: f(0),
        tpr: f(1),
        fpr: f(2),
        accuracy: f(3),
    }
}

/// Notes on degenerate labels: no positive or negative actuals overall or in a group, and
/// undefined ratios between groups.
fn report_notes(all: &Confusion, cols: &MetricColumns<'_>) -> Vec<String> {
    let mut notes = Vec::new();
    if all.positives() == 0 {
        notes.push("every actual label is negative: TPR is 0 by scikit-learn's convention and equal-opportunity ratios are undefined".into());
    }
    if all.negatives() == 0 {
        notes.push("every actual label is positive: FPR is 0 by scikit-learn's convention and FPR ratios are undefined".into());
    }
    for g in cols.by_group {
        if g.positives == 0 && all.positives() > 0 {
            notes.push(format!(
                "group {} has no positive actuals: its TPR is 0 by fairlearn's convention",
                g.group
            ));
        }
        if g.negatives == 0 && all.negatives() > 0 {
            notes.push(format!(
                "group {} has no negative actuals: its FPR is 0 by fairlearn's convention",
                g.group
            ));
        }
    }
    for (name, v) in [
        ("selection-rate", cols.ratio_between(0)),
        ("TPR", cols.ratio_between(1)),
        ("FPR", cols.ratio_between(2)),
    ] {
        if v.is_nan() {
            notes.push(format!(
                "the {name} ratio is undefined (0 / 0: every group's {name} is 0)"
            ));
        }
    }
    notes
}

/// The expected rates of a randomised binary prediction (each row positive with its own
/// probability), for example a threshold optimizer's: the average over all draws, which one
/// seeded draw only approximates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectedRates {
    /// Expected rates over all rows.
    pub overall: Rates,
    /// Expected rates per group, sorted by group label.
    pub by_group: Vec<GroupRates>,
    /// Largest minus smallest expected selection rate.
    pub demographic_parity_difference: f64,
    /// `max(tpr difference, fpr difference)` of the expected rates.
    pub equalized_odds_difference: f64,
}

fn expected(y_true: &[bool], p: &[f64], idx: &[usize]) -> (usize, usize, Rates) {
    let n = idx.len() as f64;
    let pos = idx.iter().filter(|&&i| y_true[i]).count();
    let neg = idx.len() - pos;
    let sum = |want: bool| -> f64 {
        idx.iter()
            .filter(|&&i| y_true[i] == want)
            .map(|&i| p[i])
            .sum()
    };
    let (tp, fp) = (sum(true), sum(false));
    let ratio = |a: f64, b: usize| if b == 0 { 0.0 } else { a / b as f64 };
    let rates = Rates {
        selection_rate: (tp + fp) / n,
        tpr: ratio(tp, pos),
        fpr: ratio(fp, neg),
        accuracy: (tp + (neg as f64 - fp)) / n,
    };
    (pos, neg, rates)
}

/// The expected rates of predictions that are positive with probability `p_positive` (one per
/// row), with one group label per row; TPR and FPR of a group without positive (negative)
/// actuals are 0, as in [`classification_report`].
pub fn expected_rates(
    y_true: &[bool],
    p_positive: &[f64],
    groups: &[String],
) -> Result<ExpectedRates> {
    if y_true.len() != p_positive.len() || y_true.len() != groups.len() || y_true.is_empty() {
        return Err(invalid(
            "expected rates input",
            format!("{}/{}/{}", y_true.len(), p_positive.len(), groups.len()),
            "y_true, probabilities and group labels must be non-empty and of the same length",
        ));
    }
    if let Some(i) = p_positive.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(invalid(
            "probability",
            p_positive[i],
            format!("row {} is not in [0, 1]", i + 1),
        ));
    }
    let mut labels: Vec<&String> = groups.iter().collect();
    labels.sort();
    labels.dedup();
    let by_group: Vec<GroupRates> = labels
        .iter()
        .map(|g| {
            let idx: Vec<usize> = (0..groups.len()).filter(|&i| &groups[i] == *g).collect();
            let (positives, negatives, rates) = expected(y_true, p_positive, &idx);
            GroupRates {
                group: (*g).clone(),
                count: idx.len(),
                positives,
                negatives,
                rates,
            }
        })
        .collect();
    let all: Vec<usize> = (0..y_true.len()).collect();
    let spread = |f: fn(&Rates) -> f64| {
        let v = by_group.iter().map(|g| f(&g.rates));
        v.clone().fold(f64::NEG_INFINITY, f64::max) - v.fold(f64::INFINITY, f64::min)
    };
    Ok(ExpectedRates {
        overall: expected(y_true, p_positive, &all).2,
        demographic_parity_difference: spread(|r| r.selection_rate),
        equalized_odds_difference: spread(|r| r.tpr).max(spread(|r| r.fpr)),
        by_group,
    })
}

/// Binary labels of values at a threshold: `value > threshold` is positive.
pub fn binarise(values: &[f64], threshold: f64) -> Vec<bool> {
    values.iter().map(|v| *v > threshold).collect()
}

/// Checks that a threshold splits the actual values into both classes.
pub fn check_threshold(actual: &[f64], threshold: f64) -> Result<()> {
    if !threshold.is_finite() {
        return Err(invalid("threshold", threshold, "must be a finite number"));
    }
    let min = actual.iter().copied().fold(f64::INFINITY, f64::min);
    let max = actual.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if actual.is_empty() {
        return Err(invalid("threshold", threshold, "no actual values"));
    }
    if threshold >= max || threshold < min {
        return Err(FairnessError::ThresholdOutOfRange {
            threshold,
            min,
            max,
            side: if threshold >= max {
                "negative"
            } else {
                "positive"
            }
            .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_rows_follow_sklearn() {
        // Group b has no positives: TPR 0; every FPR 0 → FPR ratio undefined.
        let yt = [true, false, false, false];
        let yp = [true, false, false, false];
        let g: Vec<String> = ["a", "a", "b", "b"].iter().map(|s| s.to_string()).collect();
        let r = classification_report(&yt, &yp, &g).unwrap();
        assert_eq!(r.by_group[1].rates.tpr, 0.0);
        assert_eq!(r.ratio_between_groups.fpr, None);
        assert_eq!(r.between_groups.equal_opportunity_ratio, Some(0.0));
        // worst case: min(tpr ratio 0, fpr ratio NaN) = 0 ; mean skips NaN → 0
        assert_eq!(r.between_groups.equalized_odds_ratio, Some(0.0));
        assert_eq!(r.between_groups.equalized_odds_ratio_agg_mean, Some(0.0));
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains("group b has no positive"))
        );
    }

    #[test]
    fn undefined_tpr_ratio_makes_worst_case_undefined() {
        let yt = [true, false, true, false];
        let yp = [false, true, false, false];
        let g: Vec<String> = ["a", "a", "b", "b"].iter().map(|s| s.to_string()).collect();
        let r = classification_report(&yt, &yp, &g).unwrap();
        assert_eq!(r.between_groups.equal_opportunity_ratio, None);
        assert_eq!(r.between_groups.equalized_odds_ratio, None);
        assert_eq!(r.between_groups.equalized_odds_ratio_agg_mean, Some(0.0));
        assert_eq!(r.to_overall.equal_opportunity_ratio, None);
    }

    #[test]
    fn threshold_checks() {
        let a = [1.0, 2.0, 3.0];
        assert!(check_threshold(&a, 2.0).is_ok());
        assert!(
            check_threshold(&a, 3.0)
                .unwrap_err()
                .to_string()
                .contains("negative")
        );
        assert!(
            check_threshold(&a, 0.5)
                .unwrap_err()
                .to_string()
                .contains("positive")
        );
        assert!(check_threshold(&a, f64::NAN).is_err());
    }

    #[test]
    fn expected_rates_are_the_average_over_draws() {
        let y = [true, false, true, false];
        let g: Vec<String> = ["a", "a", "b", "b"].map(String::from).to_vec();
        // Certain predictions give the ordinary rates.
        let sure = expected_rates(&y, &[1.0, 0.0, 1.0, 1.0], &g).unwrap();
        let plain = classification_report(&y, &[true, false, true, true], &g).unwrap();
        assert_eq!(sure.overall, plain.overall);
        assert_eq!(sure.by_group[1].rates, plain.by_group[1].rates);
        assert!(
            (sure.demographic_parity_difference
                - plain.between_groups.demographic_parity_difference)
                .abs()
                < 1e-12
        );
        assert!(
            (sure.equalized_odds_difference - plain.between_groups.equalized_odds_difference).abs()
                < 1e-12
        );
        // Coin flips in group b: expected selection 0.5, accuracy 0.5.
        let e = expected_rates(&y, &[1.0, 0.0, 0.5, 0.5], &g).unwrap();
        assert_eq!(e.by_group[1].rates.selection_rate, 0.5);
        assert_eq!(e.by_group[1].rates.accuracy, 0.5);
        assert_eq!(e.overall.accuracy, 0.75);
        assert_eq!(e.demographic_parity_difference, 0.0);
        assert_eq!(e.equalized_odds_difference, 0.5);
        assert!(expected_rates(&y, &[1.5, 0.0, 0.0, 0.0], &g).is_err());
    }
}
