//! The charts of a training run and of a backtest, drawn with ts-viz.

use std::path::Path;

use ts_viz::VizError;

use ts_data::Frame;

use ts_train::backtest::BacktestReport;
use ts_train::pipeline::TargetSeries;
use ts_train::{ForecastConfig, TrainReport};

/// Draws into `out` the training history, the test forecasts and their residuals; with several targets, panels of
/// up to `ts_viz::MAX_PANELS` per figure (`multivariate_predictions[_K]`).
pub fn draw_charts(
    out: &Path,
    report: &TrainReport,
    config: &ForecastConfig,
    series: Vec<(String, TargetSeries)>,
    band_label: Option<String>,
) -> Result<(), VizError> {
    let h = ts_viz::HistoryChart {
        title: "Training history".into(),
        train_loss: report.history.iter().map(|r| r.train_loss).collect(),
        validation_loss: report.history.iter().filter_map(|r| r.val_loss).collect(),
        best_epoch: (report.best_epoch > 0).then_some(report.best_epoch),
        loss_name: format!("{:?}", config.train.loss).to_uppercase(),
    };
    ts_viz::training_history(&h, out, "training_history")?;
    let panels: Vec<ts_viz::PredictionChart> = series
        .into_iter()
        .map(|(t, s)| ts_viz::PredictionChart {
            title: format!("{t}: test set, one step ahead"),
            target: t,
            timestamps: s.timestamps,
            actual: s.actual,
            predicted: s.predicted,
            naive: Some(s.naive),
            seasonal_naive: (!s.seasonal_naive.is_empty()).then_some(s.seasonal_naive),
            drift: Some(s.drift),
            band: band_label
                .clone()
                .filter(|_| !s.lower.is_empty())
                .map(|label| ts_viz::Band {
                    lower: s.lower,
                    upper: s.upper,
                    label,
                }),
        })
        .collect();
    ts_viz::predictions_vs_actuals(&panels[0], out, "predictions_vs_actuals")?;
    ts_viz::residuals(&panels[0], out, "residuals")?;
    let figures = panels.len().div_ceil(ts_viz::MAX_PANELS);
    if figures == 1 && panels.len() > 1 {
        ts_viz::multivariate_predictions(&panels, out, "multivariate_predictions")?;
    } else if figures > 1 {
        for (k, chunk) in panels.chunks(panels.len().div_ceil(figures)).enumerate() {
            let stem = format!("multivariate_predictions_{}", k + 1);
            ts_viz::multivariate_predictions(chunk, out, &stem)?;
        }
    }
    Ok(())
}

/// Draws `backtest_folds` into `out`: the folds' one-step forecasts of the first target against
/// the actuals, one fold after the other (nothing when the folds hold no forecast).
pub fn draw_backtest(report: &BacktestReport, frame: &Frame, out: &Path) -> Result<(), VizError> {
    let target = report.overall.first().map_or("", |o| o.target.as_str());
    let mut chart = ts_viz::PredictionChart {
        title: format!(
            "{target}: rolling-origin backtest, {} folds, one step ahead",
            report.folds.len()
        ),
        target: target.to_string(),
        timestamps: Vec::new(),
        actual: Vec::new(),
        predicted: Vec::new(),
        naive: None,
        seasonal_naive: None,
        drift: None,
        band: None,
    };
    let steps: Vec<_> = report.folds.iter().flat_map(|f| &f.one_step).collect();
    for s in &steps {
        chart.timestamps.push(frame.label(s.row));
        chart.actual.push(s.actual);
        chart.predicted.push(s.forecast);
    }
    chart.naive = Some(steps.iter().map(|s| s.naive).collect());
    chart.drift = Some(steps.iter().map(|s| s.drift).collect());
    // The seasonal naive where the folds have a season.
    chart.seasonal_naive = steps.iter().map(|s| s.seasonal_naive).collect();
    if !chart.actual.is_empty() {
        ts_viz::predictions_vs_actuals(&chart, out, "backtest_folds")?;
    }
    Ok(())
}
