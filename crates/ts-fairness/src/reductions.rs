//! Reductions mitigation: exponentiated gradient (Agarwal et al. 2018/2019, as in fairlearn's
//! `ExponentiatedGradient`) around the forecaster, which is retrained with per-window weights.
//!
//! Each iteration turns the current Lagrange multipliers `λ = B·exp(θ) / (1 + Σ exp(θ))` into one
//! weight per training window (the best response of the Lagrangian), retrains the model with
//! those weights (`TrainConfig::sample_weights`), measures the constraint violations `γ` of the new
//! model on the training windows, and moves `θ += η (γ − ε)`. The result is the mixture of all
//! iterates with equal weights (the averaged play of the game), applied as the weighted mean of the
//! members' forecasts.
//!
//! Constraints (each window belongs to the group of the row its first step predicts):
//! - bounded group loss: `γ_g = loss_g / ζ − 1` with `ζ = (1 + ε) ×` the first iterate's overall
//!   training loss; the weights `1/n + λ_g / n_g` are the exact reduction for a regressor;
//! - demographic parity (`γ = ±(sel_g − sel)`) and equalized odds (`γ = ±(sel_{g,y} − sel_y)` per
//!   actual label `y`) on forecasts binarised at a threshold. fairlearn's best response is a
//!   cost-sensitive classification (relabel to the cheaper label, weight `|c0 − c1|`); a
//!   forecaster cannot be relabelled, so a window keeps weight `|c0 − c1|` when its actual label is
//!   the cheaper one and gets weight 0 otherwise. This is an approximation of fairlearn's step.

//!
//! The game itself, [`exponentiated_gradient_with`], works on plain slices with any learner that
//! fits per-sample weights; with the `lstm` feature, `exponentiated_gradient` plays it with the
//! tsf forecaster.
//!
//! ```
//! use ts_fairness::reductions::{
//!     Fitted, ReductionConfig, ReductionConstraint, exponentiated_gradient_with,
//! };
//! // A "learner" that predicts the weighted mean of the actuals.
//! let actual = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0];
//! let groups = [0, 0, 0, 1, 1, 1];
//! let names = ["low".to_string(), "high".to_string()];
//! let mut rc = ReductionConfig::new(ReductionConstraint::BoundedGroupLoss, 0.0);
//! rc.iterations = 2;
//! let mixture = exponentiated_gradient_with(&actual, &groups, &names, &rc, |w: &[f32]| {
//!     let total: f64 = w.iter().map(|x| *x as f64).sum();
//!     let mean = w.iter().zip(&actual).map(|(w, a)| *w as f64 * a).sum::<f64>() / total;
//!     Ok(Fitted { model: mean, predicted: vec![mean; actual.len()], epochs: 1 })
//! })?;
//! assert_eq!(mixture.models.len(), 2);
//! assert_eq!(mixture.weights, vec![0.5, 0.5]);
//! // The second round weighs the groups differently from the first.
//! assert_ne!(mixture.iterations[0].lambda, mixture.iterations[1].lambda);
//! # Ok::<(), ts_fairness::FairnessError>(())
//! ```

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{FairnessError, Result, invalid};

/// The constraint of a reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ReductionConstraint {
    /// Equal selection rates of the binarised forecasts.
    #[cfg_attr(feature = "clap", value(name = "demographic_parity", alias = "dp"))]
    DemographicParity,
    /// Equal true and false positive rates of the binarised forecasts.
    #[cfg_attr(feature = "clap", value(name = "equalized_odds", alias = "eo"))]
    EqualizedOdds,
    /// No group's training loss above a bound (reductions only).
    #[cfg_attr(feature = "clap", value(name = "bounded_group_loss", alias = "bgl"))]
    BoundedGroupLoss,
}

impl std::str::FromStr for ReductionConstraint {
    type Err = FairnessError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "demographic_parity" | "dp" => Ok(Self::DemographicParity),
            "equalized_odds" | "eo" => Ok(Self::EqualizedOdds),
            "bounded_group_loss" | "bgl" => Ok(Self::BoundedGroupLoss),
            _ => Err(invalid(
                "constraint",
                s,
                "expected demographic_parity, equalized_odds or bounded_group_loss",
            )),
        }
    }
}

