//! Split-conformal prediction intervals, calibrated per horizon step and target.
//!
//! The absolute errors of the kept model on the validation windows (which it was not fitted on)
//! give, for each nominal level `α`, the half-width `q` of the interval `forecast ± q`: the
//! `⌈(n + 1)·α⌉`-th smallest of the `n` errors (Vovk et al.; Lei et al. 2018), which covers a new
//! point with probability at least `α` when errors are exchangeable. When the validation part is
//! too small for that rank (`⌈(n + 1)·α⌉ > n`) the largest error is used and the level is marked
//! [`Intervals::capped`]. Coverage and width are then measured on the test part
//! ([`Intervals::coverage`]).

use serde::{Deserialize, Serialize};
use ts_data::{Scaler, WindowSpec, Windows};

use crate::error::{Result, invalid};

/// Calibrated interval half-widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// Nominal coverage levels in (0, 1), ascending.
    pub levels: Vec<f64>,
    /// Half-widths in original units, `[level][step × targets + target]` (step-major, as the
    /// model's outputs).
    pub half_width: Vec<Vec<f64>>,
    /// Validation windows the errors came from.
    pub calibration_windows: usize,
    /// Per level: whether the validation part was too small for the conformal rank, so that the
    /// largest error was used (the interval may then cover less than its level).
    pub capped: Vec<bool>,
}

/// Measured coverage of one level on a set of windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// Nominal level.
    pub level: f64,
    /// Share of actual values inside their interval, all steps and targets pooled.
    pub coverage: f64,
    /// Mean interval width (original units), pooled.
    pub mean_width: f64,
    /// Coverage per horizon step (targets pooled).
    pub coverage_by_step: Vec<f64>,
    /// Values compared.
    pub count: usize,
}

/// Parses a list of levels: `0.8,0.95` (or percentages `80,95`); `none` or empty gives none.
///
/// # Errors
/// A level that is not a number in (0, 1) (or (0, 100) as a percentage), or a repeated level.
pub fn parse_levels(s: &str) -> Result<Vec<f64>> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for part in t.split(',') {
        let p = part.trim();
        let v: f64 = p
            .parse()
            .map_err(|_| invalid("intervals", p, "expected levels like 0.8,0.95"))?;
        out.push(v);
    }
    check_levels(&out)?;
    Ok(out)
}

/// Checks levels: each a finite number in (0, 1), no repeats.
///
/// # Errors
/// The first level that is out of range or repeated.
pub fn check_levels(levels: &[f64]) -> Result<()> {
    for (i, &v) in levels.iter().enumerate() {
        if !(v.is_finite() && v > 0.0 && v < 1.0) {
            return Err(invalid(
                "intervals",
                v,
                "each level must be in (0, 1), e.g. 0.8,0.95",
            ));
        }
        if levels[..i].contains(&v) {
            return Err(invalid("intervals", v, "level given twice"));
        }
    }
    Ok(())
}

/// The column name suffix of a level: `0.8` → `80`, `0.975` → `97.5`.
pub fn level_name(level: f64) -> String {
    let pct = (level * 1000.0).round() / 10.0;
    if pct.fract() == 0.0 {
        format!("{}", pct as i64)
    } else {
        format!("{pct}")
    }
}

impl Intervals {
    /// Calibrates `levels` on the errors of `predicted_scaled` on `windows` (validation).
    /// `None` when there are no levels or no calibration window.
    pub fn calibrate(
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
        levels: &[f64],
    ) -> Option<Self> {
        let n = windows.n;
        if levels.is_empty() || n == 0 || !windows.has_targets() {
            return None;
        }
        let mut levels = levels.to_vec();
        levels.sort_by(f64::total_cmp);
        let o = spec.n_outputs();
        let nt = spec.targets.len();
        // Sorted absolute errors per output.
        let errors: Vec<Vec<f64>> = (0..o)
            .map(|j| {
                let col = spec.target_index[j % nt];
                let mut e: Vec<f64> = (0..n)
                    .map(|i| {
                        let a = scaler.inverse_value(col, f64::from(windows.y_of(i)[j]));
                        let p = scaler.inverse_value(col, f64::from(predicted_scaled[i * o + j]));
                        (a - p).abs()
                    })
                    .collect();
                e.sort_by(f64::total_cmp);
                e
            })
            .collect();
        let mut half_width = Vec::with_capacity(levels.len());
        let mut capped = Vec::with_capacity(levels.len());
        for &a in &levels {
            let rank = ((n as f64 + 1.0) * a).ceil() as usize;
            capped.push(rank > n);
            let k = rank.clamp(1, n) - 1;
            half_width.push(errors.iter().map(|e| e[k]).collect());
        }
        Some(Self {
            levels,
            half_width,
            calibration_windows: n,
            capped,
        })
    }

