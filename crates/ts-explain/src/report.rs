//! Running several methods on the same windows and collecting everything for
//! `interpretation_results.json`.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::aggregate::{Importance, shares, spearman};
use crate::attention::attention;
use crate::error::{ExplainError, Result, invalid};
use crate::gradient::{
    Baseline, IgRule, IgSettings, SmoothGradSettings, input_x_gradient, integrated_gradients,
    saliency, smoothgrad,
};
use crate::lime::{LimeSettings, lime};
use crate::model::{Attributions, ExplainModel, Inputs, Runner};
use crate::occlusion::{occlusion, permutation_importance};
use crate::shap::{ShapSettings, shap};

/// An explanation method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Raw gradient.
    Saliency,
    /// Input × gradient.
    InputXGradient,
    /// Integrated gradients.
    IntegratedGradients,
    /// SmoothGrad.
    #[serde(rename = "smoothgrad")]
    SmoothGrad,
    /// Shapley values (exact or KernelSHAP).
    Shap,
    /// LIME.
    Lime,
    /// Occlusion, with permutation importance.
    Occlusion,
    /// Attention weights (attention model only).
    Attention,
}

impl Method {
    /// Every method, in report order.
    pub const ALL: [Method; 8] = [
        Method::Saliency,
        Method::InputXGradient,
        Method::IntegratedGradients,
        Method::SmoothGrad,
        Method::Shap,
        Method::Lime,
        Method::Occlusion,
        Method::Attention,
    ];

    /// The name used in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Saliency => "saliency",
            Self::InputXGradient => "input_x_gradient",
            Self::IntegratedGradients => "integrated_gradients",
            Self::SmoothGrad => "smoothgrad",
            Self::Shap => "shap",
            Self::Lime => "lime",
            Self::Occlusion => "occlusion",
            Self::Attention => "attention",
        }
    }

    /// Parses `all` or a comma-separated list (`saliency,ig,smoothgrad,shap,lime,occlusion,
    /// attention`, also `ixg`/`input_x_gradient`, `integrated_gradients`, `kernelshap`).
    /// `all` includes attention only when `has_attention`.
    pub fn parse_list(s: &str, has_attention: bool) -> Result<Vec<Method>> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let m = match part.to_ascii_lowercase().replace('-', "_").as_str() {
                "all" => {
                    for m in Self::ALL {
                        if (m != Self::Attention || has_attention) && !out.contains(&m) {
                            out.push(m);
                        }
                    }
                    continue;
                }
                "saliency" | "gradient" => Self::Saliency,
                "ixg" | "input_x_gradient" | "inputxgradient" => Self::InputXGradient,
                "ig" | "integrated_gradients" => Self::IntegratedGradients,
                "smoothgrad" | "sg" => Self::SmoothGrad,
                "shap" | "kernelshap" | "kernel_shap" => Self::Shap,
                "lime" => Self::Lime,
                "occlusion" | "permutation" => Self::Occlusion,
                "attention" => Self::Attention,
                other => {
                    return Err(invalid(
                        "method",
                        other,
                        "expected all or a list of saliency, input_x_gradient, ig, smoothgrad, shap, lime, occlusion, attention",
                    ));
                }
            };
            if !out.contains(&m) {
                out.push(m);
            }
        }
        if out.is_empty() {
            return Err(invalid("methods", s, "name at least one method"));
        }
        Ok(out)
    }
}

/// The baseline of integrated gradients and occlusion.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineChoice {
    /// Zeros in scaled space.
    Zeros,
    /// The per-cell mean of the training windows.
    #[default]
    TrainingMean,
    /// A given window `[steps × features]`, scaled.
    Window(Vec<f32>),
}

/// Settings of a whole explanation run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExplainSettings {
    /// Methods to run, in order.
    pub methods: Vec<Method>,
    /// Output column explained (`step × targets + target`).
    pub output: usize,
    /// Baseline of integrated gradients and occlusion.
    pub baseline: BaselineChoice,
    /// Integration steps.
    pub ig_steps: usize,
    /// Integration rule.
    pub ig_rule: IgRule,
    /// SmoothGrad.
    pub smoothgrad: SmoothGradSettings,
    /// Shapley values.
    pub shap: ShapSettings,
    /// LIME.
    pub lime: LimeSettings,
    /// Permutation-importance repeats.
    pub permutation_repeats: usize,
    /// Seed of permutations.
    pub seed: u64,
}

