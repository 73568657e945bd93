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
        let mean = actual[..n].iter().sum::<f64>() / nf;
        let (mut sse, mut sae, mut sst) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let e = actual[i] - predicted[i];
            sse += e * e;
            sae += e.abs();
            sst += (actual[i] - mean) * (actual[i] - mean);
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
    for (k, name) in spec.targets.iter().enumerate() {
        let col = spec.target_index[k];
        let mut pooled = [
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        ];
        let mut by_step = Vec::with_capacity(spec.horizon);
        for s in 0..spec.horizon {
            let (mut a, mut p, mut nv) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..windows.n {
                let j = i * o + s * nt + k;
                let (ya, yp, yn) = (
                    windows.y_of(i)[s * nt + k] as f64,
                    predicted_scaled[j] as f64,
                    naive[j] as f64,
                );
                pooled[0].push(ya);
                pooled[1].push(yp);
                pooled[2].push(yn);
                let (oa, op, on) = (
                    scaler.inverse_value(col, ya),
                    scaler.inverse_value(col, yp),
                    scaler.inverse_value(col, yn),
                );
                pooled[3].push(oa);
                pooled[4].push(op);
                pooled[5].push(on);
                a.push(oa);
                p.push(op);
                nv.push(on);
            }
            by_step.push(UnitMetrics {
                model: Metrics::compute(&a, &p),
                naive: Metrics::compute(&a, &nv),
            });
        }
        let original = Metrics::compute(&pooled[3], &pooled[4]);
        let naive_o = Metrics::compute(&pooled[3], &pooled[5]);
        targets.push(TargetMetrics {
            target: name.clone(),
            scaled: Metrics::compute(&pooled[0], &pooled[1]),
            original,
            naive: NaiveMetrics {
                scaled: Metrics::compute(&pooled[0], &pooled[2]),
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
