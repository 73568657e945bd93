//! Samplers propose parameter values: [`RandomSampler`] and [`TpeSampler`].
//!
//! A sampler is given the study's trials so far and a random-number generator that the study
//! seeds from the sampler's seed and the trial number, so a seeded study proposes the same values
//! for the same history whatever the thread or process that runs the trial.

pub mod tpe;
pub mod truncnorm;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use tpe::TpeSampler;

use crate::distribution::Distribution;
use crate::trial::{Direction, FrozenTrial};

/// A set of parameters sampled together.
pub type SearchSpace = BTreeMap<String, Distribution>;

/// What a sampler sees of the study.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Every trial of the study (any state), in number order.
    pub trials: &'a [FrozenTrial],
    /// The trial being sampled.
    pub trial: &'a FrozenTrial,
    /// The study's direction.
    pub direction: Direction,
}

/// Proposes parameter values (internal representation: categorical = choice index).
pub trait Sampler: Send + Sync {
    /// Name for reports, e.g. `"TPE (multivariate)"`.
    fn name(&self) -> String;
    /// The seed that per-trial generators derive from (`None`: from the operating system).
    fn seed(&self) -> Option<u64>;
    /// Parameters to sample jointly at the start of a trial (empty: all independently).
    fn infer_relative_search_space(&self, _ctx: &Context<'_>) -> SearchSpace {
        SearchSpace::new()
    }
    /// Joint proposal for the relative search space (empty: none yet).
    fn sample_relative(
        &self,
        _ctx: &Context<'_>,
        _space: &SearchSpace,
        _rng: &mut StdRng,
    ) -> BTreeMap<String, f64> {
        BTreeMap::new()
    }
    /// Proposal for one parameter outside the relative search space.
    fn sample_independent(
        &self,
        ctx: &Context<'_>,
        name: &str,
        dist: &Distribution,
        rng: &mut StdRng,
    ) -> f64;
    /// Whether the study should store joint proposals on the running trial (Optuna's
    /// `tpe:relative_params` system attribute, used by the constant-liar strategy).
    fn records_relative_params(&self) -> bool {
        false
    }
}

/// The generator of trial `number` for a seed.
pub fn trial_rng(seed: Option<u64>, number: usize) -> StdRng {
    match seed {
        Some(s) => {
            // SplitMix64 of (seed, number): distinct, well-mixed streams per trial.
            let mut z = s ^ (number as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            StdRng::seed_from_u64(z ^ (z >> 31))
        }
        None => StdRng::seed_from_u64(rand::random()),
    }
}

/// Uniform proposal from a distribution, as Optuna's `RandomSampler`: step grids and integers are
/// drawn on `[low − step/2, high + step/2]` and rounded, log ranges uniformly in log space.
pub fn sample_uniform(dist: &Distribution, rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random::<f64>();
    uniform_at(dist, u)
}

/// The value at quantile `u ∈ [0, 1)` of the uniform proposal distribution of [`sample_uniform`].
pub fn uniform_at(dist: &Distribution, u: f64) -> f64 {
    match dist {
        Distribution::Float {
            low,
            high,
            log,
            step,
        } => match (log, step) {
            (true, _) => {
                let (a, b) = (low.ln(), high.ln());
                (a + u * (b - a)).exp().clamp(*low, *high)
            }
            (false, Some(s)) => {
                let x = low - s / 2.0 + u * (high - low + s);
                round_to_step(x, *low, *high, *s)
            }
            (false, None) => low + u * (high - low),
        },
        Distribution::Int {
            low,
            high,
            log,
            step,
        } => {
            let (l, h, s) = (*low as f64, *high as f64, *step as f64);
            let x = if *log {
                let (a, b) = ((l - 0.5).ln(), (h + 0.5).ln());
                (a + u * (b - a)).exp()
            } else {
                l - s / 2.0 + u * (h - l + s)
            };
            round_to_step(x, l, h, s)
        }
        Distribution::Categorical { choices } => {
            ((u * choices.len() as f64) as usize).min(choices.len() - 1) as f64
        }
    }
}

/// Rounds `x` onto `low + k·step` inside `[low, high]`.
pub fn round_to_step(x: f64, low: f64, high: f64, step: f64) -> f64 {
    (low + ((x - low) / step).round() * step).clamp(low, high)
}

/// Independent uniform sampling.
#[derive(Debug, Clone, Default)]
pub struct RandomSampler {
    seed: Option<u64>,
}

impl RandomSampler {
    /// A sampler with an optional seed.
    pub fn new(seed: Option<u64>) -> Self {
        Self { seed }
    }
}

impl Sampler for RandomSampler {
    fn name(&self) -> String {
        "random".into()
    }
    fn seed(&self) -> Option<u64> {
        self.seed
    }
    fn sample_independent(
        &self,
        _ctx: &Context<'_>,
        _name: &str,
        dist: &Distribution,
        rng: &mut StdRng,
    ) -> f64 {
        sample_uniform(dist, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_samples_respect_bounds_steps_and_log() {
        let mut rng = trial_rng(Some(3), 0);
        let log = Distribution::float(1e-5, 1e-1, true);
        let mut below_1e3 = 0;
        for _ in 0..4000 {
            let x = sample_uniform(&log, &mut rng);
            assert!((1e-5..=1e-1).contains(&x));
            if x < 1e-3 {
                below_1e3 += 1;
            }
        }
        // Log-uniform: half of the mass lies below the geometric midpoint 1e-3.
        assert!((1700..2300).contains(&below_1e3), "{below_1e3}");
        let grid = Distribution::Int {
            low: 2,
            high: 14,
            log: false,
            step: 3,
        };
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..2000 {
            let x = sample_uniform(&grid, &mut rng);
            assert!(grid.contains(x), "{x}");
            seen.insert(x as i64);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![2, 5, 8, 11, 14]);
        let fstep = Distribution::Float {
            low: 0.1,
            high: 0.5,
            log: false,
            step: Some(0.1),
        };
        for _ in 0..500 {
            assert!(fstep.contains(sample_uniform(&fstep, &mut rng)));
        }
    }

    #[test]
    fn trial_generators_repeat_per_seed_and_number() {
        let a: f64 = trial_rng(Some(7), 3).random();
        let b: f64 = trial_rng(Some(7), 3).random();
        let c: f64 = trial_rng(Some(7), 4).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
