//! The whole workflow as library calls: prepare a frame, fit, evaluate against the naive forecast,
//! save and load model files, evaluate and predict on new data.

use std::path::Path;
use std::sync::Arc;

use burn::tensor::Device;
use chrono::{Datelike, Months, NaiveDateTime};
use serde::{Deserialize, Serialize};
use ts_data::{DataError, Frame, Prepared, WindowSpec, Windows, anchors_in, parse_time, prepare};
use ts_model::file::{self, FORMAT_VERSION, ModelHeader};
use ts_model::{Forecaster, ModelConfig, make_device};

use crate::checkpoint::{Checkpointer, Resume};
use crate::config::{DataConfig, ForecastConfig, ModelChoice};
use crate::error::{Result, TrainError};
use crate::intervals::{Coverage, Intervals};
use crate::linear_init::LinearFit;
use crate::metrics::{BaselineSpec, Evaluation, evaluate, naive_forecast};
use crate::trainer::{Observer, TrainReport, fit_with, predict_scaled};

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
}

impl DataSummary {
    /// Summarises a frame.
    pub fn of(frame: &Frame) -> Self {
        let (start, end) = frame.date_range();
        Self {
            source: frame.source.display().to_string(),
            rows: frame.n_rows(),
            columns: frame.columns.clone(),
            time_column: frame.time.as_ref().map(|t| t.column.clone()),
            start,
            end,
        }
    }
}

/// The seasonal period (rows) a configuration uses on a frame: the configured one, else the
/// longest season detected from the time column that the training rows hold three times
/// ([`ts_data::primary_season`]); 1 = none.
pub fn resolve_season(frame: &Frame, cfg: &DataConfig) -> usize {
    match cfg.season {
        Some(m) => m.max(1),
        None => {
            let train_rows = cfg.split().bounds(frame.n_rows()).val_start;
            ts_data::primary_season(&ts_data::detect_seasons(frame), train_rows)
        }
    }
}

/// Resolves targets and features against a frame into a window spec.
pub fn resolve_spec(frame: &Frame, cfg: &DataConfig) -> Result<WindowSpec> {
    let targets = cfg.target.resolve(&frame.columns);
    if targets.is_empty() {
        return Err(TrainError::InvalidConfig {
            name: "target".into(),
            value: "(none)".into(),
            reason: format!(
                "choose a target column (one of: {}), a list, or \"all\"",
                frame.columns.join(", ")
            ),
        });
    }
    for t in &targets {
        frame.column_index(t)?;
    }
    let features = if cfg.features.is_empty() {
        frame.columns.clone()
    } else {
        cfg.features.clone()
    };
    for f in &features {
        frame.column_index(f)?;
    }
    Ok(WindowSpec::new(
        cfg.lookback_for(resolve_season(frame, cfg)),
        cfg.horizon,
        features,
        targets,
    )?)
}

/// One network trained by a fit, with its validation loss: `--model auto` trains several and
/// keeps the best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// `lstm`, `hybrid`, `attention`.
    pub name: String,
    /// Best validation loss (NaN without a validation part).
    pub best_val_loss: f64,
    /// Validation loss of the untrained network (the naive or the seasonal naive forecast).
    pub initial_val_loss: f64,
    /// Epoch kept.
    pub best_epoch: usize,
    /// Training seconds (printed, not serialised: the same seed gives the same files).
    #[serde(skip)]
    pub seconds: f64,
    /// Whether this one was kept.
    pub chosen: bool,
    /// The closed-form start of the hybrid's linear branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearFit>,
}

/// Whether `challenger` beats `incumbent` on the validation windows by more than the noise: the
/// mean of the per-window differences of their squared errors must exceed one standard error of
/// that mean (a paired, one-standard-error rule). On a validation part of a few dozen windows a
/// lower mean loss alone is often luck; this keeps the incumbent unless the challenger is clearly
/// better. Without validation windows the incumbent stays.
fn clearly_better(
    incumbent: &Forecaster,
    challenger: &Forecaster,
    validation: &Windows,
    device: &Device,
) -> Result<bool> {
    let n = validation.n;
    if n < 2 || !validation.has_targets() {
        return Ok(false);
    }
    let o = validation.n_outputs;
    let a = predict_scaled(incumbent, validation, device, 512)?;
    let b = predict_scaled(challenger, validation, device, 512)?;
    let d: Vec<f64> = (0..n)
        .map(|i| {
            let y = validation.y_of(i);
            (0..o)
                .map(|j| {
                    let ea = f64::from(a[i * o + j] - y[j]);
                    let eb = f64::from(b[i * o + j] - y[j]);
                    ea * ea - eb * eb
                })
                .sum::<f64>()
                / o as f64
        })
        .collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    Ok(mean > se)
}

