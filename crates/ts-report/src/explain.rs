//! The explanation charts, drawn with ts-viz.

use std::path::Path;

use ts_viz::{AttentionChart, BarsChart, HeatmapChart, LineChart, NamedLine, VizError};

use ts_explain::Report;
use ts_explain::report::MethodReport;

/// A short column label for a method.
fn short_name(method: &str) -> String {
    match method {
        "input_x_gradient" => "input×grad".into(),
        "integrated_gradients" => "IG".into(),
        other => other.into(),
    }
}

/// Draws the explanation charts into `out`: per method a heat map (time step × feature), then time-step importance
/// lines, feature-importance bars, the method comparison and, for the attention model, the
/// attention analysis.
pub fn draw_charts(rep: &Report, out: &Path, labels: &[String]) -> Result<(), VizError> {
    let steps = rep.step_labels();
    let attributed: Vec<&MethodReport> = rep.attributed().collect();
    for m in &attributed {
        // SHAP values whole features or whole time steps unless its players are cells: its
        // matrix is spread evenly along the other axis, and the title says so.
        let spread = if !m.measures_steps() {
            " (SHAP per feature, spread evenly over the steps)"
        } else if !m.measures_features() {
            " (SHAP per time step, spread evenly over the features)"
        } else {
            ""
        };
        let chart = HeatmapChart {
            title: format!("Temporal importance: {}{spread}", m.method.name()),
            x_desc: "Feature".into(),
            y_desc: "Time step".into(),
            columns: rep.features.clone(),
            rows: steps.clone(),
            values: m.importance.temporal.clone(),
            value_label: "mean |attribution|".into(),
            diverging: false,
            annotate: rep.steps * rep.features.len() <= 120,
        };
        ts_viz::heatmap(
            &chart,
            out,
            &format!("feature_importance_{}", m.method.name()),
        )?;
    }
    let over_time: Vec<&MethodReport> = attributed
        .iter()
        .copied()
        .filter(|m| m.measures_steps())
        .collect();
    if !over_time.is_empty() {
        // The per-feature lines read the first method that also tells features apart.
        let mut lines = over_time.clone();
        if let Some(k) = lines.iter().position(|m| m.measures_features()) {
            lines.swap(0, k);
        }
        draw_importance_lines(rep, &lines, &steps, out)?;
    }
    if !attributed.is_empty() {
        for m in attributed.iter().filter(|m| m.measures_features()) {
            let chart = BarsChart {
                title: format!("Overall feature importance: {}", m.method.name()),
                value_desc: "Σ over time steps of mean |attribution|".into(),
                labels: rep.features.clone(),
                values: m.importance.by_feature.clone(),
            };
            let stem = format!("overall_feature_importance_{}", m.method.name());
            ts_viz::feature_bars(&chart, out, &stem)?;
        }
    }
    draw_method_comparison(rep, out)?;
    if let Some((weights, _)) = rep.attention() {
        let chart = AttentionChart {
            title: "Attention analysis".into(),
            step_labels: steps,
            window_labels: if labels.len() == weights.len() {
                labels.to_vec()
            } else {
                Vec::new()
            },
            weights: weights.to_vec(),
        };
        ts_viz::attention_analysis(&chart, out, "attention_analysis")?;
    }
    Ok(())
}

/// The time-step importance lines: every method that tells time steps apart (up to 8) as a share
/// of its total, then the first one's importance per time step for each feature (up to 8).
fn draw_importance_lines(
    rep: &Report,
    attributed: &[&MethodReport],
    steps: &[String],
    out: &Path,
) -> Result<(), VizError> {
    // Lines are compared across methods whose scales differ: each as a share of its total.
    let series = attributed.iter().take(8).map(|m| NamedLine {
        label: m.method.name().into(),
        values: ts_explain::aggregate::shares(&m.importance.by_step),
    });
    let chart = LineChart {
        title: "Importance per time step (share of each method's total)".into(),
        x_desc: "Time step (t-0 = last input)".into(),
        y_desc: "Share of importance".into(),
        x_labels: steps.to_vec(),
        series: series.collect(),
    };
    ts_viz::line_chart(&chart, out, "time_step_importance")?;
    let first = attributed[0];
    let by_feature = rep
        .features
        .iter()
        .enumerate()
        .take(8)
        .map(|(f, name)| NamedLine {
            label: name.clone(),
            values: first.importance.temporal.iter().map(|r| r[f]).collect(),
        });
    let chart = LineChart {
        title: format!(
            "Importance per time step and feature ({})",
            first.method.name()
        ),
        x_desc: "Time step (t-0 = last input)".into(),
        y_desc: "Mean |attribution|".into(),
        x_labels: steps.to_vec(),
        series: by_feature.collect(),
    };
    ts_viz::line_chart(&chart, out, "time_step_importance_by_feature")?;
    Ok(())
}

/// The Spearman rank correlations of the methods' feature importances, when there are several.
fn draw_method_comparison(rep: &Report, out: &Path) -> Result<(), VizError> {
    let cmp = &rep.method_comparison;
    if cmp.methods.len() <= 1 {
        return Ok(());
    }
    let names: Vec<String> = cmp.methods.iter().map(|m| m.name().to_string()).collect();
    let values = cmp
        .spearman
        .iter()
        .map(|row| row.iter().map(|v| v.unwrap_or(f64::NAN)).collect());
    let chart = HeatmapChart {
        title: "Method comparison: Spearman rank correlation of feature importances".into(),
        x_desc: String::new(),
        y_desc: String::new(),
        columns: names.iter().map(|n| short_name(n)).collect(),
        rows: names,
        values: values.collect(),
        value_label: "Spearman ρ".into(),
        diverging: true,
        annotate: true,
    };
    ts_viz::heatmap(&chart, out, "method_comparison")?;
    Ok(())
}
