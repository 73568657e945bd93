//! LIME for windows: Gaussian perturbations of the cells, a kernel-weighted ridge fit of the
//! model's output on the perturbations, and the top features by summed |coefficient|.

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::{ExplainError, Result, invalid};
use crate::gradient::normal;
use crate::linalg::weighted_least_squares;
use crate::model::{Attributions, ExplainModel, Inputs, Runner};

/// Settings of LIME.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LimeSettings {
    /// Perturbed samples per window.
    pub samples: usize,
    /// Standard deviation of the Gaussian cell perturbations, in scaled units.
    pub noise: f64,
    /// Kernel width on the standardised perturbation distance, as a multiple of `sqrt(cells)`
    /// (LIME's default 0.75): weight `sqrt(exp(-d² / width²))`.
    pub kernel_width: f64,
    /// Ridge penalty on the standardised coefficients.
    pub ridge: f64,
    /// Features listed in each window's top-k.
    pub top_k: usize,
    /// Seed of the perturbations.
    pub seed: u64,
}

impl Default for LimeSettings {
    fn default() -> Self {
        Self {
            samples: 1000,
            noise: 0.1,
            kernel_width: 0.75,
            ridge: 1e-2,
            top_k: 5,
            seed: 0,
        }
    }
}

/// LIME's local linear models.
#[derive(Debug, Clone, PartialEq)]
pub struct LimeResult {
    /// Coefficient of each cell (d output / d cell of the local linear model), `[n, steps,
    /// features]`.
    pub attributions: Attributions,
    /// Intercept per window (the local model's value at `x`).
    pub intercept: Vec<f64>,
    /// Weighted R² of each local fit.
    pub r2: Vec<f64>,
    /// Per window, the `top_k` features by `Σ_t |coefficient|`, most important first.
    pub top_features: Vec<Vec<usize>>,
}

/// Fits a local linear model around each window of `x`.
pub fn lime<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    s: &LimeSettings,
) -> Result<LimeResult> {
    r.check("explained windows", x)?;
    let c = x.cells();
    check_settings(s, c)?;
    let k = s.samples;
    let width = s.kernel_width * (c as f64).sqrt();
    let (eps_all, pts) = perturb(x, s);
    let f = r.predict(&pts, x.n * k)?;
    let mut attributions = Attributions::zeros(x.n, x.steps, x.features);
    let mut intercept = Vec::with_capacity(x.n);
    let mut r2 = Vec::with_capacity(x.n);
    let mut top_features = Vec::with_capacity(x.n);
    for w in 0..x.n {
        let eps = &eps_all[w * k..(w + 1) * k];
        let y = &f[w * k..(w + 1) * k];
        let fit = fit_window(eps, y, width, s.ridge, w)?;
        r2.push(fit.r2);
        intercept.push(fit.intercept);
        // Coefficients per unit of input: the design used eps = (x' - x) / noise.
        for (i, b) in fit.beta.iter().enumerate() {
            attributions.values[w * c + i] = b / s.noise;
        }
        top_features.push(top_features_of(&attributions, x, w, s.top_k));
    }
    Ok(LimeResult {
        attributions,
        intercept,
        r2,
        top_features,
    })
}

/// The most perturbed samples per window LIME may ask for.
pub const MAX_LIME_SAMPLES: usize = 1_000_000;

/// Rejects settings LIME cannot fit with for windows of `c` cells.
fn check_settings(s: &LimeSettings, c: usize) -> Result<()> {
    if s.samples > MAX_LIME_SAMPLES {
        return Err(invalid(
            "lime samples",
            s.samples,
            &format!("at most {MAX_LIME_SAMPLES} (each is a forecast, and all are held in memory)"),
        ));
    }
    if s.samples <= c {
        return Err(invalid(
            "lime samples",
            s.samples,
            &format!("need more samples than the {c} cells of a window"),
        ));
    }
    if !(s.noise.is_finite() && s.noise > 0.0) {
        return Err(invalid("lime noise", s.noise, "must be a finite value > 0"));
    }
    if !(s.kernel_width.is_finite() && s.kernel_width > 0.0) {
        return Err(invalid(
            "lime kernel width",
            s.kernel_width,
            "must be a finite value > 0",
        ));
    }
    if !(s.ridge.is_finite() && s.ridge >= 0.0) {
        return Err(invalid(
            "lime ridge",
            s.ridge,
            "must be a finite value >= 0",
        ));
    }
    Ok(())
}

