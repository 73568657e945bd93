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
    /// Whether the model beats the naive forecast on original-unit MSE by more than rounding
    /// ([`beats`]: a model that *is* the naive forecast ties).
    pub beats_naive: bool,
    /// Seasonal period (rows) of the seasonal naive forecast and of MASE's scale; 1 = none.
    pub season: usize,
    /// MASE's scale: the in-sample MAE of the seasonal naive forecast (one step, training rows,
    /// original units; Hyndman & Koehler 2006). NaN when the history is too short.
    pub mase_scale: f64,
    /// The model and the three baselines in original units, all horizon steps pooled.
    pub scores: Scores,
    /// The same per horizon step.
    pub scores_by_step: Vec<Scores>,
    /// Whether the model's MAE (so its MASE) is below that of every baseline: the naive, the
    /// seasonal naive (when there is a season) and the drift forecast.
    pub beats_baselines: bool,
}

/// Accuracy of one set of forecasts in original units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute scaled error (MAE / [`TargetMetrics::mase_scale`]).
    pub mase: f64,
    /// Symmetric mean absolute percentage error, in percent (0..200; pairs where actual and
    /// forecast are both 0 count as 0).
    pub smape: f64,
    /// Coefficient of determination.
    pub r2: f64,
}

/// The model's and the baselines' scores on the same values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The model.
    pub model: Score,
    /// Naive: the last observed value.
    pub naive: Score,
    /// Seasonal naive: the value one season before the forecast row (the naive when there is no
    /// season).
    pub seasonal_naive: Score,
    /// Drift: the last value plus the average change over the history so far.
    pub drift: Score,
}

impl Scores {
    /// The baselines whose MAE the model's does not [`beats`]: `naive`, `seasonal naive` (only
    /// when there is a season, `season > 1`) and `drift`; empty when it beats them all.
    pub fn unbeaten(&self, season: usize) -> Vec<&'static str> {
        let m = self.model.mae;
        let mut out = Vec::new();
        if !beats(m, self.naive.mae) {
            out.push("naive");
        }
        if season > 1 && !beats(m, self.seasonal_naive.mae) {
            out.push("seasonal naive");
        }
        if !beats(m, self.drift.mae) {
            out.push("drift");
        }
        out
    }
}

/// Whether an error `model` is below a baseline's `base` by more than rounding (1e-6 relative: a model that *is*
/// the baseline, as the hybrid can be, ties rather than beats it).
pub fn beats(model: f64, base: f64) -> bool {
    model < base - 1e-6 * base.abs()
}

/// Which seasonal period and which history the baselines and MASE use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSpec {
    /// Seasonal period in rows (1 = none).
    pub season: usize,
    /// Rows `[0, history_end)` of the windows' series give MASE's scale (the training rows).
    pub history_end: usize,
}

