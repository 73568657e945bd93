//! Group makers on plain slices: label every row (time step) with a group.
//!
//! - [`Grouping::median_split`]: A = above the values' median (high), B = at or below it (low);
//! - [`Grouping::cross`]: the cross of two median splits, A-D = high/high, high/low, low/high,
//!   low/low;
//! - [`Grouping::eras`]: date eras from cut dates (A = before the first cut, ...);
//! - [`Grouping::quantile_bins`]: `n` quantile bins of the values (Q1 lowest);
//! - [`Grouping::from_labels`]: an existing categorical column;
//! - [`SeedGrouping`]: the seed's five group columns on the FRED data (Economic, Inflation, Risk,
//!   Combined, Time).
//!
//! With the `table` feature, `crate::table` makes the same groupings from the columns of a
//! CSV or Parquet table.

use std::path::Path;

use serde::{Deserialize, Serialize};

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

pub(crate) fn fmt_num(x: f64) -> String {
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

impl Grouping {
    /// Median split of the values of `column`: A = above the median (high), B = at or below it
    /// (low). Fails unless both groups have rows.
    pub fn median_split(values: &[f64], column: &str, name: &str) -> Result<Self> {
        let (m, high) = is_high(values);
        if !high.iter().any(|h| *h) {
            return Err(FairnessError::Grouping {
                grouping: name.into(),
                reason: format!(
                    "no value of column {column:?} is above its median {}: a median split puts \
                     every row in one group (a constant or mostly constant column); split \
                     another column, or use --quantiles or --eras",
                    fmt_num(m)
                ),
            });
        }
        let labels = high
            .iter()
            .map(|h| if *h { "A" } else { "B" }.to_string())
            .collect();
        let g = Self::new(
            name,
            format!("median split of {column:?} at {}", fmt_num(m)),
            labels,
            vec![
                ("A".into(), format!("{column} > {} (high)", fmt_num(m))),
                ("B".into(), format!("{column} <= {} (low)", fmt_num(m))),
            ],
        )?;
        g.require_two()?;
        Ok(g)
    }

    /// The cross of the median splits of two columns' values (`first` and `second` name them):
    /// A = high/high, B = high/low, C = low/high, D = low/low.
    pub fn cross(
        (first, a_values): (&str, &[f64]),
        (second, b_values): (&str, &[f64]),
        name: &str,
    ) -> Result<Self> {
        let (ma, ha) = is_high(a_values);
        let (mb, hb) = is_high(b_values);
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
        let g = Self::new(
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

    /// Date eras: `times` are the rows' times in seconds since 1970 (UTC), `cuts` the cut dates in
    /// strictly increasing order (1 to 25); group A is before the first cut, B from the first cut
    /// to before the second, and so on.
    pub fn eras(times: &[f64], cuts: &[chrono::NaiveDateTime], name: &str) -> Result<Self> {
        use chrono::Datelike;
        let show = |t: &chrono::NaiveDateTime| t.format("%Y-%m-%d").to_string();
        if cuts.is_empty() {
            return Err(invalid("era cuts", "(none)", "give at least one cut date"));
        }
        if cuts.len() > 25 {
            return Err(invalid("era cuts", cuts.len(), "at most 25 cut dates"));
        }
        if cuts.windows(2).any(|w| w[1] <= w[0]) {
            let all: Vec<String> = cuts.iter().map(show).collect();
            return Err(invalid(
                "era cuts",
                all.join(","),
                "cut dates must be strictly increasing",
            ));
        }
        let keys: Vec<f64> = cuts
            .iter()
            .map(|t| t.and_utc().timestamp() as f64)
            .collect();
        let letter = |i: usize| ((b'A' + i as u8) as char).to_string();
        let labels = times
            .iter()
            .map(|k| letter(keys.iter().filter(|c| *k >= **c).count()))
            .collect();
        let year_starts = cuts
            .iter()
            .all(|t| t.month() == 1 && t.day() == 1 && t.time() == chrono::NaiveTime::MIN);
        let mut order = Vec::with_capacity(cuts.len() + 1);
        for i in 0..=cuts.len() {
            let d = match (i, year_starts) {
                (0, true) => format!("before {}", cuts[0].year()),
                (0, false) => format!("before {}", show(&cuts[0])),
                (i, true) if i == cuts.len() => format!("{} on", cuts[i - 1].year()),
                (i, false) if i == cuts.len() => format!("{} on", show(&cuts[i - 1])),
                (i, true) => format!("{}-{}", cuts[i - 1].year(), cuts[i].year() - 1),
                (i, false) => format!("{} to before {}", show(&cuts[i - 1]), show(&cuts[i])),
            };
            order.push((letter(i), d));
        }
        let all: Vec<String> = cuts.iter().map(show).collect();
        let g = Self::new(
            name,
            format!("date eras cut at {}", all.join(", ")),
            labels,
            order,
        )?;
        g.require_two()?;
        Ok(g)
    }

    /// `n` quantile bins of the values of `column` (Q1 = lowest values). Bin edges are the
    /// quantiles at `k / n` (linear interpolation); each bin holds the values in `(lower, upper]`,
    /// the first also its lower edge, as pandas' `qcut` does.
    pub fn quantile_bins(values: &[f64], column: &str, n: usize, name: &str) -> Result<Self> {
        if !(2..=100).contains(&n) {
            return Err(invalid("quantile bins", n, "choose 2 to 100 bins"));
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let edges: Vec<f64> = (0..=n)
            .map(|k| quantile(&sorted, k as f64 / n as f64))
            .collect();
        if let Some(k) = (1..=n).find(|&k| edges[k] <= edges[k - 1]) {
            return Err(FairnessError::Grouping {
                grouping: name.into(),
                reason: format!(
                    "column {column:?} has too many equal values for {n} quantile bins (edges {k} and {} are both {}); use fewer bins",
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
                        "{column} in {}{}, {}]",
                        if k == 0 { "[" } else { "(" },
                        fmt_num(edges[k]),
                        fmt_num(edges[k + 1])
                    ),
                )
            })
            .collect();
        let g = Self::new(
            name,
            format!("{n} quantile bins of {column:?}"),
            labels,
            order,
        )?;
        g.require_two()?;
        Ok(g)
    }
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
    pub fn aliases(self) -> (&'static [&'static str], &'static [&'static str]) {
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
    /// The summary as text: the rows, then per grouping each group's label, size, share and
    /// meaning.
    pub fn render(&self) -> String {
        let mut s = format!("Loaded {}: {} rows\n", self.source, self.rows);
        for g in &self.groupings {
            s.push_str(&format!("{} ({}):\n", g.name, g.description));
            for x in &g.groups {
                s.push_str(&format!(
                    "  {:<4} {:>5} rows  {:>5.1} %  {}\n",
                    x.label,
                    x.count,
                    100.0 * x.share,
                    x.description
                ));
            }
        }
        s
    }

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

    fn x() -> Vec<f64> {
        (0..10).map(|i| i as f64).collect()
    }

    fn y() -> Vec<f64> {
        (0..10).map(|i| ((i * 7) % 10) as f64).collect()
    }

    fn date(text: &str) -> chrono::NaiveDateTime {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .unwrap()
            .and_time(chrono::NaiveTime::MIN)
    }

    /// 1995, 1997, ..., 2013 (January 1st), in seconds.
    fn times() -> Vec<f64> {
        (0..10)
            .map(|i| {
                date(&format!("{}-01-01", 1995 + 2 * i))
                    .and_utc()
                    .timestamp() as f64
            })
            .collect()
    }

    #[test]
    fn median_matches_pandas() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn median_split_and_cross() {
        let g = Grouping::median_split(&x(), "x", "X").unwrap();
        assert_eq!(
            g.labels[..6],
            ["B", "B", "B", "B", "B", "A"].map(String::from)
        );
        assert_eq!(g.groups[0].count, 5);
        assert!((g.groups[1].share - 0.5).abs() < 1e-12);
        assert_eq!(g.groups[0].description, "x > 4.5 (high)");
        let c = Grouping::cross(("x", &x()), ("y", &y()), "XY").unwrap();
        // y = 0,7,4,1,8,5,2,9,6,3 ; median 4.5 → high at rows 1,4,5,7,8
        assert_eq!(c.labels[1], "C");
        assert_eq!(c.labels[5], "A");
        assert_eq!(c.labels[6], "B");
        assert_eq!(c.labels[0], "D");
        assert_eq!(c.groups.iter().map(|g| g.count).sum::<usize>(), 10);
    }

    #[test]
    fn eras_follow_cut_dates() {
        let cuts: Vec<_> = SEED_ERAS.iter().map(|s| date(s)).collect();
        let g = Grouping::eras(&times(), &cuts, "T").unwrap();
        assert_eq!(
            g.labels[..6],
            ["A", "A", "A", "B", "B", "B"].map(String::from)
        );
        assert_eq!(g.groups[0].description, "before 2000");
        assert_eq!(g.groups[1].description, "2000-2007");
        assert_eq!(g.groups[3].description, "2015 on");
        assert_eq!(g.groups[3].count, 0);
        let e =
            Grouping::eras(&times(), &[date("2010-01-01"), date("2001-01-01")], "T").unwrap_err();
        assert!(e.to_string().contains("strictly increasing"), "{e}");
        let m = Grouping::eras(&times(), &[date("2000-03-01")], "T").unwrap();
        assert_eq!(m.groups[0].description, "before 2000-03-01");
        assert!(
            Grouping::eras(&times(), &[date("2030-01-01")], "T").is_err(),
            "single group"
        );
        assert!(Grouping::eras(&times(), &[], "T").is_err());
    }

    #[test]
    fn quantile_bins_like_qcut() {
        let g = Grouping::quantile_bins(&x(), "x", 4, "Q").unwrap();
        // edges 0, 2.25, 4.5, 6.75, 9
        assert_eq!(
            g.labels,
            ["Q1", "Q1", "Q1", "Q2", "Q2", "Q3", "Q3", "Q4", "Q4", "Q4"].map(String::from)
        );
        let flat = vec![1.0; 8];
        let e = Grouping::quantile_bins(&flat, "z", 3, "Q")
            .unwrap_err()
            .to_string();
        assert!(e.contains("too many equal values"), "{e}");
        let e = Grouping::median_split(&flat, "z", "Z")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("column \"z\"") && e.contains("every row in one group"),
            "{e}"
        );
    }

    #[test]
    fn categorical_labels_sorted() {
        let g = Grouping::from_labels("k", vec!["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(g.groups[0].label, "a");
        assert_eq!(g.groups[1].count, 2);
        assert_eq!(g.indices(), vec![1, 0, 1]);
    }
}
