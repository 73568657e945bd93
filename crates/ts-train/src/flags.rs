//! The configuration as command-line flags (the `clap` feature): [`ConfigFlags`] holds one flag
//! per key of [`ForecastConfig`] (each flag's help names its TOML key) and builds the
//! configuration: defaults (or the seed's recipe) ← a TOML file ← the flags. `tsf train`,
//! `tsf backtest` and `tsf tune` flatten it into their arguments; a program of one's own can too.

use std::path::PathBuf;

use clap::Args;

use crate::config::{ForecastConfig, TargetSpec};
use crate::error::Result;

/// Parses a whole number for a size or count flag, so that `-1` or `1.5` get this message rather
/// than clap's "unexpected argument".
pub fn whole_number<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String> {
    s.trim()
        .parse::<T>()
        .map_err(|_| "must be a whole number >= 0".to_string())
}

/// Parses a whole number of at least 1 for a count flag that cannot be 0 (`--folds`, `--step`).
pub fn positive_number(s: &str) -> std::result::Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("must be a whole number >= 1".to_string()),
    }
}

/// Parses a flag's value with the library type's own `FromStr` (its message names the choices).
pub fn parsed<T: std::str::FromStr>(s: &str) -> std::result::Result<T, String>
where
    T::Err: std::fmt::Display,
{
    s.trim().parse::<T>().map_err(|e| e.to_string())
}

