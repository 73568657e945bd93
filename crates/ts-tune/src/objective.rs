//! The LSTM objective of `tsf tune`: each trial trains a forecaster with `ts-train` on the
//! prepared windows, reports the validation loss after every epoch (so that pruners work) and
//! returns the best validation loss. [`retrain_best`] fits the best configuration again on the
//! training and validation parts together.

use std::collections::BTreeMap;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use ts_data::{Frame, Prepared};
use ts_train::pipeline::{self, FitOutcome};
use ts_train::{EpochRecord, ForecastConfig, Observer, OptimizerKind, TrainReport};

use crate::distribution::{Choice, Distribution, ParamValue};
use crate::error::{Result, TuneError, invalid_option};
use crate::report::TrialRecord;
use crate::settings::TuneSettings;
use crate::study::{ObjectiveResult, Study, Trial, TrialError};
use crate::trial::Direction;

/// A float range of the search space (`{ low = …, high = …, log = … }` in TOML).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloatRange {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Log scale.
    #[serde(default)]
    pub log: bool,
}

/// An integer range of the search space.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntRange {
    /// Lower bound.
    pub low: i64,
    /// Upper bound.
    pub high: i64,
    /// Grid step.
    #[serde(default = "one")]
    pub step: i64,
    /// Log scale.
    #[serde(default)]
    pub log: bool,
}

fn one() -> i64 {
    1
}

/// The LSTM search space; the defaults are the seed's (`[tune.space]` in the TOML config
/// overrides any of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LstmSearchSpace {
    /// Hidden sizes (categorical).
    pub hidden_size: Vec<i64>,
    /// Stacked layers.
    pub num_layers: IntRange,
    /// Dropout.
    pub dropout: FloatRange,
    /// Learning rate.
    pub learning_rate: FloatRange,
    /// Weight decay.
    pub weight_decay: FloatRange,
    /// Batch sizes (categorical).
    pub batch_size: Vec<i64>,
    /// Optimisers (categorical).
    pub optimizer: Vec<OptimizerKind>,
    /// Epochs the moving average of the weights spans (`train.ema_epochs`; 0 = off): tuned only
    /// when given (the seed's space has no such parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ema_epochs: Option<FloatRange>,
}

impl Default for LstmSearchSpace {
    fn default() -> Self {
        Self {
            hidden_size: vec![32, 64, 128, 256],
            num_layers: IntRange {
                low: 1,
                high: 4,
                step: 1,
                log: false,
            },
            dropout: FloatRange {
                low: 0.1,
                high: 0.5,
                log: false,
            },
            learning_rate: FloatRange {
                low: 1e-5,
                high: 1e-1,
                log: true,
            },
            weight_decay: FloatRange {
                low: 1e-6,
                high: 1e-3,
                log: true,
            },
            batch_size: vec![16, 32, 64, 128],
            optimizer: vec![OptimizerKind::Adam, OptimizerKind::AdamW],
            ema_epochs: None,
        }
    }
}

fn opt_name(o: OptimizerKind) -> &'static str {
    match o {
        OptimizerKind::Adam => "Adam",
        OptimizerKind::AdamW => "AdamW",
    }
}

