//! Explanation charts: importance heat maps (time step × feature, or method × method), line charts
//! of importance per time step, horizontal feature-importance bars, and the attention analysis.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

use crate::data::{finite_range, fmt_tick, legend_corner, padded};
use crate::error::VizError;
use crate::output::{Figure, Written, de, render};
use crate::theme::{BLUE, GREEN, GREY, ORANGE, PURPLE, RED, TEXT, Theme};

/// A matrix drawn as coloured cells with a colour bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeatmapChart {
    /// Figure title.
    pub title: String,
    /// Description of the x axis (columns), e.g. `"Feature"`.
    pub x_desc: String,
    /// Description of the y axis (rows), e.g. `"Time step"`.
    pub y_desc: String,
    /// One label per column (keep them short: they are written horizontally under each column).
    pub columns: Vec<String>,
    /// One label per row (the first row is drawn at the top).
    pub rows: Vec<String>,
    /// Values `[rows][columns]`; NaN cells are drawn grey.
    pub values: Vec<Vec<f64>>,
    /// Label of the colour bar, e.g. `"mean |attribution|"`.
    pub value_label: String,
    /// Blue–white–red scale symmetric around 0 (for correlations); otherwise a sequential scale
    /// from the smallest to the largest value.
    pub diverging: bool,
    /// Write each cell's value in the cell (only used when there are at most 200 cells).
    pub annotate: bool,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamedLine {
    /// Legend label.
    pub label: String,
    /// One value per x position; NaN leaves a gap.
    pub values: Vec<f64>,
}

/// Lines over categorical x positions (time steps).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineChart {
    /// Figure title.
    pub title: String,
    /// Description of the x axis.
    pub x_desc: String,
    /// Description of the y axis.
    pub y_desc: String,
    /// Label of each x position.
    pub x_labels: Vec<String>,
    /// The lines (at most 8), each as long as `x_labels`.
    pub series: Vec<NamedLine>,
}

/// Horizontal bars, largest at the top.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BarsChart {
    /// Figure title.
    pub title: String,
    /// Description of the value axis.
    pub value_desc: String,
    /// Bar labels.
    pub labels: Vec<String>,
    /// Bar values (finite, at least 0).
    pub values: Vec<f64>,
}

/// Attention weights of many windows and their mean.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttentionChart {
    /// Figure title.
    pub title: String,
    /// Label of each time step.
    pub step_labels: Vec<String>,
    /// Weights `[windows][steps]`.
    pub weights: Vec<Vec<f64>>,
    /// Label of each window (its time stamp); may be empty.
    pub window_labels: Vec<String>,
}

const PALETTE: [RGBColor; 8] = [
    BLUE,
    ORANGE,
    GREEN,
    RED,
    PURPLE,
    GREY,
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];

/// Sequential colour (viridis-like) for `t` in [0, 1].
fn sequential(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    interpolate(&STOPS, t)
}

/// Diverging blue–white–red colour for `t` in [0, 1] (0.5 is white).
fn diverging(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 3] = [
        (0.0, (33.0, 102.0, 172.0)),
        (0.5, (247.0, 247.0, 247.0)),
        (1.0, (178.0, 24.0, 43.0)),
    ];
    interpolate(&STOPS, t)
}

fn interpolate(stops: &[(f64, (f64, f64, f64))], t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    for w in stops.windows(2) {
        let (a, ca) = w[0];
        let (b, cb) = w[1];
        if t <= b {
            let u = if b > a { (t - a) / (b - a) } else { 0.0 };
            let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
            return RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2));
        }
    }
    let (_, c) = stops[stops.len() - 1];
    RGBColor(c.0 as u8, c.1 as u8, c.2 as u8)
}

fn bad(what: &str, msg: String) -> VizError {
    VizError::InvalidInput(format!("{what}: {msg}"))
}

