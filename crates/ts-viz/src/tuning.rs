//! Charts of a hyperparameter search: the objective value per trial with the running best
//! ([`optimization_history`]) and the objective against each parameter with Spearman's rank
//! correlation ([`parameter_correlations`]). Parameter importances are drawn with
//! [`crate::feature_bars`].

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::{finite_range, fmt_tick, legend_corner, log_padded, padded, wants_log_scale};
use crate::error::VizError;
use crate::output::{Figure, Written, de, render};
use crate::theme::{BLUE, GREY, RED, Theme};

/// Objective values of a study's trials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimizationHistoryChart {
    /// Figure title.
    pub title: String,
    /// Name of the objective for the y axis, e.g. `"Validation loss (MSE)"`.
    pub value_name: String,
    /// `(trial number, value)` of the completed trials.
    pub completed: Vec<(usize, f64)>,
    /// `(trial number, last intermediate value)` of the pruned trials (drawn in grey).
    pub pruned: Vec<(usize, f64)>,
    /// Whether lower is better (the running best is the running minimum).
    pub minimize: bool,
}

/// One parameter's values, aligned with [`CorrelationChart::values`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamSeries {
    /// Parameter name.
    pub name: String,
    /// Numeric value per trial (for a categorical: the choice index).
    pub x: Vec<f64>,
    /// Draw the x axis on a log scale.
    pub log: bool,
    /// Choice labels of a categorical parameter (tick labels at 0, 1, …); empty for numbers.
    pub categories: Vec<String>,
}

/// The objective against each parameter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CorrelationChart {
    /// Figure title.
    pub title: String,
    /// Name of the objective for the y axes.
    pub value_name: String,
    /// Objective value per trial.
    pub values: Vec<f64>,
    /// The parameters (at most [`MAX_PARAM_PANELS`]).
    pub params: Vec<ParamSeries>,
}

/// Most parameter panels in a correlation chart.
pub const MAX_PARAM_PANELS: usize = 12;

/// Draws each completed trial's value (blue dots), pruned trials' last values (grey dots) and the
/// running best (red line) against the trial number; the y axis is logarithmic when the values
/// are positive and span more than two decades.
///
/// # Errors
/// [`VizError::InvalidInput`] if there is no completed trial with a finite value; file errors
/// as for every chart.
pub fn optimization_history(
    chart: &OptimizationHistoryChart,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    if !chart.completed.iter().any(|(_, v)| v.is_finite()) {
        return Err(VizError::InvalidInput(format!(
            "optimization history {:?}: no completed trial with a finite value",
            chart.title
        )));
    }
    render(&HistoryFigure { chart }, out_dir, stem)
}

/// Spearman's rank correlation of two equally long series (ties get their mean rank); `None`
/// when fewer than 3 finite pairs or a series is constant.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (*x, *y))
        .collect();
    if pairs.len() < 3 {
        return None;
    }
    let rank = |v: Vec<f64>| -> Vec<f64> {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut r = vec![0.0; v.len()];
        let mut i = 0;
        while i < idx.len() {
            let mut j = i;
            while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
                j += 1;
            }
            let mean = (i + j) as f64 / 2.0;
            for k in i..=j {
                r[idx[k]] = mean;
            }
            i = j + 1;
        }
        r
    };
    let ra = rank(pairs.iter().map(|p| p.0).collect());
    let rb = rank(pairs.iter().map(|p| p.1).collect());
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        return None;
    }
    Some(cov / (va * vb).sqrt())
}