impl LstmSearchSpace {
    /// The distributions by parameter name (checked: ranges, positive sizes, dropout in [0, 1)).
    pub fn distributions(&self) -> Result<BTreeMap<String, Distribution>> {
        let f = |r: &FloatRange| Distribution::float(r.low, r.high, r.log);
        let mut m = BTreeMap::new();
        let ints = |name: &str, v: &[i64]| -> Result<Distribution> {
            if let Some(bad) = v.iter().find(|x| **x < 1) {
                return Err(invalid_option(name, bad, "sizes must be at least 1"));
            }
            Distribution::categorical(v.iter().copied()).validated(name)
        };
        m.insert(
            "hidden_size".into(),
            ints("hidden_size", &self.hidden_size)?,
        );
        let nl = Distribution::Int {
            low: self.num_layers.low,
            high: self.num_layers.high,
            log: self.num_layers.log,
            step: self.num_layers.step,
        }
        .validated("num_layers")?;
        if self.num_layers.low < 1 {
            return Err(invalid_option(
                "num_layers.low",
                self.num_layers.low,
                "must be at least 1",
            ));
        }
        m.insert("num_layers".into(), nl);
        if !(self.dropout.low >= 0.0 && self.dropout.high < 1.0) {
            return Err(invalid_option(
                "dropout",
                format!("[{}, {}]", self.dropout.low, self.dropout.high),
                "must lie in [0, 1)",
            ));
        }
        m.insert("dropout".into(), f(&self.dropout).validated("dropout")?);
        if self.learning_rate.low <= 0.0 {
            return Err(invalid_option(
                "learning_rate.low",
                self.learning_rate.low,
                "must be > 0",
            ));
        }
        m.insert(
            "learning_rate".into(),
            f(&self.learning_rate).validated("learning_rate")?,
        );
        if self.weight_decay.low < 0.0 {
            return Err(invalid_option(
                "weight_decay.low",
                self.weight_decay.low,
                "must be ≥ 0",
            ));
        }
        m.insert(
            "weight_decay".into(),
            f(&self.weight_decay).validated("weight_decay")?,
        );
        m.insert("batch_size".into(), ints("batch_size", &self.batch_size)?);
        m.insert(
            "optimizer".into(),
            Distribution::categorical(self.optimizer.iter().map(|o| opt_name(*o)))
                .validated("optimizer")?,
        );
        if let Some(r) = &self.ema_epochs {
            if r.low < 0.0 {
                return Err(invalid_option("ema_epochs.low", r.low, "must be ≥ 0"));
            }
            m.insert("ema_epochs".into(), f(r).validated("ema_epochs")?);
        }
        Ok(m)
    }
}

/// Applies sampled parameters (user-facing values) to a base configuration.
pub fn apply_params(
    base: &ForecastConfig,
    params: &BTreeMap<String, ParamValue>,
) -> Result<ForecastConfig> {
    let mut cfg = base.clone();
    let num = |k: &str| params.get(k).and_then(ParamValue::as_f64);
    if let Some(v) = num("hidden_size") {
        cfg.model.hidden_size = v as usize;
    }
    if let Some(v) = num("num_layers") {
        cfg.model.num_layers = v as usize;
    }
    if let Some(v) = num("dropout") {
        cfg.model.dropout = v;
    }
    if let Some(v) = num("learning_rate") {
        cfg.train.learning_rate = v;
    }
    if let Some(v) = num("weight_decay") {
        cfg.train.weight_decay = v;
    }
    if let Some(v) = num("batch_size") {
        cfg.train.batch_size = v as usize;
    }
    if let Some(v) = num("ema_epochs") {
        cfg.train.ema_epochs = v;
    }
    if let Some(ParamValue::Choice(Choice::Str(s))) = params.get("optimizer") {
        cfg.train.optimizer = s.parse()?;
    }
    cfg.validate()?;
    Ok(cfg)
}

/// Reports each epoch's validation loss to the trial and stops training when the pruner says so
/// or the study is stopped.
struct TrialObserver<'t> {
    trial: &'t mut Trial,
    pruned: bool,
    error: Option<TuneError>,
}

impl Observer for TrialObserver<'_> {
    fn on_epoch(&mut self, record: &EpochRecord, _best_epoch: usize) {
        let Some(v) = record.val_loss else {
            return;
        };
        let step = record.epoch as i64;
        match self
            .trial
            .report(step, v)
            .and_then(|_| self.trial.should_prune())
        {
            Ok(p) => self.pruned |= p,
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }

    fn should_stop(&self) -> bool {
        self.pruned || self.error.is_some() || self.trial.stop_requested()
    }
}

