//! Group makers: label every row (time step) of a table with a group.
//!
//! - [`median_split`]: A = above the column's median (high), B = at or below it (low);
//! - [`cross`]: the cross of two median splits, A-D = high/high, high/low, low/high, low/low;
//! - [`eras`]: date eras from cut dates (A = before the first cut, ...);
//! - [`quantile_bins`]: `n` quantile bins of a column (Q1 lowest);
//! - [`Grouping::from_labels`]: an existing categorical column;
//! - [`SeedGrouping`]: the seed's five group columns on the FRED data (Economic, Inflation, Risk,
//!   Combined, Time).

use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use ts_data::{Frame, parse_time};

use crate::error::{FairnessError, Result, invalid};

/// One group of a grouping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// The label written into the group column (for example `A`).
    pub label: String,
    /// What the group means (for example `Federal Funds Rate > 3.02 (high)`).
    pub description: String,
    /// Rows in the group.
    pub count: usize,
    /// Share of all rows (0 to 1).
    pub share: f64,
}

/// A group label for every row of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grouping {
    /// Name of the group column (for example `Economic_Group`).
    pub name: String,
    /// How the groups were made.
    pub description: String,
    /// One label per row.
    pub labels: Vec<String>,
    /// The groups in display order, with their sizes.
    pub groups: Vec<GroupInfo>,
}

impl Grouping {
    /// A grouping whose groups are listed in `order` as `(label, description)`; every label must be
    /// one of them. Groups without rows are kept (count 0).
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        labels: Vec<String>,
        order: Vec<(String, String)>,
    ) -> Result<Self> {
        let name = name.into();
        let n = labels.len();
        let mut groups: Vec<GroupInfo> = order
            .into_iter()
            .map(|(label, description)| GroupInfo {
                label,
                description,
                count: 0,
                share: 0.0,
            })
            .collect();
        for (row, l) in labels.iter().enumerate() {
            match groups.iter_mut().find(|g| &g.label == l) {
                Some(g) => g.count += 1,
                None => {
                    return Err(FairnessError::Grouping {
                        grouping: name,
                        reason: format!("row {} has the unknown group label {l:?}", row + 1),
                    });
                }
            }
        }
        for g in &mut groups {
            g.share = if n == 0 {
                0.0
            } else {
                g.count as f64 / n as f64
            };
        }
        Ok(Self {
            name,
            description: description.into(),
            labels,
            groups,
        })
    }

    /// A grouping from existing labels (a categorical column); groups are sorted by label, as
    /// pandas' `groupby` does.
    pub fn from_labels(name: impl Into<String>, labels: Vec<String>) -> Result<Self> {
        let mut distinct: Vec<String> = labels.clone();
        distinct.sort();
        distinct.dedup();
        let name = name.into();
        let description = format!("the values of column {name:?}");
        let order = distinct
            .into_iter()
            .map(|l| (l.clone(), format!("{name} = {l}")))
            .collect();
        Self::new(name, description, labels, order)
    }

    /// The groups that have at least one row.
    pub fn non_empty(&self) -> impl Iterator<Item = &GroupInfo> {
        self.groups.iter().filter(|g| g.count > 0)
    }

    /// Index of each row's group in [`Grouping::groups`].
    pub fn indices(&self) -> Vec<usize> {
        self.labels
            .iter()
            .map(|l| {
                self.groups
                    .iter()
                    .position(|g| &g.label == l)
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Fails unless at least two groups have rows.
    pub fn require_two(&self) -> Result<()> {
        let mut it = self.non_empty();
        match (it.next(), it.next()) {
            (Some(_), Some(_)) => Ok(()),
            (Some(g), None) => Err(FairnessError::SingleGroup {
                grouping: self.name.clone(),
                group: g.label.clone(),
            }),
            _ => Err(FairnessError::Grouping {
                grouping: self.name.clone(),
                reason: "no rows".into(),
            }),
        }
    }
}

fn column(frame: &Frame, name: &str) -> Result<Vec<f64>> {
    let i = frame.column_index(name)?;
    Ok(frame.column(i))
}

/// The median as pandas computes it (the mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The `q`-quantile with linear interpolation (numpy's and pandas' default).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn fmt_num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.into()
    }
}