/// Draws one scatter panel per parameter (objective value against the parameter, log x axis
/// for log-scale parameters, choice labels for categorical ones, log y axis when the values are
/// positive and span more than two decades), titled with Spearman's ρ.
///
/// # Errors
/// [`VizError::InvalidInput`] if there are no parameters or more than [`MAX_PARAM_PANELS`], a
/// parameter's values are not as many as the objective values, a categorical index has no label,
/// a log-scale parameter has a value ≤ 0, or no value is finite; file errors as for every chart.
pub fn parameter_correlations(
    chart: &CorrelationChart,
    out_dir: &Path,
    stem: &str,
) -> Result<Written, VizError> {
    let name = format!("parameter correlations {:?}", chart.title);
    let bad = |m: String| Err(VizError::InvalidInput(format!("{name}: {m}")));
    if chart.params.is_empty() || chart.params.len() > MAX_PARAM_PANELS {
        return bad(format!(
            "{} parameters (1 to {MAX_PARAM_PANELS} can be drawn)",
            chart.params.len()
        ));
    }
    if !chart.values.iter().any(|v| v.is_finite()) {
        return bad("no finite objective value".into());
    }
    for p in &chart.params {
        if p.x.len() != chart.values.len() {
            return bad(format!(
                "parameter {:?} has {} values but there are {} objective values",
                p.name,
                p.x.len(),
                chart.values.len()
            ));
        }
        if !p.categories.is_empty()
            && let Some(x) =
                p.x.iter()
                    .find(|x| x.is_finite() && (**x < 0.0 || **x as usize >= p.categories.len()))
        {
            return bad(format!(
                "parameter {:?}: choice index {x} has no label",
                p.name
            ));
        }
        if p.log && p.x.iter().any(|x| x.is_finite() && *x <= 0.0) {
            return bad(format!(
                "parameter {:?} is drawn on a log scale but has a value ≤ 0",
                p.name
            ));
        }
    }
    render(&CorrelationFigure { chart }, out_dir, stem)
}

struct HistoryFigure<'c> {
    chart: &'c OptimizationHistoryChart,
}

/// The finite points of an optimization history and its running best.
struct HistoryPoints {
    /// Completed trials, sorted by trial number.
    done: Vec<(usize, f64)>,
    /// Pruned trials with their last intermediate value.
    pruned: Vec<(usize, f64)>,
    /// The best value so far at each completed trial.
    best: Vec<(f64, f64)>,
    /// The highest trial number drawn.
    n_max: f64,
}

impl HistoryPoints {
    /// Keeps the finite points of `c`, sorts the completed ones and tracks the running best.
    fn new(c: &OptimizationHistoryChart) -> Self {
        let mut done: Vec<(usize, f64)> = c
            .completed
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .collect();
        done.sort_by_key(|p| p.0);
        let pruned: Vec<(usize, f64)> = c
            .pruned
            .iter()
            .copied()
            .filter(|p| p.1.is_finite())
            .collect();
        let mut best = Vec::with_capacity(done.len());
        let mut cur = f64::NAN;
        for &(n, v) in &done {
            if cur.is_nan() || (c.minimize && v < cur) || (!c.minimize && v > cur) {
                cur = v;
            }
            best.push((n as f64, cur));
        }
        let n_max = done.iter().chain(&pruned).map(|p| p.0).max().unwrap_or(0) as f64;
        Self {
            done,
            pruned,
            best,
            n_max,
        }
    }

    /// All points, completed then pruned.
    fn all(&self) -> impl Iterator<Item = &(usize, f64)> {
        self.done.iter().chain(&self.pruned)
    }

    /// The legend corner that covers the fewest points on the y axis `a..b` (log or linear).
    fn legend_corner(&self, log: bool, a: f64, b: f64) -> SeriesLabelPosition {
        let norm = move |v: f64| {
            if log {
                (v.log10() - a.log10()) / (b.log10() - a.log10())
            } else {
                (v - a) / (b - a)
            }
        };
        let n_max = self.n_max;
        legend_corner(
            self.all()
                .map(|(n, v)| ((*n as f64 + 0.5) / (n_max + 1.0), norm(*v))),
        )
    }
}

