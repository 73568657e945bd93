//! Per-column scalers fitted on the training rows only.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::error::{DataError, Result};
use crate::frame::{Frame, widen};
use crate::window::Series;

/// Which scaling to apply to every column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScalerKind {
    /// `(x - min) / (max - min)`: the training part maps to [0, 1] (the default).
    #[default]
    MinMax,
    /// `(x - mean) / std` (population standard deviation).
    Standard,
    /// `(x - median) / IQR` (interquartile range), robust to outliers.
    Robust,
}

impl std::str::FromStr for ScalerKind {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "minmax" | "min-max" | "min_max" => Ok(Self::MinMax),
            "standard" | "zscore" => Ok(Self::Standard),
            "robust" => Ok(Self::Robust),
            _ => Err(DataError::InvalidConfig {
                name: "scaler".into(),
                value: s.into(),
                reason: "expected minmax, standard or robust".into(),
            }),
        }
    }
}

/// A fitted scaler: `scaled = (x - center) / scale` per column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaler {
    /// The kind of scaling.
    pub kind: ScalerKind,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Per-column center (min, mean or median).
    pub center: Vec<f64>,
    /// Per-column scale (range, std or IQR); 1 for a constant column so that nothing becomes NaN.
    pub scale: Vec<f64>,
}

/// Center and scale of one column's training values.
fn fit_one(kind: ScalerKind, part: &[f64]) -> (f64, f64) {
    let (c, s) = match kind {
        ScalerKind::MinMax => {
            let min = part.iter().copied().fold(f64::INFINITY, f64::min);
            let max = part.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max - min)
        }
        ScalerKind::Standard => {
            let n = part.len() as f64;
            let mean = part.iter().sum::<f64>() / n;
            let var = part.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
            (mean, var.sqrt())
        }
        ScalerKind::Robust => {
            let mut s = part.to_vec();
            s.sort_by(f64::total_cmp);
            (quantile(&s, 0.5), quantile(&s, 0.75) - quantile(&s, 0.25))
        }
    };
    let s = if s.is_finite() && s > f64::EPSILON * c.abs().max(1.0) {
        s
    } else {
        1.0
    };
    (c, s)
}

/// The `q`-quantile of `sorted` (ascending, not empty) by linear interpolation between the
/// closest ranks (numpy's default); `q` = 0.5 is the median (the mean of the two middle values
/// for an even count).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

impl Scaler {
    /// Fits one scaler per column on `rows` (the training part) of each column (vectors or
    /// slices).
    pub fn fit<C: AsRef<[f64]>>(
        kind: ScalerKind,
        columns: &[String],
        values: &[C],
        rows: std::ops::Range<usize>,
    ) -> Result<Self> {
        Self::fit_parts(
            kind,
            columns,
            &rows,
            values
                .iter()
                .map(|col| Cow::Borrowed(&col.as_ref()[rows.clone()])),
        )
    }

    /// [`Scaler::fit`] on the columns `idx` of a frame (their values as [`Frame::column`] gives
    /// them), one column at a time.
    pub fn fit_frame(
        kind: ScalerKind,
        columns: &[String],
        frame: &Frame,
        idx: &[usize],
        rows: std::ops::Range<usize>,
    ) -> Result<Self> {
        Self::fit_parts(
            kind,
            columns,
            &rows,
            idx.iter()
                .map(|&c| Cow::Owned(rows.clone().map(|r| frame.value(r, c)).collect())),
        )
    }