impl Default for ExplainSettings {
    fn default() -> Self {
        Self {
            methods: Method::ALL[..7].to_vec(),
            output: 0,
            baseline: BaselineChoice::TrainingMean,
            ig_steps: 64,
            ig_rule: IgRule::GaussLegendre,
            smoothgrad: SmoothGradSettings::default(),
            shap: ShapSettings::default(),
            lime: LimeSettings::default(),
            permutation_repeats: 5,
            seed: 0,
        }
    }
}

/// The data an explanation run works on.
#[derive(Debug, Clone)]
pub struct ExplainData<'a> {
    /// Windows to explain (scaled).
    pub windows: &'a Inputs,
    /// Background windows for SHAP (drawn from the training windows).
    pub background: &'a Inputs,
    /// The per-cell mean of the training windows.
    pub training_mean: &'a [f32],
    /// The explained output's scaled target of each window, when known (permutation importance).
    pub targets: Option<&'a [f64]>,
    /// Feature names, one per feature.
    pub feature_names: &'a [String],
}

/// One method's results.
#[derive(Debug, Clone, Serialize)]
pub struct MethodReport {
    /// Method name.
    pub method: String,
    /// Aggregates.
    pub importance: Importance,
    /// Seconds it took.
    pub seconds: f64,
    /// Attributions per window `[n][steps][features]` (absent for attention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributions: Option<Vec<Vec<Vec<f64>>>>,
    /// Method-specific extras (completeness gaps, base values, top features, …).
    pub details: Value,
}

/// Everything `tsf explain` writes to `interpretation_results.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Settings used.
    pub settings: Value,
    /// Feature names.
    pub features: Vec<String>,
    /// Time steps per window.
    pub steps: usize,
    /// Windows explained.
    pub windows: usize,
    /// Background windows.
    pub background: usize,
    /// Per method.
    pub methods: Vec<MethodReport>,
    /// Spearman rank correlation between the methods' per-feature importances: `methods` names
    /// the rows and columns of `spearman` (`null` where undefined).
    pub method_comparison: Value,
}

impl Report {
    /// The report of a method.
    pub fn method(&self, m: Method) -> Option<&MethodReport> {
        self.methods.iter().find(|r| r.method == m.name())
    }
}

fn settings_json(s: &ExplainSettings, baseline: &[f32]) -> Value {
    json!({
        "methods": s.methods.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "output": s.output,
        "baseline": match &s.baseline {
            BaselineChoice::Zeros => json!("zeros"),
            BaselineChoice::TrainingMean => json!("training_mean"),
            BaselineChoice::Window(_) => json!("window"),
        },
        "baseline_window": baseline,
        "integrated_gradients": { "steps": s.ig_steps, "rule": s.ig_rule },
        "smoothgrad": {
            "noise": s.smoothgrad.noise,
            "samples": s.smoothgrad.samples,
            "variant": s.smoothgrad.variant,
            "seed": s.smoothgrad.seed,
        },
        "shap": {
            "players": s.shap.players,
            "max_exact_players": s.shap.max_exact_players,
            "samples": s.shap.samples,
            "seed": s.shap.seed,
        },
        "lime": {
            "samples": s.lime.samples,
            "noise": s.lime.noise,
            "kernel_width": s.lime.kernel_width,
            "ridge": s.lime.ridge,
            "top_k": s.lime.top_k,
            "seed": s.lime.seed,
        },
        "permutation": { "repeats": s.permutation_repeats, "seed": s.seed },
    })
}

fn stats(v: &[f64]) -> Value {
    let max_abs = v.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let mean_abs = v.iter().map(|x| x.abs()).sum::<f64>() / v.len().max(1) as f64;
    json!({ "max_abs": max_abs, "mean_abs": mean_abs })
}

fn named(names: &[String], v: &[f64]) -> Value {
    Value::Object(
        names
            .iter()
            .zip(v)
            .map(|(n, x)| (n.clone(), json!(x)))
            .collect(),
    )
}

