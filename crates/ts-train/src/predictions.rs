//! Forecasts as rows in original units (with actuals, the naive, seasonal naive and drift
//! forecasts and interval bounds), written as CSV or gathered into per-target series for charts.

use serde::{Deserialize, Serialize};
use ts_data::{Frame, WindowSpec, Windows};

use crate::intervals::WindowBounds;
use crate::metrics::{BaselineForecasts, actuals_original};

use crate::bundle::*;

/// One forecast value in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// Time stamp of the forecast row (extrapolated beyond the data).
    pub timestamp: String,
    /// Target column.
    pub target: String,
    /// Steps ahead (1 = next row).
    pub step: usize,
    /// The observed value, when known.
    pub actual: Option<f64>,
    /// The forecast.
    pub predicted: f64,
    /// The naive last-value forecast.
    pub naive: f64,
    /// The seasonal naive forecast (the value one season before the forecast row, as the
    /// metrics score it); `None` without a season.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seasonal_naive: Option<f64>,
    /// The drift forecast (the last value plus the step times the average change per row of all
    /// the rows up to the window's last).
    #[serde(default)]
    pub drift: f64,
    /// Prediction interval bounds `(lower, upper)`, one per level of the model's intervals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<(f64, f64)>,
}

/// Writes prediction rows as CSV text
/// (`timestamp,target,step,actual,predicted,naive,seasonal_naive,drift` and, for each interval
/// level, `lower_L,upper_L`; `seasonal_naive` is empty without a season).
pub fn predictions_csv(rows: &[PredictionRow], levels: &[f64]) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write_predictions_csv(&mut out, rows, levels);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes prediction rows as CSV (the text of [`predictions_csv`]) row by row to `w`, so that a
/// large test part never becomes one string; pair it with [`prediction_rows_iter`]. `levels`
/// name the interval columns (`lower_80,upper_80` for 0.8); rows without bounds leave them empty.
pub fn write_predictions_csv<R: std::borrow::Borrow<PredictionRow>>(
    w: &mut dyn std::io::Write,
    rows: impl IntoIterator<Item = R>,
    levels: &[f64],
) -> std::io::Result<()> {
    w.write_all(b"timestamp,target,step,actual,predicted,naive,seasonal_naive,drift")?;
    for &l in levels {
        let n = crate::intervals::level_name(l);
        write!(w, ",lower_{n},upper_{n}")?;
    }
    w.write_all(b"\n")?;
    for r in rows {
        let r = r.borrow();
        if r.target.contains(',') || r.target.contains('"') {
            write!(w, "{},\"{}\",", r.timestamp, r.target.replace('"', "\"\""))?;
        } else {
            write!(w, "{},{},", r.timestamp, r.target)?;
        }
        write!(w, "{},", r.step)?;
        if let Some(a) = r.actual {
            write!(w, "{a}")?;
        }
        write!(w, ",{},{},", r.predicted, r.naive)?;
        if let Some(m) = r.seasonal_naive {
            write!(w, "{m}")?;
        }
        write!(w, ",{}", r.drift)?;
        for l in 0..levels.len() {
            match r.intervals.get(l) {
                Some((lo, hi)) => write!(w, ",{lo},{hi}")?,
                None => w.write_all(b",,")?,
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// One target's forecasts `step` steps ahead, as parallel series (for charts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetSeries {
    /// Time stamps of the forecast rows.
    pub timestamps: Vec<String>,
    /// Observed values (NaN where unknown).
    pub actual: Vec<f64>,
    /// Forecasts.
    pub predicted: Vec<f64>,
    /// Naive last-value forecasts.
    pub naive: Vec<f64>,
    /// Seasonal naive forecasts (empty without a season).
    pub seasonal_naive: Vec<f64>,
    /// Drift forecasts.
    pub drift: Vec<f64>,
    /// Lower bounds of the widest prediction interval (empty without intervals).
    pub lower: Vec<f64>,
    /// Upper bounds of the widest prediction interval (empty without intervals).
    pub upper: Vec<f64>,
}

impl TargetSeries {
    /// Appends one row's values (the widest interval, when it has any).
    pub fn push(&mut self, r: &PredictionRow) {
        self.actual.push(r.actual.unwrap_or(f64::NAN));
        self.predicted.push(r.predicted);
        self.naive.push(r.naive);
        if let Some(m) = r.seasonal_naive {
            self.seasonal_naive.push(m);
        }
        self.drift.push(r.drift);
        if let Some((lo, hi)) = r.intervals.last() {
            self.lower.push(*lo);
            self.upper.push(*hi);
        }
    }
}

/// Picks one target's rows at one horizon step out of prediction rows.
pub fn series_of<R: std::borrow::Borrow<PredictionRow>>(
    rows: impl IntoIterator<Item = R>,
    target: &str,
    step: usize,
) -> TargetSeries {
    let mut s = TargetSeries::default();
    for r in rows {
        let r = r.borrow();
        if r.target != target || r.step != step {
            continue;
        }
        s.timestamps.push(r.timestamp.clone());
        s.push(r);
    }
    s
}

/// Turns scaled forecasts of windows into rows in original units, with the baselines' forecasts
/// of the same rows (the seasonal naive one for `season` above 1).
pub fn prediction_rows(
    frame: &Frame,
    spec: &WindowSpec,
    scaler: &ts_data::Scaler,
    windows: &Windows,
    predicted: &[f32],
    bounds: Option<WindowBounds>,
    season: usize,
) -> Vec<PredictionRow> {
    prediction_rows_iter(frame, spec, scaler, windows, predicted, bounds, season).collect()
}

/// The rows of [`prediction_rows`] one at a time (window by window, step by step, target by
/// target), for writing or summarising them without holding them all.
pub fn prediction_rows_iter<'a>(
    frame: &'a Frame,
    spec: &'a WindowSpec,
    scaler: &'a ts_data::Scaler,
    windows: &'a Windows,
    predicted: &'a [f32],
    bounds: Option<WindowBounds>,
    season: usize,
) -> impl Iterator<Item = PredictionRow> + 'a {
    let nt = spec.targets.len();
    let o = spec.n_outputs();
    // Actuals and baselines in original units, from the file's own values where the windows'
    // series keeps them (the targets): 26635, not 26634.99974.
    let actual = actuals_original(windows, spec, scaler);
    let base = BaselineForecasts::of(windows, spec, scaler, season);
    let n_rows = frame.n_rows();
    windows
        .anchors
        .iter()
        .enumerate()
        .flat_map(move |(i, &a)| (0..spec.horizon).map(move |s| (i, a, s)))
        .flat_map(move |(i, a, s)| {
            spec.targets
                .iter()
                .enumerate()
                .map(move |(k, t)| (i, a, s, k, t))
        })
        .map(move |(i, a, s, k, t)| {
            let j = i * o + s * nt + k;
            let col = spec.target_index[k];
            let row = a + s + 1;
            let timestamp = if row < n_rows {
                frame.label(row)
            } else {
                future_label(frame, row - (n_rows - 1))
            };
            let p = scaler.inverse_value(col, predicted[j] as f64);
            PredictionRow {
                timestamp,
                target: t.clone(),
                step: s + 1,
                actual: actual.get(j).copied(),
                predicted: p,
                naive: base.naive[j],
                seasonal_naive: (season > 1).then(|| base.seasonal_naive[j]),
                drift: base.drift[j],
                intervals: bounds.as_ref().map_or_else(Vec::new, |b| {
                    (0..b.levels())
                        .map(|l| b.bounds(i, l, s * nt + k, p))
                        .collect()
                }),
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(timestamp: &str, target: &str, actual: Option<f64>) -> PredictionRow {
        PredictionRow {
            timestamp: timestamp.into(),
            target: target.into(),
            step: 2,
            actual,
            predicted: 0.1 + 0.2,
            naive: -3.0,
            seasonal_naive: (target == "gdp").then_some(2.5),
            drift: -2.75,
            intervals: Vec::new(),
        }
    }

    #[test]
    fn predictions_csv_streamed_is_the_same_text() {
        let rows = vec![
            row("2020-01-01", "gdp", Some(1.5)),
            row("2020-02-01", "a,b", None),
            row("#7", "say \"hi\"", Some(1e-7)),
        ];
        let expected = "timestamp,target,step,actual,predicted,naive,seasonal_naive,drift\n\
                        2020-01-01,gdp,2,1.5,0.30000000000000004,-3,2.5,-2.75\n\
                        2020-02-01,\"a,b\",2,,0.30000000000000004,-3,,-2.75\n\
                        #7,\"say \"\"hi\"\"\",2,0.0000001,0.30000000000000004,-3,,-2.75\n";
        assert_eq!(predictions_csv(&rows, &[]), expected);
        let mut streamed = Vec::new();
        write_predictions_csv(&mut streamed, rows.iter(), &[]).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), expected);
        // The one-step series of the same rows, from owned rows too.
        let s = series_of(rows.clone(), "gdp", 2);
        assert_eq!(s.timestamps, vec!["2020-01-01".to_string()]);
        assert_eq!(s.actual, vec![1.5]);
        assert_eq!((s.seasonal_naive, s.drift), (vec![2.5], vec![-2.75]));
        assert!(series_of(&rows, "gdp", 1).actual.is_empty());
    }
}
