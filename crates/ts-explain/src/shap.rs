//! Shapley values of an interventional (background-average) value function: exact enumeration when
//! the players are few, KernelSHAP with sampled coalitions otherwise.
//!
//! Value function, as in SHAP's `KernelExplainer` with a background data set:
//! `v(S) = (1/B) Σ_b f(z_b)` where `z_b` is background window `b` with the cells of the players in
//! `S` copied from the explained window `x`. Then `v(∅) = mean_b f(b)` and `v(all) = f(x)`.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::error::{ExplainError, Result, invalid};
use crate::linalg::weighted_least_squares;
use crate::model::{Attributions, ExplainModel, Inputs, Runner};

/// What a player is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Players {
    /// Each (time step, feature) cell is a player.
    #[cfg_attr(feature = "clap", value(name = "cells", aliases = ["cell"]))]
    Cells,
    /// Each feature (its column over all time steps) is a player.
    #[default]
    #[cfg_attr(feature = "clap", value(name = "features", aliases = ["feature"]))]
    Features,
    /// Each time step (its row, all features) is a player.
    #[cfg_attr(feature = "clap", value(name = "timesteps", aliases = ["time_steps", "time-steps", "steps", "time"]))]
    TimeSteps,
}

impl std::str::FromStr for Players {
    type Err = ExplainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "cells" | "cell" => Ok(Self::Cells),
            "features" | "feature" => Ok(Self::Features),
            "timesteps" | "time_steps" | "steps" | "time" => Ok(Self::TimeSteps),
            _ => Err(invalid(
                "shap players",
                s,
                "expected cells, features or timesteps",
            )),
        }
    }
}

impl Players {
    /// Number of players for windows of `steps × features`.
    pub fn count(self, steps: usize, features: usize) -> usize {
        match self {
            Self::Cells => steps * features,
            Self::Features => features,
            Self::TimeSteps => steps,
        }
    }

    /// The player owning cell `(t, f)`.
    pub fn of_cell(self, t: usize, f: usize, features: usize) -> usize {
        match self {
            Self::Cells => t * features + f,
            Self::Features => f,
            Self::TimeSteps => t,
        }
    }
}

/// The most players [`ShapSettings::max_exact_players`] may enumerate exactly.
pub const MAX_EXACT_PLAYERS: usize = 24;

/// The most sampled coalitions [`ShapSettings::samples`] may ask for.
pub const MAX_SAMPLES: usize = 1_000_000;

/// Settings of the Shapley explainer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShapSettings {
    /// Player definition.
    pub players: Players,
    /// Enumerate all `2^M` coalitions (exact Shapley values) when `M` is at most this (at most
    /// [`MAX_EXACT_PLAYERS`]).
    pub max_exact_players: usize,
    /// Sampled coalitions for KernelSHAP (0: SHAP's default `2M + 2048`; at most
    /// [`MAX_SAMPLES`]).
    pub samples: usize,
    /// Seed of the coalition sampler.
    pub seed: u64,
}

impl Default for ShapSettings {
    fn default() -> Self {
        Self {
            players: Players::Features,
            max_exact_players: 10,
            samples: 0,
            seed: 0,
        }
    }
}

/// Shapley values of each window.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapResult {
    /// Player definition.
    pub players: Players,
    /// Number of players `M`.
    pub n_players: usize,
    /// `φ` per window and player, `[n][M]`.
    pub values: Vec<Vec<f64>>,
    /// Player values spread over the cells of `[n, steps, features]` (a grouped player's value is
    /// divided equally among its cells, so sums are kept).
    pub attributions: Attributions,
    /// `v(∅) = mean_b f(b)`.
    pub base_value: f64,
    /// `f(x)` per window.
    pub f_x: Vec<f64>,
    /// Per window: `Σ_j φ_j - (f(x) - v(∅))`.
    pub efficiency_gap: Vec<f64>,
    /// Whether the values are exact (all coalitions enumerated) or KernelSHAP estimates.
    pub exact: bool,
    /// Coalitions evaluated per window.
    pub coalitions: usize,
    /// Background windows.
    pub background: usize,
}

