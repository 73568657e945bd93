//! Loading: a CSV or Parquet file becomes a [`Frame`] (the file format by extension; the header,
//! the time column and the value columns chosen here; the cells checked in [`crate::validate`]).

use std::path::Path;

use crate::error::{DataError, Result};
use crate::frame::{Frame, LoadOptions, parse_time};

/// Column names taken for the time column when none is named.
pub(crate) const TIME_NAMES: [&str; 6] = ["date", "time", "timestamp", "datetime", "ds", "period"];

/// Loads a CSV or Parquet file (chosen by extension: `.parquet`/`.pq` is Parquet, anything else CSV),
/// then validates it: a header, numeric value columns, a sorted unique time column, and the
/// missing-value policy.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Frame> {
    check_input_file(path)?;
    if is_parquet(path) {
        load_parquet(path, opts)
    } else {
        crate::csv_load::load_csv(path, opts)
    }
}

/// Checks that an input path is an existing, readable, non-empty file (not a folder), naming
/// the path in the error.
pub(crate) fn check_input_file(path: &Path) -> Result<()> {
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
    Ok(())
}

/// Whether a path names a Parquet file (extension `.parquet` or `.pq`, any case); anything else
/// is read as CSV.
pub(crate) fn is_parquet(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("parquet" | "pq")
    )
}

/// The refusal of a Parquet file by a build without the `parquet` feature.
#[cfg(not(feature = "parquet"))]
pub(crate) fn no_parquet(path: &Path) -> DataError {
    DataError::Unreadable {
        path: path.to_path_buf(),
        message: "this build of ts-data reads no Parquet (build it with the `parquet` feature)"
            .into(),
    }
}

#[cfg(feature = "parquet")]
use crate::parquet_load::load_parquet;

/// Without the `parquet` feature a Parquet file is refused by name.
#[cfg(not(feature = "parquet"))]
fn load_parquet(path: &Path, _opts: &LoadOptions) -> Result<Frame> {
    Err(no_parquet(path))
}

/// The first line of a message, trimmed (third-party errors can run over several lines).
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

pub(crate) fn looks_numeric(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
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
    // A name the header holds twice (the second read as `NAME_duplicated_0`, as polars does) or
    // an empty name cannot be told apart from its twin: refused when the run would read it.
    for w in &wanted {
        let base = w.split("_duplicated_").next().unwrap_or(w);
        let twin = names
            .iter()
            .any(|n| n != w && n.split("_duplicated_").next() == Some(base));
        if twin || w.trim().is_empty() {
            let at: Vec<String> = names
                .iter()
                .enumerate()
                .filter(|(_, n)| n.split("_duplicated_").next() == Some(base))
                .map(|(i, _)| (i + 1).to_string())
                .collect();
            return Err(DataError::BadHeader {
                path: path.to_path_buf(),
                problem: if twin {
                    format!("the column name {base:?} appears more than once")
                } else {
                    "a column has no name (a pandas index written by to_csv? write it with \
                     index=False or name it)"
                        .into()
                },
                at: at.join(", "),
            });
        }
        if let Some(t) = time_name.filter(|t| *t == w) {
            return Err(DataError::TimeColumnAsValue {
                path: path.to_path_buf(),
                column: t.clone(),
                available: names
                    .iter()
                    .filter(|n| *n != t)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
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

pub(crate) fn parse_number(s: &str) -> Option<f64> {
    match s.to_ascii_lowercase().as_str() {
        "nan" | "na" | "n/a" | "null" => Some(f64::NAN),
        _ => s.parse::<f64>().ok(),
    }
}