/// Settings of [`exponentiated_gradient_with`] (and, with `lstm`, `exponentiated_gradient`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReductionConfig {
    /// The constraint.
    pub constraint: ReductionConstraint,
    /// Iterations (= retrainings), 1 to 50.
    pub iterations: usize,
    /// Allowed violation (parity constraints) or relative slack of the loss bound (bounded group
    /// loss).
    pub epsilon: f64,
    /// Bound `B` on `‖λ‖₁` (fairlearn's default is `1 / ε`).
    pub bound: f64,
    /// Step size of the multiplier update.
    pub eta: f64,
    /// Threshold in original units that binarises actuals and forecasts (parity constraints).
    pub threshold: f64,
    /// Epochs per retraining (`None`: the configuration's).
    pub epochs: Option<usize>,
}

impl ReductionConfig {
    /// fairlearn's defaults for a constraint: ε = 0.01, B = 1/ε, η = 2, three iterations.
    pub fn new(constraint: ReductionConstraint, threshold: f64) -> Self {
        Self {
            constraint,
            iterations: 3,
            epsilon: 0.01,
            bound: 100.0,
            eta: 2.0,
            threshold,
            epochs: None,
        }
    }
}

/// One iteration of the game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IterationRecord {
    /// 1-based iteration.
    pub iteration: usize,
    /// Names of the constraints, e.g. `A+` or `A,y=1-` or `A`.
    pub constraints: Vec<String>,
    /// Multipliers used for the weights.
    pub lambda: Vec<f64>,
    /// Violations of the retrained model on the training windows.
    pub gamma: Vec<f64>,
    /// Largest and smallest window weight (normalised to mean 1).
    pub weight_range: (f64, f64),
    /// Training epochs run.
    pub epochs: usize,
    /// Seconds of the retraining.
    pub seconds: f64,
}

/// What the constraint needs to know about the training windows.
struct Cells {
    /// Group index of each window.
    group: Vec<usize>,
    /// Actual label of each window (parity constraints).
    label: Vec<bool>,
    n_groups: usize,
    group_names: Vec<String>,
}

