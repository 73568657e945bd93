//! Loading CSV and Parquet tables into a [`Frame`], with validation and missing-value policies.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// What to do with empty, NaN or infinite cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FillPolicy {
    /// Refuse the file, naming the first missing cell (the default).
    #[default]
    Error,
    /// Carry the last valid value forward; a leading gap takes the first valid value.
    Ffill,
    /// Linear interpolation between the nearest valid rows; edges take the nearest valid value.
    Interpolate,
    /// Drop every row that has a missing value in a selected column.
    Drop,
}

impl std::str::FromStr for FillPolicy {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "none" => Ok(Self::Error),
            "ffill" => Ok(Self::Ffill),
            "interpolate" => Ok(Self::Interpolate),
            "drop" => Ok(Self::Drop),
            _ => Err(DataError::InvalidConfig {
                name: "fill".into(),
                value: s.into(),
                reason: "expected error, ffill, interpolate or drop".into(),
            }),
        }
    }
}

impl std::fmt::Display for FillPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Ffill => "ffill",
            Self::Interpolate => "interpolate",
            Self::Drop => "drop",
        })
    }
}

/// How to load a table.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadOptions {
    /// The time column; `None` detects one (a column named date/time/timestamp/datetime/ds,
    /// or a first column whose values are dates).
    pub time_column: Option<String>,
    /// The value columns to keep, in this order; `None` keeps every column but the time column.
    pub columns: Option<Vec<String>>,
    /// Missing-value policy.
    pub fill: FillPolicy,
}

/// The time index of a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeIndex {
    /// Name of the time column in the file.
    pub column: String,
    /// One display label per row (ISO date, date-time, or number).
    pub labels: Vec<String>,
    /// Sort keys (seconds since 1970 for dates, the value itself for numbers).
    pub keys: Vec<f64>,
}

/// A validated table of numeric time series: rows are time steps, columns are variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Where the data came from (a path, or a name for in-memory data).
    pub source: PathBuf,
    /// The time index, when the table has one.
    pub time: Option<TimeIndex>,
    /// Names of the value columns.
    pub columns: Vec<String>,
    /// Values, one vector per column, all of the same length.
    pub values: Vec<Vec<f64>>,
}

impl Frame {
    /// Builds a frame from in-memory columns, validating shapes, finiteness and time order.
    pub fn from_columns(
        source: impl Into<PathBuf>,
        columns: Vec<String>,
        values: Vec<Vec<f64>>,
        time: Option<TimeIndex>,
    ) -> Result<Self> {
        let source = source.into();
        if columns.len() != values.len() {
            return Err(DataError::InvalidConfig {
                name: "columns".into(),
                value: columns.len().to_string(),
                reason: format!("{} names for {} value vectors", columns.len(), values.len()),
            });
        }
        let n = values.first().map_or(0, Vec::len);
        if n == 0 {
            return Err(DataError::Empty { path: source });
        }
        for (name, col) in columns.iter().zip(&values) {
            if col.len() != n {
                return Err(DataError::InvalidConfig {
                    name: format!("column {name:?}"),
                    value: col.len().to_string(),
                    reason: format!("has {} rows, expected {n}", col.len()),
                });
            }
            if let Some(row) = col.iter().position(|v| !v.is_finite()) {
                return Err(DataError::Missing {
                    path: source,
                    column: name.clone(),
                    row: row + 1,
                    what: describe_bad(col[row]).into(),
                });
            }
        }
        if let Some(t) = &time {
            if t.keys.len() != n || t.labels.len() != n {
                return Err(DataError::InvalidConfig {
                    name: "time".into(),
                    value: t.keys.len().to_string(),
                    reason: format!("time index has {} rows, expected {n}", t.keys.len()),
                });
            }
            check_order(&source, t)?;
        }
        Ok(Self {
            source,
            time,
            columns,
            values,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }

    /// Number of value columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// Index of a column by name, or an error listing the columns that exist.
    pub fn column_index(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| DataError::ColumnNotFound {
                path: self.source.clone(),
                column: name.to_string(),
                available: self.columns.join(", "),
            })
    }

    /// Display label of a row: its time stamp, or `#row` without a time column.
    pub fn label(&self, row: usize) -> String {
        match &self.time {
            Some(t) => t.labels[row].clone(),
            None => format!("#{row}"),
        }
    }

    /// First and last time labels.
    pub fn date_range(&self) -> (String, String) {
        (self.label(0), self.label(self.n_rows().saturating_sub(1)))
    }

    /// Keeps only the named columns, in the given order.
    pub fn select(&self, names: &[String]) -> Result<Self> {
        let mut columns = Vec::with_capacity(names.len());
        let mut values = Vec::with_capacity(names.len());
        for n in names {
            let i = self.column_index(n)?;
            columns.push(n.clone());
            values.push(self.values[i].clone());
        }
        Ok(Self {
            source: self.source.clone(),
            time: self.time.clone(),
            columns,
            values,
        })
    }
}

pub(crate) fn describe_bad(v: f64) -> &'static str {
    if v.is_nan() { "NaN" } else { "infinite" }
}

