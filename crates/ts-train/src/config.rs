//! Configuration of a whole forecasting run: data, model, training. Plain serde structs whose
//! defaults are the documented defaults; the CLI reads them from TOML and flags.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_data::{FillPolicy, ScalerKind, SplitConfig};
use ts_model::{DeviceChoice, ModelKind};

use crate::error::{Result, TrainError, invalid};

/// Which columns to forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetSpec {
    /// One column, a comma-separated list, or `"all"`.
    One(String),
    /// A list of columns.
    Many(Vec<String>),
}

impl Default for TargetSpec {
    fn default() -> Self {
        Self::One(String::new())
    }
}

impl TargetSpec {
    /// Resolves the spec against the available columns (`all` = every column).
    pub fn resolve(&self, columns: &[String]) -> Vec<String> {
        let list: Vec<String> = match self {
            Self::One(s) if s.trim().eq_ignore_ascii_case("all") => return columns.to_vec(),
            Self::One(s) => s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            Self::Many(v) => v.clone(),
        };
        list
    }
}

/// Data preparation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataConfig {
    /// The CSV or Parquet file (the CLI's `--data`).
    pub path: Option<std::path::PathBuf>,
    /// Target column(s).
    pub target: TargetSpec,
    /// Input columns; empty = every value column of the file.
    pub features: Vec<String>,
    /// Time column; `None` = detect.
    pub time_column: Option<String>,
    /// Missing-value policy.
    pub fill: FillPolicy,
    /// Sequence length (time steps per window); `None` = 12, or one season (up to three when the
    /// season beats the naive forecast) when that is longer ([`DataConfig::lookback_for`]), so
    /// that the model sees the seasonal naive forecast and the seasons before it.
    pub sequence_length: Option<usize>,
    /// Seasonal period in rows for the seasonal naive baseline, MASE and the linear branch;
    /// `None` = detected from the time column's spacing ([`ts_data::detect_seasons`]); 1 = none.
    pub season: Option<usize>,
    /// Steps ahead to predict.
    pub horizon: usize,
    /// Share of rows before the test part.
    pub train_split: f64,
    /// Share of the training part held out for validation (0 disables validation and early stopping).
    pub validation: f64,
    /// Scaler kind.
    pub scaler: ScalerKind,
    /// Declared value ranges of the targets, by target name (`"*"`: every target without its
    /// own); forecasts and interval bounds are clipped to them ([`crate::range`]). Empty: none.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub bounds: std::collections::BTreeMap<String, crate::range::ValueRange>,
    /// Calendar inputs: `auto` (where they explain the changes), `on`, `off`. A model file
    /// records the decision (`on`, or nothing for `off`, so that builds from before read it).
    #[serde(default = "calendar_off", skip_serializing_if = "CalendarMode::is_off")]
    pub calendar: CalendarMode,
}

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            path: None,
            target: TargetSpec::default(),
            features: Vec::new(),
            time_column: None,
            fill: FillPolicy::Error,
            sequence_length: None,
            season: None,
            horizon: 1,
            train_split: 0.8,
            validation: 0.1,
            scaler: ScalerKind::MinMax,
            bounds: std::collections::BTreeMap::new(),
            calendar: CalendarMode::Auto,
        }
    }
}

/// Default sequence length when no season asks for a longer one.
pub const DEFAULT_LOOKBACK: usize = 12;
/// The most seasons a default sequence length covers.
pub const AUTO_LOOKBACK_SEASONS: usize = 3;
/// The longest sequence length chosen automatically to cover a season.
pub const MAX_AUTO_LOOKBACK: usize = 512;
/// The longest default window for a season longer than [`MAX_AUTO_LOOKBACK`] that holds a
/// shorter one (a week of data every 15 or 10 minutes, 672 or 1,008 rows): the LSTM layers read
/// the last day of it, the hybrid's linear branch all of it.
pub const MAX_AUTO_WEEK_WINDOW: usize = 1008;
/// The most values (rows × targets × window) for which the default window holds such a week: the
/// linear branch's closed-form fit keeps one row of the window per training window and target
/// (64 million values: 512 MiB; 15-minute data with one target up to about 95,000 rows).
pub const MAX_WEEK_WINDOW_VALUES: usize = 64 << 20;

impl DataConfig {
    /// Whether a target is set: a non-blank column (or list, or `"all"`), or a non-empty list.
    pub fn has_target(&self) -> bool {
        match &self.target {
            TargetSpec::One(s) => !s.trim().is_empty(),
            TargetSpec::Many(v) => !v.is_empty(),
        }
    }

    /// [`DataConfig::has_target`] as a check; the error lists `columns`, the data's columns.
    pub fn require_target(&self, columns: &[String]) -> Result<()> {
        if self.has_target() {
            return Ok(());
        }
        Err(TrainError::NoTarget {
            columns: columns.join(", "),
        })
    }

