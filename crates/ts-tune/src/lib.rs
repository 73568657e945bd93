//! # ts-tune: hyperparameter search
//!
//! A define-by-run study API in the spirit of Optuna, and the LSTM objective of `tsf tune`.
//!
//! - [`Study`]: trials ask for parameters ([`Trial::float`], [`Trial::int`],
//!   [`Trial::categorical`]), report intermediate values and ask whether to stop
//!   ([`Trial::should_prune`]); [`Study::optimize`] runs them on a thread pool with a trial budget,
//!   a timeout and a stop flag; [`Study::ask`] / [`Study::tell`] for manual loops.
//! - [`sampler`]: [`RandomSampler`] and [`TpeSampler`] (Optuna 5 defaults, univariate or
//!   multivariate); seeded runs repeat.
//! - [`pruner`]: [`NopPruner`], [`MedianPruner`], [`SuccessiveHalvingPruner`].
//! - [`storage`]: [`InMemoryStorage`] and [`JournalStorage`], Optuna's journal file format, shared
//!   by several processes (tsf or Optuna) through a lock.
//! - [`importance`]: PED-ANOVA parameter importance.
//! - [`objective`]: the LSTM search space and objective (validation loss per epoch as
//!   intermediate values), and [`objective::retrain_best`].
//! - [`report`]: the `optimization_results.json` structure.
//!
//! ```
//! use ts_tune::{Direction, OptimizeOptions, Study};
//!
//! let study = Study::in_memory(Direction::Minimize, Some(1))?;
//! let opts = OptimizeOptions { n_trials: Some(30), ..Default::default() };
//! study.optimize(
//!     |t| {
//!         let x = t.float("x", -10.0, 10.0, false)?;
//!         Ok((x - 2.0).powi(2))
//!     },
//!     &opts,
//!     &|_| {},
//! )?;
//! assert!(study.best_trial()?.value.unwrap() < 1.0);
//! # Ok::<(), ts_tune::TuneError>(())
//! ```

pub mod distribution;
pub mod error;
pub mod importance;
pub mod objective;
pub mod pruner;
pub mod report;
pub mod sampler;
pub mod storage;
pub mod study;
pub mod trial;

pub use distribution::{Choice, Distribution, ParamValue};
pub use error::{Result, TuneError};
pub use importance::{Importances, ped_anova};
pub use pruner::{MedianPruner, NopPruner, Pruner, SuccessiveHalvingPruner};
pub use sampler::{RandomSampler, Sampler, TpeSampler};
pub use storage::{InMemoryStorage, JournalStorage, Storage};
pub use study::{ObjectiveResult, OptimizeOptions, OptimizeSummary, Study, Trial, TrialError};
pub use trial::{Direction, FrozenTrial, TrialState};