/// `v(S)` for every window of `x` and every coalition, `[n][K]`. A coalition is one flag per
/// player. Every (window, coalition, background) input goes through the model in large batches.
pub fn coalition_values<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    background: &Inputs,
    players: Players,
    coalitions: &[Vec<bool>],
) -> Result<Vec<Vec<f64>>> {
    r.check("explained windows", x)?;
    r.check("background windows", background)?;
    if background.n == 0 {
        return Err(ExplainError::Empty("the background".into()));
    }
    let feats = x.features;
    let c = x.cells();
    // Cell masks of the coalitions.
    let masks: Vec<Vec<bool>> = coalitions
        .iter()
        .map(|s| {
            (0..c)
                .map(|i| s[players.of_cell(i / feats, i % feats, feats)])
                .collect()
        })
        .collect();
    let nb = background.n;
    let k = coalitions.len();
    let total = x.n * k * nb;
    let mut out = vec![vec![0.0f64; k]; x.n];
    let chunk = r.batch.max(1);
    let mut buf = Vec::with_capacity(chunk.min(total) * c);
    let mut start = 0;
    while start < total {
        let end = (start + chunk).min(total);
        buf.clear();
        for idx in start..end {
            let b = idx % nb;
            let kk = (idx / nb) % k;
            let w = idx / (nb * k);
            let xw = x.window(w);
            let bw = background.window(b);
            buf.extend(
                masks[kk]
                    .iter()
                    .zip(xw.iter().zip(bw))
                    .map(|(&m, (xv, bv))| if m { *xv } else { *bv }),
            );
        }
        let f = r.predict(&buf, end - start)?;
        for (off, v) in f.into_iter().enumerate() {
            let idx = start + off;
            let kk = (idx / nb) % k;
            let w = idx / (nb * k);
            out[w][kk] += v;
        }
        start = end;
    }
    for row in &mut out {
        for v in row.iter_mut() {
            *v /= nb as f64;
        }
    }
    Ok(out)
}

/// All `2^m` coalitions; bit `j` of the index is player `j`.
pub fn all_coalitions(m: usize) -> Vec<Vec<bool>> {
    (0..1usize << m)
        .map(|s| (0..m).map(|j| s >> j & 1 == 1).collect())
        .collect()
}

/// Exact Shapley values from a full table `v[S]` (index bits = players):
/// `φ_j = Σ_{S ∌ j} |S|! (m-|S|-1)! / m! · (v(S ∪ j) - v(S))`.
pub fn shapley_from_table(v: &[f64], m: usize) -> Vec<f64> {
    // weight[s] = s! (m-s-1)! / m!, computed as 1 / (m · C(m-1, s)).
    let weight: Vec<f64> = (0..m)
        .map(|s| {
            let mut binom = 1.0f64;
            for i in 0..s {
                binom = binom * (m - 1 - i) as f64 / (i + 1) as f64;
            }
            1.0 / (m as f64 * binom)
        })
        .collect();
    (0..m)
        .map(|j| {
            let bit = 1usize << j;
            let mut phi = 0.0;
            for s in 0..(1usize << m) {
                if s & bit == 0 {
                    phi += weight[s.count_ones() as usize] * (v[s | bit] - v[s]);
                }
            }
            phi
        })
        .collect()
}

/// Coalitions for KernelSHAP: the empty and the full coalition, then `samples` coalitions drawn
/// from the Shapley kernel's size distribution `p(s) ∝ (m-1) / (s (m-s))`, each followed by its
/// complement (paired sampling).
fn sampled_coalitions(m: usize, samples: usize, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let sizes: Vec<f64> = (1..m)
        .map(|s| (m - 1) as f64 / (s * (m - s)) as f64)
        .collect();
    let total: f64 = sizes.iter().sum();
    let mut out = vec![vec![false; m], vec![true; m]];
    let mut order: Vec<usize> = (0..m).collect();
    while out.len() < samples + 2 {
        let mut u = rng.random::<f64>() * total;
        let mut s = m - 1;
        for (i, p) in sizes.iter().enumerate() {
            if u < *p {
                s = i + 1;
                break;
            }
            u -= p;
        }
        order.shuffle(&mut rng);
        let mut z = vec![false; m];
        for &j in &order[..s] {
            z[j] = true;
        }
        let comp: Vec<bool> = z.iter().map(|b| !b).collect();
        out.push(z);
        out.push(comp);
    }
    out
}