    /// The fit of [`Scaler::fit`] and [`Scaler::fit_frame`]: one [`fit_one`] per part, each a
    /// column's training rows, taken one at a time.
    fn fit_parts<'a>(
        kind: ScalerKind,
        columns: &[String],
        rows: &std::ops::Range<usize>,
        parts: impl Iterator<Item = Cow<'a, [f64]>>,
    ) -> Result<Self> {
        if rows.is_empty() {
            return Err(DataError::TooFewRows {
                what: "scaler".into(),
                rows: 0,
                needed: "at least one training row to fit the scaler".into(),
            });
        }
        let (center, scale) = parts.map(|part| fit_one(kind, &part)).unzip();
        Ok(Self {
            kind,
            columns: columns.to_vec(),
            center,
            scale,
        })
    }

    /// Scales one value of column `col`.
    pub fn transform_value(&self, col: usize, x: f64) -> f64 {
        (x - self.center[col]) / self.scale[col]
    }

    /// Maps a scaled value of column `col` back to original units.
    pub fn inverse_value(&self, col: usize, x: f64) -> f64 {
        x * self.scale[col] + self.center[col]
    }

    /// Scales whole columns (one vector per column, in this scaler's column order).
    pub fn transform<C: AsRef<[f64]>>(&self, values: &[C]) -> Vec<Vec<f32>> {
        values
            .iter()
            .enumerate()
            .map(|(c, col)| {
                col.as_ref()
                    .iter()
                    .map(|&x| self.transform_value(c, x) as f32)
                    .collect()
            })
            .collect()
    }

    /// Scales whole columns into one row-major matrix `[rows, columns]` (the layout windows
    /// read from); the values equal [`Scaler::transform`]'s.
    pub fn transform_rows<C: AsRef<[f64]>>(&self, values: &[C]) -> Vec<f32> {
        let n = values.first().map_or(0, |c| c.as_ref().len());
        let f = values.len();
        let mut out = vec![0.0f32; n * f];
        for (c, col) in values.iter().enumerate() {
            for (r, &x) in col.as_ref().iter().enumerate() {
                out[r * f + c] = self.transform_value(c, x) as f32;
            }
        }
        out
    }

    /// Scales the columns `idx` of a frame's `f32` values (see [`widen`]) into a new row-major
    /// matrix, column `k` of the result through this scaler's column `k`; the values equal
    /// [`Scaler::transform_rows`] on the same columns as `f64`. The result keeps the unscaled
    /// values of the result's columns `keep_raw` (positions in `idx`; the targets, see
    /// [`Series::keep_raw`]).
    pub fn transform_series(&self, values: &Series, idx: &[usize], keep_raw: &[usize]) -> Series {
        let mut data = Vec::with_capacity(values.rows() * idx.len());
        for r in 0..values.rows() {
            let row = values.row(r);
            data.extend(
                idx.iter()
                    .enumerate()
                    .map(|(k, &c)| self.transform_value(k, widen(row[c])) as f32),
            );
        }
        let mut out = Series::from_rows(data, values.rows(), idx.len());
        for &k in keep_raw {
            out.keep_raw(k, values.column(idx[k]));
        }
        out
    }

    /// [`Scaler::transform_series`] in place: the result reuses `values`' buffer (the columns
    /// `keep_raw` are copied first).
    pub fn transform_series_in_place(
        &self,
        values: Series,
        idx: &[usize],
        keep_raw: &[usize],
    ) -> Series {
        let raw: Vec<(usize, Vec<f32>)> = keep_raw
            .iter()
            .map(|&k| (k, values.column(idx[k])))
            .collect();
        let mut out =
            values.select_map_in_place(idx, |k, x| self.transform_value(k, widen(x)) as f32);
        for (k, column) in raw {
            out.keep_raw(k, column);
        }
        out
    }

    /// Whether a column was constant over the fitted rows.
    pub fn is_constant(&self, col: usize, values: &[f64]) -> bool {
        values.windows(2).all(|w| w[0] == w[1]) && self.scale[col] == 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn constant_column_gives_no_nan() {
        for kind in [ScalerKind::MinMax, ScalerKind::Standard, ScalerKind::Robust] {
            let s = Scaler::fit(kind, &["a".into()], &[vec![5.0; 10]], 0..10).unwrap();
            let t = s.transform(&[vec![5.0; 10]]);
            assert!(t[0].iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn minmax_maps_training_part_to_unit_interval() {
        let v = vec![vec![2.0, 4.0, 6.0, 100.0]];
        let s = Scaler::fit(ScalerKind::MinMax, &["a".into()], &v, 0..3).unwrap();
        assert_eq!(s.transform(&v)[0], vec![0.0, 0.5, 1.0, 24.5]);
    }

    #[test]
    fn robust_uses_median_and_iqr() {
        let v = vec![vec![1.0, 2.0, 3.0, 4.0, 5.0]];
        let s = Scaler::fit(ScalerKind::Robust, &["a".into()], &v, 0..5).unwrap();
        assert_eq!(s.center[0], 3.0);
        assert_eq!(s.scale[0], 2.0);
    }

    proptest! {
        #[test]
        fn inverse_of_transform_is_identity(xs in proptest::collection::vec(-1e6f64..1e6, 2..50), k in 0usize..3) {
            let kind = [ScalerKind::MinMax, ScalerKind::Standard, ScalerKind::Robust][k];
            let s = Scaler::fit(kind, &["a".into()], std::slice::from_ref(&xs), 0..xs.len()).unwrap();
            for &x in &xs {
                let back = s.inverse_value(0, s.transform_value(0, x));
                prop_assert!((back - x).abs() <= 1e-9 * x.abs().max(1.0));
            }
        }
    }
}