/// The LSTM objective on one table: the data are prepared once and shared by every trial.
pub struct LstmObjective {
    base: ForecastConfig,
    space: BTreeMap<String, Distribution>,
    prepared: Prepared,
    device: Device,
    /// The season of the hybrid's linear branch (`pipeline::branch_season`).
    season: usize,
    /// The rows of each window the LSTM layers read (`pipeline::lstm_window`).
    lstm_window: usize,
}

/// What an LSTM tuning objective measures ([`LstmObjective::description`]), stored in the study
/// as the user attribute `tsf_objective`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveDescription {
    /// Target columns.
    pub targets: Vec<String>,
    /// Input columns.
    pub features: Vec<String>,
    /// Window length.
    pub sequence_length: usize,
    /// Steps forecast.
    pub horizon: usize,
    /// Share of rows before the test part.
    pub train_split: f64,
    /// Share of the training part held out for validation.
    pub validation: f64,
    /// Scaler fitted on the training rows.
    pub scaler: ts_data::ScalerKind,
    /// Loss the trials minimise.
    pub loss: ts_train::config::LossKind,
    /// Rows of the table.
    pub rows: usize,
    /// Rows of each window the LSTM layers read, when not all (`pipeline::lstm_window`); absent
    /// otherwise, so that studies begun before it was recorded resume.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lstm_window: usize,
    /// SHA-256 of the scaled values the trials read (hex), so that a study resumed on other data
    /// with the same shape is refused; studies begun before it was recorded resume without it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub values: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl std::fmt::Debug for LstmObjective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LstmObjective")
            .field("space", &self.space)
            .finish()
    }
}

impl LstmObjective {
    /// Prepares `frame` with the base configuration's data settings. The validation part must
    /// not be empty: it is what the search minimises.
    pub fn new(frame: &Frame, base: ForecastConfig, space: &LstmSearchSpace) -> Result<Self> {
        let space = space.distributions()?;
        if base.data.validation <= 0.0 {
            return Err(invalid_option(
                "validation",
                base.data.validation,
                "tuning minimises the validation loss; use a validation share > 0",
            ));
        }
        let prepared = pipeline::prepare_frame(frame, &base)?;
        if prepared.validation.n == 0 {
            return Err(invalid_option(
                "validation",
                base.data.validation,
                "the validation part has no window; use more data, a larger validation share or a shorter sequence length",
            ));
        }
        let device = ts_model::make_device(base.device).map_err(ts_train::TrainError::from)?;
        let season = pipeline::branch_season(
            frame,
            pipeline::resolve_season(frame, &base.data),
            prepared.spec.lookback,
        );
        let lstm_window = pipeline::resolve_lstm_window(frame, &base, prepared.spec.lookback);
        Ok(Self {
            base,
            space,
            prepared,
            device,
            season,
            lstm_window,
        })
    }

    /// What the trials' values measure: the targets, features, window layout, split, scaler and
    /// loss, and the rows. A study stores it on its first run ([`crate::Study::bind_objective`])
    /// so that a resumed or shared study refuses another one.
    pub fn description(&self) -> ObjectiveDescription {
        let p = &self.prepared;
        let d = &self.base.data;
        ObjectiveDescription {
            targets: p.spec.targets.clone(),
            features: p.spec.features.clone(),
            sequence_length: p.spec.lookback,
            horizon: p.spec.horizon,
            train_split: d.train_split,
            validation: d.validation,
            scaler: d.scaler,
            loss: self.base.train.loss,
            rows: p.bounds.n_rows,
            lstm_window: match self.lstm_window {
                w if w < p.spec.lookback => w,
                _ => 0,
            },
            values: pipeline::values_sha256(p),
        }
    }

    /// The search space by parameter name.
    pub fn space(&self) -> &BTreeMap<String, Distribution> {
        &self.space
    }

    /// The prepared data (windows and scaler).
    pub fn prepared(&self) -> &Prepared {
        &self.prepared
    }

