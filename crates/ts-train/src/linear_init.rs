//! A closed-form start for the hybrid model's linear branch.
//!
//! The branch maps each target's last `lookback` values (minus the last one) to its next
//! `horizon` changes, with the same weights for every target. Its least-squares fit on the
//! training windows is a small ridge regression (`lookback + 1` unknowns per output), solved
//! exactly here instead of being approached by a few hundred Adam steps: the penalty pulls the
//! weights toward an anchor forecast (`W0`: the naive, the seasonal naive, the mean of the last
//! 2 or 3 seasons or their exponentially weighted mean, whichever errs least on the windows), `W = (XᵀX + λI)⁻¹(XᵀY + λW0)`, and λ is
//! picked among a few multiples of `tr(XᵀX)/lookback` by blocked cross-validation, the anchor
//! itself (λ = ∞) included. So the hybrid starts, at epoch 0, from the better of an "NLinear"
//! fit and the seasonal naive forecast on validation; training the LSTM then only adds what that
//! misses, and keeping the best epoch never gives that start up.

use burn::module::Module;
use ts_data::{WindowSpec, Windows};
use ts_model::Forecaster;

use crate::config::TrainConfig;
use crate::error::Result;
use crate::trainer::loss_value;

/// The most seasons averaged by an anchor of the ridge penalty.
const MAX_ANCHOR_SEASONS: usize = 3;

/// Ratios `r` of the smoothed seasonal anchors: the last seasons weighted `1 : r : r²`.
const SMOOTHING_RATIOS: [f32; 3] = [0.2, 1.0 / 3.0, 0.5];

/// Multiples of `tr(XᵀX)/lookback` tried as the ridge penalty.
const PENALTIES: [f64; 7] = [1e-4, 1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0];

/// The outcome of [`fit_linear_branch`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinearFit {
    /// The chosen penalty as a multiple of `tr(XᵀX)/lookback`; `None` = the seasonal naive
    /// weights were kept (infinite penalty).
    pub penalty: Option<f64>,
    /// Validation loss of the branch alone (the untrained hybrid), NaN without validation.
    pub val_loss: f64,
    /// The forecast the penalty pulls toward: `naive`, `seasonal naive`, `mean of K seasons` or
    /// `seasons weighted 1.00 : r : r²`.
    pub anchor: String,
}

/// Target histories and changes of `windows`: rows of `[x (lookback), 1]` and `[y (horizon)]`
/// per window and target, in scaled units, relative to the window's last value.
fn design(windows: &Windows, spec: &WindowSpec) -> (Vec<f64>, Vec<f64>) {
    let l = spec.lookback;
    let f = windows.n_features;
    let nt = spec.targets.len();
    let h = spec.horizon;
    let mut x = Vec::with_capacity(windows.n * nt * (l + 1));
    let mut y = Vec::with_capacity(windows.n * nt * h);
    for i in 0..windows.n {
        let xi = windows.x_of(i);
        let yi = windows.y_of(i);
        for (k, &t) in spec.target_index.iter().enumerate() {
            let last = f64::from(xi[(l - 1) * f + t]);
            for j in 0..l {
                x.push(f64::from(xi[j * f + t]) - last);
            }
            x.push(1.0);
            for s in 0..h {
                y.push(f64::from(yi[s * nt + k]) - last);
            }
        }
    }
    (x, y)
}

/// Solves `A z = b` for symmetric positive definite `A` (`n × n`, row-major) by Cholesky, for
/// `m` right-hand sides (`b`: `n × m`). `None` when `A` is not positive definite.
fn cholesky_solve(mut a: Vec<f64>, n: usize, mut b: Vec<f64>, m: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut v = a[i * n + j];
            for k in 0..j {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / d;
        }
    }
    for c in 0..m {
        // L z = b, then Lᵀ w = z.
        for i in 0..n {
            let mut v = b[i * m + c];
            for k in 0..i {
                v -= a[i * n + k] * b[k * m + c];
            }
            b[i * m + c] = v / a[i * n + i];
        }
        for i in (0..n).rev() {
            let mut v = b[i * m + c];
            for k in i + 1..n {
                v -= a[k * n + i] * b[k * m + c];
            }
            b[i * m + c] = v / a[i * n + i];
        }
    }
    Some(b)
}

/// Sums `XᵀX` and `XᵀY` over rows `[from, to)` of a design.
fn normal_equations(
    x: &[f64],
    y: &[f64],
    p: usize,
    h: usize,
    from: usize,
    to: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut xtx = vec![0.0f64; p * p];
    let mut xty = vec![0.0f64; p * h];
    for r in from..to {
        let xr = &x[r * p..(r + 1) * p];
        let yr = &y[r * h..(r + 1) * h];
        for i in 0..p {
            let xi = xr[i];
            if xi == 0.0 {
                continue;
            }
            for j in 0..p {
                xtx[i * p + j] += xi * xr[j];
            }
            for s in 0..h {
                xty[i * h + s] += xi * yr[s];
            }
        }
    }
    (xtx, xty)
}