fn validate_heatmap(c: &HeatmapChart) -> Result<(), VizError> {
    let what = format!("heat map {:?}", c.title);
    if c.rows.is_empty() || c.columns.is_empty() {
        return Err(bad(&what, "needs at least one row and one column".into()));
    }
    if c.values.len() != c.rows.len() {
        return Err(bad(
            &what,
            format!(
                "{} value rows for {} row labels",
                c.values.len(),
                c.rows.len()
            ),
        ));
    }
    if let Some((i, r)) = c
        .values
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != c.columns.len())
    {
        return Err(bad(
            &what,
            format!(
                "row {i} has {} values for {} columns",
                r.len(),
                c.columns.len()
            ),
        ));
    }
    if c.rows.len() > 2000 || c.columns.len() > 2000 {
        return Err(bad(&what, "at most 2000 rows and columns".into()));
    }
    if finite_range(c.values.iter().flatten().copied()).is_none() {
        return Err(bad(&what, "no finite value".into()));
    }
    Ok(())
}

/// Draws a heat map with a colour bar.
///
/// # Errors
/// [`VizError::InvalidInput`] for empty or ragged matrices, label counts that do not match, or no
/// finite value; I/O and drawing errors as for every chart.
pub fn heatmap(chart: &HeatmapChart, out_dir: &Path, stem: &str) -> Result<Written, VizError> {
    validate_heatmap(chart)?;
    render(&HeatmapFigure { chart }, out_dir, stem)
}

struct HeatmapFigure<'c> {
    chart: &'c HeatmapChart,
}

/// The colour scale of a heat map: `(lo, hi, colour of a value)`.
fn scale_of(c: &HeatmapChart) -> (f64, f64) {
    let (lo, hi) = finite_range(c.values.iter().flatten().copied()).unwrap_or((0.0, 1.0));
    if c.diverging {
        let m = lo.abs().max(hi.abs()).max(f64::MIN_POSITIVE);
        (-m, m)
    } else if hi > lo {
        (lo, hi)
    } else {
        (
            lo - 0.5 * lo.abs().max(1e-12),
            hi + 0.5 * hi.abs().max(1e-12),
        )
    }
}

fn colour(diverging_scale: bool, lo: f64, hi: f64, v: f64) -> RGBColor {
    if !v.is_finite() {
        return RGBColor(200, 200, 200);
    }
    let t = (v - lo) / (hi - lo);
    if diverging_scale {
        diverging(t)
    } else {
        sequential(t)
    }
}

/// Labels the centre of every `every`-th segment with its label and leaves the others blank.
fn segment_labels(labels: Vec<String>, every: usize) -> impl Fn(&SegmentValue<i32>) -> String {
    move |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i)
            if (*i as usize) < labels.len() && (*i as usize).is_multiple_of(every) =>
        {
            labels[*i as usize].clone()
        }
        _ => String::new(),
    }
}

/// Labels every `every`-th of the `nr` rows, row 0 at the top: plotters' y grows upwards, so
/// row r sits at y = nr - 1 - r.
fn row_labels(rows: Vec<String>, nr: i32, every: usize) -> impl Fn(&SegmentValue<i32>) -> String {
    move |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) if *i >= 0 && *i < nr => {
            let r = (nr - 1 - *i) as usize;
            if r.is_multiple_of(every) {
                rows[r].clone()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    }
}

/// A heat map cell's position: `(column, row)` segment centres, row 0 at the top.
type Cell = (SegmentValue<i32>, SegmentValue<i32>);

/// The value written in each cell of `c` on the colour scale `lo..hi`, dark or white to stay
/// readable on the cell's colour.
fn cell_annotations<'a>(
    c: &HeatmapChart,
    font: &TextStyle<'a>,
    lo: f64,
    hi: f64,
) -> Vec<Text<'a, Cell, String>> {
    let nr = c.rows.len() as i32;
    let span = hi - lo;
    let mut texts = Vec::new();
    for (r, row) in c.values.iter().enumerate() {
        for (k, v) in row.iter().enumerate() {
            let y = nr - 1 - r as i32;
            let t = (v - lo) / (hi - lo);
            let dark = if c.diverging {
                (0.25..=0.75).contains(&t)
            } else {
                t > 0.6
            };
            let text = if v.is_finite() {
                fmt_tick(*v, span)
            } else {
                "n/a".into()
            };
            let f = font.clone().color(if dark { &TEXT } else { &WHITE });
            texts.push(Text::new(
                text,
                (SegmentValue::CenterOf(k as i32), SegmentValue::CenterOf(y)),
                f,
            ));
        }
    }
    texts
}

