//! `tsf explain`: attributions of a saved model's forecasts, their aggregates, JSON and charts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ts_data::{FillPolicy, LoadOptions, load};
use ts_explain::{
    BaselineChoice, ExplainData, ExplainSettings, ForecasterModel, IgRule, LimeSettings, Method,
    Players, Report, ShapSettings, SmoothGradSettings, SmoothGradVariant,
};
use ts_model::ModelKind;
use ts_model::file::write_atomic;
use ts_train::pipeline;

/// `tsf explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Data file with the model's columns.
    #[arg(long)]
    pub data: PathBuf,
    /// Methods: all, or a comma-separated list of saliency, input_x_gradient, ig, smoothgrad,
    /// shap, lime, occlusion, attention (attention needs the attention model).
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Windows to explain: the most recent N of the data file.
    #[arg(long, default_value_t = 100)]
    pub windows: usize,
    /// Target explained (default: the model's first target).
    #[arg(long)]
    pub target: Option<String>,
    /// Horizon step explained, 1-based.
    #[arg(long, default_value_t = 1)]
    pub step: usize,
    /// Background windows for SHAP, drawn from the training windows.
    #[arg(long, default_value_t = 20)]
    pub background: usize,
    /// Baseline of integrated gradients and occlusion: mean (training mean) | zeros.
    #[arg(long, default_value = "mean")]
    pub baseline: String,
    /// Integrated-gradients steps.
    #[arg(long, default_value_t = 64)]
    pub ig_steps: usize,
    /// Integrated-gradients rule: gausslegendre | riemann_trapezoid | riemann_left |
    /// riemann_right | riemann_middle.
    #[arg(long, default_value = "gausslegendre")]
    pub ig_rule: String,
    /// SmoothGrad noise standard deviation (scaled units).
    #[arg(long, default_value_t = 0.1)]
    pub smoothgrad_noise: f64,
    /// SmoothGrad samples per window.
    #[arg(long, default_value_t = 32)]
    pub smoothgrad_samples: usize,
    /// SmoothGrad statistic: smoothgrad | smoothgrad_sq | vargrad.
    #[arg(long, default_value = "smoothgrad")]
    pub smoothgrad_variant: String,
    /// SHAP players: features (grouped across time) | timesteps | cells.
    #[arg(long, default_value = "features")]
    pub shap_players: String,
    /// SHAP: enumerate all coalitions (exact values) up to this many players.
    #[arg(long, default_value_t = 10)]
    pub shap_max_exact: usize,
    /// KernelSHAP sampled coalitions when not exact (0: 2·players + 2048).
    #[arg(long, default_value_t = 0)]
    pub shap_samples: usize,
    /// LIME perturbed samples per window.
    #[arg(long, default_value_t = 1000)]
    pub lime_samples: usize,
    /// LIME perturbation standard deviation (scaled units).
    #[arg(long, default_value_t = 0.1)]
    pub lime_noise: f64,
    /// Features listed per window by LIME.
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Permutation-importance repeats.
    #[arg(long, default_value_t = 5)]
    pub permutation_repeats: usize,
    /// Seed of every random draw (background, noise, coalitions, perturbations).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Missing values: error | ffill | interpolate | drop.
    #[arg(long, default_value = "error")]
    pub fill: String,
    /// Output folder for interpretation_results.json and the charts.
    #[arg(long, default_value = "tsf-explain")]
    pub out: PathBuf,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes).with_context(|| format!("{}: cannot write", path.display()))
}

