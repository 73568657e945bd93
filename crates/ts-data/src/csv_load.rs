//! Streaming CSV loading: records go straight into numeric columns (no table of strings), with the
//! same validation and messages as the rest of the loader.
//!
//! Errors are reported in a fixed order whatever row they occur in: the time column first, then
//! non-numeric cells column by column (in the order of the selected columns), then missing cells
//! according to the fill policy, then the time order.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::frame::{Frame, LoadOptions, TextTimes, TimeBuilder, parse_time};
use crate::load::{
    TIME_NAMES, check_header, chosen_time_column, first_line, looks_numeric, parse_number,
    time_named_column, value_columns,
};
use crate::validate::{RawMatrix, finish};

fn unreadable(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What a gzip-compressed file is told.
const GZIP: &str = "the file is gzip-compressed; decompress it first (for example `gunzip`)";
/// What a Parquet file read as CSV (by its extension) is told.
const PARQUET: &str =
    "the file is Parquet, not CSV (it starts with PAR1); give it the extension .parquet";
/// How to fix text that is not UTF-8.
const REENCODE: &str = "re-encode the file as UTF-8 (for example `iconv -f latin1 -t utf-8`)";

/// A header that is one column holding semicolons or tabs: the file uses another separator.
fn other_separator(path: &Path, header: &str) -> Option<DataError> {
    if header.contains(',') {
        return None;
    }
    let (sep, name) = [(';', "semicolon"), ('\t', "tab")]
        .into_iter()
        .find(|(c, _)| header.contains(*c))?;
    Some(unreadable(
        path,
        format!(
            "the header {header:?} is one column that contains {name}s: the file seems to be {name}-separated ({sep:?}), but tsf reads comma-separated CSV; convert it to commas"
        ),
    ))
}

/// Checks the bytes of a CSV file before a reader that would say less sees them: not
/// gzip-compressed, UTF-8 (else the row and byte are named), comma-separated (a header of one
/// column with semicolons or tabs is named). [`load`](crate::load()) makes the same checks while
/// it streams; other readers of CSV files (the group tables of ts-fairness) call this.
pub fn check_csv_text(path: &Path, bytes: &[u8]) -> Result<()> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(unreadable(path, GZIP));
    }
    if bytes.starts_with(b"PAR1") {
        return Err(unreadable(path, PARQUET));
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let row = bytes[..at].iter().filter(|&&b| b == b'\n').count();
        return Err(unreadable(
            path,
            format!("not UTF-8 text (row {row}, byte {at}); {REENCODE}"),
        ));
    }
    let header = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = String::from_utf8_lossy(header);
    match other_separator(path, header.trim_end_matches('\r')) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// A CSV reader's error as a [`DataError`]: text that is not UTF-8 is named as such, with its
/// row (1-based data row; the header is row 0), line and column.
pub(crate) fn csv_error(path: &Path, e: csv::Error) -> DataError {
    if let csv::ErrorKind::Utf8 { pos, err } = e.kind() {
        let at = pos.as_ref().map_or_else(String::new, |p| {
            format!(
                "row {}, line {}, column {}, record starting at byte {}",
                p.record(),
                p.line(),
                err.field() + 1,
                p.byte()
            )
        });
        return unreadable(
            path,
            format!(
                "not UTF-8 text ({at}; valid up to byte {} of that cell); {REENCODE}",
                err.valid_up_to()
            ),
        );
    }
    unreadable(path, first_line(&e.to_string()))
}

/// Header names, with repeated names renamed `name_duplicated_K` (K counting from 0), as polars
/// does.
pub(crate) fn dedup_names(raw: &csv::StringRecord) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(raw.len());
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for n in raw.iter() {
        let count = seen.entry(n.to_string()).or_insert(0);
        if *count == 0 {
            names.push(n.to_string());
        } else {
            names.push(format!("{n}_duplicated_{}", *count - 1));
        }
        *count += 1;
    }
    names
}

/// How the time column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeKind {
    Numeric,
    Date,
}