/// Draws the colour bar of the scale `lo..hi` in `bar`.
fn draw_colour_bar<DB: DrawingBackend>(
    bar: &DrawingArea<DB, Shift>,
    theme: &Theme,
    c: &HeatmapChart,
    lo: f64,
    hi: f64,
) -> Result<(), String> {
    let mut cb = ChartBuilder::on(bar)
        .margin_top(theme.px(6.0))
        .margin_bottom(theme.text_px(46.0))
        .margin_left(theme.px(10.0))
        .margin_right(theme.px(12.0))
        .y_label_area_size(0)
        .right_y_label_area_size(theme.text_px(62.0))
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(de)?;
    let span = hi - lo;
    let fmt = move |v: &f64| fmt_tick(*v, span);
    let mut m = cb.configure_mesh();
    theme.style_mesh(&mut m);
    m.disable_mesh()
        .disable_x_axis()
        .y_labels(6)
        .y_label_formatter(&fmt)
        .y_desc(c.value_label.clone())
        .draw()
        .map_err(de)?;
    let steps = 100;
    cb.draw_series((0..steps).map(|i| {
        let a = lo + span * i as f64 / steps as f64;
        let b = lo + span * (i + 1) as f64 / steps as f64;
        Rectangle::new(
            [(0.0, a), (1.0, b)],
            colour(c.diverging, lo, hi, (a + b) / 2.0).filled(),
        )
    }))
    .map_err(de)?;
    Ok(())
}

/// Draws the heat map `c` in `area`: the coloured cells (annotated when small) and a colour bar.
fn draw_matrix<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    c: &HeatmapChart,
) -> Result<(), String> {
    let (nr, nc) = (c.rows.len() as i32, c.columns.len() as i32);
    let (lo, hi) = scale_of(c);
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0 as i32 - theme.px(110.0));
    let longest_row = c.rows.iter().map(|s| s.chars().count()).max().unwrap_or(1) as f64;
    let x_every = (c.columns.len() / 24).max(1);
    let y_every = (c.rows.len() / 30).max(1);
    let mut cc = ChartBuilder::on(&main)
        .margin(theme.px(6.0))
        .x_label_area_size(theme.text_px(40.0))
        .y_label_area_size(theme.text_px(30.0 + 6.5 * longest_row.min(24.0)))
        .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
        .map_err(de)?;
    let x_fmt = segment_labels(c.columns.clone(), x_every);
    let y_fmt = row_labels(c.rows.clone(), nr, y_every);
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.disable_mesh()
        .x_desc(c.x_desc.clone())
        .y_desc(c.y_desc.clone())
        .x_labels(c.columns.len() + 1)
        .y_labels(c.rows.len() + 1)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(de)?;
    let cells = c.values.iter().enumerate().flat_map(|(r, row)| {
        row.iter().enumerate().map(move |(k, v)| {
            let y = nr - 1 - r as i32;
            Rectangle::new(
                [
                    (SegmentValue::Exact(k as i32), SegmentValue::Exact(y)),
                    (
                        SegmentValue::Exact(k as i32 + 1),
                        SegmentValue::Exact(y + 1),
                    ),
                ],
                colour(c.diverging, lo, hi, *v).filled(),
            )
        })
    });
    cc.draw_series(cells).map_err(de)?;
    if c.annotate && c.rows.len() * c.columns.len() <= 200 {
        let font = theme
            .font(Theme::TICK)
            .pos(Pos::new(HPos::Center, VPos::Center));
        for text in cell_annotations(c, &font, lo, hi) {
            cc.draw_series(std::iter::once(text)).map_err(de)?;
        }
    }
    draw_colour_bar(&bar, theme, c, lo, hi)
}

impl Figure for HeatmapFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let area = theme.titled(root, &self.chart.title)?;
        draw_matrix(&area, theme, self.chart)
    }
}

fn validate_lines(c: &LineChart) -> Result<(), VizError> {
    let what = format!("line chart {:?}", c.title);
    if c.x_labels.is_empty() {
        return Err(bad(&what, "no x positions".into()));
    }
    if c.series.is_empty() || c.series.len() > PALETTE.len() {
        return Err(bad(
            &what,
            format!("needs 1 to {} lines, got {}", PALETTE.len(), c.series.len()),
        ));
    }
    for s in &c.series {
        if s.values.len() != c.x_labels.len() {
            return Err(bad(
                &what,
                format!(
                    "line {:?} has {} values for {} x positions",
                    s.label,
                    s.values.len(),
                    c.x_labels.len()
                ),
            ));
        }
    }
    if finite_range(c.series.iter().flat_map(|s| s.values.iter().copied())).is_none() {
        return Err(bad(&what, "no finite value".into()));
    }
    Ok(())
}

