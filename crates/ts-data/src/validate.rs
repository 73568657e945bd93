//! Validation: the cells read by a loader become a [`Frame`] under the missing-value policy
//! ([`FillPolicy`]), with values checked to fit `f32` and the time column checked to be sorted and
//! unique.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::frame::{FillPolicy, Frame, LoadOptions, TimeIndex, describe_bad, widen};
use crate::window::Series;

/// Numeric cells as read, row-major `f32`: NaN marks a missing cell; per column, the first missing
/// cell is remembered with what it was (`empty`, `NaN`, `infinite`), and the first number too large
/// for `f32`.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawMatrix {
    data: Vec<f32>,
    cols: usize,
    first_missing: Vec<Option<(usize, &'static str)>>,
    first_out_of_range: Vec<Option<(usize, f64)>>,
}

impl RawMatrix {
    /// An empty matrix of `cols` columns with room for `rows` rows.
    pub(crate) fn new(cols: usize, rows: usize) -> Self {
        Self {
            data: Vec::with_capacity(rows.saturating_mul(cols)),
            cols,
            first_missing: vec![None; cols],
            first_out_of_range: vec![None; cols],
        }
    }

    /// Rows pushed so far (complete or not).
    pub(crate) fn rows(&self) -> usize {
        self.data.len().div_ceil(self.cols.max(1))
    }

    /// Appends the next cell in row-major order (`None` = empty).
    pub(crate) fn push(&mut self, v: Option<f64>) {
        let (row, col) = (self.data.len() / self.cols, self.data.len() % self.cols);
        let x = match v {
            Some(x) if x.is_finite() => {
                let y = x as f32;
                if !y.is_finite() {
                    self.first_out_of_range[col].get_or_insert((row, x));
                    f32::NAN
                } else {
                    y
                }
            }
            Some(x) => {
                self.first_missing[col].get_or_insert((row, describe_bad(x)));
                f32::NAN
            }
            None => {
                self.first_missing[col].get_or_insert((row, "empty"));
                f32::NAN
            }
        };
        self.data.push(x);
    }

    /// A matrix from columns of equal length.
    #[cfg(feature = "parquet")]
    pub(crate) fn from_columns(columns: Vec<Vec<Option<f64>>>) -> Self {
        let n = columns.first().map_or(0, Vec::len);
        let mut m = Self::new(columns.len(), n);
        for r in 0..n {
            for c in &columns {
                m.push(c[r]);
            }
        }
        m
    }

    pub(crate) fn shrink_to_fit(&mut self) {
        self.data.shrink_to_fit();
    }
}

/// Applies the missing-value policy to the raw cells and checks the time order.
pub(crate) fn finish(
    path: &Path,
    wanted: Vec<String>,
    raw: RawMatrix,
    time: Option<TimeIndex>,
    opts: &LoadOptions,
) -> Result<Frame> {
    let n = raw.rows();
    let f = wanted.len();
    if n == 0 || f == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    check_out_of_range(path, &wanted, &raw)?;
    let mut data = raw.data;
    let (keep, filled) = apply_fill(path, &wanted, &raw.first_missing, &mut data, n, opts)?;
    let mut time = time;
    let mut rows = n;
    let mut missing = crate::frame::MissingFilled {
        policy: if filled.is_empty() && keep.is_none() {
            String::new()
        } else {
            opts.fill.to_string()
        },
        filled,
        dropped_rows: 0,
    };
    if let Some(keep) = keep {
        rows = keep_rows(&mut data, &keep, f);
        missing.dropped_rows = n - rows;
        if let Some(t) = &mut time {
            t.retain(&keep);
        }
        if rows == 0 {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
            });
        }
    }
    if let Some(t) = &time {
        check_order(path, t)?;
    }
    Ok(Frame {
        source: path.to_path_buf(),
        time,
        columns: wanted,
        values: Series::from_rows(data, rows, f),
        rows,
        missing,
    })
}

/// The first column (in order) holding a number too large for `f32` is an error.
fn check_out_of_range(path: &Path, wanted: &[String], raw: &RawMatrix) -> Result<()> {
    if let Some((c, (row, x))) = raw
        .first_out_of_range
        .iter()
        .enumerate()
        .find_map(|(c, e)| e.map(|e| (c, e)))
    {
        return Err(DataError::OutOfRange {
            path: path.to_path_buf(),
            column: wanted[c].clone(),
            row: row + 1,
            value: format!("{x:e}"),
        });
    }
    Ok(())
}

/// Cells filled per column (name, count).
type FilledCells = Vec<(String, usize)>;

