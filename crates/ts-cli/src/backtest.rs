//! `tsf backtest`: rolling-origin evaluation (`ts_train::backtest`), printed per fold and overall,
//! written as `backtest.json` with a chart of the folds' one-step forecasts.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use ts_data::load;
use ts_train::backtest::{BacktestConfig, Refit, backtest as run_backtest};
use ts_train::progress::ProgressBar;

use crate::args::TrainArgs;
use crate::commands::{build_config, data_source, write};

/// `tsf backtest`: every `tsf train` option, plus the fold layout.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Number of expanding-window folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Rows per fold (default: the test part's rows divided by the folds, at least the horizon).
    #[arg(long)]
    pub step: Option<usize>,
    /// every: fit a new model for every fold; once: fit before the first fold and reuse it.
    #[arg(long, default_value = "every")]
    pub refit: String,
    /// Training options (as for `tsf train`; --out is the report folder).
    #[command(flatten)]
    pub train: TrainArgs,
}

/// `tsf backtest`.
pub fn backtest(a: BacktestArgs) -> Result<()> {
    let t = &a.train;
    if t.resume.is_some() || t.checkpoint_every.is_some() {
        return Err(anyhow!(
            "--resume and --checkpoint-every apply to `tsf train` only"
        ));
    }
    let refit: Refit = a.refit.parse()?;
    let cfg = build_config(t)?;
    let (data_path, load_options) = data_source(&cfg)?;
    let out: PathBuf = t.out.clone();
    let report_path = out.join("backtest.json");
    if report_path.exists() && !t.force {
        return Err(anyhow!(
            "{}: output folder already holds a backtest; use --force to overwrite it or choose another --out",
            out.display()
        ));
    }
    let frame = load(&data_path, &load_options)?;
    let bt = BacktestConfig {
        folds: a.folds,
        step: a.step,
        refit,
    };
    let mut progress = ProgressBar::new(true, 0);
    let report = run_backtest(&frame, &cfg, &bt, &mut progress)?;
    println!(
        "Backtest of {}: {} folds of {} rows, refit {}, season {}",
        data_path.display(),
        report.folds.len(),
        report.step,
        a.refit,
        report.season
    );
    for f in &report.folds {
        let kept = f
            .candidates
            .iter()
            .find(|c| c.chosen)
            .map_or("reused".to_string(), |c| c.name.clone());
        for t in &f.evaluation.targets {
            let s = &t.scores;
            println!(
                "  fold {} ({} – {}, {} windows, {kept}): {} MASE {:.3} (naive {:.3}, seasonal naive {:.3}, drift {:.3}){}",
                f.fold + 1,
                f.start_label,
                f.end_label,
                f.evaluation.windows,
                t.target,
                s.model.mase,
                s.naive.mase,
                s.seasonal_naive.mase,
                s.drift.mase,
                if t.beats_baselines {
                    ""
                } else {
                    "  ← loses to a baseline"
                }
            );
        }
    }
    for o in &report.overall {
        println!(
            "Overall {} ({} values): MAE {:.6} MASE {:.3} | naive {:.6} / {:.3} | seasonal naive {:.6} / {:.3} | drift {:.6} / {:.3}; beats every baseline in {} of {} folds",
            o.target,
            o.count,
            o.model.mae,
            o.model.mase,
            o.naive.mae,
            o.naive.mase,
            o.seasonal_naive.mae,
            o.seasonal_naive.mase,
            o.drift.mae,
            o.drift.mase,
            o.folds_beating_baselines,
            report.folds.len()
        );
    }
    std::fs::create_dir_all(&out)
        .with_context(|| format!("{}: cannot create output folder", out.display()))?;
    write(
        &report_path,
        serde_json::to_string_pretty(&report)?.as_bytes(),
    )?;
    if !t.no_charts {
        let mut chart = ts_viz::PredictionChart {
            title: format!(
                "{}: rolling-origin backtest, {} folds, one step ahead",
                report.overall.first().map_or("", |o| o.target.as_str()),
                report.folds.len()
            ),
            target: report
                .overall
                .first()
                .map_or(String::new(), |o| o.target.clone()),
            timestamps: Vec::new(),
            actual: Vec::new(),
            predicted: Vec::new(),
            naive: None,
            band: None,
        };
        for f in &report.folds {
            for &(row, actual, forecast) in &f.one_step {
                chart.timestamps.push(frame.label(row));
                chart.actual.push(actual);
                chart.predicted.push(forecast);
            }
        }
        if !chart.actual.is_empty() {
            ts_viz::predictions_vs_actuals(&chart, &out, "backtest_folds")?;
        }
    }
    println!("Wrote {}", out.display());
    Ok(())
}
