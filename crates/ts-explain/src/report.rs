//! Running several methods on the same windows and collecting everything in one typed,
//! `Serialize` [`Report`] (the body of `interpretation_results.json`).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use crate::aggregate::{Importance, shares, spearman};
use crate::attention::attention;
use crate::error::{ExplainError, Result, invalid};
use crate::gradient::{
    Baseline, IgRule, IgSettings, SmoothGradSettings, SmoothGradVariant, input_x_gradient,
    integrated_gradients, saliency, smoothgrad,
};
use crate::lime::{LimeSettings, lime};
use crate::model::{Attributions, ExplainModel, Inputs, Runner};
use crate::occlusion::{occlusion, permutation_importance};
use crate::settings::{BaselineChoice, ExplainData, ExplainSettings, Method};
use crate::shap::{Players, ShapSettings, shap};

/// One method's results.
#[derive(Debug, Clone, Serialize)]
pub struct MethodReport {
    /// The method.
    pub method: Method,
    /// Aggregates.
    pub importance: Importance,
    /// Seconds it took.
    pub seconds: f64,
    /// Attributions per window `[n][steps][features]` (absent for attention).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributions: Option<Vec<Vec<Vec<f64>>>>,
    /// Method-specific extras (completeness gaps, base values, top features, …).
    pub details: Details,
}

impl MethodReport {
    /// Whether the attributions tell features apart: not for SHAP with time-step players, whose
    /// values are spread evenly over the features of each step.
    pub fn measures_features(&self) -> bool {
        !matches!(
            self.details,
            Details::Shap {
                players: Players::TimeSteps,
                ..
            }
        )
    }

    /// Whether the attributions tell time steps apart: not for SHAP with feature players, whose
    /// values are spread evenly over the steps of each feature.
    pub fn measures_steps(&self) -> bool {
        !matches!(
            self.details,
            Details::Shap {
                players: Players::Features,
                ..
            }
        )
    }
}

/// Largest and mean absolute value of a set of gaps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GapStats {
    /// max |gap|.
    pub max_abs: f64,
    /// mean |gap|.
    pub mean_abs: f64,
}

impl GapStats {
    /// The statistics of `v` (zeros when empty).
    pub fn of(v: &[f64]) -> Self {
        Self {
            max_abs: v.iter().fold(0.0f64, |a, b| a.max(b.abs())),
            mean_abs: v.iter().map(|x| x.abs()).sum::<f64>() / v.len().max(1) as f64,
        }
    }
}

/// Values by feature name.
pub type ByName = BTreeMap<String, f64>;

fn named(names: &[String], v: &[f64]) -> ByName {
    names.iter().cloned().zip(v.iter().copied()).collect()
}

/// Permutation importance in the occlusion details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PermutationDetails {
    /// What the score measures (`mse_increase` or `mean_abs_change`).
    pub score: String,
    /// Score of the unpermuted windows.
    pub reference: f64,
    /// Score increase per feature.
    pub by_feature: ByName,
    /// Score increase per time step.
    pub by_step: Vec<f64>,
    /// Repeats averaged.
    pub repeats: usize,
}

/// Method-specific extras of a [`MethodReport`]; serialised as a plain object of the variant's
/// fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Details {
    /// Saliency and input × gradient: none (`{}`).
    None {},
    /// Integrated gradients.
    IntegratedGradients {
        /// `Σ attributions − (f(x) − f(baseline))` per window.
        completeness_gap: Vec<f64>,
        /// Statistics of the gaps.
        completeness_gap_stats: GapStats,
        /// Statistics of |gap| / |f(x) − f(baseline)| (|gap| where the span is 0).
        relative_gap_stats: GapStats,
        /// `f(baseline)`.
        f_baseline: f64,
    },
    /// SmoothGrad: the chosen variant and all three statistics' importances.
    SmoothGrad {
        /// The variant reported as attributions.
        variant: SmoothGradVariant,
        /// Mean of the noisy gradients.
        smoothgrad: Importance,
        /// Mean of their squares.
        smoothgrad_sq: Importance,
        /// Their variance.
        vargrad: Importance,
    },
    /// Shapley values.
    Shap {
        /// What a player is.
        players: Players,
        /// Number of players.
        n_players: usize,
        /// Player names (features, `t-k` steps or `feature@t-k` cells).
        player_names: Vec<String>,
        /// All coalitions enumerated.
        exact: bool,
        /// Coalitions evaluated per window.
        coalitions: usize,
        /// Background windows.
        background: usize,
        /// `v(∅)`.
        base_value: f64,
        /// Values `[n][players]`.
        values: Vec<Vec<f64>>,
        /// Mean |value| per player.
        mean_abs_by_player: Vec<f64>,
        /// `Σ φ − (f(x) − v(∅))` per window.
        efficiency_gap: Vec<f64>,
        /// Statistics of the gaps.
        efficiency_gap_stats: GapStats,
    },
    /// LIME.
    Lime {
        /// Intercept per window.
        intercept: Vec<f64>,
        /// Weighted R² per window.
        r2: Vec<f64>,
        /// Top features per window.
        top_features: Vec<Vec<String>>,
    },
    /// Occlusion and permutation importance.
    Occlusion {
        /// Mean |effect| of occluding each time step.
        step_occlusion: Vec<f64>,
        /// Mean |effect| of occluding each feature.
        feature_occlusion: ByName,
        /// Permutation importance.
        permutation: PermutationDetails,
    },
    /// Attention weights.
    Attention {
        /// `[n][steps]`.
        weights: Vec<Vec<f64>>,
        /// Mean over windows, `[steps]`.
        mean: Vec<f64>,
    },
}

