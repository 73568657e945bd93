//! Forecasts against actual values: time series, scatter, residuals, per-target grid.

use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordf64, RangedCoordi32};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{
    decimate_min_max, finite_range, finite_runs, fmt_stat, fmt_tick, histogram,
    index_label_request, label_width, legend_corner, mean_sd, padded, thin_per_pixel,
};
use crate::error::VizError;
use crate::output::{Figure, Written, de, render};
use crate::theme::{AXIS, BLUE, GREEN, GREY, LegendEntry, ORANGE, PURPLE, RED, Theme};

/// Most panels [`multivariate_predictions`] draws on one 10×6 inch figure.
pub const MAX_PANELS: usize = 12;

/// Predictions of one target over a test period, next to the actual values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PredictionChart {
    /// Figure title, e.g. `"LSTM on ETTh1: test set"`.
    pub title: String,
    /// Name of the predicted variable, used for axis labels and panel captions (e.g. `"OT"`).
    pub target: String,
    /// One x-axis label per point (e.g. `"2019-03-01"`); about 6-8 are shown.
    /// May be empty, in which case the point index is shown instead.
    pub timestamps: Vec<String>,
    /// Observed values. Must not be empty; NaN values are skipped (leave gaps).
    pub actual: Vec<f64>,
    /// Model predictions, as long as `actual`.
    pub predicted: Vec<f64>,
    /// Optional last-value (naive) baseline, as long as `actual`; drawn dashed grey.
    pub naive: Option<Vec<f64>>,
    /// Optional seasonal naive baseline (the value one season earlier), as long as `actual`;
    /// drawn dashed green.
    #[serde(default)]
    pub seasonal_naive: Option<Vec<f64>>,
    /// Optional drift baseline (the last value plus the average change), as long as `actual`;
    /// drawn dashed purple.
    #[serde(default)]
    pub drift: Option<Vec<f64>>,
    /// Optional prediction interval drawn as a shaded band behind the forecast.
    #[serde(default)]
    pub band: Option<Band>,
}

/// A prediction interval: lower and upper bounds per point (as long as `actual`; NaN leaves a
/// gap) and a legend label such as `"95 % interval"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Lower bounds.
    pub lower: Vec<f64>,
    /// Upper bounds.
    pub upper: Vec<f64>,
    /// Legend label.
    pub label: String,
}

/// A baseline of [`PredictionChart`]: its legend label, its values and its colour.
type BaselineLine<'a> = (&'static str, &'a [f64], RGBColor);

/// The legend label and colour of each baseline, in drawing order (naive, seasonal naive, drift).
const BASELINES: [(&str, RGBColor); 3] = [
    ("Naive (last value)", GREY),
    ("Seasonal naive", GREEN),
    ("Drift", PURPLE),
];

impl PredictionChart {
    /// The baselines the chart carries, in drawing order (naive, seasonal naive, drift).
    fn baselines(&self) -> Vec<BaselineLine<'_>> {
        [&self.naive, &self.seasonal_naive, &self.drift]
            .into_iter()
            .zip(BASELINES)
            .filter_map(|(v, (label, color))| v.as_deref().map(|v| (label, v, color)))
            .collect()
    }

    /// `actual - predicted` per point (NaN where either is missing).
    pub fn residuals(&self) -> Vec<f64> {
        self.actual
            .iter()
            .zip(&self.predicted)
            .map(|(a, p)| a - p)
            .collect()
    }

    fn validate(&self, name: &str) -> Result<(), VizError> {
        let n = self.actual.len();
        let invalid = |what: String| Err(VizError::InvalidInput(format!("{name}: {what}")));
        if n == 0 {
            return invalid("actual is empty".into());
        }
        if i32::try_from(n).is_err() {
            return invalid(format!("actual has too many points ({n})"));
        }
        if self.predicted.len() != n {
            return invalid(format!(
                "predicted has {} values but actual has {n}",
                self.predicted.len()
            ));
        }
        if !self.timestamps.is_empty() && self.timestamps.len() != n {
            return invalid(format!(
                "timestamps has {} labels but actual has {n} values (it must be empty or the same length)",
                self.timestamps.len()
            ));
        }
        for (name, values) in [
            ("naive", &self.naive),
            ("seasonal_naive", &self.seasonal_naive),
            ("drift", &self.drift),
        ] {
            if let Some(v) = values
                && v.len() != n
            {
                return invalid(format!("{name} has {} values but actual has {n}", v.len()));
            }
        }
        if let Some(b) = &self.band
            && (b.lower.len() != n || b.upper.len() != n)
        {
            return invalid(format!(
                "band has {} lower and {} upper bounds but actual has {n} values",
                b.lower.len(),
                b.upper.len()
            ));
        }
        if !self
            .actual
            .iter()
            .zip(&self.predicted)
            .any(|(a, p)| a.is_finite() && p.is_finite())
        {
            return invalid(
                "no point has both a finite actual and a finite predicted value".into(),
            );
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!("prediction chart {:?}", self.title)
    }

    /// The x tick label for point `i`.
    fn label_at(&self, i: i32) -> String {
        let Ok(i) = usize::try_from(i) else {
            return String::new();
        };
        if self.timestamps.is_empty() {
            if i < self.actual.len() {
                i.to_string()
            } else {
                String::new()
            }
        } else {
            self.timestamps.get(i).cloned().unwrap_or_default()
        }
    }

    /// The x range: the point indices, or `-1..1` to centre a single point.
    fn x_range(&self) -> Range<i32> {
        match self.actual.len() {
            0 | 1 => -1..1,
            n => 0..n as i32 - 1,
        }
    }
}

