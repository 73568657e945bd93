//! # ts-explain: which features and which time steps drive each forecast
//!
//! For a model and a set of windows, every method returns attributions shaped `[windows, time
//! steps, features]` for one chosen output (target, horizon step):
//!
//! - [`gradient`]: saliency (raw gradient), input × gradient, integrated gradients (zeros, training
//!   mean or a given baseline; Gauss–Legendre or Riemann rules with Captum's conventions; the
//!   completeness gap per window) and SmoothGrad (mean, squared and variance variants). Gradients
//!   come from Burn's autodiff through the same `Forecaster::forward` code that is trained.
//! - [`mod@shap`]: Shapley values of the interventional value function `v(S) = mean_b f(x_S, b_rest)`
//!   over cells, features or time steps: exact enumeration for few players, KernelSHAP with paired
//!   kernel-sampled coalitions otherwise; the efficiency gap per window.
//! - [`mod@lime`]: Gaussian cell perturbations, kernel-weighted ridge fit, top-k features.
//! - [`mod@occlusion`]: occlusion per cell, time step and feature; permutation importance.
//! - [`attention`]: attention weights of the attention model.
//! - [`aggregate`]: temporal importance (mean |attribution|, time step × feature), per-feature and
//!   per-time-step importance, Spearman rank correlation between methods.
//! - [`report`]: runs a list of methods and builds `interpretation_results.json`.
//!
//! Every perturbation method batches all perturbed inputs of all windows into large forward passes
//! ([`model::Runner`]). Models are seen through the [`ExplainModel`] trait, implemented for a
//! trained forecaster by [`ForecasterModel`].

pub mod aggregate;
pub mod attention;
pub mod error;
pub mod gradient;
pub mod lime;
pub mod linalg;
pub mod model;
pub mod occlusion;
pub mod report;
pub mod shap;
pub mod source;

pub use aggregate::{Importance, spearman};
pub use error::{ExplainError, Result};
pub use gradient::{
    Baseline, IgResult, IgRule, IgSettings, SmoothGradResult, SmoothGradSettings,
    SmoothGradVariant, input_x_gradient, integrated_gradients, saliency, smoothgrad,
};
pub use lime::{LimeResult, LimeSettings, lime};
pub use model::{Attributions, ExplainModel, ForecasterModel, Inputs, Runner};
pub use occlusion::{OcclusionResult, PermutationResult, occlusion, permutation_importance};
pub use report::{
    BaselineChoice, ExplainData, ExplainSettings, Method, MethodReport, Report, explain, validate,
};
pub use shap::{Players, ShapResult, ShapSettings, coalition_values, shap};
pub use source::{ExplainSource, explain_source};
