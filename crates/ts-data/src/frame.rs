//! The [`Frame`]: a validated table of time series (a time index and numeric columns), with the
//! options a load takes ([`LoadOptions`], [`FillPolicy`]) and time-stamp parsing.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
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
    /// Whether some key has a time of day (a fraction of a day, for a dated index): every date
    /// label then shows one, midnight included (`2020-01-02 00:00:00`, not `2020-01-02`), so that
    /// a column of them has one form.
    #[serde(default)]
    clock: bool,
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

/// Whether a date key (seconds since 1970) falls after midnight.
fn has_clock(key: f64) -> bool {
    key.rem_euclid(86_400.0) != 0.0
}

/// A date key (seconds since 1970) printed as [`format_time`] prints the time stamp.
fn date_label(key: f64) -> String {
    date_label_as(key, false)
}

/// A date key printed as [`time_label`] prints it.
fn date_label_as(key: f64, clock: bool) -> String {
    DateTime::from_timestamp(key.floor() as i64, 0)
        .map(|t| time_label(&t.naive_utc(), clock))
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
            Labels::Dates if self.clock => date_label_as(key, true),
            other => other.derived(key).unwrap_or_default(),
        }
    }

    /// Whether the time stamps are dates some of which have a time of day (hourly data, say):
    /// labels of such an index, and of the rows after it, always show the time.
    pub fn has_clock_times(&self) -> bool {
        self.clock && self.is_dates()
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
        let clock = self.keys.iter().any(|k| has_clock(*k));
        TimeIndex {
            column: self.column,
            keys: self.keys,
            labels: self.labels,
            clock,
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
    pub(crate) values: Series,
    /// Number of rows (kept when the values are taken).
    pub(crate) rows: usize,
    /// What the missing-value policy did to the file's missing cells (empty when it had none).
    pub missing: MissingFilled,
}

/// What the missing-value policy ([`FillPolicy`]) did when a table was loaded: the cells it
/// filled per column and the rows it dropped. Filled values are read as if the file held them
/// (a filled target value is scored as an actual).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingFilled {
    /// The policy (`ffill`, `interpolate` or `drop`; empty when nothing was missing).
    pub policy: String,
    /// Cells filled per column, in column order, for the columns that had any.
    pub filled: Vec<(String, usize)>,
    /// Rows dropped (`drop`).
    pub dropped_rows: usize,
}

impl MissingFilled {
    /// Whether the table had no missing cell.
    pub fn is_empty(&self) -> bool {
        self.filled.is_empty() && self.dropped_rows == 0
    }
}

impl std::fmt::Display for MissingFilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dropped_rows > 0 {
            let s = if self.dropped_rows == 1 { "" } else { "s" };
            return write!(
                f,
                "{} row{s} with a missing value dropped ({})",
                self.dropped_rows, self.policy
            );
        }
        let cells: usize = self.filled.iter().map(|(_, n)| n).sum();
        let s = if cells == 1 { "" } else { "s" };
        let per: Vec<String> = self
            .filled
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        write!(
            f,
            "{cells} missing cell{s} filled ({}): {}; filled values are read, and a target's \
             scored, as if the file held them",
            self.policy,
            per.join(", ")
        )
    }
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
            crate::validate::check_order(&source, t)?;
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
            missing: MissingFilled::default(),
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
            .ok_or_else(|| match &self.time {
                Some(t) if t.column == name => DataError::TimeColumnAsValue {
                    path: self.source.clone(),
                    column: name.to_string(),
                    available: self.columns.join(", "),
                },
                _ => DataError::ColumnNotFound {
                    path: self.source.clone(),
                    column: name.to_string(),
                    available: self.columns.join(", "),
                },
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
            missing: MissingFilled {
                filled: self
                    .missing
                    .filled
                    .iter()
                    .filter(|(c, _)| names.contains(c))
                    .cloned()
                    .collect(),
                ..self.missing.clone()
            },
        })
    }
}

