//! Sliding windows over a split, scaled table: [`WindowSpec`], [`Windows`], [`prepare`].

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::frame::Frame;
use crate::scaler::{Scaler, ScalerKind};
use crate::split::{SplitBounds, SplitConfig};

/// What a window looks like: which columns go in, which come out, how far back and ahead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Number of past time steps fed to the model (sequence length).
    pub lookback: usize,
    /// Number of future steps predicted at once (direct multi-output).
    pub horizon: usize,
    /// Input columns, in order. Every target is also an input.
    pub features: Vec<String>,
    /// Target columns, in order.
    pub targets: Vec<String>,
    /// Index of each target in `features`.
    pub target_index: Vec<usize>,
}

impl WindowSpec {
    /// Builds a spec; targets missing from `features` are appended to the inputs.
    ///
    /// A column named twice in `features` or in `targets` is refused
    /// ([`DataError::DuplicateColumn`]).
    pub fn new(
        lookback: usize,
        horizon: usize,
        features: Vec<String>,
        targets: Vec<String>,
    ) -> Result<Self> {
        if lookback == 0 {
            return Err(DataError::InvalidConfig {
                name: "sequence_length".into(),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if horizon == 0 {
            return Err(DataError::InvalidConfig {
                name: "horizon".into(),
                value: "0".into(),
                reason: "must be at least 1".into(),
            });
        }
        if targets.is_empty() {
            return Err(DataError::InvalidConfig {
                name: "target".into(),
                value: "(none)".into(),
                reason: "at least one target column is needed".into(),
            });
        }
        for (list, names) in [("features", &features), ("targets", &targets)] {
            if let Some(column) = first_duplicate(names) {
                return Err(DataError::DuplicateColumn {
                    list: list.into(),
                    column: column.clone(),
                });
            }
        }
        let mut features = features;
        for t in &targets {
            if !features.contains(t) {
                features.push(t.clone());
            }
        }
        let target_index = targets
            .iter()
            .map(|t| features.iter().position(|f| f == t).unwrap_or(0))
            .collect();
        Ok(Self {
            lookback,
            horizon,
            features,
            targets,
            target_index,
        })
    }

    /// Number of model outputs: horizon × targets, laid out step-major
    /// (`[step0: t0, t1, …, step1: t0, t1, …]`).
    pub fn n_outputs(&self) -> usize {
        self.horizon * self.targets.len()
    }
}

/// The first name that appears a second time in `names`.
fn first_duplicate(names: &[String]) -> Option<&String> {
    names
        .iter()
        .enumerate()
        .find(|(i, n)| names[..*i].contains(n))
        .map(|(_, n)| n)
}

/// Scaled values of a table as one row-major matrix `[rows, features]`, shared (through an
/// [`Arc`]) by every set of windows cut from it, so that a window's inputs are a slice of it rather
/// than a copy.
///
/// It may also keep some columns unscaled, as read (see [`Series::keep_raw`]): the targets, so that
/// actuals and baselines are reported as the file's own values rather than through a scaled `f32`
/// and back (26635, not 26634.99974).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    data: Vec<f32>,
    rows: usize,
    features: usize,
    /// Unscaled values of some columns (by column; `None` for the others): a
    /// [`crate::Frame`]'s `f32` values widened once ([`crate::widen`]), so that reading one is a
    /// plain load.
    raw: Vec<Option<Vec<f64>>>,
}

impl Series {
    /// A matrix from row-major values.
    ///
    /// # Panics
    /// If `data.len() != rows * features`.
    pub fn from_rows(data: Vec<f32>, rows: usize, features: usize) -> Self {
        assert_eq!(data.len(), rows * features, "series has the wrong length");
        Self {
            data,
            rows,
            features,
            raw: Vec::new(),
        }
    }

    /// A matrix from columns (one vector per feature, all of the same length).
    pub fn from_columns(columns: &[Vec<f32>]) -> Self {
        let rows = columns.first().map_or(0, Vec::len);
        let features = columns.len();
        let mut data = vec![0.0; rows * features];
        for (c, col) in columns.iter().enumerate() {
            for (r, &v) in col.iter().take(rows).enumerate() {
                data[r * features + c] = v;
            }
        }
        Self {
            data,
            rows,
            features,
            raw: Vec::new(),
        }
    }

    /// Keeps, beside column `k` of this (scaled) matrix, its unscaled values `raw` (one per row, as
    /// a [`crate::Frame`] stores them; 8 bytes a row once widened), read back through
    /// [`Series::raw_value`].
    ///
    /// # Panics
    /// If `k` is not a column or `raw` does not hold one value per row.
    pub fn keep_raw(&mut self, k: usize, raw: Vec<f32>) {
        assert!(k < self.features, "no column {k}");
        assert_eq!(raw.len(), self.rows, "raw column has the wrong length");
        if self.raw.len() < self.features {
            self.raw.resize(self.features, None);
        }
        self.raw[k] = Some(raw.into_iter().map(crate::widen).collect());
    }

    /// Whether column `c`'s unscaled values are kept ([`Series::keep_raw`]).
    pub fn keeps_raw(&self, c: usize) -> bool {
        self.raw.get(c).is_some_and(Option::is_some)
    }

    /// The unscaled value of column `c` at row `r`, as the file gave it (see
    /// [`crate::widen`]), when that column's values are kept and the row exists.
    pub fn raw_value(&self, r: usize, c: usize) -> Option<f64> {
        self.raw.get(c)?.as_ref()?.get(r).copied()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of features (columns).
    pub fn features(&self) -> usize {
        self.features
    }

    /// Row `r`, `[features]`.
    pub fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.features..(r + 1) * self.features]
    }

    /// Rows `from..to`, row-major.
    pub fn rows_slice(&self, from: usize, to: usize) -> &[f32] {
        &self.data[from * self.features..to * self.features]
    }

    /// Column `c` as a new vector.
    pub fn column(&self, c: usize) -> Vec<f32> {
        (0..self.rows)
            .map(|r| self.data[r * self.features + c])
            .collect()
    }

    /// The columns `idx` (in that order) as a new matrix.
    pub fn select(&self, idx: &[usize]) -> Self {
        let mut data = Vec::with_capacity(self.rows * idx.len());
        for r in 0..self.rows {
            let row = self.row(r);
            data.extend(idx.iter().map(|&c| row[c]));
        }
        let mut out = Self::from_rows(data, self.rows, idx.len());
        for (k, &c) in idx.iter().enumerate() {
            if let Some(Some(raw)) = self.raw.get(c) {
                if out.raw.len() < out.features {
                    out.raw.resize(out.features, None);
                }
                out.raw[k] = Some(raw.clone());
            }
        }
        out
    }

    /// Keeps the columns `idx` (in that order) and maps every kept value through `f(column, x)`,
    /// in place: the result reuses this matrix's buffer.
    pub fn select_map_in_place(mut self, idx: &[usize], f: impl Fn(usize, f32) -> f32) -> Self {
        let (n, old, new) = (self.rows, self.features, idx.len());
        let mut tmp = vec![0.0f32; new];
        for r in 0..n {
            // Row r's new place [r·new, (r+1)·new) ends at or before its old end, so no unread
            // row is overwritten.
            for (k, &c) in idx.iter().enumerate() {
                tmp[k] = f(k, self.data[r * old + c]);
            }
            self.data[r * new..(r + 1) * new].copy_from_slice(&tmp);
        }
        self.data.truncate(n * new);
        self.data.shrink_to_fit();
        self.features = new;
        if !self.raw.is_empty() {
            let old_raw = std::mem::take(&mut self.raw);
            self.raw = idx
                .iter()
                .map(|&c| old_raw.get(c).cloned().flatten())
                .collect();
        }
        self
    }
}

/// A set of windows over scaled data, ready to become tensors.
///
/// Window `i` reads the `lookback` rows ending at `anchors[i]` of a shared [`Series`]; its inputs
/// ([`Windows::x_of`]) are a slice of that matrix, so a set of windows costs its targets and
/// anchors, not `lookback` copies of the data. Read the inputs and targets through
/// [`Windows::x_of`], [`Windows::y_of`], [`Windows::gather_x`] and [`Windows::gather_y`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Windows {
    /// The scaled rows the inputs are read from.
    series: Arc<Series>,
    /// First series row of each window's inputs.
    starts: Starts,
    /// Targets `[n, horizon × targets]` (step-major); empty for future-only windows.
    y: Vec<f32>,
    /// Number of windows.
    pub n: usize,
    /// Sequence length.
    pub lookback: usize,
    /// Input columns.
    pub n_features: usize,
    /// Outputs per window.
    pub n_outputs: usize,
    /// Row of each window's last input step ("now"); targets are the rows after it.
    pub anchors: Vec<usize>,
}

