//! The Tree-structured Parzen Estimator sampler, following Optuna 5's `TPESampler` defaults:
//! 10 random start-up trials, 24 expected-improvement candidates drawn from the "good" estimator,
//! `gamma(n) = min(ceil(0.1·n), 25)` good trials, prior weight 1, magic clip, no endpoints, weights
//! 1 for the newest 25 observations and a linear ramp for older ones; univariate or multivariate;
//! pruned trials ranked by how far they got; running trials counted as "bad" (constant liar).

use std::collections::BTreeMap;

use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::Value;

use super::truncnorm;
use super::{Context, Sampler, SearchSpace, round_to_step, sample_uniform, uniform_at};
use crate::distribution::Distribution;
use crate::trial::{Direction, FrozenTrial, TrialState};

/// Optuna's system-attribute key for joint proposals of running trials.
pub const RELATIVE_PARAMS_KEY: &str = "tpe:relative_params";
/// Optuna's chunk length for that attribute.
pub const SYSTEM_ATTR_MAX_LENGTH: usize = 2045;

/// TPE sampler settings.
#[derive(Debug, Clone)]
pub struct TpeSampler {
    /// Seed of the per-trial generators.
    pub seed: Option<u64>,
    /// Random trials before TPE starts (complete + pruned trials).
    pub n_startup_trials: usize,
    /// Candidates drawn from the good estimator per proposal.
    pub n_ei_candidates: usize,
    /// Sample the parameters jointly (Optuna 5's default for one objective).
    pub multivariate: bool,
    /// Count running trials as bad ones when sampling (Optuna 5's default).
    pub constant_liar: bool,
    /// Weight of the prior kernel.
    pub prior_weight: f64,
    /// Lower-bound the bandwidths (`(high − low) / min(100, n + 2)`).
    pub magic_clip: bool,
    /// Let the outermost kernels reach the bounds.
    pub consider_endpoints: bool,
    /// Draw the start-up trials as a random Latin hypercube (each parameter's range cut into
    /// `n_startup_trials` equal-probability strata, one trial per stratum, in a random order per
    /// parameter) instead of independent uniform draws. Still random, but without clumps.
    pub latin_hypercube_startup: bool,
    /// Seed of the start-up strata permutations.
    lhs_seed: u64,
}

impl Default for TpeSampler {
    fn default() -> Self {
        Self {
            seed: None,
            n_startup_trials: 10,
            n_ei_candidates: 24,
            multivariate: true,
            constant_liar: true,
            prior_weight: 1.0,
            magic_clip: true,
            consider_endpoints: false,
            latin_hypercube_startup: true,
            lhs_seed: rand::random(),
        }
    }
}

impl TpeSampler {
    /// Optuna's defaults with a seed.
    pub fn new(seed: Option<u64>) -> Self {
        Self {
            seed,
            lhs_seed: seed.unwrap_or_else(rand::random),
            ..Self::default()
        }
    }

    /// Latin-hypercube (default) or independent uniform start-up trials.
    pub fn with_latin_hypercube_startup(mut self, on: bool) -> Self {
        self.latin_hypercube_startup = on;
        self
    }

    /// A start-up proposal: the trial's stratum of the parameter's range (Latin hypercube) or a
    /// plain uniform draw.
    fn startup_sample(
        &self,
        number: usize,
        name: &str,
        dist: &Distribution,
        rng: &mut StdRng,
    ) -> f64 {
        let n = self.n_startup_trials;
        if !self.latin_hypercube_startup || number >= n || n < 2 {
            return sample_uniform(dist, rng);
        }
        // FNV-1a of the name: one permutation of the strata per parameter.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let mut prng = super::trial_rng(Some(self.lhs_seed ^ h), usize::MAX);
        let mut perm: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = prng.random_range(0..=i);
            perm.swap(i, j);
        }
        let v: f64 = rng.random();
        uniform_at(dist, (perm[number] as f64 + v) / n as f64)
    }

    /// Univariate ("independent") or multivariate.
    pub fn with_multivariate(mut self, m: bool) -> Self {
        self.multivariate = m;
        self
    }
}

