//! Groupings of CSV and Parquet tables (feature `table`): every table is read through ts-data's
//! checked loaders ([`ts_data::load()`] for the numeric columns, [`TextTable`] for the cells as
//! written), then the slice makers of [`crate::groups`] label its rows.
//!
//! [`make_groups`] is `tsf groups`: it parses group specs, makes the groupings, refuses a group
//! column that would overwrite a data column, and returns the table with the group columns added
//! and the summary.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
pub use ts_data::TextTable;
use ts_data::{FillPolicy, Frame, LoadOptions, load, parse_time};

use crate::error::{FairnessError, Result, invalid};
use crate::groups::{Grouping, GroupsSummary, SEED_ERAS, SeedGrouping};

fn column(frame: &Frame, name: &str) -> Result<Vec<f64>> {
    let i = frame.column_index(name)?;
    Ok(frame.column(i))
}

/// Median split of a column of a frame ([`Grouping::median_split`]).
pub fn median_split(frame: &Frame, column_name: &str, name: &str) -> Result<Grouping> {
    Grouping::median_split(&column(frame, column_name)?, column_name, name).map_err(|e| match e {
        FairnessError::Grouping { grouping, reason } => FairnessError::Grouping {
            grouping,
            reason: format!("{}: {reason}", frame.source.display()),
        },
        e => e,
    })
}

/// The cross of the median splits of two columns of a frame ([`Grouping::cross`]).
pub fn cross(frame: &Frame, first: &str, second: &str, name: &str) -> Result<Grouping> {
    Grouping::cross(
        (first, &column(frame, first)?),
        (second, &column(frame, second)?),
        name,
    )
}

/// Date eras of a frame's time column ([`Grouping::eras`]); `cuts` are dates in any format
/// [`ts_data::parse_time`] reads, or years (`2008` = 2008-01-01).
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
    let mut g = Grouping::eras(time.keys(), &parsed, name)?;
    g.description = format!("date eras cut at {}", cuts.join(", "));
    Ok(g)
}

/// `n` quantile bins of a column of a frame ([`Grouping::quantile_bins`]).
pub fn quantile_bins(frame: &Frame, column_name: &str, n: usize, name: &str) -> Result<Grouping> {
    Grouping::quantile_bins(&column(frame, column_name)?, column_name, n, name)
}

impl SeedGrouping {
    /// Finds this grouping's series in a frame's columns (case-insensitive, exact names first,
    /// then a word contained in the name).
    fn find(self, frame: &Frame) -> Result<String> {
        let (exact, words) = self.aliases();
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
                median_split(frame, &self.find(frame)?, name)
            }
            Self::Combined => {
                let a = Self::Economic.find(frame)?;
                let b = Self::Inflation.find(frame)?;
                cross(frame, &a, &b, name)
            }
            Self::Time => {
                let cuts: Vec<String> = SEED_ERAS.iter().map(|s| s.to_string()).collect();
                eras(frame, &cuts, name)
            }
        }
    }
}

/// A categorical column of a table as a grouping (groups sorted by value); an empty cell is an
/// error naming its row.
pub fn column_grouping(table: &TextTable, name: &str) -> Result<Grouping> {
    let cells = table.column(name)?;
    let mut labels = Vec::with_capacity(cells.len());
    for (row, c) in cells.iter().enumerate() {
        match c.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() => labels.push(v.to_string()),
            _ => {
                return Err(FairnessError::Grouping {
                    grouping: name.into(),
                    reason: format!(
                        "{}: row {} has no group label",
                        table.source.display(),
                        row + 1
                    ),
                });
            }
        }
    }
    Grouping::from_labels(name, labels)
}

/// The table as CSV text with group columns added (replacing columns of the same name).
pub fn csv_with_groups(table: &TextTable, groupings: &[Grouping]) -> Result<String> {
    let extra: Vec<(&str, &[String])> = groupings
        .iter()
        .map(|g| (g.name.as_str(), g.labels.as_slice()))
        .collect();
    Ok(table.to_csv(&extra)?)
}

