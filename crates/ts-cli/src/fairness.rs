//! `tsf groups` and `tsf fairness`: parse flags, call ts-fairness (`make_groups`, `run_audit`),
//! print the results and write the typed outputs and charts.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use ts_data::FillPolicy;
use ts_fairness::SeedGrouping;
use ts_fairness::reductions::ReductionConstraint;
use ts_fairness::run::{FairnessConfig, Mitigation};
use ts_fairness::table::{GroupMaker, GroupsConfig, default_groups_path, make_groups};
use ts_train::pipeline::Part;

use ts_train::output::{check_new_file, check_output};

/// The table and the seed groupings, shared by `tsf groups` and `tsf fairness`.
#[derive(Debug, Args)]
pub struct GroupSource {
    /// Data file, CSV or Parquet.
    #[arg(long)]
    pub data: PathBuf,
    /// The seed's groupings: economic, inflation, combined, time, risk (comma-separated). Default:
    /// all five unless another grouping is given. `tsf fairness` reads a grouping from its column
    /// (e.g. `Economic_Group`) when the data has it, else makes it.
    #[arg(long, value_delimiter = ',', value_parser = |s: &str| s.parse::<SeedGrouping>())]
    pub groups: Vec<SeedGrouping>,
    /// Missing values: error | ffill | interpolate (rows cannot be dropped: group columns must
    /// stay aligned with the rows).
    #[arg(long, value_parser = crate::args::parsed::<FillPolicy>, default_value = "error")]
    pub fill: FillPolicy,
}

/// `tsf groups`: add group columns to a table.
#[derive(Debug, Args)]
pub struct GroupsArgs {
    #[command(flatten)]
    pub source: GroupSource,
    /// Output CSV with the group columns added (default: `<data stem>_groups.csv` beside the data).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the summary (default: `fairness_groups_summary.json` beside the output).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Median split of a column (A = high, B = low): `COLUMN` or `COLUMN=NAME`; may repeat.
    #[arg(long, value_parser = |s: &str| GroupMaker::median(s))]
    pub median: Vec<GroupMaker>,
    /// Cross of two median splits (A-D = high/high, high/low, low/high, low/low):
    /// `COL1,COL2` or `COL1,COL2=NAME`; may repeat.
    #[arg(long, value_parser = |s: &str| GroupMaker::cross(s))]
    pub cross: Vec<GroupMaker>,
    /// Date eras from cut dates: `DATE,DATE,...` or `DATE,...=NAME` (A = before the first cut).
    #[arg(long, value_parser = |s: &str| GroupMaker::eras(s))]
    pub eras: Vec<GroupMaker>,
    /// Quantile bins: `COLUMN:N` or `COLUMN:N=NAME` (Q1 = lowest).
    #[arg(long, value_parser = |s: &str| GroupMaker::quantiles(s))]
    pub quantiles: Vec<GroupMaker>,
    /// Time column (default: detected).
    #[arg(long)]
    pub time_column: Option<String>,
    /// Replace the output table and summary if they exist (else existing files are refused).
    #[arg(long)]
    pub force: bool,
}

