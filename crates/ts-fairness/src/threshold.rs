//! Post-processing mitigation: a threshold optimizer in the manner of fairlearn's
//! `ThresholdOptimizer` (objective: accuracy, no flipping, grid of 1000 steps).
//!
//! For every group it builds the upper convex hull of the achievable trade-offs over all
//! thresholds of the continuous forecast (selection rate vs accuracy for demographic parity, FPR vs
//! TPR for equalized odds), then chooses one common operating point:
//! - demographic parity: the selection rate that maximises the overall accuracy (the groups'
//!   accuracies weighted by their sizes);
//! - equalized odds: the FPR whose smallest TPR over the groups gives the least error; groups
//!   above that TPR are mixed with the constant predictor on the ROC diagonal (`p_ignore`).
//!
//! A point between two hull vertices is reached by randomising between their two thresholds
//! (probabilities `p0`, `p1`), as fairlearn does. The fitted rule is applied to new forecasts with
//! a seeded random generator and is saved and loaded as JSON.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{FairnessError, Result, invalid};

/// The constraint to satisfy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Constraint {
    /// Equal selection rates.
    DemographicParity,
    /// Equal true and false positive rates.
    EqualizedOdds,
}

impl std::str::FromStr for Constraint {
    type Err = FairnessError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "demographic_parity" | "dp" => Ok(Self::DemographicParity),
            "equalized_odds" | "eo" => Ok(Self::EqualizedOdds),
            _ => Err(invalid(
                "constraint",
                s,
                "expected demographic_parity or equalized_odds",
            )),
        }
    }
}

/// `score > threshold` (thresholds may be infinite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Threshold(pub f64);

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else if self.0 > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(f64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(x) => Ok(Self(x)),
            Raw::S(s) if s == "inf" => Ok(Self(f64::INFINITY)),
            Raw::S(s) if s == "-inf" => Ok(Self(f64::NEG_INFINITY)),
            Raw::S(s) => Err(serde::de::Error::custom(format!(
                "threshold {s:?}: expected a number, \"inf\" or \"-inf\""
            ))),
        }
    }
}

/// One group's randomised rule: with probability `p_ignore` predict positive with probability
/// `constant`; otherwise use threshold `t0` with probability `p0` and `t1` with probability `p1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRule {
    /// Group label.
    pub group: String,
    /// Weight of the constant predictor.
    pub p_ignore: f64,
    /// Its probability of a positive prediction.
    pub constant: f64,
    /// Weight of the first threshold.
    pub p0: f64,
    /// First threshold.
    pub t0: Threshold,
    /// Weight of the second threshold.
    pub p1: f64,
    /// Second threshold.
    pub t1: Threshold,
}

impl GroupRule {
    /// Probability of a positive prediction for a score.
    pub fn probability(&self, score: f64) -> f64 {
        let above = |t: Threshold| if score > t.0 { 1.0 } else { 0.0 };
        self.p_ignore * self.constant
            + (1.0 - self.p_ignore) * (self.p0 * above(self.t0) + self.p1 * above(self.t1))
    }
}

/// A fitted threshold optimizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOptimizer {
    /// The constraint it satisfies.
    pub constraint: Constraint,
    /// Grid steps over [0, 1].
    pub grid_size: usize,
    /// The common operating point: the selection rate (demographic parity) or FPR (equalized odds).
    pub x_best: f64,
    /// The TPR at that point (equalized odds) or the expected accuracy (demographic parity).
    pub y_best: f64,
    /// One rule per group seen in fitting.
    pub rules: Vec<GroupRule>,
    /// The forecast column it was fitted on (its rules' thresholds are in that column's units),
    /// when the caller recorded it; a file without one is applied to any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Point {
    x: f64,
    y: f64,
    t: f64,
}

/// All single-threshold trade-off points of a group (fairlearn's `_calculate_tradeoff_points`
/// without flipping), sorted by x then y.
fn tradeoff_points(scores: &[f64], labels: &[bool], dp: bool, group: &str) -> Result<Vec<Point>> {
    let n = scores.len();
    let n_pos = labels.iter().filter(|l| **l).count();
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return Err(FairnessError::Mitigation {
            method: "threshold optimizer".into(),
            reason: format!(
                "group {group:?} has only {} labels; the threshold optimizer needs both classes in every group",
                if n_pos == 0 { "negative" } else { "positive" }
            ),
        });
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut s: Vec<f64> = order.iter().map(|&i| scores[i]).collect();
    let l: Vec<bool> = order.iter().map(|&i| labels[i]).collect();
    s.push(f64::NEG_INFINITY);
    let mut i = 0;
    let (mut neg, mut pos) = (0usize, 0usize);
    let mut points = Vec::new();
    let mut first = true;
    while i < n {
        let threshold = if first {
            first = false;
            f64::INFINITY
        } else {
            let t = s[i];
            while i < n && s[i] == t {
                if l[i] {
                    pos += 1;
                } else {
                    neg += 1;
                }
                i += 1;
            }
            (t + s[i]) / 2.0
        };
        let (fp, tp) = (neg as f64, pos as f64);
        let tn = (n_neg - neg) as f64;
        let (x, y) = if dp {
            ((tp + fp) / n as f64, (tp + tn) / n as f64)
        } else {
            (fp / n_neg as f64, tp / n_pos as f64)
        };
        points.push(Point { x, y, t: threshold });
    }
    points.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    Ok(points)
}