pub(crate) const TIME_NAMES: [&str; 6] = ["date", "time", "timestamp", "datetime", "ds", "period"];

/// Loads a CSV or Parquet file (chosen by extension: `.parquet`/`.pq` is Parquet, anything else CSV),
/// then validates it: a header, numeric value columns, a sorted unique time column, and the
/// missing-value policy.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Frame> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound {
            path: path.to_path_buf(),
        },
        _ => DataError::Unreadable {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    if meta.is_dir() {
        return Err(DataError::Unreadable {
            path: path.to_path_buf(),
            message: "is a directory".into(),
        });
    }
    if meta.len() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let is_parquet = matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("parquet" | "pq")
    );
    let unreadable = |e: PolarsError| DataError::Unreadable {
        path: path.to_path_buf(),
        message: first_line(&e.to_string()),
    };
    if !is_parquet {
        return crate::csv_load::load_csv(path, opts);
    }
    let file = std::fs::File::open(path).map_err(|e| DataError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let df = guard_panics(path, || ParquetReader::new(file).finish())?.map_err(unreadable)?;
    guard_panics(path, || frame_from_dataframe(path, &df, opts))?
}

/// Runs a third-party reader, turning a panic into an error naming the file. polars' Parquet
/// decoder panics on some malformed footers (found by `cargo fuzz run parquet_loader`); a damaged
/// file must give a one-line error, not a crash. The panic message is kept out of standard error
/// while the reader runs.
fn guard_panics<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(previous);
    result.map_err(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown failure".into());
        DataError::Unreadable {
            path: path.to_path_buf(),
            message: format!("not a valid Parquet file (the reader failed: {what})"),
        }
    })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

pub(crate) fn looks_numeric(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

/// Converts a polars [`DataFrame`] into a validated [`Frame`].
pub fn frame_from_dataframe(path: &Path, df: &DataFrame, opts: &LoadOptions) -> Result<Frame> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if df.height() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    check_header(path, &names)?;
    let not_found = |c: &str| DataError::ColumnNotFound {
        path: path.to_path_buf(),
        column: c.to_string(),
        available: names.join(", "),
    };
    let time_name = chosen_time_column(path, &names, opts, || detect_time_column(df, &names))?;
    let time = match &time_name {
        Some(t) => Some(read_time(path, df.column(t).map_err(|_| not_found(t))?, t)?),
        None => None,
    };
    let wanted = value_columns(path, &names, time_name.as_ref(), opts)?;
    let mut values = Vec::with_capacity(wanted.len());
    for w in &wanted {
        let col = df.column(w).map_err(|_| not_found(w))?;
        values.push(RawColumn::from_options(read_numeric(path, col, w)?));
    }
    finish(path, wanted, values, time, opts)
}

