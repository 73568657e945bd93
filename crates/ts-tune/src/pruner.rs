//! Pruners stop unpromising trials early from their intermediate values: [`NopPruner`],
//! [`MedianPruner`] and [`SuccessiveHalvingPruner`], with Optuna's defaults and rules.

use serde_json::Value;

use crate::trial::{Direction, FrozenTrial, TrialState};

/// What a pruner sees.
#[derive(Debug, Clone, Copy)]
pub struct PruneContext<'a> {
    /// Every trial of the study.
    pub trials: &'a [FrozenTrial],
    /// The trial to judge (with its intermediate values so far).
    pub trial: &'a FrozenTrial,
    /// The study direction.
    pub direction: Direction,
}

/// Decides whether a trial should stop.
pub trait Pruner: Send + Sync {
    /// Name for reports.
    fn name(&self) -> String;
    /// `true` to prune. `set_attr` stores a system attribute on the trial (successive halving
    /// records the rungs a trial passed).
    fn prune(&self, ctx: &PruneContext<'_>, set_attr: &mut dyn FnMut(&str, Value)) -> bool;
}

/// Never prunes.
#[derive(Debug, Clone, Copy, Default)]
pub struct NopPruner;

impl Pruner for NopPruner {
    fn name(&self) -> String {
        "none".into()
    }
    fn prune(&self, _ctx: &PruneContext<'_>, _set_attr: &mut dyn FnMut(&str, Value)) -> bool {
        false
    }
}

/// Prunes a trial whose best intermediate value is worse than the median of the completed
/// trials' values at the same step.
#[derive(Debug, Clone, Copy)]
pub struct MedianPruner {
    /// No pruning until this many trials completed (Optuna: 5).
    pub n_startup_trials: usize,
    /// No pruning before this step (Optuna: 0).
    pub n_warmup_steps: i64,
    /// Check every this many steps after the warm-up (Optuna: 1).
    pub interval_steps: i64,
    /// Completed trials that must have reported the step (Optuna: 1).
    pub n_min_trials: usize,
}

impl Default for MedianPruner {
    fn default() -> Self {
        Self {
            n_startup_trials: 5,
            n_warmup_steps: 0,
            interval_steps: 1,
            n_min_trials: 1,
        }
    }
}

/// Linear-interpolated percentile (NumPy's default) of finite values.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q / 100.0 * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

fn first_in_interval(step: i64, steps: &[i64], warmup: i64, interval: i64) -> bool {
    let nearest_lower = (step - warmup) / interval * interval + warmup;
    let second_last = steps.iter().copied().filter(|&s| s < step).max();
    second_last.is_none_or(|s| s < nearest_lower)
}

impl Pruner for MedianPruner {
    fn name(&self) -> String {
        format!(
            "median (start-up {}, warm-up {} steps)",
            self.n_startup_trials, self.n_warmup_steps
        )
    }

    fn prune(&self, ctx: &PruneContext<'_>, _set_attr: &mut dyn FnMut(&str, Value)) -> bool {
        let completed: Vec<&FrozenTrial> = ctx
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .collect();
        if completed.is_empty() || completed.len() < self.n_startup_trials {
            return false;
        }
        let Some(step) = ctx.trial.last_step() else {
            return false;
        };
        if step < self.n_warmup_steps {
            return false;
        }
        let steps: Vec<i64> = ctx.trial.intermediate.keys().copied().collect();
        if !first_in_interval(
            step,
            &steps,
            self.n_warmup_steps,
            self.interval_steps.max(1),
        ) {
            return false;
        }
        let vals: Vec<f64> = ctx.trial.intermediate.values().copied().collect();
        if vals.iter().all(|v| v.is_nan()) {
            return true;
        }
        let best = vals
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .map(|v| ctx.direction.loss(v))
            .fold(f64::INFINITY, f64::min);
        let mut at_step: Vec<f64> = completed
            .iter()
            .filter_map(|t| t.intermediate.get(&step).copied())
            .filter(|v| !v.is_nan())
            .map(|v| ctx.direction.loss(v))
            .collect();
        if at_step.len() < self.n_min_trials.max(1) {
            return false;
        }
        let median = percentile(&mut at_step, 50.0);
        best > median
    }
}

/// Asynchronous successive halving (Optuna's defaults: minimum resource estimated from the
/// completed trials, reduction factor 4, minimum early-stopping rate 0).
#[derive(Debug, Clone, Copy)]
pub struct SuccessiveHalvingPruner {
    /// Steps before the first rung; `None` = `max(last step of the completed trials / 100, 1)`.
    pub min_resource: Option<i64>,
    /// Keep the best `1 / reduction_factor` at each rung.
    pub reduction_factor: i64,
    /// Rungs skipped at the start.
    pub min_early_stopping_rate: u32,
    /// Trials a rung needs before it prunes anyone.
    pub bootstrap_count: usize,
}

impl Default for SuccessiveHalvingPruner {
    fn default() -> Self {
        Self {
            min_resource: None,
            reduction_factor: 4,
            min_early_stopping_rate: 0,
            bootstrap_count: 0,
        }
    }
}

fn rung_key(rung: u32) -> String {
    format!("completed_rung_{rung}")
}

impl Pruner for SuccessiveHalvingPruner {
    fn name(&self) -> String {
        format!(
            "successive halving (reduction factor {})",
            self.reduction_factor
        )
    }

