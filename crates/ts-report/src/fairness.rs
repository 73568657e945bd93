//! The charts of a fairness run, drawn with ts-viz.

use std::path::Path;

use ts_viz::{BarChart, BarPanel, VizError, bar_chart};

use ts_fairness::run::FairnessRun;

/// Draws the bar charts of a run's report ([`ts_fairness::run::FairnessReport::charts`]) into `out`.
pub fn draw_charts(out: &Path, run: &FairnessRun) -> Result<(), VizError> {
    for c in run.report.charts() {
        let panels = c.panels.into_iter().map(|p| BarPanel {
            title: p.title,
            y_label: p.y_label,
            categories: p.categories,
            series: p.series,
            reference: p.reference,
        });
        let chart = BarChart {
            title: c.title,
            panels: panels.collect(),
        };
        bar_chart(&chart, out, &c.stem)?;
    }
    Ok(())
}