/// The time column a load uses: the one `opts` names ("none" or empty for none; an unknown name is
/// an error), else whatever `detect` finds.
pub(crate) fn chosen_time_column(
    path: &Path,
    names: &[String],
    opts: &LoadOptions,
    detect: impl FnOnce() -> Option<String>,
) -> Result<Option<String>> {
    match &opts.time_column {
        Some(t) if t.is_empty() || t.eq_ignore_ascii_case("none") => Ok(None),
        Some(t) if !names.contains(t) => Err(DataError::ColumnNotFound {
            path: path.to_path_buf(),
            column: t.clone(),
            available: names.join(", "),
        }),
        Some(t) => Ok(Some(t.clone())),
        None => Ok(detect()),
    }
}

/// A column whose name says it holds time (`TIME_NAMES`; "period" only as the first column, where
/// it is not numeric-looking text such as 1974Q1 in a second column).
pub(crate) fn time_named_column(names: &[String]) -> Option<String> {
    let n = names
        .iter()
        .find(|n| TIME_NAMES.contains(&n.to_ascii_lowercase().as_str()))?;
    (!n.eq_ignore_ascii_case("period") || names.first() == Some(n)).then(|| n.clone())
}

/// The value columns of a load: those `opts` names, else every column but the time column. None
/// at all is an error.
pub(crate) fn value_columns(
    path: &Path,
    names: &[String],
    time_name: Option<&String>,
    opts: &LoadOptions,
) -> Result<Vec<String>> {
    let wanted: Vec<String> = match &opts.columns {
        Some(c) => c.clone(),
        None => names
            .iter()
            .filter(|n| Some(*n) != time_name)
            .cloned()
            .collect(),
    };
    if wanted.is_empty() {
        return Err(DataError::InvalidConfig {
            name: "columns".into(),
            value: "(none)".into(),
            reason: format!(
                "{}: no value columns besides the time column",
                path.display()
            ),
        });
    }
    Ok(wanted)
}

/// Checks that the first line is a header: a header made of numbers or starting with a date means
/// the first data row was taken as the header.
pub(crate) fn check_header(path: &Path, names: &[String]) -> Result<()> {
    let value_like = |n: &String| {
        let base = n.split("_duplicated_").next().unwrap_or(n);
        looks_numeric(base) || parse_time(base).is_some()
    };
    if !names.is_empty() && (names.iter().all(value_like) || parse_time(&names[0]).is_some()) {
        return Err(DataError::NoHeader {
            path: path.to_path_buf(),
            name: names[0].clone(),
        });
    }
    Ok(())
}

/// A numeric column as read: NaN marks a missing cell; the first missing cell is remembered with
/// what it was (`empty`, `NaN`, `infinite`).
#[derive(Debug, Clone, Default)]
pub(crate) struct RawColumn {
    pub(crate) values: Vec<f64>,
    pub(crate) first_missing: Option<(usize, &'static str)>,
}

impl RawColumn {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            values: Vec::with_capacity(n),
            first_missing: None,
        }
    }

    /// Appends a cell (`None` = empty).
    pub(crate) fn push(&mut self, v: Option<f64>) {
        let x = match v {
            Some(x) if x.is_finite() => x,
            Some(x) => {
                if self.first_missing.is_none() {
                    self.first_missing = Some((self.values.len(), describe_bad(x)));
                }
                f64::NAN
            }
            None => {
                if self.first_missing.is_none() {
                    self.first_missing = Some((self.values.len(), "empty"));
                }
                f64::NAN
            }
        };
        self.values.push(x);
    }

    fn from_options(v: Vec<Option<f64>>) -> Self {
        let mut c = Self::with_capacity(v.len());
        for x in v {
            c.push(x);
        }
        c
    }
}

