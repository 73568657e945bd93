//! Errors of the fairness layer. Every variant names the grouping, group, column or value at fault.

use std::path::PathBuf;

/// What can go wrong while making groups, auditing or mitigating.
#[derive(Debug, thiserror::Error)]
pub enum FairnessError {
    /// A data problem (file, column, row, value).
    #[cfg(feature = "table")]
    #[error(transparent)]
    Data(#[from] ts_data::DataError),
    /// A training or model problem.
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Train(#[from] ts_train::TrainError),
    /// A model file problem.
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Model(#[from] ts_model::ModelError),
    /// A column a group maker needs exists but is not numeric.
    #[error(
        "{path}: column {column:?} is not numeric ({detail}); a median split, cross or quantile bins need a numeric column"
    )]
    NotNumeric {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its first text cell, or why it has no numbers.
        detail: String,
    },
    /// A mitigation method cannot work on the data it was given (for example a group with only
    /// one class for the threshold optimizer).
    #[error("the {method} cannot be used here: {reason}")]
    Mitigation {
        /// The method.
        method: String,
        /// Why.
        reason: String,
    },
    /// A group column (or a column a group maker needs) does not exist.
    #[error("{path}: column {column:?} not found; the columns are: {available}")]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// The columns that exist, comma separated.
        available: String,
    },
    /// A grouping cannot be made or used as asked.
    #[error("grouping {grouping:?}: {reason}")]
    Grouping {
        /// The grouping (column name).
        grouping: String,
        /// What is wrong.
        reason: String,
    },
    /// Fewer than two groups have windows, so nothing can be compared.
    #[error(
        "grouping {grouping:?}: only one group ({group:?}) has windows to compare; a fairness audit needs at least two groups"
    )]
    SingleGroup {
        /// The grouping.
        grouping: String,
        /// The only group with windows.
        group: String,
    },
    /// The classification threshold lies outside the actuals, so every label is the same.
    #[error(
        "threshold {threshold} is outside the range of the actual values [{min}, {max}]: every label would be {side}; choose a threshold inside the range"
    )]
    ThresholdOutOfRange {
        /// The threshold asked for.
        threshold: f64,
        /// Smallest actual value.
        min: f64,
        /// Largest actual value.
        max: f64,
        /// "positive" or "negative".
        side: String,
    },
    /// An option or input value is out of range.
    #[error("invalid {name} = {value}: {reason}")]
    Invalid {
        /// The option or input.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, FairnessError>;

pub(crate) fn invalid(
    name: &str,
    value: impl ToString,
    reason: impl Into<String>,
) -> FairnessError {
    FairnessError::Invalid {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