/// How one grouping of `tsf groups` is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupMaker {
    /// One of the seed's five group columns.
    Seed(SeedGrouping),
    /// Median split of a column (`COLUMN` or `COLUMN=NAME`).
    Median {
        /// The column.
        column: String,
        /// The group column's name (default `<column>_Group`).
        name: Option<String>,
    },
    /// Cross of two median splits (`COL1,COL2` or `COL1,COL2=NAME`).
    Cross {
        /// First column.
        first: String,
        /// Second column.
        second: String,
        /// The group column's name (default `<first>_<second>_Group`).
        name: Option<String>,
    },
    /// Date eras (`DATE,DATE,...` or `DATE,...=NAME`).
    Eras {
        /// Cut dates as written.
        cuts: Vec<String>,
        /// The group column's name (default `Era_Group`).
        name: Option<String>,
    },
    /// Quantile bins (`COLUMN:N` or `COLUMN:N=NAME`).
    Quantiles {
        /// The column.
        column: String,
        /// Number of bins.
        bins: usize,
        /// The group column's name (default `<column>_Q<N>_Group`).
        name: Option<String>,
    },
}

/// Splits `SPEC=NAME` into the spec and an optional name.
fn named(spec: &str) -> (&str, Option<String>) {
    match spec.rsplit_once('=') {
        Some((s, n)) if !n.trim().is_empty() => (s.trim(), Some(n.trim().to_string())),
        _ => (spec.trim(), None),
    }
}

/// `<base>_Group` with every character that is not alphanumeric replaced by `_`.
fn group_name(base: &str) -> String {
    let clean: String = base
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    format!("{}_Group", clean.trim_matches('_'))
}

impl GroupMaker {
    /// Parses `COLUMN` or `COLUMN=NAME` (`--median`).
    pub fn median(spec: &str) -> Result<Self> {
        let (column, name) = named(spec);
        if column.is_empty() {
            return Err(invalid("--median", spec, "expected COLUMN or COLUMN=NAME"));
        }
        Ok(Self::Median {
            column: column.into(),
            name,
        })
    }

    /// Parses `COL1,COL2` or `COL1,COL2=NAME` (`--cross`).
    pub fn cross(spec: &str) -> Result<Self> {
        let (cols, name) = named(spec);
        let (x, y) = cols
            .split_once(',')
            .ok_or_else(|| invalid("--cross", spec, "expected two columns as COL1,COL2"))?;
        Ok(Self::Cross {
            first: x.trim().into(),
            second: y.trim().into(),
            name,
        })
    }

    /// Parses `DATE,DATE,...` or `DATE,...=NAME` (`--eras`).
    pub fn eras(spec: &str) -> Result<Self> {
        let (cuts, name) = named(spec);
        let cuts = cuts
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Self::Eras { cuts, name })
    }

    /// Parses `COLUMN:N` or `COLUMN:N=NAME` (`--quantiles`).
    pub fn quantiles(spec: &str) -> Result<Self> {
        let (s, name) = named(spec);
        let (col, n) = s
            .rsplit_once(':')
            .ok_or_else(|| invalid("--quantiles", spec, "expected COLUMN:N"))?;
        let bins = n.trim().parse().map_err(|_| {
            invalid(
                "--quantiles",
                spec,
                format!("{n:?} is not a number of bins (expected COLUMN:N)"),
            )
        })?;
        Ok(Self::Quantiles {
            column: col.trim().into(),
            bins,
            name,
        })
    }

    /// The numeric columns this maker reads.
    fn columns(&self) -> Vec<&str> {
        match self {
            Self::Median { column, .. } | Self::Quantiles { column, .. } => vec![column],
            Self::Cross { first, second, .. } => vec![first, second],
            Self::Seed(_) | Self::Eras { .. } => Vec::new(),
        }
    }

    /// Makes the grouping from the numeric columns of a table.
    pub fn make(&self, frame: &Frame) -> Result<Grouping> {
        match self {
            Self::Seed(s) => s.make(frame),
            Self::Median { column, name } => median_split(
                frame,
                column,
                &name.clone().unwrap_or_else(|| group_name(column)),
            ),
            Self::Cross {
                first,
                second,
                name,
            } => cross(
                frame,
                first,
                second,
                &name
                    .clone()
                    .unwrap_or_else(|| group_name(&format!("{first}_{second}"))),
            ),
            Self::Eras { cuts, name } => eras(frame, cuts, name.as_deref().unwrap_or("Era_Group")),
            Self::Quantiles { column, bins, name } => quantile_bins(
                frame,
                column,
                *bins,
                &name
                    .clone()
                    .unwrap_or_else(|| group_name(&format!("{column}_Q{bins}"))),
            ),
        }
    }
}

