//! Training history: loss per epoch.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{
    finite_range, finite_runs, fmt_tick, legend_corner, log_padded, padded, wants_log_scale,
};
use crate::error::VizError;
use crate::output::{Figure, Written, de, render};
use crate::theme::{BLUE, GREEN, ORANGE, Theme};

/// Loss curves of one training run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryChart {
    /// Figure title, e.g. `"LSTM on ETTh1: training history"`.
    pub title: String,
    /// Training loss per epoch (epoch 1 first). Must not be empty; NaN values leave gaps.
    pub train_loss: Vec<f64>,
    /// Validation loss per epoch; empty when there was no validation split,
    /// otherwise as long as `train_loss`.
    pub validation_loss: Vec<f64>,
    /// The 1-based epoch that was kept (early stopping); drawn as a vertical marker.
    pub best_epoch: Option<usize>,
    /// Name of the loss for the y axis, e.g. `"MSE"`; may be empty.
    pub loss_name: String,
}

/// Draws the training (and validation) loss per epoch, with a legend and a
/// marker at `best_epoch`; the y axis is logarithmic when the finite losses are
/// all positive and span more than two decades.
///
/// Writes `<out_dir>/<stem>.png` (3000×1800 px, 300 dpi) and
/// `<out_dir>/<stem>.svg` (1000×600), creating `out_dir` if needed.
///
/// # Errors
/// [`VizError::InvalidInput`] if `train_loss` is empty or has no finite value,
/// `validation_loss` is neither empty nor as long as `train_loss`, or
/// `best_epoch` is not in `1..=train_loss.len()`; [`VizError::Io`],
/// [`VizError::Draw`] or [`VizError::Png`] if a file cannot be produced.
pub fn training_history(
    chart: &HistoryChart,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    validate(chart)?;
    render(&HistoryFigure { chart }, out_dir, stem)
}

fn validate(chart: &HistoryChart) -> Result<(), VizError> {
    let name = format!("history chart {:?}", chart.title);
    let n = chart.train_loss.len();
    if n == 0 {
        return Err(VizError::InvalidInput(format!(
            "{name}: train_loss is empty"
        )));
    }
    if i32::try_from(n).is_err() {
        return Err(VizError::InvalidInput(format!(
            "{name}: train_loss has too many epochs ({n})"
        )));
    }
    if !chart.validation_loss.is_empty() && chart.validation_loss.len() != n {
        return Err(VizError::InvalidInput(format!(
            "{name}: validation_loss has {} values but train_loss has {n} (it must be empty or the same length)",
            chart.validation_loss.len()
        )));
    }
    if !chart.train_loss.iter().any(|v| v.is_finite()) {
        return Err(VizError::InvalidInput(format!(
            "{name}: train_loss has no finite value"
        )));
    }
    if let Some(best) = chart.best_epoch
        && !(1..=n).contains(&best)
    {
        return Err(VizError::InvalidInput(format!(
            "{name}: best_epoch {best} is outside the epochs 1..={n} (it is 1-based)"
        )));
    }
    Ok(())
}

struct HistoryFigure<'c> {
    chart: &'c HistoryChart,
}

impl Figure for HistoryFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let chart = self.chart;
        let area = theme.titled(root, &chart.title)?;
        // One epoch of padding on both sides keeps the first/last points and
        // a best-epoch marker on the last epoch off the plot frame.
        let n = chart.train_loss.len() as i32;
        let x = 0..n + 1;
        let values = chart
            .train_loss
            .iter()
            .chain(&chart.validation_loss)
            .copied();
        let (lo, hi) = finite_range(values).ok_or("no finite loss")?;
        if wants_log_scale(lo, hi) {
            let (a, b) = log_padded(lo, hi, 0.04);
            let norm = move |v: f64| (v.log10() - a.log10()) / (b.log10() - a.log10());
            draw_history(
                &area,
                theme,
                chart,
                x,
                (a..b).log_scale(),
                (a, b),
                norm,
                true,
            )
        } else {
            let (a, b) = padded(lo, hi, 0.05);
            let norm = move |v: f64| (v - a) / (b - a);
            draw_history(&area, theme, chart, x, a..b, (a, b), norm, false)
        }
    }
}

/// The y axis description: the loss name, and whether the scale is logarithmic.
fn loss_y_desc(loss_name: &str, log: bool) -> String {
    let loss = loss_name.trim();
    match (loss.is_empty(), log) {
        (true, false) => "Loss".to_string(),
        (true, true) => "Loss (log scale)".to_string(),
        (false, false) => format!("Loss ({loss})"),
        (false, true) => format!("Loss ({loss}, log scale)"),
    }
}