/// Good-trial count for `n` finished trials.
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// Observation weights, oldest first: 1 for fewer than 25, else a linear ramp from `1/n` for the
/// oldest `n − 25` followed by 25 ones.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let m = n - 25;
    let lo = 1.0 / n as f64;
    let mut w: Vec<f64> = (0..m)
        .map(|i| {
            if m == 1 {
                lo
            } else {
                lo + (1.0 - lo) * i as f64 / (m - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

fn finished_count(ctx: &Context<'_>) -> usize {
    ctx.trials
        .iter()
        .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
        .count()
}

/// Optuna's ranking of pruned trials: further steps first, then the last intermediate value.
fn pruned_score(t: &FrozenTrial, direction: Direction) -> (f64, f64) {
    match t.intermediate.iter().next_back() {
        Some((&step, &v)) => {
            if v.is_nan() {
                (-(step as f64), f64::INFINITY)
            } else {
                (-(step as f64), direction.loss(v))
            }
        }
        None => (1.0, 0.0),
    }
}

/// Splits trials into the good (`below`) and the rest (`above`), each in number order.
fn split<'a>(
    trials: &[&'a FrozenTrial],
    n_below: usize,
    direction: Direction,
) -> (Vec<&'a FrozenTrial>, Vec<&'a FrozenTrial>) {
    let mut complete: Vec<&FrozenTrial> = Vec::new();
    let mut pruned: Vec<&FrozenTrial> = Vec::new();
    let mut running: Vec<&FrozenTrial> = Vec::new();
    for &t in trials {
        match t.state {
            TrialState::Complete if t.value.is_some() => complete.push(t),
            TrialState::Pruned => pruned.push(t),
            TrialState::Running => running.push(t),
            _ => {}
        }
    }
    let key = |t: &&FrozenTrial| direction.loss(t.value.unwrap_or(f64::NAN));
    complete.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let nc = n_below.min(complete.len());
    let mut below: Vec<&FrozenTrial> = complete[..nc].to_vec();
    let mut above: Vec<&FrozenTrial> = complete[nc..].to_vec();
    let rest = n_below - nc;
    pruned.sort_by(|a, b| {
        let (x, y) = (pruned_score(a, direction), pruned_score(b, direction));
        x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1))
    });
    let np = rest.min(pruned.len());
    below.extend_from_slice(&pruned[..np]);
    above.extend_from_slice(&pruned[np..]);
    above.extend(running);
    below.sort_by_key(|t| t.number);
    above.sort_by_key(|t| t.number);
    (below, above)
}

/// Parameters of a trial for the estimators: its own, plus (for a running trial) the joint
/// proposal it stored, as Optuna's `_get_params`.
fn params_of(t: &FrozenTrial, space: &SearchSpace) -> BTreeMap<String, f64> {
    let mut p = t.params.clone();
    if t.state == TrialState::Running {
        let mut text = String::new();
        let mut i = 0;
        while let Some(Value::String(s)) = t.system_attrs.get(&format!("{RELATIVE_PARAMS_KEY}:{i}"))
        {
            text.push_str(s);
            i += 1;
        }
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(&text) {
            for (k, v) in m {
                if p.contains_key(&k) {
                    continue;
                }
                if let Some(d) = space.get(&k)
                    && let Some(x) = d.internal_of_json(&v)
                {
                    p.insert(k, x);
                }
            }
        }
    }
    p
}

/// One dimension of a Parzen estimator, in transformed (log where `log`) space.
#[derive(Debug, Clone)]
enum Kernels {
    Categorical {
        /// `[kernel][choice]` probabilities.
        weights: Vec<Vec<f64>>,
    },
    Numerical {
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        /// Bounds in transformed space, widened by half a step.
        low: f64,
        high: f64,
        /// Original bounds and step (for rounding).
        orig_low: f64,
        orig_high: f64,
        step: Option<f64>,
        log: bool,
    },
}

/// A product of per-parameter kernels mixed over observations plus the prior.
#[derive(Debug, Clone)]
struct Parzen {
    weights: Vec<f64>,
    dims: Vec<Kernels>,
}

impl Parzen {
    fn new(obs: &[Vec<f64>], space: &[(&String, &Distribution)], s: &TpeSampler) -> Self {
        let n = obs.first().map_or(0, Vec::len);
        let mut weights = if n == 0 {
            vec![1.0]
        } else {
            let mut w = default_weights(n);
            w.push(s.prior_weight);
            w
        };
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let dims = space
            .iter()
            .zip(obs)
            .map(|((_, d), o)| Self::kernels(o, d, s))
            .collect();
        Self { weights, dims }
    }

    /// The kernels of one parameter of distribution `dist`, from its observations `obs`
    /// (internal representation).
    fn kernels(obs: &[f64], dist: &Distribution, s: &TpeSampler) -> Kernels {
        match dist {
            Distribution::Categorical { choices } => {
                Self::categorical_kernels(obs, choices.len(), s.prior_weight)
            }
            Distribution::Float {
                low,
                high,
                log,
                step,
            } => Self::numerical_kernels(obs, (*low, *high), *step, *log, s),
            Distribution::Int {
                low,
                high,
                log,
                step,
            } => Self::numerical_kernels(
                obs,
                (*low as f64, *high as f64),
                Some(*step as f64),
                *log,
                s,
            ),
        }
    }

    /// One kernel per observation of a parameter with `k` choices (the observed choice plus
    /// `prior_weight` spread over all), then the prior's; the uniform distribution alone without
    /// observations.
    fn categorical_kernels(obs: &[f64], k: usize, prior_weight: f64) -> Kernels {
        if obs.is_empty() {
            return Kernels::Categorical {
                weights: vec![vec![1.0 / k as f64; k]],
            };
        }
        let n_kernels = obs.len() + 1;
        let base = prior_weight / n_kernels as f64;
        let mut w = vec![vec![base; k]; n_kernels];
        for (row, &o) in w.iter_mut().zip(obs) {
            row[(o as usize).min(k - 1)] += 1.0;
        }
        for row in &mut w {
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|x| *x /= sum);
            }
        }
        Kernels::Categorical { weights: w }
    }

    /// One Gaussian per observation of a numerical parameter with bounds `(orig_low, orig_high)`
    /// (in log space when `log`; the bounds widened by half a `step`), then the prior's, as wide
    /// as the range.
    fn numerical_kernels(
        obs: &[f64],
        (orig_low, orig_high): (f64, f64),
        step: Option<f64>,
        log: bool,
        s: &TpeSampler,
    ) -> Kernels {
        let (mut low, mut high) = (orig_low, orig_high);
        if let Some(st) = step {
            low -= st / 2.0;
            high += st / 2.0;
        }
        let tr = |x: f64| if log { x.ln() } else { x };
        let (low, high) = (tr(low), tr(high));
        let mut mus: Vec<f64> = obs.iter().map(|&x| tr(x)).collect();
        let mut sigmas = Self::bandwidths(&mus, low, high, s);
        mus.push(0.5 * (low + high));
        sigmas.push(high - low);
        Kernels::Numerical {
            mus,
            sigmas,
            low,
            high,
            orig_low,
            orig_high,
            step,
            log,
        }
    }

    /// The width of the kernel at each of `mus` (in `[low, high]`): the larger gap to a sorted
    /// neighbour (the bounds counting as neighbours; with `consider_endpoints` off, the end
    /// kernels use their inner gap), clipped to `[minsigma, high - low]`.
    fn bandwidths(mus: &[f64], low: f64, high: f64, s: &TpeSampler) -> Vec<f64> {
        let n = mus.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| mus[a].total_cmp(&mus[b]));
        let mut ends = Vec::with_capacity(n + 2);
        ends.push(low);
        ends.extend(order.iter().map(|&i| mus[i]));
        ends.push(high);
        let mut sorted_sigmas: Vec<f64> = (1..=n)
            .map(|i| (ends[i] - ends[i - 1]).max(ends[i + 1] - ends[i]))
            .collect();
        if !s.consider_endpoints && ends.len() >= 4 {
            sorted_sigmas[0] = ends[2] - ends[1];
            sorted_sigmas[n - 1] = ends[n] - ends[n - 1];
        }
        let maxsigma = high - low;
        let minsigma = if s.magic_clip {
            (high - low) / 100f64.min(1.0 + (n + 1) as f64)
        } else {
            1e-12
        };
        let mut sigmas = vec![0.0; n];
        for (rank, &i) in order.iter().enumerate() {
            sigmas[i] = sorted_sigmas[rank].clamp(minsigma, maxsigma);
        }
        sigmas
    }

    fn pick(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return i;
            }
        }
        self.weights.len() - 1
    }

    /// One sample (original space, internal representation).
    fn sample(&self, rng: &mut StdRng) -> Vec<f64> {
        let k = self.pick(rng);
        self.dims
            .iter()
            .map(|d| match d {
                Kernels::Categorical { weights } => {
                    let row = &weights[k];
                    let u: f64 = rng.random();
                    let mut acc = 0.0;
                    for (c, p) in row.iter().enumerate() {
                        acc += p;
                        if u < acc {
                            return c as f64;
                        }
                    }
                    (row.len() - 1) as f64
                }
                Kernels::Numerical {
                    mus,
                    sigmas,
                    low,
                    high,
                    orig_low,
                    orig_high,
                    step,
                    log,
                } => {
                    let (mu, sigma) = (mus[k], sigmas[k]);
                    let u: f64 = rng.random();
                    let z = truncnorm::ppf(u, (low - mu) / sigma, (high - mu) / sigma);
                    let mut x = (mu + sigma * z).clamp(*low, *high);
                    if *log {
                        x = x.exp();
                    }
                    match step {
                        Some(st) => round_to_step(x, *orig_low, *orig_high, *st),
                        None => x.clamp(*orig_low, *orig_high),
                    }
                }
            })
            .collect()
    }

    /// Log density (mass for discrete dimensions) of a point.
    fn log_pdf(&self, x: &[f64]) -> f64 {
        let mut per_kernel: Vec<f64> = self.weights.iter().map(|w| w.ln()).collect();
        for (d, &xi) in self.dims.iter().zip(x) {
            match d {
                Kernels::Categorical { weights } => {
                    for (acc, row) in per_kernel.iter_mut().zip(weights.iter().cycle()) {
                        *acc += row[xi as usize].ln();
                    }
                }
                Kernels::Numerical {
                    mus,
                    sigmas,
                    low,
                    high,
                    step,
                    log,
                    ..
                } => {
                    let tr = |v: f64| if *log { v.ln() } else { v };
                    for (k, acc) in per_kernel.iter_mut().enumerate() {
                        let (mu, sigma) = (mus[k], sigmas[k]);
                        *acc += match step {
                            None => truncnorm::log_pdf(tr(xi), mu, sigma, *low, *high),
                            Some(st) => {
                                let left = (tr(xi - st / 2.0) - mu) / sigma;
                                let right = (tr(xi + st / 2.0) - mu) / sigma;
                                truncnorm::log_gauss_mass(left, right)
                                    - truncnorm::log_gauss_mass(
                                        (low - mu) / sigma,
                                        (high - mu) / sigma,
                                    )
                            }
                        };
                    }
                }
            }
        }
        let m = per_kernel.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if m == f64::NEG_INFINITY {
            return m;
        }
        m + per_kernel.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    }
}