/// Applies the missing-value policy to raw columns and checks the time order.
pub(crate) fn finish(
    path: &Path,
    wanted: Vec<String>,
    values: Vec<RawColumn>,
    time: Option<TimeIndex>,
    opts: &LoadOptions,
) -> Result<Frame> {
    let n = values.first().map_or(0, |c| c.values.len());
    if n == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(wanted.len());
    let mut keep: Option<Vec<bool>> = None;
    for (name, col) in wanted.iter().zip(values) {
        match opts.fill {
            FillPolicy::Error => {
                if let Some((row, what)) = col.first_missing {
                    return Err(DataError::Missing {
                        path: path.to_path_buf(),
                        column: name.clone(),
                        row: row + 1,
                        what: what.into(),
                    });
                }
                out.push(col.values);
            }
            FillPolicy::Drop => {
                if col.first_missing.is_some() {
                    let k = keep.get_or_insert_with(|| vec![true; n]);
                    for (k, v) in k.iter_mut().zip(&col.values) {
                        if !v.is_finite() {
                            *k = false;
                        }
                    }
                }
                out.push(col.values);
            }
            FillPolicy::Ffill | FillPolicy::Interpolate => {
                if col.first_missing.is_none() {
                    out.push(col.values);
                    continue;
                }
                let Some(first) = col.values.iter().position(|v| v.is_finite()) else {
                    return Err(DataError::Unfillable {
                        path: path.to_path_buf(),
                        column: name.clone(),
                        row: 1,
                        policy: opts.fill.to_string(),
                    });
                };
                out.push(fill(
                    &col.values,
                    first,
                    opts.fill == FillPolicy::Interpolate,
                ));
            }
        }
    }
    let mut time = time;
    if let Some(keep) = keep {
        for col in &mut out {
            let mut it = keep.iter();
            col.retain(|_| *it.next().unwrap_or(&false));
        }
        if let Some(t) = &mut time {
            let mut it = keep.iter();
            t.labels.retain(|_| *it.next().unwrap_or(&false));
            let mut it = keep.iter();
            t.keys.retain(|_| *it.next().unwrap_or(&false));
        }
        if out[0].is_empty() {
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
        values: out,
    })
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

fn detect_time_column(df: &DataFrame, names: &[String]) -> Option<String> {
    if let Some(n) = time_named_column(names) {
        return Some(n);
    }
    let first = names.first()?;
    let col = df.column(first).ok()?;
    match col.dtype() {
        DataType::Date | DataType::Datetime(_, _) => Some(first.clone()),
        DataType::String => {
            let ca = col.str().ok()?;
            let v = ca.iter().flatten().next()?;
            (!looks_numeric(v) && parse_time(v).is_some()).then(|| first.clone())
        }
        _ => None,
    }
}

/// Parses a time stamp: ISO dates and date-times (with `T` or space, optional fraction and
/// offset), `YYYY/MM/DD`, `YYYY-MM`, `DD.MM.YYYY`.
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%m/%d/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d);
        }
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.naive_utc());
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    None
}

