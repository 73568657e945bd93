//! `tsf explain` as a library call (feature `lstm`): a saved model and a data table in, the
//! report of `interpretation_results.json` out.
//!
//! [`ExplainJob::prepare`] loads and checks everything (model, table, target and horizon step,
//! methods and settings, windows and background) before anything heavy runs;
//! [`ExplainJob::run`] computes the attributions.

use std::path::PathBuf;

use serde::Serialize;
use ts_data::{FillPolicy, LoadOptions, load};
use ts_model::ModelKind;
use ts_train::Bundle;
use ts_train::pipeline;

use crate::error::{Result, invalid};
use crate::forecaster::ForecasterModel;
use crate::gradient::{IgRule, SmoothGradSettings, SmoothGradVariant};
use crate::lime::LimeSettings;
use crate::report::Report;
use crate::settings::{BaselineKind, ExplainData, ExplainSettings, Methods};
use crate::shap::{Players, ShapSettings};
use crate::source::{ExplainSource, explain_source};

/// What to explain and how: the model file, the data table, the explained output, the methods
/// and their settings. With the `clap` feature these are the flags of `tsf explain` (the field
/// names, in kebab case); [`ExplainOptions::new`] gives the same defaults.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct ExplainOptions {
    /// Model file written by `tsf train`.
    #[cfg_attr(feature = "clap", arg(long))]
    pub model: PathBuf,
    /// Data file with the model's columns.
    #[cfg_attr(feature = "clap", arg(long))]
    pub data: PathBuf,
    /// Missing values: error | ffill | interpolate | drop.
    #[cfg_attr(feature = "clap", arg(long, default_value = "error"))]
    pub fill: FillPolicy,
    /// Methods: all, or a comma-separated list of saliency, input_x_gradient, ig, smoothgrad,
    /// shap, lime, occlusion, attention (attention needs the attention model).
    #[cfg_attr(feature = "clap", arg(long, default_value = "all"))]
    pub methods: Methods,
    /// Windows to explain: the most recent N of the data file.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 100)
    )]
    pub windows: usize,
    /// Target explained (default: the model's first target).
    #[cfg_attr(feature = "clap", arg(long))]
    pub target: Option<String>,
    /// Horizon step explained, 1-based.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 1)
    )]
    pub step: usize,
    /// Background windows for SHAP, drawn from the training windows.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 20)
    )]
    pub background: usize,
    /// Baseline of integrated gradients and occlusion: mean (training mean) | zeros.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, ignore_case = true, default_value = "mean")
    )]
    pub baseline: BaselineKind,
    /// Integrated-gradients steps.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 64)
    )]
    pub ig_steps: usize,
    /// Integrated-gradients rule.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, ignore_case = true, default_value = "gausslegendre")
    )]
    pub ig_rule: IgRule,
    /// SmoothGrad noise standard deviation (scaled units).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 0.1)
    )]
    pub smoothgrad_noise: f64,
    /// SmoothGrad samples per window.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 32)
    )]
    pub smoothgrad_samples: usize,
    /// SmoothGrad statistic.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, ignore_case = true, default_value = "smoothgrad")
    )]
    pub smoothgrad_variant: SmoothGradVariant,
    /// SHAP players: features (grouped across time) | timesteps | cells.
    #[cfg_attr(
        feature = "clap",
        arg(long, value_enum, ignore_case = true, default_value = "features")
    )]
    pub shap_players: Players,
    /// SHAP: enumerate all coalitions (exact values) up to this many players (at most 24).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 10)
    )]
    pub shap_max_exact: usize,
    /// KernelSHAP sampled coalitions when not exact (0: 2·players + 2048; at most 1,000,000).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 0)
    )]
    pub shap_samples: usize,
    /// LIME perturbed samples per window (at most 1,000,000).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 1000)
    )]
    pub lime_samples: usize,
    /// LIME perturbation standard deviation (scaled units).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 0.1)
    )]
    pub lime_noise: f64,
    /// Features listed per window by LIME.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 5)
    )]
    pub top_k: usize,
    /// Permutation-importance repeats.
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 5)
    )]
    pub permutation_repeats: usize,
    /// Seed of every random draw (background, noise, coalitions, perturbations).
    #[cfg_attr(
        feature = "clap",
        arg(long, allow_negative_numbers = true, default_value_t = 0)
    )]
    pub seed: u64,
}

