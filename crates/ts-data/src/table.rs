//! Tables read as text: every column kept as it is written, for readers that need the cells
//! themselves (group columns, writing a table back with columns added) rather than a validated
//! numeric [`Frame`](crate::Frame).
//!
//! Files pass the same checks as [`load`](crate::load()): a CSV file must be UTF-8,
//! comma-separated text that is not gzip-compressed ([`check_csv_text`](crate::check_csv_text));
//! a Parquet file has its footer and page headers checked before it is decoded, a column of a type
//! ts-data does not read is refused by name, and a panic inside the Parquet reader becomes an error
//! naming the file.

use std::path::{Path, PathBuf};

#[cfg(feature = "parquet")]
use polars::prelude::*;

use crate::error::{DataError, Result};
#[cfg(feature = "parquet")]
use crate::load::first_line;
#[cfg(feature = "parquet")]
use crate::parquet_load::{guard_panics, readable_parquet_type};

/// A table read as text.
#[derive(Debug, Clone, PartialEq)]
pub struct TextTable {
    /// Where it was read from.
    pub source: PathBuf,
    /// Column names (a repeated CSV name gets `_duplicated_K`, as [`load`](crate::load()) does).
    pub names: Vec<String>,
    /// Cells per column (`None` = empty).
    pub columns: Vec<Vec<Option<String>>>,
}