/// A new network for `mc` on the training device (with autodiff), weights drawn from the
/// configured seed; a hybrid's linear branch starts from its closed-form fit on the training
/// windows ([`crate::linear_init`]).
///
/// # Errors
/// An invalid architecture.
pub fn init_model(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    mc: &ModelConfig,
    device: &Device,
) -> Result<(Forecaster, Option<LinearFit>)> {
    let mut model = mc.init(cfg.train.seed, &device.clone().autodiff())?;
    let linear = if mc.linear {
        Some(crate::linear_init::fit_linear_branch(
            &mut model,
            &prepared.train,
            &prepared.validation,
            &prepared.spec,
            &cfg.train,
            device,
        )?)
    } else {
        None
    };
    Ok((model, linear))
}

/// Everything a fit produces.
#[derive(Debug)]
pub struct FitOutcome {
    /// The trained model (inference copy, best epoch).
    pub model: Forecaster,
    /// The prepared data (scaler, windows).
    pub prepared: Prepared,
    /// Training history.
    pub report: TrainReport,
    /// Test-part evaluation.
    pub test: Evaluation,
    /// Test-part forecasts, scaled, `[n, outputs]`.
    pub test_predictions: Vec<f32>,
    /// The configuration used.
    pub config: ForecastConfig,
    /// The data.
    pub data: DataSummary,
    /// Seasonal period (rows) of the baselines and the linear branch; 1 = none.
    pub season: usize,
    /// The networks trained, in order, with the one kept marked.
    pub candidates: Vec<Candidate>,
    /// Prediction intervals calibrated on the validation part (none without levels or
    /// validation windows).
    pub intervals: Option<Intervals>,
    /// Their coverage on the test part.
    pub test_coverage: Vec<Coverage>,
}

/// Prepares the frame (split, scale, window) for a configuration.
pub fn prepare_frame(frame: &Frame, cfg: &ForecastConfig) -> Result<Prepared> {
    cfg.validate()?;
    let spec = resolve_spec(frame, &cfg.data)?;
    Ok(prepare(frame, &spec, &cfg.data.split(), cfg.data.scaler)?)
}

/// [`prepare_frame`] that scales the frame's own values in place ([`ts_data::prepare_owned`]):
/// the data is held once. The frame keeps its time index, column names and row count, so that
/// [`DataSummary::of`], [`train_prepared`] and [`prediction_rows`] still take it.
pub fn prepare_frame_owned(frame: &mut Frame, cfg: &ForecastConfig) -> Result<Prepared> {
    cfg.validate()?;
    let spec = resolve_spec(frame, &cfg.data)?;
    Ok(ts_data::prepare_owned(
        frame,
        &spec,
        &cfg.data.split(),
        cfg.data.scaler,
    )?)
}

/// The model architecture for prepared data: network `kind`, as the hybrid (windows relative to
/// their last value, linear branch from the seasonal naive forecast of `season`) or not.
pub fn model_config(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    kind: ts_model::ModelKind,
    hybrid: bool,
    season: usize,
) -> ModelConfig {
    ModelConfig {
        kind,
        input_size: prepared.spec.features.len(),
        hidden_size: cfg.model.hidden_size,
        num_layers: cfg.model.num_layers,
        dropout: cfg.model.dropout,
        horizon: prepared.spec.horizon,
        target_index: prepared.spec.target_index.clone(),
        residual: cfg.model.residual || hybrid,
        ensemble: cfg.model.ensemble,
        input_norm: hybrid,
        linear: hybrid,
        lookback: prepared.spec.lookback,
        season: if hybrid { season } else { 0 },
    }
}

/// The one network a configuration trains when it cannot try several (a tuning trial): the last
/// of its candidates (for `auto`, the hybrid).
pub fn single_model_config(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    season: usize,
) -> ModelConfig {
    let (kind, hybrid) = cfg
        .model
        .kind
        .candidates()
        .last()
        .copied()
        .unwrap_or((ts_model::ModelKind::Lstm, false));
    model_config(prepared, cfg, kind, hybrid, season)
}

/// The baselines' season and MASE's history for prepared data.
pub fn baseline_spec(prepared: &Prepared, season: usize) -> BaselineSpec {
    BaselineSpec {
        season,
        history_end: prepared.bounds.val_start,
    }
}