fn settings(a: &ExplainArgs, output: usize, has_attention: bool) -> Result<ExplainSettings> {
    let methods = Method::parse_list(&a.methods, has_attention)?;
    let baseline = match a.baseline.to_ascii_lowercase().as_str() {
        "mean" | "training_mean" | "training-mean" => BaselineChoice::TrainingMean,
        "zeros" | "zero" => BaselineChoice::Zeros,
        other => bail!("invalid baseline = {other}: expected mean or zeros"),
    };
    if a.ig_steps == 0 {
        bail!("invalid --ig-steps = 0: at least 1 step");
    }
    Ok(ExplainSettings {
        methods,
        output,
        baseline,
        ig_steps: a.ig_steps,
        ig_rule: a.ig_rule.parse::<IgRule>()?,
        smoothgrad: SmoothGradSettings {
            noise: a.smoothgrad_noise,
            samples: a.smoothgrad_samples,
            variant: a.smoothgrad_variant.parse::<SmoothGradVariant>()?,
            seed: a.seed,
        },
        shap: ShapSettings {
            players: a.shap_players.parse::<Players>()?,
            max_exact_players: a.shap_max_exact,
            samples: a.shap_samples,
            seed: a.seed,
        },
        lime: LimeSettings {
            samples: a.lime_samples,
            noise: a.lime_noise,
            top_k: a.top_k,
            seed: a.seed,
            ..LimeSettings::default()
        },
        permutation_repeats: a.permutation_repeats,
        seed: a.seed,
    })
}

fn print_report(rep: &Report, labels: &[String]) {
    let names = &rep.features;
    let width = names.iter().map(|n| n.len()).max().unwrap_or(7).max(7);
    for m in &rep.methods {
        if m.method == Method::Attention.name() {
            continue;
        }
        println!();
        println!("Feature importance ({}, {:.2} s):", m.method, m.seconds);
        let total: f64 = m.importance.by_feature.iter().sum();
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| m.importance.by_feature[b].total_cmp(&m.importance.by_feature[a]));
        for (rank, &f) in order.iter().enumerate() {
            let v = m.importance.by_feature[f];
            let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
            println!(
                "  {:>2}. {:<width$}  {:>12.6e}  {:>5.1} %",
                rank + 1,
                names[f],
                v,
                share
            );
        }
    }
    // Temporal importance at a few time steps, with the first method that has attributions.
    if let Some(m) = rep.methods.iter().find(|m| m.method != "attention") {
        let steps = rep.steps;
        let mut picks: Vec<usize> = [0, 1, 2, 5, 11, 23]
            .into_iter()
            .filter(|&k| k < steps)
            .collect();
        if !picks.contains(&(steps - 1)) {
            picks.push(steps - 1);
        }
        println!();
        println!(
            "Temporal importance ({}; mean |attribution|, t-0 = the last input step):",
            m.method
        );
        print!("  {:<6}", "step");
        for n in names {
            print!("  {:>width$}", n);
        }
        println!();
        for k in picks {
            let t = steps - 1 - k;
            print!("  {:<6}", format!("t-{k}"));
            for v in &m.importance.temporal[t] {
                print!("  {:>width$.3e}", v);
            }
            println!();
        }
    }
    if let Some(att) = rep.method(Method::Attention)
        && let Some(mean) = att.details["mean"].as_array()
    {
        println!();
        println!("Mean attention weight per time step (t-0 last):");
        let steps = mean.len();
        let line: Vec<String> = mean
            .iter()
            .enumerate()
            .rev()
            .map(|(t, v)| format!("t-{}: {:.3}", steps - 1 - t, v.as_f64().unwrap_or(f64::NAN)))
            .collect();
        println!("  {}", line.join("  "));
    }
    let cmp = &rep.method_comparison;
    if let (Some(ms), Some(rows)) = (cmp["methods"].as_array(), cmp["spearman"].as_array())
        && ms.len() > 1
    {
        println!();
        println!("Method comparison (Spearman rank correlation of feature importances):");
        let short: Vec<String> = ms
            .iter()
            .map(|m| m.as_str().unwrap_or("?").chars().take(10).collect())
            .collect();
        print!("  {:<20}", "");
        for s in &short {
            print!(" {:>10}", s);
        }
        println!();
        for (i, row) in rows.iter().enumerate() {
            print!("  {:<20}", ms[i].as_str().unwrap_or("?"));
            for v in row.as_array().into_iter().flatten() {
                match v.as_f64() {
                    Some(x) => print!(" {:>10.3}", x),
                    None => print!(" {:>10}", "n/a"),
                }
            }
            println!();
        }
    }
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        println!();
        println!("Explained windows ending {first} … {last}");
    }
}