impl Cells {
    /// Checks the settings and the samples (one group index per actual, at least two groups,
    /// both classes for the parity constraints) and lays out the cells, groups in index order.
    fn new(
        actual: &[f64],
        groups: &[usize],
        group_names: &[String],
        rc: &ReductionConfig,
    ) -> Result<Self> {
        if !(1..=50).contains(&rc.iterations) {
            return Err(invalid("iterations", rc.iterations, "choose 1 to 50"));
        }
        if !(rc.epsilon.is_finite() && rc.epsilon >= 0.0) {
            return Err(invalid("epsilon", rc.epsilon, "must be >= 0"));
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(rc.bound) || !positive(rc.eta) {
            return Err(invalid(
                "bound/eta",
                format!("{}/{}", rc.bound, rc.eta),
                "must be > 0",
            ));
        }
        if actual.len() != groups.len() || actual.is_empty() {
            return Err(invalid(
                "reduction input",
                format!("{}/{}", actual.len(), groups.len()),
                "actuals and groups must be non-empty and of the same length",
            ));
        }
        if let Some(g) = groups.iter().find(|g| **g >= group_names.len()) {
            return Err(invalid(
                "group index",
                g,
                format!("there are {} group names", group_names.len()),
            ));
        }
        let mut used: Vec<usize> = groups.to_vec();
        used.sort_unstable();
        used.dedup();
        if used.len() < 2 {
            return Err(FairnessError::Mitigation {
                method: "exponentiated gradient".into(),
                reason: format!(
                    "only one group ({:?}) has training samples; it needs at least two groups",
                    group_names[used[0]]
                ),
            });
        }
        let remap = |g: usize| used.iter().position(|u| *u == g).unwrap_or_default();
        let cells = Self {
            group: groups.iter().map(|&g| remap(g)).collect(),
            label: actual.iter().map(|a| *a > rc.threshold).collect(),
            n_groups: used.len(),
            group_names: used.iter().map(|&g| group_names[g].clone()).collect(),
        };
        if rc.constraint != ReductionConstraint::BoundedGroupLoss {
            let pos = cells.label.iter().filter(|l| **l).count();
            if pos == 0 || pos == cells.label.len() {
                return Err(FairnessError::ThresholdOutOfRange {
                    threshold: rc.threshold,
                    min: actual.iter().copied().fold(f64::INFINITY, f64::min),
                    max: actual.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    side: if pos == 0 { "negative" } else { "positive" }.into(),
                });
            }
        }
        Ok(cells)
    }

    fn count(&self, g: Option<usize>, y: Option<bool>) -> usize {
        (0..self.group.len())
            .filter(|&i| {
                g.is_none_or(|g| self.group[i] == g) && y.is_none_or(|y| self.label[i] == y)
            })
            .count()
    }
}

fn names(c: ReductionConstraint, cells: &Cells) -> Vec<String> {
    let mut out = Vec::new();
    for g in &cells.group_names {
        match c {
            ReductionConstraint::BoundedGroupLoss => out.push(g.clone()),
            ReductionConstraint::DemographicParity => {
                out.push(format!("{g}+"));
                out.push(format!("{g}-"));
            }
            ReductionConstraint::EqualizedOdds => {
                for y in [0, 1] {
                    out.push(format!("{g},y={y}+"));
                    out.push(format!("{g},y={y}-"));
                }
            }
        }
    }
    out
}

/// Index of constraint `(g, y, sign)` in the layout of [`names`].
fn idx(c: ReductionConstraint, g: usize, y: bool, plus: bool) -> usize {
    let s = if plus { 0 } else { 1 };
    match c {
        ReductionConstraint::BoundedGroupLoss => g,
        ReductionConstraint::DemographicParity => 2 * g + s,
        ReductionConstraint::EqualizedOdds => 4 * g + 2 * usize::from(y) + s,
    }
}

/// Best-response window weights for multipliers `lambda`.
fn weights(c: ReductionConstraint, cells: &Cells, lambda: &[f64]) -> Vec<f64> {
    let n = cells.group.len() as f64;
    match c {
        ReductionConstraint::BoundedGroupLoss => {
            let ng: Vec<f64> = (0..cells.n_groups)
                .map(|g| cells.count(Some(g), None) as f64)
                .collect();
            cells
                .group
                .iter()
                .map(|&g| 1.0 / n + lambda[g] / ng[g].max(1.0))
                .collect()
        }
        ReductionConstraint::DemographicParity | ReductionConstraint::EqualizedOdds => {
            let eo = c == ReductionConstraint::EqualizedOdds;
            // d[g][y]: extra cost of predicting positive for a window of group g (and label y).
            let mut d = vec![[0.0f64; 2]; cells.n_groups];
            for y in [false, true] {
                let ny = if eo {
                    cells.count(None, Some(y))
                } else {
                    cells.group.len()
                } as f64;
                let total: f64 = (0..cells.n_groups)
                    .map(|g| lambda[idx(c, g, y, true)] - lambda[idx(c, g, y, false)])
                    .sum();
                for (g, dg) in d.iter_mut().enumerate() {
                    let ngy = if eo {
                        cells.count(Some(g), Some(y))
                    } else {
                        cells.count(Some(g), None)
                    } as f64;
                    let own = lambda[idx(c, g, y, true)] - lambda[idx(c, g, y, false)];
                    dg[usize::from(y)] = own / ngy.max(1.0) - total / ny.max(1.0);
                }
            }
            cells
                .group
                .iter()
                .zip(&cells.label)
                .map(|(&g, &y)| {
                    // cost(1) - cost(0): a wrong positive costs 1/n, a wrong negative 1/n.
                    let diff = if y { -1.0 / n } else { 1.0 / n } + d[g][usize::from(y)];
                    let keeps_label = if y { diff < 0.0 } else { diff > 0.0 };
                    if keeps_label { diff.abs() } else { 0.0 }
                })
                .collect()
        }
    }
}

/// Constraint violations of forecasts (original units) of the training windows.
fn gammas(
    c: ReductionConstraint,
    cells: &Cells,
    actual: &[f64],
    predicted: &[f64],
    threshold: f64,
    zeta: f64,
) -> Vec<f64> {
    let mut out = vec![0.0; names(c, cells).len()];
    match c {
        ReductionConstraint::BoundedGroupLoss => {
            for (g, slot) in out.iter_mut().enumerate() {
                let idx: Vec<usize> = (0..actual.len()).filter(|&i| cells.group[i] == g).collect();
                let loss = idx
                    .iter()
                    .map(|&i| (actual[i] - predicted[i]).powi(2))
                    .sum::<f64>()
                    / idx.len().max(1) as f64;
                *slot = loss / zeta - 1.0;
            }
        }
        ReductionConstraint::DemographicParity | ReductionConstraint::EqualizedOdds => {
            let eo = c == ReductionConstraint::EqualizedOdds;
            let pos: Vec<bool> = predicted.iter().map(|p| *p > threshold).collect();
            let rate = |g: Option<usize>, y: Option<bool>| {
                let sel: Vec<usize> = (0..pos.len())
                    .filter(|&i| {
                        g.is_none_or(|g| cells.group[i] == g)
                            && y.is_none_or(|y| cells.label[i] == y)
                    })
                    .collect();
                if sel.is_empty() {
                    0.0
                } else {
                    sel.iter().filter(|&&i| pos[i]).count() as f64 / sel.len() as f64
                }
            };
            for g in 0..cells.n_groups {
                for y in [false, true] {
                    if !eo && y {
                        continue;
                    }
                    let (gy, yy) = if eo {
                        (rate(Some(g), Some(y)), rate(None, Some(y)))
                    } else {
                        (rate(Some(g), None), rate(None, None))
                    };
                    out[idx(c, g, y, true)] = gy - yy;
                    out[idx(c, g, y, false)] = yy - gy;
                }
            }
        }
    }
    out
}

/// One fit of the learner inside the game.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted<M> {
    /// The fitted model.
    pub model: M,
    /// Its predictions of the training samples (same units as the actuals).
    pub predicted: Vec<f64>,
    /// Training epochs it ran (reported).
    pub epochs: usize,
}

