//! Errors of the training layer.

/// What can go wrong while fitting, evaluating or predicting.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A data problem (file, column, row, value).
    #[error(transparent)]
    Data(#[from] ts_data::DataError),
    /// A model problem (configuration or model file).
    #[error(transparent)]
    Model(#[from] ts_model::ModelError),
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
    /// Training diverged (the loss became NaN or infinite).
    #[error(
        "training diverged at epoch {epoch}: the loss is {loss}; lower the learning rate or enable gradient clipping"
    )]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// The loss value.
        loss: f64,
    },
    /// A training checkpoint cannot be written or read.
    #[error("{}: checkpoint: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model is too large to train on this machine (see [`crate::memory`]).
    #[error(
        "the model is too large for this machine: {settings} give {parameters} parameters, and training needs about {needed} (weights, gradients, Adam state and one batch's activations) but {available} of memory is available; lower --hidden-size, --num-layers, --ensemble or --batch-size"
    )]
    TooLarge {
        /// The sizes, as flags with their values.
        settings: String,
        /// Trainable parameters.
        parameters: u128,
        /// Estimated bytes needed, in words.
        needed: String,
        /// Bytes available, in words.
        available: String,
    },
    /// A forecast could not be computed or read back (never turned into an empty result that
    /// would look like a zero loss).
    #[error("inference failed: {message}")]
    Inference {
        /// What went wrong.
        message: String,
    },
    /// No target column is set.
    #[error(
        "no target: pass --target COLUMN (one of: {columns}), a comma-separated list, or \"all\""
    )]
    NoTarget {
        /// The data's columns, comma-separated.
        columns: String,
    },
    /// A configuration file cannot be read or holds a wrong value.
    #[error("{}: {message}", path.display())]
    ConfigFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A run's output folder or file cannot be used or written.
    #[error("{}: {message}", path.display())]
    Output {
        /// The folder or file.
        path: std::path::PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Training was interrupted.
    #[error("training interrupted at epoch {epoch}")]
    Interrupted {
        /// Epoch reached.
        epoch: usize,
    },
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, TrainError>;

pub(crate) fn invalid(name: &str, value: impl ToString, reason: &str) -> TrainError {
    TrainError::InvalidConfig {
        name: name.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}