impl TpeSampler {
    fn sample(
        &self,
        ctx: &Context<'_>,
        space: &SearchSpace,
        rng: &mut StdRng,
    ) -> BTreeMap<String, f64> {
        let states_ok = |t: &&FrozenTrial| match t.state {
            TrialState::Complete | TrialState::Pruned => true,
            TrialState::Running => self.constant_liar && t.number != ctx.trial.number,
            _ => false,
        };
        let trials: Vec<&FrozenTrial> = ctx.trials.iter().filter(states_ok).collect();
        let n = trials
            .iter()
            .filter(|t| t.state != TrialState::Running)
            .count();
        let (below, above) = split(&trials, gamma(n), ctx.direction);
        let dims: Vec<(&String, &Distribution)> = space.iter().collect();
        let observe = |group: &[&FrozenTrial]| -> Vec<Vec<f64>> {
            let mut cols = vec![Vec::new(); dims.len()];
            for t in group {
                let p = params_of(t, space);
                if dims.iter().all(|(k, _)| p.contains_key(*k)) {
                    for (c, (k, _)) in cols.iter_mut().zip(&dims) {
                        c.push(p[*k]);
                    }
                }
            }
            cols
        };
        let pe_below = Parzen::new(&observe(&below), &dims, self);
        let pe_above = Parzen::new(&observe(&above), &dims, self);
        let mut best: Option<(f64, Vec<f64>)> = None;
        for _ in 0..self.n_ei_candidates.max(1) {
            let x = pe_below.sample(rng);
            let score = pe_below.log_pdf(&x) - pe_above.log_pdf(&x);
            if best.as_ref().is_none_or(|(s, _)| score > *s || s.is_nan()) {
                best = Some((score, x));
            }
        }
        let x = best.map(|(_, x)| x).unwrap_or_default();
        dims.iter()
            .zip(x)
            .map(|((k, _), v)| ((*k).clone(), v))
            .collect()
    }
}