pub(crate) fn describe_bad(v: f64) -> &'static str {
    if v.is_nan() { "NaN" } else { "infinite" }
}

/// Parses a time stamp: ISO dates and date-times (with `T` or space, optional fraction and
/// offset), `YYYY/MM/DD`, `YYYY-MM`, `DD.MM.YYYY`, quarters and months (`1974Q1`, `1974-Q1`,
/// `1980M01`, `Jan 1980`: their first day), and dates whose year comes last after a day
/// and a month given as numbers (`MM/DD/YYYY`, `DD/MM/YYYY`, also with `-`, and an optional
/// `HH:MM[:SS]`): month first where both readings are dates, as in `01/02/2020` (see
/// [`DayMonthOrder`]; a time column is read in one order for all its rows).
pub fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return d.and_hms_opt(0, 0, 0);
        }
    }
    if is_day_month_date(s) {
        return parse_day_month(s, DayMonthOrder::MonthFirst)
            .or_else(|| parse_day_month(s, DayMonthOrder::DayFirst));
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
    for f in [
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, f) {
            return Some(d.naive_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    period_start(s)
}

/// The first day of a period written as a year and a quarter or month: `1974Q1`, `1974-Q1`,
/// `1974 Q1`, `1980M01`, `1980M1` (statistics offices' forms), `Jan 1980`, `January 1980`.
fn period_start(s: &str) -> Option<NaiveDateTime> {
    let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1)?.and_hms_opt(0, 0, 0);
    let year = s.get(..4).filter(|y| y.bytes().all(|b| b.is_ascii_digit()));
    if let Some(y) = year.and_then(|y| y.parse::<i32>().ok()) {
        let rest = s[4..].trim_start_matches(['-', ' ']);
        let number = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit());
        if let Some(q) = rest
            .strip_prefix(['Q', 'q'])
            .filter(|q| q.len() == 1 && number(q))
        {
            let q: u32 = q.parse().ok()?;
            return (1..=4).contains(&q).then(|| first(y, 3 * q - 2)).flatten();
        }
        if let Some(m) = rest.strip_prefix(['M', 'm']).filter(|m| number(m)) {
            return first(y, m.parse().ok()?);
        }
        return None;
    }
    let s = format!("1 {s}");
    ["%d %b %Y", "%d %B %Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(&s, f).ok())?
        .and_hms_opt(0, 0, 0)
}

/// Which of the two leading numbers of a date such as `01/02/2020` is the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayMonthOrder {
    /// `MM/DD/YYYY` (the United States).
    MonthFirst,
    /// `DD/MM/YYYY` (most of the rest of the world).
    DayFirst,
}