/// The first error met in each part, so that the report does not depend on row order.
#[derive(Default)]
struct FirstErrors {
    time: Option<DataError>,
    numeric: Vec<Option<DataError>>,
}

/// Loads a CSV file (header required) into a validated [`Frame`].
pub fn load_csv(path: &Path, opts: &LoadOptions) -> Result<Frame> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let len = file.metadata().map(|m| m.len()).ok();
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let start = reader.fill_buf().map_err(|e| unreadable(path, e))?;
    if start.starts_with(&[0x1f, 0x8b]) {
        return Err(unreadable(path, GZIP));
    }
    if start.starts_with(b"PAR1") {
        return Err(unreadable(path, PARQUET));
    }
    read_csv(path, reader, len, opts)
}

/// Reads CSV text (header required) from `reader` into a validated [`Frame`], exactly as
/// [`crate::load()`] reads a CSV file; `source` names the data in messages and `size_hint` (bytes,
/// when known) sizes the column buffers.
pub fn read_csv<R: std::io::Read>(
    source: &Path,
    reader: R,
    size_hint: Option<u64>,
    opts: &LoadOptions,
) -> Result<Frame> {
    let path = source;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let names = header_names(path, &mut rdr)?;
    let mut records = rdr.records();
    // Read ahead until the first column and a candidate time column show a non-empty value
    // (usually the first record): detection looks at the first value, as with polars.
    let mut pending: Vec<csv::StringRecord> = Vec::new();
    let named_time = names
        .iter()
        .position(|n| TIME_NAMES.contains(&n.to_ascii_lowercase().as_str()));
    read_ahead(path, &mut records, &mut pending, |recs| {
        first_non_empty(recs, 0).is_some()
            && named_time.is_none_or(|i| first_non_empty(recs, i).is_some())
    })?;
    if pending.is_empty() {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    check_header(path, &names)?;
    let time_name = chosen_time_column(path, &names, opts, || {
        detect(&names, first_non_empty(&pending, 0).as_deref())
    })?;
    let time_idx = time_name
        .as_ref()
        .and_then(|t| names.iter().position(|n| n == t));
    let time_kind = match time_idx {
        Some(i) => Some(time_kind_of(path, &mut records, &mut pending, i)?),
        None => None,
    };
    let wanted = value_columns(path, &names, time_name.as_ref(), opts)?;
    let idx = column_indices(path, &names, &wanted)?;
    let hint = row_hint(size_hint, pending.first());
    let time = time_name
        .as_ref()
        .map(|t| TimeBuilder::with_kind(t.clone(), time_kind == Some(TimeKind::Date), hint));
    let mut rows = RowReader {
        path,
        time_at: time_idx.zip(time_kind),
        time,
        text_times: TextTimes::new(),
        time_col_name: time_name.clone().unwrap_or_default(),
        idx,
        cells: RawMatrix::new(wanted.len(), hint),
        errors: FirstErrors {
            numeric: (0..wanted.len()).map(|_| None).collect(),
            ..Default::default()
        },
        wanted,
        row: 0,
    };
    for rec in pending.drain(..) {
        rows.read(&rec);
    }
    for rec in records {
        let rec = rec.map_err(|e| csv_error(path, e))?;
        rows.read(&rec);
    }
    rows.finish(opts)
}

/// The header's column names (duplicates renamed); an error for an empty header or a single
/// column that shows another separator than the comma.
fn header_names<R: std::io::Read>(path: &Path, rdr: &mut csv::Reader<R>) -> Result<Vec<String>> {
    let header = rdr.headers().map_err(|e| csv_error(path, e))?.clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let names = dedup_names(&header);
    // One column whose name holds a semicolon or a tab: another separator than the comma.
    if let [only] = names.as_slice()
        && let Some(e) = other_separator(path, only)
    {
        return Err(e);
    }
    Ok(names)
}

/// The first non-empty value of column `col` among `recs`.
fn first_non_empty(recs: &[csv::StringRecord], col: usize) -> Option<String> {
    recs.iter()
        .filter_map(|r| r.get(col))
        .find(|v| !v.is_empty())
        .map(str::to_string)
}

/// Moves records from `records` to `pending` until `enough(pending)` or the records end.
fn read_ahead(
    path: &Path,
    records: &mut impl Iterator<Item = csv::Result<csv::StringRecord>>,
    pending: &mut Vec<csv::StringRecord>,
    enough: impl Fn(&[csv::StringRecord]) -> bool,
) -> Result<()> {
    while !enough(pending) {
        match records.next() {
            Some(r) => pending.push(r.map_err(|e| csv_error(path, e))?),
            None => break,
        }
    }
    Ok(())
}

/// How time column `i` is read, from its first value (read ahead for when detection did not
/// need it): numbers, or else dates.
fn time_kind_of(
    path: &Path,
    records: &mut impl Iterator<Item = csv::Result<csv::StringRecord>>,
    pending: &mut Vec<csv::StringRecord>,
    i: usize,
) -> Result<TimeKind> {
    read_ahead(path, records, pending, |recs| {
        first_non_empty(recs, i).is_some()
    })?;
    if first_non_empty(pending, i).is_some_and(|v| looks_numeric(&v)) {
        Ok(TimeKind::Numeric)
    } else {
        Ok(TimeKind::Date)
    }
}

/// The position in `names` of each wanted column.
fn column_indices(path: &Path, names: &[String], wanted: &[String]) -> Result<Vec<usize>> {
    let not_found = |c: &str| DataError::ColumnNotFound {
        path: path.to_path_buf(),
        column: c.to_string(),
        available: names.join(", "),
    };
    wanted
        .iter()
        .map(|w| {
            names
                .iter()
                .position(|n| n == w)
                .ok_or_else(|| not_found(w))
        })
        .collect()
}

/// A row-count estimate from the file size and the first record keeps the column buffers from
/// doubling far past the data.
fn row_hint(size_hint: Option<u64>, first: Option<&csv::StringRecord>) -> usize {
    size_hint
        .zip(first)
        .map(|(len, r)| {
            let line = r.as_slice().len() + r.len();
            (len as usize / line.max(1)).saturating_add(16).min(1 << 26)
        })
        .unwrap_or(0)
}

/// Reads records one by one into the time index and the numeric columns, remembering the first
/// error of each part.
struct RowReader<'p> {
    path: &'p Path,
    /// The time column's position and how it is read.
    time_at: Option<(usize, TimeKind)>,
    /// The time index being built.
    time: Option<TimeBuilder>,
    /// How the time column's text is read (dates such as `01/02/2020`: in one order).
    text_times: TextTimes,
    time_col_name: String,
    /// The positions of the wanted value columns.
    idx: Vec<usize>,
    wanted: Vec<String>,
    cells: RawMatrix,
    errors: FirstErrors,
    /// Records read so far.
    row: usize,
}