fn is_high(values: &[f64]) -> (f64, Vec<bool>) {
    let m = median(values);
    (m, values.iter().map(|v| *v > m).collect())
}

/// Median split of `column`: A = above the median (high), B = at or below it (low).
pub fn median_split(frame: &Frame, column_name: &str, name: &str) -> Result<Grouping> {
    let values = column(frame, column_name)?;
    let (m, high) = is_high(&values);
    let labels = high
        .iter()
        .map(|h| if *h { "A" } else { "B" }.to_string())
        .collect();
    let g = Grouping::new(
        name,
        format!("median split of {column_name:?} at {}", fmt_num(m)),
        labels,
        vec![
            ("A".into(), format!("{column_name} > {} (high)", fmt_num(m))),
            ("B".into(), format!("{column_name} <= {} (low)", fmt_num(m))),
        ],
    )?;
    g.require_two()?;
    Ok(g)
}

/// The cross of the median splits of two columns: A = high/high, B = high/low, C = low/high,
/// D = low/low (first column, then second).
pub fn cross(frame: &Frame, first: &str, second: &str, name: &str) -> Result<Grouping> {
    let (ma, ha) = is_high(&column(frame, first)?);
    let (mb, hb) = is_high(&column(frame, second)?);
    let labels = ha
        .iter()
        .zip(&hb)
        .map(|(a, b)| {
            match (a, b) {
                (true, true) => "A",
                (true, false) => "B",
                (false, true) => "C",
                (false, false) => "D",
            }
            .to_string()
        })
        .collect();
    let (a, b) = (fmt_num(ma), fmt_num(mb));
    let g = Grouping::new(
        name,
        format!("cross of the median splits of {first:?} (at {a}) and {second:?} (at {b})"),
        labels,
        vec![
            ("A".into(), format!("{first} high, {second} high")),
            ("B".into(), format!("{first} high, {second} low")),
            ("C".into(), format!("{first} low, {second} high")),
            ("D".into(), format!("{first} low, {second} low")),
        ],
    )?;
    g.require_two()?;
    Ok(g)
}

/// Date eras: `cuts` are dates (any format [`ts_data::parse_time`] reads), in increasing order;
/// group A is before the first cut, B from the first cut to before the second, and so on.
pub fn eras(frame: &Frame, cuts: &[String], name: &str) -> Result<Grouping> {
    let Some(time) = &frame.time else {
        return Err(FairnessError::Grouping {
            grouping: name.into(),
            reason: format!(
                "{}: date eras need a time column, and the table has none",
                frame.source.display()
            ),
        });
    };
    if cuts.is_empty() {
        return Err(invalid("era cuts", "(none)", "give at least one cut date"));
    }
    if cuts.len() > 25 {
        return Err(invalid("era cuts", cuts.len(), "at most 25 cut dates"));
    }
    let mut parsed = Vec::with_capacity(cuts.len());
    for c in cuts {
        let year_only = c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit());
        let text = if year_only {
            format!("{c}-01-01")
        } else {
            c.clone()
        };
        let t = parse_time(&text)
            .ok_or_else(|| invalid("era cut", c, "not a date (use YYYY-MM-DD or YYYY)"))?;
        parsed.push(t);
    }
    if parsed.windows(2).any(|w| w[1] <= w[0]) {
        return Err(invalid(
            "era cuts",
            cuts.join(","),
            "cut dates must be strictly increasing",
        ));
    }
    let keys: Vec<f64> = parsed
        .iter()
        .map(|t| t.and_utc().timestamp() as f64)
        .collect();
    let letter = |i: usize| ((b'A' + i as u8) as char).to_string();
    let labels = time
        .keys()
        .iter()
        .map(|k| letter(keys.iter().filter(|c| *k >= **c).count()))
        .collect();
    use chrono::Datelike;
    let year_starts = parsed
        .iter()
        .all(|t| t.month() == 1 && t.day() == 1 && t.time() == chrono::NaiveTime::MIN);
    let show = |t: &chrono::NaiveDateTime| t.format("%Y-%m-%d").to_string();
    let mut order = Vec::with_capacity(cuts.len() + 1);
    for i in 0..=parsed.len() {
        let d = match (i, year_starts) {
            (0, true) => format!("before {}", parsed[0].year()),
            (0, false) => format!("before {}", show(&parsed[0])),
            (i, true) if i == parsed.len() => format!("{} on", parsed[i - 1].year()),
            (i, false) if i == parsed.len() => format!("{} on", show(&parsed[i - 1])),
            (i, true) => format!("{}-{}", parsed[i - 1].year(), parsed[i].year() - 1),
            (i, false) => format!("{} to before {}", show(&parsed[i - 1]), show(&parsed[i])),
        };
        order.push((letter(i), d));
    }
    let g = Grouping::new(
        name,
        format!("date eras cut at {}", cuts.join(", ")),
        labels,
        order,
    )?;
    g.require_two()?;
    Ok(g)
}

