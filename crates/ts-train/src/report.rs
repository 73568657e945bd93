//! What a run reports, typed: `metrics.json` ([`MetricsReport`]) and the text tables printed after
//! training, evaluating or backtesting ([`EvaluationTable`], [`RunSummary`]).
//!
//! Every report is `Serialize` (the CLI writes it as JSON) and the tables implement
//! [`std::fmt::Display`], so a library user gets the same figures and the same text as `tsf`.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeMap;
use ts_data::Prepared;

use crate::config::{ForecastConfig, ModelChoice};
use crate::intervals::{
    CalibrationSet, Coverage, IntervalMethod, Intervals, RECENT_CHANGES, SCALE_FLOOR_SHARE,
    level_name,
};
use crate::metrics::{Evaluation, Score, TargetMetrics};
use crate::pipeline::{Candidate, DataSummary, FitOutcome};

/// The per-target entries of a report, written as a JSON object keyed by target, in target order.
#[derive(Debug, Clone)]
pub struct ByTarget<'a>(pub &'a [TargetMetrics]);

impl Serialize for ByTarget<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for t in self.0 {
            m.serialize_entry(&t.target, t)?;
        }
        m.end()
    }
}

/// The prediction intervals of a model and their measured coverage (`intervals` in
/// `metrics.json`).
#[derive(Debug, Clone, Serialize)]
pub struct IntervalsReport<'a> {
    /// How the intervals were made.
    pub method: String,
    /// Step of the adaptive level update (adaptive intervals only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Expected misses the adaptive pool remembers per level, 0 = equal weights (adaptive
    /// intervals only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<f64>,
    /// Windows the errors came from.
    pub calibration_windows: usize,
    /// Which part those windows are: `validation`, or `training_and_validation` for a forecast
    /// fitted on neither (the naive forecast of an untrained residual network, or a hybrid
    /// whose linear branch kept its seasonal anchor).
    pub calibrated_on: CalibrationSet,
    /// Nominal levels.
    pub levels: &'a [f64],
    /// Per level: whether the calibration windows were too few for the conformal rank.
    pub capped: &'a [bool],
    /// Half-widths in original units calibrated on the validation part, per level, then per
    /// output `step × targets + target` (adaptive intervals start from them).
    pub half_width: &'a [Vec<f64>],
    /// Coverage measured on the evaluated windows.
    pub coverage: &'a [Coverage],
}

impl<'a> IntervalsReport<'a> {
    /// The report of `iv` with its `coverage`; `None` without intervals.
    pub fn new(iv: Option<&'a Intervals>, coverage: &'a [Coverage]) -> Option<Self> {
        iv.map(|iv| Self {
            method: describe_method(iv),
            gamma: iv.is_adaptive().then_some(iv.gamma),
            memory: iv.is_adaptive().then_some(iv.memory),
            calibration_windows: iv.calibration_windows,
            calibrated_on: iv.calibrated_on,
            levels: &iv.levels,
            capped: &iv.capped,
            half_width: &iv.half_width,
            coverage,
        })
    }
}

/// How `iv` was made, in words (`intervals.method`).
fn describe_method(iv: &Intervals) -> String {
    const ERRORS: &str = "absolute errors on the calibration windows (calibrated_on)";
    const PER_OUTPUT: &str = "per horizon step and target";
    match iv.method {
        IntervalMethod::Split => format!("split conformal, {ERRORS}, {PER_OUTPUT}"),
        IntervalMethod::Adaptive => {
            let mut s =
                format!("adaptive conformal: {ERRORS} and those known at each forecast origin, ");
            if iv.is_scaled() {
                s += &if iv.scale_floor.is_empty() {
                    format!(
                        "each divided by its window's recent change scale (mean absolute change of \
                         the target over its last {RECENT_CHANGES} rows), "
                    )
                } else {
                    format!(
                        "each divided by its window's change scale (mean of the target's mean \
                         absolute change over its last {RECENT_CHANGES} rows and over the whole \
                         window, at least {SCALE_FLOOR_SHARE} of the calibration windows' median), "
                    )
                };
                if iv.memory > 0.0 {
                    s += "weighted toward the recent ones (memory), ";
                }
            }
            s + PER_OUTPUT + ", level moved by gamma"
        }
    }
}

