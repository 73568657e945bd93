//! Grouped bar charts for fairness audits: per-group metrics (R², RMSE, selection rate, TPR,
//! FPR) and before/after-mitigation comparisons, one or more panels side by side.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{fmt_tick, padded};
use crate::error::VizError;
use crate::output::{Figure, Written, de, render};
use crate::theme::{BLUE, GREEN, GREY, ORANGE, PURPLE, RED, Theme};

/// Most panels in one bar chart.
pub const MAX_BAR_PANELS: usize = 4;

/// One panel: bars of one or more series for each category (group).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BarPanel {
    /// Panel title, e.g. `"RMSE by group"`.
    pub title: String,
    /// Y-axis label.
    pub y_label: String,
    /// Category names along the x axis (for example the group labels).
    pub categories: Vec<String>,
    /// `(series name, one value per category)`; NaN leaves a gap.
    pub series: Vec<(String, Vec<f64>)>,
    /// An optional dashed horizontal reference line with its legend label (for example the overall
    /// value, or 0.8 for the four-fifths rule).
    pub reference: Option<(f64, String)>,
}

/// A figure of up to [`MAX_BAR_PANELS`] bar panels side by side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BarChart {
    /// Figure title.
    pub title: String,
    /// The panels.
    pub panels: Vec<BarPanel>,
}

const COLORS: [RGBColor; 6] = [BLUE, ORANGE, GREEN, PURPLE, RED, GREY];

/// Draws grouped bars: per panel, one cluster per category with one bar per series, a legend
/// when there is more than one series, and an optional dashed reference line.
///
/// # Errors
/// [`VizError::InvalidInput`] if there are no panels or more than [`MAX_BAR_PANELS`], a panel has
/// no categories or no series, a series' length differs from the categories', or a panel has no
/// finite value; file errors as for every chart.
pub fn bar_chart(chart: &BarChart, out_dir: &Path, stem: &str) -> Result<Written, VizError> {
    validate(chart)?;
    render(&BarFigure { chart }, out_dir, stem)
}

fn validate(chart: &BarChart) -> Result<(), VizError> {
    let name = format!("bar chart {:?}", chart.title);
    let bad = |m: String| Err(VizError::InvalidInput(format!("{name}: {m}")));
    if chart.panels.is_empty() || chart.panels.len() > MAX_BAR_PANELS {
        return bad(format!(
            "{} panels (1 to {MAX_BAR_PANELS} allowed)",
            chart.panels.len()
        ));
    }
    for p in &chart.panels {
        if p.categories.is_empty() {
            return bad(format!("panel {:?} has no categories", p.title));
        }
        if p.series.is_empty() {
            return bad(format!("panel {:?} has no series", p.title));
        }
        for (s, v) in &p.series {
            if v.len() != p.categories.len() {
                return bad(format!(
                    "panel {:?}, series {s:?} has {} values for {} categories",
                    p.title,
                    v.len(),
                    p.categories.len()
                ));
            }
        }
        if !p.series.iter().flat_map(|(_, v)| v).any(|x| x.is_finite()) {
            return bad(format!("panel {:?} has no finite value", p.title));
        }
    }
    Ok(())
}

struct BarFigure<'c> {
    chart: &'c BarChart,
}

impl Figure for BarFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let area = theme.titled(root, &self.chart.title)?;
        let n = self.chart.panels.len();
        let theme = if n > 2 { theme.compact(0.8) } else { *theme };
        let areas = area.split_evenly((1, n));
        for (p, a) in self.chart.panels.iter().zip(areas.iter()) {
            draw_panel(a, &theme, p)?;
        }
        Ok(())
    }
}

/// A bar panel's chart: category positions × values.
type PanelChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The y range of a bar panel: its finite values, zero and the reference line, padded, with
/// zero kept as an edge when every value lies on one side of it.
fn bar_y_range(p: &BarPanel) -> (f64, f64) {
    let mut values: Vec<f64> = p
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| v.is_finite())
        .collect();
    values.push(0.0);
    if let Some((r, _)) = &p.reference
        && r.is_finite()
    {
        values.push(*r);
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (y0, y1) = padded(lo, hi, 0.08);
    let (y0, y1) = (
        if lo >= 0.0 { 0.0 } else { y0 },
        if hi <= 0.0 { 0.0 } else { y1 },
    );
    if y1 > y0 {
        (y0, y1)
    } else {
        (y0 - 1.0, y1 + 1.0)
    }
}