/// `n` quantile bins of `column` (Q1 = lowest values). Bin edges are the column's quantiles at
/// `k / n` (linear interpolation); each bin holds the values in `(lower, upper]`, the first also
/// its lower edge, as pandas' `qcut` does.
pub fn quantile_bins(frame: &Frame, column_name: &str, n: usize, name: &str) -> Result<Grouping> {
    if !(2..=100).contains(&n) {
        return Err(invalid("quantile bins", n, "choose 2 to 100 bins"));
    }
    let values = column(frame, column_name)?;
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let edges: Vec<f64> = (0..=n)
        .map(|k| quantile(&sorted, k as f64 / n as f64))
        .collect();
    if let Some(k) = (1..=n).find(|&k| edges[k] <= edges[k - 1]) {
        return Err(FairnessError::Grouping {
            grouping: name.into(),
            reason: format!(
                "column {column_name:?} has too many equal values for {n} quantile bins (edges {k} and {} are both {}); use fewer bins",
                k + 1,
                fmt_num(edges[k])
            ),
        });
    }
    let labels = values
        .iter()
        .map(|v| {
            let k = edges[1..n].iter().filter(|e| *v > **e).count();
            format!("Q{}", k + 1)
        })
        .collect();
    let order = (0..n)
        .map(|k| {
            (
                format!("Q{}", k + 1),
                format!(
                    "{column_name} in {}{}, {}]",
                    if k == 0 { "[" } else { "(" },
                    fmt_num(edges[k]),
                    fmt_num(edges[k + 1])
                ),
            )
        })
        .collect();
    let g = Grouping::new(
        name,
        format!("{n} quantile bins of {column_name:?}"),
        labels,
        order,
    )?;
    g.require_two()?;
    Ok(g)
}

/// The seed's five group columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeedGrouping {
    /// Median split of the federal funds rate (`Economic_Group`).
    Economic,
    /// Median split of inflation (`Inflation_Group`).
    Inflation,
    /// Median split of the delinquency rate (`Risk_Group`).
    Risk,
    /// Cross of the economic and inflation splits (`Combined_Group`).
    Combined,
    /// Date eras: before 2000, 2000-2007, 2008-2014, 2015 on (`Time_Group`).
    Time,
}

/// Cut dates of the seed's `Time_Group`.
pub const SEED_ERAS: [&str; 3] = ["2000-01-01", "2008-01-01", "2015-01-01"];

impl SeedGrouping {
    /// All five, in the seed's order.
    pub const ALL: [SeedGrouping; 5] = [
        Self::Economic,
        Self::Inflation,
        Self::Combined,
        Self::Time,
        Self::Risk,
    ];