impl RowReader<'_> {
    /// Reads one record.
    fn read(&mut self, rec: &csv::StringRecord) {
        self.read_time(rec);
        self.read_values(rec);
        self.row += 1;
    }

    /// Reads the record's time stamp; after the first bad one the index is not kept (the load
    /// fails).
    fn read_time(&mut self, rec: &csv::StringRecord) {
        let (Some((ti, kind)), Some(b)) = (self.time_at, self.time.as_mut()) else {
            return;
        };
        let v = rec.get(ti).unwrap_or("");
        let bad = || DataError::BadTimestamp {
            path: self.path.to_path_buf(),
            column: self.time_col_name.clone(),
            row: self.row + 1,
            value: v.to_string(),
        };
        if self.errors.time.is_none() {
            match kind {
                TimeKind::Numeric => match v.trim().parse::<f64>() {
                    Ok(x) if !v.trim().is_empty() && x.is_finite() => b.push(x, v.trim()),
                    _ => self.errors.time = Some(bad()),
                },
                TimeKind::Date => {
                    if !self.text_times.push(v, b) {
                        self.errors.time = Some(bad());
                    }
                }
            }
        }
    }

    /// Reads the record's wanted cells: empty, a number, or NaN for a non-numeric cell.
    fn read_values(&mut self, rec: &csv::StringRecord) {
        for (k, &ci) in self.idx.iter().enumerate() {
            let cell = rec.get(ci).unwrap_or("").trim();
            if cell.is_empty() {
                self.cells.push(None);
                continue;
            }
            match parse_number(cell) {
                Some(x) => self.cells.push(Some(x)),
                None => {
                    if self.errors.numeric[k].is_none() {
                        self.errors.numeric[k] = Some(DataError::NonNumeric {
                            path: self.path.to_path_buf(),
                            column: self.wanted[k].clone(),
                            row: self.row + 1,
                            value: cell.to_string(),
                        });
                    }
                    self.cells.push(Some(f64::NAN));
                }
            }
        }
    }

    /// The first time error, else the first non-numeric cell, else the validated frame.
    fn finish(self, opts: &LoadOptions) -> Result<Frame> {
        if let Some(e) = self.errors.time {
            return Err(e);
        }
        if let Some(e) = self.errors.numeric.into_iter().flatten().next() {
            return Err(e);
        }
        let mut cells = self.cells;
        cells.shrink_to_fit();
        let text_times = self.text_times;
        let time = self.time.map(|mut b| {
            text_times.finish(&mut b);
            b.finish()
        });
        finish(self.path, self.wanted, cells, time, opts)
    }
}