/// Checks everything `explain` would refuse (shapes, feature names, baseline, empty background,
/// zero steps or samples, attention on a model without it) without running any method, and
/// returns the baseline window. `explain` calls it first; callers may call it before announcing a
/// long run.
pub fn validate<M: ExplainModel + ?Sized>(
    model: &M,
    data: &ExplainData<'_>,
    s: &ExplainSettings,
) -> Result<Vec<f32>> {
    let r = Runner::new(model, s.output)?;
    let x = data.windows;
    r.check("explained windows", x)?;
    if data.feature_names.len() != x.features {
        return Err(invalid(
            "feature names",
            data.feature_names.len(),
            &format!("need one per feature ({})", x.features),
        ));
    }
    let c = x.cells();
    let baseline = match &s.baseline {
        BaselineChoice::Zeros => vec![0.0; c],
        BaselineChoice::TrainingMean => {
            if data.training_mean.len() != c {
                return Err(ExplainError::Empty("the training mean".into()));
            }
            data.training_mean.to_vec()
        }
        BaselineChoice::Window(w) => Baseline::Window(w.clone()).window(c)?,
    };
    // Validate before running anything heavy.
    for m in &s.methods {
        match m {
            Method::IntegratedGradients => {
                crate::gradient::ig_alphas(s.ig_rule, s.ig_steps)?;
            }
            Method::Shap => r.check("background windows", data.background)?,
            Method::SmoothGrad if s.smoothgrad.samples == 0 => {
                return Err(invalid("smoothgrad samples", 0, "at least 1 sample"));
            }
            Method::Occlusion if s.permutation_repeats == 0 => {
                return Err(invalid("permutation repeats", 0, "at least 1"));
            }
            Method::Attention => {
                let probe = x.subset(&[0]);
                attention(&r, &probe)?;
            }
            _ => {}
        }
    }
    Ok(baseline)
}