/// The upper convex hull (Andrew's monotone chain, as fairlearn filters it).
fn upper_hull(points: &[Point]) -> Vec<Point> {
    let mut sel: Vec<Point> = Vec::new();
    for &r2 in points {
        while sel.len() >= 2 {
            let r1 = sel[sel.len() - 1];
            let r0 = sel[sel.len() - 2];
            if (r1.y - r0.y) * (r2.x - r0.x) <= (r2.y - r0.y) * (r1.x - r0.x) {
                sel.pop();
            } else {
                break;
            }
        }
        sel.push(r2);
    }
    sel
}

/// The hull interpolated at `x`: (y, p0, t0, p1, t1), with fairlearn's index convention
/// (`x_k < x <= x_{k+1}`, the first grid point kept at index 0).
fn interpolate(hull: &[Point], x: f64, first: bool) -> (f64, f64, f64, f64, f64) {
    if hull.len() == 1 {
        return (hull[0].y, 1.0, hull[0].t, 0.0, hull[0].t);
    }
    let mut k = hull.partition_point(|p| p.x <= x).saturating_sub(1);
    if !first && hull[k].x == x {
        k = k.saturating_sub(1);
    }
    k = k.min(hull.len() - 2);
    let (a, b) = (hull[k], hull[k + 1]);
    let p0 = (b.x - x) / (b.x - a.x);
    let p1 = 1.0 - p0;
    (p0 * a.y + p1 * b.y, p0, a.t, p1, b.t)
}

/// A group's row count and the upper hull of its trade-off points.
type GroupHull = (f64, Vec<Point>);

/// The best point on the grid and the per-group rules that reach it.
struct Optimum {
    /// Selection rate (demographic parity) or false positive rate (equalized odds).
    x_best: f64,
    /// Overall accuracy (demographic parity) or the true positive rate (equalized odds).
    y_best: f64,
    /// One rule per group.
    rules: Vec<GroupRule>,
}

/// Rejects inputs of different lengths, no rows, non-finite scores and grid sizes outside
/// 10 to 100000.
fn check_fit_input(
    scores: &[f64],
    labels: &[bool],
    groups: &[String],
    grid_size: usize,
) -> Result<()> {
    if scores.len() != labels.len() || scores.len() != groups.len() || scores.is_empty() {
        return Err(invalid(
            "threshold optimizer input",
            format!("{}/{}/{}", scores.len(), labels.len(), groups.len()),
            "scores, labels and groups must be non-empty and of the same length",
        ));
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(invalid(
            "score",
            scores[i],
            format!("row {} is not finite", i + 1),
        ));
    }
    if !(10..=100_000).contains(&grid_size) {
        return Err(invalid("grid size", grid_size, "choose 10 to 100000"));
    }
    Ok(())
}

/// The distinct group names, sorted; an error unless there are at least two.
fn group_names(groups: &[String]) -> Result<Vec<&String>> {
    let mut names: Vec<&String> = groups.iter().collect();
    names.sort();
    names.dedup();
    if names.len() < 2 {
        return Err(FairnessError::Mitigation {
            method: "threshold optimizer".into(),
            reason: format!(
                "only one group ({:?}) has rows; it needs at least two groups",
                names[0]
            ),
        });
    }
    Ok(names)
}

/// Each named group's row count and trade-off hull.
fn group_hulls(
    names: &[&String],
    scores: &[f64],
    labels: &[bool],
    groups: &[String],
    dp: bool,
) -> Result<Vec<GroupHull>> {
    let mut hulls = Vec::new();
    for g in names {
        let idx: Vec<usize> = (0..groups.len()).filter(|&i| &groups[i] == *g).collect();
        let s: Vec<f64> = idx.iter().map(|&i| scores[i]).collect();
        let l: Vec<bool> = idx.iter().map(|&i| labels[i]).collect();
        let pts = tradeoff_points(&s, &l, dp, g)?;
        hulls.push((idx.len() as f64, upper_hull(&pts)));
    }
    Ok(hulls)
}

