//! # ts-tune: hyperparameter search
//!
//! A define-by-run study API in the spirit of Optuna. The core needs no Burn: a TPE study on a
//! quadratic, with nothing else from tsf:
//!
//! ```
//! use ts_tune::{Direction, OptimizeOptions, Study};
//!
//! let study = Study::in_memory(Direction::Minimize, Some(1))?; // TPE sampler, seed 1
//! let opts = OptimizeOptions { n_trials: Some(30), ..Default::default() };
//! study.optimize(|t| Ok((t.float("x", -10.0, 10.0, false)? - 2.0).powi(2)), &opts, &|_| {})?;
//! let best = study.best_trial()?;
//! assert!(best.value.unwrap() < 1.0);
//! assert!((best.params["x"] - 2.0).abs() < 1.0);
//! # Ok::<(), ts_tune::TuneError>(())
//! ```
//!
//! - [`Study`]: trials ask for parameters ([`Trial::float`], [`Trial::int`],
//!   [`Trial::categorical`]), report intermediate values and ask whether to stop
//!   ([`Trial::should_prune`]); [`Study::optimize`] runs them on a thread pool with a trial budget,
//!   a timeout and a stop flag; [`Study::ask`] / [`Study::tell`] for manual loops.
//! - [`sampler`]: [`RandomSampler`] and [`TpeSampler`] (Optuna 5 defaults, univariate or
//!   multivariate); seeded runs repeat.
//! - [`pruner`]: [`NopPruner`], [`MedianPruner`], [`SuccessiveHalvingPruner`].
//! - [`storage`]: [`InMemoryStorage`]; [`JournalStorage`], Optuna's journal file format, shared
//!   by several processes (tsf or Optuna) through a lock; `RdbStorage`, Optuna 5.0.0's RDB schema
//!   on SQLite, shared through transactions, with heartbeats ([`Heartbeat`]) that fail and
//!   re-queue the trials of dead workers. [`storage::open`] takes Optuna's storage URLs
//!   (`sqlite:///study.db`) or a journal file path.
//! - [`importance`]: PED-ANOVA parameter importance.
//! - [`report`]: the `optimization_results.json` structure.
//!
//! ## Cargo features
//!
//! - `sqlite` (on by default): `RdbStorage` through rusqlite, with SQLite compiled in.
//! - `lstm` (off by default): the `objective` module, the LSTM search space and objective of
//!   `tsf tune` (validation loss per epoch as intermediate values) and `objective::retrain_best`.
//!   It pulls in `ts-data`, `ts-model`, `ts-train` and Burn; without it the crate depends on none
//!   of them.
//!
//! The study's charts are drawn by the `ts-report` crate (layer 5, above this one).

pub mod distribution;
pub mod error;
pub mod importance;
#[cfg(feature = "lstm")]
pub mod objective;
pub mod pruner;
pub mod report;
pub mod sampler;
pub mod settings;
pub mod storage;
pub mod study;
pub mod trial;

pub use distribution::{Choice, Distribution, ParamValue};
pub use error::{Result, TuneError};
pub use importance::{Importances, ped_anova};
pub use pruner::{MedianPruner, NopPruner, Pruner, SuccessiveHalvingPruner};
pub use sampler::{RandomSampler, Sampler, TpeSampler};
pub use settings::TuneSettings;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use storage::RdbStorage;
pub use storage::{InMemoryStorage, JournalStorage, Storage};
pub use study::{
    Heartbeat, ObjectiveResult, OptimizeOptions, OptimizeSummary, Study, Trial, TrialError,
};
pub use trial::{Direction, FrozenTrial, TrialState};