pub(crate) fn format_time(t: &NaiveDateTime) -> String {
    if t.time() == chrono::NaiveTime::MIN {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

fn read_time(path: &Path, col: &Column, name: &str) -> Result<TimeIndex> {
    let n = col.len();
    let mut labels = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let bad = |row: usize, value: String| DataError::BadTimestamp {
        path: path.to_path_buf(),
        column: name.to_string(),
        row,
        value,
    };
    match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| bad(0, e.to_string()))?;
            let numeric = ca.iter().flatten().next().is_some_and(looks_numeric);
            for (i, v) in ca.iter().enumerate() {
                let v = v.ok_or_else(|| bad(i + 1, String::new()))?;
                if numeric {
                    let x: f64 = v.trim().parse().map_err(|_| bad(i + 1, v.to_string()))?;
                    labels.push(v.trim().to_string());
                    keys.push(x);
                } else {
                    let t = parse_time(v).ok_or_else(|| bad(i + 1, v.to_string()))?;
                    labels.push(format_time(&t));
                    keys.push(t.and_utc().timestamp() as f64);
                }
            }
        }
        DataType::Date | DataType::Datetime(_, _) => {
            let target = DataType::Datetime(TimeUnit::Milliseconds, None);
            let c = col.cast(&target).map_err(|e| bad(0, e.to_string()))?;
            let phys = c.to_physical_repr();
            let ca = phys.i64().map_err(|e| bad(0, e.to_string()))?;
            for (i, v) in ca.iter().enumerate() {
                let ms = v.ok_or_else(|| bad(i + 1, String::new()))?;
                let t = DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| bad(i + 1, ms.to_string()))?
                    .naive_utc();
                labels.push(format_time(&t));
                keys.push(ms as f64 / 1000.0);
            }
        }
        dt if dt.is_primitive_numeric() => {
            let c = col
                .cast(&DataType::Float64)
                .map_err(|e| bad(0, e.to_string()))?;
            let ca = c.f64().map_err(|e| bad(0, e.to_string()))?;
            for (i, v) in ca.iter().enumerate() {
                let x = v
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(i + 1, format!("{v:?}")))?;
                labels.push(format!("{x}"));
                keys.push(x);
            }
        }
        dt => return Err(bad(1, format!("<{dt}>"))),
    }
    Ok(TimeIndex {
        column: name.to_string(),
        labels,
        keys,
    })
}

fn read_numeric(path: &Path, col: &Column, name: &str) -> Result<Vec<Option<f64>>> {
    match col.dtype() {
        DataType::String => {
            let ca = col.str().map_err(|e| DataError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            let mut out = Vec::with_capacity(ca.len());
            for (i, v) in ca.iter().enumerate() {
                match v.map(str::trim) {
                    None | Some("") => out.push(None),
                    Some(s) => match parse_number(s) {
                        Some(x) => out.push(Some(x)),
                        None => {
                            return Err(DataError::NonNumeric {
                                path: path.to_path_buf(),
                                column: name.to_string(),
                                row: i + 1,
                                value: s.to_string(),
                            });
                        }
                    },
                }
            }
            Ok(out)
        }
        dt if dt.is_primitive_numeric() || matches!(dt, DataType::Boolean) => {
            let c = col
                .cast(&DataType::Float64)
                .map_err(|e| DataError::Unreadable {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
            let ca = c.f64().map_err(|e| DataError::Unreadable {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            Ok(ca.iter().collect())
        }
        dt => Err(DataError::NonNumeric {
            path: path.to_path_buf(),
            column: name.to_string(),
            row: 1,
            value: format!("<{dt}>"),
        }),
    }
}

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" | "na" | "n/a" | "null" => Some(f64::NAN),
        _ => s.parse::<f64>().ok(),
    }
}

pub(crate) fn check_order(path: &Path, t: &TimeIndex) -> Result<()> {
    for i in 1..t.keys.len() {
        if t.keys[i] == t.keys[i - 1] {
            return Err(DataError::Duplicate {
                path: path.to_path_buf(),
                column: t.column.clone(),
                row: i + 1,
                value: t.labels[i].clone(),
            });
        }
        if t.keys[i] < t.keys[i - 1] {
            return Err(DataError::Unsorted {
                path: path.to_path_buf(),
                column: t.column.clone(),
                row: i + 1,
                value: t.labels[i].clone(),
                previous: t.labels[i - 1].clone(),
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

    #[test]
    fn parses_common_time_formats() {
        assert!(parse_time("2020-01-31").is_some());
        assert!(parse_time("2020-01-31 12:00:00").is_some());
        assert!(parse_time("2020-01-31T12:00:00Z").is_some());
        assert!(parse_time("2020-01").is_some());
        assert!(parse_time("hello").is_none());
    }
}
