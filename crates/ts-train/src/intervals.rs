//! Split-conformal prediction intervals, calibrated per horizon step and target.
//!
//! The absolute errors of the kept model on the calibration windows (the validation windows,
//! which it was not fitted on; see [`CalibrationSet`]) give, for each nominal level `α`, the
//! half-width `q` of the interval `forecast ± q`: the `⌈(n + 1)·α⌉`-th smallest of the `n` errors
//! (Vovk et al.; Lei et al. 2018), which covers a new point with probability at least `α` when
//! errors are exchangeable. When there are too few for that rank (`⌈(n + 1)·α⌉ > n`) the largest
//! error is used and the level is marked [`Intervals::capped`].
//!
//! After calibration the half-widths either stay fixed ([`IntervalMethod::Split`]) or follow the
//! errors as the actuals arrive ([`IntervalMethod::Adaptive`], the default): at each forecast
//! origin the errors whose actuals are known by then (the calibration errors and the test errors
//! of earlier origins, for that horizon step) form the calibration set, and the level used for its
//! quantile moves by adaptive conformal inference (Gibbs & Candès 2021): after each revealed
//! error `α_{t+1} = α_t + γ·(α − miss_t)`, so that a run of misses widens the interval and a run
//! of hits narrows it, and the long-run miss rate approaches `α` even when the errors drift (a
//! test period more volatile than the validation part). Every bound uses only actuals before its
//! origin. Coverage and width are then measured on the test part ([`Intervals::coverage`]); the
//! forecast past the end of a table uses the state after its last actual ([`Walk::after`]).
//!
//! Two refinements of the walk: each error is divided by its window's change scale
//! ([`window_scale`]: the mean of its recent and its whole window's one-step changes, never
//! below half the calibration windows' median) and each quantile multiplied by the scale of the
//! window it bounds; and
//! the pool is weighted toward the errors known last ([`decay_of`], `memory`), with the weighted
//! conformal quantile of Barber et al. (2023). A forecast fitted on nothing (the naive forecast
//! of an untrained residual network, or a linear branch that kept its seasonal anchor) is
//! calibrated on the training windows as well ([`CalibrationSet`]).

use serde::{Deserialize, Serialize};
use ts_data::{Scaler, WindowSpec, Windows};

use crate::error::{Result, invalid};
use crate::range::ValueRange;

/// How the half-widths follow the errors revealed after calibration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalMethod {
    /// Fixed half-widths from the calibration errors (split conformal).
    Split,
    /// Half-widths recalibrated at every forecast origin from the errors known by then, with the
    /// quantile level moved by adaptive conformal inference (step `interval_gamma`).
    #[default]
    Adaptive,
}

impl IntervalMethod {
    /// The name in configuration files and flags.
    pub fn name(self) -> &'static str {
        match self {
            Self::Split => "split",
            Self::Adaptive => "adaptive",
        }
    }
}

impl std::str::FromStr for IntervalMethod {
    type Err = crate::TrainError;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "split" => Ok(Self::Split),
            "adaptive" | "aci" => Ok(Self::Adaptive),
            _ => Err(invalid("interval_method", s, "expected split or adaptive")),
        }
    }
}

/// The method model files written before adaptive intervals used.
fn split_method() -> IntervalMethod {
    IntervalMethod::Split
}

/// Which windows the calibration errors came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationSet {
    /// The validation part: the model was fitted on the training part.
    #[default]
    Validation,
    /// The training and validation parts: the forecast was fitted on neither (the naive
    /// forecast an untrained residual network gives, or a linear branch that kept its fixed
    /// seasonal anchor, picked among a handful of such forecasts by its error on those
    /// windows), so every earlier window is nearly as honest a
    /// calibration point as a validation one, and long horizons on short series get more than
    /// the few validation windows.
    TrainingAndValidation,
}

impl CalibrationSet {
    /// How reports name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Validation => "the validation part",
            Self::TrainingAndValidation => {
                "the training and validation parts (the forecast was fitted on neither)"
            }
        }
    }
}

/// Calibrated interval half-widths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intervals {
    /// Nominal coverage levels in (0, 1), ascending.
    pub levels: Vec<f64>,
    /// Half-widths in original units, `[level][step × targets + target]` (step-major, as the
    /// model's outputs).
    pub half_width: Vec<Vec<f64>>,
    /// Windows the errors came from.
    pub calibration_windows: usize,
    /// Which part those windows are (files without it: validation).
    #[serde(default)]
    pub calibrated_on: CalibrationSet,
    /// Per level: whether the calibration windows were too few for the conformal rank (with
    /// equal weights, as `half_width`), so that the largest error was used (the interval may
    /// then cover less than its level). The weighted walk's first window may differ.
    pub capped: Vec<bool>,
    /// How the half-widths follow later errors (files without it: split).
    #[serde(default = "split_method")]
    pub method: IntervalMethod,
    /// Step of the adaptive level update (`γ`).
    #[serde(default)]
    pub gamma: f64,
    /// Expected misses the adaptive pool's effective size holds at each level (see
    /// [`decay_of`]): recent errors weigh more. 0 (files written before): equal weights.
    #[serde(default)]
    pub memory: f64,
    /// Absolute calibration errors in original units, `[output][window]` in time order: the
    /// starting calibration set of the adaptive method.
    #[serde(default)]
    pub errors: Vec<Vec<f64>>,
    /// The change scale of each calibration window (see [`window_scale`]), `[output][window]`:
    /// the adaptive method divides every error by the scale of its window, and multiplies the
    /// quantile by the scale of the window it bounds. Empty in files written before (errors used
    /// as they are).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<Vec<f64>>,
    /// The least change scale of each target ([`SCALE_FLOOR_SHARE`] of the calibration windows'
    /// median [`window_scale`]). Empty in files written before: their scales are the recent
    /// [`change_scale`], with no floor.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_floor: Vec<f64>,
    /// Declared value range of each target (`data.bounds`): the bounds are clipped to it.
    /// Empty: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<ValueRange>,
    /// Per output (step-major, as the model's outputs), the largest move of its target over that
    /// many steps ([`window_move`]) on the windows the model was fitted and calibrated on (the
    /// training and validation parts): the adaptive walk never makes an interval wider than
    /// needed to hold a move that large from the window's last value, and raises it as larger
    /// moves are revealed ([`Intervals::with_largest_moves`]). Empty in files written before:
    /// no such limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub largest_moves: Vec<f64>,
}

/// The fewest windows [`Intervals::with_largest_moves`] measures the largest moves on: a new
/// move exceeds the largest of `n` exchangeable earlier ones with probability at most
/// `1 / (n + 1)`, so with 100 the limit costs an interval at most about 1 % of coverage. On 55
/// quarters of Danish money demand (40 windows) the largest 4-quarter move of the training part
/// was too small: the 95 % intervals covered 78 % of the test part with the limit, 100 % without.
pub const MIN_MOVE_WINDOWS: usize = 100;

/// How many of the last one-step changes of a window's target [`change_scale`] averages.
pub const RECENT_CHANGES: usize = 8;