/// Refuses a model too large to train on this machine ([`crate::memory::check`] against
/// [`crate::memory::memory_limit`]), before anything is allocated for it.
pub fn check_model_size(prepared: &Prepared, cfg: &ForecastConfig) -> Result<()> {
    for (kind, hybrid) in cfg.model.kind.candidates() {
        crate::memory::check(
            &model_config(prepared, cfg, kind, hybrid, 0),
            prepared.spec.lookback,
            cfg.train.batch_size,
            crate::memory::memory_limit(),
        )?;
    }
    Ok(())
}

/// Fits a forecaster on a frame and evaluates it on the test part.
pub fn train(
    frame: &Frame,
    cfg: &ForecastConfig,
    observer: &mut dyn Observer,
) -> Result<FitOutcome> {
    let prepared = prepare_frame(frame, cfg)?;
    let device = make_device(cfg.device)?;
    train_prepared(frame, prepared, cfg, &device, observer)
}

/// Fits on already prepared data.
pub fn train_prepared(
    frame: &Frame,
    prepared: Prepared,
    cfg: &ForecastConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<FitOutcome> {
    train_prepared_with(frame, prepared, cfg, device, observer, None, None)
}

/// A text fingerprint of prepared data (rows, columns, date range, window layout, split, fitted
/// scaler, window counts): a resumed run refuses data whose fingerprint differs.
pub fn data_fingerprint(frame: &Frame, prepared: &Prepared) -> String {
    serde_json::json!({
        "data": DataSummary::of(frame),
        "spec": prepared.spec,
        "bounds": prepared.bounds,
        "scaler": prepared.scaler,
        "windows": [prepared.train.n, prepared.validation.n, prepared.test.n],
    })
    .to_string()
}

/// [`train_prepared`] that can continue from a checkpoint and write checkpoints (see
/// [`crate::checkpoint`] and [`crate::trainer::fit_with`]).
pub fn train_prepared_with(
    frame: &Frame,
    prepared: Prepared,
    cfg: &ForecastConfig,
    device: &Device,
    observer: &mut dyn Observer,
    resume: Option<Resume>,
    checkpointer: Option<&mut dyn Checkpointer>,
) -> Result<FitOutcome> {
    check_model_size(&prepared, cfg)?;
    let season = resolve_season(frame, &cfg.data);
    let configs: Vec<(String, ModelConfig)> = cfg
        .model
        .kind
        .candidates()
        .into_iter()
        .map(|(kind, hybrid)| {
            (
                ModelChoice::candidate_name(kind, hybrid).to_string(),
                model_config(&prepared, cfg, kind, hybrid, season),
            )
        })
        .collect();
    // A resumed run continues the network its checkpoint holds (for `auto`, the candidate that
    // was being trained when it stopped) and trains only that one.
    let configs = match &resume {
        Some(r) => match configs.into_iter().find(|(_, mc)| *mc == r.meta.model) {
            Some(c) => vec![c],
            None => {
                return Err(TrainError::InvalidConfig {
                    name: "checkpoint".into(),
                    value: "model architecture".into(),
                    reason: "differs from the one the data and configuration give".into(),
                });
            }
        },
        None => configs,
    };
    let mut resume = resume;
    let mut checkpointer = checkpointer;
    let mut trained: Vec<(usize, Forecaster, TrainReport)> = Vec::new();
    let mut candidates = Vec::with_capacity(configs.len());
    for (i, (name, mc)) in configs.into_iter().enumerate() {
        let (model, linear) = match resume.as_ref() {
            Some(r) => (r.best.clone(), None),
            None => init_model(&prepared, cfg, &mc, device)?,
        };
        let (model, report) = fit_with(
            model,
            &prepared.train,
            &prepared.validation,
            &cfg.train,
            device,
            observer,
            resume.take(),
            match checkpointer.as_mut() {
                Some(c) => Some(&mut **c as &mut dyn Checkpointer),
                None => None,
            },
        )?;
        let loss = report.best_val_loss.unwrap_or(f64::NAN);
        candidates.push(Candidate {
            name,
            best_val_loss: loss,
            initial_val_loss: report.initial_val_loss.unwrap_or(f64::NAN),
            best_epoch: report.best_epoch,
            seconds: report.seconds,
            chosen: false,
            linear,
        });
        let stopped = report.interrupted;
        trained.push((i, model, report));
        if stopped {
            break;
        }
    }
    // The candidate that starts from the stronger baseline (the lower untrained validation loss:
    // the hybrid's seasonal naive or linear fit against the LSTM's naive forecast) is the
    // incumbent; another replaces it only when clearly better (see `clearly_better`).
    trained.sort_by(|a, b| {
        let key = |r: &TrainReport| r.initial_val_loss.unwrap_or(f64::INFINITY);
        key(&a.2).total_cmp(&key(&b.2))
    });
    let mut best: Option<(usize, Forecaster, TrainReport)> = None;
    for (i, model, report) in trained {
        let better = match &best {
            None => true,
            Some((_, incumbent, _)) => {
                clearly_better(incumbent, &model, &prepared.validation, device)?
            }
        };
        if better {
            best = Some((i, model, report));
        }
    }
    let Some((chosen, model, report)) = best else {
        return Err(TrainError::InvalidConfig {
            name: "model".into(),
            value: format!("{:?}", cfg.model.kind),
            reason: "no network to train".into(),
        });
    };
    candidates[chosen].chosen = true;
    let validation_predictions = predict_scaled(&model, &prepared.validation, device, 512)?;
    let intervals = Intervals::calibrate(
        &prepared.validation,
        &validation_predictions,
        &prepared.spec,
        &prepared.scaler,
        &cfg.train.intervals,
    );
    let test_predictions = predict_scaled(&model, &prepared.test, device, 512)?;
    let test_coverage = intervals.as_ref().map_or_else(Vec::new, |iv| {
        iv.coverage(
            &prepared.test,
            &test_predictions,
            &prepared.spec,
            &prepared.scaler,
        )
    });
    let test = evaluate(
        &prepared.test,
        &test_predictions,
        &prepared.spec,
        &prepared.scaler,
        &baseline_spec(&prepared, season),
    );
    Ok(FitOutcome {
        model,
        prepared,
        report,
        test,
        test_predictions,
        config: cfg.clone(),
        data: DataSummary::of(frame),
        season,
        candidates,
        intervals,
        test_coverage,
    })
}

/// The model file header of a fit.
pub fn header_of(outcome: &FitOutcome) -> ModelHeader {
    ModelHeader {
        writer: writer(),
        format_version: FORMAT_VERSION,
        model: outcome.model.config.clone(),
        spec: outcome.prepared.spec.clone(),
        scaler: outcome.prepared.scaler.clone(),
        train_config: serde_json::to_value(&outcome.config).unwrap_or_default(),
        extra: serde_json::json!({
            "data": outcome.data,
            "time_column": outcome.data.time_column,
            "best_epoch": outcome.report.best_epoch,
            "split": outcome.prepared.bounds,
            "season": outcome.season,
            "candidates": outcome.candidates,
            "intervals": outcome.intervals,
        }),
    }
}

/// Saves a fit as a model file (atomically).
pub fn save_model(path: &Path, outcome: &FitOutcome) -> Result<()> {
    Ok(file::save(path, &outcome.model, &header_of(outcome))?)
}

/// A loaded model file with its typed configuration.
#[derive(Debug)]
pub struct Bundle {
    /// Header.
    pub header: ModelHeader,
    /// Network.
    pub model: Forecaster,
    /// Configuration it was trained with.
    pub config: ForecastConfig,
    /// Device it lives on.
    pub device: Device,
}

impl Bundle {
    /// The seasonal period the model was trained with (1 = none, also for files from before
    /// seasons were recorded).
    pub fn season(&self) -> usize {
        self.header
            .extra
            .get("season")
            .and_then(serde_json::Value::as_u64)
            .map_or(1, |m| (m as usize).max(1))
    }

    /// The prediction intervals calibrated when the model was trained, if any.
    pub fn intervals(&self) -> Option<Intervals> {
        self.header
            .extra
            .get("intervals")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// The training configuration with the model choice fixed to this file's network (so that a
    /// retrain, e.g. a fairness reduction, fits the same architecture rather than a fresh `auto`
    /// choice).
    pub fn retrain_config(&self) -> ForecastConfig {
        let mut c = self.config.clone();
        c.model.kind = ModelChoice::of_network(&self.model.config);
        c.data.sequence_length = Some(self.header.spec.lookback);
        c.data.season = Some(self.season());
        c
    }

    /// Baselines for a table of `rows` rows scored with this model: its season, and MASE's scale
    /// from the rows the model was trained on (its recorded split), or from every row when the
    /// table is shorter.
    pub fn baseline_spec(&self, rows: usize) -> BaselineSpec {
        let train_end = self
            .header
            .extra
            .get("split")
            .and_then(|s| s.get("val_start"))
            .and_then(serde_json::Value::as_u64)
            .map_or(rows, |v| v as usize);
        BaselineSpec {
            season: self.season(),
            history_end: train_end.min(rows),
        }
    }
}

/// Loads a model file.
pub fn load_model(path: &Path) -> Result<Bundle> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ts_model::ModelError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ts_model::ModelError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    let (header, weights) = file::parse(path, &bytes)?;
    let config: ForecastConfig =
        serde_json::from_value(header.train_config.clone()).map_err(|e| {
            ts_model::ModelError::Header {
                path: path.to_path_buf(),
                message: format!("training config: {e}"),
            }
        })?;
    let device =
        make_device(config.device).or_else(|_| make_device(ts_model::DeviceChoice::Cpu))?;
    let model = file::load_weights(path, &header.model, weights, &device)?;
    Ok(Bundle {
        header,
        model,
        config,
        device,
    })
}

/// Checks that a frame has the columns a model was trained with and returns them in model order.
pub fn align_frame(bundle: &Bundle, frame: &Frame) -> Result<Frame> {
    let need = &bundle.header.spec.features;
    let missing: Vec<&String> = need.iter().filter(|c| !frame.columns.contains(c)).collect();
    if !missing.is_empty() {
        return Err(DataError::SchemaMismatch {
            path: frame.source.clone(),
            message: format!(
                "missing {}; the model was trained on [{}], the file has [{}]",
                missing
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                need.join(", "),
                frame.columns.join(", ")
            ),
        }
        .into());
    }
    Ok(frame.select(need)?)
}

/// Evaluation of a saved model on a whole table (every window with known targets).
#[derive(Debug, Clone)]
pub struct FrameEvaluation {
    /// Metrics.
    pub evaluation: Evaluation,
    /// The windows.
    pub windows: Windows,
    /// Scaled forecasts.
    pub predictions: Vec<f32>,
    /// Coverage of the model's prediction intervals on these windows.
    pub coverage: Vec<Coverage>,
}

/// The model's columns of a table and their scaled values, after checking that the table has at
/// least `min_rows` rows (`what` says why, for the error).
fn scaled_input(
    bundle: &Bundle,
    frame: &Frame,
    min_rows: usize,
    what: &str,
) -> Result<(Frame, Arc<ts_data::Series>)> {
    let f = align_frame(bundle, frame)?;
    let n = f.n_rows();
    if n < min_rows {
        return Err(DataError::TooFewRows {
            what: f.source.display().to_string(),
            rows: n,
            needed: format!("at least {what} rows"),
        }
        .into());
    }
    let idx: Vec<usize> = (0..f.n_columns()).collect();
    let scaled = Arc::new(bundle.header.scaler.transform_series(f.values(), &idx));
    Ok((f, scaled))
}

/// Which windows of a table an evaluation scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Windows whose targets lie in the training rows.
    Train,
    /// Windows whose targets lie in the validation rows.
    Validation,
    /// Windows whose targets lie in the test rows (the default: the rows the model never saw).
    #[default]
    Test,
    /// Every window with known targets.
    All,
}