    /// The sequence length for a seasonal period `season` (1 = none) on a table of `rows` rows:
    /// the configured one, else [`DEFAULT_LOOKBACK`] or one season when that is longer (up to
    /// [`MAX_AUTO_LOOKBACK`] rows). When the season is `strong` (the seasonal naive beats the naive
    /// forecast on the training rows, [`crate::fit::season_beats_naive`]), up to
    /// [`AUTO_LOOKBACK_SEASONS`] seasons, as many as fit in [`MAX_AUTO_LOOKBACK`] rows and in a
    /// quarter of the table: the model, and the hybrid's linear branch, can only learn from the
    /// seasons it sees.
    pub fn lookback_for(&self, season: usize, rows: usize, strong: bool) -> usize {
        self.sequence_length.unwrap_or_else(|| {
            if season <= 1 || season > MAX_AUTO_LOOKBACK {
                return DEFAULT_LOOKBACK;
            }
            let limit = MAX_AUTO_LOOKBACK.min(rows / 4);
            let most = if strong { AUTO_LOOKBACK_SEASONS } else { 1 };
            let seasons = (1..=most).rev().find(|k| k * season <= limit).unwrap_or(1);
            DEFAULT_LOOKBACK.max(seasons * season)
        })
    }

    /// The split fractions.
    pub fn split(&self) -> SplitConfig {
        SplitConfig {
            train: self.train_split,
            validation: self.validation,
        }
    }
}

/// Which network to train: one kind, or `auto` to train a few and keep the best on validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelChoice {
    /// Train the plain LSTM and the hybrid; keep the one whose untrained start has the lower
    /// validation loss unless the other is clearly better on validation (see the pipeline).
    #[default]
    Auto,
    /// Stacked LSTM on the (globally scaled) levels, with a residual head.
    Lstm,
    /// Attention LSTM.
    Attention,
    /// Stacked LSTM on windows relative to their last value, plus a linear branch over each
    /// target's history that starts as the seasonal naive forecast.
    Hybrid,
}

impl ModelChoice {
    /// The network kinds with their normalisation and linear-branch switches that this choice
    /// trains, in order: (kind, hybrid).
    pub fn candidates(self) -> Vec<(ModelKind, bool)> {
        match self {
            Self::Auto => vec![(ModelKind::Lstm, false), (ModelKind::Lstm, true)],
            Self::Lstm => vec![(ModelKind::Lstm, false)],
            Self::Attention => vec![(ModelKind::Attention, false)],
            Self::Hybrid => vec![(ModelKind::Lstm, true)],
        }
    }

    /// The choice that trains exactly the network `config` describes (to retrain a saved model's
    /// architecture).
    pub fn of_network(config: &ts_model::ModelConfig) -> Self {
        match (config.kind, config.linear) {
            (ModelKind::Attention, _) => Self::Attention,
            (ModelKind::Lstm, true) => Self::Hybrid,
            (ModelKind::Lstm, false) => Self::Lstm,
        }
    }

    /// The name of one candidate, as reports print it.
    pub fn candidate_name(kind: ModelKind, hybrid: bool) -> &'static str {
        match (kind, hybrid) {
            (ModelKind::Lstm, false) => "lstm",
            (ModelKind::Lstm, true) => "hybrid",
            (ModelKind::Attention, false) => "attention",
            (ModelKind::Attention, true) => "attention-hybrid",
        }
    }
}

impl std::str::FromStr for ModelChoice {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "lstm" => Ok(Self::Lstm),
            "attention" | "attention-lstm" | "attention_lstm" => Ok(Self::Attention),
            "hybrid" => Ok(Self::Hybrid),
            _ => Err(invalid(
                "model",
                s,
                "expected auto, lstm, attention or hybrid",
            )),
        }
    }
}

/// Architecture settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    /// `auto`, `lstm`, `attention` or `hybrid`.
    pub kind: ModelChoice,
    /// Hidden size.
    pub hidden_size: usize,
    /// Stacked layers.
    pub num_layers: usize,
    /// Dropout.
    pub dropout: f64,
    /// Learn the change from the last observed value (recommended); `false` is the seed's plain
    /// recipe that learns the level.
    pub residual: bool,
    /// Ensemble members.
    pub ensemble: usize,
    /// Rows of each window the LSTM layers read (0 = all); `None` = the last day of a window
    /// that holds a week or at least two days of sub-daily data, else all
    /// ([`crate::fit::lstm_window`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lstm_window: Option<usize>,
    /// What the plain LSTM (not the hybrid, which always reads windows relative to their last
    /// row) reads of each window: `auto` (relative when a target's level is not stationary on
    /// the training rows, [`crate::fit::levels_stationary`]), `levels` or `relative`.
    #[serde(skip_serializing_if = "LstmInputs::is_auto")]
    pub lstm_inputs: LstmInputs,
}