/// Refuses a maker's column that the table has but that is not numeric, naming its first text
/// cell (the frame holds only the numeric columns, so a lookup there would say "not found").
fn require_numeric(table: &TextTable, frame: &Frame, col: &str) -> Result<()> {
    if frame.columns.iter().any(|c| c == col) || !table.has(col) {
        return Ok(());
    }
    Err(FairnessError::NotNumeric {
        path: table.source.clone(),
        column: col.into(),
        detail: match table.first_text_cell(col) {
            Some((row, value)) => format!("row {row}: {value:?}"),
            None => "it is the time column or has no values".into(),
        },
    })
}

/// Loads the numeric columns of a table as a frame aligned with its text rows.
pub fn numeric_frame(
    table: &TextTable,
    time_column: Option<String>,
    fill: FillPolicy,
) -> Result<Frame> {
    let path = &table.source;
    if fill == FillPolicy::Drop {
        return Err(invalid(
            "fill",
            "drop",
            "group columns must stay aligned with the rows; use ffill or interpolate",
        ));
    }
    let columns = table.numeric_columns();
    if columns.is_empty() {
        return Err(FairnessError::Io {
            path: path.clone(),
            message: "no numeric columns".into(),
        });
    }
    let frame = load(
        path,
        &LoadOptions {
            time_column,
            columns: Some(columns),
            fill,
        },
    )?;
    if frame.n_rows() != table.n_rows() {
        return Err(FairnessError::Io {
            path: path.clone(),
            message: format!(
                "{} rows loaded but the file has {}; group columns cannot be aligned",
                frame.n_rows(),
                table.n_rows()
            ),
        });
    }
    Ok(frame)
}

/// What `tsf groups` is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupsConfig {
    /// The table (CSV or Parquet).
    pub data: PathBuf,
    /// The groupings, in order; empty = the seed's five.
    pub makers: Vec<GroupMaker>,
    /// Time column (`None`: detected).
    pub time_column: Option<String>,
    /// Missing values of the numeric columns (`Drop` is refused: rows must stay aligned).
    pub fill: FillPolicy,
}

/// The result of [`make_groups`].
#[derive(Debug, Clone, PartialEq)]
pub struct GroupsOutput {
    /// The table as read.
    pub table: TextTable,
    /// The groupings made, in the order asked.
    pub groupings: Vec<Grouping>,
    /// The summary (`fairness_groups_summary.json`).
    pub summary: GroupsSummary,
}

impl GroupsOutput {
    /// The table as CSV with the group columns added.
    pub fn csv(&self) -> Result<String> {
        csv_with_groups(&self.table, &self.groupings)
    }
}

/// A label the group makers write: one capital letter (median splits, crosses, eras) or `Q`
/// and a number (quantile bins).
fn is_group_label(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 1 && b[0].is_ascii_uppercase())
        || (b.len() > 1 && b[0] == b'Q' && b[1..].iter().all(u8::is_ascii_digit))
}