impl ExplainOptions {
    /// The defaults (every method, the last 100 windows, the first target's first step, 20
    /// background windows, the training-mean baseline, …) for a model file and a data table.
    pub fn new(model: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        let (sg, shap, lime) = (
            SmoothGradSettings::default(),
            ShapSettings::default(),
            LimeSettings::default(),
        );
        Self {
            model: model.into(),
            data: data.into(),
            fill: FillPolicy::default(),
            methods: Methods::all(),
            windows: 100,
            target: None,
            step: 1,
            background: 20,
            baseline: BaselineKind::Mean,
            ig_steps: 64,
            ig_rule: IgRule::GaussLegendre,
            smoothgrad_noise: sg.noise,
            smoothgrad_samples: sg.samples,
            smoothgrad_variant: sg.variant,
            shap_players: shap.players,
            shap_max_exact: shap.max_exact_players,
            shap_samples: shap.samples,
            lime_samples: lime.samples,
            lime_noise: lime.noise,
            top_k: lime.top_k,
            permutation_repeats: 5,
            seed: 0,
        }
    }

    /// The method settings for output column `output` of a model (with attention or not).
    pub fn settings(&self, output: usize, has_attention: bool) -> Result<ExplainSettings> {
        if self.ig_steps == 0 {
            return Err(invalid("--ig-steps", 0, "at least 1 step"));
        }
        Ok(ExplainSettings {
            methods: self.methods.resolve(has_attention)?,
            output,
            baseline: self.baseline.into(),
            ig_steps: self.ig_steps,
            ig_rule: self.ig_rule,
            smoothgrad: SmoothGradSettings {
                noise: self.smoothgrad_noise,
                samples: self.smoothgrad_samples,
                variant: self.smoothgrad_variant,
                seed: self.seed,
            },
            shap: ShapSettings {
                players: self.shap_players,
                max_exact_players: self.shap_max_exact,
                samples: self.shap_samples,
                seed: self.seed,
            },
            lime: LimeSettings {
                samples: self.lime_samples,
                noise: self.lime_noise,
                top_k: self.top_k,
                seed: self.seed,
                ..LimeSettings::default()
            },
            permutation_repeats: self.permutation_repeats,
            seed: self.seed,
        })
    }
}

/// The explained model and output, as written to the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// The model file.
    pub path: PathBuf,
    /// Its kind.
    pub kind: ModelKind,
    /// The explained target.
    pub target: String,
    /// The explained horizon step, 1-based.
    pub step: usize,
    /// The output column (`(step − 1) × targets + target`).
    pub output_index: usize,
}

/// Everything `tsf explain` writes to `interpretation_results.json`: the [`Report`], the model and
/// data it explains and the labels of the explained windows.
#[derive(Debug, Clone, Serialize)]
pub struct InterpretationResults {
    /// The methods' results.
    #[serde(flatten)]
    pub report: Report,
    /// The explained model and output.
    pub model: ModelInfo,
    /// The data file.
    pub data: PathBuf,
    /// Time stamp of each explained window's last input row.
    pub window_labels: Vec<String>,
}

impl InterpretationResults {
    /// Pretty JSON with the keys of every object in alphabetical order.
    pub fn to_json(&self) -> Result<String> {
        Ok(serde_json::to_string_pretty(&serde_json::to_value(self)?)?)
    }
}

/// A checked explanation run of a saved model on a data table.
#[derive(Debug)]
pub struct ExplainJob {
    options: ExplainOptions,
    bundle: Bundle,
    model: ForecasterModel,
    source: ExplainSource,
    settings: ExplainSettings,
    target: usize,
}