/// `metrics.json`: an evaluation's figures per target (model, naive, seasonal naive, drift; per
/// horizon step) with what was evaluated and, after training, how the model was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct MetricsReport<'a> {
    /// Windows evaluated.
    pub windows: usize,
    /// Figures per target.
    pub targets: ByTarget<'a>,
    /// The part evaluated (`test`, `validation`, `train`, `all`).
    pub split: &'static str,
    /// The model: the candidate kept by training (`lstm`, `hybrid`, `seasonal naive`, …), or the
    /// model file evaluated.
    pub model: String,
    /// Rows `[from, to)` whose windows were scored (evaluation of a saved model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<[usize; 2]>,
    /// Epoch kept (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
    /// Trainable parameters (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<usize>,
    /// The networks trained, the one kept marked (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<&'a [Candidate]>,
    /// Seasonal period of the baselines (training).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub season: Option<usize>,
    /// Prediction intervals and their coverage (`null` without).
    pub intervals: Option<IntervalsReport<'a>>,
    /// Declared value ranges of the targets that forecasts and bounds were clipped to
    /// (`data.bounds`; left out when none).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub bounds: std::collections::BTreeMap<String, crate::range::ValueRange>,
    /// The data.
    pub data: DataSummary,
}

impl<'a> MetricsReport<'a> {
    /// The report of a training run: its test-part evaluation and how the model was chosen.
    pub fn of_fit(outcome: &'a FitOutcome) -> Self {
        Self {
            windows: outcome.test.windows,
            targets: ByTarget(&outcome.test.targets),
            split: "test",
            // The candidate kept (the seasonal naive is a hybrid network holding its weights).
            model: outcome.candidates.iter().find(|c| c.chosen).map_or_else(
                || {
                    ModelChoice::candidate_name(
                        outcome.model.config.kind,
                        outcome.model.config.linear,
                    )
                    .to_string()
                },
                |c| c.name.clone(),
            ),
            rows: None,
            best_epoch: Some(outcome.report.best_epoch),
            parameters: Some(outcome.model.parameter_count()),
            candidates: Some(&outcome.candidates),
            season: Some(outcome.season),
            intervals: IntervalsReport::new(outcome.intervals.as_ref(), &outcome.test_coverage),
            bounds: outcome.config.data.bounds.clone(),
            data: outcome.data.clone(),
        }
    }
}

/// The printed table of an evaluation: per target, MAE, RMSE, MASE, sMAPE and R² of the model
/// and of each baseline, the baselines it does not beat, and the intervals' coverage.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationTable<'a> {
    /// The evaluation.
    pub evaluation: &'a Evaluation,
    /// The intervals of the model, if any.
    pub intervals: Option<&'a Intervals>,
    /// Their coverage on the evaluated windows.
    pub coverage: &'a [Coverage],
}

