//! Errors of the data layer. Every variant names the file, column, row or value at fault.

use std::path::PathBuf;

/// Everything that can go wrong while loading, validating, splitting, scaling or windowing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file does not exist.
    #[error("{path}: file not found")]
    NotFound {
        /// The path given.
        path: PathBuf,
    },
    /// The file exists but cannot be read or parsed as a table.
    #[error("{path}: cannot read: {message}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// What the reader said.
        message: String,
    },
    /// The file holds no data rows.
    #[error("{path}: the file is empty (no data rows)")]
    Empty {
        /// The path given.
        path: PathBuf,
    },
    /// The first line does not look like a header.
    #[error(
        "{path}: no header row: column name {name:?} looks like a value; the first line must name the columns"
    )]
    NoHeader {
        /// The path given.
        path: PathBuf,
        /// The offending "name".
        name: String,
    },
    /// A column that was asked for does not exist.
    #[error("{path}: column {column:?} not found; the columns are: {available}")]
    ColumnNotFound {
        /// The path given.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The columns that exist, comma separated.
        available: String,
    },
    /// The time column was asked for as a value (a target or an input).
    #[error(
        "{path}: column {column:?} is the time column (the rows' time stamps), not a value to \
         forecast or read; the value columns are: {available}"
    )]
    TimeColumnAsValue {
        /// The path given.
        path: PathBuf,
        /// The time column.
        column: String,
        /// The value columns, comma separated.
        available: String,
    },
    /// The header names a column twice, or a column not at all.
    #[error("{path}: header: {problem} (columns {at}); give each column its own name")]
    BadHeader {
        /// The path given.
        path: PathBuf,
        /// What is wrong, naming the column.
        problem: String,
        /// The 1-based positions of the columns concerned, comma separated.
        at: String,
    },
    /// A Parquet column to be decoded has a type ts-data does not read.
    #[error(
        "{path}: column {column:?} is of type {dtype}, which cannot be read (numbers, booleans, strings, dates and date-times can); name the columns to load so that it is left out"
    )]
    UnsupportedType {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its Arrow type, as Arrow prints it.
        dtype: String,
    },
    /// A cell of a value column is not a number.
    #[error(
        "{path}: column {column:?}, row {row}: value {value:?} is not a number{}",
        non_number_hint(value)
    )]
    NonNumeric {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row (the header is row 0).
        row: usize,
        /// The cell's text.
        value: String,
    },
    /// A number too large for the `f32` values a frame holds.
    #[error(
        "{path}: column {column:?}, row {row}: value {value} is too large (values are stored as 32-bit floats, at most about 3.4e38 in magnitude)"
    )]
    OutOfRange {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// The value.
        value: String,
    },
    /// A cell is empty, NaN or infinite and no fill policy was chosen.
    #[error(
        "{path}: column {column:?}, row {row}: {what} value (use --fill ffill|interpolate|drop to fill or drop missing values)"
    )]
    Missing {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// "empty", "NaN" or "infinite".
        what: String,
    },
    /// A missing value cannot be filled (for example a leading gap with forward fill).
    #[error(
        "{path}: column {column:?}, row {row}: missing value cannot be filled with {policy} (no earlier value); try --fill drop"
    )]
    Unfillable {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// The fill policy.
        policy: String,
    },
    /// A time stamp cannot be parsed.
    #[error(
        "{path}: time column {column:?}, row {row}: cannot parse {value:?} as a date or number"
    )]
    BadTimestamp {
        /// The path given.
        path: PathBuf,
        /// The time column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// The cell's text.
        value: String,
    },
    /// Time stamps go backwards.
    #[error(
        "{path}: time column {column:?}, row {row}: {value} comes before the previous row's {previous}; rows must be sorted by time"
    )]
    Unsorted {
        /// The path given.
        path: PathBuf,
        /// The time column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// This row's time stamp.
        value: String,
        /// The previous row's time stamp.
        previous: String,
    },
    /// The same time stamp appears twice.
    #[error(
        "{path}: time column {column:?}, row {row}: duplicate time stamp {value}{}",
        duplicate_hint(value)
    )]
    Duplicate {
        /// The path given.
        path: PathBuf,
        /// The time column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// The repeated time stamp.
        value: String,
    },
    /// Not enough rows for the requested windows and split.
    #[error("{what}: {rows} rows are too few: {needed}")]
    TooFewRows {
        /// What is short (file name or part).
        what: String,
        /// Rows available.
        rows: usize,
        /// What was needed, in words.
        needed: String,
    },
    /// A target column is constant over the training part.
    #[error(
        "{path}: target column {column:?} is constant ({value}) over the training part; there is nothing to forecast"
    )]
    ConstantTarget {
        /// The path given.
        path: PathBuf,
        /// The column.
        column: String,
        /// The constant value.
        value: f64,
    },
    /// Calendar inputs (`--calendar`, or a model that reads them) cannot be built for a table.
    #[error("calendar inputs: {reason}")]
    Calendar {
        /// Why, naming the file.
        reason: String,
    },
    /// A configuration value is out of range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidConfig {
        /// The option.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A column is named twice in a list of features or targets.
    #[error("column {column:?} is listed more than once in the {list}; name each column once")]
    DuplicateColumn {
        /// Which list: "features" or "targets".
        list: String,
        /// The repeated column.
        column: String,
    },
    /// Data does not match what a model was trained on.
    #[error("{path}: columns do not match the model: {message}")]
    SchemaMismatch {
        /// The path given.
        path: PathBuf,
        /// The difference.
        message: String,
    },
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// What to do about a cell that is not a number, judged from its text.
fn non_number_hint(value: &str) -> &'static str {
    let v = value.trim();
    let digits = v.bytes().any(|b| b.is_ascii_digit());
    if digits && v.ends_with('%') {
        " (write it without the '%')"
    } else if digits && v.contains(',') {
        " (thousands separators and decimal commas are not read: write plain numbers such as 1234.5)"
    } else {
        " (a column of text or labels cannot be an input: train with --features that leave it out)"
    }
}

/// Why a time stamp may repeat: a local clock time at the end of daylight saving time.
fn duplicate_hint(value: &str) -> &'static str {
    if value.contains(':') {
        " (local clock times repeat when daylight saving time ends: write the time stamps in UTC \
         or with their offset, such as 2021-10-31T02:00:00+01:00)"
    } else {
        ""
    }
}