/// Spearman rank correlations between the methods' per-feature importances.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodComparison {
    /// Rows and columns of `spearman` (every method but attention).
    pub methods: Vec<Method>,
    /// The correlation matrix (`None` where undefined).
    pub spearman: Vec<Vec<Option<f64>>>,
    /// Each method's feature importances as shares of its total.
    pub feature_shares: BTreeMap<Method, ByName>,
}

/// Settings of the integrated-gradients run, as written to the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct IgReport {
    /// Path points.
    pub steps: usize,
    /// Quadrature rule.
    pub rule: IgRule,
}

/// Settings of permutation importance, as written to the report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PermutationReport {
    /// Repeats.
    pub repeats: usize,
    /// Seed.
    pub seed: u64,
}

/// Every setting of a run, as written to the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SettingsReport {
    /// Methods run.
    pub methods: Vec<Method>,
    /// Output column explained.
    pub output: usize,
    /// `zeros`, `training_mean` or `window`.
    pub baseline: &'static str,
    /// The baseline window used.
    pub baseline_window: Vec<f32>,
    /// Integrated gradients.
    pub integrated_gradients: IgReport,
    /// SmoothGrad.
    pub smoothgrad: SmoothGradSettings,
    /// Shapley values.
    pub shap: ShapSettings,
    /// LIME.
    pub lime: LimeSettings,
    /// Permutation importance.
    pub permutation: PermutationReport,
}

impl SettingsReport {
    fn of(s: &ExplainSettings, baseline: &[f32]) -> Self {
        Self {
            methods: s.methods.clone(),
            output: s.output,
            baseline: match &s.baseline {
                BaselineChoice::Zeros => "zeros",
                BaselineChoice::TrainingMean => "training_mean",
                BaselineChoice::Window(_) => "window",
            },
            baseline_window: baseline.to_vec(),
            integrated_gradients: IgReport {
                steps: s.ig_steps,
                rule: s.ig_rule,
            },
            smoothgrad: s.smoothgrad,
            shap: s.shap,
            lime: s.lime,
            permutation: PermutationReport {
                repeats: s.permutation_repeats,
                seed: s.seed,
            },
        }
    }
}

/// Everything an explanation run found (the body of `interpretation_results.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Settings used.
    pub settings: SettingsReport,
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
    /// Spearman rank correlation between the methods' per-feature importances.
    pub method_comparison: MethodComparison,
}

impl Report {
    /// The report of a method.
    pub fn method(&self, m: Method) -> Option<&MethodReport> {
        self.methods.iter().find(|r| r.method == m)
    }

    /// The methods with attributions (all but attention), in run order.
    pub fn attributed(&self) -> impl Iterator<Item = &MethodReport> {
        self.methods.iter().filter(|m| m.attributions.is_some())
    }

    /// The first method with attributions that tells both time steps and features apart (not
    /// SHAP with feature or time-step players, whose values are spread evenly along the other
    /// axis), else the first that tells time steps apart, else the first.
    pub(crate) fn temporal_method(&self) -> Option<&MethodReport> {
        self.attributed()
            .find(|m| m.measures_steps() && m.measures_features())
            .or_else(|| self.attributed().find(|m| m.measures_steps()))
            .or_else(|| self.attributed().next())
    }