/// Squared error of weights `w` (`[p, h]`) on rows `[from, to)`.
fn sse(x: &[f64], y: &[f64], w: &[f64], p: usize, h: usize, from: usize, to: usize) -> f64 {
    let mut total = 0.0;
    for r in from..to {
        let xr = &x[r * p..(r + 1) * p];
        for s in 0..h {
            let mut pred = 0.0;
            for j in 0..p {
                pred += xr[j] * w[j * h + s];
            }
            let e = y[r * h + s] - pred;
            total += e * e;
        }
    }
    total
}

/// Contiguous blocks for cross-validating the penalty.
const FOLDS: usize = 5;

/// Fits the linear branch of `model` (which must have one) on `train` and writes the weights into
/// every member. The penalty (the seasonal naive weights themselves included) is chosen by
/// blocked cross-validation over the training and validation windows together (five contiguous
/// blocks; Bergmeir, Hyndman & Koo 2018 show this is sound for autoregressive fits), which uses
/// far more windows than the validation part alone; the final fit uses the training windows only.
/// The LSTM head is untouched (zero at initialisation), so the returned validation loss is the
/// untrained hybrid's.
///
/// # Errors
/// A model without a linear branch.
pub fn fit_linear_branch(
    model: &mut Forecaster,
    train: &Windows,
    validation: &Windows,
    spec: &WindowSpec,
    cfg: &TrainConfig,
    device: &burn::tensor::Device,
) -> Result<LinearFit> {
    let (l, h) = (spec.lookback, spec.horizon);
    let p = l + 1;
    let has_val = validation.n > 0 && validation.has_targets();
    let (mut x, mut y) = design(train, spec);
    let train_rows = x.len() / p;
    if has_val {
        let (xv, yv) = design(validation, spec);
        x.extend(xv);
        y.extend(yv);
    }
    let (xtx_train, xty_train) = normal_equations(&x, &y, p, h, 0, train_rows);
    let scale = (0..l).map(|i| xtx_train[i * p + i]).sum::<f64>() / l as f64;
    let scale = if scale > 0.0 { scale } else { 1.0 };
    let cv = CrossValidation::new(x, y, p, h);
    let (anchor, w0, penalty) = cv.choose(anchors(h, l, model.config.season), scale);
    let w = match penalty {
        Some(c) => ridge(&xtx_train, &xty_train, &w0, p, h, c * scale).unwrap_or(w0),
        None => w0,
    };
    // Model layout: weight [h, l] (out × in), bias [h].
    let mut weight = vec![0.0f32; h * l];
    for s in 0..h {
        for j in 0..l {
            weight[s * l + j] = w[j * h + s] as f32;
        }
    }
    let bias: Vec<f32> = (0..h).map(|s| w[l * h + s] as f32).collect();
    model.set_linear(&weight, &bias)?;
    let val_loss = if has_val {
        let pred = crate::trainer::predict_scaled(&model.valid(), validation, device, 512)?;
        loss_value(&pred, &validation.all_y(), cfg)
    } else {
        f64::NAN
    };
    Ok(LinearFit {
        penalty,
        val_loss,
        anchor,
    })
}

/// The anchors the penalty may pull toward, in the solver's layout `[p, h]` (row j = input j;
/// the bias row stays zero): the naive forecast (zero weights), the seasonal naive, the mean
/// of the last 2 or 3 seasons, and the seasons weighted `1 : r : r²` for each `r` of
/// [`SMOOTHING_RATIOS`] (exponential smoothing of the seasonal pattern: between the last season,
/// which follows changes at once, and the plain mean, which averages the noise of each year),
/// where the window holds them.
fn anchors(h: usize, l: usize, season: usize) -> Vec<(String, Vec<f64>)> {
    let p = l + 1;
    let layout = |m: Vec<f32>| {
        let mut w0 = vec![0.0f64; p * h];
        for s in 0..h {
            for j in 0..l {
                w0[j * h + s] = f64::from(m[s * l + j]);
            }
        }
        w0
    };
    let means = (1..=MAX_ANCHOR_SEASONS).filter_map(|k| {
        let m = ts_model::forecaster::seasonal_mean_weights(h, l, season, k)?;
        let name = if k == 1 {
            "seasonal naive".to_string()
        } else {
            format!("mean of {k} seasons")
        };
        Some((name, layout(m)))
    });
    let smoothed = SMOOTHING_RATIOS.iter().filter_map(|&r| {
        let (m, shares) = (2..=MAX_ANCHOR_SEASONS).rev().find_map(|k| {
            let shares: Vec<f32> = (0..k).map(|i| r.powi(i as i32)).collect();
            ts_model::forecaster::seasonal_share_weights(h, l, season, &shares).map(|m| (m, shares))
        })?;
        let ratio: Vec<String> = shares.iter().map(|v| format!("{v:.2}")).collect();
        Some((format!("seasons weighted {}", ratio.join(" : ")), layout(m)))
    });
    std::iter::once(("naive".to_string(), vec![0.0; p * h]))
        .chain(means)
        .chain(smoothed)
        .collect()
}