    /// The group column name.
    pub fn column(self) -> &'static str {
        match self {
            Self::Economic => "Economic_Group",
            Self::Inflation => "Inflation_Group",
            Self::Risk => "Risk_Group",
            Self::Combined => "Combined_Group",
            Self::Time => "Time_Group",
        }
    }

    /// The short key used on the command line.
    pub fn key(self) -> &'static str {
        match self {
            Self::Economic => "economic",
            Self::Inflation => "inflation",
            Self::Risk => "risk",
            Self::Combined => "combined",
            Self::Time => "time",
        }
    }

    /// Column names that identify the series this grouping splits (case-insensitive, exact names
    /// first, then a word contained in the name).
    fn aliases(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::Economic | Self::Combined => (
                &[
                    "Federal Funds Rate",
                    "FEDFUNDS",
                    "fed_funds",
                    "federal_funds_rate",
                ],
                &["federal funds", "fedfunds", "fed funds"],
            ),
            Self::Inflation => (
                &["Inflation Rate (CPI)", "inflation", "CPIAUCSL", "CPI"],
                &["inflation", "cpi"],
            ),
            Self::Risk => (
                &[
                    "Personal Loan Delinquency Rate",
                    "DRSFRMACBS",
                    "DRCLACBS",
                    "delinquency",
                ],
                &["delinquen"],
            ),
            Self::Time => (&[], &[]),
        }
    }

    /// Finds this grouping's series in a frame's columns.
    fn find(self, frame: &Frame, aliases: (&[&str], &[&str])) -> Result<String> {
        let (exact, words) = aliases;
        let lower: Vec<String> = frame.columns.iter().map(|c| c.to_lowercase()).collect();
        for a in exact {
            if let Some(i) = lower.iter().position(|c| *c == a.to_lowercase()) {
                return Ok(frame.columns[i].clone());
            }
        }
        for w in words {
            if let Some(i) = lower.iter().position(|c| c.contains(w)) {
                return Ok(frame.columns[i].clone());
            }
        }
        Err(FairnessError::Grouping {
            grouping: self.column().into(),
            reason: format!(
                "{}: no column looks like {:?}; the columns are: {} (use a median split of a named column instead)",
                frame.source.display(),
                exact.first().copied().unwrap_or_default(),
                frame.columns.join(", ")
            ),
        })
    }

    /// Makes this grouping from a frame.
    pub fn make(self, frame: &Frame) -> Result<Grouping> {
        let name = self.column();
        match self {
            Self::Economic | Self::Inflation | Self::Risk => {
                median_split(frame, &self.find(frame, self.aliases())?, name)
            }
            Self::Combined => {
                let a = Self::Economic.find(frame, Self::Economic.aliases())?;
                let b = Self::Inflation.find(frame, Self::Inflation.aliases())?;
                cross(frame, &a, &b, name)
            }
            Self::Time => {
                let cuts: Vec<String> = SEED_ERAS.iter().map(|s| s.to_string()).collect();
                eras(frame, &cuts, name)
            }
        }
    }
}

impl std::str::FromStr for SeedGrouping {
    type Err = FairnessError;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|g| g.key() == t || g.column().to_ascii_lowercase() == t)
            .ok_or_else(|| {
                invalid(
                    "grouping",
                    s,
                    "expected economic, inflation, combined, time or risk",
                )
            })
    }
}

/// A table read as text (every column kept as it is written), for group columns and for writing
/// the table back with group columns added.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    /// Where it was read from.
    pub source: PathBuf,
    /// Column names.
    pub names: Vec<String>,
    /// Cells per column (`None` = empty).
    pub columns: Vec<Vec<Option<String>>>,
}