    /// Runs one trial: samples the configuration, trains, returns the best validation loss.
    pub fn evaluate(&self, trial: &mut Trial) -> ObjectiveResult {
        for (name, dist) in &self.space {
            trial.suggest(name, dist.clone())?;
        }
        let cfg = apply_params(&self.base, &trial.params())?;
        // A configuration too large for the memory at hand fails as a trial (the study goes on
        // with the others) rather than being scored and then refused at the retrain.
        if let Err(e) = pipeline::check_model_size(&self.prepared, &cfg) {
            return Err(TrialError::Failed(e.to_string()));
        }
        let mc = pipeline::single_model_config(&self.prepared, &cfg, self.season, self.lstm_window);
        let (model, _) = pipeline::init_model(&self.prepared, &cfg, &mc, &self.device)?;
        let mut obs = TrialObserver {
            trial,
            pruned: false,
            error: None,
        };
        let fitted = ts_train::fit(
            model,
            &self.prepared.train,
            &self.prepared.validation,
            &cfg.train,
            &self.device,
            &mut obs,
        );
        let (pruned, error) = (obs.pruned, obs.error.take());
        if let Some(e) = error {
            return Err(TrialError::Failed(e.to_string()));
        }
        let (_, report): (_, TrainReport) = fitted?;
        if pruned {
            return Err(TrialError::Pruned);
        }
        if report.interrupted {
            return Err(TrialError::Failed("interrupted by the user".into()));
        }
        trial.set_user_attr("best_epoch", serde_json::json!(report.best_epoch))?;
        trial.set_user_attr("epochs_run", serde_json::json!(report.history.len()))?;
        report
            .best_val_loss
            .ok_or_else(|| TrialError::Failed("no validation loss".into()))
    }
}

/// A tuning run opened by [`LstmTuning::open`]: the loaded table, the LSTM objective on it and
/// the study (new or resumed) bound to that objective.
pub struct LstmTuning {
    /// The table the trials train on.
    pub frame: Frame,
    /// The objective: the configuration, the search space and the prepared windows.
    pub objective: LstmObjective,
    /// The study, minimizing the validation loss.
    pub study: Study,
    /// Trials the study held before this run.
    pub earlier: usize,
}

impl LstmTuning {
    /// Checks that `frame` has the configured targets, builds the objective over the settings'
    /// search space, and opens (or resumes) the settings' study in their storage with their
    /// sampler (seeded by `cfg.train.seed`) and pruner. A study keeps one objective: resuming it
    /// with other targets, features or windows is refused.
    pub fn open(frame: Frame, cfg: &ForecastConfig, settings: &TuneSettings) -> Result<Self> {
        let sampler = settings.sampler(cfg.train.seed)?;
        let pruner = settings.pruner()?;
        cfg.data.require_target(&frame.columns)?;
        let objective = LstmObjective::new(&frame, cfg.clone(), &settings.space)?;
        let study = Study::load_or_create(
            &settings.study_name(),
            Direction::Minimize,
            settings.open_storage()?,
            sampler,
            pruner,
        )?;
        study.bind_objective(
            "tsf_objective",
            // Plain strings and numbers: serialising cannot fail.
            serde_json::to_value(objective.description()).unwrap_or_default(),
        )?;
        study.check_space(objective.space())?;
        let earlier = study.trials()?.len();
        Ok(Self {
            frame,
            objective,
            study,
            earlier,
        })
    }
}

impl LstmTuning {
    /// What the run will do, as printed lines: the data and its windows, the study (resumed or
    /// not, sampler, pruner, trials, parallel jobs, timeout) and the search space.
    pub fn describe(&self, data: &std::path::Path, settings: &TuneSettings) -> Result<String> {
        let (p, study) = (self.objective.prepared(), &self.study);
        let n_trials = settings.trials()?;
        let mut s = format!(
            "Loaded {}: {} rows; target {}; windows: train {}, validation {}, test {}\n",
            data.display(),
            self.frame.n_rows(),
            p.spec.targets.join(", "),
            p.train.n,
            p.validation.n,
            p.test.n
        );
        let resuming = match self.earlier {
            0 => String::new(),
            n => format!(" (resuming after {n} trials)"),
        };
        let timeout = settings.timeout()?;
        let timeout = timeout.map(|d| format!(", timeout {:.0} s", d.as_secs_f64()));
        s += &format!(
            "Study {:?} in {}{resuming}: sampler {}, pruner {}, {n_trials} trial{}, {} at a time{}\n",
            study.name(),
            study.storage_name(),
            study.sampler_name(),
            study.pruner_name(),
            if n_trials == 1 { "" } else { "s" },
            settings.jobs()?,
            timeout.unwrap_or_default()
        );
        for (k, d) in self.objective.space() {
            s += &format!("  {k}: {d}\n");
        }
        Ok(s)
    }
}