/// The mixture found by [`exponentiated_gradient_with`]: the iterates with equal weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixture<M> {
    /// The models, one per iteration.
    pub models: Vec<M>,
    /// Mixture weights (sum 1).
    pub weights: Vec<f64>,
    /// The game's history.
    pub iterations: Vec<IterationRecord>,
    /// Why the game ended before its last iteration, if it did.
    pub stopped: Option<String>,
}

/// The Lagrange multipliers of the constraint weights `theta`: `bound · exp(θ) / (1 + Σ exp(θ))`.
fn multipliers(theta: &[f64], bound: f64) -> Vec<f64> {
    let denom = 1.0 + theta.iter().map(|x| x.exp()).sum::<f64>();
    theta.iter().map(|x| bound * x.exp() / denom).collect()
}

/// The smallest and largest sample weight.
fn weight_range(wn: &[f32]) -> (f64, f64) {
    (
        wn.iter().copied().fold(f32::INFINITY, f32::min) as f64,
        wn.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64,
    )
}

/// Rejects a learner's predictions that are not one per sample (`n`).
fn check_predictions(predicted: &[f64], n: usize) -> Result<()> {
    if predicted.len() != n {
        return Err(invalid(
            "learner predictions",
            predicted.len(),
            format!("expected one per sample ({n})"),
        ));
    }
    Ok(())
}

/// The bounded-group-loss bound ζ: `(1 + epsilon)` times the first iterate's MSE.
fn loss_bound(actual: &[f64], predicted: &[f64], epsilon: f64) -> f64 {
    let mse = actual
        .iter()
        .zip(predicted)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / actual.len() as f64;
    (1.0 + epsilon) * mse.max(f64::MIN_POSITIVE)
}