/// `tsf explain`.
pub fn explain(a: ExplainArgs) -> Result<()> {
    let bundle = pipeline::load_model(&a.model)?;
    let fill: FillPolicy = a.fill.parse()?;
    let frame = load(
        &a.data,
        &LoadOptions {
            time_column: bundle.config.data.time_column.clone(),
            columns: None,
            fill,
        },
    )?;
    let spec = bundle.header.spec.clone();
    let target = match &a.target {
        None => 0,
        Some(t) => spec.targets.iter().position(|x| x == t).ok_or_else(|| {
            anyhow!(
                "--target {t:?} is not a target of this model (targets: {})",
                spec.targets.join(", ")
            )
        })?,
    };
    if a.step == 0 || a.step > spec.horizon {
        bail!(
            "invalid --step = {}: the model forecasts steps 1..={}",
            a.step,
            spec.horizon
        );
    }
    let output = (a.step - 1) * spec.targets.len() + target;
    let has_attention = bundle.model.config.kind == ModelKind::Attention;
    let s = settings(&a, output, has_attention)?;
    let src = ts_explain::explain_source(&bundle, &frame, a.windows, a.background, output, a.seed)?;
    let model = ForecasterModel::new(&bundle.model, spec.lookback, &bundle.device);
    let data = ExplainData {
        windows: &src.windows,
        background: &src.background,
        training_mean: &src.training_mean,
        targets: src.targets.as_deref(),
        feature_names: &src.feature_names,
    };
    ts_explain::validate(&model, &data, &s)?;
    println!(
        "Explaining {} windows of {} ({} features, {} steps) for {} step {}; background {} of {} training windows",
        src.windows.n,
        a.data.display(),
        spec.features.len(),
        spec.lookback,
        spec.targets[target],
        a.step,
        src.background.n,
        src.training_windows
    );
    let t0 = Instant::now();
    let rep = ts_explain::explain(&model, &data, &s)?;
    print_report(&rep, &src.labels);
    println!();
    println!("All methods: {:.2} s", t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    let mut json = serde_json::to_value(&rep)?;
    if let Some(o) = json.as_object_mut() {
        o.insert(
            "model".into(),
            serde_json::json!({
                "path": a.model,
                "kind": bundle.model.config.kind,
                "target": spec.targets[target],
                "step": a.step,
                "output_index": output,
            }),
        );
        o.insert("data".into(), serde_json::json!(a.data));
        o.insert("window_labels".into(), serde_json::json!(src.labels));
    }
    let path = a.out.join("interpretation_results.json");
    write(&path, serde_json::to_string_pretty(&json)?.as_bytes())?;
    if !a.no_charts {
        charts(&rep, &a.out, &src.labels)?;
    }
    println!("Wrote {}", a.out.display());
    Ok(())
}

/// A short column label for a method.
fn short_name(method: &str) -> String {
    match method {
        "input_x_gradient" => "input×grad".into(),
        "integrated_gradients" => "IG".into(),
        other => other.into(),
    }
}

/// Time-step labels, oldest first: `t-11 … t-0` (t-0 is the last input step).
fn step_labels(steps: usize) -> Vec<String> {
    (0..steps).map(|t| format!("t-{}", steps - 1 - t)).collect()
}

/// The explanation charts: per method a heat map (time step × feature), then time-step importance
/// lines, feature-importance bars, the method comparison and, for the attention model, the attention
/// analysis.
fn charts(rep: &Report, out: &Path, labels: &[String]) -> Result<()> {
    let steps = step_labels(rep.steps);
    let attributed: Vec<&ts_explain::MethodReport> = rep
        .methods
        .iter()
        .filter(|m| m.method != Method::Attention.name())
        .collect();
    for m in &attributed {
        ts_viz::heatmap(
            &ts_viz::HeatmapChart {
                title: format!("Temporal importance: {}", m.method),
                x_desc: "Feature".into(),
                y_desc: "Time step".into(),
                columns: rep.features.clone(),
                rows: steps.clone(),
                values: m.importance.temporal.clone(),
                value_label: "mean |attribution|".into(),
                diverging: false,
                annotate: rep.steps * rep.features.len() <= 120,
            },
            out,
            &format!("feature_importance_{}", m.method),
        )?;
    }
    if !attributed.is_empty() {
        // Lines are compared across methods whose scales differ: each as a share of its total.
        let series: Vec<ts_viz::NamedLine> = attributed
            .iter()
            .take(8)
            .map(|m| ts_viz::NamedLine {
                label: m.method.clone(),
                values: ts_explain::aggregate::shares(&m.importance.by_step),
            })
            .collect();
        ts_viz::line_chart(
            &ts_viz::LineChart {
                title: "Importance per time step (share of each method's total)".into(),
                x_desc: "Time step (t-0 = last input)".into(),
                y_desc: "Share of importance".into(),
                x_labels: steps.clone(),
                series,
            },
            out,
            "time_step_importance",
        )?;
        let first = attributed[0];
        let mut feats: Vec<ts_viz::NamedLine> = rep
            .features
            .iter()
            .enumerate()
            .take(8)
            .map(|(f, name)| ts_viz::NamedLine {
                label: name.clone(),
                values: first.importance.temporal.iter().map(|r| r[f]).collect(),
            })
            .collect();
        feats.truncate(8);
        ts_viz::line_chart(
            &ts_viz::LineChart {
                title: format!("Importance per time step and feature ({})", first.method),
                x_desc: "Time step (t-0 = last input)".into(),
                y_desc: "Mean |attribution|".into(),
                x_labels: steps.clone(),
                series: feats,
            },
            out,
            "time_step_importance_by_feature",
        )?;
        for m in &attributed {
            ts_viz::feature_bars(
                &ts_viz::BarsChart {
                    title: format!("Overall feature importance: {}", m.method),
                    value_desc: "Σ over time steps of mean |attribution|".into(),
                    labels: rep.features.clone(),
                    values: m.importance.by_feature.clone(),
                },
                out,
                &format!("overall_feature_importance_{}", m.method),
            )?;
        }
    }
    if attributed.len() > 1 {
        let names: Vec<String> = attributed.iter().map(|m| m.method.clone()).collect();
        let values: Vec<Vec<f64>> = attributed
            .iter()
            .map(|a| {
                attributed
                    .iter()
                    .map(|b| {
                        ts_explain::spearman(&a.importance.by_feature, &b.importance.by_feature)
                            .unwrap_or(f64::NAN)
                    })
                    .collect()
            })
            .collect();
        ts_viz::heatmap(
            &ts_viz::HeatmapChart {
                title: "Method comparison: Spearman rank correlation of feature importances".into(),
                x_desc: String::new(),
                y_desc: String::new(),
                columns: names.iter().map(|n| short_name(n)).collect(),
                rows: names,
                values,
                value_label: "Spearman ρ".into(),
                diverging: true,
                annotate: true,
            },
            out,
            "method_comparison",
        )?;
    }
    if let Some(att) = rep.method(Method::Attention) {
        let weights: Vec<Vec<f64>> = serde_json::from_value(att.details["weights"].clone())?;
        ts_viz::attention_analysis(
            &ts_viz::AttentionChart {
                title: "Attention analysis".into(),
                step_labels: steps,
                window_labels: if labels.len() == weights.len() {
                    labels.to_vec()
                } else {
                    Vec::new()
                },
                weights,
            },
            out,
            "attention_analysis",
        )?;
    }
    Ok(())
}
