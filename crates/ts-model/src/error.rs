//! Errors of the model layer.

use std::path::PathBuf;

/// What can go wrong building, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
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
    /// The model file does not exist.
    #[error("{path}: model file not found")]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// Reading or writing failed.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The file is not a tsf model file.
    #[error("{path}: not a tsf model file (bad magic bytes)")]
    BadMagic {
        /// The path.
        path: PathBuf,
    },
    /// The file is shorter (or longer) than its header says.
    #[error("{path}: model file is truncated or padded: expected {expected} bytes, found {found}")]
    Truncated {
        /// The path.
        path: PathBuf,
        /// Size the header announces.
        expected: u64,
        /// Actual size.
        found: u64,
    },
    /// The checksum does not match: the file is corrupted.
    #[error(
        "{path}: model file is corrupted: checksum mismatch (stored {stored}, computed {computed})"
    )]
    Checksum {
        /// The path.
        path: PathBuf,
        /// Checksum stored in the file.
        stored: String,
        /// Checksum of the bytes read.
        computed: String,
    },
    /// The file was written by an incompatible version.
    #[error(
        "{path}: model file format version {found} is not supported by this tsf (reads versions 1 to {supported}); written by {writer}"
    )]
    Version {
        /// The path.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        supported: u32,
        /// Program that wrote it, when known.
        writer: String,
    },
    /// The JSON header cannot be parsed.
    #[error("{path}: invalid model header: {message}")]
    Header {
        /// The path.
        path: PathBuf,
        /// The parse error.
        message: String,
    },
    /// The weights do not match the architecture.
    #[error("{path}: invalid weights: {message}")]
    Weights {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand result type of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;
