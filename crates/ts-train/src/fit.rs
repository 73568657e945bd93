//! Fitting: resolve the season and the window layout, prepare the frame, train the candidate
//! networks, keep the best, calibrate its intervals, score its test part, and write the model file.

use std::path::Path;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use ts_data::{Frame, Prepared, WindowSpec, Windows, prepare};
use ts_model::file::{self, ModelHeader};
use ts_model::{Forecaster, ModelConfig, make_device};

use crate::checkpoint::{Checkpointer, Resume};
use crate::config::{DataConfig, ForecastConfig, ModelChoice};
use crate::error::{Result, TrainError};
use crate::intervals::{CalibrationSet, Coverage, Intervals};
use crate::linear_init::LinearFit;
use crate::metrics::{BaselineSpec, Evaluation, evaluate};
use crate::trainer::{Observer, TrainReport, fit_with, predict_scaled};

use crate::pipeline::{DataSummary, writer};

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

/// The season the default window is sized for ([`DataConfig::lookback_for`]): `season`, or when
/// that is longer than the longest default window ([`crate::config::MAX_AUTO_LOOKBACK`] rows:
/// the weekly season of data taken every 15 or 10 minutes, 672 or 1,008 rows) the longest
/// shorter season of the time step that fits (the day), rather than no season at all. (Such a
/// week, up to [`crate::config::MAX_AUTO_WEEK_WINDOW`] rows, is then held by the window
/// anyway, with the LSTM layers reading its last day: see [`resolve_spec`].)
pub fn window_season(frame: &Frame, season: usize) -> usize {
    let most = crate::config::MAX_AUTO_LOOKBACK;
    if season <= most {
        return season;
    }
    longest_season_within(frame, season, most).unwrap_or(season)
}

/// The longest season of the frame's time step that is shorter than `season` and at most
/// `rows` long.
fn longest_season_within(frame: &Frame, season: usize, rows: usize) -> Option<usize> {
    ts_data::detect_seasons(frame)
        .into_iter()
        .filter(|&m| m > 1 && m < season && m <= rows)
        .max()
}

/// The season the hybrid's linear branch starts from ([`crate::linear_init`]): `season` when the
/// window holds it (`season <= lookback`: the seasonal naive reads the last `season` rows),
/// else the longest shorter season of the time step that it holds (a day of half-hourly or
/// hourly data whose weekly season is longer than a `--sequence-length 96` window), else
/// `season` (the branch then starts from the naive forecast).
pub fn branch_season(frame: &Frame, season: usize, lookback: usize) -> usize {
    if season <= lookback {
        return season;
    }
    longest_season_within(frame, season, lookback).unwrap_or(season)
}

/// The rows of each window the LSTM layers read ([`ts_model::ModelConfig::lstm_window`]; 0 =
/// all): when the window holds at least two cycles of a season of the time step shorter than
/// the resolved one (a day of half-hourly or hourly data, whose weekly season the window may
/// or may not hold), the last such cycle (at least [`crate::config::DEFAULT_LOOKBACK`] rows).
/// The recurrent layers cost time in proportion to the rows they read and reach back a day
/// better than several; the linear branch reads the whole window, and with it the days or the
/// week before. taylor at 48 steps (a week, 336 rows): the LSTM reads 48, and 48 of a
/// `--sequence-length 96` window (MAE 387.9 → 382.2 in half the time; at one step 144.9 →
/// 139.9). Nothing changes for daily and longer steps (one season each), nor for a window
/// that holds less than two days.
pub fn lstm_window(frame: &Frame, cfg: &DataConfig, lookback: usize) -> usize {
    let season = resolve_season(frame, cfg);
    if season <= 1 {
        return 0;
    }
    match longest_season_within(frame, season, lookback) {
        Some(m)
            if (lookback >= season || lookback >= 2 * m)
                && m.max(crate::config::DEFAULT_LOOKBACK) < lookback =>
        {
            m.max(crate::config::DEFAULT_LOOKBACK)
        }
        _ => 0,
    }
}

/// The rows of each window the LSTM layers read for `cfg` on `frame`: `model.lstm_window` when
/// set, else [`lstm_window`].
pub fn resolve_lstm_window(frame: &Frame, cfg: &ForecastConfig, lookback: usize) -> usize {
    cfg.model
        .lstm_window
        .unwrap_or_else(|| lstm_window(frame, &cfg.data, lookback))
}

/// Whether the seasonal naive forecast errs less than the naive one on the training rows
/// (`..train_rows`), in the mean over `targets` of the ratio of their one-step MAEs: a season
/// worth several years of history in the window. Rows with a missing value are skipped.
///
/// # Errors
/// A target that is not a column.
pub fn season_beats_naive(
    frame: &Frame,
    targets: &[String],
    season: usize,
    train_rows: usize,
) -> Result<bool> {
    if season <= 1 || targets.is_empty() {
        return Ok(false);
    }
    let mut ratio = 0.0;
    for t in targets {
        let y = frame.column(frame.column_index(t)?);
        let y = &y[..train_rows.min(y.len())];
        let mae = |lag: usize| {
            let (sum, n) = (lag..y.len())
                .map(|i| y[i] - y[i - lag])
                .filter(|d| d.is_finite())
                .fold((0.0, 0usize), |(s, n), d| (s + d.abs(), n + 1));
            if n == 0 { f64::NAN } else { sum / n as f64 }
        };
        let (seasonal, naive) = (mae(season), mae(1));
        if !(seasonal.is_finite() && naive > 0.0) {
            return Ok(false);
        }
        ratio += seasonal / naive;
    }
    Ok(ratio / (targets.len() as f64) < 1.0)
}

/// Whether a configuration gives the network calendar inputs on `frame`
/// ([`ts_data::calendar`]), with the share of the targets' one-step changes they explain on the
/// training rows: `on` always (0 share when it cannot be measured), `off` never, `auto` when
/// the share is at least [`crate::config::CALENDAR_SHARE`].
pub fn calendar_choice(frame: &Frame, cfg: &DataConfig) -> Option<f64> {
    calendar_choice_on(frame, cfg, cfg.split().bounds(frame.n_rows()).val_start)
}

/// [`calendar_choice`] measured on rows `..train_rows` (a backtest's rows before its first
/// origin).
pub fn calendar_choice_on(frame: &Frame, cfg: &DataConfig, train_rows: usize) -> Option<f64> {
    calendar_season(frame, cfg, train_rows).map(|(share, _)| share)
}

/// [`calendar_choice_on`] with the season the calendar cycle follows.
fn calendar_season(frame: &Frame, cfg: &DataConfig, train_rows: usize) -> Option<(f64, usize)> {
    use crate::config::CalendarMode;
    if cfg.calendar == CalendarMode::Off {
        return None;
    }
    let season = resolve_season(frame, cfg);
    let targets: Vec<usize> = cfg
        .target
        .resolve(&frame.columns)
        .iter()
        .filter_map(|t| frame.column_index(t).ok())
        .collect();
    let share = ts_data::calendar::calendar_share(frame, &targets, season, train_rows);
    match cfg.calendar {
        CalendarMode::On => Some((share, season)),
        _ if share >= crate::config::CALENDAR_SHARE => Some((share, season)),
        _ => None,
    }
}