impl fmt::Display for EvaluationTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for t in &self.evaluation.targets {
            let sc = &t.scores;
            let season = if t.season > 1 {
                format!("season {}", t.season)
            } else {
                "no season".to_string()
            };
            writeln!(f, "{} ({season}):", t.target)?;
            writeln!(
                f,
                "  {:<16} {:>14} {:>14} {:>8} {:>9} {:>9}",
                "", "MAE", "RMSE", "MASE", "sMAPE %", "R²"
            )?;
            let mut row = |name: &str, s: &Score| {
                writeln!(
                    f,
                    "  {:<16} {:>14.6} {:>14.6} {:>8.4} {:>9.3} {:>9.4}",
                    name, s.mae, s.rmse, s.mase, s.smape, s.r2
                )
            };
            row("model", &sc.model)?;
            row("naive", &sc.naive)?;
            if t.season > 1 {
                row("seasonal naive", &sc.seasonal_naive)?;
            }
            row("drift", &sc.drift)?;
            let lost = sc.unbeaten(t.season);
            if !lost.is_empty() {
                writeln!(
                    f,
                    "  ← does not beat (MAE) the {} forecast",
                    lost.join(", ")
                )?;
            }
        }
        if let Some(iv) = self.intervals {
            if iv.calibrated_on != CalibrationSet::Validation {
                writeln!(
                    f,
                    "  intervals calibrated on {} ({} windows)",
                    iv.calibrated_on.describe(),
                    iv.calibration_windows
                )?;
            }
            let names: Vec<&str> = self
                .evaluation
                .targets
                .iter()
                .map(|t| t.target.as_str())
                .collect();
            for (c, capped) in self.coverage.iter().zip(&iv.capped) {
                write!(
                    f,
                    "  {} % interval: covers {:.1} % of {} values",
                    level_name(c.level),
                    c.coverage * 100.0,
                    c.count,
                )?;
                // One width in one target's units; with several, each target's own below.
                let several = names.len() > 1 && c.coverage_by_target.len() == names.len();
                if !several {
                    write!(f, ", mean width {:.6}", c.mean_width)?;
                }
                if *capped {
                    let when = if iv.is_adaptive() { " at first" } else { "" };
                    write!(
                        f,
                        "  (only {} calibration windows: the widest error was used{when})",
                        iv.calibration_windows
                    )?;
                }
                writeln!(f)?;
                if several {
                    for (k, name) in names.iter().enumerate() {
                        writeln!(
                            f,
                            "    {name}: covers {:.1} %, mean width {:.6}",
                            c.coverage_by_target[k] * 100.0,
                            c.mean_width_by_target[k]
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for DataSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Loaded {}: {} rows, {} columns",
            self.source,
            self.rows,
            self.columns.len()
        )?;
        writeln!(f, "Date range: {} to {}", self.start, self.end)?;
        if !self.missing.is_empty() {
            writeln!(f, "Missing values: {}", self.missing)?;
        }
        if let Some(g) = &self.gaps {
            writeln!(
                f,
                "Gaps in time: {g} (to fill them, add the missing time stamps with empty cells and \
                 use --fill interpolate or ffill)"
            )?;
        }
        writeln!(f, "Variables: {}", self.columns.join(", "))
    }
}

/// The lines printed before training: the data, the targets and inputs, the windows, the season,
/// the model's size and how `auto` chooses.
#[derive(Debug, Clone)]
pub struct RunSummary<'a> {
    /// The data loaded.
    pub data: &'a DataSummary,
    /// The prepared windows.
    pub prepared: &'a Prepared,
    /// The configuration.
    pub config: &'a ForecastConfig,
    /// Seasonal period (1 = none).
    pub season: usize,
    /// Rows of each window the LSTM layers read (0 = all; see `fit::lstm_window`).
    pub lstm_window: usize,
}

impl fmt::Display for RunSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (p, cfg) = (self.prepared, self.config);
        write!(f, "{}", self.data)?;
        let s = if p.spec.targets.len() > 1 { "s" } else { "" };
        writeln!(f, "Target{s}: {}", p.spec.targets.join(", "))?;
        // Every target is also an input: say so when the listed features left one out.
        let features = &cfg.data.features;
        let added: Vec<&str> = p
            .spec
            .targets
            .iter()
            .filter(|t| !features.is_empty() && !features.contains(t))
            .map(String::as_str)
            .collect();
        write!(f, "Inputs: {}", p.spec.features.join(", "))?;
        if !added.is_empty() {
            write!(
                f,
                " ({} added to the listed features: every target is also an input)",
                added.join(", ")
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Windows: train {}, validation {}, test {} (sequence length {}, horizon {})",
            p.train.n, p.validation.n, p.test.n, p.spec.lookback, p.spec.horizon
        )?;
        if self.lstm_window > 0 && self.lstm_window < p.spec.lookback {
            writeln!(
                f,
                "  the LSTM layers read the last {} rows of each window, the hybrid's linear branch all {} (--lstm-window)",
                self.lstm_window, p.spec.lookback
            )?;
        }
        let plain = cfg.model.candidates().iter().any(|&(_, hybrid)| !hybrid);
        if plain && crate::fit::lstm_reads_relative(p, cfg) {
            let why = match cfg.model.lstm_inputs {
                crate::config::LstmInputs::Auto => {
                    "a target's level is not stationary on the training rows (KPSS test at 5 %)"
                }
                _ => "--lstm-inputs relative",
            };
            writeln!(
                f,
                "  the LSTM reads each window relative to its last row: {why} (--lstm-inputs levels to feed it the levels)"
            )?;
        }
        if self.season > 1 {
            writeln!(
                f,
                "Season: {} rows (seasonal naive baseline, MASE scale)",
                self.season
            )?;
            if p.spec.lookback < self.season {
                writeln!(
                    f,
                    "  note: the window ({} rows) is shorter than the season: the model cannot see one season back, the seasonal naive baseline can (--sequence-length {} or more lets it)",
                    p.spec.lookback, self.season
                )?;
            }
        } else {
            writeln!(f, "Season: none (MASE scaled by the one-step naive)")?;
        }
        if !cfg.data.bounds.is_empty() {
            let ranges: Vec<String> = cfg
                .data
                .bounds
                .iter()
                .map(|(name, r)| match name.as_str() {
                    crate::range::EVERY_TARGET => format!("every target {}", r.text()),
                    _ => format!("{name} {}", r.text()),
                })
                .collect();
            writeln!(
                f,
                "Bounds: {} (forecasts and interval bounds clipped to them)",
                ranges.join(", ")
            )?;
        }
        // Per candidate network (a seed member or an ensemble member has as many again).
        let counts: Vec<(&str, usize)> = cfg
            .model
            .candidates()
            .into_iter()
            .map(|(kind, hybrid)| {
                let mc =
                    crate::fit::model_config(p, cfg, kind, hybrid, self.season, self.lstm_window);
                let n = mc.parameter_count().unwrap_or(0);
                (ModelChoice::candidate_name(kind, hybrid), n)
            })
            .collect();
        match counts.as_slice() {
            [(_, n)] => writeln!(f, "Model parameters: {}", thousands(*n))?,
            _ => {
                let each: Vec<String> = counts
                    .iter()
                    .map(|(name, n)| format!("{} ({name})", thousands(*n)))
                    .collect();
                writeln!(f, "Model parameters: {} per network", each.join(", "))?
            }
        }
        if cfg.model.kind == ModelChoice::Auto && cfg.model.candidates().len() == 1 {
            writeln!(
                f,
                "Model: auto, the plain LSTM alone (--residual false: the hybrid learns changes by construction)"
            )?;
        } else if cfg.model.kind == ModelChoice::Auto {
            writeln!(
                f,
                "Model: auto (the plain LSTM and the hybrid: the one starting from the better baseline is kept unless the other is clearly better on validation)"
            )?;
        }
        Ok(())
    }
}