/// A rule for `group` that ignores the score with probability `p_ignore` (then predicting
/// `constant`) and else mixes the two hull thresholds of `at`.
fn rule(group: &str, p_ignore: f64, constant: f64, at: (f64, f64, f64, f64, f64)) -> GroupRule {
    let (_, p0, t0, p1, t1) = at;
    GroupRule {
        group: group.to_string(),
        p_ignore,
        constant,
        p0,
        t0: Threshold(t0),
        p1,
        t1: Threshold(t1),
    }
}

/// Demographic parity: the common selection rate with the best overall accuracy (the first
/// maximum wins, as idxmax) over `n` rows.
fn demographic_parity_optimum(
    names: &[&String],
    hulls: &[GroupHull],
    grid: &[f64],
    n: f64,
) -> Optimum {
    let at = |h: &[Point], k: usize| interpolate(h, grid[k], k == 0);
    let mut best = (0usize, f64::NEG_INFINITY);
    for k in 0..grid.len() {
        let acc: f64 = hulls.iter().map(|(m, h)| m / n * at(h, k).0).sum();
        if acc > best.1 {
            best = (k, acc);
        }
    }
    let rules = names
        .iter()
        .zip(hulls)
        .map(|(g, (_, h))| rule(g, 0.0, 0.0, at(h, best.0)))
        .collect();
    Optimum {
        x_best: grid[best.0],
        y_best: best.1,
        rules,
    }
}

/// Equalized odds: the common false positive rate with the lowest overall error over `n`
/// rows with `n_pos` positives; groups above the lowest true positive rate are pulled down to
/// it by ignoring the score.
fn equalized_odds_optimum(
    names: &[&String],
    hulls: &[GroupHull],
    grid: &[f64],
    n: f64,
    n_pos: f64,
) -> Optimum {
    let at = |h: &[Point], k: usize| interpolate(h, grid[k], k == 0);
    let n_neg = n - n_pos;
    let mut best = (0usize, f64::INFINITY, 0.0);
    for (k, x) in grid.iter().enumerate() {
        let y_min = hulls
            .iter()
            .map(|(_, h)| at(h, k).0)
            .fold(f64::INFINITY, f64::min);
        let err = n_neg / n * x + n_pos / n * (1.0 - y_min);
        if err < best.1 {
            best = (k, err, y_min);
        }
    }
    let x_best = grid[best.0];
    let y_best = best.2;
    let rules = names
        .iter()
        .zip(hulls)
        .map(|(g, (_, h))| {
            let hit = at(h, best.0);
            let y = hit.0;
            let p_ignore = if y == x_best {
                0.0
            } else {
                (y - y_best) / (y - x_best)
            };
            rule(g, p_ignore, x_best, hit)
        })
        .collect();
    Optimum {
        x_best,
        y_best,
        rules,
    }
}

impl ThresholdOptimizer {
    /// Fits per-group rules on continuous `scores` (the forecasts), binary `labels` (the actuals
    /// above the threshold) and one group label per row.
    pub fn fit(
        scores: &[f64],
        labels: &[bool],
        groups: &[String],
        constraint: Constraint,
        grid_size: usize,
    ) -> Result<Self> {
        check_fit_input(scores, labels, groups, grid_size)?;
        let names = group_names(groups)?;
        let dp = constraint == Constraint::DemographicParity;
        let n = scores.len() as f64;
        let hulls = group_hulls(&names, scores, labels, groups, dp)?;
        let grid: Vec<f64> = (0..=grid_size)
            .map(|k| k as f64 / grid_size as f64)
            .collect();
        let best = if dp {
            demographic_parity_optimum(&names, &hulls, &grid, n)
        } else {
            let n_pos = labels.iter().filter(|l| **l).count() as f64;
            equalized_odds_optimum(&names, &hulls, &grid, n, n_pos)
        };
        Ok(Self {
            constraint,
            grid_size,
            x_best: best.x_best,
            y_best: best.y_best,
            rules: best.rules,
            target: None,
        })
    }