/// Draws lines over categorical x positions (e.g. importance per time step, one line per method
/// or feature), with markers and a legend.
///
/// # Errors
/// [`VizError::InvalidInput`] for no x positions, no lines or more than 8, lines of the wrong
/// length, or no finite value.
pub fn line_chart(chart: &LineChart, out_dir: &Path, stem: &str) -> Result<Written, VizError> {
    validate_lines(chart)?;
    render(&LinesFigure { chart }, out_dir, stem)
}

struct LinesFigure<'c> {
    chart: &'c LineChart,
}

impl Figure for LinesFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let c = self.chart;
        let area = theme.titled(root, &c.title)?;
        let n = c.x_labels.len();
        let (lo, hi) = finite_range(c.series.iter().flat_map(|s| s.values.iter().copied()))
            .ok_or("no finite value")?;
        let (a, b) = padded(lo.min(0.0), hi, 0.05);
        let mut cc = ChartBuilder::on(&area)
            .margin(theme.px(6.0))
            .x_label_area_size(theme.text_px(40.0))
            .y_label_area_size(theme.text_px(70.0))
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), a..b)
            .map_err(de)?;
        let labels = c.x_labels.clone();
        let every = (n / 12).max(1);
        let x_fmt = move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6
                && k >= 0.0
                && (k as usize) < labels.len()
                && (k as usize).is_multiple_of(every)
            {
                labels[k as usize].clone()
            } else {
                String::new()
            }
        };
        let span = b - a;
        let y_fmt = move |v: &f64| fmt_tick(*v, span);
        let mut mesh = cc.configure_mesh();
        theme.style_mesh(&mut mesh);
        mesh.x_desc(c.x_desc.clone())
            .y_desc(c.y_desc.clone())
            .x_labels(n.min(25) * 2 + 1)
            .y_labels(7)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(de)?;
        for (s, color) in c.series.iter().zip(PALETTE) {
            let pts: Vec<(f64, f64)> = s
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| (i as f64, *v))
                .collect();
            let style = theme.line(&color, 2.0);
            cc.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(de)?
                .label(s.label.clone())
                .legend(theme.legend_line(style));
            let r = theme.upx(3.0);
            cc.draw_series(pts.iter().map(|p| Circle::new(*p, r, color.filled())))
                .map_err(de)?;
        }
        let points = c.series.iter().flat_map(|s| {
            s.values
                .iter()
                .enumerate()
                .map(move |(i, v)| ((i as f64 + 0.5) / n as f64, (v - a) / (b - a)))
        });
        theme.series_legend(&mut cc, legend_corner(points))
    }
}

fn validate_bars(c: &BarsChart) -> Result<(), VizError> {
    let what = format!("bar chart {:?}", c.title);
    if c.labels.is_empty() || c.labels.len() != c.values.len() {
        return Err(bad(
            &what,
            format!(
                "{} labels for {} values (need at least one)",
                c.labels.len(),
                c.values.len()
            ),
        ));
    }
    if let Some((i, v)) = c
        .values
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(bad(
            &what,
            format!("value {v} of {:?} is not a finite value >= 0", c.labels[i]),
        ));
    }
    if c.labels.len() > 200 {
        return Err(bad(&what, "at most 200 bars".into()));
    }
    Ok(())
}

/// Draws horizontal bars sorted by value, largest at the top, each labelled with its value.
///
/// # Errors
/// [`VizError::InvalidInput`] for no bars, mismatched labels and values, or a negative or
/// non-finite value.
pub fn feature_bars(chart: &BarsChart, out_dir: &Path, stem: &str) -> Result<Written, VizError> {
    validate_bars(chart)?;
    render(&BarsFigure { chart }, out_dir, stem)
}

struct BarsFigure<'c> {
    chart: &'c BarsChart,
}