/// The best epoch a trial recorded (its `best_epoch` user attribute), for [`retrain_best`].
pub fn best_epoch(trial: &TrialRecord) -> Option<usize> {
    trial
        .user_attrs
        .get("best_epoch")
        .and_then(|v| v.as_u64())
        .map(|e| e as usize)
}

/// Fits the best configuration again on the training and validation parts together (no
/// validation hold-out, so no early stopping) for the best trial's number of epochs (its best
/// epoch; none when that is its untrained start), and evaluates it on the test part.
pub fn retrain_best(
    frame: &Frame,
    base: &ForecastConfig,
    params: &BTreeMap<String, ParamValue>,
    best_epoch: Option<usize>,
    observer: &mut dyn Observer,
) -> Result<FitOutcome> {
    let mut cfg = apply_params(base, params)?;
    // The trials' decision on calendar inputs (made with their validation part) stands.
    cfg.data.calendar = match pipeline::calendar_choice(frame, &base.data) {
        Some(_) => ts_train::CalendarMode::On,
        None => ts_train::CalendarMode::Off,
    };
    // The network the trials trained (`pipeline::single_model_config`: for `auto`, the hybrid):
    // without a validation part, `auto` could not choose and would keep its first candidate.
    if let Some(&(kind, linear)) = cfg.model.candidates().last() {
        let mut trained = ts_model::ModelConfig::new(1, vec![0]);
        (trained.kind, trained.linear) = (kind, linear);
        cfg.model.kind = ts_train::ModelChoice::of_network(&trained);
    }
    cfg.data.validation = 0.0;
    cfg.train.patience = 0;
    if let Some(e) = best_epoch {
        cfg.train.epochs = e.max(1);
    }
    let prepared = pipeline::prepare_frame(frame, &cfg)?;
    if best_epoch == Some(0) {
        // The best trial kept its untrained start (the naive forecast, or the hybrid's
        // closed-form fit): so does its retrain, refitted on the training and validation rows,
        // rather than one epoch that the trial's validation did not ask for.
        cfg.train.epochs = 0;
    }
    let device = ts_model::make_device(cfg.device).map_err(ts_train::TrainError::from)?;
    Ok(pipeline::train_prepared(
        frame, prepared, &cfg, &device, observer,
    )?)
}

/// `optimization_results.json`: the study's results, its search space and, after the retraining,
/// the best configuration's model and its test figures.
#[derive(Debug, Clone, Serialize)]
pub struct TuneReport {
    /// Trials, best trial, importances.
    #[serde(flatten)]
    pub results: crate::report::OptimizationResults,
    /// Each parameter's distribution, as text.
    pub search_space: BTreeMap<String, String>,
    /// The retrained best configuration (absent without retraining).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_model: Option<BestModelReport>,
}

/// The best configuration retrained on training + validation data ([`retrain_best`]).
#[derive(Debug, Clone, Serialize)]
pub struct BestModelReport {
    /// Its model file, relative to the report.
    pub path: String,
    /// What it was trained on.
    pub trained_on: &'static str,
    /// Epochs trained.
    pub epochs: usize,
    /// Test windows scored.
    pub test_windows: usize,
    /// Per target: its test metrics in original units, the naive forecast's, and whether it beats
    /// the naive forecast.
    pub test: BTreeMap<String, BestModelTest>,
}