impl TextTable {
    /// Reads a CSV (or, by extension, Parquet) file as text.
    pub fn read(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Err(ts_data::DataError::NotFound {
                path: path.to_path_buf(),
            }
            .into());
        }
        let unreadable = |e: PolarsError| FairnessError::Io {
            path: path.to_path_buf(),
            message: format!(
                "cannot read: {}",
                e.to_string().lines().next().unwrap_or("").trim()
            ),
        };
        let parquet = matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("parquet" | "pq")
        );
        let df = if parquet {
            let file = std::fs::File::open(path).map_err(|e| FairnessError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            ParquetReader::new(file).finish().map_err(unreadable)?
        } else {
            let bytes = std::fs::read(path).map_err(|e| FairnessError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
            ts_data::check_csv_text(path, &bytes)?;
            drop(bytes);
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .map_err(unreadable)?
                .finish()
                .map_err(unreadable)?
        };
        let mut names = Vec::new();
        let mut columns = Vec::new();
        for col in df.columns() {
            names.push(col.name().to_string());
            let s = col.cast(&DataType::String).map_err(unreadable)?;
            let ca = s.str().map_err(unreadable)?;
            columns.push(ca.iter().map(|v| v.map(str::to_string)).collect());
        }
        Ok(Self {
            source: path.to_path_buf(),
            names,
            columns,
        })
    }

    /// Rows.
    pub fn n_rows(&self) -> usize {
        self.columns.first().map_or(0, Vec::len)
    }

    /// The cells of a column.
    pub fn column(&self, name: &str) -> Result<&[Option<String>]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
            .ok_or_else(|| FairnessError::UnknownColumn {
                path: self.source.clone(),
                column: name.into(),
                available: self.names.join(", "),
            })
    }

    /// Whether the table has a column.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// A categorical column as a grouping (groups sorted by value); an empty cell is an error
    /// naming its row.
    pub fn grouping(&self, name: &str) -> Result<Grouping> {
        let cells = self.column(name)?;
        let mut labels = Vec::with_capacity(cells.len());
        for (row, c) in cells.iter().enumerate() {
            match c.as_deref().map(str::trim) {
                Some(v) if !v.is_empty() => labels.push(v.to_string()),
                _ => {
                    return Err(FairnessError::Grouping {
                        grouping: name.into(),
                        reason: format!(
                            "{}: row {} has no group label",
                            self.source.display(),
                            row + 1
                        ),
                    });
                }
            }
        }
        Grouping::from_labels(name, labels)
    }

    /// The table as CSV text with group columns added (replacing columns of the same name).
    pub fn to_csv(&self, groupings: &[&Grouping]) -> Result<String> {
        let n = self.n_rows();
        if let Some(g) = groupings.iter().find(|g| g.labels.len() != n) {
            return Err(FairnessError::Grouping {
                grouping: g.name.clone(),
                reason: format!("{} labels for a table of {n} rows", g.labels.len()),
            });
        }
        let kept: Vec<usize> = (0..self.names.len())
            .filter(|&i| !groupings.iter().any(|g| g.name == self.names[i]))
            .collect();
        let mut header: Vec<String> = kept.iter().map(|&i| csv_cell(&self.names[i])).collect();
        header.extend(groupings.iter().map(|g| csv_cell(&g.name)));
        let mut s = header.join(",");
        s.push('\n');
        for r in 0..n {
            let mut cells: Vec<String> = kept
                .iter()
                .map(|&i| {
                    self.columns[i][r]
                        .as_deref()
                        .map(csv_cell)
                        .unwrap_or_default()
                })
                .collect();
            cells.extend(groupings.iter().map(|g| csv_cell(&g.labels[r])));
            s.push_str(&cells.join(","));
            s.push('\n');
        }
        Ok(s)
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The summary written as `fairness_groups_summary.json`: per grouping, each group's description,
/// size and share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupsSummary {
    /// The table the groups were made from.
    pub source: String,
    /// Rows.
    pub rows: usize,
    /// One entry per grouping.
    pub groupings: Vec<GroupingSummary>,
}

/// One grouping of a [`GroupsSummary`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupingSummary {
    /// Group column.
    pub name: String,
    /// How the groups were made.
    pub description: String,
    /// The groups.
    pub groups: Vec<GroupInfo>,
}

