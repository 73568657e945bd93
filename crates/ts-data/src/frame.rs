//! Loading CSV and Parquet tables into a [`Frame`], with validation and missing-value policies.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};
use crate::window::Series;

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

/// The time index of a frame: one sort key and one display label per row.
///
/// Labels are not stored one string per row: where a label is what its key prints as (an ISO date
/// or date-time for dates, the number for numeric time columns), it is printed on demand from the
/// key; only labels that differ from that (say `1959.0` for the key 1959) are kept, as text in one
/// buffer. A million hourly time stamps cost their 8 MB of keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeIndex {
    /// Name of the time column in the file.
    pub column: String,
    /// Sort keys (seconds since 1970 for dates, the value itself for numbers).
    keys: Vec<f64>,
    /// How the display labels are kept.
    labels: Labels,
}

/// Display labels of a [`TimeIndex`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Labels {
    /// Each label is its key (seconds since 1970) printed by [`format_time`].
    Dates,
    /// Each label is its key printed as a number (`{}`).
    Numbers,
    /// Labels as text: label `i` is `text[ends[i - 1]..ends[i]]` (from 0 for the first).
    Text { text: String, ends: Vec<usize> },
}

/// A date key (seconds since 1970) printed as [`format_time`] prints the time stamp.
fn date_label(key: f64) -> String {
    DateTime::from_timestamp(key.floor() as i64, 0)
        .map(|t| format_time(&t.naive_utc()))
        .unwrap_or_else(|| format!("{key}"))
}

impl Labels {
    fn derived(&self, key: f64) -> Option<String> {
        match self {
            Self::Dates => Some(date_label(key)),
            Self::Numbers => Some(format!("{key}")),
            Self::Text { .. } => None,
        }
    }
}

impl TimeIndex {
    /// A time index from one label and one key per row.
    ///
    /// # Errors
    /// When `labels` and `keys` differ in length.
    pub fn new(
        column: impl Into<String>,
        labels: impl IntoIterator<Item = impl AsRef<str>>,
        keys: Vec<f64>,
    ) -> Result<Self> {
        let labels: Vec<String> = labels.into_iter().map(|l| l.as_ref().to_string()).collect();
        if labels.len() != keys.len() {
            return Err(DataError::InvalidConfig {
                name: "time".into(),
                value: labels.len().to_string(),
                reason: format!("{} labels for {} keys", labels.len(), keys.len()),
            });
        }
        let dates = labels.iter().zip(&keys).all(|(l, &k)| date_label(k) == *l);
        let mut b = TimeBuilder::with_kind(column.into(), dates, keys.len());
        for (l, &k) in labels.iter().zip(&keys) {
            b.push(k, l);
        }
        Ok(b.finish())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the index has no rows.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the keys are date-times (seconds since 1970) rather than plain numbers.
    pub fn is_dates(&self) -> bool {
        match &self.labels {
            Labels::Dates => true,
            Labels::Numbers => false,
            Labels::Text { .. } => !self.is_empty() && parse_time(&self.label(0)).is_some(),
        }
    }

    /// The sort keys, one per row.
    pub fn keys(&self) -> &[f64] {
        &self.keys
    }

    /// The display label of row `i` (ISO date, date-time, or number).
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn label(&self, i: usize) -> String {
        let key = self.keys[i];
        match &self.labels {
            Labels::Text { text, ends } => {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                text[start..ends[i]].to_string()
            }
            other => other.derived(key).unwrap_or_default(),
        }
    }

    /// Every label, in row order.
    pub fn labels(&self) -> impl Iterator<Item = String> + '_ {
        (0..self.len()).map(|i| self.label(i))
    }

    /// Keeps the rows whose `keep` entry is true.
    pub(crate) fn retain(&mut self, keep: &[bool]) {
        if let Labels::Text { text, ends } = &mut self.labels {
            let mut new_text = String::new();
            let mut new_ends = Vec::new();
            let mut start = 0;
            for (i, &end) in ends.iter().enumerate() {
                if keep.get(i).copied().unwrap_or(false) {
                    new_text.push_str(&text[start..end]);
                    new_ends.push(new_text.len());
                }
                start = end;
            }
            *text = new_text;
            *ends = new_ends;
        }
        let mut it = keep.iter();
        self.keys.retain(|_| *it.next().unwrap_or(&false));
    }
}

/// Builds a [`TimeIndex`] row by row, keeping label text only when a label is not what its key
/// prints as.
#[derive(Debug)]
pub(crate) struct TimeBuilder {
    column: String,
    keys: Vec<f64>,
    labels: Labels,
}