/// Applies `opts.fill` to each column of the `n` × `wanted.len()` row-major `data` that has a
/// missing cell (`first_missing`): an error, filled in place, or (for `Drop`) the rows to keep.
fn apply_fill(
    path: &Path,
    wanted: &[String],
    first_missing: &[Option<(usize, &'static str)>],
    data: &mut [f32],
    n: usize,
    opts: &LoadOptions,
) -> Result<(Option<Vec<bool>>, FilledCells)> {
    let f = wanted.len();
    let mut keep: Option<Vec<bool>> = None;
    let mut filled_cells = Vec::new();
    for (c, name) in wanted.iter().enumerate() {
        let Some((row, what)) = first_missing[c] else {
            continue;
        };
        match opts.fill {
            FillPolicy::Error => {
                return Err(DataError::Missing {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    row: row + 1,
                    what: what.into(),
                });
            }
            FillPolicy::Drop => {
                let k = keep.get_or_insert_with(|| vec![true; n]);
                for (r, k) in k.iter_mut().enumerate() {
                    if !data[r * f + c].is_finite() {
                        *k = false;
                    }
                }
            }
            FillPolicy::Ffill | FillPolicy::Interpolate => {
                let col: Vec<f64> = (0..n).map(|r| widen(data[r * f + c])).collect();
                let Some(first) = col.iter().position(|v| v.is_finite()) else {
                    return Err(DataError::Unfillable {
                        path: path.to_path_buf(),
                        column: name.clone(),
                        row: 1,
                        policy: opts.fill.to_string(),
                    });
                };
                filled_cells.push((name.clone(), col.iter().filter(|v| !v.is_finite()).count()));
                let filled = fill(&col, first, opts.fill == FillPolicy::Interpolate);
                for (r, v) in filled.into_iter().enumerate() {
                    data[r * f + c] = v as f32;
                }
            }
        }
    }
    Ok((keep, filled_cells))
}

/// Compacts the rows of `data` (`f` cells each) marked in `keep` to the front (row r moves to a
/// row <= r) and drops the rest; returns the rows kept.
fn keep_rows(data: &mut Vec<f32>, keep: &[bool], f: usize) -> usize {
    let mut w = 0;
    for (r, &k) in keep.iter().enumerate() {
        if k {
            data.copy_within(r * f..(r + 1) * f, w * f);
            w += 1;
        }
    }
    data.truncate(w * f);
    data.shrink_to_fit();
    w
}

/// Fills the non-finite cells of `col` (`first` is the first finite one).
fn fill(col: &[f64], first: usize, interpolate: bool) -> Vec<f64> {
    let clean = |i: usize| Some(col[i]).filter(|v| v.is_finite());
    let n = col.len();
    let mut out = vec![0.0; n];
    let first_val = col[first];
    let mut last: Option<(usize, f64)> = None;
    let mut i = 0;
    while i < n {
        match clean(i) {
            Some(v) => {
                out[i] = v;
                last = Some((i, v));
                i += 1;
            }
            None => {
                // gap from i to j-1
                let j = (i..n).find(|&k| clean(k).is_some()).unwrap_or(n);
                for (k, slot) in out.iter_mut().enumerate().take(j).skip(i) {
                    *slot = match (last, j < n) {
                        (None, _) => first_val,
                        (Some((_, lv)), false) => lv,
                        (Some((li, lv)), true) if interpolate => {
                            let rv = clean(j).unwrap_or(lv);
                            lv + (rv - lv) * (k - li) as f64 / (j - li) as f64
                        }
                        (Some((_, lv)), true) => lv,
                    };
                }
                i = j;
            }
        }
    }
    out
}

pub(crate) fn check_order(path: &Path, t: &TimeIndex) -> Result<()> {
    let keys = t.keys();
    for i in 1..keys.len() {
        if keys[i] == keys[i - 1] {
            return Err(DataError::Duplicate {
                path: path.to_path_buf(),
                column: t.column.clone(),
                row: i + 1,
                value: t.label(i),
            });
        }
        if keys[i] < keys[i - 1] {
            return Err(DataError::Unsorted {
                path: path.to_path_buf(),
                column: t.column.clone(),
                row: i + 1,
                value: t.label(i),
                previous: t.label(i - 1),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffill_and_interpolate() {
        let c = [f64::NAN, 1.0, f64::NAN, f64::INFINITY, 4.0, f64::NAN];
        assert_eq!(fill(&c, 1, false), vec![1.0, 1.0, 1.0, 1.0, 4.0, 4.0]);
        assert_eq!(fill(&c, 1, true), vec![1.0, 1.0, 2.0, 3.0, 4.0, 4.0]);
    }
}