impl ModelSettings {
    /// The networks these settings train ([`ModelChoice::candidates`]): without `residual`
    /// (levels learned), not the hybrid, which learns changes by construction, so that `auto`
    /// then trains the plain LSTM alone.
    pub fn candidates(&self) -> Vec<(ModelKind, bool)> {
        self.kind
            .candidates()
            .into_iter()
            .filter(|&(_, hybrid)| self.residual || !hybrid)
            .collect()
    }
}

impl Default for ModelSettings {
    fn default() -> Self {
        Self {
            kind: ModelChoice::Auto,
            hidden_size: 64,
            num_layers: 2,
            dropout: 0.2,
            residual: true,
            ensemble: 1,
            lstm_window: None,
            lstm_inputs: LstmInputs::Auto,
        }
    }
}

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (weight decay as L2 penalty).
    #[default]
    Adam,
    /// AdamW (decoupled weight decay).
    AdamW,
}

impl std::str::FromStr for OptimizerKind {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "adam" => Ok(Self::Adam),
            "adamw" => Ok(Self::AdamW),
            _ => Err(invalid("optimizer", s, "expected adam or adamw")),
        }
    }
}

/// Training loss.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossKind {
    /// Mean squared error.
    #[default]
    Mse,
    /// Mean absolute error.
    Mae,
    /// Huber loss (quadratic within `huber_delta`, linear beyond).
    Huber,
    /// The seed's custom loss: `mse_weight · MSE + (1 − mse_weight) · MAE`.
    Mixed,
}

impl std::str::FromStr for LossKind {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mse" => Ok(Self::Mse),
            "mae" | "l1" => Ok(Self::Mae),
            "huber" => Ok(Self::Huber),
            "mixed" | "mse+mae" | "custom" => Ok(Self::Mixed),
            _ => Err(invalid("loss", s, "expected mse, mae, huber or mixed")),
        }
    }
}

/// Whether the network reads calendar inputs ([`ts_data::calendar`]): the sine and cosine of
/// each row's place in its season's cycle (month of the year, day of the week, time of day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CalendarMode {
    /// When the place in the cycle explains at least [`CALENDAR_SHARE`] of the variance of the
    /// targets' one-step changes on the training rows ([`ts_data::calendar::calendar_share`]).
    #[default]
    Auto,
    /// Always (an error without a time column of dates that gives a season).
    On,
    /// Never.
    Off,
}

impl CalendarMode {
    /// Whether this is `off`.
    pub fn is_off(&self) -> bool {
        *self == Self::Off
    }
}

/// What the plain LSTM reads of each window ([`ModelSettings::lstm_inputs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LstmInputs {
    /// `relative` when the level of a target is not stationary on the
    /// training rows (KPSS, [`crate::fit::levels_stationary`]), else `levels`. A network fed the
    /// levels of a wandering series learns to pull its forecast back toward the training rows'
    /// levels, and fails once the test part lies beyond them.
    #[default]
    Auto,
    /// The scaled values themselves (the seed's recipe).
    Levels,
    /// Each window relative to its last row (every input minus its last value; the hybrid's
    /// per-window normalisation, undone at the output by the residual base): a level shift
    /// between training and forecast costs nothing. Needs `residual` (the default).
    Relative,
}

impl LstmInputs {
    /// Whether this is `auto`.
    pub fn is_auto(&self) -> bool {
        *self == Self::Auto
    }
}

impl std::str::FromStr for LstmInputs {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "levels" | "level" | "absolute" => Ok(Self::Levels),
            "relative" => Ok(Self::Relative),
            _ => Err(invalid(
                "lstm-inputs",
                s,
                "expected auto, levels or relative",
            )),
        }
    }
}

/// The share of the one-step changes' variance the calendar must explain for `auto` to add it.
pub const CALENDAR_SHARE: f64 = 0.5;

impl std::str::FromStr for CalendarMode {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "on" | "true" | "yes" => Ok(Self::On),
            "off" | "false" | "no" | "none" => Ok(Self::Off),
            _ => Err(invalid("calendar", s, "expected auto, on or off")),
        }
    }
}

/// `data.calendar` of a file written before it existed: off (its network reads no calendar).
fn calendar_off() -> CalendarMode {
    CalendarMode::Off
}

/// Learning-rate schedule over the epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate every epoch (the seed's recipe).
    Constant,
    /// Cosine decay from `learning_rate` to 1 % of it at the last epoch.
    #[default]
    Cosine,
}