/// Draws the train and validation curves (with markers up to 50 epochs), broken at non-finite
/// values.
fn draw_loss_curves<'a, DB, CT>(
    cc: &mut ChartContext<'a, DB, CT>,
    theme: &Theme,
    chart: &HistoryChart,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (i32, f64)>,
{
    let markers = chart.train_loss.len() <= 50;
    let curves: [(&[f64], &str, RGBColor); 2] = [
        (&chart.train_loss, "Train", BLUE),
        (&chart.validation_loss, "Validation", ORANGE),
    ];
    for (values, label, color) in curves {
        if values.is_empty() {
            continue;
        }
        let points = values.iter().enumerate().map(|(i, v)| (i as i32 + 1, *v));
        let style = theme.line(&color, 2.0);
        for (k, run) in finite_runs(points).into_iter().enumerate() {
            let series = cc
                .draw_series(LineSeries::new(run.clone(), style))
                .map_err(de)?;
            if k == 0 {
                series.label(label).legend(theme.legend_line(style));
            }
            if markers {
                let r = theme.upx(2.8);
                cc.draw_series(run.iter().map(|p| Circle::new(*p, r, color.filled())))
                    .map_err(de)?;
            }
        }
    }
    Ok(())
}

/// Marks the best epoch, if any, with a dashed line across `y_lo..y_hi` and a dot on the
/// validation (else train) curve.
fn draw_best_epoch<'a, DB, CT>(
    cc: &mut ChartContext<'a, DB, CT>,
    theme: &Theme,
    chart: &HistoryChart,
    (y_lo, y_hi): (f64, f64),
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (i32, f64)>,
{
    let Some(best) = chart.best_epoch else {
        return Ok(());
    };
    let best = best as i32;
    let style = theme.line(&GREEN, 1.6);
    cc.draw_series(theme.dashed(vec![(best, y_lo), (best, y_hi)], style))
        .map_err(de)?
        .label(format!("Best epoch ({best})"))
        .legend(theme.legend_dashed(style));
    let at_best = |curve: &[f64]| {
        curve
            .get(best as usize - 1)
            .copied()
            .filter(|v| v.is_finite())
    };
    if let Some(v) = at_best(&chart.validation_loss).or_else(|| at_best(&chart.train_loss)) {
        cc.draw_series(std::iter::once(Circle::new(
            (best, v),
            theme.upx(5.0),
            GREEN.filled(),
        )))
        .map_err(de)?;
    }
    Ok(())
}

/// The legend corner that covers the fewest finite loss points, on the x range `x` and the
/// y axis normalised by `norm`.
fn loss_legend_corner(
    chart: &HistoryChart,
    x: &Range<i32>,
    norm: impl Fn(f64) -> f64,
) -> SeriesLabelPosition {
    let width = (x.end - x.start) as f64;
    let points = chart
        .train_loss
        .iter()
        .enumerate()
        .chain(chart.validation_loss.iter().enumerate())
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| ((i as f64 + 1.0 - x.start as f64) / width, norm(*v)));
    legend_corner(points)
}

/// Draws the loss curves of `chart` on the axes `x` × `y` (bounds `y_lo..y_hi`, `log` scale or
/// not), with the best epoch and a legend placed by `norm`.
#[allow(clippy::too_many_arguments)]
fn draw_history<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &HistoryChart,
    x: Range<i32>,
    y: Y,
    (y_lo, y_hi): (f64, f64),
    norm: impl Fn(f64) -> f64,
    log: bool,
) -> Result<(), String>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let n = chart.train_loss.len();
    let mut cc = ChartBuilder::on(area)
        .margin(theme.px(6.0))
        .x_label_area_size(theme.px(40.0))
        .y_label_area_size(theme.px(66.0))
        .build_cartesian_2d(x.clone(), y)
        .map_err(de)?;

    let span = y_hi - y_lo;
    let y_fmt = move |v: &f64| fmt_tick(*v, if log { 0.0 } else { span });
    let last = n as i32;
    let x_fmt = move |v: &i32| {
        if (1..=last).contains(v) {
            v.to_string()
        } else {
            String::new()
        }
    };
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.x_desc("Epoch")
        .y_desc(loss_y_desc(&chart.loss_name, log))
        .x_labels(n.clamp(2, 10))
        .y_labels(7)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(de)?;

    draw_loss_curves(&mut cc, theme, chart)?;
    draw_best_epoch(&mut cc, theme, chart, (y_lo, y_hi))?;
    theme.series_legend(&mut cc, loss_legend_corner(chart, &x, norm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> HistoryChart {
        HistoryChart {
            title: "t".into(),
            train_loss: vec![1.0, 0.5],
            validation_loss: vec![],
            best_epoch: Some(2),
            loss_name: "MSE".into(),
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(validate(&chart()).is_ok());
        let bad = |c: HistoryChart, needle: &str| match validate(&c) {
            Err(VizError::InvalidInput(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        bad(
            HistoryChart {
                train_loss: vec![],
                ..chart()
            },
            "train_loss is empty",
        );
        bad(
            HistoryChart {
                validation_loss: vec![1.0],
                ..chart()
            },
            "validation_loss has 1 values",
        );
        bad(
            HistoryChart {
                best_epoch: Some(0),
                ..chart()
            },
            "best_epoch 0",
        );
        bad(
            HistoryChart {
                best_epoch: Some(3),
                ..chart()
            },
            "best_epoch 3",
        );
        bad(
            HistoryChart {
                train_loss: vec![f64::NAN],
                best_epoch: None,
                ..chart()
            },
            "no finite",
        );
    }
}