/// Whether `s` is a date of two numbers of one or two digits and a four-digit year, separated by
/// `/` or `-` (`1/2/2020`, `31-12-2020`), optionally followed by a space and a time.
pub(crate) fn is_day_month_date(s: &str) -> bool {
    let date = s.trim().split(' ').next().unwrap_or("");
    let Some(sep) = date.chars().find(|c| *c == '/' || *c == '-') else {
        return false;
    };
    let digits = |p: Option<&str>, lo: usize, hi: usize| {
        p.is_some_and(|p| (lo..=hi).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let mut parts = date.split(sep);
    digits(parts.next(), 1, 2)
        && digits(parts.next(), 1, 2)
        && digits(parts.next(), 4, 4)
        && parts.next().is_none()
}

/// Parses a date of [`is_day_month_date`]'s shape in one reading; `None` when it is no date in
/// that reading (a month above 12, a 31st of April).
pub(crate) fn parse_day_month(s: &str, order: DayMonthOrder) -> Option<NaiveDateTime> {
    let s = s.trim();
    let sep = if s.split(' ').next().unwrap_or("").contains('/') {
        '/'
    } else {
        '-'
    };
    let (a, b) = match order {
        DayMonthOrder::MonthFirst => ("%m", "%d"),
        DayMonthOrder::DayFirst => ("%d", "%m"),
    };
    let date = format!("{a}{sep}{b}{sep}%Y");
    if let Ok(d) = NaiveDate::parse_from_str(s, &date) {
        return d.and_hms_opt(0, 0, 0);
    }
    ["%H:%M:%S", "%H:%M"]
        .iter()
        .find_map(|t| NaiveDateTime::parse_from_str(s, &format!("{date} {t}")).ok())
}

/// Reads a time column given as text, one value at a time, into a [`TimeBuilder`]. Dates such as
/// `01/02/2020` are read in one order for the whole column: while both readings parse every
/// value so far, both are kept; a value that only one of them parses (`13/02/2020`) decides. If
/// both parse every value, the reading whose time stamps are in order and whose steps are the
/// most regular (the smallest ratio of the longest to the shortest step) is taken, month first
/// on a tie: `01/01/1980, 01/02/1980, …, 01/12/1980, 01/01/1981` is monthly, not twelve days
/// and a jump.
pub(crate) struct TextTimes {
    /// The readings still open, each with the values read in it (for two-number dates).
    pending: Option<[Option<Vec<NaiveDateTime>>; 2]>,
}

impl TextTimes {
    /// A reader before its first value.
    pub(crate) fn new() -> Self {
        Self { pending: None }
    }

    /// Reads one value (a row); `false` when it is no time stamp in any reading still open.
    pub(crate) fn push(&mut self, v: &str, b: &mut TimeBuilder) -> bool {
        if self.pending.is_none() && b.keys.is_empty() && is_day_month_date(v) {
            self.pending = Some([Some(Vec::new()), Some(Vec::new())]);
        }
        let Some(readings) = self.pending.as_mut() else {
            return match parse_time(v) {
                Some(t) => {
                    b.push_time(&t);
                    true
                }
                None => false,
            };
        };
        let orders = [DayMonthOrder::MonthFirst, DayMonthOrder::DayFirst];
        let two_numbers = is_day_month_date(v);
        for (reading, order) in readings.iter_mut().zip(orders) {
            let t = if two_numbers {
                parse_day_month(v, order)
            } else {
                parse_time(v)
            };
            match (reading.as_mut(), t) {
                (Some(times), Some(t)) => times.push(t),
                (Some(_), None) => *reading = None,
                (None, _) => {}
            }
        }
        readings.iter().any(Option::is_some)
    }

    /// Writes the rows kept back into `b` in the chosen reading.
    pub(crate) fn finish(self, b: &mut TimeBuilder) {
        let Some([month_first, day_first]) = self.pending else {
            return;
        };
        let times = match (month_first, day_first) {
            (Some(m), Some(d)) => {
                if day_month_choice(&m, &d) == DayMonthOrder::DayFirst {
                    d
                } else {
                    m
                }
            }
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => return,
        };
        for t in &times {
            b.push_time(t);
        }
    }
}

/// The reading to keep when both parse every value (see [`TextTimes`]).
fn day_month_choice(month_first: &[NaiveDateTime], day_first: &[NaiveDateTime]) -> DayMonthOrder {
    let sorted = |t: &[NaiveDateTime]| t.windows(2).all(|w| w[0] <= w[1]);
    let irregularity = |t: &[NaiveDateTime]| {
        let steps: Vec<i64> = t
            .windows(2)
            .map(|w| (w[1] - w[0]).num_seconds())
            .filter(|&s| s > 0)
            .collect();
        match (steps.iter().min(), steps.iter().max()) {
            (Some(&lo), Some(&hi)) => hi as f64 / lo as f64,
            _ => 1.0,
        }
    };
    match (sorted(month_first), sorted(day_first)) {
        (false, true) => DayMonthOrder::DayFirst,
        (true, false) => DayMonthOrder::MonthFirst,
        _ if irregularity(day_first) < irregularity(month_first) => DayMonthOrder::DayFirst,
        _ => DayMonthOrder::MonthFirst,
    }
}

pub(crate) fn format_time(t: &NaiveDateTime) -> String {
    time_label(t, false)
}

/// A time stamp as tsf prints it: `2020-01-02` at midnight unless `clock` (the column has times
/// of day, see [`TimeIndex::has_clock_times`]), else `2020-01-02 06:30:00`.
pub fn time_label(t: &NaiveDateTime, clock: bool) -> String {
    if t.time() == chrono::NaiveTime::MIN && !clock {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_time_formats() {
        assert!(parse_time("2020-01-31").is_some());
        assert!(parse_time("2020-01-31 12:00:00").is_some());
        assert!(parse_time("2020-01-31T12:00:00Z").is_some());
        assert!(parse_time("2020-01").is_some());
        assert!(parse_time("hello").is_none());
    }

    #[test]
    fn day_month_dates_parse_in_the_order_their_numbers_allow() {
        let day = |s: &str| parse_time(s).map(|t| format_time(&t));
        assert_eq!(day("01/02/2020").as_deref(), Some("2020-01-02"));
        assert_eq!(day("13/02/2020").as_deref(), Some("2020-02-13"));
        assert_eq!(day("2/13/2020").as_deref(), Some("2020-02-13"));
        assert_eq!(
            day("31-12-2020 23:59").as_deref(),
            Some("2020-12-31 23:59:00")
        );
        assert_eq!(day("13/13/2020"), None);
        assert_eq!(
            day("2021-10-31 02:00:00+0100").as_deref(),
            Some("2021-10-31 01:00:00")
        );
        assert_eq!(
            day("2021-10-31T02:00:00.5+0200")
                .map(|d| d[..16].to_string())
                .as_deref(),
            Some("2021-10-31 00:00")
        );
        assert_eq!(day("1974Q1").as_deref(), Some("1974-01-01"));
        assert_eq!(day("1974-Q4").as_deref(), Some("1974-10-01"));
        assert_eq!(day("1974 q2").as_deref(), Some("1974-04-01"));
        assert_eq!(day("1974Q5"), None);
        assert_eq!(day("1980M01").as_deref(), Some("1980-01-01"));
        assert_eq!(day("1980M12").as_deref(), Some("1980-12-01"));
        assert_eq!(day("1980M13"), None);
        assert_eq!(day("Jan 1980").as_deref(), Some("1980-01-01"));
        assert_eq!(day("September 1980").as_deref(), Some("1980-09-01"));
        assert_eq!(day("Foo 1980"), None);
        assert_eq!(day("1980"), None);
        assert_eq!(day("31/04/2020"), None);
        assert!(!is_day_month_date("2020/01/02"));
        assert!(!is_day_month_date("1/2/20"));
        // Both orders parse every value: the sorted, regular one is taken (`t` reads month
        // first; each pair below is one column's month-first and day-first reading).
        let t = |s: &str| parse_day_month(s, DayMonthOrder::MonthFirst).unwrap();
        let days = [t("01/01/2020"), t("01/02/2020"), t("01/03/2020")];
        let months = [t("01/01/2020"), t("02/01/2020"), t("03/01/2020")];
        assert_eq!(day_month_choice(&days, &months), DayMonthOrder::MonthFirst);
        let jump = [
            t("01/01/2020"),
            t("01/02/2020"),
            t("01/03/2020"),
            t("01/01/2021"),
        ];
        let months = [
            t("01/01/2020"),
            t("02/01/2020"),
            t("03/01/2020"),
            t("01/01/2021"),
        ];
        assert_eq!(day_month_choice(&jump, &months), DayMonthOrder::DayFirst);
        let unsorted = [t("02/01/2020"), t("01/02/2020")];
        let sorted = [t("01/02/2020"), t("02/01/2020")];
        assert_eq!(
            day_month_choice(&unsorted, &sorted),
            DayMonthOrder::DayFirst
        );
        assert_eq!(
            day_month_choice(&sorted, &unsorted),
            DayMonthOrder::MonthFirst
        );
        assert_eq!(day_month_choice(&days, &days), DayMonthOrder::MonthFirst);
    }
}