/// Runs exponentiated gradient on plain slices: `actual` holds the training samples' actual
/// values, `groups` each sample's index into `group_names`; `fit` trains the learner with one
/// weight per sample (normalised to mean 1) and returns its predictions of the samples.
///
/// # Errors
/// Out-of-range settings, fewer than two groups with samples, a threshold that leaves one class
/// (parity constraints), or the learner's own error.
pub fn exponentiated_gradient_with<M>(
    actual: &[f64],
    groups: &[usize],
    group_names: &[String],
    rc: &ReductionConfig,
    mut fit: impl FnMut(&[f32]) -> Result<Fitted<M>>,
) -> Result<Mixture<M>> {
    let cells = Cells::new(actual, groups, group_names, rc)?;
    let constraint_names = names(rc.constraint, &cells);
    let mut theta = vec![0.0f64; constraint_names.len()];
    let mut zeta = f64::NAN;
    let mut models = Vec::with_capacity(rc.iterations);
    let mut records = Vec::with_capacity(rc.iterations);
    let mut stopped = None;
    for t in 1..=rc.iterations {
        let t0 = Instant::now();
        let lambda = multipliers(&theta, rc.bound);
        let w = weights(rc.constraint, &cells, &lambda);
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        if mean <= 0.0 {
            if models.is_empty() {
                return Err(invalid(
                    "reduction weights",
                    "all 0",
                    "every window lost its weight; lower the bound or raise epsilon",
                ));
            }
            // Every window now prefers the label it does not have: a forecaster cannot be
            // reweighted further toward the constraint. Keep the iterates found so far.
            stopped = Some(format!(
                "stopped before iteration {t}: the constraint's best response gives every window weight 0 (the groups' actual labels cannot be reconciled with the constraint by reweighting)"
            ));
            break;
        }
        let wn: Vec<f32> = w.iter().map(|v| (v / mean) as f32).collect();
        let range = weight_range(&wn);
        let fitted = fit(&wn)?;
        let predicted = &fitted.predicted;
        check_predictions(predicted, actual.len())?;
        if t == 1 {
            zeta = loss_bound(actual, predicted, rc.epsilon);
        }
        let gamma = gammas(rc.constraint, &cells, actual, predicted, rc.threshold, zeta);
        let slack = if rc.constraint == ReductionConstraint::BoundedGroupLoss {
            0.0
        } else {
            rc.epsilon
        };
        for (th, g) in theta.iter_mut().zip(&gamma) {
            *th += rc.eta * (g - slack);
        }
        records.push(IterationRecord {
            iteration: t,
            constraints: constraint_names.clone(),
            lambda,
            gamma,
            weight_range: range,
            epochs: fitted.epochs,
            seconds: t0.elapsed().as_secs_f64(),
        });
        models.push(fitted.model);
    }
    let k = models.len();
    Ok(Mixture {
        models,
        weights: vec![1.0 / k as f64; k],
        iterations: records,
        stopped,
    })
}

#[cfg(feature = "lstm")]
pub use lstm::{ReductionOutcome, exponentiated_gradient};

/// Exponentiated gradient with the tsf forecaster as the learner.
#[cfg(feature = "lstm")]
mod lstm {
    use std::sync::Arc;

    use ts_data::{Frame, Prepared};
    use ts_model::Forecaster;
    use ts_train::pipeline::{self, Bundle};
    use ts_train::{ForecastConfig, Silent, predict_scaled};

    use super::{Fitted, IterationRecord, ReductionConfig, exponentiated_gradient_with};
    use crate::error::{FairnessError, Result};
    use crate::groups::Grouping;

    /// The mixture found by [`exponentiated_gradient`].
    #[derive(Debug)]
    pub struct ReductionOutcome {
        /// The retrained models, one per iteration.
        pub models: Vec<Forecaster>,
        /// Mixture weights (sum 1).
        pub weights: Vec<f64>,
        /// The game's history.
        pub iterations: Vec<IterationRecord>,
        /// Why the game ended before its last iteration, if it did.
        pub stopped: Option<String>,
        /// The data the models were trained on (their scaler and windows).
        pub prepared: Prepared,
    }

