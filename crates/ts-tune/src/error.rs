//! Errors of the tuning layer.

use std::path::PathBuf;

/// What can go wrong while defining, running or storing a study.
#[derive(Debug, thiserror::Error)]
pub enum TuneError {
    /// A search-space definition is invalid (empty or inverted range, log range with low ≤ 0,
    /// empty choice list, ...).
    #[error("parameter {name:?}: {reason}")]
    InvalidDistribution {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A parameter was asked for with a distribution that differs from an earlier one.
    #[error("parameter {name:?} was asked for as {new} but earlier as {old}")]
    IncompatibleDistribution {
        /// The parameter.
        name: String,
        /// The earlier distribution.
        old: String,
        /// The new distribution.
        new: String,
    },
    /// A journal file cannot be read or is not a journal.
    #[error("{path}: line {line}: {reason}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A stored study does not fit the requested one.
    #[error("study {name:?}: {reason}")]
    Study {
        /// The study name.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// An I/O error on a storage file.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        message: String,
    },
    /// A database storage cannot be opened or used: a malformed URL, an unreachable or
    /// refusing server, a schema Optuna 5.0.0 would refuse, a failed statement.
    #[error("{url}: {reason}")]
    Storage {
        /// The storage URL (password hidden).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A storage operation referred to an unknown or finished trial.
    #[error("trial {trial_id}: {reason}")]
    Trial {
        /// The storage's trial id.
        trial_id: usize,
        /// What is wrong.
        reason: String,
    },
    /// An option of the study, sampler, pruner or objective is out of range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidOption {
        /// The option.
        name: String,
        /// Its value.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
    /// The study has no completed trial.
    #[error("study {name:?} has no completed trial")]
    NoCompletedTrial {
        /// The study name.
        name: String,
    },
    /// A training error from the LSTM objective (feature `lstm`).
    #[cfg(feature = "lstm")]
    #[error(transparent)]
    Train(#[from] ts_train::TrainError),
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, TuneError>;

pub(crate) fn invalid_option(name: &str, value: impl ToString, reason: &str) -> TuneError {
    TuneError::InvalidOption {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