/// Draws two panels side by side: actual vs predicted (and the baselines the
/// chart carries: naive, seasonal naive, drift) over time, and a scatter of
/// predicted against actual with the `y = x` line.
///
/// Writes `<out_dir>/<stem>.png` (3000×1800 px, 300 dpi) and
/// `<out_dir>/<stem>.svg` (1000×600), creating `out_dir` if needed.
///
/// # Errors
/// [`VizError::InvalidInput`] if `actual` is empty, `predicted`, a baseline or
/// a non-empty `timestamps` differ in length from `actual`, or no point has both
/// values finite; [`VizError::Io`], [`VizError::Draw`] or [`VizError::Png`] if
/// a file cannot be produced.
pub fn predictions_vs_actuals(
    chart: &PredictionChart,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    chart.validate(&chart.name())?;
    render(&PredictionFigure { chart }, out_dir, stem)
}

/// Draws the residuals `actual - predicted` over time with a zero line, next
/// to a histogram of the residuals (with their mean and standard deviation).
///
/// Writes `<out_dir>/<stem>.png` and `<out_dir>/<stem>.svg` like
/// [`predictions_vs_actuals`]; the baselines are not used.
///
/// # Errors
/// As for [`predictions_vs_actuals`].
pub fn residuals(chart: &PredictionChart, out_dir: &Path, stem: &str) -> Result<Written, VizError> {
    chart.validate(&chart.name())?;
    render(&ResidualFigure { chart }, out_dir, stem)
}

/// Draws one panel per target in a grid (up to 3 columns, at most
/// [`MAX_PANELS`] panels), each with actual vs predicted (and its baselines)
/// over time, under a shared legend (a baseline is in it when any panel
/// carries it). The figure title is the panels' common `title`; when the
/// titles differ each panel caption shows its own title.
///
/// Writes `<out_dir>/<stem>.png` and `<out_dir>/<stem>.svg` like
/// [`predictions_vs_actuals`].
///
/// # Errors
/// [`VizError::InvalidInput`] if `panels` is empty, has more than
/// [`MAX_PANELS`] entries, or any panel is invalid (see
/// [`predictions_vs_actuals`]; the message names the panel);
/// [`VizError::Io`], [`VizError::Draw`] or [`VizError::Png`] if a file cannot
/// be produced.
pub fn multivariate_predictions(
    panels: &[PredictionChart],
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    if panels.is_empty() {
        return Err(VizError::InvalidInput(
            "multivariate predictions: no panels given".into(),
        ));
    }
    if panels.len() > MAX_PANELS {
        return Err(VizError::InvalidInput(format!(
            "multivariate predictions: {} panels given, at most {MAX_PANELS} fit on one figure",
            panels.len()
        )));
    }
    for (i, panel) in panels.iter().enumerate() {
        panel.validate(&format!(
            "multivariate predictions, panel {} (target {:?})",
            i + 1,
            panel.target
        ))?;
    }
    render(&MultiFigure { panels }, out_dir, stem)
}

struct PredictionFigure<'c> {
    chart: &'c PredictionChart,
}