/// Labels whole non-negative trial numbers and leaves other ticks blank.
fn trial_tick(v: &f64) -> String {
    if v.fract() == 0.0 && *v >= 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// The y axis of values in `lo..=hi`: whether it is logarithmic, and its padded bounds.
fn value_axis(lo: f64, hi: f64, frac: f64) -> (bool, f64, f64) {
    let log = wants_log_scale(lo, hi);
    let (a, b) = if log {
        log_padded(lo, hi, frac)
    } else {
        padded(lo, hi, frac)
    };
    (log, a, b)
}

impl Figure for HistoryFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let c = self.chart;
        let area = theme.titled(root, &c.title)?;
        let pts = HistoryPoints::new(c);
        let HistoryPoints {
            done, pruned, best, ..
        } = &pts;
        let x = -0.5..pts.n_max + 0.5;
        let (lo, hi) = finite_range(pts.all().map(|p| p.1)).ok_or("no value")?;
        let (log, a, b) = value_axis(lo, hi, 0.05);
        let span = b - a;
        let y_fmt = move |v: &f64| fmt_tick(*v, if log { 0.0 } else { span });
        let corner = pts.legend_corner(log, a, b);
        let y_desc = if log {
            format!("{} (log scale)", c.value_name)
        } else {
            c.value_name.clone()
        };
        let mut builder = ChartBuilder::on(&area);
        builder
            .margin(theme.px(6.0))
            .x_label_area_size(theme.px(40.0))
            .y_label_area_size(theme.px(70.0));
        macro_rules! draw_with {
            ($cc:expr) => {{
                let mut cc = $cc;
                let mut mesh = cc.configure_mesh();
                theme.style_mesh(&mut mesh);
                mesh.x_desc("Trial")
                    .y_desc(y_desc.as_str())
                    .x_labels(10)
                    .y_labels(7)
                    .x_label_formatter(&trial_tick)
                    .y_label_formatter(&y_fmt)
                    .draw()
                    .map_err(de)?;
                let r = theme.upx(3.2);
                if !pruned.is_empty() {
                    cc.draw_series(
                        pruned
                            .iter()
                            .map(|(n, v)| Circle::new((*n as f64, *v), r, GREY.mix(0.7).filled())),
                    )
                    .map_err(de)?
                    .label("Pruned (last value)")
                    .legend(theme.legend_dot(GREY));
                }
                cc.draw_series(
                    done.iter()
                        .map(|(n, v)| Circle::new((*n as f64, *v), r, BLUE.filled())),
                )
                .map_err(de)?
                .label("Completed trial")
                .legend(theme.legend_dot(BLUE));
                let style = theme.line(&RED, 2.0);
                cc.draw_series(LineSeries::new(best.iter().copied(), style))
                    .map_err(de)?
                    .label("Best so far")
                    .legend(theme.legend_line(style));
                theme.series_legend(&mut cc, corner)
            }};
        }
        if log {
            draw_with!(
                builder
                    .build_cartesian_2d(x, (a..b).log_scale())
                    .map_err(de)?
            )
        } else {
            draw_with!(builder.build_cartesian_2d(x, a..b).map_err(de)?)
        }
    }
}

struct CorrelationFigure<'c> {
    chart: &'c CorrelationChart,
}

/// Grid columns for `k` parameter panels.
fn grid_cols(k: usize) -> usize {
    match k {
        1 => 1,
        2 | 4 => 2,
        3 | 5 | 6 | 9 => 3,
        _ => 4,
    }
}

/// The x axis of a parameter panel: choice indices with labels, log scale, or linear.
enum XAxis {
    Categories(f64),
    Log(f64, f64),
    Linear(f64, f64),
}

impl XAxis {
    /// The axis for parameter `p` whose finite `(x, value)` points are `pts`.
    fn for_param(p: &ParamSeries, pts: &[(f64, f64)]) -> Self {
        if !p.categories.is_empty() {
            XAxis::Categories(p.categories.len() as f64)
        } else if p.log {
            let (a, b) = finite_range(pts.iter().map(|q| q.0))
                .map(|(a, b)| log_padded(a, b, 0.05))
                .unwrap_or((0.1, 1.0));
            XAxis::Log(a, b)
        } else {
            let (a, b) = finite_range(pts.iter().map(|q| q.0))
                .map(|(a, b)| padded(a, b, 0.05))
                .unwrap_or((0.0, 1.0));
            XAxis::Linear(a, b)
        }
    }

