//! Trial records: states and frozen (stored) trials.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::distribution::{Distribution, ParamValue};

/// A trial's state, with Optuna's numbers (`RUNNING` 0 … `WAITING` 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrialState {
    /// Being evaluated.
    Running,
    /// Finished with a value.
    Complete,
    /// Stopped by the pruner.
    Pruned,
    /// The objective failed (error, panic, NaN).
    Fail,
    /// Queued, not started.
    Waiting,
}

impl TrialState {
    /// Optuna's number.
    pub fn code(self) -> u8 {
        match self {
            Self::Running => 0,
            Self::Complete => 1,
            Self::Pruned => 2,
            Self::Fail => 3,
            Self::Waiting => 4,
        }
    }

    /// From Optuna's number.
    pub fn from_code(c: u64) -> Option<Self> {
        Some(match c {
            0 => Self::Running,
            1 => Self::Complete,
            2 => Self::Pruned,
            3 => Self::Fail,
            4 => Self::Waiting,
            _ => return None,
        })
    }

    /// Complete, pruned or failed.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Complete | Self::Pruned | Self::Fail)
    }
}

/// A stored trial.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenTrial {
    /// Storage-wide id (Optuna's `_trial_id`).
    pub trial_id: usize,
    /// 0-based number within the study.
    pub number: usize,
    /// State.
    pub state: TrialState,
    /// Objective value (complete trials).
    pub value: Option<f64>,
    /// Parameters in internal representation (categorical: choice index).
    pub params: BTreeMap<String, f64>,
    /// Each parameter's distribution.
    pub distributions: BTreeMap<String, Distribution>,
    /// Intermediate values by step.
    pub intermediate: BTreeMap<i64, f64>,
    /// Start time.
    pub datetime_start: Option<DateTime<Utc>>,
    /// End time.
    pub datetime_complete: Option<DateTime<Utc>>,
    /// User attributes.
    pub user_attrs: serde_json::Map<String, Value>,
    /// System attributes (pruner rungs, failure reasons, ...).
    pub system_attrs: serde_json::Map<String, Value>,
}

impl FrozenTrial {
    /// A fresh running trial.
    pub fn new(trial_id: usize, number: usize, start: Option<DateTime<Utc>>) -> Self {
        Self {
            trial_id,
            number,
            state: TrialState::Running,
            value: None,
            params: BTreeMap::new(),
            distributions: BTreeMap::new(),
            intermediate: BTreeMap::new(),
            datetime_start: start,
            datetime_complete: None,
            user_attrs: Default::default(),
            system_attrs: Default::default(),
        }
    }

    /// The last reported step.
    pub fn last_step(&self) -> Option<i64> {
        self.intermediate.keys().next_back().copied()
    }

    /// A parameter's user-facing value.
    pub fn param(&self, name: &str) -> Option<ParamValue> {
        let v = *self.params.get(name)?;
        Some(self.distributions.get(name)?.external(v))
    }

    /// Every parameter's user-facing value.
    pub fn external_params(&self) -> BTreeMap<String, ParamValue> {
        self.params
            .keys()
            .filter_map(|k| Some((k.clone(), self.param(k)?)))
            .collect()
    }

    /// How the trial ended, for a progress line: `value 0.123456`, `pruned at epoch 3`,
    /// `failed: REASON`, or the state's name.
    pub fn outcome(&self) -> String {
        match self.state {
            TrialState::Complete => match self.value {
                Some(v) => format!("value {v:.6}"),
                None => "value -".into(),
            },
            TrialState::Pruned => format!("pruned at epoch {}", self.last_step().unwrap_or(0)),
            TrialState::Fail => format!(
                "failed: {}",
                self.system_attrs
                    .get("fail_reason")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
            ),
            other => format!("{other:?}"),
        }
    }

    /// Seconds between start and end, when both are known.
    pub fn duration_seconds(&self) -> Option<f64> {
        let (a, b) = (self.datetime_start?, self.datetime_complete?);
        Some((b - a).num_microseconds()? as f64 / 1e6)
    }
}

/// Which way the objective should go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Lower is better.
    #[default]
    Minimize,
    /// Higher is better.
    Maximize,
}

impl Direction {
    /// Optuna's `StudyDirection` number (1 minimise, 2 maximise).
    pub fn code(self) -> u8 {
        match self {
            Self::Minimize => 1,
            Self::Maximize => 2,
        }
    }

    /// From Optuna's number (0 = not set is read as minimise).
    pub fn from_code(c: u64) -> Option<Self> {
        match c {
            0 | 1 => Some(Self::Minimize),
            2 => Some(Self::Maximize),
            _ => None,
        }
    }

    /// Whether `a` is better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Self::Minimize => a < b,
            Self::Maximize => a > b,
        }
    }

    /// The value as a loss (lower is better).
    pub fn loss(self, v: f64) -> f64 {
        match self {
            Self::Minimize => v,
            Self::Maximize => -v,
        }
    }
}

impl std::str::FromStr for Direction {
    type Err = crate::TuneError;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "minimize" | "minimise" | "min" => Ok(Self::Minimize),
            "maximize" | "maximise" | "max" => Ok(Self::Maximize),
            _ => Err(crate::error::invalid_option(
                "direction",
                s,
                "expected minimize or maximize",
            )),
        }
    }
}