    impl ReductionOutcome {
        /// The mixture's scaled forecasts of windows: the weighted mean of the members' forecasts.
        pub fn predict_scaled(
            &self,
            windows: &ts_data::Windows,
            device: &burn::tensor::Device,
        ) -> Result<Vec<f32>> {
            let mut out: Vec<f64> = Vec::new();
            for (m, w) in self.models.iter().zip(&self.weights) {
                let p = predict_scaled(m, windows, device, 512)?;
                if out.is_empty() {
                    out = vec![0.0; p.len()];
                }
                for (o, v) in out.iter_mut().zip(&p) {
                    *o += w * *v as f64;
                }
            }
            Ok(out.into_iter().map(|v| v as f32).collect())
        }

        /// Member `k` as a bundle (the original model file's header with this fit's scaler and
        /// network architecture: one network where the original may average several), for
        /// evaluating or saving it like any model.
        pub fn member_bundle(&self, base: &Bundle, k: usize) -> Bundle {
            let mut header = base.header.clone();
            header.scaler = self.prepared.scaler.clone();
            header.model = self.models[k].config.clone();
            Bundle {
                header,
                model: self.models[k].clone(),
                config: base.config.clone(),
                device: base.device.clone(),
            }
        }
    }

    /// Runs exponentiated gradient: retrains the forecaster of `cfg` on `frame` with per-window
    /// weights for `rc.iterations` rounds under the constraint, with the groups of `grouping`
    /// (labels per row of `frame`; each window belongs to the group of the row its first step
    /// predicts). The constraint reads the first step of `target`, one of the model's targets
    /// (`None`: the first).
    pub fn exponentiated_gradient(
        frame: &Frame,
        cfg: &ForecastConfig,
        grouping: &Grouping,
        rc: &ReductionConfig,
        target: Option<&str>,
    ) -> Result<ReductionOutcome> {
        if grouping.labels.len() != frame.n_rows() {
            return Err(FairnessError::Grouping {
                grouping: grouping.name.clone(),
                reason: format!(
                    "{} labels for a table of {} rows",
                    grouping.labels.len(),
                    frame.n_rows()
                ),
            });
        }
        let mut cfg = cfg.clone();
        if let Some(e) = rc.epochs {
            cfg.train.epochs = e;
        }
        let prepared = pipeline::prepare_frame(frame, &cfg)?;
        let device = ts_model::make_device(cfg.device)
            .or_else(|_| ts_model::make_device(ts_model::DeviceChoice::Cpu))
            .map_err(ts_train::TrainError::from)?;
        let spec = &prepared.spec;
        let scaler = &prepared.scaler;
        let train = &prepared.train;
        let k =
            match target {
                Some(t) => spec.targets.iter().position(|n| n == t).ok_or_else(|| {
                    FairnessError::Grouping {
                        grouping: grouping.name.clone(),
                        reason: format!(
                            "the model does not forecast {t:?}; its targets are {}",
                            spec.targets.join(", ")
                        ),
                    }
                })?,
                None => 0,
            };
        let col = spec.target_index[k];
        let to_orig = |v: f32| scaler.inverse_value(col, v as f64);
        // The first step of the target (output `k`), in original units, and each window's group.
        let actual: Vec<f64> = (0..train.n)
            .map(|i| ts_train::actual_original(train, spec, scaler, i, k))
            .collect();
        let present: Vec<usize> = grouping.indices();
        let groups: Vec<usize> = train.anchors.iter().map(|&a| present[a + 1]).collect();
        let names: Vec<String> = grouping.groups.iter().map(|g| g.label.clone()).collect();
        if let Some(&first) = groups.first()
            && groups.iter().all(|g| *g == first)
        {
            return Err(FairnessError::SingleGroup {
                grouping: grouping.name.clone(),
                group: names[first].clone(),
            });
        }
        let o = spec.n_outputs();
        let mixture = exponentiated_gradient_with(&actual, &groups, &names, rc, |wn| {
            let mut c = cfg.clone();
            c.train.sample_weights = Some(Arc::new(wn.to_vec()));
            // One network per fit: the reduction fits many, and its mixture averages them.
            c.train.seed_members = 1;
            let fit = pipeline::train_prepared(frame, prepared.clone(), &c, &device, &mut Silent)?;
            let p = predict_scaled(&fit.model, train, &device, 512)?;
            Ok(Fitted {
                predicted: (0..train.n).map(|i| to_orig(p[i * o + k])).collect(),
                epochs: fit.report.history.len(),
                model: fit.model,
            })
        })?;
        Ok(ReductionOutcome {
            models: mixture.models,
            weights: mixture.weights,
            iterations: mixture.iterations,
            stopped: mixture.stopped,
            prepared,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells() -> Cells {
        Cells {
            group: vec![0, 0, 0, 1, 1, 1, 1, 1],
            label: vec![true, false, true, false, false, true, false, false],
            n_groups: 2,
            group_names: vec!["A".into(), "B".into()],
        }
    }

    #[test]
    fn bounded_group_loss_weights_are_the_exact_reduction() {
        let w = weights(ReductionConstraint::BoundedGroupLoss, &cells(), &[0.3, 0.0]);
        assert!((w[0] - (1.0 / 8.0 + 0.3 / 3.0)).abs() < 1e-12);
        assert!((w[4] - 1.0 / 8.0).abs() < 1e-12);
    }

    #[test]
    fn zero_multipliers_give_uniform_weights() {
        for c in [
            ReductionConstraint::DemographicParity,
            ReductionConstraint::EqualizedOdds,
        ] {
            let n = names(c, &cells()).len();
            let w = weights(c, &cells(), &vec![0.0; n]);
            assert!(
                w.iter().all(|x| (x - 1.0 / 8.0).abs() < 1e-12),
                "{c:?}: {w:?}"
            );
            // Equal + and - multipliers cancel.
            let w = weights(c, &cells(), &vec![5.0; n]);
            assert!(
                w.iter().all(|x| (x - 1.0 / 8.0).abs() < 1e-12),
                "{c:?}: {w:?}"
            );
        }
    }

    #[test]
    fn penalising_a_groups_selection_downweights_its_positives() {
        let c = ReductionConstraint::DemographicParity;
        let mut lambda = vec![0.0; 4];
        lambda[idx(c, 0, false, true)] = 0.2; // A selected too often
        let w = weights(c, &cells(), &lambda);
        // A's positives lose weight, A's negatives gain.
        assert!(w[0] < 1.0 / 8.0);
        assert!(w[1] > 1.0 / 8.0);
        // B gets the opposite push.
        assert!(w[5] > 1.0 / 8.0);
        assert!(w[4] < 1.0 / 8.0);
        // A large multiplier makes A's positives prefer the other label: weight 0.
        lambda[idx(c, 0, false, true)] = 2.0;
        assert_eq!(weights(c, &cells(), &lambda)[0], 0.0);
    }

    #[test]
    fn violations_of_parity() {
        let c = ReductionConstraint::DemographicParity;
        let actual = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let predicted = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
        let g = gammas(c, &cells(), &actual, &predicted, 0.5, 1.0);
        // sel_A = 1, sel = 4/8 → A+ = 0.5, A- = -0.5; sel_B = 0.2 → B+ = -0.3.
        assert!((g[0] - 0.5).abs() < 1e-12 && (g[1] + 0.5).abs() < 1e-12);
        assert!((g[2] + 0.3).abs() < 1e-12);
        let b = gammas(
            ReductionConstraint::BoundedGroupLoss,
            &cells(),
            &actual,
            &predicted,
            0.5,
            0.5,
        );
        // A: one error of 1 in 3 → 1/3 / 0.5 - 1
        assert!((b[0] - (2.0 / 3.0 - 1.0)).abs() < 1e-12);
        assert!((b[1] + 1.0).abs() < 1e-12);
    }
}