impl std::str::FromStr for LrSchedule {
    type Err = crate::TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "constant" | "none" => Ok(Self::Constant),
            "cosine" => Ok(Self::Cosine),
            _ => Err(invalid("lr_schedule", s, "expected constant or cosine")),
        }
    }
}

impl LrSchedule {
    /// Learning rate of 1-based `epoch` out of `epochs`, starting from `lr`.
    pub fn rate(&self, lr: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            Self::Constant => lr,
            Self::Cosine => {
                let min = lr * 0.01;
                let p = if epochs > 1 {
                    (epoch - 1) as f64 / (epochs - 1) as f64
                } else {
                    0.0
                };
                min + 0.5 * (lr - min) * (1.0 + (std::f64::consts::PI * p).cos())
            }
        }
    }
}

/// Optimisation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Maximum epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// (Initial) learning rate.
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Weight decay (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// Clip the gradient norm to this value (`None` or 0 = no clipping).
    pub grad_clip: Option<f64>,
    /// Loss.
    pub loss: LossKind,
    /// Huber threshold.
    pub huber_delta: f64,
    /// Weight of MSE in the mixed loss.
    pub mse_weight: f64,
    /// Stop after this many epochs without a better validation loss (0 = never stop early).
    /// The weights of the best epoch are kept either way. On a large table the patience is
    /// also bounded in optimizer steps, see [`TrainConfig::patience_batches`] and
    /// [`TrainConfig::patience_for`].
    pub patience: usize,
    /// Bound on the patience in optimizer steps (mini-batches): stop once the epochs without a
    /// better validation loss hold this many batches, after at least
    /// [`MIN_PATIENCE_EPOCHS`] such epochs. `None` = [`DEFAULT_PATIENCE_BATCHES`]; `Some(0)` =
    /// no bound (the patience in epochs alone). Tables of up to about 3,200 training windows
    /// (100 batches of 32 an epoch) are not affected by the default; on 12,500 windows it
    /// stops after 6 stale epochs instead of 20. Left out of files when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patience_batches: Option<usize>,
    /// Seed for weights, shuffling and dropout.
    pub seed: u64,
    /// Shuffle training windows each epoch.
    pub shuffle: bool,
    /// Optional weight per training window (in the order of the training windows), used only inside
    /// the training loss (a weighted mean; the weights are normalised to mean 1). `None` weighs every
    /// window equally. Not stored in model files. Set by reductions that reweight samples (ts-fairness).
    #[serde(skip)]
    pub sample_weights: Option<std::sync::Arc<Vec<f32>>>,
    /// Nominal levels of the prediction intervals, each in (0, 1) (conformal, calibrated on the
    /// validation part, or the training and validation parts for a start fitted on nothing, see
    /// [`crate::intervals`]); empty = none.
    pub intervals: Vec<f64>,
    /// How the intervals follow the errors revealed after calibration: `adaptive` (recalibrated
    /// at each forecast origin, adaptive conformal inference) or `split` (fixed).
    pub interval_method: crate::intervals::IntervalMethod,
    /// Step `γ` of the adaptive level update, in [0, 1) (0 = recalibrate on the errors known so
    /// far without moving the level).
    pub interval_gamma: f64,
    /// Expected misses the adaptive intervals' pool of errors remembers per level: each error
    /// weighs `ρ` times the one known after it, `ρ = 1 − (1 − level) / memory` (see
    /// [`crate::intervals::decay_of`]); 0 = every error weighs the same. At least 1, or 0.
    pub interval_memory: f64,
    /// Time constant, in epochs, of the exponential moving average of the weights that is
    /// validated and kept instead of the raw weights (Polyak averaging): after each optimizer
    /// step the average moves `1 / (ema_epochs × steps per epoch)` of the way to the new
    /// weights, starting from the untrained network. 0 = off (the raw weights; the default;
    /// left out of files then, so that builds from before the setting read them).
    #[serde(skip_serializing_if = "is_zero")]
    pub ema_epochs: f64,
    /// Keep a trained network only when it is clearly better on validation than its untrained
    /// start (the naive forecast, or the hybrid's closed-form linear fit): the mean per-window
    /// gain in squared error must exceed one standard error. Otherwise the start is kept.
    /// Applied always when validation holds fewer than
    /// [`crate::fit::FEW_VALIDATION_WINDOWS`] windows; this turns it on for every run.
    pub require_clear_gain: bool,
    /// After the network is chosen on validation, train it again from the same start on the
    /// training and validation windows together, for the epochs the first run kept (the same
    /// schedule, cut there), and forecast the test part and the future with that network; the
    /// intervals stay calibrated on the first run's validation errors. Off by default (left out
    /// of files then).
    #[serde(skip_serializing_if = "is_false")]
    pub refit_with_validation: bool,
    /// Networks the forecast averages after the choice: once validation has chosen a trained
    /// network, `seed_members − 1` more of the same architecture are trained from starts drawn
    /// from other seeds ([`crate::fit::member_seed`]), each kept at its own best validation epoch, and the model
    /// becomes their ensemble (the chosen network first). Needs a validation part; a kept
    /// untrained start (the same for every seed) is not repeated, nor is a network that
    /// [`TrainConfig::refit_with_validation`] trains again. 1 = off (left out of files
    /// then, and read as 1 from files that lack it: those written before the setting).
    /// Default [`DEFAULT_SEED_MEMBERS`].
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub seed_members: usize,
}