impl Sampler for TpeSampler {
    fn name(&self) -> String {
        format!(
            "TPE ({})",
            if self.multivariate {
                "multivariate"
            } else {
                "independent"
            }
        )
    }

    fn seed(&self) -> Option<u64> {
        self.seed
    }

    fn infer_relative_search_space(&self, ctx: &Context<'_>) -> SearchSpace {
        if !self.multivariate {
            return SearchSpace::new();
        }
        // Optuna's IntersectionSearchSpace(include_pruned=True).
        let mut space: Option<SearchSpace> = None;
        for t in ctx
            .trials
            .iter()
            .filter(|t| matches!(t.state, TrialState::Complete | TrialState::Pruned))
        {
            match &mut space {
                None => space = Some(t.distributions.clone()),
                Some(s) => s.retain(|k, d| t.distributions.get(k) == Some(d)),
            }
        }
        let mut space = space.unwrap_or_default();
        space.retain(|_, d| !d.single());
        space
    }

    fn sample_relative(
        &self,
        ctx: &Context<'_>,
        space: &SearchSpace,
        rng: &mut StdRng,
    ) -> BTreeMap<String, f64> {
        if space.is_empty() || finished_count(ctx) < self.n_startup_trials {
            return BTreeMap::new();
        }
        self.sample(ctx, space, rng)
    }