impl Figure for PredictionFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let area = theme.titled(root, &self.chart.title)?;
        let width = area.dim_in_pixel().0 as f64;
        let (left, right) = area.split_horizontally((width * 0.62).round() as u32);
        let panel = TimePanel {
            caption: "Actual vs predicted over time".into(),
            y_desc: Some(self.chart.target.clone()),
            legend: true,
        };
        draw_time_panel(&left, theme, self.chart, &panel)?;
        draw_scatter(&right, theme, self.chart)
    }
}

struct ResidualFigure<'c> {
    chart: &'c PredictionChart,
}

impl Figure for ResidualFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let area = theme.titled(root, &self.chart.title)?;
        let width = area.dim_in_pixel().0 as f64;
        let (left, right) = area.split_horizontally((width * 0.62).round() as u32);
        let residuals = self.chart.residuals();
        draw_residual_series(&left, theme, self.chart, &residuals)?;
        draw_histogram(&right, theme, &residuals)
    }
}

struct MultiFigure<'c> {
    panels: &'c [PredictionChart],
}

impl Figure for MultiFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let first = &self.panels[0];
        let same_title = self.panels.iter().all(|p| p.title == first.title);
        let title = if same_title {
            first.title.as_str()
        } else {
            "Actual vs predicted"
        };
        let area = theme.titled(root, title)?;

        let mut entries = vec![
            LegendEntry {
                label: "Actual".into(),
                color: BLUE,
                width: 2.0,
                dashed: false,
            },
            LegendEntry {
                label: "Predicted".into(),
                color: ORANGE,
                width: 2.0,
                dashed: false,
            },
        ];
        for (label, color) in BASELINES {
            if self
                .panels
                .iter()
                .any(|p| p.baselines().iter().any(|b| b.0 == label))
            {
                entries.push(LegendEntry {
                    label: label.into(),
                    color,
                    width: 1.5,
                    dashed: true,
                });
            }
        }
        let (legend, grid) = area.split_vertically(theme.px(22.0));
        theme.legend_strip(&legend, &entries)?;

        let k = self.panels.len();
        let cols = match k {
            1..=3 => k,
            4 => 2,
            _ => 3,
        };
        let rows = k.div_ceil(cols);
        let compact = theme.compact(match rows {
            1 => 1.0,
            2 => 0.9,
            _ => 0.8,
        });
        let cells = grid.split_evenly((rows, cols));
        for (i, (panel, cell)) in self.panels.iter().zip(&cells).enumerate() {
            let target = if panel.target.trim().is_empty() {
                format!("Target {}", i + 1)
            } else {
                panel.target.clone()
            };
            let caption = if same_title || panel.title.trim().is_empty() {
                target
            } else {
                format!("{}: {target}", panel.title)
            };
            let spec = TimePanel {
                caption,
                y_desc: None,
                legend: false,
            };
            draw_time_panel(cell, &compact, panel, &spec)?;
        }
        Ok(())
    }
}

/// Options of one time-series panel.
struct TimePanel {
    caption: String,
    y_desc: Option<String>,
    legend: bool,
}

type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordi32, RangedCoordf64>>;

/// Builds a chart with a point-index x axis labelled from the timestamps.
fn time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &PredictionChart,
    caption: &str,
    y_desc: Option<&str>,
    (y_lo, y_hi): (f64, f64),
) -> Result<TimeChart<'a, DB>, String> {
    let y_area = if y_desc.is_some() { 66.0 } else { 48.0 };
    let mut builder = ChartBuilder::on(area);
    builder
        .margin(theme.px(6.0))
        .x_label_area_size(theme.text_px(40.0))
        .y_label_area_size(theme.text_px(y_area));
    if !caption.trim().is_empty() {
        builder.caption(caption.trim(), theme.font(Theme::CAPTION));
    }
    let mut cc = builder
        .build_cartesian_2d(chart.x_range(), y_lo..y_hi)
        .map_err(de)?;

    let n = chart.actual.len();
    let axis_width = area.dim_in_pixel().0 as f64 / theme.scale - (y_area * theme.text + 12.0);
    let max_chars = chart
        .timestamps
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or_else(|| n.to_string().len());
    let text_size = Theme::TICK * theme.text;
    let x = chart.x_range();
    let n_labels = index_label_request(
        i64::from(x.end - x.start),
        axis_width,
        label_width(max_chars, text_size),
    );
    let span = y_hi - y_lo;
    let y_fmt = move |v: &f64| fmt_tick(*v, span);
    let x_fmt = |i: &i32| chart.label_at(*i);
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.x_desc("Time")
        .x_labels(n_labels)
        .y_labels(if theme.text < 1.0 { 5 } else { 9 })
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    if let Some(desc) = y_desc.filter(|d| !d.trim().is_empty()) {
        mesh.y_desc(desc.trim());
    }
    mesh.draw().map_err(de)?;
    Ok(cc)
}