/// A target's test figures of the retrained model.
#[derive(Debug, Clone, Serialize)]
pub struct BestModelTest {
    /// Original-unit metrics.
    pub original: ts_train::Metrics,
    /// The naive forecast's.
    pub naive: ts_train::Metrics,
    /// Whether the model beats the naive forecast (MSE).
    pub beats_naive: bool,
}

impl TuneReport {
    /// The report of `results` over `space`, without a retrained model yet.
    pub fn new(
        results: crate::report::OptimizationResults,
        space: &BTreeMap<String, Distribution>,
    ) -> Self {
        Self {
            results,
            search_space: space
                .iter()
                .map(|(k, d)| (k.clone(), d.to_string()))
                .collect(),
            best_model: None,
        }
    }
}

impl BestModelReport {
    /// The report of a retraining saved as `path`.
    pub fn of(outcome: &FitOutcome, path: &str) -> Self {
        Self {
            path: path.into(),
            trained_on: "training + validation parts",
            epochs: outcome.report.history.len(),
            test_windows: outcome.test.windows,
            test: outcome
                .test
                .targets
                .iter()
                .map(|t| {
                    let m = BestModelTest {
                        original: t.original,
                        naive: t.naive.original,
                        beats_naive: t.beats_naive,
                    };
                    (t.target.clone(), m)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_average_is_tuned_only_when_given() {
        let seed = LstmSearchSpace::default().distributions().unwrap();
        assert!(!seed.contains_key("ema_epochs"));
        let space = LstmSearchSpace {
            ema_epochs: Some(FloatRange {
                low: 0.0,
                high: 5.0,
                log: false,
            }),
            ..LstmSearchSpace::default()
        };
        assert!(space.distributions().unwrap().contains_key("ema_epochs"));
        let params = BTreeMap::from([("ema_epochs".to_string(), ParamValue::Float(2.5))]);
        let cfg = apply_params(&ForecastConfig::default(), &params).unwrap();
        assert_eq!(cfg.train.ema_epochs, 2.5);
        let bad = LstmSearchSpace {
            ema_epochs: Some(FloatRange {
                low: -1.0,
                high: 5.0,
                log: false,
            }),
            ..LstmSearchSpace::default()
        };
        let e = bad.distributions().unwrap_err().to_string();
        assert!(e.contains("ema_epochs"), "{e}");
    }

    /// A study records how much of each window the LSTM reads when that is not all of it (a week
    /// of half-hourly data: the last day), so that a study begun with another window refuses to
    /// resume; otherwise the description is as before (studies from before resume).
    #[test]
    fn the_objective_records_a_partial_lstm_window() {
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("half_hours.csv");
        let mut text = String::from("date,load\n");
        for i in 0..31 * 48 {
            let (day, slot) = (i / 48, i % 48);
            let phase = std::f64::consts::TAU * slot as f64 / 48.0;
            let noise = ((i * 7919) % 101) as f64 / 101.0;
            writeln!(
                text,
                "2021-01-{:02} {:02}:{:02}:00,{:.3}",
                day + 1,
                slot / 2,
                slot % 2 * 30,
                100.0 + 10.0 * phase.sin() + noise
            )
            .unwrap();
        }
        std::fs::write(&path, text).unwrap();
        let frame = ts_data::load(&path, &ts_data::LoadOptions::default()).unwrap();
        let mut cfg = ForecastConfig::default();
        cfg.data.target = ts_train::TargetSpec::One("load".into());
        let space = LstmSearchSpace::default();
        let d = LstmObjective::new(&frame, cfg.clone(), &space)
            .unwrap()
            .description();
        assert_eq!((d.sequence_length, d.lstm_window), (336, 48));
        assert!(
            serde_json::to_string(&d)
                .unwrap()
                .contains("\"lstm_window\":48")
        );
        cfg.model.lstm_window = Some(0);
        let d = LstmObjective::new(&frame, cfg, &space)
            .unwrap()
            .description();
        assert_eq!(d.lstm_window, 0);
        assert!(!serde_json::to_string(&d).unwrap().contains("lstm_window"));
    }
}
