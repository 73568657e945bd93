//! `tsf explain`: attributions of a saved model's forecasts ([`ts_explain::ExplainJob`]), their
//! summary, `interpretation_results.json` and the charts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ts_explain::{ExplainJob, ExplainOptions};
use ts_model::file::write_atomic;

/// `tsf explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// What to explain and how.
    #[command(flatten)]
    pub options: ExplainOptions,
    /// Output folder for interpretation_results.json and the charts.
    #[arg(long, default_value = "tsf-explain")]
    pub out: PathBuf,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// `tsf explain`.
pub fn explain(a: ExplainArgs) -> Result<()> {
    let job = ExplainJob::prepare(&a.options)?;
    println!("{}", job.describe());
    let t0 = Instant::now();
    let results = job.run()?;
    print!("{}", results.report.summary(&results.window_labels));
    println!();
    println!("All methods: {:.2} s", t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("{}: cannot create output folder", a.out.display()))?;
    let path = a.out.join("interpretation_results.json");
    write_atomic(&path, results.to_json()?.as_bytes())
        .with_context(|| format!("{}: cannot write", path.display()))?;
    if !a.no_charts {
        ts_report::explain::draw_charts(&results.report, &a.out, &results.window_labels)?;
    }
    println!("Wrote {}", a.out.display());
    Ok(())
}