    /// Lower and upper bound of level `l` for output `j` (step-major index) around `predicted`
    /// (original units).
    pub fn bounds(&self, l: usize, j: usize, predicted: f64) -> (f64, f64) {
        let q = self.half_width[l][j];
        (predicted - q, predicted + q)
    }

    /// Coverage and width of every level on `windows` with forecasts `predicted_scaled`.
    pub fn coverage(
        &self,
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
    ) -> Vec<Coverage> {
        let n = windows.n;
        let o = spec.n_outputs();
        let nt = spec.targets.len();
        self.levels
            .iter()
            .enumerate()
            .map(|(l, &level)| {
                let mut inside_by_step = vec![0usize; spec.horizon];
                let mut width = 0.0;
                for i in 0..n {
                    for j in 0..o {
                        let col = spec.target_index[j % nt];
                        let a = scaler.inverse_value(col, f64::from(windows.y_of(i)[j]));
                        let p = scaler.inverse_value(col, f64::from(predicted_scaled[i * o + j]));
                        let (lo, hi) = self.bounds(l, j, p);
                        if a >= lo && a <= hi {
                            inside_by_step[j / nt] += 1;
                        }
                        width += hi - lo;
                    }
                }
                let count = n * o;
                let per_step = (n * nt).max(1) as f64;
                Coverage {
                    level,
                    coverage: inside_by_step.iter().sum::<usize>() as f64 / count.max(1) as f64,
                    mean_width: width / count.max(1) as f64,
                    coverage_by_step: inside_by_step
                        .iter()
                        .map(|&c| c as f64 / per_step)
                        .collect(),
                    count,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_and_are_checked() {
        assert_eq!(parse_levels("0.8,0.95").unwrap(), vec![0.8, 0.95]);
        assert!(parse_levels("none").unwrap().is_empty());
        assert!(parse_levels("0").is_err());
        assert!(parse_levels("1").is_err());
        assert!(parse_levels("1.5").is_err());
        assert!(parse_levels("-0.5").is_err());
        assert!(parse_levels("0.8,0.8").is_err());
        assert!(parse_levels("abc").is_err());
        assert!(parse_levels("nan").is_err());
        assert_eq!(level_name(0.8), "80");
        assert_eq!(level_name(0.975), "97.5");
    }

    #[test]
    fn conformal_rank_and_coverage() {
        // One feature that is also the target, lookback 1, horizon 1: window i's target is row
        // i + 1. Forecast 0 everywhere, so errors are the values themselves.
        let spec = WindowSpec::new(1, 1, vec!["a".into()], vec!["a".into()]).unwrap();
        let values: Vec<f64> = (0..=20).map(f64::from).collect();
        let scaler = Scaler::fit(
            ts_data::ScalerKind::Standard,
            &["a".to_string()],
            std::slice::from_ref(&values),
            0..21,
        )
        .unwrap();
        let scaled: Vec<f32> = values
            .iter()
            .map(|&v| scaler.transform_value(0, v) as f32)
            .collect();
        let anchors: Vec<usize> = (0..20).collect();
        let w = Windows::build(&[scaled], &spec, anchors, true);
        let zero = scaler.transform_value(0, 0.0) as f32;
        let pred = vec![zero; 20];
        // Errors 1..=20; level 0.8: rank ceil(21 * 0.8) = 17 → 17.
        let iv = Intervals::calibrate(&w, &pred, &spec, &scaler, &[0.8, 0.99]).unwrap();
        assert!(
            (iv.half_width[0][0] - 17.0).abs() < 1e-4,
            "{:?}",
            iv.half_width
        );
        assert_eq!(iv.capped, vec![false, true]);
        assert!((iv.half_width[1][0] - 20.0).abs() < 1e-4);
        let cov = iv.coverage(&w, &pred, &spec, &scaler);
        // 17 of the 20 errors are <= 17.
        assert!((cov[0].coverage - 0.85).abs() < 1e-12);
        assert_eq!(cov[1].coverage, 1.0);
        assert!((cov[0].mean_width - 34.0).abs() < 1e-3);
    }
}