impl ExplainJob {
    /// Loads the model and the table, resolves the target and step into an output column, cuts
    /// the windows (the last `windows` of the table), the background and the training mean, and
    /// checks every setting and the model's support of each method.
    pub fn prepare(o: &ExplainOptions) -> Result<Self> {
        let bundle = pipeline::load_model(&o.model)?;
        let load_options = LoadOptions {
            time_column: bundle.config.data.time_column.clone(),
            columns: None,
            fill: o.fill,
        };
        let frame = load(&o.data, &load_options)?;
        let spec = &bundle.header.spec;
        let target = match &o.target {
            None => 0,
            Some(t) => spec.targets.iter().position(|x| x == t).ok_or_else(|| {
                invalid(
                    "--target",
                    format!("{t:?}"),
                    &format!(
                        "not a target of this model (targets: {})",
                        spec.targets.join(", ")
                    ),
                )
            })?,
        };
        if o.step == 0 || o.step > spec.horizon {
            let range = format!("the model forecasts steps 1..={}", spec.horizon);
            return Err(invalid("--step", o.step, &range));
        }
        let output = (o.step - 1) * spec.targets.len() + target;
        let has_attention = bundle.model.config.kind == ModelKind::Attention;
        let settings = o.settings(output, has_attention)?;
        let source = explain_source(&bundle, &frame, o.windows, o.background, output, o.seed)?;
        let model = ForecasterModel::new(&bundle.model, spec.lookback, &bundle.device);
        let job = Self {
            options: o.clone(),
            bundle,
            model,
            source,
            settings,
            target,
        };
        crate::report::validate(&job.model, &job.data(), &job.settings)?;
        Ok(job)
    }

    fn data(&self) -> ExplainData<'_> {
        let s = &self.source;
        ExplainData {
            windows: &s.windows,
            background: &s.background,
            training_mean: &s.training_mean,
            targets: s.targets.as_deref(),
            feature_names: &s.feature_names,
        }
    }

    /// One line saying what will be explained.
    pub fn describe(&self) -> String {
        let (s, spec) = (&self.source, &self.bundle.header.spec);
        format!(
            "Explaining {} windows of {} ({} features, {} steps) for {} step {}; background {} of {} training windows",
            s.windows.n,
            self.options.data.display(),
            spec.features.len(),
            spec.lookback,
            spec.targets[self.target],
            self.options.step,
            s.background.n,
            s.training_windows
        )
    }

    /// The windows, background and labels cut from the table.
    pub fn source(&self) -> &ExplainSource {
        &self.source
    }

    /// Runs every method.
    pub fn run(&self) -> Result<InterpretationResults> {
        let report = crate::report::explain(&self.model, &self.data(), &self.settings)?;
        Ok(InterpretationResults {
            report,
            model: ModelInfo {
                path: self.options.model.clone(),
                kind: self.bundle.model.config.kind,
                target: self.bundle.header.spec.targets[self.target].clone(),
                step: self.options.step,
                output_index: self.settings.output,
            },
            data: self.options.data.clone(),
            window_labels: self.source.labels.clone(),
        })
    }
}

#[cfg(all(test, feature = "clap"))]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        options: ExplainOptions,
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let cli = Cli::try_parse_from(["tsf", "--model", "m.tsf", "--data", "d.csv"]).unwrap();
        assert_eq!(cli.options, ExplainOptions::new("m.tsf", "d.csv"));
    }

    #[test]
    fn enumerations_take_every_name_their_parsers_take() {
        use clap::ValueEnum;
        fn check<T: ValueEnum + std::str::FromStr + PartialEq + std::fmt::Debug>() {
            for v in T::value_variants() {
                let pv = v.to_possible_value().unwrap();
                for name in pv.get_name_and_aliases() {
                    let parsed = name.parse::<T>().ok();
                    assert_eq!(parsed.as_ref(), Some(v), "{name}");
                    let upper = <T as ValueEnum>::from_str(&name.to_uppercase(), true).ok();
                    assert_eq!(upper.as_ref(), Some(v), "{name}");
                }
            }
        }
        check::<IgRule>();
        check::<SmoothGradVariant>();
        check::<Players>();
        check::<BaselineKind>();
        let parse = |args: &[&str]| {
            let mut all = vec!["tsf", "--model", "m", "--data", "d"];
            all.extend(args);
            Cli::try_parse_from(all)
        };
        let o = parse(&["--ig-rule", "Trapezoid", "--shap-players", "time_steps"]).unwrap();
        assert_eq!(o.options.ig_rule, IgRule::RiemannTrapezoid);
        assert_eq!(o.options.shap_players, Players::TimeSteps);
        let e = parse(&["--methods", "saliency,magic"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("magic"), "{e}");
        assert!(parse(&["--baseline", "median"]).is_err());
    }
}