impl std::str::FromStr for Part {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "train" | "training" => Ok(Self::Train),
            "validation" | "val" => Ok(Self::Validation),
            "test" => Ok(Self::Test),
            "all" => Ok(Self::All),
            _ => Err(crate::error::invalid(
                "part",
                s,
                "expected test, validation, train or all",
            )),
        }
    }
}

impl Part {
    /// The name reports print.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
            Self::All => "all",
        }
    }
}

impl Bundle {
    /// The rows `[from, to)` whose windows make up `part` of a table of `rows` rows: the split the
    /// model was trained with when the table has as many rows as its training data, else the
    /// configured fractions applied to this table.
    pub fn part_rows(&self, part: Part, rows: usize) -> (usize, usize) {
        let recorded = self.header.extra.get("split").and_then(|s| {
            let get = |k: &str| {
                s.get(k)
                    .and_then(serde_json::Value::as_u64)
                    .map(|v| v as usize)
            };
            Some((get("val_start")?, get("test_start")?, get("n_rows")?))
        });
        let (val_start, test_start) = match recorded {
            Some((v, t, n)) if n == rows => (v, t),
            _ => {
                let b = self.config.data.split().bounds(rows);
                (b.val_start, b.test_start)
            }
        };
        match part {
            Part::Train => (0, val_start),
            Part::Validation => (val_start, test_start),
            Part::Test => (test_start, rows),
            Part::All => (0, rows),
        }
    }
}