impl GroupsSummary {
    /// Summarises groupings of a table of `rows` rows.
    pub fn of(source: &Path, rows: usize, groupings: &[Grouping]) -> Self {
        Self {
            source: source.display().to_string(),
            rows,
            groupings: groupings
                .iter()
                .map(|g| GroupingSummary {
                    name: g.name.clone(),
                    description: g.description.clone(),
                    groups: g.groups.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        let n = 10;
        let time = ts_data::TimeIndex::new(
            "date",
            (0..n).map(|i| format!("{}-01-01", 1995 + 2 * i)),
            (0..n)
                .map(|i| {
                    parse_time(&format!("{}-01-01", 1995 + 2 * i))
                        .unwrap()
                        .and_utc()
                        .timestamp() as f64
                })
                .collect(),
        )
        .unwrap();
        Frame::from_columns(
            "mem",
            vec!["x".into(), "y".into()],
            vec![
                (0..n).map(|i| i as f64).collect(),
                (0..n).map(|i| ((i * 7) % 10) as f64).collect(),
            ],
            Some(time),
        )
        .unwrap()
    }

    #[test]
    fn median_matches_pandas() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn median_split_and_cross() {
        let f = frame();
        let g = median_split(&f, "x", "X").unwrap();
        assert_eq!(
            g.labels[..6],
            ["B", "B", "B", "B", "B", "A"].map(String::from)
        );
        assert_eq!(g.groups[0].count, 5);
        assert!((g.groups[1].share - 0.5).abs() < 1e-12);
        let c = cross(&f, "x", "y", "XY").unwrap();
        // y = 0,7,4,1,8,5,2,9,6,3 ; median 4.5 → high at rows 1,4,5,7,8
        assert_eq!(c.labels[1], "C");
        assert_eq!(c.labels[5], "A");
        assert_eq!(c.labels[6], "B");
        assert_eq!(c.labels[0], "D");
        assert_eq!(c.groups.iter().map(|g| g.count).sum::<usize>(), 10);
    }

    #[test]
    fn eras_follow_cut_dates() {
        let f = frame(); // 1995, 1997, ..., 2013
        let cuts: Vec<String> = SEED_ERAS.iter().map(|s| s.to_string()).collect();
        let g = eras(&f, &cuts, "T").unwrap();
        assert_eq!(
            g.labels[..6],
            ["A", "A", "A", "B", "B", "B"].map(String::from)
        );
        assert_eq!(g.groups[0].description, "before 2000");
        assert_eq!(g.groups[1].description, "2000-2007");
        assert_eq!(g.groups[3].description, "2015 on");
        assert_eq!(g.groups[3].count, 0);
        let e = eras(&f, &["2010".into(), "2001".into()], "T").unwrap_err();
        assert!(e.to_string().contains("strictly increasing"), "{e}");
        let y = eras(&f, &["2000".into(), "2008".into()], "T").unwrap();
        assert_eq!(y.groups[1].description, "2000-2007");
        assert!(
            eras(&f, &["soon".into()], "T")
                .unwrap_err()
                .to_string()
                .contains("not a date")
        );
        assert!(eras(&f, &["2030".into()], "T").is_err(), "single group");
    }

    #[test]
    fn quantile_bins_like_qcut() {
        let f = frame();
        let g = quantile_bins(&f, "x", 4, "Q").unwrap();
        // edges 0, 2.25, 4.5, 6.75, 9
        assert_eq!(
            g.labels,
            ["Q1", "Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4", "Q4"].map(String::from)
        );
        let c = Frame::from_columns("c", vec!["z".into()], vec![vec![1.0; 8]], None).unwrap();
        let e = quantile_bins(&c, "z", 3, "Q").unwrap_err().to_string();
        assert!(e.contains("too many equal values"), "{e}");
        let e = median_split(&c, "z", "Z").unwrap_err().to_string();
        assert!(e.contains("only one group"), "{e}");
    }

    #[test]
    fn categorical_labels_sorted() {
        let g = Grouping::from_labels("k", vec!["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(g.groups[0].label, "a");
        assert_eq!(g.groups[1].count, 2);
        assert_eq!(g.indices(), vec![1, 0, 1]);
    }

    #[test]
    fn csv_round_trip_adds_columns() {
        let t = TextTable {
            source: "t.csv".into(),
            names: vec!["date".into(), "a,b".into()],
            columns: vec![
                vec![Some("2000-01-01".into()), Some("2000-02-01".into())],
                vec![Some("1".into()), None],
            ],
        };
        let g = Grouping::from_labels("G", vec!["x".into(), "y".into()]).unwrap();
        let s = t.to_csv(&[&g]).unwrap();
        assert_eq!(s, "date,\"a,b\",G\n2000-01-01,1,x\n2000-02-01,,y\n");
    }
}
