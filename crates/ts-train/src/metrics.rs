//! Regression metrics, per target, in scaled and original units, with the naive last-value
//! forecast as the baseline to beat.

use serde::{Deserialize, Serialize};
use ts_data::{Scaler, WindowSpec, Windows};

/// MSE, RMSE, MAE and R² of one set of forecasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean squared error.
    pub mse: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination (scikit-learn's `r2_score`: 1 for a perfect fit of a constant,
    /// 0 otherwise when the actuals do not vary).
    pub r2: f64,
    /// Number of values compared.
    pub count: usize,
}

impl Metrics {
    /// Computes the metrics of `predicted` against `actual`.
    pub fn compute(actual: &[f64], predicted: &[f64]) -> Self {
        let n = actual.len().min(predicted.len());
        Self::compute_with(n, |i| actual[i], |i| predicted[i])
    }

    /// [`Metrics::compute`] over `n` pairs read through `actual(i)` and `predicted(i)` (each read
    /// twice at most), without collecting them; the same sums in the same order, so the same
    /// numbers.
    pub fn compute_with(
        n: usize,
        actual: impl Fn(usize) -> f64,
        predicted: impl Fn(usize) -> f64,
    ) -> Self {
        if n == 0 {
            return Self {
                mse: f64::NAN,
                rmse: f64::NAN,
                mae: f64::NAN,
                r2: f64::NAN,
                count: 0,
            };
        }
        let nf = n as f64;
        let mean = (0..n).map(&actual).sum::<f64>() / nf;
        let (mut sse, mut sae, mut sst) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let a = actual(i);
            let e = a - predicted(i);
            sse += e * e;
            sae += e.abs();
            sst += (a - mean) * (a - mean);
        }
        let r2 = if sst > 0.0 {
            1.0 - sse / sst
        } else if sse == 0.0 {
            1.0
        } else {
            0.0
        };
        Self {
            mse: sse / nf,
            rmse: (sse / nf).sqrt(),
            mae: sae / nf,
            r2,
            count: n,
        }
    }
}

/// A model's and the naive forecast's metrics in one unit system.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UnitMetrics {
    /// The model.
    pub model: Metrics,
    /// The naive last-value forecast.
    pub naive: Metrics,
}

/// Metrics of one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetMetrics {
    /// Target column.
    pub target: String,
    /// In scaled units (the model's loss space), all horizon steps pooled.
    pub scaled: Metrics,
    /// In original units, all horizon steps pooled.
    pub original: Metrics,
    /// The naive forecast in both unit systems.
    pub naive: NaiveMetrics,
    /// Original-unit metrics per horizon step (model, naive).
    pub by_step: Vec<UnitMetrics>,
    /// Whether the model beats the naive forecast on original-unit MSE.
    pub beats_naive: bool,
}

/// The naive forecast's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NaiveMetrics {
    /// Scaled units.
    pub scaled: Metrics,
    /// Original units.
    pub original: Metrics,
}

/// Evaluation of a model on one set of windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Windows evaluated.
    pub windows: usize,
    /// One entry per target.
    pub targets: Vec<TargetMetrics>,
}

/// Forecasts of a set of windows in original units, laid out per window, step-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecasts {
    /// Model forecasts `[n, outputs]`, scaled.
    pub scaled: Vec<f32>,
    /// Actuals `[n, outputs]`, scaled (empty when unknown).
    pub actual_scaled: Vec<f32>,
    /// Naive forecasts `[n, outputs]`, scaled.
    pub naive_scaled: Vec<f32>,
}

/// The naive forecast (last observed value of each target) of every window, step-major.
pub fn naive_forecast(windows: &Windows, spec: &WindowSpec) -> Vec<f32> {
    let mut out = Vec::with_capacity(windows.n * spec.n_outputs());
    for i in 0..windows.n {
        let last = windows.last_values(i, &spec.target_index);
        for _ in 0..spec.horizon {
            out.extend_from_slice(&last);
        }
    }
    out
}

/// Evaluates scaled forecasts against the windows' targets.
pub fn evaluate(
    windows: &Windows,
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
) -> Evaluation {
    let naive = naive_forecast(windows, spec);
    let nt = spec.targets.len();
    let o = spec.n_outputs();
    let mut targets = Vec::with_capacity(nt);
    let n = windows.n;
    for (k, name) in spec.targets.iter().enumerate() {
        let col = spec.target_index[k];
        // Value `m` of step-major order (step m / n, window m % n), scaled: actual, model, naive.
        let actual = |m: usize| windows.y_of(m % n)[(m / n) * nt + k] as f64;
        let model = |m: usize| predicted_scaled[(m % n) * o + (m / n) * nt + k] as f64;
        let naive_at = |m: usize| naive[(m % n) * o + (m / n) * nt + k] as f64;
        let inv = |f: &dyn Fn(usize) -> f64, m: usize| scaler.inverse_value(col, f(m));
        let by_step = (0..spec.horizon)
            .map(|s| UnitMetrics {
                model: Metrics::compute_with(
                    n,
                    |i| inv(&actual, s * n + i),
                    |i| inv(&model, s * n + i),
                ),
                naive: Metrics::compute_with(
                    n,
                    |i| inv(&actual, s * n + i),
                    |i| inv(&naive_at, s * n + i),
                ),
            })
            .collect();
        let all = n * spec.horizon;
        let original = Metrics::compute_with(all, |m| inv(&actual, m), |m| inv(&model, m));
        let naive_o = Metrics::compute_with(all, |m| inv(&actual, m), |m| inv(&naive_at, m));
        targets.push(TargetMetrics {
            target: name.clone(),
            scaled: Metrics::compute_with(all, actual, model),
            original,
            naive: NaiveMetrics {
                scaled: Metrics::compute_with(all, actual, naive_at),
                original: naive_o,
            },
            by_step,
            beats_naive: original.mse < naive_o.mse,
        });
    }
    Evaluation {
        windows: windows.n,
        targets,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metrics_read_through_closures_equal_the_slice_version() {
        let a: Vec<f64> = (0..1000)
            .map(|i| (f64::from(i) * 0.37).sin() * 10.0)
            .collect();
        let p: Vec<f64> = a.iter().map(|x| x * 0.9 + 0.1).collect();
        let direct = Metrics::compute(&a, &p);
        let read = Metrics::compute_with(a.len(), |i| a[i], |i| p[i]);
        assert_eq!(direct, read);
        assert_eq!(Metrics::compute_with(0, |_| 0.0, |_| 0.0).count, 0);
    }

    use super::*;

    #[test]
    fn metrics_match_hand_values() {
        let m = Metrics::compute(&[1.0, 2.0, 3.0, 4.0], &[1.0, 2.0, 4.0, 2.0]);
        assert!((m.mse - 1.25).abs() < 1e-12);
        assert!((m.rmse - 1.25f64.sqrt()).abs() < 1e-12);
        assert!((m.mae - 0.75).abs() < 1e-12);
        // sst = 5, sse = 5 → r2 = 0
        assert!(m.r2.abs() < 1e-12);
        let p = Metrics::compute(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        assert_eq!(p.r2, 1.0);
        let c = Metrics::compute(&[2.0, 2.0], &[2.0, 3.0]);
        assert_eq!(c.r2, 0.0);
    }
}