/// Draws `s.samples` standard-normal perturbations per window (seeded by `s.seed`): the
/// perturbations, and the perturbed windows (`x + noise · eps`) laid end to end.
fn perturb(x: &Inputs, s: &LimeSettings) -> (Vec<Vec<f64>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(s.seed);
    let (k, c) = (s.samples, x.cells());
    let mut eps_all: Vec<Vec<f64>> = Vec::with_capacity(x.n * k);
    let mut pts = Vec::with_capacity(x.n * k * c);
    for w in 0..x.n {
        let xw = x.window(w);
        for _ in 0..k {
            let eps: Vec<f64> = (0..c).map(|_| normal(&mut rng)).collect();
            pts.extend(
                xw.iter()
                    .zip(&eps)
                    .map(|(v, e)| (f64::from(*v) + s.noise * e) as f32),
            );
            eps_all.push(eps);
        }
    }
    (eps_all, pts)
}

/// One window's local linear model on the standardised perturbations.
struct LocalFit {
    /// Coefficient per cell, per unit of perturbation.
    beta: Vec<f64>,
    /// The model's value at the window.
    intercept: f64,
    /// Weighted R² of the fit.
    r2: f64,
}

/// Fits window `w`'s outputs `y` on its perturbations `eps`, weighted by the kernel of `width`
/// with ridge penalty `ridge`.
fn fit_window(eps: &[Vec<f64>], y: &[f64], width: f64, ridge: f64, w: usize) -> Result<LocalFit> {
    let c = eps.first().map_or(0, Vec::len);
    let weights: Vec<f64> = eps
        .iter()
        .map(|e| {
            let d2: f64 = e.iter().map(|v| v * v).sum();
            (-d2 / (width * width)).exp().sqrt()
        })
        .collect();
    // Columns: intercept, then the standardised perturbation of every cell. The intercept is
    // not penalised: centre by the weighted means instead of adding a column.
    let wsum: f64 = weights.iter().sum();
    let ymean: f64 = y.iter().zip(&weights).map(|(a, b)| a * b).sum::<f64>() / wsum;
    let mut emean = vec![0.0f64; c];
    for (e, wk) in eps.iter().zip(&weights) {
        for (m, v) in emean.iter_mut().zip(e) {
            *m += wk * v;
        }
    }
    for m in &mut emean {
        *m /= wsum;
    }
    let rows: Vec<Vec<f64>> = eps
        .iter()
        .map(|e| e.iter().zip(&emean).map(|(v, m)| v - m).collect())
        .collect();
    let yc: Vec<f64> = y.iter().map(|v| v - ymean).collect();
    let beta = weighted_least_squares(&rows, &yc, &weights, c, ridge).ok_or_else(|| {
        ExplainError::Singular {
            method: "lime".into(),
            reason: format!(
                "the local fit of window {w} is singular; raise the sample count or the ridge"
            ),
        }
    })?;
    let intercept = ymean - beta.iter().zip(&emean).map(|(b, m)| b * m).sum::<f64>();
    let r2 = weighted_r2(&rows, &yc, &weights, &beta);
    Ok(LocalFit {
        beta,
        intercept,
        r2,
    })
}

/// Weighted R² of the centred fit `rows · beta ≈ yc` (1 when `yc` has no weighted spread).
fn weighted_r2(rows: &[Vec<f64>], yc: &[f64], weights: &[f64], beta: &[f64]) -> f64 {
    let mut ss_res = 0.0;
    let mut ss_tot = 0.0;
    for ((row, yk), wk) in rows.iter().zip(yc).zip(weights) {
        let pred: f64 = row.iter().zip(beta).map(|(a, b)| a * b).sum();
        ss_res += wk * (yk - pred).powi(2);
        ss_tot += wk * yk * yk;
    }
    if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    }
}

/// Window `w`'s `top_k` features by `Σ_t |coefficient|`, most important first.
fn top_features_of(attributions: &Attributions, x: &Inputs, w: usize, top_k: usize) -> Vec<usize> {
    let mut per_feature: Vec<(usize, f64)> = (0..x.features)
        .map(|f| {
            (
                f,
                (0..x.steps)
                    .map(|t| attributions.get(w, t, f).abs())
                    .sum::<f64>(),
            )
        })
        .collect();
    per_feature.sort_by(|a, b| b.1.total_cmp(&a.1));
    per_feature
        .into_iter()
        .take(top_k)
        .map(|(f, _)| f)
        .collect()
}