fn unreadable(path: &Path, message: impl std::fmt::Display) -> DataError {
    DataError::Unreadable {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

impl TextTable {
    /// Reads a CSV file (or, by the extension `.parquet`/`.pq`, a Parquet file) as text, with the
    /// checks described in the [module documentation](self).
    ///
    /// # Errors
    /// A missing, empty or unreadable file, text that is not UTF-8 or not comma-separated,
    /// rows of different lengths, a damaged Parquet file or a Parquet column of a type ts-data
    /// does not read; each names the file (and the row or column where known).
    pub fn read(path: &Path) -> Result<Self> {
        crate::load::check_input_file(path)?;
        let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
        let parquet = crate::load::is_parquet(path);
        let (names, columns) = if parquet {
            read_parquet(path, bytes)?
        } else {
            read_csv_text(path, &bytes)?
        };
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

    /// Whether the table has a column.
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// The cells of a column.
    ///
    /// # Errors
    /// [`DataError::ColumnNotFound`], listing the columns there are.
    pub fn column(&self, name: &str) -> Result<&[Option<String>]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
            .ok_or_else(|| DataError::ColumnNotFound {
                path: self.source.clone(),
                column: name.into(),
                available: self.names.join(", "),
            })
    }

    /// The first non-empty cell of a column that is not a number, as (1-based row, text); `None`
    /// when every non-empty cell is a number (or the column does not exist).
    pub fn first_text_cell(&self, name: &str) -> Option<(usize, String)> {
        self.column(name)
            .ok()?
            .iter()
            .enumerate()
            .find_map(|(r, c)| {
                let v = c.as_deref()?.trim();
                (!v.is_empty() && v.parse::<f64>().is_err()).then(|| (r + 1, v.to_string()))
            })
    }

    /// Columns with at least one value whose every non-empty cell is a number.
    pub fn numeric_columns(&self) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.columns)
            .filter(|(_, c)| {
                c.iter().any(Option::is_some)
                    && c.iter()
                        .flatten()
                        .all(|v| v.trim().is_empty() || v.trim().parse::<f64>().is_ok())
            })
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The table as CSV text with `extra` columns (name, one cell per row) added at the end; a
    /// column of the table with the same name as an extra column is replaced by it.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] when an extra column does not have one cell per row.
    pub fn to_csv(&self, extra: &[(&str, &[String])]) -> Result<String> {
        let n = self.n_rows();
        if let Some((name, cells)) = extra.iter().find(|(_, c)| c.len() != n) {
            return Err(DataError::InvalidConfig {
                name: format!("column {name:?} of {}", self.source.display()),
                value: format!("{} cells", cells.len()),
                reason: format!("the table has {n} rows"),
            });
        }
        let kept: Vec<usize> = (0..self.names.len())
            .filter(|&i| !extra.iter().any(|(name, _)| *name == self.names[i]))
            .collect();
        let mut header: Vec<String> = kept.iter().map(|&i| csv_cell(&self.names[i])).collect();
        header.extend(extra.iter().map(|(name, _)| csv_cell(name)));
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
            cells.extend(extra.iter().map(|(_, c)| csv_cell(&c[r])));
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

type Columns = (Vec<String>, Vec<Vec<Option<String>>>);

fn read_csv_text(path: &Path, bytes: &[u8]) -> Result<Columns> {
    crate::check_csv_text(path, bytes)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = rdr
        .headers()
        .map_err(|e| crate::csv_load::csv_error(path, e))?
        .clone();
    if header.is_empty() || (header.len() == 1 && header[0].trim().is_empty()) {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    let names = crate::csv_load::dedup_names(&header);
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    for record in rdr.records() {
        let record = record.map_err(|e| crate::csv_load::csv_error(path, e))?;
        for (col, cell) in columns.iter_mut().zip(record.iter()) {
            col.push((!cell.is_empty()).then(|| cell.to_string()));
        }
    }
    Ok((names, columns))
}

/// Without the `parquet` feature a Parquet file is refused by name.
#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path, _bytes: Vec<u8>) -> Result<Columns> {
    Err(crate::load::no_parquet(path))
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path, bytes: Vec<u8>) -> Result<Columns> {
    let failed = |e: PolarsError| unreadable(path, first_line(&e.to_string()));
    guard_panics(path, || {
        crate::parquet_check::check_page_headers(path, bytes)
    })??;
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
    let mut reader = ParquetReader::new(file);
    let schema = guard_panics(path, || reader.schema())?.map_err(failed)?;
    // polars panics on a type it was built without, naming no column: refuse it first, by name.
    if let Some(field) = schema
        .iter_values()
        .find(|f| !readable_parquet_type(&f.dtype))
    {
        return Err(unreadable(
            path,
            format!(
                "column {:?} is of type {:?}, which cannot be read (numbers, booleans, strings, dates and date-times can); drop or convert that column",
                field.name.as_str(),
                field.dtype
            ),
        ));
    }
    let df = guard_panics(path, || reader.finish())?.map_err(failed)?;
    guard_panics(path, || -> Result<Columns> {
        let mut names = Vec::new();
        let mut columns = Vec::new();
        for col in df.columns() {
            names.push(col.name().to_string());
            let s = col.cast(&DataType::String).map_err(failed)?;
            let ca = s.str().map_err(failed)?;
            columns.push(ca.iter().map(|v| v.map(str::to_string)).collect());
        }
        Ok((names, columns))
    })?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    #[test]
    fn csv_cells_as_text() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "t.csv",
            b"date,a,a,label\n2000-01-01,1,2,x\n2000-02-01,,3,\"y,z\"\n",
        );
        let t = TextTable::read(&p).unwrap();
        assert_eq!(t.names, ["date", "a", "a_duplicated_0", "label"]);
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.column("a").unwrap(), [Some("1".to_string()), None]);
        assert_eq!(t.column("label").unwrap()[1].as_deref(), Some("y,z"));
        assert_eq!(t.numeric_columns(), ["a", "a_duplicated_0"]);
        assert_eq!(t.first_text_cell("label"), Some((1, "x".into())));
        assert_eq!(t.first_text_cell("a"), None);
        let e = t.column("nope").unwrap_err().to_string();
        assert!(
            e.contains("t.csv") && e.contains("\"nope\"") && e.contains("label"),
            "{e}"
        );
        let g = vec!["p".to_string(), "q".to_string()];
        assert_eq!(
            t.to_csv(&[("label", &g)]).unwrap(),
            "date,a,a_duplicated_0,label\n2000-01-01,1,2,p\n2000-02-01,,3,q\n"
        );
        assert!(t.to_csv(&[("G", &g[..1])]).is_err());
    }

    #[test]
    fn bad_files_are_named() {
        let d = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], &str); 5] = [
            ("gz.csv", &[0x1f, 0x8b, 8, 0], "gzip"),
            ("latin.csv", b"a,b\n1,\xe9\n", "not UTF-8"),
            ("semi.csv", b"a;b\n1;2\n", "semicolon"),
            ("ragged.csv", b"a,b\n1,2\n3\n", "ragged.csv"),
            (
                "broken.parquet",
                b"PAR1 not really parquet PAR1",
                "broken.parquet",
            ),
        ];
        for (name, bytes, words) in cases {
            let p = write(d.path(), name, bytes);
            let e = TextTable::read(&p).unwrap_err().to_string();
            assert!(e.contains(words) && e.contains(name), "{name}: {e}");
        }
        let e = TextTable::read(&d.path().join("none.csv")).unwrap_err();
        assert!(matches!(e, DataError::NotFound { .. }), "{e}");
        let e = TextTable::read(&write(d.path(), "empty.csv", b"")).unwrap_err();
        assert!(matches!(e, DataError::Empty { .. }), "{e}");
    }
}
