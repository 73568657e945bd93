//! The chronological split: train | validation | test by fractions of the rows, the validation
//! part taken from the end of the training part.

use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

/// Fractions for the chronological split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Share of rows before the test part (default 0.8).
    pub train: f64,
    /// Share of the training part held out, at its end, for validation (default 0.1; 0 disables).
    pub validation: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            train: 0.8,
            validation: 0.1,
        }
    }
}

/// Row boundaries of a split: train `[0, val_start)`, validation `[val_start, test_start)`, test
/// `[test_start, n_rows)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitBounds {
    /// First validation row.
    pub val_start: usize,
    /// First test row.
    pub test_start: usize,
    /// Total rows.
    pub n_rows: usize,
}

impl SplitConfig {
    /// Validates the fractions.
    pub fn validate(&self) -> Result<()> {
        if !(self.train > 0.0 && self.train < 1.0) {
            return Err(DataError::InvalidConfig {
                name: "train_split".into(),
                value: self.train.to_string(),
                reason: "must be in (0, 1)".into(),
            });
        }
        if !(0.0..1.0).contains(&self.validation) {
            return Err(DataError::InvalidConfig {
                name: "validation".into(),
                value: self.validation.to_string(),
                reason: "must be in [0, 1)".into(),
            });
        }
        Ok(())
    }

    /// Row boundaries for `n_rows` rows.
    pub fn bounds(&self, n_rows: usize) -> SplitBounds {
        let test_start = ((n_rows as f64) * self.train).floor() as usize;
        let val_start = ((test_start as f64) * (1.0 - self.validation)).floor() as usize;
        SplitBounds {
            val_start,
            test_start,
            n_rows,
        }
    }
}