impl TimeBuilder {
    /// A builder for dates (`dates = true`: keys are seconds since 1970) or numbers.
    pub(crate) fn with_kind(column: String, dates: bool, capacity: usize) -> Self {
        Self::new(
            column,
            if dates {
                Labels::Dates
            } else {
                Labels::Numbers
            },
            capacity,
        )
    }

    fn new(column: String, labels: Labels, capacity: usize) -> Self {
        Self {
            column,
            keys: Vec::with_capacity(capacity),
            labels,
        }
    }

    /// Switches to text labels, printing the rows so far from their keys.
    fn switch_to_text(&mut self) {
        if matches!(self.labels, Labels::Text { .. }) {
            return;
        }
        let mut text = String::new();
        let mut ends = Vec::with_capacity(self.keys.capacity());
        for &k in &self.keys {
            text.push_str(&self.labels.derived(k).unwrap_or_default());
            ends.push(text.len());
        }
        self.labels = Labels::Text { text, ends };
    }

    /// Appends a row with its label.
    pub(crate) fn push(&mut self, key: f64, label: &str) {
        if let Some(d) = self.labels.derived(key)
            && d != label
        {
            self.switch_to_text();
        }
        self.keys.push(key);
        if let Labels::Text { text, ends } = &mut self.labels {
            text.push_str(label);
            ends.push(text.len());
        }
    }

    /// Appends a date row: key = whole seconds since 1970, label = [`format_time`].
    pub(crate) fn push_time(&mut self, t: &NaiveDateTime) {
        let key = t.and_utc().timestamp() as f64;
        if matches!(self.labels, Labels::Dates) && t.and_utc().timestamp_subsec_nanos() == 0 {
            // The label is what the key prints as.
            self.keys.push(key);
        } else {
            self.push(key, &format_time(t));
        }
    }

    /// The index.
    pub(crate) fn finish(mut self) -> TimeIndex {
        self.keys.shrink_to_fit();
        if let Labels::Text { text, ends } = &mut self.labels {
            text.shrink_to_fit();
            ends.shrink_to_fit();
        }
        TimeIndex {
            column: self.column,
            keys: self.keys,
            labels: self.labels,
        }
    }
}

/// The `f64` a stored `f32` value stands for: the shortest decimal that reads back as this `f32`
/// (what printing it shows). A value read from text with at most 7 significant digits (most data
/// has fewer) comes back exactly as the `f64` the text gives, so fitting and scaling on these
/// values give the same numbers as on the file's own.
pub fn widen(x: f32) -> f64 {
    if !x.is_finite() {
        return x as f64;
    }
    let mut buf = ryu::Buffer::new();
    buf.format_finite(x).parse().unwrap_or(x as f64)
}