/// Draws `values` as a line (solid or dashed) with gaps at NaN, optionally
/// with point markers (isolated points always get one).
fn draw_line<DB: DrawingBackend>(
    cc: &mut TimeChart<'_, DB>,
    theme: &Theme,
    values: &[f64],
    style: ShapeStyle,
    dashed: bool,
    markers: bool,
) -> Result<(), String> {
    let points = values.iter().enumerate().map(|(i, v)| (i as i32, *v));
    let pixels = cc.plotting_area().dim_in_pixel().0 as usize;
    for run in finite_runs(points) {
        // Long series: at most four points per pixel column (same picture, spikes kept).
        let thinned = decimate_min_max(&run, pixels);
        let decimated = thinned.len() < run.len();
        let run = thinned;
        if markers || run.len() == 1 {
            let r = theme.upx(2.2);
            let fill = style.color.filled();
            cc.draw_series(run.iter().map(|p| Circle::new(*p, r, fill)))
                .map_err(de)?;
        }
        if dashed {
            cc.draw_series(theme.dashed(run, style)).map_err(de)?;
        } else if decimated {
            draw_segments(cc, &run, style)?;
        } else {
            cc.draw_series(LineSeries::new(run, style)).map_err(de)?;
        }
    }
    Ok(())
}

/// Draws a thinned line as separate two-point segments: one thick path that doubles back inside a
/// pixel column would be stroked with miter spikes and filled with holes.
fn draw_segments<DB: DrawingBackend>(
    cc: &mut TimeChart<'_, DB>,
    run: &[(i32, f64)],
    style: ShapeStyle,
) -> Result<(), String> {
    cc.draw_series(
        run.windows(2)
            .map(|w| PathElement::new(vec![w[0], w[1]], style)),
    )
    .map_err(de)?;
    Ok(())
}

/// Registers a legend entry without drawing anything, so the legend order
/// can differ from the drawing (z) order.
fn legend_entry<DB: DrawingBackend>(
    cc: &mut TimeChart<'_, DB>,
    theme: &Theme,
    label: &str,
    style: ShapeStyle,
    dashed: bool,
) -> Result<(), String> {
    let series = cc
        .draw_series(std::iter::empty::<PathElement<(i32, f64)>>())
        .map_err(de)?;
    series.label(label);
    if dashed {
        series.legend(theme.legend_dashed(style));
    } else {
        series.legend(theme.legend_line(style));
    }
    Ok(())
}

/// The padded y range of a time panel over every drawn value, raised when the panel has a
/// legend to leave room for it above the data.
fn time_panel_y_range<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &PredictionChart,
    spec: &TimePanel,
) -> Result<(f64, f64), String> {
    let baselines = chart.baselines();
    let (band_lo, band_hi) = chart
        .band
        .as_ref()
        .map_or((&[][..], &[][..]), |b| (&b.lower[..], &b.upper[..]));
    let all = chart
        .actual
        .iter()
        .chain(&chart.predicted)
        .chain(baselines.iter().flat_map(|b| b.1))
        .chain(band_lo)
        .chain(band_hi)
        .copied();
    let (lo, hi) = finite_range(all).ok_or("no finite value")?;
    let (y_lo, mut y_hi) = padded(lo, hi, 0.06);
    if spec.legend {
        // Leave room for the legend above the data: its height as a share of the plot.
        let entries = 2.0 + baselines.len() as f64;
        let legend_h = (entries * 1.3 * Theme::LEGEND + 14.0 + 8.0) * theme.text;
        let plot_h = area.dim_in_pixel().1 as f64 / theme.scale - (40.0 + 30.0) * theme.text - 12.0;
        let share = (legend_h / plot_h.max(1.0)).clamp(0.0, 0.4);
        y_hi = (y_hi - share * y_lo) / (1.0 - share);
    }
    Ok((y_lo, y_hi))
}