    /// The span used to format tick labels (zero unless linear).
    fn span(&self) -> f64 {
        match self {
            XAxis::Linear(a, b) => b - a,
            _ => 0.0,
        }
    }
}

/// `(x, y)` points of a chart.
type Points = Vec<(f64, f64)>;

/// The panel title of `p`: its name with Spearman's ρ against `values` when defined.
fn param_title(p: &ParamSeries, values: &[f64]) -> String {
    match spearman(&p.x, values) {
        Some(r) => format!("{}  (ρ = {r:+.2})", p.name),
        None => p.name.clone(),
    }
}

/// The finite `(x, value)` points of `p`; dots of one choice are spread a little so that they
/// do not hide each other.
fn param_dots(p: &ParamSeries, values: &[f64]) -> (Points, Points) {
    let pts: Vec<(f64, f64)> =
        p.x.iter()
            .zip(values)
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .map(|(x, y)| (*x, *y))
            .collect();
    let n_cats = p.categories.len();
    let dots: Vec<(f64, f64)> = pts
        .iter()
        .enumerate()
        .map(|(i, (x, y))| {
            let jitter = if n_cats > 0 {
                ((i * 7919) % 41) as f64 / 41.0 * 0.36 - 0.18
            } else {
                0.0
            };
            (x + jitter, *y)
        })
        .collect();
    (pts, dots)
}

/// Tick labels of `p`'s x axis: choice labels at whole indices, or numbers over `xspan`.
fn param_x_formatter(p: &ParamSeries, xspan: f64) -> impl Fn(&f64) -> String {
    let cats = p.categories.clone();
    let n_cats = cats.len();
    move |v: &f64| {
        if n_cats > 0 {
            let i = v.round();
            if (v - i).abs() < 1e-9 && i >= 0.0 && (i as usize) < n_cats {
                cats[i as usize].clone()
            } else {
                String::new()
            }
        } else {
            fmt_tick(*v, xspan)
        }
    }
}

/// Draws the objective `values` against parameter `p` in `cell`, on the shared y axis
/// `ya..yb` (logarithmic when `log_y`).
fn draw_param_panel<DB: DrawingBackend>(
    cell: &DrawingArea<DB, Shift>,
    p: &ParamSeries,
    values: &[f64],
    compact: &Theme,
    (log_y, ya, yb): (bool, f64, f64),
) -> Result<(), String> {
    let span = if log_y { 0.0 } else { yb - ya };
    let y_fmt = move |v: &f64| fmt_tick(*v, span);
    let title = param_title(p, values);
    let (pts, dots) = param_dots(p, values);
    let cell = cell.margin(
        compact.px(4.0),
        compact.px(4.0),
        compact.px(4.0),
        compact.px(4.0),
    );
    let mut builder = ChartBuilder::on(&cell);
    builder
        .caption(title, compact.font(Theme::CAPTION))
        .margin(compact.px(4.0))
        .x_label_area_size(compact.px(30.0))
        .y_label_area_size(compact.px(52.0));
    let r = compact.upx(3.0);
    let xaxis = XAxis::for_param(p, &pts);
    let x_fmt = param_x_formatter(p, xaxis.span());
    let n_cats = p.categories.len();
    let x_labels = if n_cats > 0 { n_cats * 2 + 1 } else { 5 };
    macro_rules! panel {
        ($x:expr, $y:expr) => {{
            let mut cc = builder.build_cartesian_2d($x, $y).map_err(de)?;
            let mut mesh = cc.configure_mesh();
            compact.style_mesh(&mut mesh);
            mesh.x_labels(x_labels)
                .y_labels(5)
                .x_label_formatter(&x_fmt)
                .y_label_formatter(&y_fmt)
                .draw()
                .map_err(de)?;
            cc.draw_series(
                dots.iter()
                    .map(|(x, y)| Circle::new((*x, *y), r, BLUE.mix(0.75).filled())),
            )
            .map_err(de)?;
        }};
    }
    match (xaxis, log_y) {
        (XAxis::Categories(n), false) => panel!(-0.5..n - 0.5, ya..yb),
        (XAxis::Categories(n), true) => panel!(-0.5..n - 0.5, (ya..yb).log_scale()),
        (XAxis::Log(a, b), false) => panel!((a..b).log_scale(), ya..yb),
        (XAxis::Log(a, b), true) => panel!((a..b).log_scale(), (ya..yb).log_scale()),
        (XAxis::Linear(a, b), false) => panel!(a..b, ya..yb),
        (XAxis::Linear(a, b), true) => panel!(a..b, (ya..yb).log_scale()),
    }
    Ok(())
}