/// The lines printed after training: the candidates (when `auto` trained several) and the
/// epochs run and kept.
#[derive(Debug, Clone, Copy)]
pub struct TrainingSummary<'a>(pub &'a FitOutcome);

impl fmt::Display for TrainingSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        if o.candidates.len() > 1 {
            for c in o.candidates.iter().filter(|c| c.not_trained) {
                if o.prepared.validation.n == 0 {
                    let kept = o.candidates.iter().find(|c| !c.not_trained);
                    writeln!(
                        f,
                        "  candidate {:<10} not trained: there is no validation part to choose between networks; kept the one whose untrained start errs less on the training windows ({})",
                        c.name,
                        kept.map_or("", |k| k.name.as_str()),
                    )?;
                    continue;
                }
                writeln!(
                    f,
                    "  candidate {:<10} validation loss {:.6} (untrained), not trained: the validation part ({} windows) is too short to choose between networks (it needs two horizons and two seasons, {})",
                    c.name,
                    c.initial_val_loss,
                    o.prepared.validation.n,
                    (2 * o.season).max(2 * o.prepared.spec.horizon),
                )?;
            }
            for c in o.candidates.iter().filter(|c| !c.not_trained) {
                if c.name == crate::fit::SEASONAL_NAIVE {
                    writeln!(
                        f,
                        "  {:<20} validation loss {:.6}  ← kept: clearly better on validation than the network chosen",
                        c.name, c.best_val_loss,
                    )?;
                    continue;
                }
                if o.prepared.validation.n == 0 {
                    writeln!(
                        f,
                        "  candidate {:<10} no validation part: trained {} epochs, the last kept, {:.1} s{}",
                        c.name,
                        c.best_epoch,
                        c.seconds,
                        if c.chosen { "  ← kept" } else { "" }
                    )?;
                    continue;
                }
                writeln!(
                    f,
                    "  candidate {:<10} validation loss {:.6} (untrained {:.6}), epoch {}, {:.1} s{}",
                    c.name,
                    c.best_val_loss,
                    c.initial_val_loss,
                    c.best_epoch,
                    c.seconds,
                    match (c.chosen, c.untrained_kept) {
                        (true, false) => "  ← kept",
                        (true, true) => "  ← kept untrained (training not clearly better)",
                        (false, true) => "  (untrained: training not clearly better)",
                        (false, false) => "",
                    }
                )?;
            }
        }
        let r = &o.report;
        let floor = o
            .candidates
            .iter()
            .any(|c| c.chosen && c.name == crate::fit::SEASONAL_NAIVE);
        if floor {
            writeln!(
                f,
                "Training: {} epochs in {:.1} s; the networks set aside for the seasonal naive forecast, clearly better on validation",
                r.history.len(),
                r.seconds,
            )?;
        } else {
            writeln!(
                f,
                "Training: {} epochs in {:.1} s, kept epoch {}{}",
                r.history.len(),
                r.seconds,
                r.best_epoch,
                if r.stopped_early {
                    // The stale epochs: the patience, or fewer on a large table (its bound in
                    // optimizer steps, `train.patience_batches`), or more under the cosine schedule,
                    // which counts them from its midpoint on.
                    let stale = r.history.len().saturating_sub(r.best_epoch);
                    let t = &o.config.train;
                    let midpoint = match t.schedule_midpoint() {
                        Some(mid) if stale > t.patience => {
                            format!(
                                ", counted from epoch {mid}, the learning-rate schedule's midpoint"
                            )
                        }
                        _ => String::new(),
                    };
                    format!(
                        " (early stopping after {stale} epochs without a better validation loss{midpoint})"
                    )
                } else {
                    String::new()
                }
            )?;
        }
        if !r.seed_members.is_empty() {
            let epochs: Vec<String> = r
                .seed_members
                .iter()
                .map(|m| m.best_epoch.to_string())
                .collect();
            writeln!(
                f,
                "Seed members: {} more networks of the kept architecture from other seeds (kept epochs {}) in {:.1} s; the forecast is the mean of {}",
                r.seed_members.len(),
                epochs.join(", "),
                r.seed_members.iter().map(|m| m.seconds).sum::<f64>(),
                o.model.config.ensemble
            )?;
        }
        if let Some(refit) = &r.refit {
            writeln!(
                f,
                "Refit: {} epochs on the training and validation windows ({}) in {:.1} s; the test part is forecast by this network",
                refit.epochs, refit.windows, refit.seconds
            )?;
        }
        writeln!(f, "Test set ({} windows), original units:", o.test.windows)?;
        write!(
            f,
            "{}",
            EvaluationTable {
                evaluation: &o.test,
                intervals: o.intervals.as_ref(),
                coverage: &o.test_coverage,
            }
        )?;
        if o.intervals.is_none() && !o.config.train.intervals.is_empty() {
            writeln!(
                f,
                "  no prediction intervals: they are calibrated on the validation part, and this run has none (--validation 0 or --seed-recipe)"
            )?;
        }
        Ok(())
    }
}

/// `n` with thousands separators (`12,345`).
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    /// Rows missing from a regular table are named before training, with the way to fill them.
    #[test]
    fn the_data_summary_names_gaps_in_time() {
        let labels = ["2020-01-01", "2020-02-01", "2020-05-01", "2020-06-01"];
        let keys = labels
            .iter()
            .map(|l| ts_data::parse_time(l).unwrap().and_utc().timestamp() as f64)
            .collect();
        let time = ts_data::TimeIndex::new("date", labels, keys).unwrap();
        let frame =
            ts_data::Frame::from_columns("t.csv", vec!["y".into()], vec![vec![1.0; 4]], Some(time))
                .unwrap();
        let text = DataSummary::of(&frame).to_string();
        assert!(
            text.contains(
                "Gaps in time: 1 step longer than the usual 1 month (2 rows missing), the first \
                 from 2020-02-01 to 2020-05-01 (row 3)"
            ),
            "{text}"
        );
        assert!(text.contains("--fill interpolate"), "{text}");
        let json = serde_json::to_value(DataSummary::of(&frame)).unwrap();
        assert_eq!(json["gaps"]["missing_rows"], 2);
    }
}
