//! Error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong while drawing or writing a chart.
///
/// Every variant that concerns a file names that file, so a message such as
/// `failed to write chart file /runs/x/history.png.tmp: No space left on device`
/// can be shown to a user as it is.
#[derive(Debug, thiserror::Error)]
pub enum VizError {
    /// Creating the output directory, writing a temporary file or renaming it failed.
    #[error("failed to write chart file {}: {source}", path.display())]
    Io {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Plotters reported an error (or panicked) while drawing the chart.
    #[error("failed to draw chart {}: {message}", path.display())]
    Draw {
        /// The file the chart was being drawn for.
        path: PathBuf,
        /// What plotters reported.
        message: String,
    },
    /// Encoding the PNG image failed.
    #[error("failed to encode PNG {}: {message}", path.display())]
    Png {
        /// The PNG file being written.
        path: PathBuf,
        /// What the `png` encoder reported.
        message: String,
    },
    /// The report struct cannot be drawn (empty or mismatched series, bad stem, ...).
    #[error("invalid chart input: {0}")]
    InvalidInput(String),
}