/// Where each window's inputs start in the series.
#[derive(Debug, Clone, Default, PartialEq)]
enum Starts {
    /// Sliding windows: window `i` starts at `anchors[i] + 1 - lookback`.
    #[default]
    Sliding,
    /// Separate blocks: window `i` starts at row `i × lookback` (windows given explicitly).
    Blocks,
}

impl Windows {
    /// Windows whose last input row is each of `anchors`, over scaled columns (one vector per
    /// feature, in `spec.features` order). Targets are filled when every target row exists;
    /// `with_targets = false` leaves them empty (for forecasts beyond the data).
    pub fn build(
        scaled: &[Vec<f32>],
        spec: &WindowSpec,
        anchors: Vec<usize>,
        with_targets: bool,
    ) -> Self {
        let f = spec.features.len();
        Self::over(
            Arc::new(Series::from_columns(&scaled[..f.min(scaled.len())])),
            spec,
            anchors,
            with_targets,
        )
    }

    /// Windows over a shared scaled matrix (columns in `spec.features` order); see
    /// [`Windows::build`].
    pub fn over(
        series: Arc<Series>,
        spec: &WindowSpec,
        anchors: Vec<usize>,
        with_targets: bool,
    ) -> Self {
        let l = spec.lookback;
        let n_out = spec.n_outputs();
        let mut y = Vec::with_capacity(if with_targets {
            anchors.len() * n_out
        } else {
            0
        });
        if with_targets {
            for &a in &anchors {
                for h in 1..=spec.horizon {
                    let row = series.row(a + h);
                    for &ti in &spec.target_index {
                        y.push(row[ti]);
                    }
                }
            }
        }
        Self {
            n: anchors.len(),
            lookback: l,
            n_features: series.features(),
            n_outputs: n_out,
            series,
            starts: Starts::Sliding,
            y,
            anchors,
        }
    }