    /// The attention weights `[n][steps]` and their mean, when attention was run.
    pub fn attention(&self) -> Option<(&[Vec<f64>], &[f64])> {
        self.methods.iter().find_map(|m| match &m.details {
            Details::Attention { weights, mean } => Some((weights.as_slice(), mean.as_slice())),
            _ => None,
        })
    }

    /// Time-step labels, oldest first: `t-11 … t-0` (t-0 is the last input step).
    pub fn step_labels(&self) -> Vec<String> {
        (0..self.steps)
            .map(|t| format!("t-{}", self.steps - 1 - t))
            .collect()
    }
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
    if s.methods.iter().any(|m| m.needs_gradient()) {
        r.gradients(x.window(0), 1)?;
    }
    for m in &s.methods {
        match m {
            Method::IntegratedGradients => {
                crate::gradient::ig_alphas(s.ig_rule, s.ig_steps)?;
            }
            Method::Shap => r.check("background windows", data.background)?,
            Method::SmoothGrad if s.smoothgrad.samples == 0 => {
                return Err(invalid("smoothgrad samples", 0, "at least 1 sample"));
            }
            Method::SmoothGrad
                if !(s.smoothgrad.noise.is_finite() && s.smoothgrad.noise >= 0.0) =>
            {
                let noise = s.smoothgrad.noise;
                return Err(invalid(
                    "smoothgrad noise",
                    noise,
                    "must be a finite value >= 0",
                ));
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
    let mut methods = Vec::new();
    for &m in &s.methods {
        let t0 = Instant::now();
        let (attr, details) = run_method(&r, data, s, &baseline, m)?;
        let importance = match &attr {
            Some(a) => Importance::of(a),
            // Attention weights describe time steps only: spread each step's weight equally over
            // its features for the temporal matrix.
            None => {
                let mut a = Attributions::zeros(x.n, x.steps, x.features);
                if let Details::Attention { weights, .. } = &details {
                    for (w, row) in weights.iter().enumerate() {
                        for (t, v) in row.iter().enumerate() {
                            for f in 0..x.features {
                                a.values[(w * x.steps + t) * x.features + f] =
                                    v / x.features as f64;
                            }
                        }
                    }
                }
                Importance::of(&a)
            }
        };
        methods.push(MethodReport {
            method: m,
            importance,
            seconds: t0.elapsed().as_secs_f64(),
            attributions: attr.map(|a| a.nested()),
            details,
        });
    }
    let method_comparison = compare(&methods, data.feature_names);
    Ok(Report {
        settings: SettingsReport::of(s, &baseline),
        features: data.feature_names.to_vec(),
        steps: x.steps,
        windows: x.n,
        background: data.background.n,
        methods,
        method_comparison,
    })
}

/// Spearman matrix and feature shares of the methods with attributions (attention carries no
/// per-feature information).
fn compare(methods: &[MethodReport], names: &[String]) -> MethodComparison {
    let compared: Vec<&MethodReport> = methods
        .iter()
        .filter(|m| m.attributions.is_some())
        .collect();
    MethodComparison {
        methods: compared.iter().map(|m| m.method).collect(),
        spearman: compared
            .iter()
            .map(|a| {
                compared
                    .iter()
                    .map(|b| spearman(&a.importance.by_feature, &b.importance.by_feature))
                    .collect()
            })
            .collect(),
        feature_shares: compared
            .iter()
            .map(|m| (m.method, named(names, &shares(&m.importance.by_feature))))
            .collect(),
    }
}

/// Mean |value| over the rows of `rows` (`[n][k]`), per column.
fn mean_abs(rows: &[Vec<f64>], k: usize) -> Vec<f64> {
    (0..k)
        .map(|j| rows.iter().map(|v| v[j].abs()).sum::<f64>() / rows.len() as f64)
        .collect()
}

/// Attributions (none for attention) and details of a method.
type MethodResult = (Option<Attributions>, Details);

/// One method's attributions and details.
fn run_method<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    data: &ExplainData<'_>,
    s: &ExplainSettings,
    baseline: &[f32],
    m: Method,
) -> Result<MethodResult> {
    let x = data.windows;
    Ok(match m {
        Method::Saliency => (Some(saliency(r, x)?), Details::None {}),
        Method::InputXGradient => (Some(input_x_gradient(r, x)?), Details::None {}),
        Method::IntegratedGradients => ig_details(r, x, s, baseline)?,
        Method::SmoothGrad => {
            let res = smoothgrad(r, x, &s.smoothgrad)?;
            let details = Details::SmoothGrad {
                variant: s.smoothgrad.variant,
                smoothgrad: Importance::of(&res.mean),
                smoothgrad_sq: Importance::of(&res.mean_sq),
                vargrad: Importance::of(&res.variance),
            };
            (Some(res.attributions), details)
        }
        Method::Shap => shap_details(r, data, &s.shap)?,
        Method::Lime => {
            let res = lime(r, x, &s.lime)?;
            let top_features = res
                .top_features
                .iter()
                .map(|t| t.iter().map(|&f| data.feature_names[f].clone()).collect())
                .collect();
            let details = Details::Lime {
                intercept: res.intercept,
                r2: res.r2,
                top_features,
            };
            (Some(res.attributions), details)
        }
        Method::Occlusion => occlusion_details(r, data, s, baseline)?,
        Method::Attention => {
            let res = attention(r, x)?;
            let details = Details::Attention {
                weights: res.weights,
                mean: res.mean,
            };
            (None, details)
        }
    })
}

/// Integrated gradients from `baseline`, with the completeness gaps.
fn ig_details<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    x: &Inputs,
    s: &ExplainSettings,
    baseline: &[f32],
) -> Result<MethodResult> {
    let ig = IgSettings {
        baseline: Baseline::Window(baseline.to_vec()),
        steps: s.ig_steps,
        rule: s.ig_rule,
    };
    let res = integrated_gradients(r, x, &ig)?;
    let rel: Vec<f64> = res
        .delta
        .iter()
        .zip(&res.f_x)
        .map(|(d, f)| {
            let span = (f - res.f_baseline).abs();
            if span > 0.0 { d.abs() / span } else { d.abs() }
        })
        .collect();
    let details = Details::IntegratedGradients {
        completeness_gap_stats: GapStats::of(&res.delta),
        relative_gap_stats: GapStats::of(&rel),
        completeness_gap: res.delta,
        f_baseline: res.f_baseline,
    };
    Ok((Some(res.attributions), details))
}

/// Shapley values over the background, with player names and efficiency gaps.
fn shap_details<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    data: &ExplainData<'_>,
    settings: &ShapSettings,
) -> Result<MethodResult> {
    let x = data.windows;
    let res = shap(r, x, data.background, settings)?;
    let details = Details::Shap {
        players: res.players,
        n_players: res.n_players,
        player_names: player_names(res.players, data.feature_names, x.steps),
        exact: res.exact,
        coalitions: res.coalitions,
        background: res.background,
        base_value: res.base_value,
        mean_abs_by_player: mean_abs(&res.values, res.n_players),
        efficiency_gap_stats: GapStats::of(&res.efficiency_gap),
        values: res.values,
        efficiency_gap: res.efficiency_gap,
    };
    Ok((Some(res.attributions), details))
}