    fn sample_independent(
        &self,
        ctx: &Context<'_>,
        name: &str,
        dist: &Distribution,
        rng: &mut StdRng,
    ) -> f64 {
        if finished_count(ctx) < self.n_startup_trials {
            return self.startup_sample(ctx.trial.number, name, dist, rng);
        }
        let mut space = SearchSpace::new();
        space.insert(name.to_string(), dist.clone());
        self.sample(ctx, &space, rng)
            .get(name)
            .copied()
            .unwrap_or_else(|| sample_uniform(dist, rng))
    }

    fn records_relative_params(&self) -> bool {
        self.constant_liar
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_and_weights_follow_optuna() {
        assert_eq!(gamma(0), 0);
        assert_eq!(gamma(1), 1);
        assert_eq!(gamma(10), 1);
        assert_eq!(gamma(11), 2);
        assert_eq!(gamma(1000), 25);
        assert_eq!(default_weights(3), vec![1.0; 3]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12);
        assert!((w[4] - 1.0).abs() < 1e-12);
        assert!(w[1] > w[0] && w[2] > w[1]);
    }

    #[test]
    fn parzen_sigmas_follow_neighbours_with_magic_clip() {
        let s = TpeSampler::default();
        let d = Distribution::float(0.0, 10.0, false);
        match Parzen::kernels(&[2.0, 3.0, 9.0], &d, &s) {
            Kernels::Numerical { mus, sigmas, .. } => {
                assert_eq!(mus, vec![2.0, 3.0, 9.0, 5.0]);
                // Ends use their inner neighbour only (1, clipped up to 10 / 5 = 2); the middle the
                // larger gap; the prior the range.
                assert_eq!(sigmas, vec![2.0, 6.0, 6.0, 10.0]);
            }
            _ => panic!(),
        }
        match Parzen::kernels(&[5.0, 5.0], &d, &s) {
            Kernels::Numerical { sigmas, .. } => assert!((sigmas[0] - 10.0 / 4.0).abs() < 1e-12),
            _ => panic!(),
        }
    }
}
