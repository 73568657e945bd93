//! `optimization_results.json`: every trial, the best one and the parameter importances.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::distribution::ParamValue;
use crate::error::Result;
use crate::importance::{Importances, ped_anova};
use crate::study::{Study, best_of};
use crate::trial::{Direction, FrozenTrial, TrialState};

/// One trial in the results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// 0-based number.
    pub number: usize,
    /// State.
    pub state: TrialState,
    /// Parameters (user-facing values).
    pub params: BTreeMap<String, ParamValue>,
    /// Objective value (complete trials; the last intermediate value of pruned ones).
    pub value: Option<f64>,
    /// Seconds from start to end.
    pub duration_seconds: Option<f64>,
    /// Intermediate values as `[step, value]` pairs.
    pub intermediate_values: Vec<(i64, f64)>,
    /// Why the trial failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// Start time (UTC, RFC 3339).
    pub datetime_start: Option<String>,
    /// User attributes (for the LSTM objective: `best_epoch`, `epochs_run`).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub user_attrs: serde_json::Map<String, serde_json::Value>,
}

impl From<&FrozenTrial> for TrialRecord {
    fn from(t: &FrozenTrial) -> Self {
        Self {
            number: t.number,
            state: t.state,
            params: t.external_params(),
            value: t.value.filter(|v| v.is_finite()),
            duration_seconds: t.duration_seconds(),
            intermediate_values: t.intermediate.iter().map(|(k, v)| (*k, *v)).collect(),
            fail_reason: t
                .system_attrs
                .get("fail_reason")
                .and_then(|v| v.as_str())
                .map(str::to_string),
            datetime_start: t.datetime_start.map(|d| d.to_rfc3339()),
            user_attrs: t.user_attrs.clone(),
        }
    }
}

/// Counts of trials by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateCounts {
    /// Complete.
    pub complete: usize,
    /// Pruned.
    pub pruned: usize,
    /// Failed.
    pub fail: usize,
    /// Still running (or abandoned by a killed worker).
    pub running: usize,
    /// Waiting.
    pub waiting: usize,
}

/// `3 complete, 1 pruned, 0 failed` (and `, 1 running or abandoned` when any is).
impl std::fmt::Display for StateCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} complete, {} pruned, {} failed",
            self.complete, self.pruned, self.fail
        )?;
        if self.running > 0 {
            write!(f, ", {} running or abandoned", self.running)?;
        }
        Ok(())
    }
}

/// The whole results file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizationResults {
    /// Study name.
    pub study_name: String,
    /// Direction.
    pub direction: Direction,
    /// What is optimised, e.g. "validation loss (MSE, scaled units)".
    pub objective: String,
    /// Sampler.
    pub sampler: String,
    /// Pruner.
    pub pruner: String,
    /// Storage.
    pub storage: String,
    /// Trials by state.
    pub counts: StateCounts,
    /// Every trial in number order.
    pub trials: Vec<TrialRecord>,
    /// The best completed trial.
    pub best: Option<TrialRecord>,
    /// Parameter importances (with the method's name).
    pub importances: Importances,
}

impl OptimizationResults {
    /// The best trial (its number, value and parameters) and the parameter importances, as
    /// printed lines; `None` without a completed trial.
    pub fn best_summary(&self) -> Option<String> {
        let best = self.best.as_ref()?;
        let value = best.value.map_or_else(|| "-".into(), |v| format!("{v:.6}"));
        let mut s = format!("Best trial {}: validation loss {value}\n", best.number);
        for (k, v) in &best.params {
            s += &format!("  {k}: {}\n", v.label());
        }
        s += &format!("Parameter importance ({}):\n", self.importances.method);
        for (k, v) in &self.importances.values {
            s += &format!("  {k}: {v:.3}\n");
        }
        Some(s)
    }

    /// Collects a study's results.
    pub fn of(study: &Study, objective: &str) -> Result<Self> {
        let trials = study.trials()?;
        Ok(Self::from_trials(
            study.name(),
            study.direction(),
            objective,
            &study.sampler_name(),
            &study.pruner_name(),
            &study.storage_name(),
            &trials,
        ))
    }

    /// Collects results from a list of trials.
    pub fn from_trials(
        name: &str,
        direction: Direction,
        objective: &str,
        sampler: &str,
        pruner: &str,
        storage: &str,
        trials: &[FrozenTrial],
    ) -> Self {
        let mut counts = StateCounts::default();
        for t in trials {
            match t.state {
                TrialState::Complete => counts.complete += 1,
                TrialState::Pruned => counts.pruned += 1,
                TrialState::Fail => counts.fail += 1,
                TrialState::Running => counts.running += 1,
                TrialState::Waiting => counts.waiting += 1,
            }
        }
        Self {
            study_name: name.into(),
            direction,
            objective: objective.into(),
            sampler: sampler.into(),
            pruner: pruner.into(),
            storage: storage.into(),
            counts,
            trials: trials.iter().map(TrialRecord::from).collect(),
            best: best_of(trials, direction).as_ref().map(TrialRecord::from),
            importances: ped_anova(trials, direction),
        }
    }
}