    /// Probability of a positive prediction for each row; a group not seen in fitting is an error.
    pub fn probabilities(&self, scores: &[f64], groups: &[String]) -> Result<Vec<f64>> {
        scores
            .iter()
            .zip(groups)
            .map(|(s, g)| {
                self.rules
                    .iter()
                    .find(|r| &r.group == g)
                    .map(|r| r.probability(*s))
                    .ok_or_else(|| FairnessError::Mitigation {
                        method: "threshold optimizer".into(),
                        reason: format!(
                            "group {g:?} was not seen when the optimizer was fitted (it knows {})",
                            self.rules
                                .iter()
                                .map(|r| r.group.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    })
            })
            .collect()
    }

    /// Randomised binary predictions, reproducible for a seed.
    pub fn predict(&self, scores: &[f64], groups: &[String], seed: u64) -> Result<Vec<bool>> {
        let p = self.probabilities(scores, groups)?;
        let mut rng = StdRng::seed_from_u64(seed);
        Ok(p.iter().map(|p| rng.random::<f64>() < *p).collect())
    }

    /// Saves the optimizer as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| FairnessError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        std::fs::write(path, text).map_err(|e| FairnessError::Io {
            path: path.to_path_buf(),
            message: format!("cannot write: {e}"),
        })
    }

    /// Loads an optimizer saved with [`ThresholdOptimizer::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| FairnessError::Io {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        serde_json::from_str(&text).map_err(|e| FairnessError::Io {
            path: path.to_path_buf(),
            message: format!("not a threshold optimizer file: {e}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classification_report;

    /// Group A's scores run higher than B's for the same labels.
    fn case() -> (Vec<f64>, Vec<bool>, Vec<String>) {
        let mut s = Vec::new();
        let mut l = Vec::new();
        let mut g = Vec::new();
        for i in 0..200 {
            let grp = if i % 2 == 0 { "A" } else { "B" };
            let x = (i as f64 * 0.37).sin() * 2.0 + (i % 7) as f64 * 0.1;
            let label = x > 0.0;
            let shift = if grp == "A" { 0.8 } else { -0.2 };
            s.push(x + shift + ((i * 13) % 5) as f64 * 0.05);
            l.push(label);
            g.push(grp.to_string());
        }
        (s, l, g)
    }

    #[test]
    fn demographic_parity_equalises_selection_in_expectation() {
        let (s, l, g) = case();
        let t = ThresholdOptimizer::fit(&s, &l, &g, Constraint::DemographicParity, 1000).unwrap();
        let p = t.probabilities(&s, &g).unwrap();
        let mean = |grp: &str| {
            let v: Vec<f64> = (0..s.len())
                .filter(|&i| g[i] == grp)
                .map(|i| p[i])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(
            (mean("A") - t.x_best).abs() < 1e-9,
            "{} vs {}",
            mean("A"),
            t.x_best
        );
        assert!((mean("B") - t.x_best).abs() < 1e-9);
        // Unmitigated parity gap is large; the expected gap is zero.
        let raw: Vec<bool> = s.iter().map(|x| *x > 0.0).collect();
        let before = classification_report(&l, &raw, &g).unwrap();
        assert!(before.between_groups.demographic_parity_difference > 0.1);
    }

    #[test]
    fn equalized_odds_matches_rates_in_expectation() {
        let (s, l, g) = case();
        let t = ThresholdOptimizer::fit(&s, &l, &g, Constraint::EqualizedOdds, 1000).unwrap();
        let p = t.probabilities(&s, &g).unwrap();
        let rate = |grp: &str, label: bool| {
            let v: Vec<f64> = (0..s.len())
                .filter(|&i| g[i] == grp && l[i] == label)
                .map(|i| p[i])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!((rate("A", true) - rate("B", true)).abs() < 1e-9);
        assert!((rate("A", false) - rate("B", false)).abs() < 1e-9);
        assert!((rate("A", false) - t.x_best).abs() < 1e-9);
    }

    #[test]
    fn json_round_trip_with_infinite_thresholds() {
        let (s, l, g) = case();
        let t = ThresholdOptimizer::fit(&s, &l, &g, Constraint::EqualizedOdds, 100).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        let mut t2 = t.clone();
        t2.rules[0].t0 = Threshold(f64::INFINITY);
        t2.save(&path).unwrap();
        let back = ThresholdOptimizer::load(&path).unwrap();
        assert_eq!(back, t2);
        assert_eq!(
            t.predict(&s, &g, 7).unwrap(),
            ThresholdOptimizer::predict(&t, &s, &g, 7).unwrap()
        );
        let e = t
            .probabilities(&[1.0], &["Z".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not seen"), "{e}");
    }

    #[test]
    fn degenerate_group_is_an_error() {
        let s = vec![1.0, 2.0, 3.0, 4.0];
        let l = vec![true, true, false, true];
        let g: Vec<String> = ["A", "A", "B", "B"].iter().map(|x| x.to_string()).collect();
        let e = ThresholdOptimizer::fit(&s, &l, &g, Constraint::DemographicParity, 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("group \"A\" has only positive"), "{e}");
    }
}