/// Evaluates a saved model on every window of a table ([`evaluate_frame_part`] with
/// [`Part::All`]).
pub fn evaluate_frame(bundle: &Bundle, frame: &Frame) -> Result<FrameEvaluation> {
    evaluate_frame_part(bundle, frame, Part::All)
}

/// Evaluates a saved model on the windows of one part of a table (see [`Bundle::part_rows`]).
///
/// # Errors
/// A table without the model's columns, too short for one window, or whose part holds no window.
pub fn evaluate_frame_part(bundle: &Bundle, frame: &Frame, part: Part) -> Result<FrameEvaluation> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback + spec.horizon,
        &format!(
            "sequence length {} + horizon {}",
            spec.lookback, spec.horizon
        ),
    )?;
    let n = f.n_rows();
    let (from, to) = bundle.part_rows(part, n);
    let anchors = anchors_in(spec, from, to);
    if anchors.is_empty() {
        return Err(DataError::TooFewRows {
            what: f.source.display().to_string(),
            rows: n,
            needed: format!(
                "a {} part (rows {from}..{to}) that holds at least one window of sequence length {} + horizon {}",
                part.name(),
                spec.lookback,
                spec.horizon
            ),
        }
        .into());
    }
    let windows = Windows::over(scaled, spec, anchors, true);
    let predictions = predict_scaled(&bundle.model, &windows, &bundle.device, 512)?;
    let evaluation = evaluate(
        &windows,
        &predictions,
        spec,
        &bundle.header.scaler,
        &bundle.baseline_spec(n),
    );
    let coverage = bundle.intervals().map_or_else(Vec::new, |iv| {
        iv.coverage(&windows, &predictions, spec, &bundle.header.scaler)
    });
    Ok(FrameEvaluation {
        evaluation,
        windows,
        predictions,
        coverage,
    })
}