    fn prune(&self, ctx: &PruneContext<'_>, set_attr: &mut dyn FnMut(&str, Value)) -> bool {
        let Some(step) = ctx.trial.last_step() else {
            return false;
        };
        let value = ctx.trial.intermediate[&step];
        let mut rung = 0u32;
        while ctx.trial.system_attrs.contains_key(&rung_key(rung)) {
            rung += 1;
        }
        let min_resource = match self.min_resource {
            Some(r) => r,
            None => {
                let last = ctx
                    .trials
                    .iter()
                    .filter(|t| t.state == TrialState::Complete)
                    .filter_map(FrozenTrial::last_step)
                    .max();
                match last {
                    Some(l) => (l / 100).max(1),
                    None => return false,
                }
            }
        };
        loop {
            let promotion = min_resource
                * self
                    .reduction_factor
                    .pow(self.min_early_stopping_rate + rung);
            if step < promotion {
                return false;
            }
            if value.is_nan() {
                return true;
            }
            let key = rung_key(rung);
            set_attr(&key, serde_json::json!(value));
            let mut competing: Vec<f64> = ctx
                .trials
                .iter()
                .filter(|t| t.trial_id != ctx.trial.trial_id)
                .filter_map(|t| t.system_attrs.get(&key).and_then(Value::as_f64))
                .collect();
            competing.push(value);
            if competing.len() <= self.bootstrap_count {
                return true;
            }
            let mut idx = (competing.len() as i64 / self.reduction_factor) - 1;
            if idx < 0 {
                idx = 0;
            }
            competing.sort_by(f64::total_cmp);
            let promotable = match ctx.direction {
                Direction::Minimize => value <= competing[idx as usize],
                Direction::Maximize => value >= competing[competing.len() - 1 - idx as usize],
            };
            if !promotable {
                return true;
            }
            rung += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trial(id: usize, state: TrialState, values: &[f64]) -> FrozenTrial {
        let mut t = FrozenTrial::new(id, id, None);
        t.state = state;
        for (i, v) in values.iter().enumerate() {
            t.intermediate.insert(i as i64, *v);
        }
        if state == TrialState::Complete {
            t.value = values.last().copied();
        }
        t
    }

    #[test]
    fn median_prunes_a_trial_worse_than_the_median_at_its_step() {
        let mut trials: Vec<FrozenTrial> = (0..5)
            .map(|i| trial(i, TrialState::Complete, &[1.0 + i as f64, 0.5 + i as f64]))
            .collect();
        let p = MedianPruner::default();
        // Median at step 1 of 0.5..4.5 is 2.5.
        let bad = trial(5, TrialState::Running, &[9.0, 3.0]);
        let good = trial(6, TrialState::Running, &[9.0, 2.0]);
        trials.push(bad.clone());
        let judge = |t: &FrozenTrial, trials: &[FrozenTrial], d: Direction| {
            p.prune(
                &PruneContext {
                    trials,
                    trial: t,
                    direction: d,
                },
                &mut |_, _| {},
            )
        };
        assert!(judge(&bad, &trials, Direction::Minimize));
        assert!(!judge(&good, &trials, Direction::Minimize));
        // Fewer completed trials than the start-up count: never prune.
        assert!(!judge(&bad, &trials[..3], Direction::Minimize));
        // Maximising: 3.0 (best 9.0) is better than the median.
        assert!(!judge(&bad, &trials, Direction::Maximize));
        // Warm-up: no pruning before step 2.
        let warm = MedianPruner {
            n_warmup_steps: 2,
            ..p
        };
        assert!(!warm.prune(
            &PruneContext {
                trials: &trials,
                trial: &bad,
                direction: Direction::Minimize
            },
            &mut |_, _| {}
        ));
    }

    #[test]
    fn successive_halving_keeps_the_top_quarter_per_rung() {
        let p = SuccessiveHalvingPruner {
            min_resource: Some(1),
            ..Default::default()
        };
        let mut others: Vec<FrozenTrial> = Vec::new();
        for i in 0..7 {
            let mut t = trial(i, TrialState::Complete, &[0.0, 1.0 + i as f64]);
            t.system_attrs
                .insert("completed_rung_0".into(), serde_json::json!(1.0 + i as f64));
            others.push(t);
        }
        let judge = |v: f64| {
            let t = trial(99, TrialState::Running, &[0.0, v]);
            let mut attrs = Vec::new();
            let pruned = p.prune(
                &PruneContext {
                    trials: &others,
                    trial: &t,
                    direction: Direction::Minimize,
                },
                &mut |k, v| attrs.push((k.to_string(), v)),
            );
            (pruned, attrs)
        };
        // 8 competitors → the best 2 pass: 1.0, 1.5.
        let (pruned, attrs) = judge(1.5);
        assert!(!pruned);
        assert_eq!(attrs[0].0, "completed_rung_0");
        assert!(judge(2.5).0);
    }

    #[test]
    fn percentile_interpolates() {
        assert_eq!(percentile(&mut [3.0, 1.0, 2.0, 4.0], 50.0), 2.5);
    }
}