/// Blocked cross-validation of the ridge fit over the design rows (training, then validation
/// windows): [`FOLDS`] contiguous blocks, each left out once.
struct CrossValidation {
    x: Vec<f64>,
    y: Vec<f64>,
    p: usize,
    h: usize,
    rows: usize,
    /// Row range of each block.
    bounds: Vec<(usize, usize)>,
    /// `XᵀX`, `XᵀY` of each block.
    blocks: Vec<(Vec<f64>, Vec<f64>)>,
    /// Their sums over all blocks.
    total: (Vec<f64>, Vec<f64>),
}

impl CrossValidation {
    /// Blocks over the rows of `x` (`p` columns) and `y` (`h` columns).
    fn new(x: Vec<f64>, y: Vec<f64>, p: usize, h: usize) -> Self {
        let rows = x.len() / p;
        let folds = FOLDS.min(rows);
        let bounds: Vec<(usize, usize)> = (0..folds)
            .map(|b| (b * rows / folds, (b + 1) * rows / folds))
            .collect();
        let blocks: Vec<(Vec<f64>, Vec<f64>)> = bounds
            .iter()
            .map(|&(a, b)| normal_equations(&x, &y, p, h, a, b))
            .collect();
        let mut total = (vec![0.0f64; p * p], vec![0.0f64; p * h]);
        for (a, b) in &blocks {
            total.0.iter_mut().zip(a).for_each(|(t, v)| *t += v);
            total.1.iter_mut().zip(b).for_each(|(t, v)| *t += v);
        }
        Self {
            x,
            y,
            p,
            h,
            rows,
            bounds,
            blocks,
            total,
        }
    }

    /// Squared error of `w` on all rows (out of sample for an anchor, which fits nothing).
    fn sse_all(&self, w: &[f64]) -> f64 {
        sse(&self.x, &self.y, w, self.p, self.h, 0, self.rows)
    }

    /// Cross-validated squared error of the ridge toward `w0` with penalty `lambda`; `None` when
    /// a fold's system cannot be solved.
    fn error(&self, w0: &[f64], lambda: f64) -> Option<f64> {
        let (p, h) = (self.p, self.h);
        let mut cv = 0.0;
        for (k, &(a, b)) in self.bounds.iter().enumerate() {
            // The normal equations of every block but this one.
            let minus = |total: &[f64], block: &[f64]| -> Vec<f64> {
                total.iter().zip(block).map(|(t, v)| t - v).collect()
            };
            let xtx = minus(&self.total.0, &self.blocks[k].0);
            let xty = minus(&self.total.1, &self.blocks[k].1);
            cv += sse(
                &self.x,
                &self.y,
                &ridge(&xtx, &xty, w0, p, h, lambda)?,
                p,
                h,
                a,
                b,
            );
        }
        Some(cv)
    }

    /// The anchor that errs least on all rows (a season detected from the calendar need not be
    /// in the data: a quarterly interest rate has none; a noisy season is better read off the
    /// mean of a few years than off the last one; the naive one on ties), then the penalty
    /// (a multiple of `scale`) toward it with the lowest cross-validated error, `None` (the
    /// anchor itself) unless one errs less. Returns (anchor name, anchor weights, penalty).
    fn choose(
        &self,
        anchors: Vec<(String, Vec<f64>)>,
        scale: f64,
    ) -> (String, Vec<f64>, Option<f64>) {
        let mut scored = anchors.into_iter().map(|(name, w)| {
            let e = self.sse_all(&w);
            (name, w, e)
        });
        let naive = scored.next().unwrap_or_default();
        let (anchor, w0, mut best) =
            scored.fold(naive, |best, a| if a.2 < best.2 { a } else { best });
        let mut penalty = None;
        if self.bounds.len() >= 2 {
            for c in PENALTIES {
                if let Some(cv) = self.error(&w0, c * scale)
                    && cv < best
                {
                    best = cv;
                    penalty = Some(c);
                }
            }
        }
        (anchor, w0, penalty)
    }
}