/// One forecast value in original units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionRow {
    /// Time stamp of the forecast row (extrapolated beyond the data).
    pub timestamp: String,
    /// Target column.
    pub target: String,
    /// Steps ahead (1 = next row).
    pub step: usize,
    /// The observed value, when known.
    pub actual: Option<f64>,
    /// The forecast.
    pub predicted: f64,
    /// The naive last-value forecast.
    pub naive: f64,
    /// Prediction interval bounds `(lower, upper)`, one per level of the model's intervals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intervals: Vec<(f64, f64)>,
}

/// Writes prediction rows as CSV text (`timestamp,target,step,actual,predicted,naive` and, for
/// each interval level, `lower_L,upper_L`).
pub fn predictions_csv(rows: &[PredictionRow], levels: &[f64]) -> String {
    let mut out = Vec::new();
    // Writing to memory cannot fail.
    let _ = write_predictions_csv(&mut out, rows, levels);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes prediction rows as CSV (the text of [`predictions_csv`]) row by row to `w`, so that a
/// large test part never becomes one string; pair it with [`prediction_rows_iter`]. `levels`
/// name the interval columns (`lower_80,upper_80` for 0.8); rows without bounds leave them empty.
pub fn write_predictions_csv<R: std::borrow::Borrow<PredictionRow>>(
    w: &mut dyn std::io::Write,
    rows: impl IntoIterator<Item = R>,
    levels: &[f64],
) -> std::io::Result<()> {
    w.write_all(b"timestamp,target,step,actual,predicted,naive")?;
    for &l in levels {
        let n = crate::intervals::level_name(l);
        write!(w, ",lower_{n},upper_{n}")?;
    }
    w.write_all(b"\n")?;
    for r in rows {
        let r = r.borrow();
        if r.target.contains(',') || r.target.contains('"') {
            write!(w, "{},\"{}\",", r.timestamp, r.target.replace('"', "\"\""))?;
        } else {
            write!(w, "{},{},", r.timestamp, r.target)?;
        }
        write!(w, "{},", r.step)?;
        if let Some(a) = r.actual {
            write!(w, "{a}")?;
        }
        write!(w, ",{},{}", r.predicted, r.naive)?;
        for l in 0..levels.len() {
            match r.intervals.get(l) {
                Some((lo, hi)) => write!(w, ",{lo},{hi}")?,
                None => w.write_all(b",,")?,
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// One target's forecasts `step` steps ahead, as parallel series (for charts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TargetSeries {
    /// Time stamps of the forecast rows.
    pub timestamps: Vec<String>,
    /// Observed values (NaN where unknown).
    pub actual: Vec<f64>,
    /// Forecasts.
    pub predicted: Vec<f64>,
    /// Naive last-value forecasts.
    pub naive: Vec<f64>,
    /// Lower bounds of the widest prediction interval (empty without intervals).
    pub lower: Vec<f64>,
    /// Upper bounds of the widest prediction interval (empty without intervals).
    pub upper: Vec<f64>,
}

impl TargetSeries {
    /// Appends one row's values (the widest interval, when it has any).
    pub fn push(&mut self, r: &PredictionRow) {
        self.actual.push(r.actual.unwrap_or(f64::NAN));
        self.predicted.push(r.predicted);
        self.naive.push(r.naive);
        if let Some((lo, hi)) = r.intervals.last() {
            self.lower.push(*lo);
            self.upper.push(*hi);
        }
    }
}

/// Picks one target's rows at one horizon step out of prediction rows.
pub fn series_of<R: std::borrow::Borrow<PredictionRow>>(
    rows: impl IntoIterator<Item = R>,
    target: &str,
    step: usize,
) -> TargetSeries {
    let mut s = TargetSeries::default();
    for r in rows {
        let r = r.borrow();
        if r.target != target || r.step != step {
            continue;
        }
        s.timestamps.push(r.timestamp.clone());
        s.push(r);
    }
    s
}

/// Turns scaled forecasts of windows into rows in original units.
pub fn prediction_rows(
    frame: &Frame,
    spec: &WindowSpec,
    scaler: &ts_data::Scaler,
    windows: &Windows,
    predicted: &[f32],
    intervals: Option<&Intervals>,
) -> Vec<PredictionRow> {
    prediction_rows_iter(frame, spec, scaler, windows, predicted, intervals).collect()
}

/// The rows of [`prediction_rows`] one at a time (window by window, step by step, target by
/// target), for writing or summarising them without holding them all.
pub fn prediction_rows_iter<'a>(
    frame: &'a Frame,
    spec: &'a WindowSpec,
    scaler: &'a ts_data::Scaler,
    windows: &'a Windows,
    predicted: &'a [f32],
    intervals: Option<&'a Intervals>,
) -> impl Iterator<Item = PredictionRow> + 'a {
    let nt = spec.targets.len();
    let o = spec.n_outputs();
    let naive = naive_forecast(windows, spec);
    let n_rows = frame.n_rows();
    windows
        .anchors
        .iter()
        .enumerate()
        .flat_map(move |(i, &a)| (0..spec.horizon).map(move |s| (i, a, s)))
        .flat_map(move |(i, a, s)| {
            spec.targets
                .iter()
                .enumerate()
                .map(move |(k, t)| (i, a, s, k, t))
        })
        .map(move |(i, a, s, k, t)| {
            let j = i * o + s * nt + k;
            let col = spec.target_index[k];
            let row = a + s + 1;
            let timestamp = if row < n_rows {
                frame.label(row)
            } else {
                future_label(frame, row - (n_rows - 1))
            };
            let p = scaler.inverse_value(col, predicted[j] as f64);
            PredictionRow {
                timestamp,
                target: t.clone(),
                step: s + 1,
                actual: windows
                    .has_targets()
                    .then(|| scaler.inverse_value(col, windows.y_of(i)[s * nt + k] as f64)),
                predicted: p,
                naive: scaler.inverse_value(col, naive[j] as f64),
                intervals: intervals.map_or_else(Vec::new, |iv| {
                    (0..iv.levels.len())
                        .map(|l| iv.bounds(l, s * nt + k, p))
                        .collect()
                }),
            }
        })
}

/// Label of the `k`-th row after the last one, extrapolating the time index's spacing (whole months
/// for month-aligned dates).
pub fn future_label(frame: &Frame, k: usize) -> String {
    let n = frame.n_rows();
    let Some(t) = &frame.time else {
        return format!("#{}", n - 1 + k);
    };
    if n < 2 {
        return format!("{}+{k}", t.label(n - 1));
    }
    let (a, b) = (t.label(n - 2), t.label(n - 1));
    match (parse_time(&a), parse_time(&b)) {
        (Some(pa), Some(pb)) if b.contains('-') => {
            let months = (pb.year() - pa.year()) * 12 + pb.month() as i32 - pa.month() as i32;
            let next: Option<NaiveDateTime> =
                if pa.day() == pb.day() && months > 0 && pa.time() == pb.time() {
                    pb.checked_add_months(Months::new(months as u32 * k as u32))
                } else {
                    Some(pb + (pb - pa) * k as i32)
                };
            next.map(|d| {
                if d.time() == chrono::NaiveTime::MIN {
                    d.format("%Y-%m-%d").to_string()
                } else {
                    d.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            })
            .unwrap_or_else(|| format!("{b}+{k}"))
        }
        _ => {
            let (ka, kb) = (t.keys()[n - 2], t.keys()[n - 1]);
            format!("{}", kb + (kb - ka) * k as f64)
        }
    }
}

/// Forecasts from every window of a table, including the windows that reach past its end.
pub fn predict_frame(bundle: &Bundle, frame: &Frame) -> Result<Vec<PredictionRow>> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback,
        &format!("sequence length {}", spec.lookback),
    )?;
    let n = f.n_rows();
    let known = anchors_in(spec, 0, n);
    let future: Vec<usize> = (known.last().map_or(spec.lookback - 1, |l| l + 1)..n).collect();
    let wk = Windows::over(scaled.clone(), spec, known, true);
    let wf = Windows::over(scaled, spec, future, false);
    let pk = predict_scaled(&bundle.model, &wk, &bundle.device, 512)?;
    let pf = predict_scaled(&bundle.model, &wf, &bundle.device, 512)?;
    let iv = bundle.intervals();
    let mut rows = prediction_rows(&f, spec, &bundle.header.scaler, &wk, &pk, iv.as_ref());
    let first_future = rows.len();
    rows.extend(prediction_rows(
        &f,
        spec,
        &bundle.header.scaler,
        &wf,
        &pf,
        iv.as_ref(),
    ));
    // Windows that reach past the end still have actuals for their steps inside the table.
    let nt = spec.targets.len();
    for (i, &a) in wf.anchors.iter().enumerate() {
        for s in 0..spec.horizon {
            let row = a + s + 1;
            if row >= n {
                continue;
            }
            for k in 0..nt {
                let r = &mut rows[first_future + (i * spec.horizon + s) * nt + k];
                let col = spec.target_index[k];
                r.actual = Some(f.value(row, col));
            }
        }
    }
    Ok(rows)
}

/// The forecast past the end of a table: the window ending at its last row, every horizon step
/// (all of them beyond the data).
pub fn predict_future(bundle: &Bundle, frame: &Frame) -> Result<Vec<PredictionRow>> {
    let spec = &bundle.header.spec;
    let (f, scaled) = scaled_input(
        bundle,
        frame,
        spec.lookback,
        &format!("sequence length {}", spec.lookback),
    )?;
    let n = f.n_rows();
    let w = Windows::over(scaled, spec, vec![n - 1], false);
    let p = predict_scaled(&bundle.model, &w, &bundle.device, 512)?;
    let iv = bundle.intervals();
    Ok(prediction_rows(
        &f,
        spec,
        &bundle.header.scaler,
        &w,
        &p,
        iv.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(timestamp: &str, target: &str, actual: Option<f64>) -> PredictionRow {
        PredictionRow {
            timestamp: timestamp.into(),
            target: target.into(),
            step: 2,
            actual,
            predicted: 0.1 + 0.2,
            naive: -3.0,
            intervals: Vec::new(),
        }
    }

    #[test]
    fn predictions_csv_streamed_is_the_same_text() {
        let rows = vec![
            row("2020-01-01", "gdp", Some(1.5)),
            row("2020-02-01", "a,b", None),
            row("#7", "say \"hi\"", Some(1e-7)),
        ];
        let expected = "timestamp,target,step,actual,predicted,naive\n\
                        2020-01-01,gdp,2,1.5,0.30000000000000004,-3\n\
                        2020-02-01,\"a,b\",2,,0.30000000000000004,-3\n\
                        #7,\"say \"\"hi\"\"\",2,0.0000001,0.30000000000000004,-3\n";
        assert_eq!(predictions_csv(&rows, &[]), expected);
        let mut streamed = Vec::new();
        write_predictions_csv(&mut streamed, rows.iter(), &[]).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), expected);
        // The one-step series of the same rows, from owned rows too.
        let s = series_of(rows.clone(), "gdp", 2);
        assert_eq!(s.timestamps, vec!["2020-01-01".to_string()]);
        assert_eq!(s.actual, vec![1.5]);
        assert!(series_of(&rows, "gdp", 1).actual.is_empty());
    }
}