    /// The shared scaled matrix the inputs are read from.
    pub fn series(&self) -> &Arc<Series> {
        &self.series
    }

    fn start(&self, i: usize) -> usize {
        match self.starts {
            Starts::Sliding => self.anchors[i] + 1 - self.lookback,
            Starts::Blocks => i * self.lookback,
        }
    }

    /// Whether the windows carry targets (false for forecasts beyond the data).
    pub fn has_targets(&self) -> bool {
        !self.y.is_empty() || self.n == 0
    }

    /// Inputs of window `i`, `[lookback, features]` row-major (time-major).
    pub fn x_of(&self, i: usize) -> &[f32] {
        let s = self.start(i);
        self.series.rows_slice(s, s + self.lookback)
    }

    /// Targets of window `i`, `[horizon × targets]` step-major; empty without targets.
    pub fn y_of(&self, i: usize) -> &[f32] {
        if self.y.is_empty() {
            return &[];
        }
        &self.y[i * self.n_outputs..(i + 1) * self.n_outputs]
    }

    /// Inputs of the windows `idx`, concatenated: `[idx.len(), lookback, features]`.
    pub fn gather_x(&self, idx: impl IntoIterator<Item = usize>) -> Vec<f32> {
        let mut out = Vec::new();
        for i in idx {
            out.extend_from_slice(self.x_of(i));
        }
        out
    }

    /// Targets of the windows `idx`, concatenated: `[idx.len(), n_outputs]`; empty without targets.
    pub fn gather_y(&self, idx: impl IntoIterator<Item = usize>) -> Vec<f32> {
        let mut out = Vec::new();
        for i in idx {
            out.extend_from_slice(self.y_of(i));
        }
        out
    }

    /// All inputs `[n, lookback, features]` (a copy: `lookback` times the rows it covers).
    pub fn all_x(&self) -> Vec<f32> {
        self.gather_x(0..self.n)
    }

    /// All targets `[n, n_outputs]`; empty without targets.
    pub fn all_y(&self) -> Vec<f32> {
        self.y.clone()
    }

