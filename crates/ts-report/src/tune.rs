//! The charts of a study: optimization history, parameter importance and the
//! objective against each parameter, drawn with ts-viz.

use std::collections::BTreeMap;
use std::path::Path;

use ts_tune::report::OptimizationResults;
use ts_tune::{Distribution, FrozenTrial, TrialState};

/// Draws `optimization_history`, `param_importances` (when there are importances) and
/// `parameter_correlations` (when a parameter varies) into `out`, for a minimized objective
/// called `objective_name`.
pub fn draw_charts(
    out: &Path,
    trials: &[FrozenTrial],
    space: &BTreeMap<String, Distribution>,
    results: &OptimizationResults,
    objective_name: &str,
) -> Result<(), ts_viz::VizError> {
    let pick = |s: TrialState| -> Vec<(usize, f64)> {
        trials
            .iter()
            .filter(|t| t.state == s)
            .filter_map(|t| Some((t.number, t.value?)))
            .collect()
    };
    let value_name = {
        let mut c = objective_name.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default()
    };
    ts_viz::optimization_history(
        &ts_viz::OptimizationHistoryChart {
            title: format!("Optimization history ({})", results.sampler),
            value_name: value_name.clone(),
            completed: pick(TrialState::Complete),
            pruned: pick(TrialState::Pruned),
            minimize: true,
        },
        out,
        "optimization_history",
    )?;
    let (labels, values): (Vec<String>, Vec<f64>) =
        results.importances.values.iter().cloned().unzip();
    if !labels.is_empty() {
        ts_viz::feature_bars(
            &ts_viz::BarsChart {
                title: "Parameter importance".into(),
                value_desc: format!("Share of importance: {}", results.importances.method),
                labels,
                values,
            },
            out,
            "param_importances",
        )?;
    }
    let done: Vec<&FrozenTrial> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && t.value.is_some_and(f64::is_finite))
        .collect();
    let params = param_series(space, &done);
    if !params.is_empty() {
        ts_viz::parameter_correlations(
            &ts_viz::CorrelationChart {
                title: format!("{value_name} against each parameter (completed trials)"),
                value_name,
                values: done.iter().map(|t| t.value.unwrap_or(f64::NAN)).collect(),
                params,
            },
            out,
            "parameter_correlations",
        )?;
    }
    Ok(())
}

/// One series per parameter that varies (up to `ts_viz::MAX_PARAM_PANELS`): its value in each
/// completed trial, whether its axis is logarithmic, and the labels of a categorical's choices.
fn param_series(
    space: &BTreeMap<String, Distribution>,
    done: &[&FrozenTrial],
) -> Vec<ts_viz::ParamSeries> {
    space
        .iter()
        .filter(|(_, d)| !d.single())
        .map(|(k, d)| ts_viz::ParamSeries {
            name: k.clone(),
            x: done
                .iter()
                .map(|t| t.params.get(k).copied().unwrap_or(f64::NAN))
                .collect(),
            log: matches!(
                d,
                Distribution::Float { log: true, .. } | Distribution::Int { log: true, .. }
            ),
            categories: match d {
                Distribution::Categorical { choices } => {
                    choices.iter().map(|c| c.label()).collect()
                }
                _ => Vec::new(),
            },
        })
        .take(ts_viz::MAX_PARAM_PANELS)
        .collect()
}