/// Shapley values of each window of `x` against `background` (exact or KernelSHAP, see
/// [`ShapSettings`]).
pub fn shap<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    background: &Inputs,
    s: &ShapSettings,
) -> Result<ShapResult> {
    r.check("explained windows", x)?;
    r.check("background windows", background)?;
    if background.n == 0 {
        return Err(ExplainError::Empty("the background".into()));
    }
    if s.max_exact_players > MAX_EXACT_PLAYERS {
        return Err(invalid(
            "shap max exact",
            s.max_exact_players,
            &format!(
                "at most {MAX_EXACT_PLAYERS}: exact values evaluate all 2^M coalitions per window \
                 (2^{MAX_EXACT_PLAYERS} is 16.8 million)"
            ),
        ));
    }
    if s.samples > MAX_SAMPLES {
        return Err(invalid(
            "shap samples",
            s.samples,
            &format!(
                "at most {MAX_SAMPLES} sampled coalitions (each is a forecast per window and \
                 background window, and all are held in memory)"
            ),
        ));
    }
    let m = s.players.count(x.steps, x.features);
    let exact = m <= s.max_exact_players;
    let coalitions = if exact {
        all_coalitions(m)
    } else {
        let n = if s.samples == 0 {
            2 * m + 2048
        } else {
            s.samples
        };
        if n < 2 {
            return Err(invalid(
                "shap samples",
                n,
                "KernelSHAP needs at least 2 sampled coalitions",
            ));
        }
        sampled_coalitions(m, n, s.seed)
    };
    let v = coalition_values(r, x, background, s.players, &coalitions)?;
    let full = if exact { (1usize << m) - 1 } else { 1 };
    let mut values = Vec::with_capacity(x.n);
    for vw in &v {
        let v0 = vw[0];
        let vf = vw[full];
        let phi = if exact {
            shapley_from_table(vw, m)
        } else {
            kernel_regression(&coalitions[2..], &vw[2..], v0, vf, m)?
        };
        values.push(phi);
    }
    let base_value = v.first().map_or(0.0, |vw| vw[0]);
    let f_x: Vec<f64> = v.iter().map(|vw| vw[full]).collect();
    let efficiency_gap = values
        .iter()
        .zip(&v)
        .map(|(phi, vw)| phi.iter().sum::<f64>() - (vw[full] - vw[0]))
        .collect();
    let mut attributions = Attributions::zeros(x.n, x.steps, x.features);
    let per_player = (x.cells() / m.max(1)) as f64;
    for (w, phi) in values.iter().enumerate() {
        for t in 0..x.steps {
            for f in 0..x.features {
                attributions.values[(w * x.steps + t) * x.features + f] =
                    phi[s.players.of_cell(t, f, x.features)] / per_player;
            }
        }
    }
    Ok(ShapResult {
        players: s.players,
        n_players: m,
        values,
        attributions,
        base_value,
        f_x,
        efficiency_gap,
        exact,
        coalitions: coalitions.len(),
        background: background.n,
    })
}

/// The KernelSHAP regression with the efficiency constraint `Σ φ = v(all) - v(∅)` eliminated
/// through the last player (as SHAP does). Coalitions are drawn from the kernel distribution, so
/// every row has the same weight.
fn kernel_regression(
    coalitions: &[Vec<bool>],
    v: &[f64],
    v0: f64,
    vf: f64,
    m: usize,
) -> Result<Vec<f64>> {
    let total = vf - v0;
    if m == 1 {
        return Ok(vec![total]);
    }
    let last = m - 1;
    let mut rows = Vec::with_capacity(coalitions.len());
    let mut y = Vec::with_capacity(coalitions.len());
    for (z, vz) in coalitions.iter().zip(v) {
        let zl = if z[last] { 1.0 } else { 0.0 };
        rows.push(
            (0..last)
                .map(|j| (if z[j] { 1.0 } else { 0.0 }) - zl)
                .collect::<Vec<f64>>(),
        );
        y.push(vz - v0 - zl * total);
    }
    let w = vec![1.0; rows.len()];
    let beta =
        weighted_least_squares(&rows, &y, &w, last, 0.0).ok_or_else(|| ExplainError::Singular {
            method: "kernelshap".into(),
            reason: format!(
                "the {} sampled coalitions do not determine {m} players; raise the sample count",
                rows.len()
            ),
        })?;
    let mut phi = beta;
    let rest: f64 = phi.iter().sum();
    phi.push(total - rest);
    Ok(phi)
}