    /// Builds windows from explicit buffers: `x` is `[n, lookback, n_features]`, `y` is
    /// `[n, n_outputs]` or empty. For tests and callers that synthesise windows.
    ///
    /// # Panics
    /// If the buffer lengths disagree with the shape.
    pub fn from_parts(
        x: Vec<f32>,
        y: Vec<f32>,
        lookback: usize,
        n_features: usize,
        n_outputs: usize,
        anchors: Vec<usize>,
    ) -> Self {
        let n = anchors.len();
        assert_eq!(x.len(), n * lookback * n_features, "x has the wrong length");
        assert!(
            y.is_empty() || y.len() == n * n_outputs,
            "y has the wrong length"
        );
        Self {
            series: Arc::new(Series::from_rows(x, n * lookback, n_features)),
            starts: Starts::Blocks,
            y,
            n,
            lookback,
            n_features,
            n_outputs,
            anchors,
        }
    }

    /// The value of column `col` `back` rows before window `i`'s last input row (`back = 0` is
    /// that row), when these windows can see it: sliding windows read the whole series before
    /// their anchor, explicit windows only their own rows.
    pub fn value_before(&self, i: usize, back: usize, col: usize) -> Option<f32> {
        let row = match self.starts {
            Starts::Sliding => self.anchors[i].checked_sub(back)?,
            Starts::Blocks => {
                if back >= self.lookback {
                    return None;
                }
                self.start(i) + self.lookback - 1 - back
            }
        };
        self.series.row(row).get(col).copied()
    }

    /// [`Windows::value_before`] unscaled, as the file gave it, where the series keeps column
    /// `col` unscaled ([`Series::keep_raw`]; sliding windows only, whose rows are the series').
    pub fn raw_before(&self, i: usize, back: usize, col: usize) -> Option<f64> {
        match self.starts {
            Starts::Sliding => self
                .series
                .raw_value(self.anchors[i].checked_sub(back)?, col),
            Starts::Blocks => None,
        }
    }

    /// The unscaled actual of column `col` `step` rows after window `i`'s last input row
    /// (`step >= 1`), as the file gave it, where these windows have targets and the series keeps
    /// that column unscaled (see [`Windows::raw_before`]).
    pub fn raw_after(&self, i: usize, step: usize, col: usize) -> Option<f64> {
        match self.starts {
            Starts::Sliding if self.has_targets() => {
                self.series.raw_value(self.anchors[i] + step, col)
            }
            _ => None,
        }
    }

    /// How many rows before window `i`'s last input row these windows can see (see
    /// [`Windows::value_before`]).
    pub fn history_len(&self, i: usize) -> usize {
        match self.starts {
            Starts::Sliding => self.anchors[i] + 1,
            Starts::Blocks => self.lookback,
        }
    }

    /// The last observed (scaled) value of each target in window `i`, the naive forecast.
    pub fn last_values(&self, i: usize, target_index: &[usize]) -> Vec<f32> {
        let row = self.series.row(self.start(i) + self.lookback - 1);
        target_index.iter().map(|&t| row[t]).collect()
    }

    /// A subset of windows by position (sliding windows share the series; explicit ones are
    /// copied).
    pub fn subset(&self, idx: &[usize]) -> Self {
        let y = if self.y.is_empty() {
            Vec::new()
        } else {
            self.gather_y(idx.iter().copied())
        };
        let anchors: Vec<usize> = idx.iter().map(|&i| self.anchors[i]).collect();
        match self.starts {
            Starts::Sliding => Self {
                series: self.series.clone(),
                starts: Starts::Sliding,
                y,
                n: idx.len(),
                lookback: self.lookback,
                n_features: self.n_features,
                n_outputs: self.n_outputs,
                anchors,
            },
            Starts::Blocks => Self::from_parts(
                self.gather_x(idx.iter().copied()),
                y,
                self.lookback,
                self.n_features,
                self.n_outputs,
                anchors,
            ),
        }
    }
}

/// A frame prepared for training: scaler fitted on the training rows, windows per part.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The window layout.
    pub spec: WindowSpec,
    /// The scaler, fitted on the training rows only, over `spec.features`.
    pub scaler: Scaler,
    /// Where the parts start.
    pub bounds: SplitBounds,
    /// Scaled rows `[rows, features]` (features in `spec.features` order), shared by the three
    /// sets of windows.
    pub scaled: Arc<Series>,
    /// Training windows: every target row before the validation part.
    pub train: Windows,
    /// Validation windows: every target row inside the validation part.
    pub validation: Windows,
    /// Test windows: every target row inside the test part (inputs may reach back before it).
    pub test: Windows,
}

