//! Parameter importance by PED-ANOVA (Watanabe et al., IJCAI 2023), as Optuna's
//! `PedAnovaImportanceEvaluator` with its defaults: for each parameter, the Pearson divergence
//! between the distribution of the top 10 % of completed trials and that of all completed trials,
//! both estimated on a grid of at most 50 points with Scott's-rule Parzen estimators; normalised
//! to sum to 1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::distribution::Distribution;
use crate::sampler::truncnorm;
use crate::trial::{Direction, FrozenTrial, TrialState};

/// The method's name as written into reports.
pub const METHOD: &str = "PED-ANOVA (top 10 % vs all completed trials, Pearson divergence)";

/// Importance of each parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Importances {
    /// How they were computed.
    pub method: String,
    /// Completed trials used.
    pub trials: usize,
    /// Parameter → share of importance (sums to 1 unless all are 0), most important first.
    pub values: Vec<(String, f64)>,
}

const N_STEPS: usize = 50;
const TARGET_QUANTILE: f64 = 0.1;

/// Grid counts of a parameter over trials, and the grid size.
fn grid_counts(name: &str, dist: &Distribution, trials: &[&FrozenTrial]) -> Vec<f64> {
    match dist {
        Distribution::Categorical { choices } => {
            let mut c = vec![0.0; choices.len()];
            for t in trials {
                if let Some(&v) = t.params.get(name) {
                    c[(v as usize).min(choices.len() - 1)] += 1.0;
                }
            }
            c
        }
        Distribution::Float { .. } | Distribution::Int { .. } => {
            let (low, high, log, step) = match dist {
                Distribution::Float {
                    low,
                    high,
                    log,
                    step,
                } => (*low, *high, *log, *step),
                Distribution::Int {
                    low,
                    high,
                    log,
                    step,
                } => (*low as f64, *high as f64, *log, Some(*step as f64)),
                Distribution::Categorical { .. } => unreachable!(),
            };
            let mut n = N_STEPS;
            if matches!(dist, Distribution::Int { log: true, .. }) {
                let l2 = ((high - low + 1.0).ln() / 2f64.ln()).ceil() as usize + 1;
                n = n.min(l2);
            } else if let Some(s) = step {
                n = n.min(((high - low) / s).round() as usize + 1);
            }
            let n = n.max(2);
            let tr = |x: f64| if log { x.ln() } else { x };
            let (a, b) = (tr(low), tr(high));
            let width = (b - a) / (n - 1) as f64;
            let mut c = vec![0.0; n];
            for t in trials {
                if let Some(&v) = t.params.get(name) {
                    let i = if width > 0.0 {
                        ((tr(v) - a) / width - 0.5).ceil()
                    } else {
                        0.0
                    };
                    c[(i.max(0.0) as usize).min(n - 1)] += 1.0;
                }
            }
            c
        }
    }
}

/// Probability of each grid point under a Scott's-rule Parzen estimator of the counts.
fn grid_pdf(counts: &[f64], categorical: bool) -> Vec<f64> {
    let n = counts.len();
    let obs: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0.0)
        .map(|(i, c)| (i as f64, *c))
        .collect();
    if obs.is_empty() {
        return vec![1.0 / n as f64; n];
    }
    let wsum: f64 = obs.iter().map(|o| o.1).sum();
    let mixture_total = wsum + 1.0; // prior weight 1
    let mut pdf = vec![0.0; n];
    if categorical {
        let n_kernels = obs.len() as f64 + 1.0;
        let base = 1.0 / n_kernels;
        for (x, p) in pdf.iter_mut().enumerate() {
            let mut acc = 0.0;
            for &(i, w) in &obs {
                let row =
                    (base + if i as usize == x { 1.0 } else { 0.0 }) / (base * n as f64 + 1.0);
                acc += w / mixture_total * row;
            }
            acc += 1.0 / mixture_total / n as f64;
            *p = acc;
        }
        return pdf;
    }
    let mean = obs.iter().map(|(x, w)| x * w).sum::<f64>() / wsum;
    let var = obs.iter().map(|(x, w)| w * (x - mean).powi(2)).sum::<f64>() / (wsum - 1.0).max(1.0);
    let mut cum = Vec::with_capacity(obs.len());
    let mut acc = 0.0;
    for o in &obs {
        acc += o.1;
        cum.push(acc);
    }
    let q = |target: f64, right: bool| {
        cum.iter()
            .position(|&c| if right { c > target } else { c >= target })
            .unwrap_or(cum.len() - 1)
    };
    let q1 = q((wsum / 4.0).floor(), false);
    let q3 = q((wsum * 3.0 / 4.0).floor(), true);
    let iqr = obs[q3.min(obs.len() - 1)].0 - obs[q1].0;
    let sigma = (1.059 * (iqr / 1.34).min(var.sqrt()) * wsum.powf(-0.2)).max(0.5 / 1.64);
    let (low, high) = (0.0, (n - 1) as f64);
    let mut kernels: Vec<(f64, f64, f64)> = obs.iter().map(|&(x, w)| (x, sigma, w)).collect();
    kernels.push(((low + high) / 2.0, high - low + 1.0, 1.0));
    for (x, p) in pdf.iter_mut().enumerate() {
        let x = x as f64;
        let mut acc = 0.0;
        for &(mu, s, w) in &kernels {
            let mass = truncnorm::log_gauss_mass((x - 0.5 - mu) / s, (x + 0.5 - mu) / s)
                - truncnorm::log_gauss_mass((low - 0.5 - mu) / s, (high + 0.5 - mu) / s);
            acc += w / mixture_total * mass.exp();
        }
        *p = acc;
    }
    pdf
}