/// Every key of a [`ForecastConfig`] as a flag, plus `--config FILE` and `--seed-recipe`.
// The field docs are clap's help text: `[data]`, `[device]` there are TOML sections, not links.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFlags {
    /// TOML configuration file (sections [data], [model], [train], and `device`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data file, CSV or Parquet [data.path].
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Target column, comma-separated list, or "all" [data.target].
    #[arg(long)]
    pub target: Option<String>,
    /// Input columns, comma-separated (default: every column) [data.features].
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Time column (default: detected; "none" for none) [data.time_column].
    #[arg(long)]
    pub time_column: Option<String>,
    /// Missing values: error | ffill | interpolate | drop [data.fill].
    #[arg(long, value_parser = crate::flags::parsed::<ts_data::FillPolicy>)]
    pub fill: Option<ts_data::FillPolicy>,
    /// Time steps per input window [data.sequence_length] (default 12, or one season
    /// when longer; up to three when the seasonal naive beats the naive on the training rows).
    #[arg(long, alias = "seq-len", allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub sequence_length: Option<usize>,
    /// Seasonal period in rows for the seasonal naive baseline, MASE and the hybrid model
    /// [data.season] (default: detected from the time column; 1 = none).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub season: Option<usize>,
    /// Steps ahead to predict, direct multi-output [data.horizon] (default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub horizon: Option<usize>,
    /// Share of rows before the test part [data.train_split] (default 0.8).
    #[arg(long, allow_negative_numbers = true)]
    pub train_split: Option<f64>,
    /// Share of the training part held out for validation, 0 to disable [data.validation] (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub validation: Option<f64>,
    /// Scaler: minmax | standard | robust [data.scaler] (default minmax).
    #[arg(long, value_parser = crate::flags::parsed::<ts_data::ScalerKind>)]
    pub scaler: Option<ts_data::ScalerKind>,
    /// Declared value ranges of the targets: LO:HI for every target, or NAME=LO:HI[,…]; either
    /// side may be empty (0: = never below zero). Forecasts and interval bounds are clipped to
    /// them; data outside them is refused [data.bounds] (default: none).
    #[arg(long, allow_hyphen_values = true)]
    pub bounds: Option<String>,
    /// Calendar inputs (sine and cosine of the month of the year, day of the week or time of
    /// day): auto | on | off [data.calendar] (default auto: where the place in the season
    /// explains at least half of the one-step changes on the training rows).
    #[arg(long, value_parser = crate::flags::parsed::<crate::config::CalendarMode>)]
    pub calendar: Option<crate::config::CalendarMode>,
    /// Network: auto | lstm | attention | hybrid [model.kind] (default auto: trains the LSTM and
    /// the hybrid, keeps the one with the stronger start unless the other is clearly better on
    /// validation).
    #[arg(long, value_parser = crate::flags::parsed::<crate::ModelChoice>)]
    pub model: Option<crate::ModelChoice>,
    /// LSTM hidden size [model.hidden_size] (default 64).
    #[arg(long, alias = "hidden", allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub hidden_size: Option<usize>,
    /// Stacked LSTM layers [model.num_layers] (default 2).
    #[arg(long, alias = "layers", allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub num_layers: Option<usize>,
    /// Dropout in [0, 1) [model.dropout] (default 0.2).
    #[arg(long, allow_negative_numbers = true)]
    pub dropout: Option<f64>,
    /// Learn the change from the last value (true, default) or the level (false) [model.residual].
    #[arg(long)]
    pub residual: Option<bool>,
    /// Ensemble members [model.ensemble] (default 1).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub ensemble: Option<usize>,
    /// Rows of each window the LSTM layers read, 0 = all [model.lstm_window] (default: the last
    /// day of a window that holds a week or at least two days of sub-daily data, else all).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub lstm_window: Option<usize>,
    /// What the plain LSTM reads of each window: auto | levels | relative (each window minus its
    /// last row, as the hybrid reads it) [model.lstm_inputs] (default auto: relative when a
    /// target's level is not stationary on the training rows, by the KPSS test).
    #[arg(long, value_parser = crate::flags::parsed::<crate::config::LstmInputs>)]
    pub lstm_inputs: Option<crate::config::LstmInputs>,
    /// Maximum epochs [train.epochs] (default 100).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Mini-batch size [train.batch_size] (default 32).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub batch_size: Option<usize>,
    /// Learning rate [train.learning_rate] (default 0.001).
    #[arg(long, alias = "lr", allow_negative_numbers = true)]
    pub learning_rate: Option<f64>,
    /// Learning-rate schedule: cosine | constant [train.lr_schedule] (default cosine).
    #[arg(long, value_parser = crate::flags::parsed::<crate::LrSchedule>)]
    pub lr_schedule: Option<crate::LrSchedule>,
    /// Optimizer: adam | adamw [train.optimizer].
    #[arg(long, value_parser = crate::flags::parsed::<crate::OptimizerKind>)]
    pub optimizer: Option<crate::OptimizerKind>,
    /// Weight decay [train.weight_decay] (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Clip each gradient's norm to this value, 0 to disable [train.grad_clip] (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub grad_clip: Option<f64>,
    /// Loss: mse | mae | huber | mixed [train.loss].
    #[arg(long, value_parser = crate::flags::parsed::<crate::LossKind>)]
    pub loss: Option<crate::LossKind>,
    /// Huber threshold [train.huber_delta] (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub huber_delta: Option<f64>,
    /// Weight of MSE in the mixed loss [train.mse_weight] (default 0.5).
    #[arg(long, allow_negative_numbers = true)]
    pub mse_weight: Option<f64>,
    /// Early-stopping patience in epochs, 0 to disable [train.patience] (default 20; under the
    /// cosine schedule only the epochs from its midpoint on count, unless the bound below cuts
    /// the patience).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub patience: Option<usize>,
    /// Bound on the patience in optimizer steps: stop once the stale epochs hold this many
    /// batches (after at least 5 stale epochs), 0 for none [train.patience_batches]
    /// (default 2000: at the default batch size of 32, tables of more than about 3,200
    /// training windows stop sooner than 20 epochs).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub patience_batches: Option<usize>,
    /// Prediction interval levels, e.g. 0.8,0.95, or none [train.intervals] (default 0.8,0.95):
    /// conformal on the validation part, per horizon step (see --interval-method).
    #[arg(long)]
    pub intervals: Option<String>,
    /// How intervals follow the errors seen after calibration: adaptive | split
    /// [train.interval_method] (default adaptive: recalibrated at each forecast origin).
    #[arg(long, value_parser = crate::flags::parsed::<crate::intervals::IntervalMethod>)]
    pub interval_method: Option<crate::intervals::IntervalMethod>,
    /// Step of the adaptive interval level, in [0, 1) [train.interval_gamma] (default 0.05).
    #[arg(long, allow_negative_numbers = true)]
    pub interval_gamma: Option<f64>,
    /// Expected misses the adaptive intervals' error pool remembers per level: 0 (equal
    /// weights) or >= 1 [train.interval_memory] (default 4: recent errors weigh more).
    #[arg(long, allow_negative_numbers = true)]
    pub interval_memory: Option<f64>,
    /// Epochs the moving average of the weights spans; the average is validated and kept
    /// instead of the raw weights: 0 (off) or > 0 [train.ema_epochs] (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub ema_epochs: Option<f64>,
    /// Random seed [train.seed] (default 42).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<u64>)]
    pub seed: Option<u64>,
    /// Keep a trained network only when clearly better on validation than its untrained start
    /// (the naive forecast or the hybrid's linear fit): true | false [train.require_clear_gain]
    /// (default false: only when validation holds fewer than 10 windows).
    #[arg(long, value_parser = clap::value_parser!(bool))]
    pub require_clear_gain: Option<bool>,
    /// Train the chosen network again on the training and validation parts, for the epochs
    /// validation chose, before forecasting the test part and the future: true | false
    /// [train.refit_with_validation] (default false).
    #[arg(long, value_parser = clap::value_parser!(bool))]
    pub refit_with_validation: Option<bool>,
    /// Networks the forecast averages: after the choice, train this many minus one more of the
    /// chosen architecture from other seeds, each stopped on validation [train.seed_members]
    /// (default 3; 1: the chosen network alone).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::flags::whole_number::<usize>)]
    pub seed_members: Option<usize>,
    /// Do not shuffle training windows [train.shuffle = false].
    #[arg(long)]
    pub no_shuffle: bool,
    /// Device: cpu | wgpu [device].
    #[arg(long, value_parser = crate::flags::parsed::<ts_model::DeviceChoice>)]
    pub device: Option<ts_model::DeviceChoice>,
    /// Start from the seed's plain recipe (learn levels, no validation, no early stopping) before
    /// applying the config file and flags.
    #[arg(long)]
    pub seed_recipe: bool,
}