/// Occlusion by `baseline` and permutation importance.
fn occlusion_details<M: ExplainModel + ?Sized>(
    r: &Runner<M>,
    data: &ExplainData<'_>,
    s: &ExplainSettings,
    baseline: &[f32],
) -> Result<MethodResult> {
    let (x, names) = (data.windows, data.feature_names);
    let res = occlusion(r, x, baseline)?;
    let perm = permutation_importance(r, x, data.targets, s.permutation_repeats, s.seed)?;
    let details = Details::Occlusion {
        step_occlusion: mean_abs(&res.by_step, x.steps),
        feature_occlusion: named(names, &mean_abs(&res.by_feature, x.features)),
        permutation: PermutationDetails {
            score: perm.score,
            reference: perm.reference,
            by_feature: named(names, &perm.by_feature),
            by_step: perm.by_step,
            repeats: s.permutation_repeats,
        },
    };
    Ok((Some(res.attributions), details))
}

/// Names of SHAP's players: features, `t-k` time steps or `feature@t-k` cells.
fn player_names(players: Players, names: &[String], steps: usize) -> Vec<String> {
    let features = names.len();
    match players {
        Players::Features => names.to_vec(),
        Players::TimeSteps => (0..steps).map(|t| format!("t-{}", steps - 1 - t)).collect(),
        Players::Cells => (0..steps * features)
            .map(|i| format!("{}@t-{}", names[i % features], steps - 1 - i / features))
            .collect(),
    }
}
