//! `tsf explain`: attributions of a saved model's forecasts ([`ts_explain::ExplainJob`]), their
//! summary, `interpretation_results.json` and the charts.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ts_explain::{ExplainJob, ExplainOptions};
use ts_model::file::write_atomic;
use ts_train::output::{Staging, StaleFiles, chart_stem, check_output_folder};

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
    /// Replace an earlier explanation in `--out` (its results and charts; other files stay).
    #[arg(long)]
    pub force: bool,
}

/// What marks a folder as holding an explanation.
const EXPLAIN_FILE: &str = "interpretation_results.json";

/// Whether `name` is one of the files `tsf explain` writes: [`EXPLAIN_FILE`] and its charts, as
/// PNG and SVG.
fn is_explain_file(name: &str) -> bool {
    if name == EXPLAIN_FILE {
        return true;
    }
    let Some(stem) = chart_stem(name) else {
        return false;
    };
    [
        "attention_analysis",
        "time_step_importance",
        "time_step_importance_by_feature",
        "method_comparison",
    ]
    .contains(&stem)
        || ["feature_importance_", "overall_feature_importance_"]
            .iter()
            .any(|p| stem.strip_prefix(p).is_some_and(|m| !m.is_empty()))
}

/// `tsf explain`.
pub fn explain(a: ExplainArgs) -> Result<()> {
    check_output_folder(&a.out, a.force, &[EXPLAIN_FILE], "an explanation")?;
    // An earlier explanation's charts of methods not run this time go once this one is in place.
    let stale = if a.force {
        StaleFiles::note(&a.out, is_explain_file)
    } else {
        StaleFiles::default()
    };
    let job = ExplainJob::prepare(&a.options)?;
    outln!("{}", job.describe());
    let t0 = Instant::now();
    let results = job.run()?;
    out!("{}", results.report.summary(&results.window_labels));
    outln!();
    outln!("All methods: {:.2} s", t0.elapsed().as_secs_f64());
    // Written into a staging folder and moved into place once everything is written.
    let staging = Staging::new(&a.out)?;
    let path = staging.dir().join(EXPLAIN_FILE);
    write_atomic(&path, results.to_json()?.as_bytes())
        .with_context(|| format!("{}: cannot write", a.out.join(EXPLAIN_FILE).display()))?;
    if !a.no_charts {
        ts_report::explain::draw_charts(&results.report, staging.dir(), &results.window_labels)?;
    }
    staging.commit()?;
    stale.remove_untouched();
    outln!("Wrote {}", a.out.display());
    Ok(())
}