/// The scale of the errors to expect from window `i` for target `k`: the mean absolute change
/// of the target from one row to the next over the last [`RECENT_CHANGES`] rows of the window
/// (original units). A forecast made in a calm stretch errs less than one made in a turbulent
/// one; dividing the errors by this scale (a normalised nonconformity score, Papadopoulos et al.
/// 2008; Lei et al. 2018) lets one set of calibration errors serve both, so a test period
/// calmer or wilder than the validation part gets narrower or wider intervals from its first
/// window on. Falls back to the whole window's mean change, then to 1, where the target did not
/// move. Model files written before [`Intervals::scale_floor`] scale their errors by this;
/// newer ones by [`window_scale`] raised to the floor.
pub fn change_scale(
    windows: &Windows,
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    k: usize,
) -> f64 {
    let (recent, whole) = change_means(windows, spec, scaler, i, k);
    [recent, whole]
        .into_iter()
        .find(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// The least share of the calibration windows' median [`window_scale`] a window's scale is
/// given. A window whose last rows barely moved (a sensor that repeats its reading, a rate held
/// at zero) would otherwise turn an ordinary error into a huge score, and every later interval
/// that quantile sets into a huge one: on the hourly ETTh1 oil temperature at 24 steps the 80 %
/// intervals averaged 24 times the naive forecast's MAE (median 3.7), on the monthly federal
/// funds rate at 12 steps 72 times.
pub const SCALE_FLOOR_SHARE: f64 = 0.5;

/// The scale of the errors to expect from window `i` for target `k` (original units, before
/// the floor of [`Intervals::scale_floor`]): the mean of [`change_scale`]'s two measures, the
/// mean absolute one-step change over the window's last [`RECENT_CHANGES`] rows and over the
/// whole window. The recent one follows a turbulent stretch at once; the whole window's keeps
/// the scale of a window of sub-daily data at its day's swings, which its last few rows (a
/// quiet night) understate. 0 where the target did not move.
pub fn window_scale(
    windows: &Windows,
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    k: usize,
) -> f64 {
    let (recent, whole) = change_means(windows, spec, scaler, i, k);
    let s = 0.5 * (recent + whole);
    if s.is_finite() { s } else { 0.0 }
}

/// The mean absolute one-step change of target `k` over the last [`RECENT_CHANGES`] rows of
/// window `i` and over the whole window (original units; 0 for a window of one row).
fn change_means(
    windows: &Windows,
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    k: usize,
) -> (f64, f64) {
    let (f, l) = (windows.n_features, spec.lookback);
    if l < 2 {
        return (0.0, 0.0);
    }
    let x = windows.x_of(i);
    let col = spec.target_index[k];
    let value = |t: usize| scaler.inverse_value(col, f64::from(x[t * f + col]));
    let mean_change = |from: usize| {
        let n = (l - 1 - from) as f64;
        (from + 1..l)
            .map(|t| (value(t) - value(t - 1)).abs())
            .sum::<f64>()
            / n
    };
    (
        mean_change(l - 1 - RECENT_CHANGES.min(l - 1)),
        mean_change(0),
    )
}

/// The scale floor of each target from the raw [`window_scale`]s of the calibration windows
/// (`[window × targets + target]`): [`SCALE_FLOOR_SHARE`] of their median, or 1 where no
/// window moved.
fn scale_floor(raw: &[f64], nt: usize) -> Vec<f64> {
    (0..nt)
        .map(|k| {
            let mut v: Vec<f64> = raw.iter().skip(k).step_by(nt).copied().collect();
            v.sort_by(f64::total_cmp);
            let median = if v.is_empty() {
                0.0
            } else {
                ts_data::quantile(&v, 0.5)
            };
            let floor = SCALE_FLOOR_SHARE * median;
            if floor.is_finite() && floor > 0.0 {
                floor
            } else {
                1.0
            }
        })
        .collect()
}

impl Intervals {
    /// The change scale of the windows `from..` of `windows` for every target,
    /// `[(window − from) × targets + target]`: [`window_scale`] raised to the target's
    /// [`Intervals::scale_floor`], or, for a file written before the floor, [`change_scale`].
    fn change_scales(
        &self,
        windows: &Windows,
        spec: &WindowSpec,
        scaler: &Scaler,
        from: usize,
    ) -> Vec<f64> {
        let nt = spec.targets.len();
        let floored = self.scale_floor.len() == nt;
        let scale = |i, k| {
            if floored {
                window_scale(windows, spec, scaler, i, k).max(self.scale_floor[k])
            } else {
                change_scale(windows, spec, scaler, i, k)
            }
        };
        (from..windows.n)
            .flat_map(|i| (0..nt).map(move |k| scale(i, k)))
            .collect()
    }
}

/// Interval half-widths for each window of a set, `[window][level][output]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WindowBounds {
    levels: usize,
    outputs: usize,
    half_width: Vec<f64>,
    /// Declared range of each target, the bounds are clipped to (empty: none).
    ranges: Vec<ValueRange>,
}

impl WindowBounds {
    /// The same half-widths `[level][output]` for `n` windows.
    pub fn repeat(half_width: &[Vec<f64>], n: usize) -> Self {
        let levels = half_width.len();
        let outputs = half_width.first().map_or(0, Vec::len);
        let one: Vec<f64> = half_width.iter().flatten().copied().collect();
        Self {
            levels,
            outputs,
            half_width: one.repeat(n),
            ranges: Vec::new(),
        }
    }

    /// The same half-widths, with bounds clipped to `ranges` (one per target; see
    /// [`crate::range`]).
    pub fn with_ranges(mut self, ranges: &[ValueRange]) -> Self {
        self.ranges = ranges.to_vec();
        self
    }

    /// Number of levels.
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// Half-width of level `l` for output `j` of window `i`.
    pub fn half_width(&self, i: usize, l: usize, j: usize) -> f64 {
        self.half_width[(i * self.levels + l) * self.outputs + j]
    }

    /// `x` (a value of output `j`) moved into its target's declared range (unchanged without).
    pub fn into_range(&self, j: usize, x: f64) -> f64 {
        match self.ranges.len() {
            0 => x,
            nt => self.ranges[j % nt].clip(x),
        }
    }

    /// Lower and upper bound of level `l` for output `j` (step-major) of window `i` around
    /// `predicted` (original units), clipped to the target's declared range.
    pub fn bounds(&self, i: usize, l: usize, j: usize, predicted: f64) -> (f64, f64) {
        let q = self.half_width(i, l, j);
        (
            self.into_range(j, predicted - q),
            self.into_range(j, predicted + q),
        )
    }
}

/// The half-widths of a walk over windows in time order, and the state after the last actual.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    /// Half-widths per window.
    pub windows: WindowBounds,
    /// Half-widths `[level][output]` for a forecast made after every actual of the windows is
    /// known (the forecast past the end of the table), in units of the window's
    /// change scale (see [`Intervals::scale_floor`]) when the walk was scaled:
    /// [`Intervals::after_bounds`] applies them.
    pub after: Vec<Vec<f64>>,
    /// The largest move of each output known after the walk's last actual (see
    /// [`Intervals::largest_moves`]); empty when the walk does not limit the half-widths.
    pub moves: Vec<f64>,
}

/// The absolute error, in original units, of output `j` of window `i`.
fn abs_error(
    windows: &Windows,
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    j: usize,
) -> f64 {
    (actual_value(windows, spec, scaler, i, j)
        - predicted_value(predicted_scaled, spec, scaler, i, j))
    .abs()
}

/// The actual (original units) of output `j` of window `i`.
fn actual_value(windows: &Windows, spec: &WindowSpec, scaler: &Scaler, i: usize, j: usize) -> f64 {
    crate::metrics::actual_original(windows, spec, scaler, i, j)
}

/// The last value (original units) of the target of output `j` in window `i`'s inputs: where
/// the naive forecast starts ([`Windows::value_before`], as the naive baseline reads it); NaN
/// where the window cannot see it (no limit then: see [`move_limit`]).
fn last_value(windows: &Windows, spec: &WindowSpec, scaler: &Scaler, i: usize, j: usize) -> f64 {
    let col = spec.target_index[j % spec.targets.len()];
    crate::metrics::original_before(windows, scaler, i, 0, col).unwrap_or(f64::NAN)
}

/// The forecast (original units) of output `j` of window `i`.
fn predicted_value(
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    j: usize,
) -> f64 {
    let col = spec.target_index[j % spec.targets.len()];
    scaler.inverse_value(col, f64::from(predicted_scaled[i * spec.n_outputs() + j]))
}

/// How far the target of output `j` (step `j / targets + 1`) moved from the last value of window
/// `i`'s inputs to its actual (original units): the naive forecast's absolute error.
pub fn window_move(
    windows: &Windows,
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    j: usize,
) -> f64 {
    (actual_value(windows, spec, scaler, i, j) - last_value(windows, spec, scaler, i, j)).abs()
}

/// The widest half-width worth giving output `j` of window `i` when the largest move seen over
/// its steps is `largest`: one that holds every actual within `largest` of the window's last
/// value around the forecast `predicted` (`largest + |predicted − last|`).
fn move_limit(
    windows: &Windows,
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
    i: usize,
    j: usize,
    largest: f64,
) -> f64 {
    let p = predicted_value(predicted_scaled, spec, scaler, i, j);
    largest + (p - last_value(windows, spec, scaler, i, j)).abs()
}

/// The index of the `⌈(n + 1)·c⌉`-th smallest of `n` sorted scores (the largest when the rank
/// exceeds `n`); `None` when the rank is below 1 or there are none (the quantile is then 0).
fn conformal_index(n: usize, c: f64) -> Option<usize> {
    let rank = ((n as f64 + 1.0) * c).ceil();
    (n > 0 && rank >= 1.0).then(|| (rank as usize).min(n) - 1)
}

/// The `⌈(n + 1)·c⌉`-th smallest of `sorted` (see [`conformal_index`]).
#[cfg(test)]
fn conformal_quantile(sorted: &[f64], c: f64) -> f64 {
    conformal_index(sorted.len(), c).map_or(0.0, |k| sorted[k])
}