impl ConfigFlags {
    /// The configuration: defaults (or the seed recipe) ← the TOML file ← the flags given,
    /// checked for range.
    pub fn config(&self) -> Result<ForecastConfig> {
        let a = self;
        let base = if a.seed_recipe {
            ForecastConfig::seed_recipe()
        } else {
            ForecastConfig::default()
        };
        let mut cfg = match &a.config {
            Some(path) => ForecastConfig::from_toml(&base, path)?,
            None => base,
        };
        a.apply(&mut cfg)?;
        cfg.validate()?;
        // A device this build lacks is refused before any data are read. (`evaluate` and
        // `predict` read a model file trained on such a device on the CPU.)
        ts_model::check_device(cfg.device)?;
        Ok(cfg)
    }

    /// Each flag given replaces its key of `cfg`.
    pub fn apply(&self, cfg: &mut ForecastConfig) -> Result<()> {
        fn set<T: Clone>(slot: &mut T, flag: &Option<T>) {
            if let Some(v) = flag {
                *slot = v.clone();
            }
        }
        let a = self;
        let d = &mut cfg.data;
        if let Some(v) = &a.data {
            d.path = Some(v.clone());
        }
        if let Some(v) = &a.target {
            d.target = TargetSpec::One(v.clone());
        }
        if let Some(v) = &a.features {
            let names = v.iter().map(|s| s.trim().to_string());
            d.features = names.filter(|s| !s.is_empty()).collect();
        }
        if a.time_column.is_some() {
            d.time_column = a.time_column.clone();
        }
        if a.sequence_length.is_some() {
            d.sequence_length = a.sequence_length;
        }
        if a.season.is_some() {
            d.season = a.season;
        }
        set(&mut d.fill, &a.fill);
        set(&mut d.horizon, &a.horizon);
        set(&mut d.train_split, &a.train_split);
        set(&mut d.validation, &a.validation);
        set(&mut d.scaler, &a.scaler);
        set(&mut d.calendar, &a.calendar);
        if let Some(v) = &a.bounds {
            d.bounds = crate::range::parse_bounds(v)?;
        }
        let m = &mut cfg.model;
        set(&mut m.kind, &a.model);
        set(&mut m.hidden_size, &a.hidden_size);
        set(&mut m.num_layers, &a.num_layers);
        set(&mut m.dropout, &a.dropout);
        set(&mut m.residual, &a.residual);
        set(&mut m.ensemble, &a.ensemble);
        if a.lstm_window.is_some() {
            m.lstm_window = a.lstm_window;
        }
        set(&mut m.lstm_inputs, &a.lstm_inputs);
        let t = &mut cfg.train;
        set(&mut t.epochs, &a.epochs);
        set(&mut t.batch_size, &a.batch_size);
        if let Some(v) = &a.intervals {
            t.intervals = crate::intervals::parse_levels(v)?;
        }
        set(&mut t.interval_method, &a.interval_method);
        set(&mut t.require_clear_gain, &a.require_clear_gain);
        set(&mut t.refit_with_validation, &a.refit_with_validation);
        set(&mut t.seed_members, &a.seed_members);
        // --seed-members above 1 with the refit on (by flag or by the TOML file): the refit
        // trains one network, so the members would be ignored. (The default of several
        // members gives way to the refit silently.)
        if let Some(n) = a.seed_members.filter(|&n| n > 1)
            && t.refit_with_validation
        {
            return Err(crate::error::invalid(
                "seed_members",
                n,
                "--refit-with-validation trains one network again on the validation part; \
                 pass --seed-members 1 or leave the refit off",
            ));
        }
        set(&mut t.interval_gamma, &a.interval_gamma);
        set(&mut t.interval_memory, &a.interval_memory);
        set(&mut t.ema_epochs, &a.ema_epochs);
        set(&mut t.learning_rate, &a.learning_rate);
        set(&mut t.lr_schedule, &a.lr_schedule);
        set(&mut t.optimizer, &a.optimizer);
        set(&mut t.weight_decay, &a.weight_decay);
        set(&mut t.loss, &a.loss);
        set(&mut t.huber_delta, &a.huber_delta);
        set(&mut t.mse_weight, &a.mse_weight);
        set(&mut t.patience, &a.patience);
        if a.patience_batches.is_some() {
            t.patience_batches = a.patience_batches;
        }
        set(&mut t.seed, &a.seed);
        t.shuffle &= !a.no_shuffle;
        if a.grad_clip.is_some() {
            t.grad_clip = a.grad_clip;
        }
        // 0 turns clipping off, from the flag or the TOML file.
        if t.grad_clip == Some(0.0) {
            t.grad_clip = None;
        }
        set(&mut cfg.device, &a.device);
        Ok(())
    }
}