/// Labels whole category positions with their category and leaves other ticks blank.
fn category_labels(cats: Vec<String>) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        let r = v.round();
        if (v - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < cats.len() {
            cats[r as usize].clone()
        } else {
            String::new()
        }
    }
}

/// Draws the grouped bars of every series, with a legend entry each when there are several.
fn draw_bar_series<DB: DrawingBackend>(
    cc: &mut PanelChart<'_, DB>,
    theme: &Theme,
    p: &BarPanel,
) -> Result<(), String> {
    let m = p.series.len() as f64;
    let width = 0.8 / m;
    for (si, (name, v)) in p.series.iter().enumerate() {
        let color = COLORS[si % COLORS.len()];
        let bars = v
            .iter()
            .enumerate()
            .filter(|(_, y)| y.is_finite())
            .map(|(c, y)| {
                let left = c as f64 - 0.4 + si as f64 * width;
                let (a, b) = if *y >= 0.0 { (0.0, *y) } else { (*y, 0.0) };
                Rectangle::new([(left, a), (left + width * 0.92, b)], color.filled())
            });
        let s = cc.draw_series(bars).map_err(de)?;
        if p.series.len() > 1 {
            let r = theme.px(5.0);
            s.label(name.clone()).legend(move |(x, y)| {
                Rectangle::new([(x, y - r), (x + 2 * r, y + r)], color.filled())
            });
        }
    }
    Ok(())
}

/// Draws one bar panel: grouped bars per category, the zero line when values go negative,
/// the dashed reference line and the legend.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    p: &BarPanel,
) -> Result<(), String> {
    let k = p.categories.len();
    let (y0, y1) = bar_y_range(p);
    let mut cc = ChartBuilder::on(area)
        .margin(theme.px(6.0))
        .caption(&p.title, theme.font(13.0))
        .x_label_area_size(theme.text_px(34.0))
        .y_label_area_size(theme.text_px(58.0))
        .build_cartesian_2d(-0.5f64..k as f64 - 0.5, y0..y1)
        .map_err(de)?;
    let x_fmt = category_labels(p.categories.clone());
    let span = y1 - y0;
    let y_fmt = move |v: &f64| fmt_tick(*v, span);
    let mut mesh = cc.configure_mesh();
    theme.style_mesh(&mut mesh);
    mesh.disable_x_mesh()
        .x_labels(k.max(2))
        .y_labels(6)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_desc(p.y_label.clone())
        .draw()
        .map_err(de)?;
    draw_bar_series(&mut cc, theme, p)?;
    if y0 < 0.0 {
        cc.draw_series(LineSeries::new(
            vec![(-0.5, 0.0), (k as f64 - 0.5, 0.0)],
            theme.line(&BLACK, 1.0),
        ))
        .map_err(de)?;
    }
    let mut legend = p.series.len() > 1;
    if let Some((r, label)) = &p.reference
        && r.is_finite()
    {
        let style = theme.line(&RED, 1.4);
        cc.draw_series(theme.dashed(vec![(-0.5, *r), (k as f64 - 0.5, *r)], style))
            .map_err(de)?
            .label(label.clone())
            .legend(theme.legend_dashed(style));
        legend = true;
    }
    if legend {
        theme.series_legend(&mut cc, plotters::chart::SeriesLabelPosition::UpperRight)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panel() -> BarPanel {
        BarPanel {
            title: "RMSE".into(),
            y_label: "RMSE".into(),
            categories: vec!["A".into(), "B".into()],
            series: vec![("model".into(), vec![0.5, 1.0])],
            reference: Some((0.8, "overall".into())),
        }
    }

    #[test]
    fn validation_names_the_problem() {
        let ok = BarChart {
            title: "t".into(),
            panels: vec![panel()],
        };
        assert!(validate(&ok).is_ok());
        let mut p = panel();
        p.series[0].1.pop();
        let e = validate(&BarChart {
            title: "t".into(),
            panels: vec![p],
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("has 1 values for 2 categories"), "{e}");
        let e = validate(&BarChart {
            title: "t".into(),
            panels: vec![],
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("0 panels"), "{e}");
    }

    #[test]
    fn draws_png_and_svg_with_negative_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = panel();
        p.series.push(("after".into(), vec![-0.2, f64::NAN]));
        let w = bar_chart(
            &BarChart {
                title: "t".into(),
                panels: vec![p.clone(), p],
            },
            dir.path(),
            "bars",
        )
        .unwrap();
        assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
        let svg = std::fs::read_to_string(&w.svg).unwrap();
        assert!(svg.contains("<rect"));
    }
}
