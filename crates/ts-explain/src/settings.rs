//! What to run: the methods ([`Method`], lists of them as [`Methods`]), the baseline and every
//! setting of a run ([`ExplainSettings`]), and the windows it runs on ([`ExplainData`]).

use serde::{Deserialize, Serialize};

use crate::error::{ExplainError, Result, invalid};
use crate::gradient::{IgRule, SmoothGradSettings};
use crate::lime::LimeSettings;
use crate::model::Inputs;
use crate::shap::ShapSettings;

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

    /// Whether the method needs [`ExplainModel::gradient`](crate::ExplainModel::gradient).
    pub fn needs_gradient(self) -> bool {
        matches!(
            self,
            Self::Saliency | Self::InputXGradient | Self::IntegratedGradients | Self::SmoothGrad
        )
    }

    /// Parses `all` or a comma-separated list (`saliency,ig,smoothgrad,shap,lime,occlusion,
    /// attention`, also `ixg`/`input_x_gradient`, `integrated_gradients`, `kernelshap`).
    /// `all` includes attention only when `has_attention`.
    pub fn parse_list(s: &str, has_attention: bool) -> Result<Vec<Method>> {
        s.parse::<Methods>()?.resolve(has_attention)
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Method {
    type Err = ExplainError;
    /// One method by name or alias (`ig`, `ixg`, `sg`, `kernelshap`, `permutation`, …).
    fn from_str(s: &str) -> Result<Self> {
        Ok(
            match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
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
            },
        )
    }
}

/// One entry of a method list: `all` or one method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodChoice {
    /// Every method the model supports.
    All,
    /// One method.
    One(Method),
}

/// The methods asked for, as in `--methods saliency,ig` or `all` (parsed with
/// [`std::str::FromStr`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Methods(pub Vec<MethodChoice>);

impl Methods {
    /// `all`.
    pub fn all() -> Self {
        Self(vec![MethodChoice::All])
    }

    /// The methods in order, without repeats, `all` expanded (with attention only when
    /// `has_attention`); an error when none is named.
    pub fn resolve(&self, has_attention: bool) -> Result<Vec<Method>> {
        let mut out = Vec::new();
        for m in &self.0 {
            let expanded = match m {
                MethodChoice::One(m) => vec![*m],
                MethodChoice::All => Method::ALL
                    .into_iter()
                    .filter(|&m| m != Method::Attention || has_attention)
                    .collect(),
            };
            for m in expanded {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        if out.is_empty() {
            return Err(invalid("methods", self, "name at least one method"));
        }
        Ok(out)
    }
}

impl Default for Methods {
    fn default() -> Self {
        Self::all()
    }
}

impl std::str::FromStr for Methods {
    type Err = ExplainError;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.is_empty() {
            return Err(invalid("methods", s, "name at least one method"));
        }
        parts
            .into_iter()
            .map(|p| {
                if p.eq_ignore_ascii_case("all") {
                    Ok(MethodChoice::All)
                } else {
                    p.parse().map(MethodChoice::One)
                }
            })
            .collect::<Result<_>>()
            .map(Self)
    }
}

impl std::fmt::Display for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .0
            .iter()
            .map(|m| match m {
                MethodChoice::All => "all",
                MethodChoice::One(m) => m.name(),
            })
            .collect();
        f.write_str(&names.join(","))
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

/// The baseline as chosen on the command line: the training mean or zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum BaselineKind {
    /// The per-cell mean of the training windows.
    #[default]
    #[cfg_attr(feature = "clap", value(aliases = ["training_mean", "training-mean"]))]
    Mean,
    /// Zeros in scaled space.
    #[cfg_attr(feature = "clap", value(aliases = ["zero"]))]
    Zeros,
}

impl std::str::FromStr for BaselineKind {
    type Err = ExplainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "mean" | "training_mean" | "training-mean" => Ok(Self::Mean),
            "zeros" | "zero" => Ok(Self::Zeros),
            other => Err(invalid("baseline", other, "expected mean or zeros")),
        }
    }
}

impl From<BaselineKind> for BaselineChoice {
    fn from(k: BaselineKind) -> Self {
        match k {
            BaselineKind::Mean => Self::TrainingMean,
            BaselineKind::Zeros => Self::Zeros,
        }
    }
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