/// `(XᵀX + λI)⁻¹(XᵀY + λW0)`.
fn ridge(
    xtx: &[f64],
    xty: &[f64],
    w0: &[f64],
    p: usize,
    h: usize,
    lambda: f64,
) -> Option<Vec<f64>> {
    let mut a = xtx.to_vec();
    for i in 0..p {
        a[i * p + i] += lambda;
    }
    let b: Vec<f64> = xty.iter().zip(w0).map(|(xy, w)| xy + lambda * w).collect();
    cholesky_solve(a, p, b, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // A = [[4, 2], [2, 3]], b = [[2], [1]] → z = [0.5, 0].
        let z = cholesky_solve(vec![4.0, 2.0, 2.0, 3.0], 2, vec![2.0, 1.0], 1).unwrap();
        assert!((z[0] - 0.5).abs() < 1e-12 && z[1].abs() < 1e-12, "{z:?}");
        assert!(cholesky_solve(vec![0.0, 0.0, 0.0, 0.0], 2, vec![1.0, 1.0], 1).is_none());
    }

    #[test]
    fn ridge_tends_to_w0_and_to_least_squares() {
        // One input, one output: y = 2x exactly.
        let xtx = vec![4.0, 0.0, 0.0, 1.0];
        let xty = vec![8.0, 0.0];
        let w0 = vec![1.0, 0.0];
        let small = ridge(&xtx, &xty, &w0, 2, 1, 1e-9).unwrap();
        assert!((small[0] - 2.0).abs() < 1e-6);
        let large = ridge(&xtx, &xty, &w0, 2, 1, 1e9).unwrap();
        assert!((large[0] - 1.0).abs() < 1e-6);
    }

    /// A fixed monthly pattern plus noise as large as the pattern: the mean of the last three
    /// seasons errs less than the last season alone (error variance σ²(1 + 1/3) against 2σ²),
    /// so the branch is pulled toward it.
    /// A generator of uniform noise in `[-width/2, width/2)`, the same for every run.
    fn noise(seed: u64, width: f64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f64 / f64::from(1u32 << 31) - 0.5) * width
        }
    }

    /// The anchor the hybrid's linear branch is pulled toward on `series` (monthly, 36 steps
    /// back, one step ahead; the last 60 windows validate).
    fn anchor_of(series: &[f32]) -> LinearFit {
        let (l, season) = (36usize, 12usize);
        let n = series.len() - l;
        let windows = |from: usize, to: usize| {
            let mut x = Vec::new();
            let mut y = Vec::new();
            for i in from..to {
                x.extend_from_slice(&series[i..i + l]);
                y.push(series[i + l]);
            }
            Windows::from_parts(x, y, l, 1, 1, (from + l - 1..to + l - 1).collect())
        };
        let (train, validation) = (windows(0, n - 60), windows(n - 60, n));
        let spec = WindowSpec::new(l, 1, vec!["y".into()], vec!["y".into()]).unwrap();
        let mut mc = ts_model::ModelConfig::new(1, vec![0]);
        mc.linear = true;
        mc.lookback = l;
        mc.season = season;
        let device = burn::tensor::Device::flex();
        let mut model = mc.init(1, &device).unwrap();
        fit_linear_branch(
            &mut model,
            &train,
            &validation,
            &spec,
            &TrainConfig::default(),
            &device,
        )
        .unwrap()
    }

    #[test]
    fn a_noisy_season_is_read_off_the_mean_of_three_years() {
        let mut noise = noise(12345, 0.4);
        let series: Vec<f32> = (0..436)
            .map(|t| (0.5 + 0.2 * (t as f64 * std::f64::consts::TAU / 12.0).sin() + noise()) as f32)
            .collect();
        let fit = anchor_of(&series);
        assert_eq!(fit.anchor, "mean of 3 seasons", "{fit:?}");
    }

    /// Each month's level wanders from year to year (a random walk) under noise of the same
    /// size: the last year alone carries the whole noise, the mean of three lags the walk; a
    /// weighting in between errs least (wineind at 12 months: MAE 1,823 → 1,713).
    #[test]
    fn a_wandering_season_is_read_off_weighted_years() {
        let (mut step, mut noise) = (noise(7, 0.4), noise(99, 0.4));
        let mut level = [0.0f64; 12];
        let series: Vec<f32> = (0..436)
            .map(|t| {
                level[t % 12] += step();
                (level[t % 12] + noise()) as f32
            })
            .collect();
        let fit = anchor_of(&series);
        assert!(
            fit.anchor.starts_with("seasons weighted 1.00 : "),
            "{fit:?}"
        );
    }
}
