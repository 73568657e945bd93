//! Rolling-origin backtests: expanding-window folds, each scored against the same baselines.
//!
//! The last `folds × step` rows are cut into `folds` blocks of `step` rows. Fold `k` forecasts the
//! windows whose targets all lie in its block from a model fitted on every row before the block
//! (the scaler too; the end of those rows is the fold's validation part). With
//! [`Refit::Every`] a model is trained per fold; with [`Refit::Once`] the first fold's model (and
//! scaler, and intervals) scores every fold, as a deployed model that is never retrained would.
//! No fold ever sees a row of its own block or of a later one while fitting.

use serde::{Deserialize, Serialize};
use ts_data::{Frame, SplitBounds, prepare_bounds};

use crate::config::ForecastConfig;
use crate::error::{Result, TrainError, invalid};
use crate::intervals::{Coverage, Intervals};
use crate::metrics::{BaselineForecasts, Evaluation, Score, Scores, actual_original, evaluate};
use crate::pipeline::{self, Candidate, resolve_season, resolve_spec};
use crate::trainer::Observer;

/// When a backtest trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Refit {
    /// A new model for every fold, on all rows before it.
    #[default]
    Every,
    /// One model, fitted before the first fold, scores every fold.
    Once,
}

impl std::str::FromStr for Refit {
    type Err = TrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "every" => Ok(Self::Every),
            "once" => Ok(Self::Once),
            _ => Err(invalid("refit", s, "expected every or once")),
        }
    }
}

impl std::fmt::Display for Refit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Every => "every",
            Self::Once => "once",
        })
    }
}

/// How to cut the folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BacktestConfig {
    /// Number of folds (at least 1).
    pub folds: usize,
    /// Rows per fold; `None` = the test part's rows (`1 − train_split` of the data) divided by
    /// the folds, but at least the horizon.
    pub step: Option<usize>,
    /// When to train.
    pub refit: Refit,
}

/// One fold's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fold {
    /// 0-based fold number.
    pub fold: usize,
    /// Rows the model was fitted on (training and validation): `[0, origin)`.
    pub origin: usize,
    /// The block's rows `[origin, end)`.
    pub end: usize,
    /// Time label of the block's first row.
    pub start_label: String,
    /// Time label of the block's last row.
    pub end_label: String,
    /// Metrics of the fold's windows, next to the baselines.
    pub evaluation: Evaluation,
    /// Interval coverage on the fold.
    pub coverage: Vec<Coverage>,
    /// The networks trained for this fold (empty when the first fold's model is reused).
    pub candidates: Vec<Candidate>,
    /// Training seconds (0 when reused).
    pub seconds: f64,
    /// One-step-ahead forecasts of the first target in original units, with the baselines', for
    /// charts.
    #[serde(skip)]
    pub one_step: Vec<OneStep>,
}

/// One row of a fold's one-step-ahead forecasts of the first target, in original units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OneStep {
    /// The forecast row.
    pub row: usize,
    /// The observed value.
    pub actual: f64,
    /// The model's forecast.
    pub forecast: f64,
    /// The naive (last value) forecast.
    pub naive: f64,
    /// The seasonal naive forecast (`None` without a season).
    pub seasonal_naive: Option<f64>,
    /// The drift forecast.
    pub drift: f64,
}

/// The overall scores of a backtest: count-weighted means over the folds, per target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverallTarget {
    /// Target column.
    pub target: String,
    /// Values scored over all folds.
    pub count: usize,
    /// The model (MAE, RMSE, MASE and sMAPE pooled over every forecast; R² is not poolable
    /// across folds with different scalers and is left NaN).
    pub model: Score,
    /// The naive forecast.
    pub naive: Score,
    /// The seasonal naive forecast.
    pub seasonal_naive: Score,
    /// The drift forecast.
    pub drift: Score,
    /// Folds where the model beat every baseline.
    pub folds_beating_baselines: usize,
    /// Whether the pooled MAE beats every baseline's.
    pub beats_baselines: bool,
}

/// A whole backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BacktestReport {
    /// The fold layout asked for.
    pub config: BacktestConfig,
    /// Rows per fold used.
    pub step: usize,
    /// Seasonal period of the baselines (1 = none).
    pub season: usize,
    /// Every fold, oldest first.
    pub folds: Vec<Fold>,
    /// Pooled over the folds.
    pub overall: Vec<OverallTarget>,
    /// Interval coverage pooled over the folds, per level (count-weighted means of the folds'
    /// coverage, per-step coverage and mean width; empty without intervals; files written
    /// before it: empty).
    #[serde(default)]
    pub coverage: Vec<Coverage>,
    /// Total training seconds.
    pub seconds: f64,
}