/// Anchors (last input rows) whose target rows all lie in `[from, to)`.
pub fn anchors_in(spec: &WindowSpec, from: usize, to: usize) -> Vec<usize> {
    let first = (spec.lookback - 1).max(from.saturating_sub(1));
    let mut v = Vec::new();
    let mut a = first;
    while a + spec.horizon < to {
        if a + 1 >= from {
            v.push(a);
        }
        a += 1;
    }
    v
}

/// What a frame and a configuration give before any value is scaled: the feature columns, the
/// split, the fitted scaler and the anchors of the three parts. Every check that can fail is made
/// here.
struct Plan {
    idx: Vec<usize>,
    bounds: SplitBounds,
    scaler: Scaler,
    anchors: [Vec<usize>; 3],
}

fn plan(frame: &Frame, spec: &WindowSpec, split: &SplitConfig, kind: ScalerKind) -> Result<Plan> {
    split.validate()?;
    let b = split.bounds(frame.n_rows());
    plan_bounds(frame, spec, b, split.validation > 0.0, kind, split)
}

fn plan_bounds(
    frame: &Frame,
    spec: &WindowSpec,
    b: SplitBounds,
    need_val: bool,
    kind: ScalerKind,
    split: &SplitConfig,
) -> Result<Plan> {
    let idx: Vec<usize> = spec
        .features
        .iter()
        .map(|f| frame.column_index(f))
        .collect::<Result<_>>()?;
    if !frame.has_values() {
        return Err(DataError::InvalidConfig {
            name: "frame".into(),
            value: frame.source.display().to_string(),
            reason: "its values were already handed over (Frame::take_values)".into(),
        });
    }
    let n = b.n_rows.min(frame.n_rows());
    let l = spec.lookback;
    let h = spec.horizon;
    // Minimum: a few training windows, one validation window, one test window.
    let min_train_rows = l + h + 1;
    let too_few = || DataError::TooFewRows {
        what: frame.source.display().to_string(),
        rows: n,
        needed: format!(
            "sequence length {l} + horizon {h} with train split {} and validation {} leave {} training, {} validation and {} test rows; each part needs at least one full window",
            split.train,
            split.validation,
            b.val_start,
            b.test_start - b.val_start,
            n - b.test_start
        ),
    };
    if b.val_start < min_train_rows
        || n - b.test_start < h
        || (need_val && b.test_start - b.val_start < h)
    {
        return Err(too_few());
    }
    let scaler = Scaler::fit_frame(kind, &spec.features, frame, &idx, 0..b.val_start)?;
    for (k, &ti) in spec.target_index.iter().enumerate() {
        let first = frame.value(0, idx[ti]);
        if (1..b.val_start).all(|r| frame.value(r, idx[ti]) == first) {
            return Err(DataError::ConstantTarget {
                path: frame.source.clone(),
                column: spec.targets[k].clone(),
                value: first,
            });
        }
    }
    let train = anchors_in(spec, 0, b.val_start);
    let validation = if need_val {
        anchors_in(spec, b.val_start, b.test_start)
    } else {
        Vec::new()
    };
    let test = anchors_in(spec, b.test_start, n);
    if train.is_empty() || test.is_empty() || (need_val && validation.is_empty()) {
        return Err(too_few());
    }
    Ok(Plan {
        idx,
        bounds: b,
        scaler,
        anchors: [train, validation, test],
    })
}

fn windows_of(spec: &WindowSpec, plan: Plan, scaled: Series) -> Prepared {
    let scaled = Arc::new(scaled);
    let [train, validation, test] = plan.anchors;
    let validation = if validation.is_empty() {
        Windows::default()
    } else {
        Windows::over(scaled.clone(), spec, validation, true)
    };
    Prepared {
        spec: spec.clone(),
        train: Windows::over(scaled.clone(), spec, train, true),
        validation,
        test: Windows::over(scaled.clone(), spec, test, true),
        scaler: plan.scaler,
        bounds: plan.bounds,
        scaled,
    }
}