/// Optimizer steps of stale epochs after which training stops by default (see
/// [`TrainConfig::patience_batches`]).
pub const DEFAULT_PATIENCE_BATCHES: usize = 2_000;

/// The fewest stale epochs the bound in optimizer steps stops after (a smaller `patience` in
/// epochs still applies as it is).
pub const MIN_PATIENCE_EPOCHS: usize = 5;

impl TrainConfig {
    /// The early-stopping patience in epochs for an epoch of `batches_per_epoch` optimizer steps:
    /// `patience`, bounded by as many epochs as hold
    /// [`patience_batches`](Self::patience_batches) steps (rounded up), but not below
    /// [`MIN_PATIENCE_EPOCHS`]; 0 = never stop early.
    pub fn patience_for(&self, batches_per_epoch: usize) -> usize {
        let bound = self.patience_batches.unwrap_or(DEFAULT_PATIENCE_BATCHES);
        if self.patience == 0 || bound == 0 || batches_per_epoch == 0 {
            return self.patience;
        }
        let epochs = bound.div_ceil(batches_per_epoch).max(MIN_PATIENCE_EPOCHS);
        self.patience.min(epochs)
    }

    /// The stale epochs (without a better validation loss) that count toward the patience
    /// after 1-based `epoch` of `batches_per_epoch` optimizer steps: all of them with a constant
    /// learning rate, or when the patience is cut by its bound in steps (a large table, see
    /// [`TrainConfig::patience_for`]: thousands of steps an epoch have settled the weights long
    /// before the schedule's midpoint); otherwise, under the cosine schedule, only those from its
    /// midpoint on, so that no run stops before the rate has fallen to half its start and a
    /// patience's worth of the slower epochs has been tried. A network that improves only once
    /// the rate is small (the hybrid's LSTM on half-hourly demand 48 steps ahead: validation loss
    /// 0.016 → 0.009–0.0125 after epoch 60, where 20 stale epochs had stopped it at epoch 29) is
    /// no longer cut short. Past the point where all stale epochs reach the patience, the trainer
    /// keeps a lower validation loss only when it is clearly lower (see `Progress::extended` in
    /// [`crate::checkpoint`]).
    pub fn counted_stale(&self, stale: usize, epoch: usize, batches_per_epoch: usize) -> usize {
        let bounded = self.patience_for(batches_per_epoch) < self.patience;
        match self.schedule_midpoint() {
            Some(mid) if !bounded => stale.min(epoch.saturating_sub(mid)),
            _ => stale,
        }
    }

    /// The epoch from which [`TrainConfig::counted_stale`] counts stale epochs toward the
    /// patience: the cosine schedule's midpoint; `None` under a constant rate.
    pub fn schedule_midpoint(&self) -> Option<usize> {
        (self.lr_schedule == LrSchedule::Cosine).then_some(self.epochs / 2)
    }
}

/// Whether a setting is 0 (left out of the files then).
fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// `serde`'s `skip_serializing_if` for settings off by default.
fn is_false(x: &bool) -> bool {
    !*x
}

/// `serde`'s `skip_serializing_if` for counts that are one when left out.
fn is_one(x: &usize) -> bool {
    *x == 1
}

/// One, for a count left out of a file.
fn one() -> usize {
    1
}

/// Networks a default run's forecast averages ([`TrainConfig::seed_members`]): the chosen one
/// and two more from other seeds.
pub const DEFAULT_SEED_MEMBERS: usize = 3;

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-3,
            lr_schedule: LrSchedule::Cosine,
            optimizer: OptimizerKind::Adam,
            weight_decay: 0.0,
            grad_clip: Some(1.0),
            loss: LossKind::Mse,
            huber_delta: 1.0,
            mse_weight: 0.5,
            patience: 20,
            patience_batches: None,
            seed: 42,
            shuffle: true,
            sample_weights: None,
            intervals: vec![0.8, 0.95],
            interval_method: crate::intervals::IntervalMethod::Adaptive,
            interval_gamma: 0.05,
            interval_memory: 4.0,
            ema_epochs: 0.0,
            require_clear_gain: false,
            refit_with_validation: false,
            seed_members: DEFAULT_SEED_MEMBERS,
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// Data preparation.
    pub data: DataConfig,
    /// Architecture.
    pub model: ModelSettings,
    /// Optimisation.
    pub train: TrainConfig,
    /// Compute device.
    pub device: DeviceChoice,
}