/// `tsf groups`: reads the table, makes the groupings and checks that no group column would
/// overwrite a data column: a group column may only replace a column of the same name whose
/// cells are all group labels (`A`-`Z`, `Q1`...; a group column of an earlier run).
pub fn make_groups(cfg: &GroupsConfig) -> Result<GroupsOutput> {
    let table = TextTable::read(&cfg.data)?;
    let frame = numeric_frame(&table, cfg.time_column.clone(), cfg.fill)?;
    let all: Vec<GroupMaker> = SeedGrouping::ALL.map(GroupMaker::Seed).to_vec();
    let makers = if cfg.makers.is_empty() {
        &all
    } else {
        &cfg.makers
    };
    let mut made: Vec<Grouping> = Vec::with_capacity(makers.len());
    for m in makers {
        if made
            .iter()
            .any(|g| matches!(m, GroupMaker::Seed(s) if g.name == s.column()))
        {
            continue;
        }
        for col in m.columns() {
            require_numeric(&table, &frame, col)?;
        }
        made.push(m.make(&frame)?);
    }
    let time = frame.time.as_ref().map(|t| t.column.as_str());
    for (i, g) in made.iter().enumerate() {
        let data_column = frame.columns.contains(&g.name) || time == Some(g.name.as_str());
        let earlier_group = table
            .column(&g.name)
            .is_ok_and(|cells| cells.iter().flatten().all(|c| is_group_label(c.trim())));
        if data_column || (table.has(&g.name) && !earlier_group) {
            return Err(FairnessError::Grouping {
                grouping: g.name.clone(),
                reason: format!(
                    "{}: the group column name {:?} is already a data column of the file; writing it would overwrite that column; choose another name with =NAME",
                    cfg.data.display(),
                    g.name
                ),
            });
        }
        if made[..i].iter().any(|h| h.name == g.name) {
            return Err(FairnessError::Grouping {
                grouping: g.name.clone(),
                reason: "two groupings have this name; name one with =NAME".into(),
            });
        }
    }
    let summary = GroupsSummary::of(&cfg.data, table.n_rows(), &made);
    Ok(GroupsOutput {
        table,
        groupings: made,
        summary,
    })
}

/// The groupings of an audit: a seed grouping whose column (e.g. `Economic_Group`) is in the
/// table is read from it (with the maker's descriptions when the data still gives the same
/// labels), otherwise made from the numeric columns (`frame`, loaded only when needed); then
/// each categorical `group_columns`. Empty `seeds` and `group_columns` mean the seed's five.
pub fn audit_groupings(
    table: &TextTable,
    seeds: &[SeedGrouping],
    group_columns: &[String],
    frame: impl Fn() -> Result<Frame>,
) -> Result<Vec<Grouping>> {
    let mut out = Vec::new();
    let seeds = if seeds.is_empty() && group_columns.is_empty() {
        SeedGrouping::ALL.to_vec()
    } else {
        let mut v: Vec<SeedGrouping> = Vec::with_capacity(seeds.len());
        for s in seeds {
            if !v.contains(s) {
                v.push(*s);
            }
        }
        v
    };
    let mut numeric: Option<std::result::Result<Frame, String>> = None;
    let mut numeric = || {
        numeric
            .get_or_insert_with(|| frame().map_err(|e| e.to_string()))
            .clone()
    };
    for s in seeds {
        if table.has(s.column()) {
            let read = column_grouping(table, s.column())?;
            let made = numeric().ok().and_then(|f| s.make(&f).ok());
            out.push(match made {
                Some(m) if m.labels == read.labels => m,
                _ => read,
            });
        } else {
            let f = numeric().map_err(|message| FairnessError::Io {
                path: table.source.clone(),
                message,
            })?;
            out.push(s.make(&f)?);
        }
    }
    for c in group_columns {
        // A column named twice, or a seed grouping's own column: audited once.
        if out.iter().any(|g: &Grouping| &g.name == c) {
            continue;
        }
        let g = column_grouping(table, c)?;
        if g.groups.len() > 50 {
            return Err(FairnessError::Grouping {
                grouping: c.clone(),
                reason: format!(
                    "{} distinct values; a group column should have a few (is it numeric? use tsf groups --median/--quantiles)",
                    g.groups.len()
                ),
            });
        }
        out.push(g);
    }
    Ok(out)
}