/// The table a configuration trains on: `frame`, with the two calendar columns appended when
/// [`calendar_choice`] says so (a frame that already has them is used as it is).
///
/// # Errors
/// `calendar = on` on a table without a date index that gives a season.
pub fn calendar_frame<'a>(
    frame: &'a Frame,
    cfg: &DataConfig,
) -> Result<std::borrow::Cow<'a, Frame>> {
    calendar_frame_on(frame, cfg, cfg.split().bounds(frame.n_rows()).val_start)
}

/// [`calendar_frame`] deciding on rows `..train_rows` ([`calendar_choice_on`]).
///
/// # Errors
/// As [`calendar_frame`].
pub fn calendar_frame_on<'a>(
    frame: &'a Frame,
    cfg: &DataConfig,
    train_rows: usize,
) -> Result<std::borrow::Cow<'a, Frame>> {
    let has = ts_data::calendar::CALENDAR_COLUMNS
        .iter()
        .all(|c| frame.columns.iter().any(|f| f == c));
    if has {
        return Ok(std::borrow::Cow::Borrowed(frame));
    }
    match calendar_season(frame, cfg, train_rows) {
        Some((_, season)) => Ok(std::borrow::Cow::Owned(ts_data::calendar::with_calendar(
            frame, season,
        )?)),
        None => Ok(std::borrow::Cow::Borrowed(frame)),
    }
}

/// Resolves targets and features against a frame into a window spec.
pub fn resolve_spec(frame: &Frame, cfg: &DataConfig) -> Result<WindowSpec> {
    // The calendar columns of a frame from [`calendar_frame`] are inputs, never targets.
    let table_columns: Vec<String> = frame
        .columns
        .iter()
        .filter(|c| cfg.calendar.is_off() || !ts_data::calendar::is_calendar_column(c))
        .cloned()
        .collect();
    let targets = cfg.target.resolve(&table_columns);
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
    let ranges = crate::range::per_target(&cfg.bounds, &targets)?;
    crate::range::check_frame(frame, &targets, &ranges)?;
    let mut features = if cfg.features.is_empty() {
        frame.columns.clone()
    } else {
        cfg.features.clone()
    };
    // The calendar columns of a frame from [`calendar_frame`] are inputs too.
    if cfg.calendar != crate::config::CalendarMode::Off {
        for c in ts_data::calendar::CALENDAR_COLUMNS {
            if frame.columns.iter().any(|f| f == c) && !features.iter().any(|f| f == c) {
                features.push(c.to_string());
            }
        }
    }
    for f in &features {
        frame.column_index(f)?;
    }
    let primary = resolve_season(frame, cfg);
    let season = window_season(frame, primary);
    let train_rows = cfg.split().bounds(frame.n_rows()).val_start;
    let seasonal = season_beats_naive(frame, &targets, season, train_rows)?;
    let mut lookback = cfg.lookback_for(season, frame.n_rows(), seasonal);
    // A week longer than the longest default window, over a day that fits: the window holds the
    // week for the linear branch, the LSTM layers read its last day ([`lstm_window`]).
    if cfg.sequence_length.is_none()
        && season < primary
        && primary <= crate::config::MAX_AUTO_WEEK_WINDOW
        && primary <= frame.n_rows() / 4
        && frame
            .n_rows()
            .saturating_mul(targets.len())
            .saturating_mul(primary + 1)
            <= crate::config::MAX_WEEK_WINDOW_VALUES
    {
        lookback = lookback.max(primary);
    }
    Ok(WindowSpec::new(lookback, cfg.horizon, features, targets)?)
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
    /// Whether training was undone: the trained network was not clearly better on validation
    /// than its untrained start (`train.require_clear_gain`), so the start was kept.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub untrained_kept: bool,
    /// The closed-form start of the hybrid's linear branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearFit>,
    /// Whether it was left untrained because it could not have been chosen: the validation part
    /// is too short to tell networks apart ([`validation_compares`]) and another candidate starts
    /// from a baseline at least as good (or, without a validation part, comes first); its losses
    /// are those of its untrained start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_trained: bool,
}

/// Whether a validation part of `windows` windows can tell two networks apart: it must hold at
/// least two independent blocks (runs of `horizon` consecutive windows: windows closer than the
/// horizon share targets) and two whole seasons of windows (`season` rows; 1 = none), so that a
/// gain is seen in more than one cycle. A part shorter than the season compares the networks
/// on some of its days, weeks or months only: on half-hourly demand with a weekly season (336
/// rows), six days of validation chose an LSTM that lost to the seasonal naive on the test part
/// (MAE 647 against 565; the hybrid it displaced scored 419); on 55 quarters of Danish money
/// demand, five validation quarters picked one network or the other depending on the seed.
pub fn validation_compares(windows: usize, horizon: usize, season: usize) -> bool {
    windows / horizon.max(1) >= 2 && windows >= 2 * season
}

/// Below this many independent validation blocks (windows, or runs of `horizon` consecutive
/// windows for a multi-step horizon, whose targets overlap) the best epoch is a guess: a trained
/// network is kept only when it is clearly better than its untrained start (as with
/// `train.require_clear_gain`).
pub const FEW_VALIDATION_WINDOWS: usize = 10;

/// Whether `challenger` beats `incumbent` on the validation windows by more than the noise: the
/// mean of the per-window differences of their squared errors must exceed one standard error of
/// that mean (a paired, one-standard-error rule). On a validation part of a few dozen windows a
/// lower mean loss alone is often luck; this keeps the incumbent unless the challenger is clearly
/// better. Without validation windows the incumbent stays.
///
/// Precisely: the per-window differences of mean squared error, averaged over runs of `block` consecutive
/// windows (batch means: windows `block` apart share no target when `block` is the horizon),
/// must have a mean above the standard error of those block means. Fewer than two blocks: no.
pub(crate) fn clearly_better(
    incumbent: &Forecaster,
    challenger: &Forecaster,
    validation: &Windows,
    device: &Device,
    block: usize,
) -> Result<bool> {
    let n = validation.n;
    if n / block.max(1) < 2 || !validation.has_targets() {
        return Ok(false);
    }
    let o = validation.n_outputs;
    let a = predict_scaled(incumbent, validation, device, 512)?;
    let b = predict_scaled(challenger, validation, device, 512)?;
    let per_window = |i: usize| {
        let y = validation.y_of(i);
        (0..o)
            .map(|j| {
                let ea = f64::from(a[i * o + j] - y[j]);
                let eb = f64::from(b[i * o + j] - y[j]);
                ea * ea - eb * eb
            })
            .sum::<f64>()
            / o as f64
    };
    Ok(clear_gain(
        &(0..n).map(per_window).collect::<Vec<_>>(),
        block,
    ))
}

/// Whether per-window gains (in time order) are clearly positive: the means of runs of `block`
/// consecutive windows have a mean above their standard error. Uses the last `blocks × block`
/// windows (the most recent ones, if `block` does not divide their number); fewer than two
/// blocks: no.
fn clear_gain(gains: &[f64], block: usize) -> bool {
    let block = block.max(1);
    let blocks = gains.len() / block;
    if blocks < 2 {
        return false;
    }
    let first = gains.len() - blocks * block;
    let d: Vec<f64> = gains[first..]
        .chunks(block)
        .map(|c| c.iter().sum::<f64>() / block as f64)
        .collect();
    let m = d.len() as f64;
    let mean = d.iter().sum::<f64>() / m;
    let var = d.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (m - 1.0);
    mean > (var / m).sqrt()
}

