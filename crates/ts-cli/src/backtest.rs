//! `tsf backtest`: rolling-origin evaluation (`ts_train::backtest`), printed per fold and overall,
//! written as `backtest.json` with a chart of the folds' one-step forecasts.

use anyhow::{Result, bail};
use clap::Args;
use ts_train::backtest::{BacktestConfig, Refit, backtest as run_backtest};
use ts_train::output::{Staging, StaleFiles, chart_stem, check_output, check_output_folder};
use ts_train::progress::ProgressBar;
use ts_train::run::write_json;

use crate::args::TrainArgs;
use crate::commands::build_config;

/// `tsf backtest`: every `tsf train` option but `--resume` and `--checkpoint-every` (hidden, and
/// refused), plus the fold layout.
#[derive(Debug, Args)]
#[command(
    mut_arg("resume", |a| a.hide(true)),
    mut_arg("checkpoint_every", |a| a.hide(true))
)]
pub struct BacktestArgs {
    /// Number of expanding-window folds.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = crate::args::positive_number)]
    pub folds: usize,
    /// Rows per fold (default: the test part's rows divided by the folds, at least the horizon).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::positive_number)]
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
        bail!("--resume and --checkpoint-every apply to `tsf train` only");
    }
    let refit: Refit = a.refit.parse()?;
    let cfg = build_config(t)?;
    let (data_path, load_options) = cfg.data_source()?;
    let out = &t.out;
    let report_path = out.join("backtest.json");
    check_output_folder(out, t.force, &["backtest.json"], "a backtest")?;
    check_output(&report_path, &[&data_path])?;
    let frame = ts_data::load(&data_path, &load_options)?;
    let bt = BacktestConfig {
        folds: a.folds,
        step: a.step,
        refit,
    };
    // An earlier backtest's chart that this one does not draw (`--no-charts`) goes once this one
    // is in place.
    let stale = StaleFiles::note(out, |name| {
        name == "backtest.json" || chart_stem(name) == Some("backtest_folds")
    });
    let report = run_backtest(&frame, &cfg, &bt, &mut ProgressBar::new(true, 0))?;
    out!("Backtest of {}: {report}", data_path.display());
    if report.coverage.is_empty() && !cfg.train.intervals.is_empty() {
        outln!(
            "No prediction intervals: they are calibrated on each fold's validation part, and these folds have none (--validation 0 or --seed-recipe)"
        );
    }
    // Written into a staging folder and moved into place once everything is written.
    let staging = Staging::new(out)?;
    write_json(&staging.dir().join("backtest.json"), &report)?;
    if !t.no_charts {
        ts_report::train::draw_backtest(&report, &frame, staging.dir())?;
    }
    staging.commit()?;
    stale.remove_untouched();
    outln!("Wrote {}", out.display());
    Ok(())
}
