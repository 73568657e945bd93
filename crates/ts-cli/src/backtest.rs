//! `tsf backtest`: rolling-origin evaluation (`ts_train::backtest`), printed per fold and overall,
//! written as `backtest.json` with a chart of the folds' one-step forecasts.

use anyhow::{Context, Result, bail};
use clap::Args;
use ts_train::backtest::{BacktestConfig, Refit, backtest as run_backtest};
use ts_train::output::{check_output, check_output_folder};
use ts_train::progress::ProgressBar;
use ts_train::run::write_json;

use crate::args::TrainArgs;
use crate::commands::build_config;

/// `tsf backtest`: every `tsf train` option, plus the fold layout.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Number of expanding-window folds.
    #[arg(long, default_value_t = 5, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub folds: usize,
    /// Rows per fold (default: the test part's rows divided by the folds, at least the horizon).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
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
    let report = run_backtest(&frame, &cfg, &bt, &mut ProgressBar::new(true, 0))?;
    out!("Backtest of {}: {report}", data_path.display());
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create output folder", out.display()))?;
    write_json(&report_path, &report)?;
    if !t.no_charts {
        ts_report::train::draw_backtest(&report, &frame, out)?;
    }
    outln!("Wrote {}", out.display());
    Ok(())
}