impl Score {
    fn compute_with(
        n: usize,
        scale: f64,
        actual: impl Fn(usize) -> f64,
        predicted: impl Fn(usize) -> f64,
    ) -> Self {
        let m = Metrics::compute_with(n, &actual, &predicted);
        let mut sm = 0.0;
        for i in 0..n {
            let (a, p) = (actual(i), predicted(i));
            let d = a.abs() + p.abs();
            if d > 0.0 {
                sm += 2.0 * (a - p).abs() / d;
            }
        }
        let smape = if n == 0 {
            f64::NAN
        } else {
            100.0 * sm / n as f64
        };
        Self {
            mae: m.mae,
            rmse: m.rmse,
            mase: if scale > 0.0 { m.mae / scale } else { f64::NAN },
            smape,
            r2: m.r2,
        }
    }
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

/// The seasonal naive forecast of every window, step-major: for step `s` (1-based) the value
/// `m·⌈s/m⌉ − s` rows before the window's last row, i.e. the same position one season earlier.
/// Where the windows cannot see that far back, the last value. `season <= 1` gives the naive
/// forecast.
pub fn seasonal_naive_forecast(windows: &Windows, spec: &WindowSpec, season: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(windows.n * spec.n_outputs());
    for i in 0..windows.n {
        let last = windows.last_values(i, &spec.target_index);
        for s in 1..=spec.horizon {
            let back = ts_data::seasonal_lag(season, s);
            for (k, &t) in spec.target_index.iter().enumerate() {
                out.push(windows.value_before(i, back, t).unwrap_or(last[k]));
            }
        }
    }
    out
}

/// The drift forecast of every window, step-major: the last value plus `s` times the average
/// change per row over all the rows the windows see up to their last row (Hyndman's drift
/// method).
pub fn drift_forecast(windows: &Windows, spec: &WindowSpec) -> Vec<f32> {
    let mut out = Vec::with_capacity(windows.n * spec.n_outputs());
    for i in 0..windows.n {
        let last = windows.last_values(i, &spec.target_index);
        let back = windows.history_len(i).saturating_sub(1);
        let slopes: Vec<f64> = spec
            .target_index
            .iter()
            .enumerate()
            .map(|(k, &t)| match windows.value_before(i, back, t) {
                Some(first) if back > 0 => (f64::from(last[k]) - f64::from(first)) / back as f64,
                _ => 0.0,
            })
            .collect();
        for s in 1..=spec.horizon {
            for (k, slope) in slopes.iter().enumerate() {
                out.push((f64::from(last[k]) + slope * s as f64) as f32);
            }
        }
    }
    out
}

/// The value of column `col` `back` rows before window `i`'s last input row, in original units:
/// the file's own value where the windows' series keeps the column unscaled (the targets, see
/// [`ts_data::Series::keep_raw`]), otherwise the scaled value through the scaler's inverse.
pub fn original_before(
    windows: &Windows,
    scaler: &Scaler,
    i: usize,
    back: usize,
    col: usize,
) -> Option<f64> {
    windows.raw_before(i, back, col).or_else(|| {
        windows
            .value_before(i, back, col)
            .map(|v| scaler.inverse_value(col, f64::from(v)))
    })
}

/// The actual of output `j` (step `j / targets + 1`) of window `i` in original units: the file's
/// own value where the series keeps it (see [`original_before`]).
///
/// # Panics
/// If the windows have no targets.
pub fn actual_original(
    windows: &Windows,
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    j: usize,
) -> f64 {
    let nt = spec.targets.len();
    let col = spec.target_index[j % nt];
    windows
        .raw_after(i, j / nt + 1, col)
        .unwrap_or_else(|| scaler.inverse_value(col, f64::from(windows.y_of(i)[j])))
}

/// The windows' actuals in original units, laid out like [`Windows::y_of`] (`[n, outputs]`,
/// step-major per window): the file's own values where the series keeps them (see
/// [`original_before`]). Empty when the windows have no targets.
pub fn actuals_original(windows: &Windows, spec: &WindowSpec, scaler: &Scaler) -> Vec<f64> {
    if !windows.has_targets() {
        return Vec::new();
    }
    let o = spec.n_outputs();
    (0..windows.n)
        .flat_map(|i| (0..o).map(move |j| actual_original(windows, spec, scaler, i, j)))
        .collect()
}

/// The three baselines' forecasts of every window in original units, laid out like
/// [`naive_forecast`]'s; computed from the file's own values where the series keeps them (see
/// [`original_before`]), so that a forecast that repeats a value repeats it exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineForecasts {
    /// The last value ([`naive_forecast`]).
    pub naive: Vec<f64>,
    /// The value one season earlier ([`seasonal_naive_forecast`]); the naive without a season.
    pub seasonal_naive: Vec<f64>,
    /// The last value plus the average change so far ([`drift_forecast`]).
    pub drift: Vec<f64>,
}

impl BaselineForecasts {
    /// The baselines of `windows` in original units, the seasonal naive with period `season`.
    pub fn of(windows: &Windows, spec: &WindowSpec, scaler: &Scaler, season: usize) -> Self {
        let cap = windows.n * spec.n_outputs();
        let (mut naive, mut seasonal_naive, mut drift) = (
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
            Vec::with_capacity(cap),
        );
        let value = |i: usize, back: usize, t: usize| original_before(windows, scaler, i, back, t);
        for i in 0..windows.n {
            let last: Vec<f64> = spec
                .target_index
                .iter()
                .map(|&t| value(i, 0, t).unwrap_or(f64::NAN))
                .collect();
            let back = windows.history_len(i).saturating_sub(1);
            let slopes: Vec<f64> = spec
                .target_index
                .iter()
                .enumerate()
                .map(|(k, &t)| match value(i, back, t) {
                    Some(first) if back > 0 => (last[k] - first) / back as f64,
                    _ => 0.0,
                })
                .collect();
            for s in 1..=spec.horizon {
                let lag = ts_data::seasonal_lag(season, s);
                for (k, &t) in spec.target_index.iter().enumerate() {
                    naive.push(last[k]);
                    seasonal_naive.push(value(i, lag, t).unwrap_or(last[k]));
                    drift.push(last[k] + slopes[k] * s as f64);
                }
            }
        }
        Self {
            naive,
            seasonal_naive,
            drift,
        }
    }
}