/// Training must earn its keep: whether a trained network gives way to its untrained start
/// (the naive forecast, or the hybrid's closed-form fit) because it is not clearly better on
/// validation; checked with `require_clear_gain`, and always when validation holds fewer than
/// [`FEW_VALIDATION_WINDOWS`] independent blocks (runs of `horizon` windows).
fn training_not_earned(
    start: &Forecaster,
    trained: &Forecaster,
    prepared: &Prepared,
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<bool> {
    let validation = &prepared.validation;
    let block = prepared.spec.horizon.max(1);
    if validation.n == 0
        || !(cfg.train.require_clear_gain || validation.n / block < FEW_VALIDATION_WINDOWS)
    {
        return Ok(false);
    }
    Ok(!clearly_better(start, trained, validation, device, block)?)
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
    /// Prediction intervals calibrated on the validation part, or for a start fitted on nothing
    /// on the training and validation parts ([`calibration_set`]; none without levels or
    /// validation windows).
    pub intervals: Option<Intervals>,
    /// Their coverage on the test part.
    pub test_coverage: Vec<Coverage>,
}

/// Refuses a season given with `--season N` that the training rows cannot hold: the seasonal
/// naive forecast and MASE's scale (the mean change over a season within the training rows)
/// need a value one season back inside them.
pub fn check_season(frame: &Frame, cfg: &crate::config::DataConfig) -> Result<()> {
    if let Some(m) = cfg.season.filter(|&m| m > 1) {
        let train_rows = cfg.split().bounds(frame.n_rows()).val_start;
        if m >= train_rows {
            return Err(crate::error::invalid(
                "season",
                m,
                &format!(
                    "must be shorter than the training part ({train_rows} of {} rows), which must hold a value one season back for MASE's scale",
                    frame.n_rows()
                ),
            ));
        }
    }
    Ok(())
}

/// Prepares the frame (split, scale, window) for a configuration.
pub fn prepare_frame(frame: &Frame, cfg: &ForecastConfig) -> Result<Prepared> {
    cfg.validate()?;
    check_season(frame, &cfg.data)?;
    let frame = calendar_frame(frame, &cfg.data)?;
    let spec = resolve_spec(&frame, &cfg.data)?;
    Ok(prepare(&frame, &spec, &cfg.data.split(), cfg.data.scaler)?)
}

/// [`prepare_frame`] that scales the frame's own values in place ([`ts_data::prepare_owned`]):
/// the data is held once (after [`calendar_frame`] appended the calendar columns, if any). The
/// frame keeps its time index, column names and row count, so that
/// [`DataSummary::of`], [`train_prepared`] and [`crate::predictions::prediction_rows`] still take it.
pub fn prepare_frame_owned(frame: &mut Frame, cfg: &ForecastConfig) -> Result<Prepared> {
    cfg.validate()?;
    check_season(frame, &cfg.data)?;
    let with = match calendar_frame(frame, &cfg.data)? {
        std::borrow::Cow::Owned(f) => Some(f),
        std::borrow::Cow::Borrowed(_) => None,
    };
    if let Some(f) = with {
        *frame = f;
    }
    let spec = resolve_spec(frame, &cfg.data)?;
    Ok(ts_data::prepare_owned(
        frame,
        &spec,
        &cfg.data.split(),
        cfg.data.scaler,
    )?)
}

/// The 5 % critical value of the KPSS statistic for level stationarity (Kwiatkowski, Phillips,
/// Schmidt & Shin 1992, table 1).
pub const KPSS_LEVEL_5PCT: f64 = 0.463;

/// The KPSS statistic for level stationarity of `values` (non-finite values skipped): the sum of
/// the squared partial sums of the deviations from the mean, over `n²` times the long-run
/// variance (Bartlett kernel, `⌈12 (n/100)^¼⌉` lags: statsmodels' `kpss(x, "c", nlags="legacy")`). `None`
/// for fewer than 10 values or a constant series.
pub fn kpss_level(values: &[f64]) -> Option<f64> {
    let x: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = x.len();
    if n < 10 {
        return None;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let gamma = |k: usize| e[k..].iter().zip(&e).map(|(a, b)| a * b).sum::<f64>() / nf;
    let lags = ((12.0 * (nf / 100.0).powf(0.25)).ceil() as usize).min(n - 1);
    let mut long_run = gamma(0);
    for k in 1..=lags {
        long_run += 2.0 * (1.0 - k as f64 / (lags as f64 + 1.0)) * gamma(k);
    }
    if long_run.is_nan() || long_run <= 0.0 {
        return None;
    }
    let mut partial = 0.0;
    let mut sum_sq = 0.0;
    for v in &e {
        partial += v;
        sum_sq += partial * partial;
    }
    Some(sum_sq / (nf * nf * long_run))
}

/// Whether the level of every target of `prepared` is stationary on the training rows: the KPSS
/// test ([`kpss_level`]) does not reject it at 5 %. A network fed the levels of a target that
/// wanders (a load that drifts, a price, a rate that trends for decades) learns to pull its
/// forecast back toward the levels of the training rows, and fails once the forecast origin lies
/// beyond them; the plain LSTM then reads each window relative to its last row
/// ([`crate::config::LstmInputs::Auto`]). Only the targets are tested: the features' levels
/// (GDP and prices trend in every macro table) did not predict where relative windows help
/// (docs/forecast-quality.md, item 28).
pub fn levels_stationary(prepared: &Prepared) -> bool {
    let rows = prepared.bounds.val_start.min(prepared.scaled.rows());
    prepared.spec.target_index.iter().all(|&c| {
        let column: Vec<f64> = prepared.scaled.column(c)[..rows]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        kpss_level(&column).is_none_or(|eta| eta <= KPSS_LEVEL_5PCT)
    })
}

/// Whether the plain (non-hybrid) LSTM of `cfg` on `prepared` reads each window relative to its
/// last row ([`crate::config::LstmInputs`]): never when it learns levels (`residual` false).
pub fn lstm_reads_relative(prepared: &Prepared, cfg: &ForecastConfig) -> bool {
    use crate::config::LstmInputs;
    cfg.model.residual
        && match cfg.model.lstm_inputs {
            LstmInputs::Levels => false,
            LstmInputs::Relative => true,
            LstmInputs::Auto => !levels_stationary(prepared),
        }
}

/// The model architecture for prepared data: network `kind`, as the hybrid (windows relative to
/// their last value, linear branch from the seasonal naive forecast of `season`) or not (its
/// windows read as levels or relative to their last row, [`lstm_reads_relative`]).
pub fn model_config(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    kind: ts_model::ModelKind,
    hybrid: bool,
    season: usize,
    lstm_window: usize,
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
        input_norm: hybrid || lstm_reads_relative(prepared, cfg),
        linear: hybrid,
        lookback: prepared.spec.lookback,
        season: if hybrid { season } else { 0 },
        lstm_window,
    }
}

/// The one network a configuration trains when it cannot try several (a tuning trial): the last
/// of its candidates (for `auto`, the hybrid).
pub fn single_model_config(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    season: usize,
    lstm_window: usize,
) -> ModelConfig {
    let (kind, hybrid) = cfg
        .model
        .candidates()
        .last()
        .copied()
        .unwrap_or((ts_model::ModelKind::Lstm, false));
    model_config(prepared, cfg, kind, hybrid, season, lstm_window)
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
    for (kind, hybrid) in cfg.model.candidates() {
        crate::memory::check(
            &model_config(prepared, cfg, kind, hybrid, 0, 0),
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
/// scaler, window counts, and a SHA-256 of every scaled value): a resumed run refuses data whose
/// fingerprint differs ([`fingerprints_match`]).
pub fn data_fingerprint(frame: &Frame, prepared: &Prepared) -> String {
    let values = values_sha256(prepared);
    serde_json::json!({
        "data": DataSummary::of(frame),
        "spec": prepared.spec,
        "bounds": prepared.bounds,
        "scaler": prepared.scaler,
        "windows": [prepared.train.n, prepared.validation.n, prepared.test.n],
        "values": values,
    })
    .to_string()
}

/// The SHA-256 (hex) of every scaled value of prepared data, in row order: what a resumed run
/// ([`data_fingerprint`]) or a resumed tuning study compares to refuse other data of the same
/// shape.
pub fn values_sha256(prepared: &Prepared) -> String {
    use sha2::Digest;
    let series = &prepared.scaled;
    let mut hash = sha2::Sha256::new();
    for v in series.rows_slice(0, series.rows()) {
        hash.update(v.to_le_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether a checkpoint's data fingerprint (`stored`) matches the data's ([`data_fingerprint`]).
/// A checkpoint from a build whose fingerprint had no hash of the values is compared on the rest.
pub fn fingerprints_match(stored: &str, current: &str) -> bool {
    // The file's path is not compared: a checkpoint names its data by an absolute path, and a
    // run resumed from another folder reads the same file by it (the values are hashed).
    let parse = |t: &str| {
        let mut v = serde_json::from_str::<serde_json::Value>(t).ok()?;
        if let Some(d) = v.get_mut("data").and_then(|d| d.as_object_mut()) {
            d.remove("source");
        }
        Some(v)
    };
    match (parse(stored), parse(current)) {
        (Some(a), Some(mut b)) => {
            if a.get("values").is_none()
                && let Some(o) = b.as_object_mut()
            {
                o.remove("values");
            }
            // Gaps in time are named in the data summary since a later build: a checkpoint
            // without them is compared on the rest (the values are hashed anyway).
            // Time stamps are compared as times: a later build prints midnight in an hourly
            // table with its time (`2020-01-01 00:00:00`, not `2020-01-01`).
            for field in ["start", "end"] {
                let stored = a
                    .get("data")
                    .and_then(|d| d.get(field))
                    .and_then(|v| v.as_str());
                let same = |current: &str| {
                    stored.is_some_and(|s| {
                        s != current
                            && ts_data::parse_time(s).is_some()
                            && ts_data::parse_time(s) == ts_data::parse_time(current)
                    })
                };
                if let Some(d) = b.get_mut("data").and_then(|d| d.as_object_mut())
                    && let Some(current) = d.get(field).and_then(|v| v.as_str()).map(String::from)
                    && same(&current)
                {
                    d.insert(
                        field.into(),
                        serde_json::Value::from(stored.unwrap_or_default()),
                    );
                }
            }
            for field in ["gaps", "missing"] {
                if a.get("data").and_then(|d| d.get(field)).is_none()
                    && let Some(d) = b.get_mut("data").and_then(|d| d.as_object_mut())
                {
                    d.remove(field);
                }
            }
            a == b
        }
        _ => stored == current,
    }
}

/// [`train_prepared`] that can continue from a checkpoint and write checkpoints (see
/// [`crate::checkpoint`] and [`crate::trainer::fit_with`]). The steps: the candidate networks
/// ([`candidate_configs`]), each trained (`train_candidates`), the one kept (`choose`), the
/// seasonal naive instead when it is clearly better on validation (`seasonal_naive_floor`), its
/// intervals calibrated ([`calibration_set`]) and its test part scored (`score_test`).
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
    let branch = branch_season(frame, season, prepared.spec.lookback);
    // A resumed run keeps the rows its checkpointed network reads unless the configuration
    // names them (a checkpoint from a build with another default rule still resumes).
    let lstm_rows = match (&resume, cfg.model.lstm_window) {
        (Some(r), None) => r.meta.model.lstm_window,
        _ => resolve_lstm_window(frame, cfg, prepared.spec.lookback),
    };
    let configs = candidate_configs(&prepared, cfg, branch, lstm_rows);
    let hybrid = configs
        .iter()
        .find(|(_, mc)| mc.linear)
        .map(|(_, mc)| mc.clone());
    let (trained, mut candidates) = train_candidates(
        &prepared,
        cfg,
        configs,
        season,
        device,
        observer,
        resume,
        checkpointer,
    )?;
    // A candidate cut short (the last one trained) makes the whole run interrupted, whichever
    // network is kept so far: the checkpoint holds that candidate, and `--resume` finishes it.
    let cut_short = trained.iter().any(|(_, _, r)| r.interrupted);
    let (mut chosen, mut model, mut report) = choose(trained, &prepared, device, cfg)?;
    report.interrupted |= cut_short;
    candidates[chosen].chosen = true;
    // The floor under the choice; an interrupted run writes the network so far as it is.
    if !report.interrupted
        && let Some(floor) =
            seasonal_naive_floor(&model, hybrid.as_ref(), &prepared, cfg, season, device)?
    {
        candidates[chosen].chosen = false;
        chosen = candidates.len();
        candidates.push(floor.candidate);
        model = floor.model;
        report.best_epoch = 0;
        report.best_val_loss = Some(floor.val_loss);
    }
    let (model, report) = add_seed_members(model, report, &prepared, cfg, device, observer)?;
    let calibration = calibration_set(&model, &report, candidates[chosen].linear.as_ref());
    let refit = refit_with_validation(&model, &report, &prepared, cfg, device, observer)?;
    let scored = score_test(
        &model,
        refit.as_ref().map_or(&model, |r| &r.0),
        &prepared,
        cfg,
        device,
        season,
        calibration,
    )?;
    let (model, report) = match refit {
        Some((refitted, record)) => (
            refitted,
            TrainReport {
                refit: Some(record),
                ..report
            },
        ),
        None => (model, report),
    };
    // The configuration records the decision on calendar inputs, so that a retrain from a
    // model file reads the same inputs.
    let mut config = cfg.clone();
    config.data.calendar = if ts_data::calendar::reads_calendar(&prepared.spec.features) {
        crate::config::CalendarMode::On
    } else {
        crate::config::CalendarMode::Off
    };
    Ok(FitOutcome {
        model,
        prepared,
        report,
        test: scored.test,
        test_predictions: scored.test_predictions,
        config,
        data: DataSummary::of(frame),
        season,
        candidates,
        intervals: scored.intervals,
        test_coverage: scored.test_coverage,
    })
}

/// The networks a configuration trains, named (`auto`: the LSTM and the hybrid). A resumed run
/// continues the one its checkpoint holds and trains the others again from their start (see
/// `train_candidates`).
pub fn candidate_configs(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    season: usize,
    lstm_window: usize,
) -> Vec<(String, ModelConfig)> {
    cfg.model
        .candidates()
        .into_iter()
        .map(|(kind, hybrid)| {
            (
                ModelChoice::candidate_name(kind, hybrid).to_string(),
                model_config(prepared, cfg, kind, hybrid, season, lstm_window),
            )
        })
        .collect()
}

/// A trained network: its index among the candidates, the network, its training report.
type Trained = (usize, Forecaster, TrainReport);

/// The candidate that `choose` would keep whatever training does when the validation part cannot
/// tell networks apart ([`validation_compares`]): the one whose untrained start has the lowest
/// validation loss (the first on ties; no validation part: the lowest loss on the training
/// windows). `None` when the part can
/// compare them, or there is one candidate.
fn sole_contender(
    starts: &[(Forecaster, Option<LinearFit>)],
    prepared: &Prepared,
    cfg: &ForecastConfig,
    season: usize,
    device: &Device,
) -> Result<Option<(usize, Vec<f64>)>> {
    let validation = &prepared.validation;
    if starts.len() < 2 || validation_compares(validation.n, prepared.spec.horizon, season) {
        return Ok(None);
    }
    // Without a validation part (`--validation 0`), the starts are compared on the training
    // windows: the LSTM's is the naive forecast, fitted on nothing; the hybrid's includes the
    // naive among its anchors and errs no more than it there. The losses reported stay NaN.
    let part = if validation.n == 0 {
        &prepared.train
    } else {
        validation
    };
    let compared = starts
        .iter()
        .map(|(m, _)| {
            use burn::module::Module;
            crate::trainer::validation_loss(&m.valid(), part, &cfg.train, device)
        })
        .collect::<Result<Vec<f64>>>()?;
    let key = |l: f64| if l.is_nan() { f64::INFINITY } else { l };
    let best = (0..compared.len()).fold(0, |b, i| {
        if key(compared[i]) < key(compared[b]) {
            i
        } else {
            b
        }
    });
    let losses = if validation.n == 0 {
        vec![f64::NAN; compared.len()]
    } else {
        compared
    };
    Ok(Some((best, losses)))
}

/// Trains each candidate in turn (stopping after one that was interrupted), and describes each.
/// When the validation part is too short to choose between them, only the one `choose` would
/// keep anyway is trained ([`sole_contender`]); the others are described by their untrained
/// start and marked `not_trained`.
///
/// A resumed run continues the candidate its checkpoint holds from there, and trains the others
/// from their start as the interrupted run did (training is deterministic on the CPU backend), so
/// that it chooses among the same networks and ends as the uninterrupted run would.
#[allow(clippy::too_many_arguments)]
fn train_candidates(
    prepared: &Prepared,
    cfg: &ForecastConfig,
    configs: Vec<(String, ModelConfig)>,
    season: usize,
    device: &Device,
    observer: &mut dyn Observer,
    mut resume: Option<Resume>,
    mut checkpointer: Option<&mut dyn Checkpointer>,
) -> Result<(Vec<Trained>, Vec<Candidate>)> {
    let mut trained = Vec::new();
    let mut candidates = Vec::with_capacity(configs.len());
    // The candidate the checkpoint holds; a checkpoint holding none of them is refused.
    let resumed = match resume.as_ref() {
        None => None,
        Some(r) => Some(
            configs
                .iter()
                .position(|(_, mc)| *mc == r.meta.model)
                .ok_or_else(|| TrainError::InvalidConfig {
                    name: "checkpoint".into(),
                    value: "model architecture".into(),
                    reason: "differs from the one the data and configuration give".into(),
                })?,
        ),
    };
    let starts = configs
        .iter()
        .map(|(_, mc)| init_model(prepared, cfg, mc, device))
        .collect::<Result<Vec<_>>>()?;
    let sole = sole_contender(&starts, prepared, cfg, season, device)?;
    for (i, ((name, _), (model, linear))) in configs.into_iter().zip(starts).enumerate() {
        let resume = if resumed == Some(i) {
            resume.take()
        } else {
            None
        };
        if let Some((_, losses)) = sole.as_ref().filter(|(keep, _)| *keep != i) {
            candidates.push(Candidate {
                name,
                best_val_loss: losses[i],
                initial_val_loss: losses[i],
                best_epoch: 0,
                seconds: 0.0,
                chosen: false,
                untrained_kept: false,
                linear,
                not_trained: true,
            });
            continue;
        }
        let initial = Some(model.clone());
        let (model, mut report) = fit_with(
            model,
            &prepared.train,
            &prepared.validation,
            &cfg.train,
            device,
            observer,
            resume,
            match checkpointer.as_mut() {
                Some(c) => Some(&mut **c as &mut dyn Checkpointer),
                None => None,
            },
        )?;
        let untrained_kept = match &initial {
            Some(init) if !report.interrupted && report.best_epoch > 0 => {
                training_not_earned(init, &model, prepared, cfg, device)?
            }
            _ => false,
        };
        let model = match (untrained_kept, initial) {
            (true, Some(init)) => {
                report.best_epoch = 0;
                report.best_val_loss = report.initial_val_loss;
                init
            }
            _ => model,
        };
        candidates.push(Candidate {
            name,
            best_val_loss: report.best_val_loss.unwrap_or(f64::NAN),
            initial_val_loss: report.initial_val_loss.unwrap_or(f64::NAN),
            best_epoch: report.best_epoch,
            seconds: report.seconds,
            chosen: false,
            untrained_kept,
            linear,
            not_trained: false,
        });
        let stopped = report.interrupted;
        trained.push((i, model, report));
        if stopped {
            break;
        }
    }
    Ok((trained, candidates))
}

/// The network kept: the candidate that starts from the stronger baseline (the lower untrained
/// validation loss: the hybrid's seasonal naive or linear fit against the LSTM's naive forecast)
/// is the incumbent; another replaces it only when clearly better (see `clearly_better`), its
/// gain measured over runs of `horizon` windows as for the untrained start: windows closer than
/// the horizon share targets, so their gains are not independent evidence.
fn choose(
    mut trained: Vec<Trained>,
    prepared: &Prepared,
    device: &Device,
    cfg: &ForecastConfig,
) -> Result<Trained> {
    let (validation, block) = (&prepared.validation, prepared.spec.horizon.max(1));
    trained.sort_by(|a, b| {
        let key = |r: &TrainReport| r.initial_val_loss.unwrap_or(f64::INFINITY);
        key(&a.2).total_cmp(&key(&b.2))
    });
    let mut best: Option<Trained> = None;
    for (i, model, report) in trained {
        let better = match &best {
            None => true,
            Some((_, incumbent, _)) => {
                clearly_better(incumbent, &model, validation, device, block)?
            }
        };
        if better {
            best = Some((i, model, report));
        }
    }
    best.ok_or_else(|| TrainError::InvalidConfig {
        name: "model".into(),
        value: format!("{:?}", cfg.model.kind),
        reason: "no network to train".into(),
    })
}

/// The name of the seasonal naive forecast among the candidates, when it is kept because it is
/// clearly better on validation than the network chosen (the floor under the choice of
/// [`train_prepared_with`]).
pub const SEASONAL_NAIVE: &str = "seasonal naive";

/// The seasonal naive forecast kept instead of the network chosen, by [`seasonal_naive_floor`].
struct Floor {
    model: Forecaster,
    candidate: Candidate,
    val_loss: f64,
}

/// The seasonal naive forecast of `season` as a network of the hybrid architecture `mc`: its
/// linear branch holds the seasonal naive weights and its LSTM head is zero (as every network
/// starts), so that it forecasts exactly the seasonal naive. `None` when `mc` reads another
/// season or the window does not hold one season before every horizon step.
fn seasonal_naive_network(
    mc: &ModelConfig,
    season: usize,
    cfg: &ForecastConfig,
    device: &Device,
) -> Result<Option<Forecaster>> {
    use burn::module::Module;
    if !mc.linear || mc.season != season {
        return Ok(None);
    }
    let Some(weight) =
        ts_model::forecaster::seasonal_mean_weights(mc.horizon, mc.lookback, season, 1)
    else {
        return Ok(None);
    };
    let mut model = mc.init(cfg.train.seed, &device.clone().autodiff())?;
    model.set_linear(&weight, &vec![0.0; mc.horizon])?;
    Ok(Some(model.valid()))
}

/// The floor under `--model auto` (and `hybrid`): the network chosen must not do worse on
/// validation than the seasonal naive forecast. When the seasonal naive is *clearly* better there
/// ([`clearly_better`], its gain measured over runs of `horizon` windows, as every choice
/// between candidates is), it is kept instead, as the hybrid network `hybrid` holding its
/// weights (fitted on nothing: its intervals are calibrated like the naive start's). Nothing is
/// compared on a validation part that cannot tell networks apart ([`validation_compares`]: two
/// windows chose the seasonal naive over the naive forecast by 2 % on the bill rate at 16
/// quarters, which the naive beats by 10 % on the test part), nor for weighted training
/// (fairness mitigation: the seasonal naive would ignore the weights); the caller skips it after
/// an interrupted run. `None`: the network stays (no season, no hybrid candidate, a window
/// shorter than the season, or the seasonal naive not clearly better).
fn seasonal_naive_floor(
    model: &Forecaster,
    hybrid: Option<&ModelConfig>,
    prepared: &Prepared,
    cfg: &ForecastConfig,
    season: usize,
    device: &Device,
) -> Result<Option<Floor>> {
    let validation = &prepared.validation;
    let block = prepared.spec.horizon.max(1);
    let compares = season > 1
        && validation.has_targets()
        && validation_compares(validation.n, block, season)
        && cfg.train.sample_weights.is_none();
    let Some(mc) = hybrid.filter(|_| compares) else {
        return Ok(None);
    };
    let Some(snaive) = seasonal_naive_network(mc, season, cfg, device)? else {
        return Ok(None);
    };
    if !clearly_better(model, &snaive, validation, device, block)? {
        return Ok(None);
    }
    let pred = predict_scaled(&snaive, validation, device, 512)?;
    let val_loss = crate::trainer::loss_value(&pred, &validation.all_y(), &cfg.train);
    let candidate = Candidate {
        name: SEASONAL_NAIVE.to_string(),
        best_val_loss: val_loss,
        initial_val_loss: val_loss,
        best_epoch: 0,
        seconds: 0.0,
        chosen: true,
        untrained_kept: false,
        linear: Some(LinearFit {
            penalty: None,
            val_loss,
            anchor: SEASONAL_NAIVE.to_string(),
        }),
        not_trained: false,
    };
    Ok(Some(Floor {
        model: snaive,
        candidate,
        val_loss,
    }))
}

/// The seed of the `k`-th extra member of a run seeded `seed`: `seed + k × 0x9E3779B97F4A7C15`
/// (wrapping; the golden-ratio step of SplitMix64), far from the seeds a user tries next
/// (`seed + 1`, …), so that runs with nearby seeds share no member.
pub fn member_seed(seed: u64, k: usize) -> u64 {
    seed.wrapping_add((k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The kept network and `train.seed_members − 1` more of its architecture, each trained from a
/// start drawn from another seed ([`member_seed`]) and kept at its own best validation epoch (or at
/// its start when training is not clearly better there, as for the candidates), as one
/// ensemble whose forecast is their mean. Only for a trained network (a kept untrained start is
/// the same for every seed) with a validation part, and not when the network is to be trained
/// again on the validation part too (`train.refit_with_validation`: one network); a member the
/// observer stops part of the way is dropped, and no more are trained.
fn add_seed_members(
    model: Forecaster,
    mut report: TrainReport,
    prepared: &Prepared,
    cfg: &ForecastConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<(Forecaster, TrainReport)> {
    use burn::module::Module;
    let t = &cfg.train;
    if t.seed_members <= 1
        || t.refit_with_validation
        || report.best_epoch == 0
        || report.interrupted
        || prepared.validation.n == 0
    {
        return Ok((model, report));
    }
    let Forecaster {
        mut members,
        mut config,
        kernel,
    } = model;
    for k in 1..t.seed_members {
        let mut member_cfg = cfg.clone();
        member_cfg.train.seed = member_seed(t.seed, k);
        let (start, _) = init_model(prepared, &member_cfg, &config, device)?;
        let init = start.clone();
        let (net, r) = fit_with(
            start,
            &prepared.train,
            &prepared.validation,
            &member_cfg.train,
            device,
            observer,
            None,
            None,
        )?;
        if r.interrupted {
            break;
        }
        let (net, best_epoch, best_val_loss) =
            if r.best_epoch > 0 && training_not_earned(&init, &net, prepared, cfg, device)? {
                (init.valid(), 0, r.initial_val_loss)
            } else {
                (net, r.best_epoch, r.best_val_loss)
            };
        report.seed_members.push(crate::trainer::MemberRecord {
            seed: member_cfg.train.seed,
            best_epoch,
            best_val_loss,
            seconds: r.seconds,
        });
        members.extend(net.members);
    }
    config.ensemble = members.len();
    Ok((
        Forecaster {
            members,
            config,
            kernel,
        },
        report,
    ))
}

/// The kept network trained again from its start on the training and validation windows
/// together (every window whose targets lie before the test part) for the epochs its first run
/// kept, when `train.refit_with_validation` asks for it and there is something to refit: a
/// trained network (not its untrained start), a validation part, no per-window weights (they
/// weigh training windows only). A refit the observer stops part of the way is dropped.
fn refit_with_validation(
    model: &Forecaster,
    report: &TrainReport,
    prepared: &Prepared,
    cfg: &ForecastConfig,
    device: &Device,
    observer: &mut dyn Observer,
) -> Result<Option<(Forecaster, crate::trainer::RefitRecord)>> {
    let t = &cfg.train;
    if !t.refit_with_validation
        || report.best_epoch == 0
        || report.interrupted
        || prepared.validation.n == 0
        || t.sample_weights.is_some()
    {
        return Ok(None);
    }
    let spec = &prepared.spec;
    let anchors = ts_data::anchors_in(spec, 0, prepared.bounds.test_start);
    let windows = Windows::over(prepared.scaled.clone(), spec, anchors, true);
    let (start, _) = init_model(prepared, cfg, &model.config, device)?;
    let (refitted, r) =
        crate::trainer::fit_epochs(start, &windows, t, report.best_epoch, device, observer)?;
    if r.interrupted {
        // Stopped part of the way (Ctrl-C): the network validation chose stands.
        return Ok(None);
    }
    let record = crate::trainer::RefitRecord {
        epochs: r.history.len(),
        windows: windows.n,
        seconds: r.seconds,
    };
    Ok(Some((refitted, record)))
}

/// The kept network's test forecasts and their scores, and its intervals.
struct TestScores {
    test: Evaluation,
    test_predictions: Vec<f32>,
    intervals: Option<Intervals>,
    test_coverage: Vec<Coverage>,
}

/// Where the kept network's intervals are calibrated: on the training and validation parts when
/// it is its untrained start and that start is fitted on nothing: a residual network with its
/// head at zero and no linear branch (the naive forecast), or whose linear branch kept its
/// anchor (`linear.penalty` = `None`: the seasonal naive, or a fixed mean of past seasons,
/// chosen among a handful by its error on those windows, the one choice made on them); else on
/// the validation part alone.
/// A long horizon on a short series leaves a handful of validation windows; such a forecast's
/// errors on every earlier window are as much out of sample as those.
pub fn calibration_set(
    model: &Forecaster,
    report: &TrainReport,
    linear: Option<&LinearFit>,
) -> CalibrationSet {
    let c = &model.config;
    let fixed_branch = !c.linear || linear.is_some_and(|l| l.penalty.is_none());
    if report.best_epoch == 0 && c.residual && fixed_branch {
        CalibrationSet::TrainingAndValidation
    } else {
        CalibrationSet::Validation
    }
}

/// Calibrates the intervals on `calibration` with the forecasts of `model` (the network chosen
/// on validation), then forecasts the test part with `forecaster` (that network, or the same
/// trained again on the validation part too) and scores it against the baselines.
fn score_test(
    model: &Forecaster,
    forecaster: &Forecaster,
    prepared: &Prepared,
    cfg: &ForecastConfig,
    device: &Device,
    season: usize,
    calibration: CalibrationSet,
) -> Result<TestScores> {
    let (spec, scaler) = (&prepared.spec, &prepared.scaler);
    let ranges = crate::range::per_target(&cfg.data.bounds, &spec.targets)?;
    let forecast =
        |w: &Windows| crate::range::forecast_scaled(model, w, device, &ranges, spec, scaler);
    let validation_predictions = forecast(&prepared.validation)?;
    let train_predictions;
    let mut parts = Vec::with_capacity(2);
    if calibration == CalibrationSet::TrainingAndValidation {
        train_predictions = forecast(&prepared.train)?;
        parts.push((&prepared.train, &train_predictions[..]));
    }
    parts.push((&prepared.validation, &validation_predictions[..]));
    let intervals =
        Intervals::calibrate_on(calibration, &parts, spec, scaler, &cfg.train.intervals).map(
            |iv| {
                iv.with_method(cfg.train.interval_method, cfg.train.interval_gamma)
                    .with_memory(cfg.train.interval_memory)
                    .with_ranges(&ranges)
                    .with_largest_moves(&[&prepared.train, &prepared.validation], spec, scaler)
            },
        );
    let test_predictions =
        crate::range::forecast_scaled(forecaster, &prepared.test, device, &ranges, spec, scaler)?;
    let test_coverage = intervals.as_ref().map_or_else(Vec::new, |iv| {
        iv.coverage(&prepared.test, &test_predictions, spec, scaler)
    });
    let test = evaluate(
        &prepared.test,
        &test_predictions,
        spec,
        scaler,
        &baseline_spec(prepared, season),
    );
    Ok(TestScores {
        test,
        test_predictions,
        intervals,
        test_coverage,
    })
}

/// What a fit records in its model file beside the network, the data layout and the
/// configuration: the header's `extra` (`ts-model` stores it as it is, below the layer that
/// knows these types), read back field by field by [`crate::bundle::Bundle`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The table trained on.
    pub data: DataSummary,
    /// Its time column, if any.
    pub time_column: Option<String>,
    /// Epoch kept.
    pub best_epoch: usize,
    /// Row boundaries of the split.
    pub split: ts_data::SplitBounds,
    /// Seasonal period of the baselines (1 = none).
    pub season: usize,
    /// The networks trained and which was kept.
    pub candidates: Vec<Candidate>,
    /// Intervals calibrated on the validation part (or the training and validation parts, see
    /// [`calibration_set`]).
    pub intervals: Option<Intervals>,
}

impl RunRecord {
    /// The record of a fit.
    pub fn of(outcome: &FitOutcome) -> Self {
        Self {
            data: outcome.data.clone(),
            time_column: outcome.data.time_column.clone(),
            best_epoch: outcome.report.best_epoch,
            split: outcome.prepared.bounds,
            season: outcome.season,
            candidates: outcome.candidates.clone(),
            intervals: outcome.intervals.clone(),
        }
    }

    /// One field of a record stored as `extra`; `None` when it is missing, `null` or unreadable
    /// (files written before the field existed).
    pub fn field<T: serde::de::DeserializeOwned>(
        extra: &serde_json::Value,
        name: &str,
    ) -> Option<T> {
        extra
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
}

/// The model file header of a fit.
pub fn header_of(outcome: &FitOutcome) -> ModelHeader {
    ModelHeader {
        writer: writer(),
        format_version: file::version_for(&outcome.model.config),
        model: outcome.model.config.clone(),
        spec: outcome.prepared.spec.clone(),
        scaler: outcome.prepared.scaler.clone(),
        train_config: serde_json::to_value(&outcome.config).unwrap_or_default(),
        extra: serde_json::to_value(RunRecord::of(outcome)).unwrap_or_default(),
    }
}

/// Saves a fit as a model file (atomically).
pub fn save_model(path: &Path, outcome: &FitOutcome) -> Result<()> {
    Ok(file::save(path, &outcome.model, &header_of(outcome))?)
}

#[cfg(test)]
mod tests {
    use super::{clear_gain, fingerprints_match, validation_compares};

    /// A checkpoint written by an earlier build resumes: fields the data summary gained since
    /// are not compared, and time stamps are compared as times.
    #[test]
    fn fingerprints_of_earlier_builds_still_match() {
        let old = r#"{"data":{"source":"a.csv","rows":3,"start":"2020-01-01","end":"2020-01-01 02:00:00"},"values":"ab"}"#;
        let new = r#"{"data":{"source":"b.csv","rows":3,"start":"2020-01-01 00:00:00","end":"2020-01-01 02:00:00","missing":{"policy":"ffill","filled":[["y",1]],"dropped_rows":0}},"values":"ab"}"#;
        assert!(fingerprints_match(old, new));
        let later = new.replace(
            "\"start\":\"2020-01-01 00:00:00\"",
            "\"start\":\"2020-01-01 01:00:00\"",
        );
        assert!(!fingerprints_match(old, &later));
        let other = new.replace("\"values\":\"ab\"", "\"values\":\"cd\"");
        assert!(!fingerprints_match(old, &other));
    }

    /// The KPSS statistic matches statsmodels' `kpss(x, "c", nlags="legacy")` on bundled columns
    /// and two seeded series (`tests/golden/kpss_golden.json`, made by
    /// `scripts/golden/make_golden.py --only kpss`), and the 5 % verdict is the expected one for
    /// the random walk and the white noise.
    #[test]
    fn kpss_matches_statsmodels() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/golden/kpss_golden.json");
        let golden: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = golden["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 8);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let values: Vec<f64> = case["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            let want = case["statistic"].as_f64().unwrap();
            let got = super::kpss_level(&values).unwrap();
            assert!(
                (got - want).abs() <= 1e-9 * want.abs(),
                "{name}: {got} vs statsmodels {want}"
            );
            if name.starts_with("random walk") {
                assert!(got > super::KPSS_LEVEL_5PCT, "{name}: {got}");
            }
            if name.starts_with("white noise") {
                assert!(got <= super::KPSS_LEVEL_5PCT, "{name}: {got}");
            }
        }
        assert_eq!(super::kpss_level(&[1.0; 50]), None);
        assert_eq!(super::kpss_level(&[1.0, 2.0, 3.0]), None);
    }

    /// The plain LSTM reads windows relative to their last row when its target wanders (a random
    /// walk with a drift) and the levels when the target is stationary (a noisy cycle); `--lstm-inputs`
    /// overrides the test either way, a network that learns levels always reads them, and the
    /// hybrid always reads relative windows.
    #[test]
    fn the_lstm_reads_relative_windows_of_a_wandering_series() {
        use super::*;

        use crate::config::LstmInputs;
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let (mut walk, mut state) = (0.0_f64, 12345_u64);
        let mut text = String::from("t,walk,cycle\n");
        for t in 0..400 {
            // A 64-bit linear congruential generator (Knuth's MMIX constants): steps uniform in
            // [-0.5, 0.5), plus a drift.
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            walk += u + 0.03;
            let cycle = [3.0, -1.0, -3.0, 1.0][t % 4] + u;
            writeln!(text, "{t},{walk:.4},{cycle:.4}").unwrap();
        }
        let path = dir.path().join("walk.csv");
        std::fs::write(&path, text).unwrap();
        let frame = ts_data::load(&path, &ts_data::LoadOptions::default()).unwrap();
        let reads_relative = |target: &str, features: &[&str], f: &dyn Fn(&mut ForecastConfig)| {
            let mut cfg = ForecastConfig::default();
            cfg.data.target = crate::TargetSpec::One(target.into());
            cfg.data.features = features.iter().map(|s| s.to_string()).collect();
            cfg.data.season = Some(4);
            f(&mut cfg);
            let prepared = prepare_frame(&frame, &cfg).unwrap();
            let mc =
                |hybrid| model_config(&prepared, &cfg, ts_model::ModelKind::Lstm, hybrid, 4, 0);
            assert!(
                !cfg.model.residual || mc(true).input_norm,
                "the hybrid reads relative windows"
            );
            mc(false).input_norm
        };
        let none = |_: &mut ForecastConfig| {};
        assert!(reads_relative("walk", &["walk"], &none));
        assert!(!reads_relative("cycle", &["cycle"], &none));
        // Only the targets are tested: a wandering feature is not enough.
        assert!(!reads_relative("cycle", &["cycle", "walk"], &none));
        assert!(!reads_relative("walk", &["walk"], &|c| c
            .model
            .lstm_inputs =
            LstmInputs::Levels));
        assert!(reads_relative("cycle", &["cycle"], &|c| c
            .model
            .lstm_inputs =
            LstmInputs::Relative));
        assert!(!reads_relative("walk", &["walk"], &|c| c.model.residual = false));
        let mut cfg = ForecastConfig::default();
        (cfg.model.lstm_inputs, cfg.model.residual) = (LstmInputs::Relative, false);
        assert!(cfg.validate().is_err());
        assert_eq!(
            ForecastConfig::seed_recipe().model.lstm_inputs,
            LstmInputs::Levels
        );
    }

    /// A network that misses every turn of a clean cycle on validation (the naive forecast: an
    /// LSTM at its start) gives way to the seasonal naive, as a hybrid network whose forecasts
    /// are exactly the seasonal naive's; the seasonal naive does not give way to itself, and
    /// nothing happens without a hybrid architecture or a season the window holds.
    #[test]
    fn the_seasonal_naive_replaces_a_network_clearly_worse_on_validation() {
        use super::*;
        use std::fmt::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("t,y\n");
        for t in 0..240 {
            let cycle = [3.0, -1.0, -3.0, 1.0][t % 4];
            let noise = ((t * 7919) % 101) as f64 / 500.0;
            writeln!(text, "{t},{:.4}", 10.0 + 0.01 * t as f64 + cycle + noise).unwrap();
        }
        let path = dir.path().join("cycle.csv");
        std::fs::write(&path, text).unwrap();
        let mut cfg = ForecastConfig::default();
        cfg.data.target = crate::TargetSpec::One("y".into());
        (cfg.data.season, cfg.model.hidden_size) = (Some(4), 8);
        let frame = ts_data::load(&path, &ts_data::LoadOptions::default()).unwrap();
        let prepared = prepare_frame(&frame, &cfg).unwrap();
        let device = make_device(cfg.device).unwrap();
        let mc = |hybrid: bool, season: usize| {
            model_config(
                &prepared,
                &cfg,
                ts_model::ModelKind::Lstm,
                hybrid,
                season,
                0,
            )
        };
        let naive = mc(false, 4).init(cfg.train.seed, &device).unwrap();
        let hybrid = mc(true, 4);
        let floor = |model: &Forecaster, hybrid: Option<&ModelConfig>, season: usize| {
            seasonal_naive_floor(model, hybrid, &prepared, &cfg, season, &device).unwrap()
        };
        let kept = floor(&naive, Some(&hybrid), 4).expect("the seasonal naive is clearly better");
        assert_eq!(kept.candidate.name, SEASONAL_NAIVE);
        assert!(kept.candidate.chosen && kept.candidate.best_epoch == 0);
        assert_eq!(kept.candidate.best_val_loss, kept.val_loss);
        let v = &prepared.validation;
        let p = predict_scaled(&kept.model, v, &device, 512).unwrap();
        let m = crate::metrics::seasonal_naive_forecast(v, &prepared.spec, 4);
        assert_eq!(p.len(), m.len());
        for (a, b) in p.iter().zip(&m) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert!(kept.val_loss < 0.01, "{}", kept.val_loss);
        assert!(floor(&kept.model, Some(&hybrid), 4).is_none());
        assert!(floor(&naive, None, 4).is_none());
        assert!(floor(&naive, Some(&hybrid), 1).is_none());
        // The branch reads another season than the baselines'.
        assert!(floor(&naive, Some(&mc(true, 2)), 4).is_none());
    }

    #[test]
    fn networks_are_compared_only_over_two_horizons_and_two_seasons() {
        // Half-hourly demand, weekly season: six days of validation cannot choose, nor ten.
        assert!(!validation_compares(276, 48, 336));
        assert!(!validation_compares(600, 48, 336));
        assert!(validation_compares(672, 48, 336));
        // Monthly data at 12 months: three windows are not two horizons.
        assert!(!validation_compares(3, 12, 12));
        assert!(validation_compares(24, 1, 12) && !validation_compares(23, 1, 12));
        // Quarterly: eight windows are two years; five are not, at one step or four.
        assert!(validation_compares(8, 1, 4) && validation_compares(8, 4, 4));
        assert!(!validation_compares(5, 1, 4) && !validation_compares(5, 4, 4));
        // No season, no validation.
        assert!(validation_compares(2, 1, 1) && !validation_compares(1, 1, 1));
        assert!(!validation_compares(0, 1, 1));
    }

    #[test]
    fn a_gain_is_clear_only_over_independent_blocks() {
        // Six windows gain 1, the next six lose 0.2: per window (as if independent) the mean
        // 0.4 is over two standard errors; over two blocks of six (a horizon of six: windows
        // closer than that share targets) the block means 1 and -0.2 leave it within one.
        let gains: Vec<f64> = [[1.0; 6], [-0.2; 6]].concat();
        assert!(clear_gain(&gains, 1));
        assert!(!clear_gain(&gains, 6));
        // A steady gain is clear either way; fewer than two blocks never is.
        let steady: Vec<f64> = (0..12).map(|i| 0.5 + 0.1 * f64::from(i % 2)).collect();
        assert!(clear_gain(&steady, 1) && clear_gain(&steady, 6));
        assert!(!clear_gain(&steady, 7));
        assert!(!clear_gain(&[-1.0, -0.5, -0.7], 1));
        // The oldest windows are left out when the block does not divide them: 7 = 1 + 2 × 3.
        let mut late = vec![-100.0];
        late.extend([1.0, 1.1, 0.9, 1.0, 1.2, 0.8]);
        assert!(clear_gain(&late, 3));
    }
}