/// PED-ANOVA importances of the parameters over the completed trials. Parameters whose
/// distribution changed during the study use the latest one; trials without the parameter are
/// left out for it.
pub fn ped_anova(trials: &[FrozenTrial], direction: Direction) -> Importances {
    let done: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    let mut dists: BTreeMap<String, Distribution> = BTreeMap::new();
    for t in &done {
        for (k, d) in &t.distributions {
            dists.insert(k.clone(), d.clone());
        }
    }
    let mut values: Vec<(String, f64)> = Vec::new();
    if done.len() >= 2 {
        let mut losses: Vec<f64> = done
            .iter()
            .map(|t| direction.loss(t.value.unwrap_or(0.0)))
            .collect();
        let mut sorted = losses.clone();
        sorted.sort_by(f64::total_cmp);
        let cut_idx = ((TARGET_QUANTILE * sorted.len() as f64).ceil() as usize).max(1) - 1;
        let cutoff = sorted[cut_idx];
        let top: Vec<&FrozenTrial> = done
            .iter()
            .zip(losses.iter_mut())
            .filter(|(_, l)| **l <= cutoff)
            .map(|(t, _)| *t)
            .collect();
        for (name, dist) in &dists {
            if dist.single() {
                values.push((name.clone(), 0.0));
                continue;
            }
            let cat = matches!(dist, Distribution::Categorical { .. });
            let p_top = grid_pdf(&grid_counts(name, dist, &top), cat);
            let p_all = grid_pdf(&grid_counts(name, dist, &done), cat);
            let div: f64 = p_top
                .iter()
                .zip(&p_all)
                .map(|(t, a)| {
                    let (t, a) = (t + 1e-12, a + 1e-12);
                    a * (t / a - 1.0).powi(2)
                })
                .sum();
            values.push((name.clone(), div));
        }
    } else {
        values = dists.keys().map(|k| (k.clone(), 0.0)).collect();
    }
    let total: f64 = values.iter().map(|v| v.1).sum();
    if total > 0.0 {
        values.iter_mut().for_each(|v| v.1 /= total);
    }
    values.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    Importances {
        method: METHOD.into(),
        trials: done.len(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::{sample_uniform, trial_rng};

    #[test]
    fn the_parameter_that_matters_gets_the_importance() {
        let dx = Distribution::float(-5.0, 5.0, false);
        let dn = Distribution::float(-5.0, 5.0, false);
        let dc = Distribution::categorical(["a", "b", "c"]);
        let mut rng = trial_rng(Some(1), 0);
        let trials: Vec<FrozenTrial> = (0..200)
            .map(|i| {
                let mut t = FrozenTrial::new(i, i, None);
                let (x, n, c) = (
                    sample_uniform(&dx, &mut rng),
                    sample_uniform(&dn, &mut rng),
                    sample_uniform(&dc, &mut rng),
                );
                t.params.insert("x".into(), x);
                t.params.insert("noise".into(), n);
                t.params.insert("c".into(), c);
                t.distributions.insert("x".into(), dx.clone());
                t.distributions.insert("noise".into(), dn.clone());
                t.distributions.insert("c".into(), dc.clone());
                t.state = TrialState::Complete;
                t.value = Some(x * x + if c == 0.0 { 0.0 } else { 1.0 });
                t
            })
            .collect();
        let imp = ped_anova(&trials, Direction::Minimize);
        assert_eq!(imp.values[0].0, "x", "{imp:?}");
        let get = |k: &str| imp.values.iter().find(|v| v.0 == k).unwrap().1;
        assert!(get("noise") < 0.2, "{imp:?}");
        assert!((imp.values.iter().map(|v| v.1).sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
