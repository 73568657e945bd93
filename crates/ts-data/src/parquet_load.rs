//! Parquet loading through polars (the `parquet` feature): the file's pages are checked against
//! its footer first ([`crate::parquet_check`]), every call into polars runs under a panic guard, and
//! only the columns a load needs are decoded.

use std::path::Path;

use chrono::DateTime;
use polars::prelude::*;

use crate::error::{DataError, Result};
use crate::frame::{
    Frame, LoadOptions, TextTimes, TimeBuilder, TimeIndex, format_time, parse_time,
};
use crate::load::{
    check_header, chosen_time_column, first_line, looks_numeric, parse_number, time_named_column,
    value_columns,
};
use crate::validate::{RawMatrix, finish};

/// Loads a Parquet file (after [`crate::load()`]'s checks on the path).
pub(crate) fn load_parquet(path: &Path, opts: &LoadOptions) -> Result<Frame> {
    let unreadable = |e: PolarsError| DataError::Unreadable {
        path: path.to_path_buf(),
        message: first_line(&e.to_string()),
    };
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
            let mut text_times = TextTimes::new();
            for (i, v) in ca.iter().enumerate() {
                let v = v.ok_or_else(|| bad(i + 1, String::new()))?;
                if numeric {
                    let x: f64 = v.trim().parse().map_err(|_| bad(i + 1, v.to_string()))?;
                    b.push(x, v.trim());
                } else if !text_times.push(v, &mut b) {
                    return Err(bad(i + 1, v.to_string()));
                }
            }
            text_times.finish(&mut b);
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