/// The ratio `ρ` between the weights of consecutive scores in the adaptive pool at `level`, for a
/// pool whose effective size (`1 / (1 − ρ)`) holds about `memory` expected misses:
/// `ρ = 1 − (1 − level) / memory`. Recent errors then count more than old ones (non-exchangeable
/// conformal prediction, Barber et al. 2023), so a test period calmer or wilder than the
/// calibration part moves the quantile within a few dozen windows; a 95 % level keeps a longer
/// memory than an 80 % one, since its misses are rarer. `memory` 0 = equal weights.
pub fn decay_of(level: f64, memory: f64) -> f64 {
    if memory > 0.0 {
        (1.0 - (1.0 - level) / memory).clamp(0.0, 1.0)
    } else {
        1.0
    }
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
    /// Coverage per target, in the model's target order (empty in files written before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage_by_target: Vec<f64>,
    /// Mean interval width per target, each in its own units (the pooled `mean_width` mixes
    /// the units of several targets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mean_width_by_target: Vec<f64>,
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
        // Levels are named by their percentage to 0.1 (columns `lower_80`, `upper_97.5`).
        let name = level_name(v);
        if !(0.001..=0.999).contains(&v) {
            return Err(invalid(
                "intervals",
                v,
                &format!(
                    "would name a {name} % interval: levels must lie between 0.001 and 0.999 (0.1 % to 99.9 %)"
                ),
            ));
        }
        if let Some(other) = levels[..i].iter().find(|&&o| level_name(o) == name) {
            return Err(invalid(
                "intervals",
                v,
                &format!(
                    "has the same name as {other} ({name} %: columns lower_{name}, upper_{name}); give levels at least 0.001 apart"
                ),
            ));
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
    /// Checks that intervals read from a model file fit a model of `outputs` outputs and
    /// `targets` targets: valid levels, one half-width per level and output, and every optional
    /// per-output or per-target list of the right length, with finite numbers. A hand-edited or
    /// foreign file gets a message naming what is wrong instead of a failure later.
    ///
    /// # Errors
    /// The first inconsistency, as text.
    pub fn check(&self, outputs: usize, targets: usize) -> std::result::Result<(), String> {
        check_levels(&self.levels).map_err(|e| e.to_string())?;
        let n = self.levels.len();
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if self.half_width.len() != n
            || self
                .half_width
                .iter()
                .any(|h| h.len() != outputs || !finite(h))
        {
            return Err(format!(
                "the intervals need {n} lists of {outputs} finite half-widths (one per level and output)"
            ));
        }
        if self.capped.len() != n {
            return Err(format!(
                "the intervals need one `capped` flag per level ({n})"
            ));
        }
        if !(self.gamma.is_finite()
            && self.gamma >= 0.0
            && self.memory.is_finite()
            && self.memory >= 0.0)
        {
            return Err("the intervals' gamma and memory must be finite numbers >= 0".into());
        }
        let per_output = |name: &str, len: usize| {
            if len == 0 || len == outputs {
                Ok(())
            } else {
                Err(format!(
                    "the intervals' {name} has {len} entries for {outputs} outputs"
                ))
            }
        };
        per_output("errors", self.errors.len())?;
        per_output("largest_moves", self.largest_moves.len())?;
        if !self.scales.is_empty()
            && (self.scales.len() != self.errors.len()
                || self
                    .scales
                    .iter()
                    .zip(&self.errors)
                    .any(|(s, e)| s.len() != e.len()))
        {
            return Err("the intervals' scales do not match their errors".into());
        }
        if self.errors.iter().chain(&self.scales).any(|v| !finite(v))
            || !finite(&self.largest_moves)
            || !finite(&self.scale_floor)
        {
            return Err("the intervals hold a number that is not finite".into());
        }
        for (name, len) in [
            ("scale_floor", self.scale_floor.len()),
            ("ranges", self.ranges.len()),
        ] {
            if len != 0 && len != targets {
                return Err(format!(
                    "the intervals' {name} has {len} entries for {targets} targets"
                ));
            }
        }
        Ok(())
    }

    /// Calibrates `levels` on the errors of `predicted_scaled` on `windows` (the validation part).
    /// `None` when there are no levels or no calibration window.
    pub fn calibrate(
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
        levels: &[f64],
    ) -> Option<Self> {
        Self::calibrate_on(
            CalibrationSet::Validation,
            &[(windows, predicted_scaled)],
            spec,
            scaler,
            levels,
        )
    }

    /// Calibrates `levels` on the errors of several parts in time order, each windows with
    /// their scaled forecasts (the training and validation parts of a forecast fitted on
    /// neither, for [`CalibrationSet::TrainingAndValidation`]). `None` when there are no levels
    /// or no calibration window.
    pub fn calibrate_on(
        set: CalibrationSet,
        parts: &[(&Windows, &[f32])],
        spec: &WindowSpec,
        scaler: &Scaler,
        levels: &[f64],
    ) -> Option<Self> {
        let parts: Vec<_> = parts
            .iter()
            .filter(|(w, _)| w.n > 0 && w.has_targets())
            .collect();
        let n: usize = parts.iter().map(|(w, _)| w.n).sum();
        if levels.is_empty() || n == 0 {
            return None;
        }
        let mut levels = levels.to_vec();
        levels.sort_by(f64::total_cmp);
        let (o, nt) = (spec.n_outputs(), spec.targets.len());
        // Absolute errors and change scales per output, in time order.
        let mut errors = vec![Vec::with_capacity(n); o];
        let raw: Vec<Vec<f64>> = parts
            .iter()
            .map(|(windows, _)| {
                (0..windows.n)
                    .flat_map(|i| (0..nt).map(move |k| window_scale(windows, spec, scaler, i, k)))
                    .collect()
            })
            .collect();
        let floor = scale_floor(&raw.concat(), nt);
        let mut scales = vec![Vec::with_capacity(n); o];
        for ((windows, predicted), per_window) in parts.iter().zip(&raw) {
            for j in 0..o {
                for i in 0..windows.n {
                    errors[j].push(abs_error(windows, predicted, spec, scaler, i, j));
                    scales[j].push(per_window[i * nt + j % nt].max(floor[j % nt]));
                }
            }
        }
        let sorted: Vec<Vec<f64>> = errors
            .iter()
            .map(|e| {
                let mut e = e.clone();
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
            half_width.push(sorted.iter().map(|e| e[k]).collect());
        }
        Some(Self {
            levels,
            half_width,
            calibration_windows: n,
            calibrated_on: set,
            capped,
            method: IntervalMethod::Split,
            gamma: 0.0,
            memory: 0.0,
            errors,
            scales,
            scale_floor: floor,
            ranges: Vec::new(),
            largest_moves: Vec::new(),
        })
    }

    /// The same intervals with [`Intervals::largest_moves`] measured on `parts` (the training and
    /// validation windows; windows without targets are skipped): the largest
    /// [`window_move`] of each output. With fewer than [`MIN_MOVE_WINDOWS`] windows with
    /// targets, none.
    ///
    /// After a shock (unemployment from 3.5 % to 14.8 % in a month) the adaptive walk's pool
    /// holds one huge score (the error divided by a calm window's change scale), and the windows
    /// after it have a change scale the shock inflated too: their product made 95 % intervals of
    /// ±140 points of unemployment for months. No actual within the largest move seen of the
    /// last value is lost by the limit; its width goes only to moves larger than any seen.
    pub fn with_largest_moves(
        mut self,
        parts: &[&Windows],
        spec: &WindowSpec,
        scaler: &Scaler,
    ) -> Self {
        let o = spec.n_outputs();
        let counted: usize = parts.iter().filter(|w| w.has_targets()).map(|w| w.n).sum();
        if counted < MIN_MOVE_WINDOWS {
            self.largest_moves = Vec::new();
            return self;
        }
        let mut moves = vec![0.0_f64; o];
        for windows in parts.iter().filter(|w| w.has_targets()) {
            for i in 0..windows.n {
                for (j, m) in moves.iter_mut().enumerate() {
                    let d = window_move(windows, spec, scaler, i, j);
                    if d.is_finite() {
                        *m = m.max(d);
                    }
                }
            }
        }
        self.largest_moves = moves;
        self
    }

    /// Whether the walk limits the half-widths by the largest moves ([`Intervals::largest_moves`]):
    /// one finite, non-negative move per output (anything else, as from an edited file, is
    /// ignored rather than allowed to make an interval negative or empty).
    fn limits_moves(&self, outputs: usize) -> bool {
        self.is_adaptive()
            && self.largest_moves.len() == outputs
            && self
                .largest_moves
                .iter()
                .all(|m| m.is_finite() && *m >= 0.0)
    }

    /// The same intervals, following later errors by `method` with step `gamma`.
    pub fn with_method(mut self, method: IntervalMethod, gamma: f64) -> Self {
        self.method = method;
        self.gamma = gamma;
        self
    }

    /// The same intervals with the adaptive pool's weights decaying for `memory` expected
    /// misses per level ([`decay_of`]; 0 = equal weights). A weighted pool keeps only the
    /// errors (and scales) recent enough to weigh anything, so that a model file calibrated on
    /// the training windows of a long series stays small.
    pub fn with_memory(mut self, memory: f64) -> Self {
        self.memory = memory;
        if let Some(m) = max_age(&self.levels, memory) {
            for e in self.errors.iter_mut().chain(self.scales.iter_mut()) {
                let old = e.len().saturating_sub(m + 1);
                e.drain(..old);
            }
        }
        self
    }

    /// The same intervals with bounds clipped to the targets' declared ranges (one per target;
    /// all open: none).
    pub fn with_ranges(mut self, ranges: &[ValueRange]) -> Self {
        self.ranges = if ranges.iter().all(ValueRange::is_open) {
            Vec::new()
        } else {
            ranges.to_vec()
        };
        self
    }

    /// Whether the adaptive walk divides the errors by their window's change scale
    /// ([`window_scale`] raised to [`Intervals::scale_floor`]; [`change_scale`] in files written
    /// before the floor).
    pub fn is_scaled(&self) -> bool {
        self.is_adaptive() && self.scales.len() == self.errors.len()
    }

    /// The starting calibration set of the walk: the calibration errors, divided by their
    /// window's scale when [`Intervals::is_scaled`].
    fn scores(&self) -> Vec<Vec<f64>> {
        if !self.is_scaled() {
            return self.errors.clone();
        }
        self.errors
            .iter()
            .zip(&self.scales)
            .map(|(e, s)| e.iter().zip(s).map(|(e, s)| e / s).collect())
            .collect()
    }

    /// Half-widths for `windows` with forecasts `predicted_scaled` (forecasts made after the
    /// walk's last actual, e.g. past the end of the table) from the walk's final state: its
    /// `after` half-widths multiplied by each window's change scale when the walk was scaled
    /// (see [`Intervals::is_scaled`]), and limited by its largest moves ([`Walk::moves`]) as in
    /// the walk.
    pub fn after_bounds(
        &self,
        walk: &Walk,
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
    ) -> WindowBounds {
        let mut bounds = WindowBounds::repeat(&walk.after, windows.n).with_ranges(&self.ranges);
        let (nl, o, nt) = (bounds.levels, bounds.outputs, spec.targets.len());
        if self.is_scaled() {
            let per_window = self.change_scales(windows, spec, scaler, 0);
            for i in 0..windows.n {
                for j in 0..o {
                    let s = per_window[i * nt + j % nt];
                    for l in 0..nl {
                        bounds.half_width[(i * nl + l) * o + j] *= s;
                    }
                }
            }
        }
        if walk.moves.len() == o && predicted_scaled.len() >= windows.n * o {
            for i in 0..windows.n {
                for (j, &m) in walk.moves.iter().enumerate() {
                    let limit = move_limit(windows, predicted_scaled, spec, scaler, i, j, m);
                    for l in 0..nl {
                        let h = &mut bounds.half_width[(i * nl + l) * o + j];
                        *h = h.min(limit);
                    }
                }
            }
        }
        bounds
    }

    /// Whether the half-widths follow the errors revealed after calibration.
    pub fn is_adaptive(&self) -> bool {
        self.method == IntervalMethod::Adaptive && !self.errors.is_empty()
    }

    /// Half-widths for `windows` (in time order, with `predicted_scaled`): the calibrated ones for
    /// the windows before `from` (those of the training and validation parts), and from `from`
    /// on, by the method ([`IntervalMethod`]): fixed, or recalibrated at each origin with the
    /// errors whose actuals are known by then. Windows without targets get the calibrated
    /// half-widths and reveal nothing.
    pub fn walk(
        &self,
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
        from: usize,
    ) -> Walk {
        let n = windows.n;
        let (nl, o) = (self.levels.len(), spec.n_outputs());
        let mut bounds = WindowBounds::repeat(&self.half_width, n).with_ranges(&self.ranges);
        if !self.is_adaptive() || !windows.has_targets() || self.errors.len() != o {
            return Walk {
                windows: bounds,
                after: self.half_width.clone(),
                moves: Vec::new(),
            };
        }
        let nt = spec.targets.len();
        // The largest move per output known so far (empty: no limit).
        let mut moves = if self.limits_moves(o) {
            self.largest_moves.clone()
        } else {
            Vec::new()
        };
        // Scales of the walked windows (the ones revealed are walked too); empty = unscaled.
        let per_window = if self.is_scaled() {
            self.change_scales(windows, spec, scaler, from)
        } else {
            Vec::new()
        };
        let scale = |i: usize, j: usize| {
            per_window
                .get((i - from) * nt + j % nt)
                .copied()
                .unwrap_or(1.0)
        };
        let error = |i: usize, j: usize| {
            abs_error(windows, predicted_scaled, spec, scaler, i, j) / scale(i, j)
        };
        let mut state = Adaptive::new(&self.scores(), &self.levels, self.gamma, self.memory);
        // Window k's output j is known: its error joins the pool, its move the largest moves.
        let reveal = |state: &mut Adaptive, moves: &mut Vec<f64>, bounds: &WindowBounds, k, j| {
            let sk = scale(k, j);
            state.reveal(error(k, j), j, |l| bounds.half_width(k, l, j) / sk);
            if let Some(m) = moves.get_mut(j) {
                *m = m.max(window_move(windows, spec, scaler, k, j));
            }
        };
        let mut next = vec![from; o];
        for i in from..n {
            for (j, next_j) in next.iter_mut().enumerate() {
                let s = j / nt;
                // Step s of window k is known at window i once its row is: anchor_k + s + 1
                // ≤ anchor_i.
                while *next_j < i && windows.anchors[*next_j] + s < windows.anchors[i] {
                    reveal(&mut state, &mut moves, &bounds, *next_j, j);
                    *next_j += 1;
                }
                let si = scale(i, j);
                let limit = moves.get(j).map_or(f64::INFINITY, |&m| {
                    move_limit(windows, predicted_scaled, spec, scaler, i, j, m)
                });
                for (l, q) in state.quantiles(j).into_iter().enumerate() {
                    bounds.half_width[(i * nl + l) * o + j] = (q * si).min(limit);
                }
            }
        }
        for (j, next_j) in next.iter_mut().enumerate() {
            while *next_j < n {
                reveal(&mut state, &mut moves, &bounds, *next_j, j);
                *next_j += 1;
            }
        }
        let per_output: Vec<Vec<f64>> = (0..o).map(|j| state.quantiles(j)).collect();
        let after = (0..nl)
            .map(|l| per_output.iter().map(|q| q[l]).collect())
            .collect();
        Walk {
            windows: bounds,
            after,
            moves,
        }
    }

    /// Coverage and width of every level on `windows` with forecasts `predicted_scaled`, every
    /// window after the calibration part (see [`Intervals::walk`] with `from` 0).
    pub fn coverage(
        &self,
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
    ) -> Vec<Coverage> {
        self.coverage_from(windows, predicted_scaled, spec, scaler, 0)
    }

    /// Coverage and width of every level on `windows`, whose windows from `from` on come after
    /// the calibration part (the walk of [`Intervals::walk`]); the earlier ones are measured with
    /// the calibrated half-widths.
    pub fn coverage_from(
        &self,
        windows: &Windows,
        predicted_scaled: &[f32],
        spec: &WindowSpec,
        scaler: &Scaler,
        from: usize,
    ) -> Vec<Coverage> {
        let walk = self.walk(windows, predicted_scaled, spec, scaler, from);
        coverage_of(
            &self.levels,
            &walk.windows,
            windows,
            predicted_scaled,
            spec,
            scaler,
        )
    }
}

/// Coverage and width of every level of `bounds` on `windows`.
fn coverage_of(
    levels: &[f64],
    bounds: &WindowBounds,
    windows: &Windows,
    predicted_scaled: &[f32],
    spec: &WindowSpec,
    scaler: &Scaler,
) -> Vec<Coverage> {
    let n = windows.n;
    let o = spec.n_outputs();
    let nt = spec.targets.len();
    levels
        .iter()
        .enumerate()
        .map(|(l, &level)| {
            let mut inside_by_step = vec![0usize; spec.horizon];
            let mut inside_by_target = vec![0usize; nt];
            let mut width_by_target = vec![0.0f64; nt];
            let mut width = 0.0;
            for i in 0..n {
                for j in 0..o {
                    let col = spec.target_index[j % nt];
                    // An actual is inside its declared range (the data were checked); a value
                    // rebuilt from the scaled `f32` (where the file's own is not kept) is put
                    // back there, so that an actual on the bound is not a miss by a rounding
                    // error.
                    let a = bounds.into_range(j, actual_value(windows, spec, scaler, i, j));
                    let p = scaler.inverse_value(col, f64::from(predicted_scaled[i * o + j]));
                    let (lo, hi) = bounds.bounds(i, l, j, p);
                    if a >= lo && a <= hi {
                        inside_by_step[j / nt] += 1;
                        inside_by_target[j % nt] += 1;
                    }
                    width += hi - lo;
                    width_by_target[j % nt] += hi - lo;
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
                coverage_by_target: inside_by_target
                    .iter()
                    .map(|&c| c as f64 / (n * spec.horizon).max(1) as f64)
                    .collect(),
                mean_width_by_target: width_by_target
                    .iter()
                    .map(|&w| w / (n * spec.horizon).max(1) as f64)
                    .collect(),
            }
        })
        .collect()
}

/// The state of adaptive conformal inference over one walk: per output, the pool of known
/// scores with the order they became known in; per level and output, the miss rate aimed at now.
struct Adaptive {
    /// Known scores per output, sorted, each with its place in the order they became known (a
    /// weighted pool holds the newest ones only, one per age).
    pool: Vec<Vec<(f64, usize)>>,
    /// Scores known so far per output.
    known: Vec<usize>,
    /// Nominal miss rate per level (`1 − level`).
    target: Vec<f64>,
    /// Weight ratio per level between a score and the one known after it (1 = equal weights).
    decay: Vec<f64>,
    /// Per level, `decay^age` for every age a weighted pool keeps (empty with equal weights).
    powers: Vec<Vec<f64>>,
    /// The oldest age a weighted pool keeps: older scores weigh under [`NEGLIGIBLE`] at every
    /// level and leave the pool (`None`: equal weights, every score stays).
    max_age: Option<usize>,
    /// Adapted miss rate per level and output.
    alpha: Vec<Vec<f64>>,
    /// Step of the level update.
    gamma: f64,
}

/// The weight below which a score of the weighted pool is dropped (relative to the newest's 1).
const NEGLIGIBLE: f64 = 1e-12;

/// The oldest age a pool weighted for `memory` keeps at `levels`: beyond it every level's weight
/// is under [`NEGLIGIBLE`]. `None` with equal weights (`memory` 0): every score counts.
fn max_age(levels: &[f64], memory: f64) -> Option<usize> {
    let slowest = levels
        .iter()
        .map(|&c| decay_of(c, memory))
        .fold(0.0, f64::max);
    (slowest < 1.0).then(|| {
        if slowest <= 0.0 {
            0
        } else {
            (NEGLIGIBLE.ln() / slowest.ln()).ceil() as usize
        }
    })
}

impl Adaptive {
    /// Starts from the calibration scores (`[output][window]`, in time order) at the nominal
    /// levels, with the pool's weights decaying as [`decay_of`] says for `memory`.
    fn new(errors: &[Vec<f64>], levels: &[f64], gamma: f64, memory: f64) -> Self {
        let decay: Vec<f64> = levels.iter().map(|&c| decay_of(c, memory)).collect();
        let max_age = max_age(levels, memory);
        let powers = match max_age {
            Some(m) => decay
                .iter()
                .map(|&r| {
                    std::iter::successors(Some(1.0), |w| Some(w * r))
                        .take(m + 1)
                        .collect()
                })
                .collect(),
            None => vec![Vec::new(); decay.len()],
        };
        // A weighted pool starts from the newest `max_age + 1` scores.
        let too_old = |n: usize| max_age.map_or(0, |m| n.saturating_sub(m + 1));
        let pool = errors
            .iter()
            .map(|e| {
                let skip = too_old(e.len());
                let mut e: Vec<(f64, usize)> = e.iter().copied().zip(0..).skip(skip).collect();
                e.sort_by(|a, b| a.0.total_cmp(&b.0));
                e
            })
            .collect();
        let target: Vec<f64> = levels.iter().map(|c| 1.0 - c).collect();
        let alpha = target.iter().map(|&a| vec![a; errors.len()]).collect();
        Self {
            pool,
            known: errors.iter().map(Vec::len).collect(),
            decay,
            powers,
            max_age,
            target,
            alpha,
            gamma,
        }
    }

    /// An actual is known: output `j` erred by `e` where its interval at level `l` had half-width
    /// `width(l)`. Each level moves toward its nominal miss rate (`α ← α + γ(α₀ − miss)`) and the
    /// error joins the pool as the newest (a weighted pool drops the score that became
    /// negligible).
    fn reveal(&mut self, e: f64, j: usize, width: impl Fn(usize) -> f64) {
        for (l, alpha) in self.alpha.iter_mut().enumerate() {
            let miss = if e > width(l) { 1.0 } else { 0.0 };
            alpha[j] += self.gamma * (self.target[l] - miss);
        }
        let pool = &mut self.pool[j];
        pool.insert(pool.partition_point(|&(x, _)| x < e), (e, self.known[j]));
        self.known[j] += 1;
        if self.max_age.is_some_and(|m| pool.len() > m + 1) {
            // The pool holds one score per age up to the newest: the oldest goes.
            let oldest = self.known[j] - pool.len();
            if let Some(k) = pool.iter().position(|&(_, at)| at == oldest) {
                pool.remove(k);
            }
        }
    }

    /// The weighted conformal quantile of output `j`'s pool at level `c` with weight ratio
    /// `rho` (Barber et al. 2023): the smallest score at which the weights of the scores up to it,
    /// over all weights plus the new point's own (1), reach `c`; the newest score weighs 1, the
    /// one before `rho`, and so on. With `rho` = 1 the `⌈(n + 1)·c⌉`-th smallest score.
    #[cfg(test)]
    fn quantile(&self, j: usize, c: f64, rho: f64) -> f64 {
        self.quantile_by(j, c, rho, |age| rho.powi(age as i32))
    }

    /// [`Adaptive::quantile`] with the weight of each age given by `weight` (`rho^age`).
    fn quantile_by(&self, j: usize, c: f64, rho: f64, weight: impl Fn(usize) -> f64) -> f64 {
        let pool = &self.pool[j];
        let n = pool.len();
        let Some(&(largest, _)) = pool.last() else {
            return 0.0;
        };
        if rho >= 1.0 {
            return conformal_index(n, c).map_or(0.0, |k| pool[k].0);
        }
        if c <= 0.0 {
            return 0.0;
        }
        // The pool holds the ages 0..n, whose weights sum to (1 − rho^n)/(1 − rho); with the
        // new point's 1, `total`. The scores from the smallest up to the one returned must
        // weigh `c · total`, so those above it weigh at most `spare`: scanned from the largest
        // down (the few beyond a high level), stopping before the weight above passes `spare`.
        let known = self.known[j];
        let weights = (1.0 - rho.powi(n as i32)) / (1.0 - rho);
        let spare = weights - c * (weights + 1.0);
        if spare < 0.0 {
            return largest;
        }
        let mut above = 0.0;
        for k in (1..n).rev() {
            above += weight(known - 1 - pool[k].1);
            if above > spare {
                return pool[k].0;
            }
        }
        pool[0].0
    }

    /// Half-widths of output `j` per level now; a higher level never gets a narrower interval.
    fn quantiles(&self, j: usize) -> Vec<f64> {
        let mut q: Vec<f64> = self
            .alpha
            .iter()
            .zip(self.decay.iter().zip(&self.powers))
            .map(|(alpha, (&rho, powers))| {
                self.quantile_by(j, 1.0 - alpha[j], rho, |age| powers[age])
            })
            .collect();
        for l in 1..q.len() {
            q[l] = q[l].max(q[l - 1]);
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Intervals read from a hand-edited model file are checked against the model's outputs.
    #[test]
    fn intervals_from_a_file_are_checked_against_the_model() {
        let parse = |v: serde_json::Value| serde_json::from_value::<Intervals>(v).unwrap();
        let good = serde_json::json!({
            "levels": [0.8, 0.95],
            "half_width": [[1.0, 2.0], [1.5, 3.0]],
            "calibration_windows": 10,
            "capped": [false, false],
        });
        parse(good.clone()).check(2, 1).unwrap();
        assert!(
            parse(good.clone())
                .check(3, 1)
                .unwrap_err()
                .contains("3 finite half-widths")
        );
        let mut v = good.clone();
        v["levels"] = serde_json::json!([0.8, 1.5]);
        assert!(parse(v).check(2, 1).unwrap_err().contains("1.5"));
        let mut v = good.clone();
        v["half_width"] = serde_json::json!([[1.0, 2.0]]);
        assert!(parse(v).check(2, 1).is_err());
        let mut v = good.clone();
        v["capped"] = serde_json::json!([false]);
        assert!(parse(v).check(2, 1).unwrap_err().contains("capped"));
        let mut v = good;
        v["errors"] = serde_json::json!([[0.1, 0.2, 0.3]]);
        assert!(parse(v).check(2, 1).unwrap_err().contains("errors"));
    }

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

    /// Interval bounds are clipped to a declared range, and an actual that lies on the bound is
    /// covered, though its value rebuilt from the scaled `f32` falls a rounding error outside.
    #[test]
    fn an_actual_on_its_declared_bound_is_covered() {
        let spec = WindowSpec::new(1, 1, vec!["a".into()], vec!["a".into()]).unwrap();
        let fit_on: Vec<f64> = (0..50).map(|i| 1.0 + f64::from(i) * 0.731).collect();
        let scaler = Scaler::fit(
            ts_data::ScalerKind::Standard,
            &["a".to_string()],
            &[fit_on],
            0..50,
        )
        .unwrap();
        let scaled = |v: f64| scaler.transform_value(0, v) as f32;
        let back = |v: f64| scaler.inverse_value(0, f64::from(scaled(v)));
        let bound = (0..10_000)
            .map(|k| 0.5 + f64::from(k) * 0.0137)
            .find(|&v| back(v) < v)
            .unwrap();
        // Calibration errors 1..=20 (forecasts of 0), then windows whose target and forecast
        // are the bound.
        let cal = Windows::build(
            &[(0..=20).map(|v| scaled(f64::from(v))).collect()],
            &spec,
            (0..20).collect(),
            true,
        );
        let iv = Intervals::calibrate(&cal, &[scaled(0.0); 20], &spec, &scaler, &[0.8])
            .unwrap()
            .with_ranges(&[ValueRange {
                lower: Some(bound),
                upper: None,
            }]);
        let on_bound = Windows::build(&[vec![scaled(bound); 11]], &spec, (0..10).collect(), true);
        let pred = vec![scaled(bound); 10];
        let walk = iv.walk(&on_bound, &pred, &spec, &scaler, 0);
        let (lo, hi) = walk.windows.bounds(0, 0, 0, back(bound));
        assert_eq!(lo, bound, "the lower side stops at the bound");
        assert!(hi > bound + 10.0);
        let cov = iv.coverage(&on_bound, &pred, &spec, &scaler);
        assert_eq!(cov[0].coverage, 1.0, "{cov:?}");
    }

    /// A series `0, 1, …, n − 1` of one column that is its own target, scaled, with forecasts of 0
    /// (so each error is the target row's value), and windows over `anchors`.
    fn ramp(n: usize, horizon: usize) -> (WindowSpec, Scaler, Vec<f32>, f32) {
        series((0..n).map(|v| v as f64).collect(), horizon)
    }

    /// Calibration and test windows over `scaled`, anchored at the rows of `cal` and `test`.
    fn cal_and_test(
        scaled: Vec<f32>,
        spec: &WindowSpec,
        cal: std::ops::Range<usize>,
        test: std::ops::Range<usize>,
    ) -> (Windows, Windows) {
        (
            Windows::build(std::slice::from_ref(&scaled), spec, cal.collect(), true),
            Windows::build(&[scaled], spec, test.collect(), true),
        )
    }

    /// [`ramp`] with the given values.
    fn series(values: Vec<f64>, horizon: usize) -> (WindowSpec, Scaler, Vec<f32>, f32) {
        let n = values.len();
        let spec = WindowSpec::new(1, horizon, vec!["a".into()], vec!["a".into()]).unwrap();
        let scaler = Scaler::fit(
            ts_data::ScalerKind::Standard,
            &["a".to_string()],
            std::slice::from_ref(&values),
            0..n,
        )
        .unwrap();
        let scaled = values
            .iter()
            .map(|&v| scaler.transform_value(0, v) as f32)
            .collect();
        let zero = scaler.transform_value(0, 0.0) as f32;
        (spec, scaler, scaled, zero)
    }

    #[test]
    fn adaptive_intervals_follow_growing_errors_with_known_actuals_only() {
        // Validation errors 1..=20, then a more volatile period: errors 30..=34 repeated.
        let values = (0..=40)
            .map(|r| {
                if r <= 20 {
                    f64::from(r)
                } else {
                    f64::from(30 + r % 5)
                }
            })
            .collect();
        let (spec, scaler, scaled, zero) = series(values, 1);
        let (cal, test) = cal_and_test(scaled, &spec, 0..20, 20..40);
        let pred = vec![zero; 20];
        let split = Intervals::calibrate(&cal, &pred, &spec, &scaler, &[0.8, 0.95]).unwrap();
        assert_eq!(split.errors[0].len(), 20);
        // Every test error exceeds every validation error: fixed intervals miss them all.
        let fixed = split.coverage(&test, &pred, &spec, &scaler);
        assert_eq!(fixed[0].coverage, 0.0);
        let adaptive = split.clone().with_method(IntervalMethod::Adaptive, 0.05);
        let walk = adaptive.walk(&test, &pred, &spec, &scaler, 0);
        // The first origin knows only the validation errors: the split half-width.
        assert_eq!(walk.windows.half_width(0, 0, 0), split.half_width[0][0]);
        // Window 1 knows window 0's error (31): the pool is 1..=20 and 31, α moved to
        // 0.2 − 0.05·0.8.
        let mut known: Vec<f64> = (1..=20).map(f64::from).collect();
        known.push(31.0);
        let expected = conformal_quantile(&known, 1.0 - (0.2 - 0.05 * 0.8));
        assert!((walk.windows.half_width(1, 0, 0) - expected).abs() < 1e-4);
        // A higher level is never narrower.
        for i in 0..20 {
            assert!(walk.windows.half_width(i, 1, 0) >= walk.windows.half_width(i, 0, 0));
        }
        // The misses widen the intervals until they cover most of the new errors.
        let cov = adaptive.coverage(&test, &pred, &spec, &scaler);
        assert!(cov[0].coverage >= 0.6, "{cov:?}");
        assert!(cov[1].coverage > cov[0].coverage - 1e-12, "{cov:?}");
        // After the last actual every test error is known: the widest is the largest error.
        assert!((walk.after[1][0] - 34.0).abs() < 1e-4, "{:?}", walk.after);
        // Windows before `from` keep the calibrated half-widths.
        let later = adaptive.walk(&test, &pred, &spec, &scaler, 10);
        assert_eq!(later.windows.half_width(9, 0, 0), split.half_width[0][0]);
        assert_eq!(later.windows.half_width(10, 0, 0), split.half_width[0][0]);
        assert!(later.windows.half_width(11, 0, 0) > split.half_width[0][0]);
    }

    #[test]
    fn adaptive_step_errors_are_used_only_once_their_actual_is_known() {
        // Horizon 3: window i's step s targets row anchor + s + 1, known from the origin
        // anchor + s + 1 on.
        let (spec, scaler, scaled, zero) = ramp(60, 3);
        let (cal, test) = cal_and_test(scaled, &spec, 0..20, 20..40);
        let pred = vec![zero; 60];
        let iv = Intervals::calibrate(&cal, &pred, &spec, &scaler, &[0.8])
            .unwrap()
            .with_method(IntervalMethod::Adaptive, 0.0);
        let walk = iv.walk(&test, &pred, &spec, &scaler, 0);
        // With γ = 0 the half-width is the quantile of the errors known at the origin. Step 3
        // (output 2) of window 0 is known at row 23 = the origin of window 3: windows 1 and 2
        // still use the validation errors alone.
        for i in 0..3 {
            assert_eq!(
                walk.windows.half_width(i, 0, 2),
                iv.half_width[0][2],
                "window {i}"
            );
        }
        assert!(walk.windows.half_width(3, 0, 2) > iv.half_width[0][2]);
        // Step 1 (output 0) of window 0 is known at the origin of window 1.
        assert_eq!(walk.windows.half_width(0, 0, 0), iv.half_width[0][0]);
        assert!(walk.windows.half_width(1, 0, 0) > iv.half_width[0][0]);
    }

    #[test]
    fn scaled_intervals_widen_at_once_when_the_series_turns_volatile() {
        // Rows 0..40 alternate 0, 1 (changes of 1); rows 40..80 alternate 0, 10 (changes of 10).
        // The forecast is always 0, so the errors are the values themselves.
        let values: Vec<f64> = (0..80)
            .map(|r| match (r < 40, r % 2) {
                (_, 0) => 0.0,
                (true, _) => 1.0,
                (false, _) => 10.0,
            })
            .collect();
        let (_, scaler, scaled, zero) = series(values, 1);
        let spec = WindowSpec::new(9, 1, vec!["a".into()], vec!["a".into()]).unwrap();
        let (cal, test) = cal_and_test(scaled, &spec, 8..39, 48..79);
        let pred = vec![zero; 31];
        let iv = Intervals::calibrate(&cal, &pred, &spec, &scaler, &[0.8])
            .unwrap()
            .with_method(IntervalMethod::Adaptive, 0.05);
        assert!(iv.is_scaled());
        assert!(
            iv.scales[0].iter().all(|s| (s - 1.0).abs() < 1e-5),
            "{:?}",
            iv.scales
        );
        assert!((change_scale(&test, &spec, &scaler, 0, 0) - 10.0).abs() < 1e-5);
        let mut plain = iv.clone();
        plain.scales.clear();
        assert!(!plain.is_scaled());
        let (w, w_plain) = (
            iv.walk(&test, &pred, &spec, &scaler, 0),
            plain.walk(&test, &pred, &spec, &scaler, 0),
        );
        // The first test window knows no test error yet: ten times the calibrated width.
        let first = w_plain.windows.half_width(0, 0, 0);
        assert!((first - iv.half_width[0][0]).abs() < 1e-5);
        assert!((w.windows.half_width(0, 0, 0) - 10.0 * first).abs() < 1e-4);
        let (cov, cov_plain) = (
            iv.coverage(&test, &pred, &spec, &scaler),
            plain.coverage(&test, &pred, &spec, &scaler),
        );
        // Scaled, no wild error is missed; unscaled, the first ones are (until the walk adapts).
        assert_eq!(cov[0].coverage, 1.0, "{cov:?}");
        assert!(cov_plain[0].coverage < 0.9, "{cov_plain:?}");
        // The forecast past the end scales the final state by its own window's scale.
        let future = iv.after_bounds(&w, &test, &pred, &spec, &scaler);
        assert!((future.half_width(0, 0, 0) - 10.0 * w.after[0][0]).abs() < 1e-4);
    }

    #[test]
    fn a_shock_does_not_make_later_intervals_wider_than_the_largest_move() {
        // A calm series (5.0, 5.1, ...), a jump of 10 at row 60, then a fall of 0.5 a row; the
        // forecast is the naive one (the last value).
        let values: Vec<f64> = (0..80)
            .map(|r| match r {
                0..60 => 5.0 + 0.1 * f64::from(r % 2),
                _ => 15.0 - 0.5 * f64::from(r - 60),
            })
            .collect();
        let (_, scaler, scaled, _) = series(values, 1);
        let spec = WindowSpec::new(9, 1, vec!["a".into()], vec!["a".into()]).unwrap();
        let naive =
            |anchors: std::ops::Range<usize>| -> Vec<f32> { anchors.map(|a| scaled[a]).collect() };
        let (cal_pred, test_pred) = (naive(8..39), naive(40..79));
        let (cal, test) = cal_and_test(scaled.clone(), &spec, 8..39, 40..79);
        let iv = Intervals::calibrate(&cal, &cal_pred, &spec, &scaler, &[0.8, 0.95])
            .unwrap()
            .with_method(IntervalMethod::Adaptive, 0.05)
            .with_largest_moves(&[&cal], &spec, &scaler);
        // 31 windows are too few to measure the largest move on.
        assert!(iv.largest_moves.is_empty());
        let iv = iv.with_largest_moves(&[&cal, &cal, &cal, &cal], &spec, &scaler);
        assert_eq!(iv.largest_moves.len(), 1);
        assert!(
            (iv.largest_moves[0] - 0.1).abs() < 1e-5,
            "{:?}",
            iv.largest_moves
        );
        let mut unlimited = iv.clone();
        unlimited.largest_moves.clear();
        let (w, w_unlimited) = (
            iv.walk(&test, &test_pred, &spec, &scaler, 0),
            unlimited.walk(&test, &test_pred, &spec, &scaler, 0),
        );
        // Window 19 (anchor 59) forecasts the jump (5.1 → 15); its error is known from window 20
        // on.
        let widest = |w: &Walk| {
            (20..test.n)
                .map(|i| w.windows.half_width(i, 1, 0))
                .fold(0.0, f64::max)
        };
        // Without the limit, the jump's score (100 calm scales) times the scale it inflated.
        assert!(widest(&w_unlimited) > 30.0, "{}", widest(&w_unlimited));
        // With it, never wider than the jump itself (the forecast is the last value).
        assert!(widest(&w) <= 9.9 + 1e-4, "{}", widest(&w));
        assert!((w.moves[0] - 9.9).abs() < 1e-4, "{:?}", w.moves);
        assert!(w_unlimited.moves.is_empty());
        // No actual is lost: every move after the jump is smaller than it.
        let (cov, cov_unlimited) = (
            iv.coverage(&test, &test_pred, &spec, &scaler),
            unlimited.coverage(&test, &test_pred, &spec, &scaler),
        );
        for (a, b) in cov.iter().zip(&cov_unlimited) {
            assert_eq!(a.coverage, b.coverage, "{cov:?} {cov_unlimited:?}");
            assert!(a.mean_width <= b.mean_width, "{cov:?} {cov_unlimited:?}");
        }
        // The 95 % intervals, which the jump's score sets, are much narrower on average.
        assert!(cov[1].mean_width < 0.5 * cov_unlimited[1].mean_width);
        // The forecast past the end is limited the same way.
        let future = iv.after_bounds(&w, &test, &test_pred, &spec, &scaler);
        assert!(future.half_width(test.n - 1, 1, 0) <= 9.9 + 1e-4);
        // Model files written before the limit read without it and keep their widths.
        let mut json = serde_json::to_value(&iv).unwrap();
        json.as_object_mut().unwrap().remove("largest_moves");
        let old: Intervals = serde_json::from_value(json).unwrap();
        assert!(old.largest_moves.is_empty());
        assert_eq!(old.walk(&test, &test_pred, &spec, &scaler, 0), w_unlimited);
        // Moves that make no sense (an edited file) are ignored, never turned into bounds.
        for bad in [vec![-1.0], vec![f64::NAN], vec![0.1, 0.1]] {
            let mut odd = iv.clone();
            odd.largest_moves = bad;
            assert_eq!(odd.walk(&test, &test_pred, &spec, &scaler, 0), w_unlimited);
        }
    }

    #[test]
    fn a_window_that_barely_moved_does_not_blow_up_later_intervals() {
        // Rows 0..40 alternate 0, 1 (changes of 1), rows 40..80 alternate 0, 0.01 (a reading
        // that barely moves), rows 80..120 alternate 0, 1 again. The forecast errs by about 1
        // in the quiet stretch (it says 1) and by 0 or 1 elsewhere (it says 0).
        let values: Vec<f64> = (0..120)
            .map(|r| match (r % 2, (40..80).contains(&r)) {
                (0, _) => 0.0,
                (_, true) => 0.01,
                (_, false) => 1.0,
            })
            .collect();
        let (_, scaler, scaled, zero) = series(values, 1);
        let one = scaler.transform_value(0, 1.0) as f32;
        let spec = WindowSpec::new(9, 1, vec!["a".into()], vec!["a".into()]).unwrap();
        let (cal, test) = cal_and_test(scaled, &spec, 9..40, 49..119);
        let cal_pred = vec![zero; cal.n];
        let test_pred: Vec<f32> = (49..119)
            .map(|a| if (49..80).contains(&a) { one } else { zero })
            .collect();
        let iv = Intervals::calibrate(&cal, &cal_pred, &spec, &scaler, &[0.8])
            .unwrap()
            .with_method(IntervalMethod::Adaptive, 0.05)
            .with_memory(4.0);
        // Every calibration window moved by 1 a row: the floor is half of that.
        assert_eq!(iv.scale_floor.len(), 1);
        assert!(
            (iv.scale_floor[0] - 0.5).abs() < 1e-5,
            "{:?}",
            iv.scale_floor
        );
        assert!(iv.scales[0].iter().all(|s| (s - 1.0).abs() < 1e-5));
        // A window wholly in the quiet stretch moved by 0.01 a row; its scale is the floor.
        let quiet = 10; // anchor 59: rows 50..59
        assert!((window_scale(&test, &spec, &scaler, quiet, 0) - 0.01).abs() < 1e-4);
        assert!((iv.change_scales(&test, &spec, &scaler, 0)[quiet] - 0.5).abs() < 1e-6);
        // A file written before the floor keeps its recent change scale, 0.01 there.
        let mut legacy = iv.clone();
        legacy.scale_floor.clear();
        assert!((legacy.change_scales(&test, &spec, &scaler, 0)[quiet] - 0.01).abs() < 1e-4);
        // Once the series moves again (anchor 88: its window's changes are all 1), the errors
        // of 1 made in the quiet stretch count as 2 scales, not 100: the 80 % interval stays
        // near 2, where without the floor it is a hundred times the calibrated one.
        let (w, w_legacy) = (
            iv.walk(&test, &test_pred, &spec, &scaler, 0),
            legacy.walk(&test, &test_pred, &spec, &scaler, 0),
        );
        let later = 88 - 49;
        let (h, h_legacy) = (
            w.windows.half_width(later, 0, 0),
            w_legacy.windows.half_width(later, 0, 0),
        );
        assert!(h <= 2.0 + 1e-6, "{h}");
        assert!(h_legacy > 50.0, "{h_legacy}");
        // The floored intervals still cover the quiet stretch's misses as the walk adapts.
        let cov = iv.coverage(&test, &test_pred, &spec, &scaler);
        assert!(cov[0].coverage > 0.7, "{cov:?}");
    }

    #[test]
    fn the_weighted_quantile_favours_recent_errors() {
        assert_eq!(decay_of(0.8, 4.0), 0.95);
        assert!((decay_of(0.95, 4.0) - 0.9875).abs() < 1e-12);
        assert_eq!(decay_of(0.8, 0.0), 1.0);
        // An old large error, then three small ones (time order), ratio 0.5: weights 0.125,
        // 0.25, 0.5, 1 over a total of 1.875 + 1 (the new point's own weight).
        let old_large = Adaptive::new(&[vec![10.0, 1.0, 1.0, 1.0]], &[0.5], 0.0, 0.0);
        assert_eq!(old_large.quantile(0, 0.5, 0.5), 1.0);
        assert_eq!(old_large.quantile(0, 0.6, 0.5), 1.0); // 1.75 / 2.875 = 0.609
        assert_eq!(old_large.quantile(0, 0.62, 0.5), 10.0);
        // Equal weights: the ⌈(n + 1)·c⌉-th smallest.
        assert_eq!(old_large.quantile(0, 0.6, 1.0), 1.0);
        assert_eq!(old_large.quantile(0, 0.8, 1.0), 10.0);
        // The same errors, the large one newest: it now weighs most.
        let mut new_large = Adaptive::new(&[vec![1.0, 1.0, 1.0]], &[0.5], 0.0, 0.0);
        new_large.reveal(10.0, 0, |_| 0.0);
        assert_eq!(new_large.quantile(0, 0.5, 0.5), 10.0);
        assert_eq!(new_large.quantile(0, 0.5, 1.0), 1.0);
        assert_eq!(new_large.quantile(0, 0.0, 0.5), 0.0);
    }

    #[test]
    fn a_weighted_pool_drops_only_negligible_scores() {
        // Level 0.8 with memory 1: rho = 0.8, scores older than 124 weigh under 1e-12.
        let mut x = 12345u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as f64 / f64::from(1u32 << 31)
        };
        let start: Vec<f64> = (0..300).map(|_| next()).collect();
        let mut all = start.clone();
        let mut state = Adaptive::new(std::slice::from_ref(&start), &[0.8], 0.0, 1.0);
        assert_eq!(state.max_age, Some(124));
        assert_eq!(state.pool[0].len(), 125);
        for i in 0..400 {
            // Every 50th score is huge, so that a dropped one would show in the quantile.
            let e = if i % 50 == 0 { 100.0 } else { next() };
            state.reveal(e, 0, |_| 1.0);
            all.push(e);
            assert_eq!(state.pool[0].len(), 125);
            // Brute force over the whole history, every weight by powi.
            let mut full: Vec<(f64, usize)> = all.iter().copied().zip(0..).collect();
            full.sort_by(|a, b| a.0.total_cmp(&b.0));
            let n = all.len();
            let total: f64 = (0..n).map(|a| 0.8f64.powi(a as i32)).sum::<f64>() + 1.0;
            for c in [0.5, 0.8, 0.95] {
                let mut sum = 0.0;
                let brute = full
                    .iter()
                    .find(|&&(_, at)| {
                        sum += 0.8f64.powi((n - 1 - at) as i32);
                        sum >= c * total
                    })
                    .map_or(full[n - 1].0, |&(v, _)| v);
                let pruned = state.quantile_by(0, c, 0.8, |a| state.powers[0][a]);
                assert_eq!(pruned, brute, "score {i}, level {c}");
            }
        }
    }

    #[test]
    fn a_weighted_pool_stores_only_the_errors_that_weigh() {
        let (spec, scaler, scaled, zero) = ramp(301, 1);
        let w = Windows::build(&[scaled], &spec, (0..300).collect(), true);
        let iv = Intervals::calibrate(&w, &vec![zero; 300], &spec, &scaler, &[0.8]).unwrap();
        let equal = iv.clone().with_memory(0.0);
        assert_eq!((equal.errors[0].len(), equal.scales[0].len()), (300, 300));
        // Memory 1 at 80 %: rho 0.8, 125 errors weigh more than 1e-12; the newest are kept.
        let weighted = iv.with_memory(1.0);
        assert_eq!(
            (weighted.errors[0].len(), weighted.scales[0].len()),
            (125, 125)
        );
        assert!((weighted.errors[0][124] - 300.0).abs() < 1e-3);
        assert_eq!(weighted.calibration_windows, 300);
    }

    #[test]
    fn a_calm_test_part_narrows_weighted_intervals_sooner() {
        // Calibration errors 11..=30, then 60 test errors of 1 (forecast 0, lookback 1).
        let values: Vec<f64> = (0..=80)
            .map(|r| if r <= 20 { 10.0 + r as f64 } else { 1.0 })
            .collect();
        let (spec, scaler, scaled, zero) = series(values, 1);
        let (cal, test) = cal_and_test(scaled, &spec, 0..20, 20..80);
        let pred = vec![zero; 60];
        let plain = Intervals::calibrate(&cal, &pred[..20], &spec, &scaler, &[0.8, 0.95])
            .unwrap()
            .with_method(IntervalMethod::Adaptive, 0.05);
        let weighted = plain.clone().with_memory(4.0);
        let (cp, cw) = (
            plain.coverage(&test, &pred, &spec, &scaler),
            weighted.coverage(&test, &pred, &spec, &scaler),
        );
        for l in 0..2 {
            assert!(cw[l].mean_width < cp[l].mean_width, "{cw:?} vs {cp:?}");
            assert!(cw[l].coverage <= cp[l].coverage, "{cw:?} vs {cp:?}");
        }
        let (wp, ww) = (
            plain.walk(&test, &pred, &spec, &scaler, 0),
            weighted.walk(&test, &pred, &spec, &scaler, 0),
        );
        // Both start from the calibration errors (the weighted one from the recent, larger ones);
        // weighted, the 80 % width is down to the test errors well before the end.
        assert!(
            (wp.windows.half_width(0, 0, 0) - 27.0).abs() < 1e-4,
            "{wp:?}"
        );
        assert!(
            (ww.windows.half_width(0, 0, 0) - 29.0).abs() < 1e-4,
            "{ww:?}"
        );
        let narrow = |w: &Walk| (0..60).find(|&i| w.windows.half_width(i, 0, 0) < 1.5);
        let (np, nw) = (narrow(&wp).unwrap(), narrow(&ww).unwrap());
        assert!(
            nw + 5 <= np,
            "narrow from window {nw} (weighted), {np} (equal weights)"
        );
    }

    #[test]
    fn calibration_on_two_parts_pools_their_errors_in_time_order() {
        // Errors 1..=20: windows 0..15 as the "training" part, 15..20 as "validation".
        let (spec, scaler, scaled, zero) = ramp(21, 1);
        let (train, val) = cal_and_test(scaled.clone(), &spec, 0..15, 15..20);
        let (pt, pv) = (vec![zero; 15], vec![zero; 5]);
        let only_val = Intervals::calibrate(&val, &pv, &spec, &scaler, &[0.8]).unwrap();
        // Five validation errors 16..=20: rank ceil(6 * 0.8) = 5 → the widest.
        assert_eq!(only_val.calibrated_on, CalibrationSet::Validation);
        assert_eq!(only_val.calibration_windows, 5);
        assert!((only_val.half_width[0][0] - 20.0).abs() < 1e-4);
        let both = Intervals::calibrate_on(
            CalibrationSet::TrainingAndValidation,
            &[(&train, &pt), (&val, &pv)],
            &spec,
            &scaler,
            &[0.8],
        )
        .unwrap();
        // Twenty errors 1..=20: rank ceil(21 * 0.8) = 17, as over one part of 20 windows.
        assert_eq!(both.calibrated_on, CalibrationSet::TrainingAndValidation);
        assert_eq!(
            (both.calibration_windows, both.capped.clone()),
            (20, vec![false])
        );
        assert!((both.half_width[0][0] - 17.0).abs() < 1e-4);
        let errors: Vec<f64> = both.errors[0].iter().map(|e| e.round()).collect();
        assert_eq!(errors, (1..=20).map(f64::from).collect::<Vec<_>>());
        assert_eq!(both.scales[0].len(), 20);
        // A part without windows adds nothing.
        let empty = Windows::build(&[scaled], &spec, Vec::new(), true);
        let same = Intervals::calibrate_on(
            CalibrationSet::TrainingAndValidation,
            &[(&empty, &[]), (&train, &pt), (&val, &pv)],
            &spec,
            &scaler,
            &[0.8],
        )
        .unwrap();
        assert_eq!(same.errors, both.errors);
        // Files written before record no set: validation.
        let old = serde_json::json!({
            "levels": [0.8], "half_width": [[1.0]], "calibration_windows": 3, "capped": [true]
        });
        let iv: Intervals = serde_json::from_value(old).unwrap();
        assert_eq!(iv.calibrated_on, CalibrationSet::Validation);
    }

    #[test]
    fn model_files_without_a_method_keep_split_intervals() {
        let old = serde_json::json!({
            "levels": [0.8], "half_width": [[1.0]], "calibration_windows": 3, "capped": [true]
        });
        let iv: Intervals = serde_json::from_value(old).unwrap();
        assert_eq!(iv.method, IntervalMethod::Split);
        assert!(!iv.is_adaptive());
        assert!(!iv.is_scaled() && iv.scales.is_empty());
        // Nor did they weigh recent errors more.
        assert_eq!(iv.memory, 0.0);
        assert_eq!(iv.calibrated_on, CalibrationSet::Validation);
        assert_eq!(
            "adaptive".parse::<IntervalMethod>().unwrap(),
            IntervalMethod::Adaptive
        );
        assert!("wide".parse::<IntervalMethod>().is_err());
    }
}