impl Figure for BarsFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let c = self.chart;
        let area = theme.titled(root, &c.title)?;
        let mut order: Vec<usize> = (0..c.values.len()).collect();
        order.sort_by(|&a, &b| c.values[a].total_cmp(&c.values[b]));
        let n = order.len() as i32;
        let hi = c.values.iter().copied().fold(0.0f64, f64::max);
        let hi = if hi > 0.0 { hi * 1.15 } else { 1.0 };
        let longest = c
            .labels
            .iter()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(1) as f64;
        let mut cc = ChartBuilder::on(&area)
            .margin(theme.px(6.0))
            .x_label_area_size(theme.text_px(40.0))
            .y_label_area_size(theme.text_px(24.0 + 6.5 * longest.min(30.0)))
            .build_cartesian_2d(0.0..hi, (0..n - 1).into_segmented())
            .map_err(de)?;
        let labels: Vec<String> = order.iter().map(|&i| c.labels[i].clone()).collect();
        let y_fmt = move |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) if *i >= 0 && (*i as usize) < labels.len() => {
                labels[*i as usize].clone()
            }
            _ => String::new(),
        };
        let x_fmt = move |v: &f64| fmt_tick(*v, hi);
        let mut mesh = cc.configure_mesh();
        theme.style_mesh(&mut mesh);
        mesh.x_desc(c.value_desc.clone())
            .y_labels(order.len() + 1)
            .x_labels(6)
            .y_label_formatter(&y_fmt)
            .x_label_formatter(&x_fmt)
            .draw()
            .map_err(de)?;
        let total: f64 = c.values.iter().sum();
        let font = theme
            .font(Theme::TICK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (pos, &i) in order.iter().enumerate() {
            let v = c.values[i];
            let y = pos as i32;
            cc.draw_series(std::iter::once(Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(y)),
                    (v, SegmentValue::Exact(y + 1)),
                ],
                BLUE.mix(0.85).filled(),
            )))
            .map_err(de)?;
            let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
            cc.draw_series(std::iter::once(Text::new(
                format!(" {} ({share:.1} %)", fmt_tick(v, hi)),
                (v, SegmentValue::CenterOf(y)),
                font.clone(),
            )))
            .map_err(de)?;
        }
        Ok(())
    }
}

fn validate_attention(c: &AttentionChart) -> Result<(), VizError> {
    let what = format!("attention chart {:?}", c.title);
    if c.weights.is_empty() || c.step_labels.is_empty() {
        return Err(bad(&what, "needs at least one window and one step".into()));
    }
    if let Some((i, r)) = c
        .weights
        .iter()
        .enumerate()
        .find(|(_, r)| r.len() != c.step_labels.len())
    {
        return Err(bad(
            &what,
            format!(
                "window {i} has {} weights for {} steps",
                r.len(),
                c.step_labels.len()
            ),
        ));
    }
    if !c.window_labels.is_empty() && c.window_labels.len() != c.weights.len() {
        return Err(bad(
            &what,
            format!(
                "{} window labels for {} windows",
                c.window_labels.len(),
                c.weights.len()
            ),
        ));
    }
    if finite_range(c.weights.iter().flatten().copied()).is_none() {
        return Err(bad(&what, "no finite weight".into()));
    }
    Ok(())
}

/// Draws the attention analysis: the weights of every window as a heat map (window × time step)
/// beside the mean weight per time step.
///
/// # Errors
/// [`VizError::InvalidInput`] for no windows, ragged weights or mismatched labels.
pub fn attention_analysis(
    chart: &AttentionChart,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    validate_attention(chart)?;
    render(&AttentionFigure { chart }, out_dir, stem)
}

struct AttentionFigure<'c> {
    chart: &'c AttentionChart,
}

/// The heat map (window × time step) of the attention weights of `c`.
fn attention_heatmap(c: &AttentionChart) -> HeatmapChart {
    let rows = if c.window_labels.is_empty() {
        (1..=c.weights.len()).map(|i| i.to_string()).collect()
    } else {
        c.window_labels.clone()
    };
    HeatmapChart {
        title: String::new(),
        x_desc: "Time step".into(),
        y_desc: "Window".into(),
        columns: c.step_labels.clone(),
        rows,
        values: c.weights.clone(),
        value_label: "attention weight".into(),
        diverging: false,
        annotate: false,
    }
}

