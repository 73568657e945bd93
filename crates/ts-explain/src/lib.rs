//! # ts-explain: which features and which time steps drive each forecast
//!
//! Attribution methods over any model behind the [`ExplainModel`] trait: windows
//! `[n, steps, features]` in, outputs `[n, outputs]` out, as plain `f32` buffers. Here a linear
//! model written in the example is explained by integrated gradients, whose attributions add up
//! to `f(x) − f(baseline)` (the completeness gap is ~0), and by exact Shapley values:
//!
//! ```
//! use ts_explain::{ExplainModel, IgSettings, Inputs, Runner, ShapSettings, integrated_gradients, shap};
//!
//! struct Linear(Vec<f32>); // f(x) = Σ w·x over a window of 3 steps × 2 features
//! impl ExplainModel for Linear {
//!     fn steps(&self) -> usize { 3 }
//!     fn features(&self) -> usize { 2 }
//!     fn outputs(&self) -> usize { 1 }
//!     fn forward(&self, x: &[f32], _n: usize) -> ts_explain::Result<Vec<f32>> {
//!         Ok(x.chunks(6).map(|w| w.iter().zip(&self.0).map(|(a, b)| a * b).sum()).collect())
//!     }
//!     fn gradient(&self, _x: &[f32], n: usize, _output: usize) -> ts_explain::Result<Vec<f32>> {
//!         Ok(self.0.repeat(n)) // d f / d x = w in every window
//!     }
//! }
//! let model = Linear(vec![0.5, -1.0, 2.0, 0.0, 1.5, 0.25]);
//! let x = Inputs::new("windows", vec![1.0, 2.0, 0.5, 3.0, 1.0, 4.0], 1, 3, 2)?;
//! let r = Runner::new(&model, 0)?; // explain output 0
//! let ig = integrated_gradients(&r, &x, &IgSettings::default())?; // zero baseline
//! assert!(ig.delta[0].abs() < 1e-5, "completeness gap {}", ig.delta[0]);
//! let background = Inputs::new("background", vec![0.0; 12], 2, 3, 2)?;
//! let sv = shap(&r, &x, &background, &ShapSettings::default())?; // players: the 2 features
//! assert!(sv.efficiency_gap[0].abs() < 1e-9 && (sv.values[0][0] - 3.0).abs() < 1e-6);
//! # Ok::<(), ts_explain::ExplainError>(())
//! ```
//!
//! For a model and a set of windows, every method returns attributions shaped `[windows, time
//! steps, features]` for one chosen output (target, horizon step):
//!
//! - [`gradient`]: saliency (raw gradient), input × gradient, integrated gradients (zeros, training
//!   mean or a given baseline; Gauss–Legendre or Riemann rules with Captum's conventions; the
//!   completeness gap per window) and SmoothGrad (mean, squared and variance variants), from
//!   [`ExplainModel::gradient`].
//! - [`mod@shap`]: Shapley values of the interventional value function `v(S) = mean_b f(x_S, b_rest)`
//!   over cells, features or time steps: exact enumeration for few players, KernelSHAP with paired
//!   kernel-sampled coalitions otherwise; the efficiency gap per window.
//! - [`mod@lime`]: Gaussian cell perturbations, kernel-weighted ridge fit, top-k features.
//! - [`mod@occlusion`]: occlusion per cell, time step and feature; permutation importance.
//! - [`attention`]: attention weights of a model that has attention.
//! - [`aggregate`]: temporal importance (mean |attribution|, time step × feature), per-feature and
//!   per-time-step importance, Spearman rank correlation between methods.
//! - [`settings`]: the methods and every setting of a run; [`report`]: runs a list of methods
//!   into a typed, `Serialize` [`Report`] with a text summary.
//!
//! Every perturbation method batches all perturbed inputs of all windows into large forward passes
//! ([`model::Runner`]).
//!
//! ## Features
//!
//! - `lstm` (off by default): `ForecasterModel`, the [`ExplainModel`] of a trained
//!   `ts_model::Forecaster` (gradients by Burn's autodiff through the same `Forecaster::forward`
//!   code that is trained; attention weights of the attention model), and `source`, the windows,
//!   background and training mean cut from a model file and a data table, and `run`, the whole
//!   `tsf explain` run (`ExplainOptions` → `ExplainJob` → `InterpretationResults`). Without it
//!   the crate depends on neither Burn nor polars.
//! - `clap` (off by default): `clap::ValueEnum` for the enumerations and, with `lstm`,
//!   `clap::Args` for `ExplainOptions` (the flags of `tsf explain`).
//!
//! The charts of a [`Report`] are drawn by the `ts-report` crate (layer 5, above this one).

pub mod aggregate;
pub mod attention;
pub mod error;
#[cfg(feature = "lstm")]
pub mod forecaster;
pub mod gradient;
pub mod lime;
pub mod linalg;
pub mod model;
pub mod occlusion;
pub mod report;
#[cfg(feature = "lstm")]
pub mod run;
pub mod settings;
pub mod shap;
#[cfg(feature = "lstm")]
pub mod source;
mod summary;

pub use aggregate::{Importance, spearman};
pub use error::{ExplainError, Result};
#[cfg(feature = "lstm")]
pub use forecaster::ForecasterModel;
pub use gradient::{
    Baseline, IgResult, IgRule, IgSettings, SmoothGradResult, SmoothGradSettings,
    SmoothGradVariant, input_x_gradient, integrated_gradients, saliency, smoothgrad,
};
pub use lime::{LimeResult, LimeSettings, lime};
pub use model::{Attributions, ExplainModel, Inputs, Runner};
pub use occlusion::{OcclusionResult, PermutationResult, occlusion, permutation_importance};
pub use report::{
    Details, MethodComparison, MethodReport, Report, SettingsReport, explain, validate,
};
#[cfg(feature = "lstm")]
pub use run::{ExplainJob, ExplainOptions, InterpretationResults, ModelInfo};
pub use settings::{
    BaselineChoice, BaselineKind, ExplainData, ExplainSettings, Method, MethodChoice, Methods,
};
pub use shap::{Players, ShapResult, ShapSettings, coalition_values, shap};
#[cfg(feature = "lstm")]
pub use source::{ExplainSource, explain_source, inputs_of};