impl std::fmt::Display for BacktestReport {
    /// Per fold and target: the model's MASE against the baselines'; then, per target, the
    /// figures pooled over the folds.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} folds of {} rows, refit {}, season {}",
            self.folds.len(),
            self.step,
            self.config.refit,
            self.season
        )?;
        for fold in &self.folds {
            let kept = fold
                .candidates
                .iter()
                .find(|c| c.chosen)
                .map_or("reused", |c| c.name.as_str());
            for t in &fold.evaluation.targets {
                let s = &t.scores;
                // Without a season the seasonal naive is the naive forecast: not shown twice.
                let seasonal = if self.season > 1 {
                    format!(", seasonal naive {:.3}", s.seasonal_naive.mase)
                } else {
                    String::new()
                };
                writeln!(
                    f,
                    "  fold {} ({} – {}, {} windows, {kept}): {} MASE {:.3} (naive {:.3}{seasonal}, drift {:.3}){}",
                    fold.fold + 1,
                    fold.start_label,
                    fold.end_label,
                    fold.evaluation.windows,
                    t.target,
                    s.model.mase,
                    s.naive.mase,
                    s.drift.mase,
                    if t.beats_baselines {
                        ""
                    } else {
                        "  ← loses to a baseline"
                    }
                )?;
            }
        }
        for o in &self.overall {
            let seasonal = if self.season > 1 {
                format!(
                    " | seasonal naive {:.6} / {:.3}",
                    o.seasonal_naive.mae, o.seasonal_naive.mase
                )
            } else {
                String::new()
            };
            writeln!(
                f,
                "Overall {} ({} values): MAE {:.6} MASE {:.3} | naive {:.6} / {:.3}{seasonal} | drift {:.6} / {:.3}; beats every baseline in {} of {} folds",
                o.target,
                o.count,
                o.model.mae,
                o.model.mase,
                o.naive.mae,
                o.naive.mase,
                o.drift.mae,
                o.drift.mase,
                o.folds_beating_baselines,
                self.folds.len()
            )?;
        }
        if !self.coverage.is_empty() {
            let levels: Vec<String> = self
                .coverage
                .iter()
                .map(|c| {
                    // One width in one target's units; with several, each target's own.
                    let widths: Vec<String> = if c.mean_width_by_target.len() > 1 {
                        c.mean_width_by_target
                            .iter()
                            .map(|w| format!("{w:.6}"))
                            .collect()
                    } else {
                        vec![format!("{:.6}", c.mean_width)]
                    };
                    format!(
                        "{:.0} % covers {:.1} % (mean width {})",
                        c.level * 100.0,
                        c.coverage * 100.0,
                        widths.join(" / ")
                    )
                })
                .collect();
            writeln!(
                f,
                "Intervals over all folds ({} values): {}",
                self.coverage[0].count,
                levels.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Runs a rolling-origin backtest of `cfg` on `frame`.
///
/// # Errors
/// Zero folds or steps, a step shorter than the horizon, more folds than the rows allow (the
/// first fold must still leave a training and a validation part), and any error of training.
pub fn backtest(
    frame: &Frame,
    cfg: &ForecastConfig,
    bt: &BacktestConfig,
    observer: &mut dyn Observer,
) -> Result<BacktestReport> {
    cfg.validate()?;
    // The folds' layout depends on the window shape only; calendar inputs are decided on the
    // rows before the first origin, as everything a fold learns.
    let (first_origin, step) =
        fold_layout(frame.n_rows(), cfg, bt, &resolve_spec(frame, &cfg.data)?)?;
    let frame = &*crate::fit::calendar_frame_on(frame, &cfg.data, first_origin)?;
    let spec = resolve_spec(frame, &cfg.data)?;
    let ranges = crate::range::per_target(&cfg.data.bounds, &spec.targets)?;
    let season = resolve_season(frame, &cfg.data);
    let device = ts_model::make_device(cfg.device)?;
    let mut folds: Vec<Fold> = Vec::with_capacity(bt.folds);
    let mut once: Option<FoldModel> = None;
    for k in 0..bt.folds {
        let origin = first_origin + k * step;
        let end = origin + step;
        let val_start = if cfg.data.validation > 0.0 {
            ((origin as f64) * (1.0 - cfg.data.validation)).floor() as usize
        } else {
            origin
        };
        let bounds = SplitBounds {
            val_start,
            test_start: origin,
            n_rows: end,
        };
        let prepared = prepare_bounds(frame, &spec, bounds, cfg.data.scaler)?;
        let (fitted, candidates, seconds) = match (&once, bt.refit) {
            (Some(m), Refit::Once) => (m.clone(), Vec::new(), 0.0),
            _ => {
                let fit =
                    pipeline::train_prepared(frame, prepared.clone(), cfg, &device, observer)?;
                if fit.report.interrupted {
                    return Err(TrainError::InvalidConfig {
                        name: "backtest".into(),
                        value: format!("fold {}", k + 1),
                        reason: "interrupted".into(),
                    });
                }
                let seconds: f64 = fit.candidates.iter().map(|c| c.seconds).sum();
                let m = FoldModel {
                    model: fit.model,
                    prepared: fit.prepared,
                    intervals: fit.intervals,
                };
                if bt.refit == Refit::Once {
                    once = Some(m.clone());
                }
                (m, fit.candidates, seconds)
            }
        };
        // With `once`, the first fold's scaler scales this fold's rows.
        let test = if bt.refit == Refit::Once && k > 0 {
            rescale_test(frame, &spec, &fitted.prepared, origin, end)?
        } else {
            prepared.test.clone()
        };
        let baseline = pipeline::baseline_spec(&prepared, season);
        let mut fold = score_fold(&fitted, &test, &spec, &baseline, &device, &ranges)?;
        fold.fold = k;
        (fold.origin, fold.end) = (origin, end);
        fold.start_label = frame.label(origin);
        fold.end_label = frame.label(end - 1);
        (fold.candidates, fold.seconds) = (candidates, seconds);
        folds.push(fold);
    }
    let overall = overall(&spec.targets, &folds, season);
    Ok(BacktestReport {
        config: *bt,
        step,
        season,
        seconds: folds.iter().map(|f| f.seconds).sum(),
        coverage: pooled_coverage(&folds),
        folds,
        overall,
    })
}

/// The folds' interval coverage pooled per level: each fold weighs by the values it compared.
/// Empty when a fold has no intervals (or other levels than the first fold).
fn pooled_coverage(folds: &[Fold]) -> Vec<Coverage> {
    let Some(first) = folds.first() else {
        return Vec::new();
    };
    let same_levels = folds.iter().all(|f| {
        f.coverage.len() == first.coverage.len()
            && f.coverage
                .iter()
                .zip(&first.coverage)
                .all(|(a, b)| a.level == b.level)
    });
    if !same_levels {
        return Vec::new();
    }
    (0..first.coverage.len())
        .map(|l| {
            let per_fold: Vec<&Coverage> = folds.iter().map(|f| &f.coverage[l]).collect();
            let count: usize = per_fold.iter().map(|c| c.count).sum();
            let mean = |v: &dyn Fn(&Coverage) -> f64| {
                per_fold.iter().map(|c| v(c) * c.count as f64).sum::<f64>() / count.max(1) as f64
            };
            let steps = per_fold
                .iter()
                .map(|c| c.coverage_by_step.len())
                .min()
                .unwrap_or(0);
            let targets = per_fold
                .iter()
                .map(|c| c.coverage_by_target.len())
                .min()
                .unwrap_or(0);
            Coverage {
                level: first.coverage[l].level,
                coverage: mean(&|c| c.coverage),
                mean_width: mean(&|c| c.mean_width),
                coverage_by_step: (0..steps)
                    .map(|s| mean(&|c| c.coverage_by_step[s]))
                    .collect(),
                count,
                coverage_by_target: (0..targets)
                    .map(|k| mean(&|c| c.coverage_by_target[k]))
                    .collect(),
                mean_width_by_target: (0..targets)
                    .map(|k| mean(&|c| c.mean_width_by_target[k]))
                    .collect(),
            }
        })
        .collect()
}

/// The first fold's origin row and the rows per fold, after checking that the folds fit: at least
/// one window's target rows per fold, and enough rows before the first fold to train and validate.
fn fold_layout(
    n: usize,
    cfg: &ForecastConfig,
    bt: &BacktestConfig,
    spec: &ts_data::WindowSpec,
) -> Result<(usize, usize)> {
    if bt.folds == 0 {
        return Err(invalid("folds", 0, "must be at least 1"));
    }
    let h = spec.horizon;
    let test_rows = n - cfg.data.split().bounds(n).test_start;
    let step = match bt.step {
        Some(0) => return Err(invalid("step", 0, "must be at least 1")),
        Some(s) if s < h => {
            return Err(invalid(
                "step",
                s,
                &format!("a fold must hold at least one window's {h} target rows (the horizon)"),
            ));
        }
        Some(s) => s,
        None => (test_rows / bt.folds).max(h),
    };
    let first_origin = bt
        .folds
        .checked_mul(step)
        .and_then(|r| n.checked_sub(r))
        .unwrap_or(0);
    let min_rows = 2 * (spec.lookback + h + 1);
    if first_origin < min_rows {
        return Err(invalid(
            "folds",
            bt.folds,
            &format!(
                "{} folds of {step} rows leave {first_origin} of the {n} rows before the first fold; at least {min_rows} are needed (sequence length {} + horizon {h}, twice, for training and validation): use fewer folds or a shorter --step",
                bt.folds, spec.lookback
            ),
        ));
    }
    Ok((first_origin, step))
}

/// The model that forecasts a fold, with the data it was fitted on (its scaler) and its intervals.
#[derive(Clone)]
struct FoldModel {
    model: ts_model::Forecaster,
    prepared: ts_data::Prepared,
    intervals: Option<Intervals>,
}

/// A fold's forecasts scored against the baselines, with the intervals' coverage and the one-step
/// forecasts for the chart (the fold's position, labels and training are filled in by the caller).
fn score_fold(
    m: &FoldModel,
    test: &ts_data::Windows,
    spec: &ts_data::WindowSpec,
    baseline: &crate::metrics::BaselineSpec,
    device: &burn::tensor::Device,
    ranges: &[crate::range::ValueRange],
) -> Result<Fold> {
    let scaler = &m.prepared.scaler;
    let predictions = crate::range::forecast_scaled(&m.model, test, device, ranges, spec, scaler)?;
    let evaluation = evaluate(test, &predictions, spec, scaler, baseline);
    let coverage = m
        .intervals
        .as_ref()
        .map_or_else(Vec::new, |iv| iv.coverage(test, &predictions, spec, scaler));
    let col = spec.target_index[0];
    let o = spec.n_outputs();
    let inv = |v: f32| scaler.inverse_value(col, f64::from(v));
    let base = BaselineForecasts::of(test, spec, scaler, baseline.season);
    let one_step = (0..test.n)
        .map(|i| OneStep {
            row: test.anchors[i] + 1,
            actual: actual_original(test, spec, scaler, i, 0),
            forecast: inv(predictions[i * o]),
            naive: base.naive[i * o],
            seasonal_naive: (baseline.season > 1).then(|| base.seasonal_naive[i * o]),
            drift: base.drift[i * o],
        })
        .collect();
    Ok(Fold {
        fold: 0,
        origin: 0,
        end: 0,
        start_label: String::new(),
        end_label: String::new(),
        evaluation,
        coverage,
        candidates: Vec::new(),
        seconds: 0.0,
        one_step,
    })
}

/// The test windows of rows `[origin, end)` scaled with another fold's scaler.
fn rescale_test(
    frame: &Frame,
    spec: &ts_data::WindowSpec,
    fitted: &ts_data::Prepared,
    origin: usize,
    end: usize,
) -> Result<ts_data::Windows> {
    let idx: Vec<usize> = spec
        .features
        .iter()
        .map(|f| frame.column_index(f))
        .collect::<std::result::Result<_, _>>()?;
    let scaled = std::sync::Arc::new(fitted.scaler.transform_series(
        frame.values(),
        &idx,
        &spec.target_index,
    ));
    let anchors = ts_data::anchors_in(spec, origin, end);
    Ok(ts_data::Windows::over(scaled, spec, anchors, true))
}

fn overall(targets: &[String], folds: &[Fold], season: usize) -> Vec<OverallTarget> {
    targets
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let parts: Vec<(usize, &Scores, bool)> = folds
                .iter()
                .filter_map(|f| f.evaluation.targets.get(k))
                .map(|t| (t.original.count, &t.scores, t.beats_baselines))
                .collect();
            let count: usize = parts.iter().map(|p| p.0).sum();
            let pool = |pick: fn(&Scores) -> &Score| {
                let w = |f: fn(&Score) -> f64| {
                    if count == 0 {
                        return f64::NAN;
                    }
                    parts
                        .iter()
                        .map(|(c, s, _)| *c as f64 * f(pick(s)))
                        .sum::<f64>()
                        / count as f64
                };
                Score {
                    mae: w(|s| s.mae),
                    rmse: w(|s| s.rmse * s.rmse).sqrt(),
                    mase: w(|s| s.mase),
                    smape: w(|s| s.smape),
                    r2: f64::NAN,
                }
            };
            let pooled = Scores {
                model: pool(|s| &s.model),
                naive: pool(|s| &s.naive),
                seasonal_naive: pool(|s| &s.seasonal_naive),
                drift: pool(|s| &s.drift),
            };
            let beats_baselines = count > 0 && pooled.unbeaten(season).is_empty();
            OverallTarget {
                target: name.clone(),
                count,
                model: pooled.model,
                naive: pooled.naive,
                seasonal_naive: pooled.seasonal_naive,
                drift: pooled.drift,
                folds_beating_baselines: parts.iter().filter(|p| p.2).count(),
                beats_baselines,
            }
        })
        .collect()
}