/// Draws the mean attention weight per time step as bars, with the uniform weight dashed.
fn draw_mean_weights<DB: DrawingBackend>(
    right: &DrawingArea<DB, Shift>,
    small: &Theme,
    c: &AttentionChart,
) -> Result<(), String> {
    let n = c.step_labels.len();
    let mean: Vec<f64> = (0..n)
        .map(|t| c.weights.iter().map(|w| w[t]).sum::<f64>() / c.weights.len() as f64)
        .collect();
    let hi = mean.iter().copied().fold(0.0f64, f64::max).max(1e-12) * 1.15;
    let mut cc = ChartBuilder::on(right)
        .margin(small.px(6.0))
        .x_label_area_size(small.text_px(40.0))
        .y_label_area_size(small.text_px(60.0))
        .build_cartesian_2d((0..n as i32 - 1).into_segmented(), 0.0..hi)
        .map_err(de)?;
    let x_fmt = segment_labels(c.step_labels.clone(), (n / 8).max(1));
    let y_fmt = move |v: &f64| fmt_tick(*v, hi);
    let mut mesh = cc.configure_mesh();
    small.style_mesh(&mut mesh);
    mesh.x_desc("Time step")
        .y_desc("Mean attention weight")
        .x_labels(n + 1)
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(de)?;
    cc.draw_series(mean.iter().enumerate().map(|(t, v)| {
        Rectangle::new(
            [
                (SegmentValue::Exact(t as i32), 0.0),
                (SegmentValue::Exact(t as i32 + 1), *v),
            ],
            ORANGE.mix(0.85).filled(),
        )
    }))
    .map_err(de)?;
    if n > 0 {
        let uniform = 1.0 / n as f64;
        let style = small.line(&GREY, 1.4);
        cc.draw_series(small.dashed(
            vec![
                (SegmentValue::Exact(0), uniform),
                (SegmentValue::Exact(n as i32), uniform),
            ],
            style,
        ))
        .map_err(de)?
        .label("uniform 1/steps")
        .legend(small.legend_dashed(style));
        small.series_legend(&mut cc, SeriesLabelPosition::UpperLeft)?;
    }
    Ok(())
}

impl Figure for AttentionFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let c = self.chart;
        let area = theme.titled(root, &c.title)?;
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 as i32 * 58 / 100);
        let small = theme.compact(0.85);
        let heat = attention_heatmap(c);
        let left = left
            .titled("Per window", small.font(Theme::CAPTION))
            .map_err(de)?;
        draw_matrix(&left, &small, &heat)?;
        let right = right
            .titled("Mean over windows", small.font(Theme::CAPTION))
            .map_err(de)?;
        draw_mean_weights(&right, &small, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_scales_hit_their_ends() {
        assert_eq!(sequential(0.0), RGBColor(68, 1, 84));
        assert_eq!(sequential(1.0), RGBColor(253, 231, 37));
        assert_eq!(diverging(0.5), RGBColor(247, 247, 247));
        assert_eq!(sequential(f64::NAN), RGBColor(68, 1, 84));
    }

    #[test]
    fn validation_names_the_problem() {
        let h = HeatmapChart {
            title: "h".into(),
            columns: vec!["a".into(), "b".into()],
            rows: vec!["t-1".into()],
            values: vec![vec![1.0]],
            ..HeatmapChart::default()
        };
        let e = validate_heatmap(&h).unwrap_err().to_string();
        assert!(e.contains("row 0 has 1 values for 2 columns"), "{e}");
        let b = BarsChart {
            title: "b".into(),
            labels: vec!["x".into()],
            values: vec![-1.0],
            ..BarsChart::default()
        };
        assert!(validate_bars(&b).unwrap_err().to_string().contains("\"x\""));
        let l = LineChart {
            title: "l".into(),
            x_labels: vec!["1".into(), "2".into()],
            series: vec![NamedLine {
                label: "s".into(),
                values: vec![1.0],
            }],
            ..LineChart::default()
        };
        assert!(
            validate_lines(&l)
                .unwrap_err()
                .to_string()
                .contains("1 values for 2")
        );
        let a = AttentionChart {
            title: "a".into(),
            step_labels: vec!["t".into()],
            weights: vec![],
            window_labels: vec![],
        };
        assert!(validate_attention(&a).is_err());
    }
}