/// Splits, scales and windows a frame.
///
/// Rows are split chronologically into train | validation | test. The scaler is fitted on the
/// training rows only. A window belongs to the part that holds all of its target rows; windows whose
/// targets straddle two parts are dropped, so no value of a later part is ever a training target.
/// The scaled series is a copy of the frame's feature columns; [`prepare_owned`] scales the
/// frame's own values instead.
pub fn prepare(
    frame: &Frame,
    spec: &WindowSpec,
    split: &SplitConfig,
    scaler: ScalerKind,
) -> Result<Prepared> {
    let plan = plan(frame, spec, split, scaler)?;
    let scaled = plan
        .scaler
        .transform_series(frame.values(), &plan.idx, &spec.target_index);
    Ok(windows_of(spec, plan, scaled))
}

/// [`prepare`] with explicit row boundaries: training rows `[0, val_start)`, validation
/// `[val_start, test_start)` (empty = no validation), test `[test_start, n_rows)`; rows from
/// `n_rows` on are ignored. For rolling-origin backtests, whose folds end before the data does.
///
/// # Errors
/// Boundaries out of order or past the frame, and every error of [`prepare`].
pub fn prepare_bounds(
    frame: &Frame,
    spec: &WindowSpec,
    bounds: SplitBounds,
    scaler: ScalerKind,
) -> Result<Prepared> {
    let b = bounds;
    if !(b.val_start <= b.test_start && b.test_start <= b.n_rows && b.n_rows <= frame.n_rows()) {
        return Err(DataError::InvalidConfig {
            name: "split".into(),
            value: format!("{}/{}/{}", b.val_start, b.test_start, b.n_rows),
            reason: format!(
                "row boundaries must satisfy validation start <= test start <= end <= {} rows",
                frame.n_rows()
            ),
        });
    }
    let n = b.n_rows.max(1) as f64;
    // The fractions these bounds stand for, for error messages.
    let split = SplitConfig {
        train: b.test_start as f64 / n,
        validation: if b.test_start > 0 {
            (b.test_start - b.val_start) as f64 / b.test_start as f64
        } else {
            0.0
        },
    };
    let plan = plan_bounds(frame, spec, b, b.test_start > b.val_start, scaler, &split)?;
    let scaled = plan
        .scaler
        .transform_series(frame.values(), &plan.idx, &spec.target_index);
    Ok(windows_of(spec, plan, scaled))
}