/// `tsf fairness`: audit a saved model across groups, and optionally mitigate.
#[derive(Debug, Args)]
pub struct FairnessArgs {
    /// Model file written by `tsf train`.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub source: GroupSource,
    /// An existing categorical group column of the data; may repeat.
    #[arg(long)]
    pub group_column: Vec<String>,
    /// Which windows to score (the model's split when the file has as many rows as its training
    /// data, else the configured fractions of this file).
    #[arg(long, value_parser = crate::args::parsed::<Part>, default_value = "test")]
    pub part: Part,
    /// Target to audit (default: the model's first target).
    #[arg(long)]
    pub target: Option<String>,
    /// Threshold in original units that binarises actuals and forecasts (value > threshold is
    /// positive; default: the median of the actuals).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Mitigation.
    #[arg(long, value_enum, default_value_t = Mitigation::None)]
    pub mitigate: Mitigation,
    /// Constraint (bounded_group_loss: reductions only).
    #[arg(long, value_enum, default_value_t = ReductionConstraint::DemographicParity)]
    pub constraint: ReductionConstraint,
    /// Apply a saved threshold optimizer (JSON) to the first grouping instead of fitting one.
    #[arg(long)]
    pub thresholds: Option<PathBuf>,
    /// Exponentiated-gradient iterations (each retrains the model once).
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub iterations: usize,
    /// Epochs per retraining (default: the model's own setting).
    #[arg(long, allow_negative_numbers = true, value_parser = crate::args::whole_number::<usize>)]
    pub epochs: Option<usize>,
    /// Allowed constraint violation, or the loss bound as a multiple of the overall MSE.
    #[arg(long, default_value_t = 0.01, allow_negative_numbers = true)]
    pub epsilon: f64,
    /// Seed of the randomised threshold predictions.
    #[arg(long, default_value_t = 42, allow_negative_numbers = true, value_parser = crate::args::whole_number::<u64>)]
    pub seed: u64,
    /// Output folder.
    #[arg(long, default_value = "fairness-report")]
    pub out: PathBuf,
    /// Replace an existing output folder (the old one is kept if the new run fails).
    #[arg(long)]
    pub force: bool,
    /// Skip the charts.
    #[arg(long)]
    pub no_charts: bool,
}

/// `tsf groups`.
pub fn groups(a: GroupsArgs) -> Result<()> {
    let seeds = a.source.groups.iter().map(|s| GroupMaker::Seed(*s));
    let custom = a.median.into_iter().chain(a.cross).chain(a.eras);
    let makers = seeds.chain(custom).chain(a.quantiles).collect();
    let data = a.source.data.clone();
    let made = make_groups(&GroupsConfig {
        data: data.clone(),
        makers,
        time_column: a.time_column,
        fill: a.source.fill,
    })?;
    let out = a.out.unwrap_or_else(|| default_groups_path(&data));
    let summary = a.summary.unwrap_or_else(|| {
        out.parent()
            .unwrap_or(Path::new("."))
            .join("fairness_groups_summary.json")
    });
    check_output(&out, &[&data])?;
    check_output(&summary, &[&data, &out])?;
    check_new_file(&out, a.force)?;
    check_new_file(&summary, a.force)?;
    if ts_train::output::same_path(&summary, &out) {
        anyhow::bail!(
            "{}: the summary would be written over the grouped table (--out); give --summary another path",
            summary.display()
        );
    }
    // Both folders exist before either file is written, so that a summary path in a missing
    // folder does not fail after the table was written.
    for path in [&out, &summary] {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create folder", dir.display()))?;
        }
    }
    ts_model::file::write_atomic(&out, made.csv()?.as_bytes())?;
    ts_train::run::write_json(&summary, &made.summary)?;
    out!("{}", made.summary.render());
    outln!("Wrote {} and {}", out.display(), summary.display());
    Ok(())
}

/// `tsf fairness`.
pub fn fairness(a: FairnessArgs) -> Result<()> {
    let cfg = FairnessConfig {
        model: a.model.clone(),
        data: a.source.data.clone(),
        groups: a.source.groups.clone(),
        group_columns: a.group_column.clone(),
        target: a.target.clone(),
        threshold: a.threshold,
        mitigation: a.mitigate,
        constraint: a.constraint,
        thresholds: a.thresholds.clone(),
        iterations: a.iterations,
        epochs: a.epochs,
        epsilon: a.epsilon,
        seed: a.seed,
        fill: a.source.fill,
        part: a.part,
        out: a.out.clone(),
    };
    cfg.validate()?;
    ts_fairness::check_output_folder(&a.out, a.force)?;
    ts_fairness::check_inputs_outside(&a.out, &[a.model.as_path(), a.source.data.as_path()])?;
    let run = ts_fairness::run_audit(&cfg)?;
    out!("{}", run.report.render());
    let charts = !a.no_charts;
    run.write_replacing(
        &a.out,
        a.force,
        Box::new(|dir: &Path| {
            if charts {
                ts_report::fairness::draw_charts(dir, &run)?;
            }
            Ok(())
        }),
    )?;
    outln!("\nWrote {}", a.out.display());
    Ok(())
}