/// Draws the interval band: one polygon per run of finite bounds, with a legend entry when
/// `legend`.
fn draw_band<DB: DrawingBackend>(
    cc: &mut TimeChart<'_, DB>,
    b: &Band,
    legend: bool,
) -> Result<(), String> {
    let fill = ORANGE.mix(0.18).filled();
    let mut run: Vec<(i32, f64, f64)> = Vec::new();
    let mut flush = |run: &mut Vec<(i32, f64, f64)>| -> Result<(), String> {
        if run.len() >= 2 {
            let poly: Vec<(i32, f64)> = run
                .iter()
                .map(|p| (p.0, p.2))
                .chain(run.iter().rev().map(|p| (p.0, p.1)))
                .collect();
            cc.draw_series(std::iter::once(Polygon::new(poly, fill)))
                .map_err(de)?;
        }
        run.clear();
        Ok(())
    };
    for (i, (lo, hi)) in b.lower.iter().zip(&b.upper).enumerate() {
        if lo.is_finite() && hi.is_finite() {
            run.push((i as i32, *lo, *hi));
        } else {
            flush(&mut run)?;
        }
    }
    flush(&mut run)?;
    if legend {
        cc.draw_series(std::iter::empty::<Circle<(i32, f64), i32>>())
            .map_err(de)?
            .label(b.label.clone())
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 16, y + 5)], ORANGE.mix(0.18).filled())
            });
    }
    Ok(())
}

/// The legend corner that covers the fewest actual, predicted and baseline points on the y axis
/// `y_lo..y_hi`.
fn time_panel_legend_corner(
    chart: &PredictionChart,
    baselines: &[BaselineLine<'_>],
    (y_lo, y_hi): (f64, f64),
) -> SeriesLabelPosition {
    let x = chart.x_range();
    let width = f64::from(x.end - x.start);
    let points = [&chart.actual[..], &chart.predicted[..]]
        .into_iter()
        .chain(baselines.iter().map(|b| b.1))
        .flat_map(|s| s.iter().enumerate())
        .map(|(i, v)| {
            (
                (i as f64 - f64::from(x.start)) / width,
                (v - y_lo) / (y_hi - y_lo),
            )
        });
    legend_corner(points)
}

/// Draws one time panel: the interval band, the baselines, the actual and predicted lines, and
/// (when `spec.legend`) the legend.
fn draw_time_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &PredictionChart,
    spec: &TimePanel,
) -> Result<(), String> {
    let baselines = chart.baselines();
    let (y_lo, y_hi) = time_panel_y_range(area, theme, chart, spec)?;
    let mut cc = time_chart(
        area,
        theme,
        chart,
        &spec.caption,
        spec.y_desc.as_deref(),
        (y_lo, y_hi),
    )?;

    // Point markers only while they stay about 9 px apart.
    let axis_width = area.dim_in_pixel().0 as f64 / theme.scale - 78.0 * theme.text;
    let markers = chart.actual.len() as f64 <= axis_width / 9.0;
    let (actual, predicted) = (theme.line(&BLUE, 2.0), theme.line(&ORANGE, 2.0));
    if spec.legend {
        legend_entry(&mut cc, theme, "Actual", actual, false)?;
        legend_entry(&mut cc, theme, "Predicted", predicted, false)?;
        for &(label, _, color) in &baselines {
            legend_entry(&mut cc, theme, label, theme.line(&color, 1.5), true)?;
        }
    }
    // The interval band goes underneath everything.
    if let Some(b) = &chart.band {
        draw_band(&mut cc, b, spec.legend)?;
    }
    // The baselines go underneath the model's lines.
    for &(_, values, color) in &baselines {
        draw_line(&mut cc, theme, values, theme.line(&color, 1.5), true, false)?;
    }
    draw_line(&mut cc, theme, &chart.actual, actual, false, markers)?;
    draw_line(&mut cc, theme, &chart.predicted, predicted, false, markers)?;

    if spec.legend {
        let corner = time_panel_legend_corner(chart, &baselines, (y_lo, y_hi));
        theme.series_legend(&mut cc, corner)?;
    }
    Ok(())
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &PredictionChart,
) -> Result<(), String> {
    let pairs: Vec<(f64, f64)> = chart
        .actual
        .iter()
        .zip(&chart.predicted)
        .filter(|(a, p)| a.is_finite() && p.is_finite())
        .map(|(a, p)| (*a, *p))
        .collect();
    let (lo, hi) =
        finite_range(pairs.iter().flat_map(|(a, p)| [*a, *p])).ok_or("no finite pair")?;
    let (lo, hi) = padded(lo, hi, 0.05);
    let mut cc = ChartBuilder::on(area)
        .margin(theme.px(6.0))
        .caption("Predicted vs actual", theme.font(Theme::CAPTION))
        .x_label_area_size(theme.text_px(40.0))
        .y_label_area_size(theme.text_px(66.0))
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(de)?;
    let span = hi - lo;
    let fmt = move |v: &f64| fmt_tick(*v, span);
    let target = chart.target.trim();
    let (x_desc, y_desc) = if target.is_empty() {
        ("Actual".to_string(), "Predicted".to_string())
    } else {
        (format!("Actual {target}"), format!("Predicted {target}"))
    };
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&fmt)
        .y_label_formatter(&fmt)
        .draw()
        .map_err(de)?;

    let style = theme.line(&GREY, 1.4);
    cc.draw_series(theme.dashed(vec![(lo, lo), (hi, hi)], style))
        .map_err(de)?
        .label("y = x")
        .legend(theme.legend_dashed(style));

    let r = if pairs.len() <= 500 {
        theme.upx(2.6)
    } else {
        theme.upx(1.6)
    };
    let fill = ORANGE.mix(0.55).filled();
    // Many points: at most four on any one pixel (four translucent dots there are already opaque),
    // so that the picture is the same and the SVG does not hold one circle per point.
    let shown = thin_per_pixel(&pairs, 4, |p| cc.backend_coord(p));
    cc.draw_series(shown.iter().map(|p| Circle::new(*p, r, fill)))
        .map_err(de)?
        .label("Predictions")
        .legend(theme.legend_dot(ORANGE));
    // The y = x line crosses the lower-left and upper-right corners: weigh it
    // like the points so the legend goes to an empty upper-left/lower-right corner.
    let norm = |v: f64| (v - lo) / (hi - lo);
    let weight = (pairs.len() / 20).max(1);
    let diagonal = (0..=20)
        .map(|i| f64::from(i) / 20.0)
        .flat_map(|t| std::iter::repeat_n((t, t), weight));
    let points = pairs
        .iter()
        .map(|(a, p)| (norm(*a), norm(*p)))
        .chain(diagonal);
    theme.series_legend(&mut cc, legend_corner(points))
}