/// Runs the chosen methods on `data` and collects the report. An unsupported method (attention on a
/// plain LSTM), a shape mismatch, an empty background or an invalid setting is an error before
/// anything heavy runs.
pub fn explain<M: ExplainModel + ?Sized>(
    model: &M,
    data: &ExplainData<'_>,
    s: &ExplainSettings,
) -> Result<Report> {
    let baseline = validate(model, data, s)?;
    let r = Runner::new(model, s.output)?;
    let x = data.windows;
    let c = x.cells();
    let mut methods = Vec::new();
    for &m in &s.methods {
        let t0 = Instant::now();
        let (attr, details): (Option<Attributions>, Value) = match m {
            Method::Saliency => (Some(saliency(&r, x)?), json!({})),
            Method::InputXGradient => (Some(input_x_gradient(&r, x)?), json!({})),
            Method::IntegratedGradients => {
                let res = integrated_gradients(
                    &r,
                    x,
                    &IgSettings {
                        baseline: Baseline::Window(baseline.clone()),
                        steps: s.ig_steps,
                        rule: s.ig_rule,
                    },
                )?;
                let rel: Vec<f64> = res
                    .delta
                    .iter()
                    .zip(&res.f_x)
                    .map(|(d, f)| {
                        let span = (f - res.f_baseline).abs();
                        if span > 0.0 { d.abs() / span } else { d.abs() }
                    })
                    .collect();
                let details = json!({
                    "completeness_gap": res.delta,
                    "completeness_gap_stats": stats(&res.delta),
                    "relative_gap_stats": stats(&rel),
                    "f_baseline": res.f_baseline,
                });
                (Some(res.attributions), details)
            }
            Method::SmoothGrad => {
                let res = smoothgrad(&r, x, &s.smoothgrad)?;
                let details = json!({
                    "variant": s.smoothgrad.variant,
                    "smoothgrad": Importance::of(&res.mean),
                    "smoothgrad_sq": Importance::of(&res.mean_sq),
                    "vargrad": Importance::of(&res.variance),
                });
                (Some(res.attributions), details)
            }
            Method::Shap => {
                let res = shap(&r, x, data.background, &s.shap)?;
                let names: Vec<String> = match res.players {
                    crate::shap::Players::Features => data.feature_names.to_vec(),
                    crate::shap::Players::TimeSteps => (0..x.steps)
                        .map(|t| format!("t-{}", x.steps - 1 - t))
                        .collect(),
                    crate::shap::Players::Cells => (0..c)
                        .map(|i| {
                            format!(
                                "{}@t-{}",
                                data.feature_names[i % x.features],
                                x.steps - 1 - i / x.features
                            )
                        })
                        .collect(),
                };
                let mean_abs: Vec<f64> = (0..res.n_players)
                    .map(|j| res.values.iter().map(|v| v[j].abs()).sum::<f64>() / x.n as f64)
                    .collect();
                let details = json!({
                    "players": res.players,
                    "n_players": res.n_players,
                    "player_names": names,
                    "exact": res.exact,
                    "coalitions": res.coalitions,
                    "background": res.background,
                    "base_value": res.base_value,
                    "values": res.values,
                    "mean_abs_by_player": mean_abs,
                    "efficiency_gap": res.efficiency_gap,
                    "efficiency_gap_stats": stats(&res.efficiency_gap),
                });
                (Some(res.attributions), details)
            }
            Method::Lime => {
                let res = lime(&r, x, &s.lime)?;
                let top: Vec<Vec<&str>> = res
                    .top_features
                    .iter()
                    .map(|t| t.iter().map(|&f| data.feature_names[f].as_str()).collect())
                    .collect();
                let details = json!({
                    "intercept": res.intercept,
                    "r2": res.r2,
                    "top_features": top,
                });
                (Some(res.attributions), details)
            }
            Method::Occlusion => {
                let res = occlusion(&r, x, &baseline)?;
                let perm =
                    permutation_importance(&r, x, data.targets, s.permutation_repeats, s.seed)?;
                let mean_abs = |rows: &[Vec<f64>], k: usize| -> Vec<f64> {
                    (0..k)
                        .map(|j| rows.iter().map(|v| v[j].abs()).sum::<f64>() / x.n as f64)
                        .collect()
                };
                let details = json!({
                    "step_occlusion": mean_abs(&res.by_step, x.steps),
                    "feature_occlusion": named(data.feature_names, &mean_abs(&res.by_feature, x.features)),
                    "permutation": {
                        "score": perm.score,
                        "reference": perm.reference,
                        "by_feature": named(data.feature_names, &perm.by_feature),
                        "by_step": perm.by_step,
                        "repeats": s.permutation_repeats,
                    },
                });
                (Some(res.attributions), details)
            }
            Method::Attention => {
                let res = attention(&r, x)?;
                // Attention weights describe time steps only: spread each step's weight equally
                // over its features for the temporal matrix.
                let mut a = Attributions::zeros(x.n, x.steps, x.features);
                for (w, row) in res.weights.iter().enumerate() {
                    for (t, v) in row.iter().enumerate() {
                        for f in 0..x.features {
                            a.values[(w * x.steps + t) * x.features + f] = v / x.features as f64;
                        }
                    }
                }
                let importance = Importance::of(&a);
                methods.push(MethodReport {
                    method: m.name().into(),
                    importance,
                    seconds: t0.elapsed().as_secs_f64(),
                    attributions: None,
                    details: json!({ "weights": res.weights, "mean": res.mean }),
                });
                continue;
            }
        };
        let attr = attr.expect("every gradient/perturbation method returns attributions");
        methods.push(MethodReport {
            method: m.name().into(),
            importance: Importance::of(&attr),
            seconds: t0.elapsed().as_secs_f64(),
            attributions: Some(attr.nested()),
            details,
        });
    }
    // Attention carries no per-feature information; leave it out of the comparison.
    let compared: Vec<&MethodReport> = methods
        .iter()
        .filter(|m| m.method != Method::Attention.name())
        .collect();
    let matrix: Vec<Vec<Option<f64>>> = compared
        .iter()
        .map(|a| {
            compared
                .iter()
                .map(|b| spearman(&a.importance.by_feature, &b.importance.by_feature))
                .collect()
        })
        .collect();
    let shares_by_method: Value = Value::Object(
        compared
            .iter()
            .map(|m| {
                (
                    m.method.clone(),
                    named(data.feature_names, &shares(&m.importance.by_feature)),
                )
            })
            .collect(),
    );
    let method_comparison = json!({
        "methods": compared.iter().map(|m| m.method.clone()).collect::<Vec<_>>(),
        "spearman": matrix,
        "feature_shares": shares_by_method,
    });
    Ok(Report {
        settings: settings_json(s, &baseline),
        features: data.feature_names.to_vec(),
        steps: x.steps,
        windows: x.n,
        background: data.background.n,
        methods,
        method_comparison,
    })
}
