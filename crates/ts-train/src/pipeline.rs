//! The whole workflow as library calls, one module per concern, gathered here: [`mod@crate::fit`]
//! (prepare, train the candidates, keep the best, score the test part, model files),
//! [`crate::bundle`] (a saved model: load, align, evaluate, predict) and [`crate::predictions`]
//! (forecast rows, CSV, chart series). [`crate::run`] is the front door over them.

use serde::{Deserialize, Serialize};
use ts_data::Frame;

pub use crate::bundle::*;
pub use crate::fit::*;
pub use crate::predictions::*;
/// The writer string stored in model files.
pub fn writer() -> String {
    format!("tsf {}", env!("CARGO_PKG_VERSION"))
}

/// A short description of a loaded table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// Source path.
    pub source: String,
    /// Rows.
    pub rows: usize,
    /// Value columns.
    pub columns: Vec<String>,
    /// Time column, if any.
    pub time_column: Option<String>,
    /// First time label.
    pub start: String,
    /// Last time label.
    pub end: String,
    /// Steps longer than the time index's usual one (rows missing from a regular table), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gaps: Option<ts_data::TimeGaps>,
    /// What the missing-value policy filled or dropped, if anything.
    #[serde(default, skip_serializing_if = "ts_data::MissingFilled::is_empty")]
    pub missing: ts_data::MissingFilled,
}

impl DataSummary {
    /// Summarises a frame.
    pub fn of(frame: &Frame) -> Self {
        let (start, end) = frame.date_range();
        Self {
            source: frame.source.display().to_string(),
            rows: frame.n_rows(),
            // The table's own columns (not the calendar inputs appended for the network).
            columns: frame
                .columns
                .iter()
                .filter(|c| !ts_data::calendar::is_calendar_column(c))
                .cloned()
                .collect(),
            time_column: frame.time.as_ref().map(|t| t.column.clone()),
            start,
            end,
            gaps: ts_data::time_gaps(frame),
            missing: frame.missing.clone(),
        }
    }
}