/// MASE's scale for feature column `col`: the mean absolute change over `season` rows within rows
/// `[0, history_end)` of the windows' series, in original units (the in-sample MAE of the
/// one-step seasonal naive forecast); NaN when those rows hold no such pair.
pub fn mase_scale(windows: &Windows, col: usize, scaler: &Scaler, baseline: &BaselineSpec) -> f64 {
    let series = windows.series();
    let m = baseline.season.max(1);
    let end = baseline.history_end.min(series.rows());
    if end <= m {
        return f64::NAN;
    }
    let value = |r: usize| {
        series
            .raw_value(r, col)
            .unwrap_or_else(|| scaler.inverse_value(col, f64::from(series.row(r)[col])))
    };
    let mut sum = 0.0;
    for r in m..end {
        sum += (value(r) - value(r - m)).abs();
    }
    sum / (end - m) as f64
}

/// Evaluates scaled forecasts against the windows' targets, next to the naive, seasonal naive and
/// drift forecasts.
pub fn evaluate(
    windows: &Windows,
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
    baseline: &BaselineSpec,
) -> Evaluation {
    let naive = naive_forecast(windows, spec);
    // In original units: the file's own values for the actuals and the baselines (see
    // `original_before`); the model's forecasts through the scaler's inverse.
    let actual_o = actuals_original(windows, spec, scaler);
    let base = BaselineForecasts::of(windows, spec, scaler, baseline.season);
    let nt = spec.targets.len();
    let o = spec.n_outputs();
    let mut targets = Vec::with_capacity(nt);
    let n = windows.n;
    for (k, name) in spec.targets.iter().enumerate() {
        let col = spec.target_index[k];
        // Value `m` of step-major order (step m / n, window m % n): its place in a
        // `[n, outputs]` buffer.
        let at = |m: usize| (m % n) * o + (m / n) * nt + k;
        // Scaled: actual, model, naive.
        let actual = |m: usize| windows.y_of(m % n)[(m / n) * nt + k] as f64;
        let model = |m: usize| predicted_scaled[at(m)] as f64;
        let naive_at = |m: usize| naive[at(m)] as f64;
        // Original units.
        let actual_at = |m: usize| actual_o[at(m)];
        let model_at = |m: usize| scaler.inverse_value(col, model(m));
        let naive_o_at = |m: usize| base.naive[at(m)];
        let by_step = (0..spec.horizon)
            .map(|s| UnitMetrics {
                model: Metrics::compute_with(n, |i| actual_at(s * n + i), |i| model_at(s * n + i)),
                naive: Metrics::compute_with(
                    n,
                    |i| actual_at(s * n + i),
                    |i| naive_o_at(s * n + i),
                ),
            })
            .collect();
        let all = n * spec.horizon;
        let original = Metrics::compute_with(all, actual_at, model_at);
        let naive_o = Metrics::compute_with(all, actual_at, naive_o_at);
        let snaive_at = |m: usize| base.seasonal_naive[at(m)];
        let drift_at = |m: usize| base.drift[at(m)];
        let scale = mase_scale(windows, col, scaler, baseline);
        // Scores of the values `first..first + len` of step-major order.
        let scores = |first: usize, len: usize| {
            let a = |i: usize| actual_at(first + i);
            Scores {
                model: Score::compute_with(len, scale, a, |i| model_at(first + i)),
                naive: Score::compute_with(len, scale, a, |i| naive_o_at(first + i)),
                seasonal_naive: Score::compute_with(len, scale, a, |i| snaive_at(first + i)),
                drift: Score::compute_with(len, scale, a, |i| drift_at(first + i)),
            }
        };
        let pooled = scores(0, all);
        let scores_by_step = (0..spec.horizon).map(|s| scores(s * n, n)).collect();
        let beats_baselines = n > 0 && pooled.unbeaten(baseline.season).is_empty();
        targets.push(TargetMetrics {
            target: name.clone(),
            scaled: Metrics::compute_with(all, actual, model),
            original,
            naive: NaiveMetrics {
                scaled: Metrics::compute_with(all, actual, naive_at),
                original: naive_o,
            },
            by_step,
            beats_naive: beats(original.mse, naive_o.mse),
            season: baseline.season.max(1),
            mase_scale: scale,
            scores: pooled,
            scores_by_step,
            beats_baselines,
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
    fn baselines_read_the_history_before_each_window() {
        // One column 0, 1, 4, 9, 16, … (squares), lookback 2, horizon 3, season 2.
        let spec = WindowSpec::new(2, 3, vec!["a".into()], vec!["a".into()]).unwrap();
        let col: Vec<f32> = (0..12).map(|i| (i * i) as f32).collect();
        let w = Windows::build(&[col], &spec, vec![5, 8], true);
        // Window at row 5 (value 25): naive 25; step s of the seasonal naive reads m·⌈s/m⌉ − s
        // rows back: s=1 → 1 back (row 4 = 16), s=2 → 0 back (row 5 = 25), s=3 → 1 back (16).
        let sn = seasonal_naive_forecast(&w, &spec, 2);
        assert_eq!(&sn[..3], &[16.0, 25.0, 16.0]);
        assert_eq!(&sn[3..], &[49.0, 64.0, 49.0]);
        // Drift from row 0 (0) to row 5 (25): 5 per row.
        let d = drift_forecast(&w, &spec);
        assert_eq!(&d[..3], &[30.0, 35.0, 40.0]);
        assert_eq!(naive_forecast(&w, &spec)[..3], [25.0, 25.0, 25.0]);
        // No season: the seasonal naive is the naive.
        assert_eq!(
            seasonal_naive_forecast(&w, &spec, 1),
            naive_forecast(&w, &spec)
        );
    }

    #[test]
    fn actuals_and_baselines_are_the_files_own_values() {
        // Values whose scaled f32 does not map back exactly (26635 came back as 26634.99974).
        let values: Vec<f64> = (0..60)
            .map(|r| f64::from(20_000 + (r * 7_919) % 13_001) + if r % 3 == 0 { 0.25 } else { 0.0 })
            .collect();
        let frame =
            ts_data::Frame::from_columns("mem", vec!["y".into()], vec![values.clone()], None)
                .unwrap();
        let spec = WindowSpec::new(6, 3, vec!["y".into()], vec!["y".into()]).unwrap();
        let split = ts_data::SplitConfig {
            train: 0.7,
            validation: 0.0,
        };
        let p = ts_data::prepare(&frame, &spec, &split, ts_data::ScalerKind::MinMax).unwrap();
        let w = &p.test;
        let actual = actuals_original(w, &spec, &p.scaler);
        let base = BaselineForecasts::of(w, &spec, &p.scaler, 4);
        // Through the scaled f32 and back, some values are off: the test is not vacuous.
        let inverted = (0..w.n).any(|i| {
            let back = p.scaler.inverse_value(0, f64::from(w.y_of(i)[0]));
            back != values[w.anchors[i] + 1]
        });
        assert!(inverted, "every value survived the f32 round trip");
        let first = (w.n * 3) / 4;
        for i in [0, first, w.n - 1] {
            let a = w.anchors[i];
            for s in 0..3 {
                assert_eq!(actual[i * 3 + s], values[a + s + 1]);
                assert_eq!(base.naive[i * 3 + s], values[a]);
                let lag = ts_data::seasonal_lag(4, s + 1);
                assert_eq!(base.seasonal_naive[i * 3 + s], values[a - lag]);
                let slope = (values[a] - values[0]) / a as f64;
                assert_eq!(base.drift[i * 3 + s], values[a] + slope * (s + 1) as f64);
            }
        }
        // The evaluation reads the same values: the naive's MAE is the exact one.
        let predicted = vec![0.5f32; w.n * 3];
        let bs = BaselineSpec {
            season: 4,
            history_end: p.bounds.val_start,
        };
        let e = evaluate(w, &predicted, &spec, &p.scaler, &bs);
        let exact = (0..w.n)
            .flat_map(|i| (1..=3).map(move |s| (i, s)))
            .map(|(i, s)| (values[w.anchors[i] + s] - values[w.anchors[i]]).abs())
            .sum::<f64>()
            / (w.n * 3) as f64;
        let mae = e.targets[0].scores.naive.mae;
        assert!((mae - exact).abs() <= 1e-9 * exact, "{mae} against {exact}");
    }

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