/// The time column: a column with a time-like name, or a first column whose first value is a date.
fn detect(names: &[String], first_value: Option<&str>) -> Option<String> {
    if let Some(n) = time_named_column(names) {
        return Some(n);
    }
    let first = names.first()?;
    let v = first_value?;
    (!looks_numeric(v) && parse_time(v).is_some()).then(|| first.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(sep: char) -> String {
        let mut s = format!("date{sep}a{sep}b\n");
        for i in 0..20 {
            s.push_str(&format!("2000-01-{:02}{sep}{i}{sep}{}\n", i + 1, i * 2));
        }
        s
    }

    /// A file in another separator or encoding is named as such (issue 13.7).
    #[test]
    fn separators_encodings_and_compression_are_named() {
        let opts = LoadOptions::default();
        let src = Path::new("x.csv");
        read_csv(src, text(',').as_bytes(), None, &opts).unwrap();
        for (sep, name) in [(';', "semicolon-separated"), ('\t', "tab-separated")] {
            let e = read_csv(src, text(sep).as_bytes(), None, &opts).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
        let mut bytes = text(',').into_bytes();
        let at = bytes.len() - 3;
        bytes[at] = 0xe9;
        let e = read_csv(src, bytes.as_slice(), None, &opts).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("not UTF-8") && msg.contains("row 20"), "{msg}");
        assert!(
            msg.contains("column 3") && msg.contains("re-encode"),
            "{msg}"
        );
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("x.csv.gz");
        std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0]).unwrap();
        let e = load_csv(&gz, &opts).unwrap_err();
        assert!(e.to_string().contains("gzip-compressed"), "{e}");
        // The same checks on bytes, for other readers.
        check_csv_text(src, text(',').as_bytes()).unwrap();
        let e = check_csv_text(src, &[0x1f, 0x8b, 8]).unwrap_err();
        assert!(e.to_string().contains("gzip-compressed"), "{e}");
        let e = check_csv_text(src, b"PAR1\x15\x04").unwrap_err();
        assert!(e.to_string().contains("Parquet"), "{e}");
        let pq = dir.path().join("t.csv");
        std::fs::write(&pq, b"PAR1\x15\x04\x15\xff").unwrap();
        let e = load_csv(&pq, &opts).unwrap_err();
        assert!(e.to_string().contains(".parquet"), "{e}");
        let e = check_csv_text(src, text(';').as_bytes()).unwrap_err();
        assert!(e.to_string().contains("semicolon-separated"), "{e}");
        let e = check_csv_text(src, &bytes).unwrap_err();
        assert!(e.to_string().contains("not UTF-8 text (row 20"), "{e}");
    }

    fn dated(dates: &[String]) -> String {
        let mut s = String::from("date,a\n");
        for (i, d) in dates.iter().enumerate() {
            s.push_str(&format!("{d},{i}\n"));
        }
        s
    }

    /// Dates such as `01/02/1980` are read in one order for the whole column: a value that only
    /// one order parses decides, else the order with regular steps; monthly day-first dates
    /// were read as twelve days and a jump before (a season of 7 instead of 12).
    #[test]
    fn day_and_month_are_read_in_one_order_per_column() {
        let opts = LoadOptions::default();
        let src = Path::new("x.csv");
        let labels = |text: String| {
            let f = read_csv(src, text.as_bytes(), None, &opts).unwrap();
            (0..f.n_rows()).map(|r| f.label(r)).collect::<Vec<_>>()
        };
        let months: Vec<String> = (0..30)
            .map(|i| format!("01/{:02}/{}", i % 12 + 1, 1980 + i / 12))
            .collect();
        let got = labels(dated(&months));
        assert_eq!(got[1], "1980-02-01");
        assert_eq!(got[12], "1981-01-01");
        // The same dates month first, with `-` and a time: the order the values allow.
        let us: Vec<String> = (0..30)
            .map(|i| format!("{:02}-01-{} 06:30", i % 12 + 1, 1980 + i / 12))
            .collect();
        let got = labels(dated(&us));
        assert_eq!(got[1], "1980-02-01 06:30:00");
        // Daily, day first: the 13th decides, though the first twelve rows read both ways.
        let days: Vec<String> = (1..=20).map(|d| format!("{d:02}/03/2021")).collect();
        let got = labels(dated(&days));
        assert_eq!(
            (got[0].as_str(), got[19].as_str()),
            ("2021-03-01", "2021-03-20")
        );
        // Daily, month first.
        let days: Vec<String> = (1..=20).map(|d| format!("3/{d}/2021")).collect();
        assert_eq!(labels(dated(&days))[19], "2021-03-20");
        // A value no order reads is refused at its row.
        let mut bad = months.clone();
        bad[20] = "13/13/1981".into();
        let e = read_csv(src, dated(&bad).as_bytes(), None, &opts).unwrap_err();
        assert!(
            e.to_string().contains("row 21") && e.to_string().contains("13/13/1981"),
            "{e}"
        );
        // Day first until row 13, then a month-first date: no order reads both.
        let mut mixed = days.clone();
        mixed[0] = "13/03/2021".into();
        let e = read_csv(src, dated(&mixed).as_bytes(), None, &opts).unwrap_err();
        assert!(
            e.to_string().contains("row 13") && e.to_string().contains("3/13/2021"),
            "{e}"
        );
    }

    /// A cell that is not a number says what to do about it.
    #[test]
    fn non_numbers_come_with_a_hint() {
        let opts = LoadOptions::default();
        let src = Path::new("x.csv");
        for (cell, hint) in [
            ("\"1,234\"", "thousands separators"),
            ("12.5%", "without the '%'"),
            ("high", "--features"),
        ] {
            let text = format!("date,a\n2020-01-01,1\n2020-01-02,{cell}\n");
            let e = read_csv(src, text.as_bytes(), None, &opts)
                .unwrap_err()
                .to_string();
            assert!(e.contains("row 2") && e.contains(hint), "{e}");
        }
        // A local clock time repeated at the end of daylight saving time.
        let text = "time,a\n2021-10-31 01:00,1\n2021-10-31 02:00,2\n2021-10-31 02:00,3\n";
        let e = read_csv(src, text.as_bytes(), None, &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 3") && e.contains("daylight saving"), "{e}");
        let text = "date,a\n2021-10-30,1\n2021-10-30,2\n";
        let e = read_csv(src, text.as_bytes(), None, &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate") && !e.contains("daylight"), "{e}");
    }
}