/// Reads and parses a TOML file; a NaN or infinite number is an error naming its dotted key
/// (configurations are merged through JSON, which has none).
pub fn read_toml(path: &Path) -> Result<toml::Table> {
    let bad = |message: String| config_file_error(path, message);
    let text =
        std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read config: {e}")))?;
    let t: toml::Table =
        toml::from_str(&text).map_err(|e| bad(format!("invalid TOML: {}", e.message())))?;
    if let Some((key, v)) = non_finite(&toml::Value::Table(t.clone()), "") {
        return Err(bad(format!("{key} = {v}: must be a finite number")));
    }
    Ok(t)
}

/// `table` (read from `path`) over `base`: every key the table sets replaces the same key of
/// `base` (tables merge key by key), the rest keep `base`'s values.
pub fn toml_over<T: Serialize + serde::de::DeserializeOwned>(
    base: &T,
    table: toml::Table,
    path: &Path,
) -> Result<T> {
    let bad = |e: serde_json::Error| config_file_error(path, e.to_string());
    let base_value = serde_json::to_value(base).map_err(bad)?;
    let over = serde_json::to_value(&table).map_err(bad)?;
    let mut v = base_value.clone();
    merge_json(&mut v, over.clone());
    serde_json::from_value::<T>(v).map_err(|e| {
        // serde names the type, not the key: find the key that fails on its own.
        let key = leaves(&over, "").into_iter().find(|(_, single)| {
            let mut one = base_value.clone();
            merge_json(&mut one, single.clone());
            serde_json::from_value::<T>(one).is_err()
        });
        match key {
            Some((k, _)) => config_file_error(path, format!("key {k}: {e}")),
            None => bad(e),
        }
    })
}

/// Every leaf of a JSON object as its dotted key and an object holding only that leaf.
fn leaves(v: &serde_json::Value, prefix: &str) -> Vec<(String, serde_json::Value)> {
    match v {
        serde_json::Value::Object(o) => o
            .iter()
            .flat_map(|(k, child)| {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(child, &key).into_iter().map(move |(dotted, inner)| {
                    let mut wrapped = serde_json::Map::new();
                    wrapped.insert(k.clone(), inner);
                    (dotted, serde_json::Value::Object(wrapped))
                })
            })
            .collect(),
        leaf => vec![(prefix.to_string(), leaf.clone())],
    }
}

fn config_file_error(path: &Path, message: String) -> TrainError {
    TrainError::ConfigFile {
        path: path.to_path_buf(),
        message,
    }
}

