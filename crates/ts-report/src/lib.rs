//! Charts of tsf's results: a training run and a backtest ([`train`]), a tuning study
//! ([`tune`]), an explanation ([`explain`]) and a fairness audit ([`fairness`]), drawn with
//! `ts-viz` as PNG (300 dpi) and SVG.
//!
//! `ts-viz` draws plain series and imports none of tsf's crates; this crate sits beside it at
//! layer 5 and turns the typed results of `ts-train`, `ts-tune`, `ts-explain` and `ts-fairness`
//! into those series, so that no library crate reaches up to the charts and `tsf` only composes.
//!
//! ```
//! use ts_train::backtest::{BacktestConfig, Refit, backtest};
//! use ts_train::{ForecastConfig, ModelChoice, Silent, TargetSpec};
//! let mut cfg = ForecastConfig::default();
//! cfg.data.path = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/statsmodels_macrodata.csv").into());
//! cfg.data.target = TargetSpec::One("unemp".into());
//! (cfg.model.kind, cfg.model.hidden_size, cfg.train.epochs) = (ModelChoice::Lstm, 8, 2);
//! let (path, options) = cfg.data_source()?;
//! let frame = ts_data::load(&path, &options)?;
//! let folds = BacktestConfig { folds: 2, step: None, refit: Refit::Once };
//! let report = backtest(&frame, &cfg, &folds, &mut Silent)?;
//! let dir = tempfile::tempdir()?;
//! ts_report::train::draw_backtest(&report, &frame, dir.path())?;
//! assert!(dir.path().join("backtest_folds.png").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod explain;
pub mod fairness;
pub mod train;
pub mod tune;