impl Figure for CorrelationFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<(), String> {
        let c = self.chart;
        let area = theme.titled(root, &c.title)?;
        let k = c.params.len();
        let cols = grid_cols(k);
        let rows = k.div_ceil(cols);
        let compact = theme.compact(match rows {
            1 => 0.95,
            2 => 0.85,
            _ => 0.72,
        });
        let cells = area.split_evenly((rows, cols));
        let (lo, hi) = finite_range(c.values.iter().copied()).ok_or("no value")?;
        // Log y axis when the values are positive and span more than two decades.
        let y_axis = value_axis(lo, hi, 0.06);
        for (p, cell) in c.params.iter().zip(cells.iter()) {
            draw_param_panel(cell, p, &c.values, &compact, y_axis)?;
        }
        let _ = &c.value_name;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_handles_ties_and_constants() {
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[3.0, 2.0, 1.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
        let r = spearman(&[1.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert!(r > 0.9 && r < 1.0);
    }

    #[test]
    fn draws_the_charts_and_rejects_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let h = OptimizationHistoryChart {
            title: "History".into(),
            value_name: "Validation loss".into(),
            completed: vec![(0, 0.5), (1, 0.3), (3, 0.4), (4, 0.01)],
            pruned: vec![(2, 0.9)],
            minimize: true,
        };
        let w = optimization_history(&h, dir.path(), "h").unwrap();
        assert!(std::fs::metadata(&w.png).unwrap().len() > 1000);
        let c = CorrelationChart {
            title: "Correlations".into(),
            value_name: "loss".into(),
            values: vec![0.5, 0.3, 0.4, 0.2],
            params: vec![
                ParamSeries {
                    name: "lr".into(),
                    x: vec![1e-4, 1e-3, 1e-2, 1e-3],
                    log: true,
                    categories: vec![],
                },
                ParamSeries {
                    name: "opt".into(),
                    x: vec![0.0, 1.0, 0.0, 1.0],
                    log: false,
                    categories: vec!["Adam".into(), "AdamW".into()],
                },
                ParamSeries {
                    name: "dropout".into(),
                    x: vec![0.1, 0.2, 0.3, 0.4],
                    log: false,
                    categories: vec![],
                },
            ],
        };
        let w = parameter_correlations(&c, dir.path(), "c").unwrap();
        assert!(std::fs::metadata(&w.svg).unwrap().len() > 1000);
        let mut bad = c.clone();
        bad.params[1].x[0] = 5.0;
        assert!(
            parameter_correlations(&bad, dir.path(), "c")
                .unwrap_err()
                .to_string()
                .contains("no label")
        );
        let mut bad = c.clone();
        bad.params[0].x.pop();
        assert!(parameter_correlations(&bad, dir.path(), "c").is_err());
        let empty = OptimizationHistoryChart {
            completed: vec![],
            ..h
        };
        assert!(optimization_history(&empty, dir.path(), "h").is_err());
    }
}