/// Merges `over` into `base` key by key.
fn merge_json(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                merge_json(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

/// The first NaN or infinite float of a TOML value, with its dotted key.
fn non_finite(v: &toml::Value, key: &str) -> Option<(String, f64)> {
    let child = |k: &str| {
        if key.is_empty() {
            k.to_string()
        } else {
            format!("{key}.{k}")
        }
    };
    match v {
        toml::Value::Float(f) if !f.is_finite() => Some((key.to_string(), *f)),
        toml::Value::Table(t) => t.iter().find_map(|(k, v)| non_finite(v, &child(k))),
        toml::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| non_finite(v, &format!("{key}[{i}]"))),
        _ => None,
    }
}

impl ForecastConfig {
    /// A TOML configuration file (sections `[data]`, `[model]`, `[train]`, and `device`) over
    /// `base` ([`read_toml`], [`toml_over`]). A relative `data.path` in the file is relative to the file's folder.
    pub fn from_toml(base: &Self, path: &Path) -> Result<Self> {
        Self::from_toml_table(base, read_toml(path)?, path)
    }

    /// [`ForecastConfig::from_toml`] of a file that also holds a section `[section]` of the
    /// caller's own (e.g. `[tune]`), returned apart: `T::default()` when the file has none.
    pub fn from_toml_with_section<T: serde::de::DeserializeOwned + Default>(
        base: &Self,
        path: &Path,
        section: &str,
    ) -> Result<(Self, T)> {
        let mut table = read_toml(path)?;
        let own = match table.remove(section) {
            Some(v) => v.try_into().map_err(|e: toml::de::Error| {
                config_file_error(path, format!("[{section}]: {}", e.message()))
            })?,
            None => T::default(),
        };
        Ok((Self::from_toml_table(base, table, path)?, own))
    }

    /// [`ForecastConfig::from_toml`] of a table already read from `path` (by [`read_toml`]; a
    /// caller reading sections of its own removes them first).
    pub fn from_toml_table(base: &Self, table: toml::Table, path: &Path) -> Result<Self> {
        let mut cfg = toml_over(base, table, path)?;
        if let Some(p) = &mut cfg.data.path
            && p.is_relative()
        {
            *p = path.parent().unwrap_or(Path::new("")).join(&*p);
        }
        Ok(cfg)
    }

    /// The data file and the options that load just the columns this configuration uses.
    pub fn data_source(&self) -> Result<(PathBuf, ts_data::LoadOptions)> {
        let path = self.data.path.clone().ok_or_else(|| {
            invalid(
                "data.path",
                "(none)",
                "no data file: pass --data FILE or set data.path in the config",
            )
        })?;
        let options = ts_data::LoadOptions {
            time_column: self.data.time_column.clone(),
            columns: self.data.columns_needed(),
            fill: self.data.fill,
        };
        Ok((path, options))
    }

    /// The seed's plain recipe: learn levels, no validation hold-out, no early stopping, no
    /// gradient clipping (kept for comparison; it loses to the naive forecast on the FRED data).
    pub fn seed_recipe() -> Self {
        let mut c = Self::default();
        c.model.kind = ModelChoice::Lstm;
        c.data.sequence_length = Some(DEFAULT_LOOKBACK);
        c.model.residual = false;
        c.model.lstm_inputs = LstmInputs::Levels;
        c.data.validation = 0.0;
        c.train.patience = 0;
        c.train.grad_clip = None;
        c.train.lr_schedule = LrSchedule::Constant;
        c.train.seed_members = 1;
        c
    }

    /// Checks every number for range.
    pub fn validate(&self) -> Result<()> {
        let d = &self.data;
        let m = &self.model;
        let t = &self.train;
        if d.sequence_length == Some(0) {
            return Err(invalid("sequence_length", 0, "must be at least 1"));
        }
        if d.season == Some(0) {
            return Err(invalid(
                "season",
                0,
                "must be at least 1 (1 = no season; leave it out to detect it from the time column)",
            ));
        }
        if d.horizon == 0 {
            return Err(invalid("horizon", 0, "must be at least 1"));
        }
        if !(d.train_split > 0.0 && d.train_split < 1.0) {
            return Err(invalid("train_split", d.train_split, "must be in (0, 1)"));
        }
        if !(d.validation >= 0.0 && d.validation < 1.0) {
            return Err(invalid("validation", d.validation, "must be in [0, 1)"));
        }
        crate::range::check_bounds(&d.bounds)?;
        if m.hidden_size == 0 {
            return Err(invalid("hidden_size", 0, "must be at least 1"));
        }
        if m.num_layers == 0 {
            return Err(invalid("num_layers", 0, "must be at least 1"));
        }
        if !(m.dropout >= 0.0 && m.dropout < 1.0) {
            return Err(invalid("dropout", m.dropout, "must be in [0, 1)"));
        }
        if m.ensemble == 0 {
            return Err(invalid("ensemble", 0, "must be at least 1"));
        }
        if m.kind == ModelChoice::Hybrid && !m.residual {
            return Err(invalid(
                "residual",
                false,
                "the hybrid learns changes by construction (its windows are read relative to their last value); learning levels takes --model lstm or attention",
            ));
        }
        if m.lstm_inputs == LstmInputs::Relative && !m.residual {
            return Err(invalid(
                "lstm_inputs",
                "relative",
                "windows read relative to their last row are undone at the output by the last value, which a network that learns levels (--residual false) does not add",
            ));
        }
        if t.epochs == 0 {
            return Err(invalid("epochs", 0, "must be at least 1"));
        }
        if t.seed_members == 0 {
            return Err(invalid(
                "seed_members",
                0,
                "must be at least 1 (1 = the chosen network alone)",
            ));
        }

        if t.batch_size == 0 {
            return Err(invalid("batch_size", 0, "must be at least 1"));
        }
        if !(t.learning_rate > 0.0 && t.learning_rate.is_finite()) {
            return Err(invalid(
                "learning_rate",
                t.learning_rate,
                "must be a finite number > 0",
            ));
        }
        if !(t.weight_decay >= 0.0 && t.weight_decay.is_finite()) {
            return Err(invalid(
                "weight_decay",
                t.weight_decay,
                "must be a finite number >= 0",
            ));
        }
        if let Some(c) = t.grad_clip
            && !(c >= 0.0 && c.is_finite())
        {
            return Err(invalid("grad_clip", c, "must be >= 0 (0 = off)"));
        }
        if t.huber_delta.is_nan() || t.huber_delta <= 0.0 {
            return Err(invalid("huber_delta", t.huber_delta, "must be > 0"));
        }
        if !(0.0..=1.0).contains(&t.mse_weight) {
            return Err(invalid("mse_weight", t.mse_weight, "must be in [0, 1]"));
        }
        crate::intervals::check_levels(&t.intervals)?;
        if !(0.0..1.0).contains(&t.interval_gamma) {
            return Err(invalid(
                "interval_gamma",
                t.interval_gamma,
                "must be in [0, 1) (e.g. 0.05; 0 = no level update)",
            ));
        }
        let m = t.interval_memory;
        if !(m == 0.0 || (m >= 1.0 && m.is_finite())) {
            return Err(invalid(
                "interval_memory",
                m,
                "must be 0 (equal weights) or a finite number >= 1 (e.g. 4)",
            ));
        }
        let e = t.ema_epochs;
        if !(e >= 0.0 && e.is_finite()) {
            return Err(invalid(
                "ema_epochs",
                e,
                "must be 0 (no weight averaging) or a finite number of epochs > 0 (e.g. 3)",
            ));
        }
        Ok(())
    }
}

impl DataConfig {
    /// The columns a load needs for this configuration: the features and the targets, in that
    /// order, each once (with targets `"all"`, the features, every one of which is then a
    /// target); `None` (every column) when the features are not listed, or the targets are
    /// `"all"` without them or not given (an error then lists every column). Loading only these leaves a
    /// file's other columns unread, so they may hold text or types ts-data does not read.
    pub fn columns_needed(&self) -> Option<Vec<String>> {
        let targets = self.target.resolve(&[]);
        let all =
            matches!(&self.target, TargetSpec::One(s) if s.trim().eq_ignore_ascii_case("all"));
        if all && !self.features.is_empty() {
            // `all` with `--features`: every listed feature is a target.
            return Some(self.features.clone());
        }
        if self.features.is_empty() || targets.is_empty() || all {
            return None;
        }
        let mut out: Vec<String> = Vec::new();
        for c in self.features.iter().cloned().chain(targets) {
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod lookback_tests {
    use super::*;

    #[test]
    fn the_default_lookback_covers_up_to_three_seasons() {
        let d = DataConfig::default();
        // (season, rows) → lookback.
        for (season, rows, expected) in [
            (1, 1000, 12),    // no season
            (4, 203, 12),     // quarterly: three seasons are the default 12
            (12, 176, 36),    // monthly, 176 rows: three years
            (12, 100, 24),    // a quarter of 100 rows holds two years
            (12, 40, 12),     // one season at least
            (52, 2284, 156),  // weekly
            (336, 4032, 336), // half-hourly weeks: only one fits in 512
            (600, 10000, 12), // a season longer than 512 is not covered
        ] {
            assert_eq!(
                d.lookback_for(season, rows, true),
                expected,
                "season {season}, {rows} rows"
            );
        }
        // A weak season (the naive forecast errs less): one season.
        assert_eq!(d.lookback_for(12, 176, false), 12);
        assert_eq!(d.lookback_for(52, 2284, false), 52);
        let fixed = DataConfig {
            sequence_length: Some(7),
            ..DataConfig::default()
        };
        assert_eq!(fixed.lookback_for(12, 176, true), 7);
    }
}

#[cfg(test)]
mod patience_tests {
    use super::*;

    #[test]
    fn the_patience_is_bounded_on_large_tables_only() {
        let t = TrainConfig::default();
        // (batches per epoch) → stale epochs before stopping.
        for (batches, expected) in [
            (1, 20),   // a tiny table
            (100, 20), // 3,200 windows: 20 epochs are 2,000 steps
            (101, 20), // 2,000 / 101 rounds up to 20
            (106, 19),
            (392, 6), // 12,500 windows (an hourly table of two years)
            (2_000, 5),
            (100_000, 5), // never below five epochs
        ] {
            assert_eq!(t.patience_for(batches), expected, "{batches} batches");
        }
        let unbounded = TrainConfig {
            patience_batches: Some(0),
            ..TrainConfig::default()
        };
        assert_eq!(unbounded.patience_for(392), 20);
        let small = TrainConfig {
            patience: 3,
            ..TrainConfig::default()
        };
        assert_eq!(small.patience_for(2_000), 3, "a patience below 5 is kept");
        let off = TrainConfig {
            patience: 0,
            ..TrainConfig::default()
        };
        assert_eq!(off.patience_for(392), 0);
    }

    #[test]
    fn the_bound_is_left_out_of_files_unless_set() {
        let t = TrainConfig::default();
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains("patience_batches"), "{json}");
        let set = TrainConfig {
            patience_batches: Some(500),
            ..TrainConfig::default()
        };
        let back: TrainConfig =
            serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
        assert_eq!(back.patience_batches, Some(500));
    }
}