/// A validated table of numeric time series: rows are time steps, columns are variables.
///
/// Values are stored once, as `f32`, row-major (`[rows, columns]`, the layout windows read);
/// [`Frame::column`] and [`Frame::value`] give them back as `f64` through [`widen`].
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Where the data came from (a path, or a name for in-memory data).
    pub source: PathBuf,
    /// The time index, when the table has one.
    pub time: Option<TimeIndex>,
    /// Names of the value columns.
    pub columns: Vec<String>,
    /// Values `[rows, columns]`, row-major; empty once [`Frame::take_values`] took them.
    values: Series,
    /// Number of rows (kept when the values are taken).
    rows: usize,
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
            if let Some(row) = col.iter().position(|v| !(*v as f32).is_finite()) {
                return Err(DataError::OutOfRange {
                    path: source,
                    column: name.clone(),
                    row: row + 1,
                    value: format!("{:e}", col[row]),
                });
            }
        }
        if let Some(t) = &time {
            if t.len() != n {
                return Err(DataError::InvalidConfig {
                    name: "time".into(),
                    value: t.len().to_string(),
                    reason: format!("time index has {} rows, expected {n}", t.len()),
                });
            }
            check_order(&source, t)?;
        }
        let f = values.len();
        let mut data = vec![0.0f32; n * f];
        for (c, col) in values.iter().enumerate() {
            for (r, &v) in col.iter().enumerate() {
                data[r * f + c] = v as f32;
            }
        }
        Ok(Self {
            source,
            time,
            columns,
            values: Series::from_rows(data, n, f),
            rows: n,
        })
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// Number of value columns.
    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    /// The values, `[rows, columns]` row-major `f32` (empty once [`Frame::take_values`] took
    /// them).
    pub fn values(&self) -> &Series {
        &self.values
    }

    /// Whether the frame still holds its values (see [`Frame::take_values`]).
    pub fn has_values(&self) -> bool {
        self.values.rows() == self.rows && self.values.features() == self.columns.len()
    }

    /// Moves the values out (for [`crate::prepare_owned`], which scales them in place rather than
    /// copying them). The frame keeps its source, time index, column names and row count, so
    /// that labels and summaries still work; reading a value afterwards panics.
    pub fn take_values(&mut self) -> Series {
        std::mem::take(&mut self.values)
    }

    /// Column `c` as `f64` values (see [`widen`]).
    ///
    /// # Panics
    /// If `c` is out of range or the values were taken.
    pub fn column(&self, c: usize) -> Vec<f64> {
        assert!(self.has_values(), "the frame's values were taken");
        let f = self.values.features();
        self.values
            .rows_slice(0, self.rows)
            .iter()
            .skip(c)
            .step_by(f)
            .map(|&v| widen(v))
            .collect()
    }

    /// Every column as `f64` values, in column order (see [`Frame::column`]).
    pub fn to_columns(&self) -> Vec<Vec<f64>> {
        (0..self.n_columns()).map(|c| self.column(c)).collect()
    }

    /// The value at `row` of column `c` (see [`widen`]).
    ///
    /// # Panics
    /// If either is out of range or the values were taken.
    pub fn value(&self, row: usize, c: usize) -> f64 {
        assert!(c < self.values.features(), "column {c} out of range");
        widen(self.values.row(row)[c])
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
            Some(t) => t.label(row),
            None => format!("#{row}"),
        }
    }

    /// First and last time labels.
    pub fn date_range(&self) -> (String, String) {
        (self.label(0), self.label(self.n_rows().saturating_sub(1)))
    }

    /// Keeps only the named columns, in the given order.
    pub fn select(&self, names: &[String]) -> Result<Self> {
        let idx: Vec<usize> = names
            .iter()
            .map(|n| self.column_index(n))
            .collect::<Result<_>>()?;
        assert!(self.has_values(), "the frame's values were taken");
        Ok(Self {
            source: self.source.clone(),
            time: self.time.clone(),
            columns: names.to_vec(),
            values: self.values.select(&idx),
            rows: self.rows,
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
    let bytes = std::fs::read(path).map_err(|e| DataError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    guard_panics(path, || {
        crate::parquet_check::check_page_headers(path, bytes)
    })??;
    let file = std::fs::File::open(path).map_err(|e| DataError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut reader = ParquetReader::new(file);
    let schema = guard_panics(path, || reader.schema())?.map_err(unreadable)?;
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let projection = parquet_projection(path, &names, opts)?;
    // polars panics on a type it was built without ("activate 'dtype-decimal' feature"), naming
    // no column: refuse such a column first, by name.
    for field in schema.iter_values() {
        let decoded = projection
            .as_ref()
            .is_none_or(|p| p.iter().any(|n| n.as_str() == field.name.as_str()));
        if decoded && !readable_parquet_type(&field.dtype) {
            return Err(DataError::UnsupportedType {
                path: path.to_path_buf(),
                column: field.name.to_string(),
                dtype: format!("{:?}", field.dtype),
            });
        }
    }
    let df =
        guard_panics(path, || reader.with_columns(projection).finish())?.map_err(unreadable)?;
    guard_panics(path, || frame_from_dataframe(path, &df, opts))?
}

/// Whether polars, as built here, decodes a Parquet column of this Arrow type into something
/// ts-data reads (numbers, booleans, strings, dates, date-times; an all-null column too, which is
/// then refused as missing values by name).
pub(crate) fn readable_parquet_type(dtype: &ArrowDataType) -> bool {
    use ArrowDataType as A;
    matches!(
        dtype,
        A::Null
            | A::Boolean
            | A::Int8
            | A::Int16
            | A::Int32
            | A::Int64
            | A::UInt8
            | A::UInt16
            | A::UInt32
            | A::UInt64
            | A::Float32
            | A::Float64
            | A::Utf8
            | A::LargeUtf8
            | A::Utf8View
            | A::Date32
            | A::Date64
            | A::Timestamp(_, _)
    )
}

/// The columns of a Parquet file a load needs, when `opts` names its value columns: those, the
/// time column `opts` names (else the one named like a time column, else the first column, which
/// detection looks at). Only these are decoded, so a file's other columns cost no memory and
/// may be of types ts-data does not read. `None` (decode every column) when `opts` names no value
/// columns. A named column the file lacks is an error listing every column the file has.
fn parquet_projection(
    path: &Path,
    names: &[String],
    opts: &LoadOptions,
) -> Result<Option<Vec<String>>> {
    let Some(wanted) = opts.columns.as_ref() else {
        return Ok(None);
    };
    let mut keep: Vec<String> = Vec::with_capacity(wanted.len() + 1);
    match &opts.time_column {
        Some(t) if t.is_empty() || t.eq_ignore_ascii_case("none") => {}
        Some(t) => keep.push(t.clone()),
        None => keep.extend(time_named_column(names).or_else(|| names.first().cloned())),
    }
    keep.extend(wanted.iter().cloned());
    if let Some(missing) = keep.iter().find(|k| !names.contains(k)) {
        return Err(DataError::ColumnNotFound {
            path: path.to_path_buf(),
            column: missing.clone(),
            available: names.join(", "),
        });
    }
    // In the file's order, each once.
    Ok(Some(
        names.iter().filter(|n| keep.contains(n)).cloned().collect(),
    ))
}

/// Runs a third-party reader, turning a panic into an error naming the file. polars' Parquet
/// decoder panics on some malformed footers (found by `cargo fuzz run parquet_loader`); a damaged
/// file must give a one-line error, not a crash. The panic message is kept out of standard error
/// while the reader runs.
pub(crate) fn guard_panics<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T> {
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

pub(crate) fn first_line(s: &str) -> String {
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
    let mut columns = Vec::with_capacity(wanted.len());
    for w in &wanted {
        let col = df.column(w).map_err(|_| not_found(w))?;
        columns.push(read_numeric(path, col, w)?);
    }
    finish(path, wanted, RawMatrix::from_columns(columns), time, opts)
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
    fn from_columns(columns: Vec<Vec<Option<f64>>>) -> Self {
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
    let mut data = raw.data;
    let mut keep: Option<Vec<bool>> = None;
    for (c, name) in wanted.iter().enumerate() {
        let Some((row, what)) = raw.first_missing[c] else {
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
                let filled = fill(&col, first, opts.fill == FillPolicy::Interpolate);
                for (r, v) in filled.into_iter().enumerate() {
                    data[r * f + c] = v as f32;
                }
            }
        }
    }
    let mut time = time;
    let mut rows = n;
    if let Some(keep) = keep {
        // Compact the kept rows to the front (row r moves to a row <= r).
        let mut w = 0;
        for (r, &k) in keep.iter().enumerate() {
            if k {
                data.copy_within(r * f..(r + 1) * f, w * f);
                w += 1;
            }
        }
        data.truncate(w * f);
        data.shrink_to_fit();
        rows = w;
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
            let mut b = TimeBuilder::with_kind(name.to_string(), !numeric, n);
            for (i, v) in ca.iter().enumerate() {
                let v = v.ok_or_else(|| bad(i + 1, String::new()))?;
                if numeric {
                    let x: f64 = v.trim().parse().map_err(|_| bad(i + 1, v.to_string()))?;
                    b.push(x, v.trim());
                } else {
                    let t = parse_time(v).ok_or_else(|| bad(i + 1, v.to_string()))?;
                    b.push_time(&t);
                }
            }
            Ok(b.finish())
        }
        DataType::Date | DataType::Datetime(_, _) => {
            let target = DataType::Datetime(TimeUnit::Milliseconds, None);
            let c = col.cast(&target).map_err(|e| bad(0, e.to_string()))?;
            let phys = c.to_physical_repr();
            let ca = phys.i64().map_err(|e| bad(0, e.to_string()))?;
            let mut b = TimeBuilder::with_kind(name.to_string(), true, n);
            for (i, v) in ca.iter().enumerate() {
                let ms = v.ok_or_else(|| bad(i + 1, String::new()))?;
                let t = DateTime::from_timestamp_millis(ms)
                    .ok_or_else(|| bad(i + 1, ms.to_string()))?
                    .naive_utc();
                b.push(ms as f64 / 1000.0, &format_time(&t));
            }
            Ok(b.finish())
        }
        dt if dt.is_primitive_numeric() => {
            let c = col
                .cast(&DataType::Float64)
                .map_err(|e| bad(0, e.to_string()))?;
            let ca = c.f64().map_err(|e| bad(0, e.to_string()))?;
            let mut b = TimeBuilder::with_kind(name.to_string(), false, n);
            for (i, v) in ca.iter().enumerate() {
                let x = v
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(i + 1, format!("{v:?}")))?;
                b.push(x, &format!("{x}"));
            }
            Ok(b.finish())
        }
        dt => Err(bad(1, format!("<{dt}>"))),
    }
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

    #[test]
    fn parses_common_time_formats() {
        assert!(parse_time("2020-01-31").is_some());
        assert!(parse_time("2020-01-31 12:00:00").is_some());
        assert!(parse_time("2020-01-31T12:00:00Z").is_some());
        assert!(parse_time("2020-01").is_some());
        assert!(parse_time("hello").is_none());
    }
}