/// [`prepare`] that takes the frame's values ([`Frame::take_values`]) and scales them in place, so
/// that the data is held once rather than twice. On success the frame keeps its source, time index,
/// column names and row count (for labels and summaries) but no values; on error it is unchanged.
/// The result equals [`prepare`]'s.
pub fn prepare_owned(
    frame: &mut Frame,
    spec: &WindowSpec,
    split: &SplitConfig,
    scaler: ScalerKind,
) -> Result<Prepared> {
    let plan = plan(frame, spec, split, scaler)?;
    let scaled =
        plan.scaler
            .transform_series_in_place(frame.take_values(), &plan.idx, &spec.target_index);
    Ok(windows_of(spec, plan, scaled))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn frame(n: usize, f: usize) -> Frame {
        let cols = (0..f).map(|i| format!("c{i}")).collect();
        let vals = (0..f)
            .map(|c| (0..n).map(|r| (r * 10 + c) as f64).collect())
            .collect();
        Frame::from_columns("mem", cols, vals, None).unwrap()
    }

    #[test]
    fn windows_hold_the_right_rows() {
        let fr = frame(40, 2);
        let spec =
            WindowSpec::new(3, 2, vec!["c0".into(), "c1".into()], vec!["c1".into()]).unwrap();
        let p = prepare(
            &fr,
            &spec,
            &SplitConfig {
                train: 0.8,
                validation: 0.0,
            },
            ScalerKind::MinMax,
        )
        .unwrap();
        let a = p.train.anchors[0];
        assert_eq!(a, 2);
        // inverse of the first target must be row a+1 of c1
        let y0 = p.scaler.inverse_value(1, p.train.y_of(0)[0] as f64);
        assert!((y0 - ((a + 1) * 10 + 1) as f64).abs() < 1e-3);
        let x_last = p
            .scaler
            .inverse_value(1, p.train.x_of(0)[(2 * 2) + 1] as f64);
        assert!((x_last - (a * 10 + 1) as f64).abs() < 1e-3);
    }

    #[test]
    fn the_targets_are_kept_unscaled_as_read() {
        let mut fr = frame(40, 3);
        let spec = WindowSpec::new(
            3,
            2,
            vec!["c2".into(), "c0".into(), "c1".into()],
            vec!["c1".into()],
        )
        .unwrap();
        let split = SplitConfig {
            train: 0.8,
            validation: 0.0,
        };
        let copied = prepare(&fr, &spec, &split, ScalerKind::Standard).unwrap();
        let owned = prepare_owned(&mut fr, &spec, &split, ScalerKind::Standard).unwrap();
        for p in [&copied, &owned] {
            // The target c1 is the series' column 2; c2 and c0 are not kept.
            assert!(p.scaled.keeps_raw(2));
            assert!(!p.scaled.keeps_raw(0) && !p.scaled.keeps_raw(1));
            let w = &p.test;
            let a = w.anchors[0];
            assert_eq!(w.raw_before(0, 0, 2), Some((a * 10 + 1) as f64));
            assert_eq!(w.raw_before(0, 1, 2), Some(((a - 1) * 10 + 1) as f64));
            assert_eq!(w.raw_after(0, 2, 2), Some(((a + 2) * 10 + 1) as f64));
            assert_eq!(w.raw_before(0, 0, 0), None);
            assert_eq!(w.raw_before(0, a + 1, 2), None);
        }
        assert_eq!(copied.scaled, owned.scaled);
        // Selecting columns carries the kept ones along.
        let sel = copied.scaled.select(&[2, 0]);
        assert!(sel.keeps_raw(0) && !sel.keeps_raw(1));
        assert_eq!(sel.raw_value(5, 0), Some(51.0));
    }

    #[test]
    fn duplicate_features_or_targets_are_refused() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let e = WindowSpec::new(3, 1, s(&["a", "a", "b"]), s(&["b"])).unwrap_err();
        assert!(
            matches!(&e, DataError::DuplicateColumn { list, column } if list == "features" && column == "a"),
            "{e}"
        );
        assert!(e.to_string().contains("\"a\""), "{e}");
        let e = WindowSpec::new(3, 1, s(&["a", "b"]), s(&["b", "b"])).unwrap_err();
        assert!(
            matches!(&e, DataError::DuplicateColumn { list, column } if list == "targets" && column == "b"),
            "{e}"
        );
        // A target missing from the features is still added to them.
        let spec = WindowSpec::new(3, 1, s(&["a", "b"]), s(&["c"])).unwrap();
        assert_eq!(spec.features, s(&["a", "b", "c"]));
        assert_eq!(spec.target_index, vec![2]);
    }

    proptest! {
        #[test]
        fn no_target_leaks_across_parts(n in 30usize..200, l in 1usize..8, h in 1usize..4, tr in 0.5f64..0.9, v in 0.0f64..0.3) {
            let fr = frame(n, 2);
            let spec = WindowSpec::new(l, h, vec!["c0".into(), "c1".into()], vec!["c0".into()]).unwrap();
            let split = SplitConfig { train: tr, validation: v };
            if let Ok(p) = prepare(&fr, &spec, &split, ScalerKind::Standard) {
                let b = p.bounds;
                for &a in &p.train.anchors { prop_assert!(a + h < b.val_start); prop_assert!(a + 1 >= l); }
                for &a in &p.validation.anchors { prop_assert!(a + 1 >= b.val_start && a + h < b.test_start); }
                for &a in &p.test.anchors { prop_assert!(a + 1 >= b.test_start && a + h < n); }
                prop_assert_eq!(p.train.all_x().len(), p.train.n * l * 2);
                prop_assert_eq!(p.test.y.len(), p.test.n * h);
                // window count: every anchor whose targets fit in the test part
                prop_assert_eq!(p.test.n, (n - b.test_start + 1).saturating_sub(h));
                // the scaler saw only training rows: min-max of the training part of c0
                let sc = Scaler::fit(ScalerKind::Standard, &spec.features, &fr.to_columns(), 0..b.val_start).unwrap();
                prop_assert_eq!(&sc.center, &p.scaler.center);
            }
        }
    }
}