/// Where `tsf groups` writes by default: `<data stem>_groups.csv` beside the data.
pub fn default_groups_path(data: &Path) -> PathBuf {
    let stem = data.file_stem().and_then(|s| s.to_str()).unwrap_or("data");
    data.with_file_name(format!("{stem}_groups.csv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("t.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    fn cfg(data: PathBuf, makers: Vec<GroupMaker>) -> GroupsConfig {
        GroupsConfig {
            data,
            makers,
            time_column: None,
            fill: FillPolicy::Error,
        }
    }

    const TEXT: &str =
        "date,a,b,region\n2000-01-01,1,5,n\n2000-02-01,2,6,s\n2000-03-01,3,7,n\n2000-04-01,4,8,s\n";

    /// A group column named twice is audited once.
    #[test]
    fn a_group_column_named_twice_is_audited_once() {
        let d = tempfile::tempdir().unwrap();
        let t = TextTable::read(&table(d.path(), TEXT)).unwrap();
        let g = audit_groupings(&t, &[], &["region".into(), "region".into()], || {
            unreachable!("no seed grouping asked for")
        })
        .unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].name, "region");
    }

    #[test]
    fn specs_parse_with_names() {
        assert_eq!(
            GroupMaker::median("a = High").unwrap(),
            GroupMaker::Median {
                column: "a".into(),
                name: Some("High".into())
            }
        );
        assert!(
            GroupMaker::cross("a")
                .unwrap_err()
                .to_string()
                .contains("COL1,COL2")
        );
        assert!(
            GroupMaker::quantiles("a")
                .unwrap_err()
                .to_string()
                .contains("COLUMN:N")
        );
        assert!(
            GroupMaker::quantiles("a:x")
                .unwrap_err()
                .to_string()
                .contains("\"x\"")
        );
        assert_eq!(
            GroupMaker::eras("2001, 2002=E").unwrap(),
            GroupMaker::Eras {
                cuts: vec!["2001".into(), "2002".into()],
                name: Some("E".into())
            }
        );
    }

    #[test]
    fn groups_are_added_and_data_columns_kept() {
        let d = tempfile::tempdir().unwrap();
        let p = table(d.path(), TEXT);
        let out = make_groups(&cfg(
            p.clone(),
            vec![
                GroupMaker::median("a").unwrap(),
                GroupMaker::eras("2000-03-01").unwrap(),
            ],
        ))
        .unwrap();
        assert_eq!(
            out.csv().unwrap().lines().next().unwrap(),
            "date,a,b,region,a_Group,Era_Group"
        );
        assert_eq!(
            out.summary.groupings[1].description,
            "date eras cut at 2000-03-01"
        );
        // A group column named like a data column, numeric or text, is refused.
        for spec in ["a=b", "a=region", "a=date"] {
            let e = make_groups(&cfg(p.clone(), vec![GroupMaker::median(spec).unwrap()]))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("already a data column") && e.contains("=NAME"),
                "{spec}: {e}"
            );
        }
        // A text column is "not numeric", not "not found".
        let e = make_groups(&cfg(p.clone(), vec![GroupMaker::median("region").unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"region\" is not numeric") && e.contains("row 1"),
            "{e}"
        );
        // Rerunning on an output replaces its own group columns, even with other groups.
        let again = d.path().join("again.csv");
        std::fs::write(&again, out.csv().unwrap()).unwrap();
        let twice = make_groups(&cfg(
            again,
            vec![
                GroupMaker::median("a").unwrap(),
                GroupMaker::quantiles("b:3=Era_Group").unwrap(),
            ],
        ))
        .unwrap();
        assert_eq!(
            twice.csv().unwrap().lines().next().unwrap(),
            "date,a,b,region,a_Group,Era_Group"
        );
        assert_eq!(twice.groupings[1].labels, ["Q1", "Q1", "Q2", "Q3"]);
    }
}