fn draw_residual_series<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    chart: &PredictionChart,
    residuals: &[f64],
) -> Result<(), String> {
    let (lo, hi) = finite_range(residuals.iter().copied().chain([0.0])).ok_or("no residual")?;
    let (y_lo, y_hi) = padded(lo, hi, 0.08);
    let target = chart.target.trim();
    let y_desc = if target.is_empty() {
        "Residual".to_string()
    } else {
        format!("Residual ({target})")
    };
    let caption = "Residuals over time (actual - predicted)";
    let mut cc = time_chart(area, theme, chart, caption, Some(&y_desc), (y_lo, y_hi))?;

    let x = chart.x_range();
    cc.draw_series(theme.dashed(vec![(x.start, 0.0), (x.end, 0.0)], theme.line(&AXIS, 1.3)))
        .map_err(de)?;

    let n = residuals.len();
    let markers = n <= 400;
    let line = if markers {
        theme.line(&RED.mix(0.45), 1.0)
    } else {
        theme.line(&RED, 1.2)
    };
    let points = residuals.iter().enumerate().map(|(i, v)| (i as i32, *v));
    let pixels = cc.plotting_area().dim_in_pixel().0 as usize;
    for run in finite_runs(points) {
        let thinned = decimate_min_max(&run, pixels);
        if thinned.len() < run.len() {
            draw_segments(&mut cc, &thinned, line)?;
        } else {
            cc.draw_series(LineSeries::new(run.clone(), line))
                .map_err(de)?;
        }
        let run = thinned;
        if markers || run.len() == 1 {
            let r = theme.upx(2.2);
            cc.draw_series(run.iter().map(|p| Circle::new(*p, r, RED.filled())))
                .map_err(de)?;
        }
    }
    Ok(())
}

fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    residuals: &[f64],
) -> Result<(), String> {
    let bins = histogram(residuals);
    let (first, last) = match (bins.first(), bins.last()) {
        (Some(f), Some(l)) => (f.lo, l.hi),
        _ => return Err("no finite residual".into()),
    };
    let (x_lo, x_hi) = padded(first, last, 0.04);
    let max_count = bins.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let y_hi = ((max_count as f64) * 1.12).ceil() as i32;
    let caption = match mean_sd(residuals) {
        Some((m, s)) => format!("Distribution (mean {}, sd {})", fmt_stat(m), fmt_stat(s)),
        None => "Distribution".into(),
    };
    let mut cc = ChartBuilder::on(area)
        .margin(theme.px(6.0))
        .caption(caption, theme.font(Theme::CAPTION))
        .x_label_area_size(theme.text_px(40.0))
        .y_label_area_size(theme.text_px(56.0))
        .build_cartesian_2d(x_lo..x_hi, 0..y_hi.max(1))
        .map_err(de)?;
    let span = x_hi - x_lo;
    let x_fmt = move |v: &f64| fmt_tick(*v, span);
    let y_fmt = |v: &i32| v.to_string();
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.x_desc("Residual")
        .y_desc("Count")
        .x_labels(5)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(de)?;

    let fill = PURPLE.mix(0.55).filled();
    let border = theme.line(&PURPLE, 1.0);
    let bars = bins.iter().filter(|b| b.count > 0);
    cc.draw_series(
        bars.clone()
            .map(|b| Rectangle::new([(b.lo, 0), (b.hi, b.count as i32)], fill)),
    )
    .map_err(de)?;
    cc.draw_series(bars.map(|b| Rectangle::new([(b.lo, 0), (b.hi, b.count as i32)], border)))
        .map_err(de)?;
    if x_lo <= 0.0 && 0.0 <= x_hi {
        cc.draw_series(theme.dashed(vec![(0.0, 0), (0.0, y_hi.max(1))], theme.line(&AXIS, 1.3)))
            .map_err(de)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> PredictionChart {
        PredictionChart {
            title: "t".into(),
            target: "y".into(),
            timestamps: vec!["a".into(), "b".into()],
            actual: vec![1.0, 2.0],
            predicted: vec![1.5, 2.5],
            naive: Some(vec![1.0, 1.0]),
            seasonal_naive: Some(vec![0.5, 1.5]),
            drift: Some(vec![1.1, 1.2]),
            band: None,
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(chart().validate("c").is_ok());
        assert!(
            PredictionChart {
                timestamps: vec![],
                ..chart()
            }
            .validate("c")
            .is_ok()
        );
        let bad = |c: PredictionChart, needle: &str| match c.validate("c") {
            Err(VizError::InvalidInput(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        bad(
            PredictionChart {
                actual: vec![],
                ..chart()
            },
            "actual is empty",
        );
        bad(
            PredictionChart {
                predicted: vec![1.0],
                ..chart()
            },
            "predicted has 1 values",
        );
        bad(
            PredictionChart {
                timestamps: vec!["a".into()],
                ..chart()
            },
            "timestamps has 1 labels",
        );
        bad(
            PredictionChart {
                naive: Some(vec![]),
                ..chart()
            },
            "naive has 0 values",
        );
        bad(
            PredictionChart {
                seasonal_naive: Some(vec![1.0]),
                ..chart()
            },
            "seasonal_naive has 1 values",
        );
        bad(
            PredictionChart {
                drift: Some(vec![1.0; 3]),
                ..chart()
            },
            "drift has 3 values",
        );
        let labels: Vec<&str> = chart().baselines().iter().map(|b| b.0).collect();
        assert_eq!(labels, BASELINES.map(|b| b.0));
        let only_drift = PredictionChart {
            naive: None,
            seasonal_naive: None,
            ..chart()
        };
        assert_eq!(only_drift.baselines().len(), 1);
        assert_eq!(only_drift.baselines()[0].1, &[1.1, 1.2]);
        bad(
            PredictionChart {
                actual: vec![f64::NAN, 1.0],
                predicted: vec![1.0, f64::NAN],
                ..chart()
            },
            "no point has both",
        );
    }

    #[test]
    fn labels_come_from_timestamps_or_indices() {
        let c = chart();
        assert_eq!(c.label_at(1), "b");
        assert_eq!(c.label_at(2), "");
        assert_eq!(c.label_at(-1), "");
        let c = PredictionChart {
            timestamps: vec![],
            ..chart()
        };
        assert_eq!(c.label_at(1), "1");
        assert_eq!(c.residuals(), vec![-0.5, -0.5]);
    }
}
